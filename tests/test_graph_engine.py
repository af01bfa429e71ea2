"""The graph engine beyond the MLP: matrix calculus, 1 x 1 nodes, gradients of anything, clear errors."""

import re

import numpy as np
import pytest
import sympy

from derivkit import nn
from derivkit.errors import InputError, ParseError, ShapeError
from derivkit.graph import Graph, node_text
from derivkit.training import train
from derivkit.training.optim import Adam


def test_quadratic_form_gradient_is_the_textbook_one():
    """d/dx xᵀ A x = (A + Aᵀ) x; d/dA = x xᵀ. At A = [[1, 2], [3, 4]], x = (1, 2): f = 27."""
    g = Graph()
    x = g.input("x", (2, 1))
    g.param("A", (2, 2))
    g.define("f", "sum(x.T @ A @ x)")
    bp = g.backprop()
    assert node_text(bp.gradient("x")) == "(A + A^T) x"
    assert node_text(bp.gradients["A"]) == "x x^T"
    net = g.compile(wrt=("A", "x"))
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    value, grads = net({"A": A}, {"x": np.array([[1.0], [2.0]])})
    assert value == 27.0
    np.testing.assert_allclose(grads["x"], [[12.0], [21.0]])   # (A + Aᵀ) x = [[2, 5], [5, 8]] (1, 2)
    np.testing.assert_allclose(grads["A"], [[1.0, 2.0], [2.0, 4.0]])


def test_a_one_by_one_output_compiles():
    g = Graph()
    g.param("a", (1, 1))
    g.define("f", "a*a")
    value, grads = g.compile()({"a": np.array([[3.0]])}, {})
    assert value == 9.0 and isinstance(value, float)
    np.testing.assert_allclose(grads["a"], [[6.0]])


def test_a_number_divided_by_a_node():
    """L = Σ 10/a: dL/da = -10/a^2, -2.5 at a = 2."""
    g = Graph()
    g.param("a", (2, 2))
    g.define("L", "sum(10 / a)")
    assert g.definitions["L"] == "Σ 10/a"
    assert node_text(g.backprop().gradients["a"]) == "-10/a^2"
    value, grads = g.compile()({"a": np.full((2, 2), 2.0)}, {})
    assert value == 20.0
    np.testing.assert_allclose(grads["a"], np.full((2, 2), -2.5))


def test_trace_inverse_and_logdet():
    """d tr(A) = I, d log|det A| = A^(-T), d Σ A^(-1) = -A^(-T) 1 1ᵀ A^(-T)."""
    g = Graph()
    g.param("A", (2, 2))
    g.define("L", "trace(A) + logdet(A) + sum(inv(A))")
    A = np.array([[2.0, 1.0], [0.5, 3.0]])
    value, grads = g.compile()({"A": A}, {})
    inv = np.linalg.inv(A)
    assert value == pytest.approx(5.0 + np.log(5.5) + inv.sum())
    np.testing.assert_allclose(grads["A"], np.eye(2) + inv.T - inv.T @ np.ones((2, 2)) @ inv.T)


def test_inputs_get_gradients():
    g = nn.mlp([3, 4, 2], activation="tanh")
    net = g.compile(wrt=("X", "W1", "H_out"))
    assert tuple(net.wrt) == ("X", "W1", "H_out")
    rng = np.random.default_rng(0)
    params = net.init_params(seed=1)
    X, Y = rng.normal(size=(5, 3)), rng.random((5, 2))
    _, grads = net(params, {"X": X, "Y": Y})
    assert set(grads) == {"X", "W1", "H_out"}
    eps = 1e-6
    numeric = np.zeros_like(X)
    for idx in np.ndindex(X.shape):
        up, down = X.copy(), X.copy()
        up[idx] += eps
        down[idx] -= eps
        numeric[idx] = (net(params, {"X": up, "Y": Y})[0] - net(params, {"X": down, "Y": Y})[0]) / (2 * eps)
    np.testing.assert_allclose(grads["X"], numeric, rtol=1e-6, atol=1e-9)
    # ∂L/∂H_out = G_O W2ᵀ, and ∂L/∂W1 = Xᵀ (∂L/∂H_out ∘ tanh'(H_in))
    forward = net.forward(params, {"X": X, "Y": Y})
    np.testing.assert_allclose(grads["W1"], X.T @ (grads["H_out"] * (1 - forward["H_out"] ** 2)), rtol=1e-12)


def test_gradient_of_a_node_inside_a_fused_pair():
    """O_out = softmax(O_in) before its cross-entropy: ∂CE/∂O_out = -(1/N) Y / O_out, although the fusion skips it."""
    g = nn.mlp([2, 3], loss="softmax_cross_entropy")
    assert node_text(g.backprop().gradient("O_out")) == "-(1/N)(Y / O_out)"
    net = g.compile(wrt=("O_out", "O_in"))
    params = net.init_params(seed=0)
    X, Y = np.array([[1.0, 2.0], [0.0, -1.0]]), np.array([[0, 0, 1], [1, 0, 0.0]])
    _, grads = net(params, {"X": X, "Y": Y})
    P = net.forward(params, {"X": X, "Y": Y})["O_out"]
    np.testing.assert_allclose(grads["O_out"], -Y / P / 2)
    np.testing.assert_allclose(grads["O_in"], (P - Y) / 2)


def test_gradient_expressions_have_no_products_with_one():
    pattern = re.compile(r"(^|[^0-9./])1 ∘|∘ 1($|[^0-9./])|\b1 @|@ 1\b|\(1\)")
    for activation in ("sigmoid", "tanh", "relu", "identity"):
        for loss in ("mse", "bce", "softmax_cross_entropy", "hinge", "multiclass_hinge"):
            sizes = [3, 4, 2] if loss not in ("bce", "hinge") else [3, 4, 1]
            if loss == "multiclass_hinge":
                g = Graph()
                g.input("X", ("N", 3))
                g.input("y", ("N",), dtype="int")
                g.param("W", (3, 4))
                g.define("S", f"{activation}(X @ W)")
                g.define("L", "multiclass_hinge(S, y)")
                bp = g.backprop()
            else:
                bp = nn.mlp(sizes, activation=activation, loss=loss).backprop()
            texts = [node_text(e) for e in bp.gradients.values()]
            texts += [node_text(e, top=True) for e in bp.definitions.values()]
            for text in texts:
                assert not pattern.search(text), (activation, loss, text)


def test_batchnorm_with_a_symbolic_batch_compiles_and_trains():
    g = Graph()
    g.input("X", ("N", 2))
    g.input("y", ("N",), dtype="int")
    g.param("W1", (2, 16), init="he")
    g.define("H_lin", "X @ W1")
    nn.batchnorm(g, "H_bn", "H_lin")
    g.define("H", "relu(H_bn)")
    g.param("W2", (16, 2))
    g.param("b2", (1, 2))
    g.define("S", "H @ W2 + b2")
    g.define("CE", "softmax_cross_entropy(S, y)")
    net = g.compile()
    assert "N = X.shape[0]" in net.source
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)  # XOR of the signs: needs the hidden layer
    for batch in (7, 64):  # the same code for any batch size
        value, grads = net(net.init_params(0), {"X": X[:batch], "y": y[:batch]})
        assert np.isfinite(value) and grads["H_bn_gain"].shape == (1, 16)
    history = train(net, {"X": X, "y": y}, Adam(0.05), epochs=100, batch_size=50, seed=0)
    assert history.losses[-1] < 0.3 * history.losses[0]
    scores = net.forward(history.params, {"X": X, "y": y})["S"]
    assert np.mean(scores.argmax(1) == y) > 0.9


def test_multiclass_hinge_on_labels_by_hand():
    """Scores (1, 2, -0.5) with label 0: margins 2 - 1 + 1 = 2 and -0.5 - 1 + 1 < 0, so L = 2, dS = (-1, 1, 0)."""
    g = Graph()
    g.param("S", (1, 3))
    g.input("y", (1,), dtype="int")
    g.define("SVM", "multiclass_hinge(S, y)")
    value, grads = g.compile()({"S": np.array([[1.0, 2.0, -0.5]])}, {"y": np.array([0])})
    assert value == 2.0
    np.testing.assert_allclose(grads["S"], [[-1.0, 1.0, 0.0]])


# ---------------------------------------------------------------------------
# bad input: clear errors naming the node and the shapes, nothing half-built
# ---------------------------------------------------------------------------

def embedding_graph():
    g = Graph()
    g.input("ix", ("N",), dtype="int")
    g.input("X", ("N", 4))
    g.param("C", (5, 4))
    g.define("E", "C[ix]")
    g.define("L", "sum(E * X)")
    return g


def test_a_float_used_as_an_index_is_refused():
    g = embedding_graph()
    with pytest.raises(ShapeError, match=r"C\[X\].*must be an integer input"):
        g.define("bad", "C[X]")
    net = g.compile()
    with pytest.raises(InputError, match="ix holds indices or labels.*floats"):
        net({"C": np.ones((5, 4))}, {"ix": np.array([0.0, 1.0]), "X": np.ones((2, 4))})


def test_an_index_out_of_range_at_run_time_names_the_node():
    net = embedding_graph().compile()
    with pytest.raises(InputError, match=r"ix holds the index 7, but C has rows 0 to 4"):
        net({"C": np.ones((5, 4))}, {"ix": np.array([0, 7]), "X": np.ones((2, 4))})
    g = Graph()
    g.input("S", ("N", 3))
    g.input("y", ("N",), dtype="int")
    g.define("L", "softmax_cross_entropy(S, y)")
    with pytest.raises(InputError, match="labels y hold the class 3, but there are 3 classes"):
        g.compile()({}, {"S": np.zeros((2, 3)), "y": np.array([0, 3])})


def test_wrong_rank_or_size_at_run_time():
    net = embedding_graph().compile()
    with pytest.raises(ShapeError, match="input X should have shape N x 4 but has shape 2 x 4 x 1"):
        net({"C": np.ones((5, 4))}, {"ix": np.array([0, 1]), "X": np.ones((2, 4, 1))})
    with pytest.raises(ShapeError, match="parameter C should have shape 5 x 4 but has shape 5 x 3"):
        net({"C": np.ones((5, 3))}, {"ix": np.array([0, 1]), "X": np.ones((2, 4))})


@pytest.mark.parametrize("wrt, message", [(("Q",), "not a node"), (("ix",), "integer input")])
def test_wrt_must_name_float_nodes(wrt, message):
    with pytest.raises(InputError, match=message):
        embedding_graph().compile(wrt=wrt)


@pytest.mark.parametrize("definition, message", [
    ("inv(X)", r"the inverse needs a square matrix, but X has shape N x 4"),
    ("trace(C)", r"the trace needs a square matrix, but C has shape 5 x 4"),
    ("X @ C", r"cannot multiply X \(N x 4\) by C \(5 x 4\)"),
    ("reshape(X, (N, 3))", r"cannot reshape X \(N x 4, 4\*N entries\) to N x 3"),
    ("concat(X, C, axis=1)", r"cannot concatenate X \(N x 4\) and C \(5 x 4\) along axis 1"),
    ("sum(X, 2)", r"axis 2 does not exist for a node of rank 2"),
    ("softmax_cross_entropy(X, X * 2)", None),
    ("mse(X, ix)", r"integer labels ix go with"),
    ("dropout(X, X, 1)", r"below 1"),
])
def test_definitions_that_do_not_fit_leave_nothing_behind(definition, message):
    g = embedding_graph()
    before = g.names
    if message is None:
        g.define("bad", definition)  # two float tensors of one shape: a valid (if odd) target
        return
    with pytest.raises((ShapeError, InputError)) as err:
        g.define("bad", definition)
    assert re.search(message, str(err.value)), str(err.value)
    assert "bad" in str(err.value)
    assert g.names == before
    g.define("bad", "sum(X)")  # the name is still free


def test_unsafe_or_malformed_strings_are_parse_errors():
    g = embedding_graph()
    for text in ("X.__class__", "__import__('os')", "C[ix](1)", "lambda: X", "[X for X in ()]", "X if X else X",
                 "sum(*X)", "sum(X, axis=ix)", "2 ** 1000", "N ** N"):
        with pytest.raises((ParseError, InputError, ShapeError)):
            g.define("bad", text)
    assert "bad" not in g


def test_sizes_are_numbers_in_formulas():
    g = Graph()
    g.input("A", ("N", 3))
    g.define("m", "sum(A, 0) / (N - 1)")
    assert g.definitions["m"] == "(1/(N - 1)) Σ_e A"
    assert g["m"].shape == (1, 3)
    with pytest.raises(InputError, match="size"):
        g.input("N", (2, 2))
    assert sympy.Symbol("N") in g["A"].shape


def test_layernorm_matches_central_differences_and_a_clash_leaves_nothing():
    g = Graph()
    g.param("A", (3, 4))
    nn.layernorm(g, "ln1", "A")
    g.input("R", (3, 4))
    g.define("L", "sum(ln1 * R)")
    net = g.compile(wrt=("A", "ln1_gain"))
    rng = np.random.default_rng(0)
    A, R = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    params = {"A": A, "ln1_gain": np.ones((1, 4)), "ln1_bias": np.zeros((1, 4))}
    _, grads = net(params, {"R": R})
    eps = 1e-6
    numeric = np.zeros_like(A)
    for idx in np.ndindex(A.shape):
        up, down = A.copy(), A.copy()
        up[idx] += eps
        down[idx] -= eps
        numeric[idx] = (net(dict(params, A=up), {"R": R})[0] - net(dict(params, A=down), {"R": R})[0]) / (2 * eps)
    np.testing.assert_allclose(grads["A"], numeric, rtol=1e-6, atol=1e-9)
    # each row normalised on its own: mean 0, variance 1 (up to eps)
    out = net.forward(params, {"R": R})["ln1"]
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=1), A.var(axis=1) / (A.var(axis=1) + 1e-5))
    before = g.names
    with pytest.raises(InputError, match="reserved"):
        nn.layernorm(g, "ln", "A")  # "ln" is the natural log
    with pytest.raises(InputError, match="already has a node named 'ln1_mean'"):
        nn.batchnorm(g, "ln1", "A")
    assert g.names == before
