"""NumPy code at the hardware's pace: the in-place code computes what the plain code does, in less memory.

Every operation of tests/test_graph_ops.py and every graph of the activation/loss
matrix of tests/test_compile.py gives the same loss, gradients and forward values
with the in-place rewriting as without it; inputs and parameters are never
written; no two returned arrays share memory. Small bodies show each rule by hand.
"""

from __future__ import annotations

import tracemalloc
import warnings
import zlib

import numpy as np
import pytest
import sympy

import test_compile as matrix
import test_graph_ops as ops
from derivkit.compile.compiled import CompiledGraph
from derivkit.compile.inplace import optimize
from derivkit.nn.networks import mlp

N = sympy.Symbol("N")


def copies(d):
    return {k: np.array(v, copy=True) for k, v in d.items()}


def check_same(g, params, data, loss=None):
    """In place and plain agree; the inputs are untouched; the results are separate arrays."""
    fast, plain = CompiledGraph(g.backprop(loss)), CompiledGraph(g.backprop(loss), optimize=False)
    before_p, before_d = copies(params), copies(data)
    value, grads = fast(params, data)
    value_p, grads_p = plain(params, data)
    assert value == pytest.approx(value_p, rel=1e-12, abs=1e-14)
    for name in grads_p:
        np.testing.assert_allclose(grads[name], grads_p[name], rtol=1e-12, atol=1e-14, err_msg=name)
    for given, before in ((params, before_p), (data, before_d)):
        for name in before:
            assert np.array_equal(given[name], before[name]), f"{name} was written"
    arrays = list(grads.values())
    for i, a in enumerate(arrays):
        assert not any(np.shares_memory(a, v) for v in [*params.values(), *data.values()])
        assert not any(np.shares_memory(a, b) for b in arrays[i + 1:])
    values, values_p = fast.forward(params, data), plain.forward(params, data)
    for name in values_p:
        np.testing.assert_allclose(values[name], values_p[name], rtol=1e-12, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("case", sorted(ops.CASES))
def test_every_operation_in_place_equals_plain(case):
    g = ops._build(case)
    params, data = ops._data(case, g)
    check_same(g, params, data)


@pytest.mark.parametrize("loss", matrix.LOSSES)
@pytest.mark.parametrize("activation", matrix.ACTIVATIONS)
def test_matrix_in_place_equals_plain(activation, loss):
    rng = np.random.default_rng(zlib.crc32(f"{activation}/{loss}".encode()))
    g = mlp([2, 4, 3], activation=activation, loss=loss)
    params = matrix.perturbed_params(g.compile(), rng)
    check_same(g, params, matrix.make_data(loss, 5, 3, rng))


def test_peak_memory_of_the_64_32_10_gradient():
    """Batch 512: the largest arrays alive at once are H (N x 32), G_H (N x 32) and G_O (N x 10), as by hand."""
    rng = np.random.default_rng(0)
    g = mlp([64, 32, 10], loss="softmax_cross_entropy")
    fast, plain = g.compile(), CompiledGraph(g.backprop(), optimize=False)
    params = fast.init_params(seed=0)
    data = {"X": rng.standard_normal((512, 64)), "Y": np.eye(10)[rng.integers(0, 10, 512)]}

    def peak(fn):
        fn(params, data)
        tracemalloc.start()
        fn(params, data)
        used = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return used

    gradients = 8 * (64 * 32 + 32 + 32 * 10 + 10)
    by_hand = 8 * 512 * (32 + 32 + 10 + 1) + gradients  # H, G_H, G_O and the softmax row sums
    assert peak(fast) <= 1.05 * by_hand
    assert peak(fast) < 0.5 * peak(plain)


def test_no_overflow_warning_from_the_sigmoid():
    net = mlp([1, 1], loss="bce").compile()
    with warnings.catch_warnings(record=True) as caught:
        net.forward({"W1": np.array([[1000.0]]), "b1": np.zeros((1, 1))}, {"X": np.array([[-1.0]]), "Y": np.zeros((1, 1))})
    assert not [w for w in caught if "overflow" in str(w.message)]


# -- the rules, by hand -------------------------------------------------------------------------

ARRAYS = {"X": ((N, 3), "f"), "W": ((3, 3), "f"), "b": ((1, 3), "f"), "A": ((N, 3), "f")}


def test_an_operand_that_dies_takes_the_result():
    assert optimize(["U = (X @ W) + b", "return U"], ARRAYS) == ["U = X @ W", "U += b", "return U"]
    assert optimize(["T = X @ W", "U = T + b", "return U"], ARRAYS) == ["T = X @ W", "T += b", "U = T", "del T",
                                                                      "return U"]


def test_inputs_and_parameters_are_never_written():
    assert optimize(["U = X + A", "V = U * 2", "return V"], ARRAYS) == ["U = X + A", "U *= 2", "V = U", "del U",
                                                                        "return V"]
    assert optimize(["V = 2 * X", "return V"], ARRAYS) == ["V = 2 * X", "return V"]


def test_returned_gradients_are_never_the_inputs_themselves():
    assert optimize(["d_A = X", "d_B = W.T", "return {'A': d_A, 'B': d_B}"], ARRAYS, fresh_out={"d_A", "d_B"})[-1] \
        == "return {'A': d_A.copy(), 'B': d_B.copy()}"


def test_a_view_keeps_its_array_from_being_overwritten():
    body = ["T = X @ W", "V = T.T", "U = T * 2", "S = V @ X", "return U, S"]
    out = optimize(body, ARRAYS)
    assert "U = T * 2" in out and not any("T *=" in line for line in out)


def test_a_result_larger_than_its_operand_is_a_new_array():
    body = ["T = X @ W", "S = T.sum(axis=0, keepdims=True)", "R = S + X", "return R, T"]
    out = optimize(body, ARRAYS)
    assert "R = S + X" in out and "del S" in out


def test_products_reuse_memory_and_masks_stay_boolean():
    body = ["G = (X @ W) * ((A >= 0).astype(A.dtype))", "return G"]
    assert optimize(body, ARRAYS) == ["G = X @ W", "G *= (A >= 0)", "return G"]


def test_sums_of_products_are_dot_products():
    body = ["T = X @ W", "L = (T * T).sum(keepdims=True)", "K = ((T ** 2).sum(keepdims=True)) * 0.5", "return L, K"]
    out = optimize(body, ARRAYS)
    assert "L = numpy.vdot(T, T).reshape(1, 1)" in out
    assert any(line.startswith("K = ") and "numpy.vdot(T, T)" in line for line in out)


def test_a_loss_read_only_as_a_number_stays_a_scalar():
    body = ["T = X @ W", "L = (T * A).sum(keepdims=True)", "return L.item(), T"]
    assert "L = numpy.vdot(T, A)" in optimize(body, ARRAYS)


def test_code_the_pass_does_not_know_is_left_as_written():
    body = ["T = X @ W", "for i in range(3):", "    T = T + 1", "return T"]
    assert optimize(body, ARRAYS) == body
