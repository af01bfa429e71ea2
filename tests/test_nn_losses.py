"""Losses, their gradients and regularisers: every formula and number of course §6."""

import json
import math
import warnings

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from derivkit.errors import DomainError, InputError, ShapeError
from derivkit.functions import step
from derivkit.nn.activations import softmax
from derivkit.nn.losses import (
    bce, cross_entropy, cross_entropy_gradient, hinge, hinge_gradient, l1, mse, multiclass_hinge,
    multiclass_hinge_gradient, nll, nll_gradient, softmax_cross_entropy, softmax_cross_entropy_gradient, sse,
    squared_error_gradient, total_loss,
)
from derivkit.nn.regularizers import elastic_net, l1_penalty, l2_penalty

s, y, p = sympy.symbols("s y p")
R = sympy.Rational

# The NLL / cross-entropy example of §6: class 2 of 10 (zero-based label 1).
P10 = [R(1, 10), R(7, 10), 0, 0, 0, 0, 0, 0, 0, R(2, 10)]

# The multiclass hinge example of §6: scores per image (cat, car, frog) and labels.
HINGE_SCORES = [([3.2, 5.1, -1.7], 0), ([1.3, 4.9, 2.0], 1), ([2.2, 2.5, -3.1], 2)]


@pytest.fixture
def strict_floats():
    """Any floating-point overflow, invalid operation or warning fails the test."""
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        yield


def numeric_gradient(f, x0, h=1e-6):
    x0 = np.asarray(x0, dtype=float)
    return np.array([(f(*(x0 + h * e)) - f(*(x0 - h * e))) / (2 * h) for e in np.eye(len(x0))])


# ---------------------------------------------------------------- regression losses

def test_mse_over_a_matrix_divides_by_the_number_of_examples():
    O = sympy.Matrix(2, 3, lambda e, n: sympy.Symbol(f"O_{e}{n}"))
    Y = sympy.Matrix(2, 3, lambda e, n: sympy.Symbol(f"Y_{e}{n}"))
    expected = sum((O[e, n] - Y[e, n]) ** 2 for e in range(2) for n in range(3)) / 2
    assert sympy.expand(mse(O, Y) - expected) == 0


def test_mse_sse_l1_on_vectors_and_scalars():
    assert mse([1, 2, 3], [1, 2, 5]) == R(4, 3)
    assert mse([[1, 2, 3]], [[1, 2, 5]]) == R(4, 3)  # a row vector is also N = 3 values
    assert mse(sympy.Matrix([[1, 2, 3]]), sympy.Matrix([1, 2, 5])) == R(4, 3)  # row against column
    assert sse([1, 2, 3], [1, 2, 5]) == 4
    assert mse(s, y) == (s - y) ** 2
    assert l1(s, y) == sympy.Abs(y - s)
    assert l1([1, -2], [0, 0]) == 3


def test_squared_error_gradient_is_minus_two_y_minus_s():
    g = squared_error_gradient()
    assert g.loss == (y - s) ** 2
    assert sympy.expand(g.result[0] - (-2 * (y - s))) == 0
    assert sympy.expand(g.result[0] - sympy.diff((y - s) ** 2, s)) == 0
    assert g.at(s=3, y=5)[0] == -4


# ---------------------------------------------------------------- probability losses

def test_bce_formula():
    P = sympy.symbols("p_0 p_1")
    Y = sympy.symbols("y_0 y_1")
    expected = -sum(Y[i] * sympy.log(P[i]) + (1 - Y[i]) * sympy.log(1 - P[i]) for i in range(2))
    assert sympy.expand(bce(P, Y) - expected) == 0
    assert bce(p, 1) == -sympy.log(p)
    assert bce(p, 0) == -sympy.log(1 - p)
    assert bce([0, 1], [0, 1]) == 0  # no 0 log 0 terms


def test_bce_near_one_is_finite_and_correct(strict_floats):
    near_one = 1 - R(1, 10**17)
    assert float(bce(near_one, 1).evalf(30)) == pytest.approx(1e-17, rel=1e-9)
    assert float(bce(near_one, 0).evalf()) == pytest.approx(17 * math.log(10), rel=1e-12)
    f = sympy.lambdify(p, bce(p, 1), "numpy")
    assert f(1 - 1e-17) == 0.0 and np.isfinite(f(1 - 1e-17))  # 1 - 1e-17 is 1.0 in float64
    g = sympy.lambdify(sympy.symbols("p_0 p_1"), bce(sympy.symbols("p_0 p_1"), [1, 0]), "numpy")
    assert g(1 - 1e-17, 1e-17) == pytest.approx(0.0, abs=1e-15)


def test_nll_example_and_gradient():
    assert nll(P10, 1) == -sympy.log(R(7, 10))
    assert float(nll(P10, 1)) == pytest.approx(-math.log(0.7))
    g = nll_gradient(10, 1)
    Ps = g.wrt
    assert list(g.result) == [0, -1 / Ps[1]] + [0] * 8
    assert list(g.result) == [sympy.diff(-sympy.log(Ps[1]), v) for v in Ps]
    at = g.at(**{v.name: val for v, val in zip(Ps, P10)})
    assert at[1] == R(-10, 7) and sum(abs(v) for v in at) == R(10, 7)


def test_cross_entropy_example_and_gradient():
    expected = -sympy.log(1 - R(1, 10)) - sympy.log(R(7, 10)) - sympy.log(1 - R(2, 10))
    L = cross_entropy(P10, 1)
    assert sympy.simplify(L - expected) == 0
    assert float(L) == pytest.approx(-math.log(0.9) - math.log(0.7) - math.log(0.8))
    # a one-hot target vector gives the same loss as the label
    assert cross_entropy(P10, [0, 1] + [0] * 8) == L
    g = cross_entropy_gradient(3, 1)
    P = g.wrt
    assert list(g.result) == [1 / (1 - P[0]), -1 / P[1], 1 / (1 - P[2])]
    explicit = -sum(z * sympy.log(q) + (1 - z) * sympy.log(1 - q) for q, z in zip(P, [0, 1, 0]))
    assert [sympy.simplify(a - sympy.diff(explicit, v)) for a, v in zip(g.result, P)] == [0, 0, 0]


def test_softmax_cross_entropy_is_minus_log_softmax():
    S3 = sympy.symbols("s_0 s_1 s_2")
    L = softmax_cross_entropy(S3, 2)
    textbook = -sympy.log(sympy.exp(S3[2]) / sum(sympy.exp(v) for v in S3))
    point = {S3[0]: R(32, 10), S3[1]: R(51, 10), S3[2]: R(-17, 10)}
    assert float(L.subs(point).evalf(30)) == pytest.approx(float(textbook.subs(point).evalf(30)), rel=1e-14)
    assert float(softmax_cross_entropy([3.2, 5.1, -1.7], 1)) == pytest.approx(-math.log(float(softmax([3.2, 5.1, -1.7])[1])))


def test_softmax_cross_entropy_large_scores(strict_floats):
    assert float(softmax_cross_entropy([1000, 0], 1).evalf()) == pytest.approx(1000.0)
    assert float(softmax_cross_entropy([1000, 0], 0).evalf(30)) == pytest.approx(0.0, abs=1e-100)
    S2 = sympy.symbols("s_0 s_1")
    f = sympy.lambdify(S2, softmax_cross_entropy(S2, 1), "numpy")
    assert f(1000.0, 0.0) == pytest.approx(1000.0)
    assert f(0.0, 1000.0) == 0.0


def test_softmax_cross_entropy_gradient_is_p_minus_one_hot():
    g = softmax_cross_entropy_gradient(3, 1)
    S3 = g.wrt
    p = softmax(S3)
    assert list(g.result) == [p[0], p[1] - 1, p[2]]
    f = sympy.lambdify(S3, softmax_cross_entropy(S3, 1), "numpy")
    grad = sympy.lambdify(S3, g.result, "numpy")
    s0 = [3.2, 5.1, -1.7]
    np.testing.assert_allclose(np.ravel(grad(*s0)), numeric_gradient(f, s0), atol=1e-8)


# ---------------------------------------------------------------- hinge losses

def test_binary_hinge_values_and_gradient():
    assert hinge(s, y) == sympy.Max(0, 1 - y * s)
    assert (hinge(R(1, 2), 1), hinge(2, 1), hinge(2, -1), hinge(-1, -1)) == (R(1, 2), 0, 3, 0)
    g = hinge_gradient()
    assert g.result[0] == -y * step(1 - y * s)
    assert g.at(s=R(1, 2), y=1)[0] == -1 and g.at(s=R(1, 2), y=-1)[0] == 1
    assert g.at(s=2, y=1)[0] == 0
    assert "kink" in g.notes[0]
    for s0, y0 in [(0.3, 1), (1.7, 1), (0.3, -1), (-2.0, -1)]:  # away from the kink
        d = sympy.diff(hinge(s, y0), s).subs(s, s0)
        assert float(g.result[0].subs({s: s0, y: y0})) == float(d)


def test_multiclass_hinge_worked_example():
    losses = [multiclass_hinge(v, label) for v, label in HINGE_SCORES]
    assert losses == [R(29, 10), 0, R(129, 10)]
    mean = total_loss(losses)
    assert mean == R(158, 30) and round(float(mean), 2) == 5.27
    doubled = [2 * v for v in HINGE_SCORES[1][0]]  # W doubled doubles the scores
    assert multiclass_hinge(doubled, 1) == 0


def test_multiclass_hinge_formula_and_gradient():
    S3 = sympy.symbols("s_0 s_1 s_2")
    assert multiclass_hinge(S3, 0) == sympy.Max(0, S3[1] - S3[0] + 1) + sympy.Max(0, S3[2] - S3[0] + 1)
    g = multiclass_hinge_gradient(3, 0)
    ind1, ind2 = step(S3[1] - S3[0] + 1), step(S3[2] - S3[0] + 1)
    assert list(g.result) == [-ind1 - ind2, ind1, ind2]
    at = g.at(s_0=3.2, s_1=5.1, s_2=-1.7)
    assert list(at) == [-1, 1, 0]
    f = sympy.lambdify(S3, multiclass_hinge(S3, 0), "numpy")
    grad = sympy.lambdify(S3, g.result, "numpy")
    for s0 in ([3.2, 5.1, -1.7], [1.0, 0.5, 0.2], [0.0, 2.0, 3.0]):  # no term at its kink
        np.testing.assert_allclose(np.ravel(grad(*s0)), numeric_gradient(f, s0), atol=1e-7)


# ---------------------------------------------------------------- regularisers and the total

def test_regularisers():
    W = sympy.Matrix(2, 2, lambda k, l: sympy.Symbol(f"W_{k}{l}"))
    beta = sympy.Symbol("beta")
    assert l2_penalty(W) == sum(w ** 2 for w in W)
    assert l1_penalty(W) == sum(sympy.Abs(w) for w in W)
    assert elastic_net(W, beta) == sum(beta * w ** 2 + sympy.Abs(w) for w in W)
    Wn = [[1, -2], [0.5, 0]]
    assert (l2_penalty(Wn), l1_penalty(Wn), elastic_net(Wn, 2)) == (R(21, 4), R(7, 2), 14)


def test_total_loss_mean_plus_lambda_r():
    L = sympy.symbols("L_1 L_2 L_3")
    w = sympy.Symbol("w")
    lam = sympy.Symbol("lambda")
    assert total_loss(L, reg=l2_penalty([w])) == (L[0] + L[1] + L[2]) / 3 + lam * w ** 2
    assert total_loss([2, 4], reg=w ** 2, lam=R(1, 10)) == 3 + w ** 2 / 10
    assert total_loss(L) == sum(L) / 3


# ---------------------------------------------------------------- bad input

def test_bad_labels():
    with pytest.raises(InputError, match="label 10 is outside the 10 classes 0..9"):
        nll(P10, 10)
    with pytest.raises(InputError, match="outside"):
        multiclass_hinge([1, 2, 3], -1)
    with pytest.raises(InputError, match="whole number"):
        cross_entropy([0.5, 0.5], 1.0)
    with pytest.raises(InputError, match="whole number"):
        softmax_cross_entropy([1, 2], True)


def test_mismatched_shapes_and_non_vectors():
    with pytest.raises(ShapeError, match="prediction is 3x1 but the target is 2x1"):
        mse([1, 2, 3], [1, 2])
    with pytest.raises(ShapeError, match="same shape"):
        bce([0.5, 0.5], 1)
    with pytest.raises(ShapeError, match="must be a vector"):
        nll([[0.5, 0.5], [0.2, 0.8]], 0)
    with pytest.raises(ShapeError, match="has 2"):
        cross_entropy([0.2, 0.3, 0.5], [0, 1])


def test_hinge_labels_must_be_plus_or_minus_one():
    with pytest.raises(InputError, match=r"y = \+1 or -1, got 0"):
        hinge(0.5, 0)
    with pytest.raises(InputError, match="got 2"):
        hinge([0.5, 1], [1, 2])


def test_probabilities_outside_zero_one():
    with pytest.raises(DomainError, match="between 0 and 1"):
        nll([1.5, -0.5], 0)
    with pytest.raises(DomainError, match="between 0 and 1"):
        bce(0.5, 2)


# ---------------------------------------------------------------- the step engine and renderers

def test_gradients_agree_with_the_step_engine():
    for g in (nll_gradient(3, 1), cross_entropy_gradient(3, 1), softmax_cross_entropy_gradient(3, 1)):
        assert g.derivation.result == g.result
    g = multiclass_hinge_gradient(3, 0)
    point = {"s_0": R(32, 10), "s_1": R(51, 10), "s_2": R(-17, 10)}
    assert g.derivation.at(**point) == g.at(**point)


def test_loss_gradient_renderings():
    g = nll_gradient(3, 1)
    assert "dL/dp_1 = -1/p_1" in g.to_text()
    assert r"\frac{\partial L}{\partial p_{1}} &= - \frac{1}{p_{1}}" in g.to_latex()
    data = json.loads(g.to_json())
    assert data["result"] == ["0", "-1/p_1", "0"] and data["wrt"] == ["p_0", "p_1", "p_2"]
    assert "kink" in hinge_gradient().to_markdown()


@settings(max_examples=30)
@given(st.lists(st.floats(-20, 20), min_size=3, max_size=3), st.integers(0, 2))
def test_softmax_cross_entropy_gradient_matches_central_differences(scores, label):
    g = softmax_cross_entropy_gradient(3, label)
    f = sympy.lambdify(g.wrt, g.loss, "numpy")
    grad = sympy.lambdify(g.wrt, g.result, "numpy")
    np.testing.assert_allclose(np.ravel(grad(*scores)), numeric_gradient(f, scores), atol=1e-6)
