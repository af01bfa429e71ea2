"""Convolution and pooling: the generated code equals naive loops, the backward rules are the course's, bad sizes are refused.

The reference implementations here are the loops of the course's exercises
(``conv_forward_naive``, ``conv_backward_naive``, ``max_pool_forward_naive``,
...): one output pixel at a time, nothing shared with derivkit's code.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from derivkit.compile.scalar import ScalarContext
from derivkit.errors import InputError, ShapeError
from derivkit.graph import Graph
from derivkit.graph.node import OPS
from derivkit.graph.ops import (
    avgpool2d, avgpool2d_grad, conv2d, conv2d_bias_grad, conv2d_input_grad, conv2d_kernel_grad, leaf,
    maxpool2d,
)
from derivkit.graph.printing import node_latex, node_text


# -- the reference: loops over every output pixel ---------------------------------------

def out_size(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def conv_forward_naive(X, K, b, stride, padding):
    N, C, H, W = X.shape
    F, _, kh, kw = K.shape
    (sh, sw), (ph, pw) = stride, padding
    Xp = np.pad(X, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((N, F, out_size(H, kh, sh, ph), out_size(W, kw, sw, pw)))
    for n in range(N):
        for f in range(F):
            for i in range(out.shape[2]):
                for j in range(out.shape[3]):
                    window = Xp[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    out[n, f, i, j] = np.sum(window * K[f]) + (0.0 if b is None else b[f])
    return out


def conv_backward_naive(dout, X, K, stride, padding):
    N, C, H, W = X.shape
    F, _, kh, kw = K.shape
    (sh, sw), (ph, pw) = stride, padding
    Xp = np.pad(X, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dXp, dK = np.zeros_like(Xp), np.zeros_like(K)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    rows, cols = slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)
                    dK[f] += dout[n, f, i, j] * Xp[n, :, rows, cols]
                    dXp[n, :, rows, cols] += dout[n, f, i, j] * K[f]
    return dXp[:, :, ph:ph + H, pw:pw + W], dK, dout.sum(axis=(0, 2, 3))


def pool_forward_naive(X, k, stride, kind):
    N, C, H, W = X.shape
    out = np.zeros((N, C, out_size(H, k[0], stride[0], 0), out_size(W, k[1], stride[1], 0)))
    for n, c, i, j in np.ndindex(out.shape):
        window = X[n, c, i * stride[0]:i * stride[0] + k[0], j * stride[1]:j * stride[1] + k[1]]
        out[n, c, i, j] = window.max() if kind == "max" else window.mean()
    return out


def pool_backward_naive(dout, X, k, stride, kind):
    dX = np.zeros_like(X)
    for n, c, i, j in np.ndindex(dout.shape):
        rows, cols = slice(i * stride[0], i * stride[0] + k[0]), slice(j * stride[1], j * stride[1] + k[1])
        window = X[n, c, rows, cols]
        if kind == "max":
            p, q = np.unravel_index(np.argmax(window), window.shape)  # the first maximum, row by row
            dX[n, c, rows, cols][p, q] += dout[n, c, i, j]
        else:
            dX[n, c, rows, cols] += dout[n, c, i, j] / window.size
    return dX


def _compiled(definition, X_shape, leaves, seed):
    """Graph ``out = definition`` over the float input X and parameters; loss Σ out ∘ R; values and gradients."""
    g = Graph()
    g.input("X", ("N",) + tuple(X_shape[1:]))
    for name, shape in leaves.items():
        g.param(name, shape)
    out = g.define("out", definition)
    g.input("R", ("N",) + tuple(out.shape[1:]))
    g.define("L", "sum(out * R)")
    rng = np.random.default_rng(seed)
    params = {name: rng.normal(size=shape) for name, shape in leaves.items()}
    data = {"X": rng.normal(size=X_shape)}
    data["R"] = rng.normal(size=(X_shape[0],) + tuple(int(d) for d in out.shape[1:]))
    net = g.compile(wrt=("X",) + tuple(leaves))
    loss, grads = net(params, data)
    return net.forward(params, data)["out"], grads, params, data


sizes = st.integers(1, 3)


@settings(max_examples=100)
@given(N=sizes, C=sizes, F=sizes, H=st.integers(1, 7), W=st.integers(1, 7), kh=st.integers(1, 4),
       kw=st.integers(1, 4), sh=sizes, sw=sizes, ph=st.integers(0, 2), pw=st.integers(0, 2), bias=st.booleans(),
       seed=st.integers(0, 2**16))
def test_conv2d_equals_naive_loops(N, C, F, H, W, kh, kw, sh, sw, ph, pw, bias, seed):
    assume(kh <= H + 2 * ph and kw <= W + 2 * pw)
    leaves = {"K": (F, C, kh, kw)} | ({"b": (F,)} if bias else {})
    definition = f"conv2d(X, K{', b' if bias else ''}, stride=({sh}, {sw}), padding=({ph}, {pw}))"
    out, grads, params, data = _compiled(definition, (N, C, H, W), leaves, seed)
    b = params.get("b")
    np.testing.assert_allclose(out, conv_forward_naive(data["X"], params["K"], b, (sh, sw), (ph, pw)), atol=1e-12)
    dX, dK, db = conv_backward_naive(data["R"], data["X"], params["K"], (sh, sw), (ph, pw))
    np.testing.assert_allclose(grads["X"], dX, atol=1e-12)
    np.testing.assert_allclose(grads["K"], dK, atol=1e-12)
    if bias:
        np.testing.assert_allclose(grads["b"], db, atol=1e-12)


@settings(max_examples=100)
@given(N=sizes, C=sizes, H=st.integers(1, 7), W=st.integers(1, 7), kh=sizes, kw=sizes,
       stride=st.one_of(st.none(), st.tuples(sizes, sizes)), kind=st.sampled_from(["max", "avg"]),
       seed=st.integers(0, 2**16))
def test_pooling_equals_naive_loops(N, C, H, W, kh, kw, stride, kind, seed):
    assume(kh <= H and kw <= W)
    option = "" if stride is None else f", stride={stride}"
    out, grads, _, data = _compiled(f"{kind}pool2d(X, ({kh}, {kw}){option})", (N, C, H, W), {}, seed)
    stride = stride or (kh, kw)
    np.testing.assert_allclose(out, pool_forward_naive(data["X"], (kh, kw), stride, kind), atol=1e-12)
    np.testing.assert_allclose(grads["X"], pool_backward_naive(data["R"], data["X"], (kh, kw), stride, kind),
                               atol=1e-12)


# -- the backward rules, as the course states them --------------------------------------

def dilate(G, stride):
    """``G`` with ``s - 1`` zeros between its entries (what a stride skips)."""
    N, F, Ho, Wo = G.shape
    out = np.zeros((N, F, (Ho - 1) * stride[0] + 1, (Wo - 1) * stride[1] + 1))
    out[:, :, ::stride[0], ::stride[1]] = G
    return out


@settings(max_examples=40)
@given(N=sizes, C=sizes, F=sizes, H=st.integers(3, 7), W=st.integers(3, 7), k=st.integers(1, 3),
       s=st.integers(1, 2), P=st.integers(0, 1), seed=st.integers(0, 2**16))
def test_input_gradient_is_g_convolved_with_the_flipped_kernel(N, C, F, H, W, k, s, P, seed):
    """``∂L/∂X``: the upstream gradient, dilated by the stride and padded by ``k - 1 - P``, correlated with the
    kernel flipped (rows and columns reversed) and with its two channel axes swapped: a full convolution."""
    out, grads, params, data = _compiled(f"conv2d(X, K, stride={s}, padding={P})", (N, C, H, W),
                                         {"K": (F, C, k, k)}, seed)
    G, K = dilate(data["R"], (s, s)), params["K"]
    full = conv_forward_naive(G, K[:, :, ::-1, ::-1].transpose(1, 0, 2, 3), None, (1, 1), (k - 1, k - 1))
    expected = np.zeros((N, C, H + 2 * P, W + 2 * P))  # rows a stride skipped at the end get no gradient
    expected[:, :, :full.shape[2], :full.shape[3]] = full
    np.testing.assert_allclose(grads["X"], expected[:, :, P:P + H, P:P + W], atol=1e-12)


@settings(max_examples=40)
@given(N=sizes, C=sizes, F=sizes, H=st.integers(3, 7), W=st.integers(3, 7), k=st.integers(1, 3),
       s=st.integers(1, 2), P=st.integers(0, 1), seed=st.integers(0, 2**16))
def test_kernel_gradient_is_the_input_correlated_with_g(N, C, F, H, W, k, s, P, seed):
    """``∂L/∂K[f,c]``: channel ``c`` of the images correlated with channel ``f`` of the (dilated) upstream
    gradient, summed over the examples: a convolution with the examples as channels."""
    out, grads, params, data = _compiled(f"conv2d(X, K, stride={s}, padding={P})", (N, C, H, W),
                                         {"K": (F, C, k, k)}, seed)
    G = dilate(data["R"], (s, s)).transpose(1, 0, 2, 3)  # F x N x ...: the examples are the channels
    X = data["X"].transpose(1, 0, 2, 3)  # C x N x H x W
    correlated = conv_forward_naive(X, G, None, (1, 1), (P, P))  # C x F x ...
    np.testing.assert_allclose(grads["K"], correlated[:, :, :k, :k].transpose(1, 0, 2, 3), atol=1e-12)


def test_bias_gradient_sums_over_examples_and_pixels():
    out, grads, params, data = _compiled("conv2d(X, K, b, padding=1)", (3, 2, 4, 4), {"K": (2, 2, 3, 3), "b": (2,)}, 7)
    np.testing.assert_allclose(grads["b"], data["R"].sum(axis=(0, 2, 3)), atol=1e-12)


# -- max-pooling's ties ----------------------------------------------------------------------

def _pool_gradient(X, definition):
    g = Graph()
    g.param("X", X.shape)
    out = g.define("out", definition)
    g.define("L", "sum(out)")
    return g.compile()({"X": X}, {})[1]["X"]


def test_max_pool_routes_the_gradient_to_the_maximum():
    X = np.array([[[[1.0, 3.0, 0.0, 0.0], [2.0, 0.5, 0.0, 4.0], [9.0, 1.0, 5.0, 5.0], [1.0, 1.0, 5.0, 6.0]]]])
    grad = _pool_gradient(X, "maxpool2d(X, 2)")
    assert grad[0, 0].tolist() == [[0, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 0, 0, 1]]


def test_max_pool_ties_go_to_the_first_maximum_in_reading_order():
    X = np.array([[[[1.0, 3.0, 7.0, 7.0], [3.0, 2.0, 7.0, 7.0]]]])
    assert _pool_gradient(X, "maxpool2d(X, 2)")[0, 0].tolist() == [[0, 1, 1, 0], [0, 0, 0, 0]]
    assert _pool_gradient(np.zeros((1, 1, 2, 2)), "maxpool2d(X, 2)")[0, 0].tolist() == [[1, 0], [0, 0]]


def test_overlapping_windows_add_up_at_a_shared_maximum():
    """A 3 x 3 image with its maximum in the middle: all four 2 x 2 windows (stride 1) pick it."""
    X = np.arange(9.0).reshape(1, 1, 3, 3)
    X[0, 0, 1, 1] = 100
    assert _pool_gradient(X, "maxpool2d(X, 2, stride=1)")[0, 0].tolist() == [[0, 0, 0], [0, 4, 0], [0, 0, 0]]
    # average pooling spreads each window's gradient: corners get 1/4, edges 2/4, the middle 4/4
    assert _pool_gradient(X, "avgpool2d(X, 2, stride=1)")[0, 0].tolist() == [
        [0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]]


def test_rows_left_out_by_the_stride_get_no_gradient():
    X = np.arange(25.0).reshape(1, 1, 5, 5)
    grad = _pool_gradient(X, "maxpool2d(X, 2)")  # 2 x 2 windows: row 4 and column 4 are not read
    assert grad.shape == (1, 1, 5, 5) and grad[0, 0, 4].sum() == 0 and grad[0, 0, :, 4].sum() == 0
    assert grad.sum() == 4


# -- printing: index form ------------------------------------------------------------------------

def test_conv2d_prints_in_index_form():
    X = leaf("input", "X", ("N", 3, 8, 8))
    K1 = leaf("param", "K1", (4, 3, 3, 3))
    b1 = leaf("param", "b1", (4,))
    Y = conv2d(X, K1, b1, stride=2, padding=1)
    assert node_text(Y) == "Σ_{c,p,q} X[n,c,2i+p-1,2j+q-1] K1[f,c,p,q] + b1[f]"
    assert node_latex(Y) == r"\sum_{c,p,q} X[n,c,2i+p-1,2j+q-1]\, K_{1}[f,c,p,q] + b_{1}[f]"
    assert node_text(conv2d(X, K1)) == "Σ_{c,p,q} X[n,c,i+p,j+q] K1[f,c,p,q]"
    G = leaf("adjoint", "G", Y.shape)
    assert node_text(conv2d_kernel_grad(X, G, ((2, 2), (1, 1)), K1.shape)) == (
        "Σ_{n,i,j} G[n,f,i,j] X[n,c,2i+p-1,2j+q-1]")
    assert node_text(conv2d_input_grad(G, K1, ((2, 2), (1, 1)), X.shape)) == (
        "Σ_{f,p,q} G[n,f,(h-p+1)/2,(w-q+1)/2] K1[f,c,p,q]")
    assert node_text(conv2d_input_grad(G, K1, ((1, 1), (0, 0)), X.shape)) == "Σ_{f,p,q} G[n,f,h-p,w-q] K1[f,c,p,q]"
    assert node_text(conv2d_bias_grad(G, (4,))) == "Σ_{n,i,j} G[n,f,i,j]"


def test_pooling_prints_in_index_form():
    A = leaf("input", "A", ("N", 8, 6, 6))
    assert node_text(maxpool2d(A, 2)) == "max_{p,q} A[n,c,2i+p,2j+q]"
    assert node_latex(maxpool2d(A, 3, stride=1)) == r"\max_{p,q} A[n,c,i+p,j+q]"
    assert node_text(avgpool2d(A, 3)) == "(1/9) Σ_{p,q} A[n,c,3i+p,3j+q]"
    assert node_latex(avgpool2d(A, 2)) == r"\frac{1}{4} \sum_{p,q} A[n,c,2i+p,2j+q]"
    G = leaf("adjoint", "G", (A.shape[0], 8, 3, 3))
    assert node_text(avgpool2d_grad(G, ((2, 2), (2, 2)), A.shape)) == "(1/4) G[n,c,⌊h/2⌋,⌊w/2⌋]"
    g = Graph()
    g.param("A", (1, 2, 4, 4))
    g.define("P", "maxpool2d(A, 2)")
    g.define("L", "sum(P)")
    assert g.backprop().to_text().count("Σ_{i,j} 1[(h,w) = argmax_(2i+p,2j+q) A[n,c,2i+p,2j+q]]") == 0  # G is 1
    assert "1[(h,w) = argmax_(2i+p,2j+q) A[n,c,2i+p,2j+q]]" in str(g.backprop().gradients["A"])


def test_a_conv_layer_backprop_names_the_gradient_arriving_at_it():
    g = Graph()
    g.input("X", ("N", 1, 6, 6))
    g.param("K1", (4, 1, 3, 3))
    g.param("b1", (4,))
    g.define("C1", "conv2d(X, K1, b1, padding=1)")
    g.define("A1", "relu(C1)")
    g.input("R", ("N", 4, 6, 6))
    g.define("L", "sum(A1 * R)")
    bp = g.backprop()
    assert str(bp.gradients["K1"]) == "Σ_{n,i,j} G_C1[n,f,i,j] X[n,c,i+p-1,j+q-1]"
    assert str(bp.gradients["b1"]) == "Σ_{n,i,j} G_C1[n,f,i,j]"
    assert str(bp.definitions["G_C1"]) == "R ∘ ReLU'(C1)"
    assert [f.label for f in bp.chain("K1")] == ["∂L/∂A1", "∂A1/∂C1", "∂C1/∂K1"]


# -- bad input ------------------------------------------------------------------------------------

def _graph():
    g = Graph()
    g.input("X", ("N", 1, 4, 4))
    g.param("K", (2, 1, 3, 3))
    g.param("K5", (2, 1, 5, 5))
    g.param("K3", (2, 3, 3, 3))
    g.param("b", (2,))
    g.input("labels", ("N",), dtype="int")
    return g


@pytest.mark.parametrize("definition, error, message", [
    ("conv2d(X, K5)", ShapeError,
     "conv2d(X, K5): the 5 x 5 windows are larger than the 4 x 4 image: 5 rows of window, 4 rows of image"),
    ("conv2d(X, K5, padding=(1, 0))", ShapeError, "conv2d(X, K5, padding=(1, 0)): the 5 x 5 windows are larger "
     "than the 4 x 4 image with its padding (6 x 4): 5 columns of window, 4 columns of padded image"),
    ("conv2d(X, K3)", ShapeError, "conv2d(X, K3): X has 1 channel (N x 1 x 4 x 4), but the kernels K3 "
                                  "(2 x 3 x 3 x 3) expect 3"),
    ("conv2d(X, K, stride=0)", ShapeError, "conv2d(X, K): the stride must be a whole number of at least 1"),
    ("conv2d(X, K, stride=-2)", ShapeError, "the stride must be a whole number of at least 1"),
    ("conv2d(X, K, stride=1.5)", ShapeError, "the stride must be a whole number of at least 1 (or a pair such as "
                                             "(2, 1) for rows and columns), got 1.5"),
    ("conv2d(X, K, padding=-1)", ShapeError, "the padding must be a whole number, 0 or more"),
    ("conv2d(X, K, padding=(1, 2, 3))", ShapeError, "the padding must be a whole number, 0 or more"),
    ("conv2d(X, K, b, b)", ShapeError, "the stride must be a whole number"),
    ("conv2d(X, K, 2)", InputError, "the third argument is the bias, a node of shape F"),
    ("conv2d(X, K, b, bias=b)", InputError, "conv2d takes the bias once"),
    ("conv2d(X, K, K)", ShapeError, "the bias K must hold one number per kernel, shape 2 (or 1 x 2 x 1 x 1), but "
                                    "has shape 2 x 1 x 3 x 3"),
    ("conv2d(b, K)", ShapeError, "conv2d(b, K) takes images of shape N x C x H x W (examples, channels, rows, "
                                 "columns), but b has shape 2"),
    ("conv2d(X, b)", ShapeError, "takes kernels of shape F x C x kh x kw (filters, channels, rows, columns), but b "
                                 "has shape 2"),
    ("conv2d(labels, K)", InputError, "labels holds integers"),
    ("maxpool2d(X, 0)", ShapeError, "maxpool2d(X, 0): the window size must be a whole number of at least 1"),
    ("maxpool2d(X, 2.5)", ShapeError, "the window size must be a whole number of at least 1"),
    ("avgpool2d(X, 2, stride=0)", ShapeError, "avgpool2d(X, 2): the stride must be a whole number of at least 1"),
    ("maxpool2d(X, 5)", ShapeError, "maxpool2d(X, 5): the 5 x 5 windows are larger than the 4 x 4 image"),
    ("avgpool2d(b, 2)", ShapeError, "avgpool2d(b, 2) takes images of shape N x C x H x W"),
])
def test_bad_sizes_are_refused_with_the_node_and_the_shapes(definition, error, message):
    g = _graph()
    names = g.names
    with pytest.raises(error) as caught:
        g.define("Y", definition)
    assert message in str(caught.value)
    assert str(caught.value).startswith("in the definition of Y: ") or error is not ShapeError
    assert g.names == names  # nothing was added


def test_image_sizes_must_be_numbers():
    g = Graph()
    g.input("X", ("N", 1, "H", 8))
    g.param("K", (2, 1, 3, 3))
    with pytest.raises(ShapeError, match="the channels, rows and columns of X must be numbers"):
        g.define("Y", "conv2d(X, K)")


def test_wrong_data_is_refused_before_the_generated_code_runs():
    g = _graph()
    g.define("Y", "conv2d(X, K, b, padding=1)")
    g.define("L", "sum(Y)")
    net = g.compile()
    params = net.init_params()
    with pytest.raises(ShapeError, match=r"the input X should have shape N x 1 x 4 x 4 but has shape 2 x 1 x 5 x 5"):
        net(params, {"X": np.zeros((2, 1, 5, 5))})


# -- the batch stays symbolic; float32 -----------------------------------------------------------

def test_one_compiled_function_for_every_batch_size():
    g = Graph()
    g.input("X", ("N", 2, 5, 5))
    g.param("K", (3, 2, 3, 3))
    g.param("b", (3,))
    g.define("P", "maxpool2d(relu(conv2d(X, K, b, padding=1)), 2)")
    g.define("L", "sum(P * P)")
    net = g.compile()
    params = net.init_params(seed=1)
    X = np.random.default_rng(0).normal(size=(5, 2, 5, 5))
    whole = net.forward(params, {"X": X})["P"]
    one_by_one = np.concatenate([net.forward(params, {"X": X[i:i + 1]})["P"] for i in range(5)])
    np.testing.assert_allclose(whole, one_by_one, atol=1e-13)
    grads = [net(params, {"X": X[i:i + 1]})[1]["K"] for i in range(5)]
    np.testing.assert_allclose(net(params, {"X": X})[1]["K"], sum(grads), atol=1e-12)  # L is a sum over examples


def test_float32_code_stays_float32():
    g = Graph()
    g.input("X", ("N", 1, 6, 6))
    g.param("K", (2, 1, 3, 3))
    g.param("b", (2,))
    g.define("A", "avgpool2d(maxpool2d(conv2d(X, K, b, padding=1), 2, stride=1), 2)")
    g.define("L", "sum(A * A)")
    params = g.compile().init_params(seed=2)
    X = np.random.default_rng(0).normal(size=(3, 1, 6, 6))
    loss64, grads64 = g.compile()(params, {"X": X})
    loss32, grads32 = g.compile(dtype="float32")(params, {"X": X})
    assert all(v.dtype == np.float32 for v in grads32.values())
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    for name in grads64:
        np.testing.assert_allclose(grads32[name], grads64[name], rtol=1e-4, atol=1e-5)


# -- the backward operations are records: lowering, scalar form, and their own gradients ------------

BACKWARD = {
    "conv2d_input_grad": lambda G, K: conv2d_input_grad(G, K, ((2, 2), (1, 1)), (2, 2, 5, 5)),
    "conv2d_kernel_grad": lambda X, G: conv2d_kernel_grad(X, G, ((2, 2), (1, 1)), (3, 2, 3, 3)),
    "conv2d_bias_grad": lambda G: conv2d_bias_grad(G, (1, 3, 1, 1)),
    "avgpool2d_grad": lambda G: avgpool2d_grad(G, ((2, 2), (1, 1)), (2, 3, 4, 4)),
}
OPERANDS = {
    "conv2d_input_grad": {"D": (2, 3, 3, 3), "K": (3, 2, 3, 3)},
    "conv2d_kernel_grad": {"X": (2, 2, 5, 5), "D": (2, 3, 3, 3)},
    "conv2d_bias_grad": {"D": (2, 3, 3, 3)},
    "avgpool2d_grad": {"D": (2, 3, 3, 3)},
}


@pytest.mark.parametrize("op", sorted(BACKWARD))
def test_backward_operations_lower_as_their_scalar_form_and_have_gradients(op):
    g = Graph()
    nodes = [g.param(name, shape) for name, shape in OPERANDS[op].items()]
    out = g.define("out", BACKWARD[op](*nodes))
    assert out.op == op
    g.input("R", out.shape)
    g.define("L", "sum(out * R)")
    rng = np.random.default_rng(3)
    params = {name: rng.normal(size=shape) for name, shape in OPERANDS[op].items()}
    data = {"R": rng.normal(size=out.shape)}
    net = g.compile()
    value = net.forward(params, data)["out"]
    scalar = OPS[op].scalar(out, [params[n].astype(object) for n in OPERANDS[op]], ScalarContext({}))
    np.testing.assert_allclose(value, scalar.astype(float), atol=1e-12)
    _, grads = net(params, data)
    for name in params:
        numeric = np.zeros_like(params[name])
        for idx in np.ndindex(numeric.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[name][idx] += 1e-6
            minus[name][idx] -= 1e-6
            numeric[idx] = (net(plus, data)[0] - net(minus, data)[0]) / 2e-6
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-7, err_msg=f"{op}: {name}")


def test_max_pool_routing_has_a_scalar_form_but_no_gradient_of_its_own():
    g = Graph()
    g.param("X", (1, 1, 4, 4))
    g.define("P", "maxpool2d(X, 2)")
    g.define("L", "sum(P)")
    route = g.backprop().gradients["X"]
    assert route.op == "maxpool2d_grad"
    X = np.array([[[[1, 3, 0, 0], [3, 2, 0, 4], [9, 1, 5, 5], [1, 1, 5, 6]]]], dtype=object)
    G = np.ones((1, 1, 2, 2), dtype=object)
    scalar = OPS["maxpool2d_grad"].scalar(route, [G, X, None], ScalarContext({}))
    assert scalar[0, 0].tolist() == [[0, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 0, 0, 1]]
    with pytest.raises(InputError, match="cannot differentiate the operation 'maxpool2d_grad'"):
        OPS["maxpool2d_grad"].vjp(route, route)
