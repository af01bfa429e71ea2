"""Compiled graphs: gradients against central differences and the scalar expansion, code size, dtypes, errors."""

import re
import zlib

import numpy as np
import pytest

from derivkit.compile.scalar import expand_scalar, scalar_gradients
from derivkit.errors import InputError, ShapeError
from derivkit.nn.graph import Graph
from derivkit.nn.networks import mlp

ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu", "step", "identity"]
LOSSES = ["mse", "sse", "l1", "bce", "cross_entropy", "nll", "softmax_cross_entropy", "hinge"]


def make_data(loss, n, k, rng):
    X = rng.standard_normal((n, 2))
    if loss in ("nll", "softmax_cross_entropy"):
        Y = np.eye(k)[rng.integers(0, k, n)]
    elif loss == "hinge":
        Y = rng.choice([-1.0, 1.0], (n, k))
    elif loss in ("bce", "cross_entropy"):
        Y = rng.integers(0, 2, (n, k)).astype(float)
    else:
        Y = rng.standard_normal((n, k))
    return {"X": X, "Y": Y}


def perturbed_params(net, rng):
    params = net.init_params(seed=0)
    return {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}


def central_differences(net, params, data, eps=1e-6):
    out = {}
    for name, value in params.items():
        grad = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            plus, minus = value.copy(), value.copy()
            plus[idx] += eps
            minus[idx] -= eps
            grad[idx] = (net({**params, name: plus}, data)[0] - net({**params, name: minus}, data)[0]) / (2 * eps)
        out[name] = grad
    return out


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradients_match_central_differences(activation, loss):
    rng = np.random.default_rng(zlib.crc32(f"{activation}-{loss}".encode()))  # deterministic per case
    net = mlp([2, 4, 3], activation=activation, loss=loss).compile()
    params = perturbed_params(net, rng)
    data = make_data(loss, 5, 3, rng)
    value, grads = net(params, data)
    assert np.isfinite(value)
    numeric = central_differences(net, params, data)
    for name in params:
        assert grads[name].shape == params[name].shape
        np.testing.assert_allclose(grads[name], numeric[name], atol=1e-7, rtol=1e-5, err_msg=name)


@pytest.mark.parametrize("activation, loss", [(a, "mse") for a in ["sigmoid", "tanh", "relu", "step"]]
                         + [("sigmoid", l) for l in ["sse", "l1", "bce", "softmax_cross_entropy", "nll", "hinge"]])
def test_matrix_level_equals_scalar_expansion(activation, loss):
    rng = np.random.default_rng(7)
    g = mlp([2, 2, 2], activation=activation, loss=loss)
    net = g.compile()
    params = perturbed_params(net, rng)
    data = make_data(loss, 3, 2, rng)
    value, grads = net(params, data)
    value_s, grads_s = scalar_gradients(g, params, data)
    assert value == pytest.approx(value_s, rel=1e-12, abs=1e-12)
    for name in params:
        np.testing.assert_allclose(grads[name], grads_s[name], rtol=1e-10, atol=1e-12, err_msg=name)


def test_scalar_expansion_symbols():
    g = mlp([2, 2, 1], bias=False)
    expr, symbols = expand_scalar(g, 2)
    assert symbols["W1"].shape == (2, 2) and str(symbols["W1"][0, 1]) == "W1_0_1"
    assert {str(s) for s in expr.free_symbols} >= {"X_1_0", "W2_1_0", "Y_0_0"}


def test_course_network_by_hand():
    """W1 = W2 = 0: H_out = O_out = 1/2; with Y = 1, MSE = 1/4, G_O = 2(1/2 - 1)(1/4) = -1/4."""
    net = mlp([2, 3, 1], bias=False).compile()
    params = {"W1": np.zeros((2, 3)), "W2": np.zeros((3, 1))}
    data = {"X": np.array([[1.0, 2.0]]), "Y": np.array([[1.0]])}
    value, grads = net(params, data)
    assert value == pytest.approx(0.25)
    np.testing.assert_allclose(grads["W2"], [[-0.125]] * 3)
    np.testing.assert_allclose(grads["W1"], np.zeros((2, 3)))
    values = net.forward(params, data)
    np.testing.assert_allclose(values["H_out"], [[0.5, 0.5, 0.5]])
    assert float(values["MSE"]) == pytest.approx(0.25)


def test_step_network_gradient_of_W1_is_zero():
    net = mlp([2, 3, 1], activation="step").compile()
    rng = np.random.default_rng(0)
    params = perturbed_params(net, rng)
    _, grads = net(params, make_data("mse", 4, 1, rng))
    assert not grads["W1"].any() and not grads["b1"].any()
    assert grads["W2"].any()


def test_code_size_does_not_depend_on_the_batch():
    def graph(batch):
        g = Graph()
        X = g.input("X", (batch, 3))
        g.input("Y", (batch, 2))
        W = g.param("W", (3, 2))
        g.define("O_out", "sigmoid(X @ W)")
        g.define("MSE", "mse(O_out, Y)")
        return g.compile().source

    small, large = graph(4), graph(4000)
    assert len(small.splitlines()) == len(large.splitlines())
    assert re.sub(r"\d+", "0", large) == re.sub(r"\d+", "0", small)  # only numbers (the batch size) differ
    symbolic = mlp([3, 4, 2]).compile().source
    assert "N = X.shape[0]" in symbolic
    for n in (1, 8, 256):  # one source serves every batch size
        net = mlp([3, 4, 2]).compile()
        params = net.init_params()
        value, _ = net(params, {"X": np.ones((n, 3)), "Y": np.zeros((n, 2))})
        assert np.isfinite(value)


def test_source_reuses_forward_values_and_shares_subexpressions():
    body = mlp([64, 32, 10], loss="softmax_cross_entropy").compile().module.function("loss_and_grads")
    assert body.count("_sigmoid(") == 1                           # σ' from σ: σ(1 - σ) in σ's own memory
    assert "G_H *= H_out" in body and "numpy.subtract(1, H_out, out=H_out)" in body
    assert body.count("numpy.exp(") == 1                          # softmax computed once
    assert "@" in body and not re.search(r"\bfor \w+ in\b", body)  # matmuls, no Python loops
    assert "O_in.max(axis=-1, keepdims=True)" in body               # stable softmax


def test_float32_option():
    net = mlp([2, 3, 2], loss="softmax_cross_entropy").compile(dtype="float32")
    params = net.init_params(seed=0)
    assert all(v.dtype == np.float32 for v in params.values())
    rng = np.random.default_rng(0)
    data = make_data("softmax_cross_entropy", 6, 2, rng)
    value, grads = net(params, data)
    assert all(g.dtype == np.float32 for g in grads.values())
    value64, grads64 = mlp([2, 3, 2], loss="softmax_cross_entropy").compile()(params, data)
    assert value == pytest.approx(value64, rel=1e-5)
    for k in grads:
        np.testing.assert_allclose(grads[k], grads64[k], rtol=1e-4, atol=1e-6)
    with pytest.raises(InputError, match="float64 or float32"):
        mlp([2, 1]).compile(dtype="int8")
    with pytest.raises(InputError, match="backend"):
        mlp([2, 1]).compile(backend="torch")


def test_softmax_is_stable_for_large_scores():
    net = mlp([1, 2], loss="softmax_cross_entropy").compile()
    params = {"W1": np.array([[1000.0, -1000.0]]), "b1": np.zeros((1, 2))}
    value, grads = net(params, {"X": np.array([[1.0]]), "Y": np.array([[0.0, 1.0]])})
    assert value == pytest.approx(2000.0)
    assert all(np.isfinite(g).all() for g in grads.values())


def test_wrong_data_shape_names_node_and_shapes():
    net = mlp([2, 3, 1]).compile()
    params = net.init_params()
    with pytest.raises(ShapeError, match=r"input X should have shape N x 2 but has shape 4 x 3"):
        net(params, {"X": np.zeros((4, 3)), "Y": np.zeros((4, 1))})
    with pytest.raises(ShapeError, match=r"input Y has shape 5 x 1, but X set N = 4"):
        net(params, {"X": np.zeros((4, 2)), "Y": np.zeros((5, 1))})
    with pytest.raises(ShapeError, match=r"input X should have shape N x 2 but has shape 4 \(1 dimension"):
        net(params, {"X": np.zeros(4), "Y": np.zeros((4, 1))})
    with pytest.raises(ShapeError, match=r"parameter W2 should have shape 3 x 1 but has shape 1 x 3"):
        net({**params, "W2": np.zeros((1, 3))}, {"X": np.zeros((4, 2)), "Y": np.zeros((4, 1))})


def test_missing_parameter_names_node_and_shape():
    net = mlp([2, 3, 1]).compile()
    params = net.init_params()
    del params["b1"]
    with pytest.raises(ShapeError, match=r"params has no parameter b1: expected an array of shape 1 x 3"):
        net(params, {"X": np.zeros((4, 2)), "Y": np.zeros((4, 1))})
    with pytest.raises(ShapeError, match="data has no input Y"):
        net(net.init_params(), {"X": np.zeros((4, 2))})


def test_predict_forward_and_init():
    net = mlp([2, 8, 3], activation="relu", loss="softmax_cross_entropy").compile()
    assert net.param_shapes == {"W1": (2, 8), "b1": (1, 8), "W2": (8, 3), "b2": (1, 3)}
    p0, p1 = net.init_params(seed=0), net.init_params(seed=1)
    assert not np.allclose(p0["W1"], p1["W1"]) and not p0["b1"].any()
    np.testing.assert_allclose(net.init_params(seed=0)["W1"], p0["W1"])
    assert abs(p0["W2"]).max() <= np.sqrt(6 / 11)          # Xavier uniform limit for the output layer
    X = np.random.default_rng(0).standard_normal((5, 2))
    P = net.predict(p0, X)
    np.testing.assert_allclose(P.sum(axis=1), np.ones(5))
    values = net.forward(p0, {"X": X, "Y": np.eye(3)[[0, 1, 2, 0, 1]]})
    np.testing.assert_allclose(values["O_out"], P)
    assert set(values) >= {"H_in", "H_out", "O_in", "O_out", "CE"}
    assert net.fn is net and "backend=numpy" in repr(net)


def test_every_operation_matches_central_differences():
    """A graph using each operation: shared weights, transposes, broadcasts, sums, means, softmax, penalties."""
    g = Graph()
    g.input("X", ("N", 3))
    g.input("Y", ("N", 3))
    for name, shape in (("W", (3, 3)), ("V", (3, 3)), ("c", (1, 3)), ("s", (3, 1))):
        g.param(name, shape)
    g.define("A", "X @ W @ W.T + c")
    g.define("B", "tanh(A) * (X @ V) / (2 + exp(A)) - mean(A, 0)")
    g.define("C", "softmax(B)")
    g.define("D", "C * sum(B, 1) + log_softmax(A) + (X @ s) + sum(X @ V) + leaky_relu(A, 0.1) ** 2")
    g.define("L", "mse(C, Y) + 0.1 * l1_penalty(V) + sse(D, Y) + mean(B * B) + 0.5 * l2_penalty(W)")
    net = g.compile()
    rng = np.random.default_rng(0)
    params = {k: rng.standard_normal(v) for k, v in net.param_shapes.items()}
    data = {"X": rng.standard_normal((4, 3)), "Y": rng.standard_normal((4, 3))}
    _, grads = net(params, data)
    numeric = central_differences(net, params, data)
    for name in params:
        np.testing.assert_allclose(grads[name], numeric[name], rtol=1e-6, atol=1e-6, err_msg=name)
    bp = g.backprop()
    assert len(bp.paths("W")) > 1 and "paths; their contributions add up" in bp.to_text()
    assert [f.label for f in bp.chain("s")] == ["∂L/∂D", "∂D/∂s"]


def test_dtype_given_as_numpy_type():
    assert mlp([2, 1]).compile(dtype=np.float32).dtype == np.float32
    assert mlp([2, 1]).compile(dtype=np.dtype("float64")).dtype == np.float64


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=20, deadline=None)
@given(n_in=st.integers(1, 3), hidden=st.lists(st.integers(1, 4), min_size=0, max_size=2), n_out=st.integers(1, 3),
       batch=st.integers(1, 4), activation=st.sampled_from(["sigmoid", "tanh", "identity"]),
       loss=st.sampled_from(["mse", "sse", "bce", "cross_entropy", "nll", "softmax_cross_entropy"]),
       bias=st.booleans(), seed=st.integers(0, 2**16))
def test_any_smooth_mlp_matches_central_differences(n_in, hidden, n_out, batch, activation, loss, bias, seed):
    rng = np.random.default_rng(seed)
    net = mlp([n_in, *hidden, n_out], activation=activation, loss=loss, bias=bias).compile()
    params = perturbed_params(net, rng)
    data = make_data(loss, batch, n_out, rng)
    data["X"] = rng.standard_normal((batch, n_in))
    _, grads = net(params, data)
    numeric = central_differences(net, params, data)
    for name in params:
        np.testing.assert_allclose(grads[name], numeric[name], rtol=1e-5, atol=1e-7, err_msg=name)


def test_sigmoid_bce_is_stable_for_large_scores():
    """Scores ±1000 with targets 0: the losses are 1000 and 0, so BCE = 500 and ∂BCE/∂W1 = (1 - 0)/2."""
    net = mlp([1, 1], loss="bce").compile()
    value, grads = net({"W1": np.array([[1000.0]]), "b1": np.zeros((1, 1))},
                       {"X": np.array([[1.0], [-1.0]]), "Y": np.array([[0.0], [0.0]])})
    assert value == pytest.approx(500.0)
    np.testing.assert_allclose(grads["W1"], [[0.5]])


def test_cross_entropy_is_fused_with_the_sigmoid_like_bce():
    # saturated sigmoid: the unfused form would divide 0 by 0
    params = {"W1": np.array([[50.0], [50.0]]), "b1": np.zeros((1, 1))}
    data = {"X": np.array([[1.0, 1.0], [-1.0, -1.0]]), "Y": np.array([[0.0], [1.0]])}
    loss_ce, grads_ce = mlp([2, 1], loss="cross_entropy").compile()(params, data)
    loss_bce, grads_bce = mlp([2, 1], loss="bce").compile()(params, data)
    assert loss_ce == pytest.approx(100.0) and loss_ce == loss_bce
    assert np.allclose(grads_ce["W1"], grads_bce["W1"]) and np.all(np.isfinite(grads_ce["W1"]))
