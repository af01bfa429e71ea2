"""Every operation of the graph engine: gradients equal central differences and the scalar expansion.

Each case is a small graph: leaves with shapes (floats are parameters, so the
compiled function returns their gradients; integers are inputs), one
definition ``out`` using the operation, and the loss ``Σ out ∘ R`` with a fixed
random ``R``, so that every entry of the gradient matters.
"""

from __future__ import annotations

import numpy as np
import pytest

from derivkit.compile.scalar import scalar_gradients
from derivkit.graph import OPS, Graph

# name: ({leaf: (shape, kind)}, definition); kinds: "float", "pos" (positive floats), "int:K" (indices below K),
# "mask" (0/1 floats), "spd" (a well-conditioned square matrix), "onehot:K" (one-hot rows)
CASES = {
    "matmul": ({"A": ((3, 4), "float"), "B": ((4, 2), "float")}, "A @ B"),
    "transpose": ({"A": ((3, 4), "float")}, "A.T"),
    "add bias": ({"A": ((3, 4), "float"), "b": ((1, 4), "float")}, "A + b"),
    "add vector bias": ({"A": ((3, 4), "float"), "b": ((4,), "float")}, "A + b"),
    "add column": ({"A": ((3, 4), "float"), "c": ((3, 1), "float")}, "A + c"),
    "sub": ({"A": ((3, 4), "float"), "B": ((3, 4), "float")}, "A - 2 * B"),
    "hadamard": ({"A": ((3, 4), "float"), "B": ((3, 4), "float")}, "A * B"),
    "divide": ({"A": ((3, 4), "float"), "B": ((3, 4), "pos")}, "A / B"),
    "number over": ({"B": ((3, 4), "pos")}, "10 / B"),
    "power": ({"A": ((3, 4), "float")}, "A ** 3"),
    "negative power": ({"B": ((2, 3), "pos")}, "(B + 1) ** -0.5"),
    "sqrt": ({"B": ((3, 4), "pos")}, "sqrt(B)"),
    "exp": ({"A": ((3, 4), "float")}, "exp(A)"),
    "log": ({"B": ((3, 4), "pos")}, "log(B)"),
    "abs": ({"A": ((3, 4), "float")}, "abs(A)"),
    "sigmoid": ({"A": ((3, 4), "float")}, "sigmoid(A)"),
    "tanh": ({"A": ((3, 4), "float")}, "tanh(A)"),
    "relu": ({"A": ((3, 4), "float")}, "relu(A)"),
    "leaky relu": ({"A": ((3, 4), "float")}, "leaky_relu(A, 0.1)"),
    "sum": ({"A": ((3, 4), "float")}, "sum(A)"),
    "sum axis 0": ({"A": ((3, 4), "float")}, "sum(A, 0)"),
    "sum axis 1": ({"A": ((3, 4), "float")}, "sum(A, axis=1)"),
    "mean": ({"A": ((3, 4), "float")}, "mean(A, 0) + mean(A)"),
    "max": ({"A": ((3, 4), "float")}, "max(A, 1)"),
    "min": ({"A": ((3, 4), "float")}, "min(A, 0)"),
    "max of all": ({"A": ((3, 4), "float")}, "max(A)"),
    "var": ({"A": ((4, 3), "float")}, "var(A, 0)"),
    "var ddof": ({"A": ((4, 3), "float")}, "var(A, 1, ddof=1)"),
    "softmax": ({"A": ((3, 4), "float")}, "softmax(A)"),
    "log softmax": ({"A": ((3, 4), "float")}, "log_softmax(A)"),
    "softplus": ({"A": ((3, 4), "float")}, "softplus(A)"),
    "trace": ({"S": ((3, 3), "spd")}, "trace(S)"),
    "inverse": ({"S": ((2, 2), "spd")}, "inv(S)"),
    "logdet": ({"S": ((2, 2), "spd")}, "logdet(S)"),
    "reshape": ({"T": ((2, 3, 2), "float")}, "reshape(T, (3, 4))"),
    "flatten": ({"T": ((2, 3, 2), "float")}, "flatten(T)"),
    "concat": ({"A": ((3, 2), "float"), "B": ((3, 1), "float")}, "concat(A, B, axis=1)"),
    "concat rows": ({"A": ((2, 3), "float"), "B": ((1, 3), "float")}, "concat(A, B, axis=0)"),
    "gather": ({"C": ((5, 3), "float"), "ix": ((4,), "int:5")}, "C[ix]"),
    "gather rank 3": ({"C": ((5, 3), "float"), "ix": ((2, 3), "int:5")}, "C[ix]"),
    "pick": ({"A": ((4, 5), "float"), "y": ((4,), "int:5")}, "pick(A, y)"),
    "dropout": ({"A": ((3, 4), "float"), "M": ((3, 4), "mask")}, "dropout(A, M, 0.25)"),
    "mse": ({"P": ((4, 3), "float"), "Y": ((4, 3), "float")}, "mse(P, Y)"),
    "sse": ({"P": ((4, 3), "float"), "Y": ((4, 3), "float")}, "sse(P, Y)"),
    "l1": ({"P": ((4, 3), "float"), "Y": ((4, 3), "float")}, "l1(P, Y)"),
    "bce": ({"Z": ((4, 1), "float"), "Y": ((4, 1), "mask")}, "bce(sigmoid(Z) * 0.5 + 0.25, Y)"),
    "bce fused": ({"Z": ((4, 2), "float"), "Y": ((4, 2), "mask")}, "bce(sigmoid(Z), Y)"),
    "nll": ({"Z": ((4, 3), "float"), "Y": ((4, 3), "onehot:3")}, "nll(softmax(Z), Y)"),
    "softmax ce one-hot": ({"S": ((4, 3), "float"), "Y": ((4, 3), "onehot:3")}, "softmax_cross_entropy(S, Y)"),
    "softmax ce labels": ({"S": ((4, 3), "float"), "y": ((4,), "int:3")}, "softmax_cross_entropy(S, y)"),
    "hinge": ({"P": ((4, 1), "float"), "Y": ((4, 1), "mask")}, "hinge(P, 2 * Y - 1)"),
    "multiclass hinge labels": ({"S": ((4, 3), "float"), "y": ((4,), "int:3")}, "multiclass_hinge(S, y)"),
    "multiclass hinge one-hot": ({"S": ((4, 3), "float"), "Y": ((4, 3), "onehot:3")}, "multiclass_hinge(S, Y)"),
    "l2 penalty": ({"W": ((3, 2), "float")}, "l2_penalty(W)"),
    "l1 penalty": ({"W": ((3, 2), "float")}, "l1_penalty(W)"),
    # images: conv2d (stride 1 and 2, padding 0 and 1, several channels and kernels) and pooling
    "conv2d": ({"X": ((1, 2, 3, 3), "float"), "K": ((2, 2, 2, 2), "float")}, "conv2d(X, K)"),
    "conv2d bias padding": ({"X": ((1, 1, 3, 3), "float"), "K": ((2, 1, 3, 3), "float"), "b": ((2,), "float")},
                            "conv2d(X, K, b, padding=1)"),
    "conv2d stride 2": ({"X": ((1, 2, 5, 5), "float"), "K": ((2, 2, 3, 3), "float")}, "conv2d(X, K, stride=2)"),
    "conv2d stride 2 padding": ({"X": ((1, 2, 4, 4), "float"), "K": ((2, 2, 3, 3), "float"),
                                 "b": ((1, 2, 1, 1), "float")}, "conv2d(X, K, bias=b, stride=2, padding=1)"),
    "conv2d rectangular": ({"X": ((1, 1, 4, 5), "float"), "K": ((2, 1, 2, 3), "float")},
                           "conv2d(X, K, stride=(1, 2), padding=(1, 0))"),
    "conv2d twice": ({"X": ((1, 1, 3, 3), "float"), "K": ((2, 1, 2, 2), "float"), "K2": ((2, 2, 2, 2), "float")},
                     "conv2d(tanh(conv2d(X, K)), K2, padding=1)"),
    "maxpool": ({"X": ((2, 2, 4, 4), "float")}, "maxpool2d(X, 2)"),
    "maxpool overlapping": ({"X": ((1, 1, 4, 4), "float")}, "maxpool2d(X, 3, stride=1)"),
    "maxpool uneven": ({"X": ((1, 2, 5, 4), "float")}, "maxpool2d(X, (2, 3), stride=(2, 1))"),
    "avgpool": ({"X": ((2, 2, 4, 4), "float")}, "avgpool2d(X, 2)"),
    "avgpool overlapping": ({"X": ((2, 1, 5, 5), "float")}, "avgpool2d(X, 2, stride=1)"),
    "avgpool uneven": ({"X": ((1, 2, 5, 5), "float")}, "avgpool2d(X, 2)"),
    "conv relu pool": ({"X": ((1, 1, 4, 4), "float"), "K": ((2, 1, 3, 3), "float"), "b": ((2,), "float")},
                       "maxpool2d(relu(conv2d(X, K, b, padding=1)), 2)"),
    # every rank
    "rank 1": ({"v": ((5,), "float"), "w": ((5,), "pos")}, "sigmoid(v) * log(w) + sum(v, 0)"),
    "rank 3": ({"T": ((2, 3, 4), "float"), "b": ((4,), "float")}, "tanh(T + b) * T - mean(T, 1)"),
    "rank 4": ({"T": ((2, 2, 3, 2), "float"), "U": ((2, 2, 3, 2), "pos")}, "exp(T) / U + max(T, 2) + sum(T, 3)"),
    "rank 4 var": ({"T": ((2, 2, 3, 2), "float")}, "var(T, 0) + softmax(T)"),
    "1 x 1 node": ({"a": ((1, 1), "float"), "A": ((2, 2), "float")}, "a * a + a * A"),
    "quadratic form": ({"x": ((3, 1), "float"), "A": ((3, 3), "float")}, "x.T @ A @ x"),
}


def _values(spec, rng):
    shape, kind = spec
    if kind.startswith("int:"):
        return rng.integers(0, int(kind[4:]), shape)
    if kind.startswith("onehot:"):
        k = int(kind[7:])
        return np.eye(k)[rng.integers(0, k, shape[0])]
    if kind == "pos":
        return rng.uniform(0.5, 2.0, shape)
    if kind == "mask":
        return (rng.random(shape) > 0.4).astype(float)
    if kind == "spd":
        M = rng.normal(size=shape)
        return M @ M.T + shape[0] * np.eye(shape[0])
    return rng.normal(size=shape)


def _build(case):
    leaves, expr = CASES[case]
    g = Graph()
    for name, (shape, kind) in leaves.items():
        if kind.startswith("int"):
            g.input(name, shape, dtype="int")
        elif kind in ("mask", "onehot:3"):
            g.input(name, shape)
        else:
            g.param(name, shape)
    out = g.define("out", expr)
    g.input("R", out.shape)
    g.define("L", "sum(out * R)")
    return g


def _data(case, g, seed=0):
    rng = np.random.default_rng(seed)
    leaves, _ = CASES[case]
    params = {n: _values(leaves[n], rng) for n in g.params}
    data = {n: _values(leaves[n], rng) for n in g.inputs if n != "R"}
    data["R"] = rng.normal(size=tuple(int(d) for d in g["out"].shape))
    return params, data


def _central(f, params, name, eps=1e-6):
    out = np.zeros_like(params[name])
    for idx in np.ndindex(out.shape):
        plus = {k: v.copy() for k, v in params.items()}
        minus = {k: v.copy() for k, v in params.items()}
        plus[name][idx] += eps
        minus[name][idx] -= eps
        out[idx] = (f(plus) - f(minus)) / (2 * eps)
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradients_match_central_differences(case):
    g = _build(case)
    net = g.compile()
    params, data = _data(case, g)
    loss, grads = net(params, data)
    for p in g.params:
        numeric = _central(lambda q: net(q, data)[0], params, p)
        np.testing.assert_allclose(grads[p], numeric, rtol=1e-6, atol=1e-7, err_msg=f"{case}: gradient of {p}")
        assert grads[p].shape == params[p].shape


#: Too slow to differentiate as scalars (a maximum of ReLUs of sums: SymPy's Max and Heaviside).
SLOW_SCALAR = {"conv relu pool"}


@pytest.mark.parametrize("case", sorted(c for c in CASES if not c.startswith("rank 4") and c not in SLOW_SCALAR))
def test_matrix_level_equals_scalar_expansion(case):
    g = _build(case)
    params, data = _data(case, g, seed=1)
    loss, grads = g.compile()(params, data)
    loss_s, grads_s = scalar_gradients(g, params, data, loss="L")
    assert loss == pytest.approx(loss_s, rel=1e-10, abs=1e-12)
    for p in g.params:
        np.testing.assert_allclose(grads[p], grads_s[p], rtol=1e-9, atol=1e-11, err_msg=f"{case}: {p}")


def test_every_operation_is_exercised():
    """Each registered operation appears in some case's forward or backward code."""
    seen = set()
    for case in CASES:
        g = _build(case)
        bp = g.backprop()
        from derivkit.graph.reverse import topo

        for root in [g["L"], *bp.gradients.values()]:
            seen |= {n.op for n in topo(root)}
    # the printed G of a local factor; I in trace's gradient and 0 are folded away
    internal = {"adjoint", "eye", "zeros"}
    assert set(OPS) - seen - internal == set()
