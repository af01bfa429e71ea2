"""Neurons, layers and linear scores: course §5."""

import json

import numpy as np
import pytest
import sympy

from derivkit.errors import InputError, ShapeError
from derivkit.functions import relu, sigmoid, step
from derivkit.nn.layers import decision_boundary, layer, layer_symbols, linear_scores, neuron
from derivkit.nn.losses import multiclass_hinge_gradient

x1, x2, b0, b1, b2 = sympy.symbols("x1 x2 b0 b1 b2")
R = sympy.Rational

W5 = [[0.2, -0.5, 0.1, 2.0], [1.5, 1.3, 2.1, 0.0], [0, 0.25, 0.2, -0.3]]
X5 = [56, 231, 24, 2]
B5 = [1.1, 3.2, -1.2]


def test_neuron_is_f_of_weighted_sum():
    z = b1 * x1 + b2 * x2 + b0
    assert neuron(2, "sigmoid") == sigmoid(z)
    assert neuron(["x1", "x2"], "step") == step(z)
    assert neuron([x1, x2], "identity") == z
    assert neuron("x1, x2", sigmoid) == sigmoid(z)
    h = sympy.Symbol("h")
    assert neuron([h], "relu", weight="w") == relu(sympy.Symbol("w0") + sympy.Symbol("w1") * h)


def test_neuron_matches_the_explicit_sigmoid_and_its_gradient():
    y = neuron(2, "sigmoid")
    explicit = 1 / (1 + sympy.exp(-(b1 * x1 + b2 * x2 + b0)))
    for w in (b0, b1, b2):
        assert sympy.simplify(sympy.diff(y, w).rewrite(sympy.exp) - sympy.diff(explicit, w)) == 0
    assert sympy.diff(y, b1) == x1 * sigmoid(b1 * x1 + b2 * x2 + b0) * (1 - sigmoid(b1 * x1 + b2 * x2 + b0))


@pytest.mark.parametrize("t", [0, 2])
def test_step_neuron_has_zero_gradient_so_descent_cannot_move_it(t):
    y = neuron(2, lambda z: step(z, t))
    assert [sympy.diff(y, w) for w in (b0, b1, b2)] == [0, 0, 0]
    # the sigmoid neuron that replaces it does have a gradient
    assert sympy.diff(neuron(2, "sigmoid"), b1) != 0


def test_decision_boundary():
    z = b1 * x1 + b2 * x2 + b0
    assert decision_boundary(neuron(2, "sigmoid")) == sympy.Eq(z, 0)
    assert decision_boundary(neuron(2, "step")) == sympy.Eq(z, 0)
    assert decision_boundary(neuron(2, lambda v: step(v, 2))) == sympy.Eq(z, 2)
    assert decision_boundary(neuron(2, "identity")) == sympy.Eq(z, 0)
    # on the boundary the sigmoid neuron outputs exactly 1/2
    on_line = neuron(2, "sigmoid").subs({b0: -3, b1: 1, b2: 1, x1: 1, x2: 2})
    assert on_line == R(1, 2)


def test_layer_has_w_jk_and_b_j():
    Y = layer(3, 2, "sigmoid")
    assert Y.shape == (2, 1)
    x = sympy.symbols("x1 x2 x3")
    for j in (1, 2):
        w = [sympy.Symbol(f"w_{j}{k}") for k in (1, 2, 3)]
        z = sum(wk * xk for wk, xk in zip(w, x)) + sympy.Symbol(f"b_{j}")
        assert Y[j - 1] == sigmoid(z)
        assert sympy.simplify(Y[j - 1].rewrite(sympy.exp) - 1 / (1 + sympy.exp(-z))) == 0
    W, xs, b = layer_symbols(12, 1)
    assert W[11, 0] == sympy.Symbol("w_12_1")


def test_linear_scores_worked_example():
    r = linear_scores(W5, X5, B5)
    assert list(r.s) == [R(-968, 10), R(4379, 10), R(6075, 100)]
    assert [float(v) for v in r.s] == [-96.8, 437.9, 60.75]
    assert r.ds_db == sympy.eye(3)
    assert r.ds_dx == r.W.T and r.ds_dx.shape == (4, 3)
    assert all(g == r.x for g in r.ds_dw)
    assert "denominator layout" in r.layout


def test_linear_scores_symbolic_derivatives_equal_jacobians():
    W, x, b = layer_symbols(3, 4)
    r = linear_scores(W, x, b)
    s = W * x + b
    assert r.s == s
    assert r.ds_db == s.jacobian(b) == sympy.eye(3)
    assert r.ds_dx == s.jacobian(x).T == W.T
    for j in range(3):
        assert r.ds_dw[j] == sympy.Matrix([sympy.diff(s[j], W[j, k]) for k in range(4)]) == x


def test_linear_scores_match_central_differences():
    r = linear_scores(W5, X5, B5)
    W = np.array(W5, dtype=float)
    x0 = np.array(X5, dtype=float)
    b = np.array(B5)
    h = 1e-4
    numeric = np.array([(W @ (x0 + h * e) + b - (W @ (x0 - h * e) + b)) / (2 * h) for e in np.eye(4)])  # rows: x_k
    np.testing.assert_allclose(numeric, np.array(r.ds_dx, dtype=float), atol=1e-9)


def test_hinge_gradient_of_weights_through_linear_scores():
    """dL/dW = (dL/ds) x^T for the first image of the hinge example (chain through s = W x + b)."""
    W, x, b = layer_symbols(3, 2)
    r = linear_scores(W, x, b)
    g = multiclass_hinge_gradient(3, 0)
    L = g.loss.subs(dict(zip(g.wrt, r.s)))
    dL_ds = g.result.subs(dict(zip(g.wrt, r.s)))
    point = {**dict(zip(W, [1, 0, 0, 1, -1, 1])), **dict(zip(x, [R(32, 10), R(51, 10)])), **dict(zip(b, [0, 0, 0]))}
    for j in range(3):
        for k in range(2):
            chain = (dL_ds[j] * r.ds_dw[j][k]).subs(point)
            direct = sympy.diff(L, W[j, k]).subs(point).replace(sympy.Heaviside, lambda *a: 1 if a[0] > 0 else 0)
            assert chain == direct


def test_renderers_of_linear_scores():
    r = linear_scores([[1, 2], [3, 4]], [5, 6], [7, 8])
    text = r.to_text()
    assert "24" in text and "47" in text and "denominator layout" in text
    assert r"\frac{\partial s}{\partial x} &= W^{T}" in r.to_latex()
    assert json.loads(r.to_json())["s"] == [["24"], ["47"]]
    assert r.to_markdown().startswith("$$")


def test_bad_layer_inputs():
    with pytest.raises(ShapeError, match="x needs 4 entries, but it has 3"):
        linear_scores(W5, [1, 2, 3], B5)
    with pytest.raises(ShapeError, match="b needs 3 entries"):
        linear_scores(W5, X5, [1, 2])
    with pytest.raises(InputError, match="at least one input"):
        neuron(0)
    with pytest.raises(InputError, match="unknown activation"):
        neuron(2, "swish")
    with pytest.raises(InputError, match="units"):
        layer(2, 0)


def test_derivations_through_neurons_name_the_rules():
    from derivkit import derive

    d = derive(neuron(2, "sigmoid"), "b1")
    assert d.rules[:2] == ("chain", "sigmoid")
    assert d.result == sympy.diff(neuron(2, "sigmoid"), b1)
    d = derive(neuron(2, "step"), "b1")
    assert d.result == 0 and "step" in d.rules
    assert "cannot move" in d.to_text()
