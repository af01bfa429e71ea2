"""gradcheck names the mistake: cs231n-style layers written here, with planted bugs.

The network is affine - ReLU - affine - softmax with L2 regularisation
``reg·(ΣW1² + ΣW2²)``, the loss averaged over the batch; the linear SVM has the
multiclass hinge loss. Each planted bug must be named by its id, and the message
must name the array by its key and say what to look at.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from derivkit import gradcheck
from derivkit.verify.array_diagnosis import diagnose_gradients, nice_number

N, D, H, C = 6, 4, 5, 3
REG = 0.1


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(N, D))
    y = rng.integers(0, C, size=N)
    params = {"W1": rng.normal(size=(D, H)) * 0.7, "b1": rng.normal(size=H) * 0.1,
              "W2": rng.normal(size=(H, C)) * 0.7, "b2": rng.normal(size=C) * 0.1}
    return X, y, params


def two_layer(p, X, y, reg=REG, bug=None):
    """Loss and gradients of affine - ReLU - affine - softmax, as a student writes them."""
    n = X.shape[0]
    h_in = X @ p["W1"] + p["b1"]
    h = np.maximum(0, h_in)
    scores = h @ p["W2"] + p["b2"]
    shifted = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(n), y]).mean()
    if bug != "loss_without_reg":
        loss += reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
    onehot = np.eye(probs.shape[1])[y]
    dscores = (onehot - probs) if bug == "sign" else (probs - onehot)
    if bug != "missing_1/N":
        dscores = dscores / n
    dW2 = h.T @ dscores
    db2 = dscores.sum(axis=0)
    dh = dscores @ p["W2"].T
    dh_in = dh * (h_in > 0)
    dW1 = X.T @ dh_in
    db1 = dh_in.sum(axis=0)
    if bug == "last_column":                         # a loop over classes that stops one short
        dW2 = np.zeros_like(dW2)
        for j in range(C - 1):
            dW2[:, j] = h.T @ dscores[:, j]
    if bug != "missing_reg":
        factor = 1 if bug == "reg_not_2reg" else 2
        dW1 = dW1 + factor * reg * p["W1"]
        dW2 = dW2 + factor * reg * p["W2"]
    grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    if bug == "transposed":
        grads["W1"] = dW1.T
    if bug == "swapped":
        grads["W1"], grads["W2"] = dW2, dW1
    if bug == "regularised_bias":
        grads["b1"] = db1 + 2 * reg * p["b1"]
    return loss, grads


def report(problem, bug=None, **kw):
    X, y, params = problem
    return gradcheck(lambda p: two_layer(p, X, y, bug=bug)[0], lambda p: two_layer(p, X, y, bug=bug)[1], params, **kw)


def test_the_right_backprop_passes_with_no_diagnosis(problem):
    r = report(problem)
    assert r.ok, r.message
    assert r.diagnosis == () and r.findings == () and r.factor is None
    assert "Likely mistake" not in r.message


def test_missing_one_over_n_is_a_factor_of_the_batch_size(problem):
    r = report(problem, "missing_1/N", batch_size=N)
    assert not r.ok
    assert set(r.diagnosis) == {"constant_factor"}
    assert r.factor == pytest.approx(N)
    text = " ".join(f.message for f in r.findings)
    assert "6 times the true one" in text and "a missing 1/N?" in text
    # The regularisation gradient 2·reg·W is right; the data part is 6 times too big.
    assert "apart from the term 0.2·W1" in text


def test_missing_one_over_n_without_regularisation_is_a_plain_factor(problem):
    X, y, params = problem
    r = gradcheck(lambda p: two_layer(p, X, y, reg=0, bug="missing_1/N")[0],
                  lambda p: two_layer(p, X, y, reg=0, bug="missing_1/N")[1], params, batch_size=N)
    assert r.diagnosis == ("constant_factor",) and r.factor == pytest.approx(6)
    assert len(r.findings) == 1                       # one finding for all four arrays
    assert "your gradients of W1, b1, W2 and b2 are 6 times the true one" in r.findings[0].message
    # Without the batch size, the factor is still said, with the guess.
    r = gradcheck(lambda p: two_layer(p, X, y, reg=0, bug="missing_1/N")[0],
                  lambda p: two_layer(p, X, y, reg=0, bug="missing_1/N")[1], params)
    assert "if 6 is your batch size N" in r.findings[0].message


def test_missing_regularisation_gradient(problem):
    r = report(problem, "missing_reg")
    assert r.diagnosis == ("missing_term",) and r.bad_params == ("W1", "W2")
    (f,) = r.findings
    assert "lack the term 0.2·W1 and 0.2·W2" in f.message
    assert "reg·(ΣW1² + ΣW2²) (reg = 0.1)" in f.message       # 0.2·W is 2·reg·W with reg = 0.1


def test_wrong_sign(problem):
    r = report(problem, "sign")
    assert set(r.diagnosis) == {"sign_error"}
    assert r.factor == pytest.approx(-1)
    text = " ".join(f.message for f in r.findings)
    assert "negative of the true one" in text and "probabilities minus one-hot" in text
    assert "b1" in text and "W1" in text


def test_transposed(problem):
    r = report(problem, "transposed")
    assert r.diagnosis == ("transposed",) and r.bad_params == ("W1",)
    (f,) = r.findings
    assert "shape (5, 4), but W1 has shape (4, 5)" in f.message and "transposed back it is right" in f.message
    assert r.failed == D * H


def test_reg_w_for_two_reg_w(problem):
    r = report(problem, "reg_not_2reg")
    assert r.diagnosis == ("missing_term",)
    (f,) = r.findings
    assert "0.1·W1 and 0.1·W2" in f.message
    assert "reg·W written where 2·reg·W belongs (reg = 0.1)" in f.message


def test_the_loss_leaves_out_the_regularisation_the_gradient_keeps(problem):
    # The real bug: the loss has no reg·ΣW², the gradient still adds 2·reg·W.
    r = report(problem, "loss_without_reg")
    assert r.diagnosis == ("extra_term",) and r.bad_params == ("W1", "W2")
    (f,) = r.findings
    assert "have an extra term 0.2·W1 and 0.2·W2" in f.message
    assert "the gradient of 0.1·(ΣW1² + ΣW2²)" in f.message and "the loss leaves out" in f.message


def test_swapped_parameters_of_different_shapes(problem):
    r = report(problem, "swapped")
    assert r.diagnosis == ("swapped_parameters",)
    assert "W1 and W2 are swapped" in r.findings[0].message


def test_swapped_parameters_of_the_same_shape():
    a, b = np.array([1.0, 2.0]), np.array([-3.0, 0.5])
    f = lambda p: np.sum(p["u"] ** 2 * p["v"])                    # noqa: E731
    right = lambda p: {"u": 2 * p["u"] * p["v"], "v": p["u"] ** 2}  # noqa: E731
    assert gradcheck(f, right, {"u": a, "v": b}).ok
    r = gradcheck(f, lambda p: {"u": right(p)["v"], "v": right(p)["u"]}, {"u": a, "v": b})
    assert r.diagnosis == ("swapped_parameters",)


def test_one_wrong_column(problem):
    r = report(problem, "last_column")
    assert r.diagnosis == ("wrong_entry",) and r.bad_params == ("W2",)
    assert "only column 2 of your gradient of W2, W2[:, 2], is wrong" in r.findings[0].message


def test_regularised_bias_is_an_extra_term_of_the_bias(problem):
    r = report(problem, "regularised_bias")
    assert r.diagnosis == ("extra_term",) and r.bad_params == ("b1",)
    assert "biases are usually not regularised" in r.findings[0].message


def test_a_square_transposed_gradient():
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    X = np.array([[0.5, -1.0], [2.0, 1.0]])
    f = lambda W: np.sum((X @ W) * A)                       # noqa: E731  gradient X.T @ A
    r = gradcheck(f, lambda W: (X.T @ A).T, np.eye(2))
    assert r.diagnosis == ("transposed",) and "W" in r.bad_params
    assert "transpose of the true one" in r.findings[0].message


def test_a_single_array_is_named_by_the_argument_of_f():
    r = gradcheck(lambda W: np.sum(W ** 3), lambda W: 2 * W ** 2, np.array([1.0, 2.0]))
    assert r.bad_params == ("W",) and r.entries[0].label.startswith("W[")
    assert r.factor == pytest.approx(2 / 3) and "2/3 times" in r.message
    r = gradcheck(lambda v: np.sum(v ** 3), lambda v: -3 * v ** 2, np.array([1.0, 2.0]), name="theta")
    assert r.bad_params == ("theta",) and r.diagnosis == ("sign_error",)


def test_a_wrong_gradient_of_no_typical_kind_gets_no_diagnosis():
    r = gradcheck(lambda x: np.sum(np.sin(x)), lambda x: np.cos(x) + x ** 3, np.array([0.3, 1.1, -0.7, 2.0]))
    assert not r.ok and r.diagnosis == () and r.factor is None


def test_bool_of_the_report_is_ok():
    assert bool(gradcheck(lambda x: np.sum(x ** 2), lambda x: 2 * x, np.ones(2)))
    assert not bool(gradcheck(lambda x: np.sum(x ** 2), lambda x: x, np.ones(2)))


def test_report_json_has_the_diagnosis(problem):
    r = report(problem, "missing_reg")
    d = r.to_dict()
    assert d["diagnosis"] == ["missing_term"] and d["findings"][0]["id"] == "missing_term"


# ---------------------------------------------------------------- the linear SVM

def svm(W, X, y, reg=0.05, bug=None):
    """Multiclass hinge loss (margin 1), averaged, with reg·ΣW²; vectorised as in the assignment."""
    n = X.shape[0]
    scores = X @ W
    correct = scores[np.arange(n), y][:, None]
    margins = np.maximum(0, scores - correct + 1)
    margins[np.arange(n), y] = 0
    loss = margins.sum() / n + reg * np.sum(W * W)
    mask = (margins > 0).astype(float)
    mask[np.arange(n), y] = -mask.sum(axis=1)
    dW = X.T @ mask / n + 2 * reg * W
    if bug == "reg_on_bias_row":                  # the last row holds the bias (X has a column of ones)
        loss -= reg * np.sum(W[-1] ** 2)
    if bug == "no_average":
        dW = X.T @ mask + 2 * reg * W
    return loss, dW


@pytest.fixture(scope="module")
def svm_problem():
    rng = np.random.default_rng(3)
    X = np.hstack([rng.normal(size=(8, 3)), np.ones((8, 1))])   # the bias trick
    y = rng.integers(0, 4, size=8)
    return X, y, rng.normal(size=(4, 4)) * 0.5


def test_svm_right_gradient_passes(svm_problem):
    X, y, W = svm_problem
    r = gradcheck(lambda W: svm(W, X, y)[0], lambda W: svm(W, X, y)[1], W)
    assert r.ok and r.diagnosis == ()


def test_svm_bias_row_regularised_in_the_gradient_only(svm_problem):
    X, y, W = svm_problem
    r = gradcheck(lambda W: svm(W, X, y, bug="reg_on_bias_row")[0], lambda W: svm(W, X, y, bug="reg_on_bias_row")[1], W)
    assert r.diagnosis == ("wrong_entry",)
    assert "only row 3 of your gradient of W, W[3, :], is wrong" in r.findings[0].message


def test_svm_missing_average(svm_problem):
    X, y, W = svm_problem
    r = gradcheck(lambda W: svm(W, X, y, bug="no_average")[0], lambda W: svm(W, X, y, bug="no_average")[1], W,
                  batch_size=8)
    assert r.diagnosis == ("constant_factor",) and r.factor == pytest.approx(8)


# ---------------------------------------------------------------- the models themselves

def test_nice_numbers():
    assert [nice_number(v) for v in (6.0, -1.0, 0.5, 1 / 3, 0.2, 2.5e-7)] == ["6", "-1", "0.5", "1/3", "0.2", "2.5e-07"]


@pytest.mark.parametrize("k", [2.0, -3.0, 0.25, 10.0])
def test_any_constant_factor_is_found_and_reported(k):
    rng = np.random.default_rng(int(abs(k) * 10))
    R = {"W": rng.normal(size=(3, 4))}
    d = diagnose_gradients(R, {"W": k * R["W"]})
    assert d.ids == (("sign_error",) if k == -1 else ("constant_factor",)) and d.factor == pytest.approx(k)


def test_a_right_gradient_has_no_findings():
    R = {"W": np.arange(6.0).reshape(2, 3)}
    assert diagnose_gradients(R, {"W": R["W"] + 1e-9}).findings == ()


def test_the_likely_mistake_comes_right_after_the_first_line(problem):
    lines = report(problem, "missing_reg").message.splitlines()
    assert lines[0].startswith("Gradient mismatch") and lines[1].startswith("Likely mistake: Your gradients of W1")


def test_graph_form_takes_biases_as_vectors_and_diagnoses(problem):
    X, y, params = problem
    g = _two_layer_graph()
    mine = lambda bug: (lambda p, d: two_layer(p, d["X"], d["y"], bug=bug)[1])  # noqa: E731
    assert gradcheck(g, mine(None), params, data={"X": X, "y": y}).ok     # b1 given as (5,), the graph's is (1, 5)
    r = gradcheck(g, mine("missing_1/N"), params, data={"X": X, "y": y})
    assert r.diagnosis == ("constant_factor",) and "6 is the batch size N" in r.message   # N from the data


# ---------------------------------------------------------------- properties of the models

shapes = st.tuples(st.integers(2, 5), st.integers(2, 5))


@settings(max_examples=80, deadline=None)
@given(shapes, st.integers(0, 10_000), st.sampled_from([-1.0, 2.0, 0.5, 6.0, 1 / 8, -3.0]))
def test_a_planted_factor_is_found_with_its_value(shape, seed, k):
    R = np.random.default_rng(seed).normal(size=shape)
    d = diagnose_gradients({"W": R}, {"W": k * R})
    assert d.ids == (("sign_error",) if k == -1 else ("constant_factor",))
    assert d.factor == pytest.approx(k, rel=1e-9)


@settings(max_examples=80, deadline=None)
@given(shapes, st.integers(0, 10_000), st.floats(0.01, 3.0), st.booleans())
def test_a_planted_term_c_w_is_found_with_its_sign(shape, seed, c, missing):
    rng = np.random.default_rng(seed)
    R, W = rng.normal(size=shape), rng.normal(size=shape)
    U = R - c * W if missing else R + c * W
    d = diagnose_gradients({"W": R}, {"W": U}, {"W": W})
    assert d.ids == (("missing_term",) if missing else ("extra_term",))
    assert nice_number(c) in d.findings[0].message


@settings(max_examples=80, deadline=None)
@given(shapes, st.integers(0, 10_000))
def test_noise_everywhere_gets_no_diagnosis(shape, seed):
    rng = np.random.default_rng(seed)
    R, W = rng.normal(size=shape), rng.normal(size=shape)
    d = diagnose_gradients({"W": R}, {"W": R + rng.normal(size=shape)}, {"W": W})
    assert d.findings == () and d.factor is None


def _two_layer_graph():
    from derivkit import Graph

    g = Graph()
    g.input("X", ("N", D))
    g.input("y", ("N",), dtype="int")
    g.param("W1", (D, H))
    g.param("b1", (1, H))
    g.param("W2", (H, C))
    g.param("b2", (1, C))
    g.define("h", "relu(X @ W1 + b1)")
    g.define("L", f"softmax_cross_entropy(h @ W2 + b2, y) + {REG} * (sum(W1 ** 2) + sum(W2 ** 2))")
    return g


def test_graph_form_names_the_regularisation_term_the_loss_leaves_out(problem):
    # The real bug: the gradients keep 2·reg·W and agree with the graph; the loss they come with does not.
    X, y, params = problem
    r = gradcheck(_two_layer_graph(), lambda p, d: two_layer(p, d["X"], d["y"], bug="loss_without_reg"), params,
                  data={"X": X, "y": y})
    assert not r.ok and r.failed == 0 and r.bad_params == ()
    assert r.diagnosis == ("missing_term",)
    assert "your loss leaves out the term 0.1·(ΣW1² + ΣW2²)" in r.findings[0].message
    assert r.message.startswith("Loss mismatch: your loss is ")
    # A right loss beside right gradients passes; a loss off by a constant is a wrong loss, said with the numbers.
    assert gradcheck(_two_layer_graph(), lambda p, d: two_layer(p, d["X"], d["y"]), params, data={"X": X, "y": y}).ok
    off = lambda p, d: (two_layer(p, d["X"], d["y"])[0] + 0.3, two_layer(p, d["X"], d["y"])[1])  # noqa: E731
    r = gradcheck(_two_layer_graph(), off, params, data={"X": X, "y": y})
    assert r.diagnosis == ("wrong_loss",) and "differ by -0.3" in r.findings[0].message


def test_one_wrong_entry_of_a_vector_and_of_a_matrix():
    R = {"b": np.array([1.0, 2.0, 3.0]), "W": np.arange(1.0, 7.0).reshape(2, 3)}
    U = {"b": np.array([1.0, 2.5, 3.0]), "W": R["W"].copy()}
    U["W"][1, 2] = 0.0
    messages = [f.message for f in diagnose_gradients(R, U).findings]
    assert "only the entry b[1] of your gradient of b is wrong (the other 2 are right)" in messages[0]
    assert "only the entry W[1, 2] of your gradient of W is wrong (the other 5 are right)" in messages[1]
