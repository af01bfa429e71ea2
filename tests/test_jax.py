"""The JAX backend: the same derived code in jax.numpy, equal to the NumPy backend, split over devices.

Every graph of the activation/loss matrix (tests/test_compile.py), every case of
the operation table (tests/test_graph_ops.py) and the backprop-ninja network give
the loss and gradients of the NumPy backend to 1e-10 in float64; with two CPU
devices (XLA_FLAGS=--xla_force_host_platform_device_count=2, set in conftest.py
and .ci/run) the sharded gradient equals the single-device one. JAX is an extra
that CI installs (pip install -e ".[test,jax]"); where it is missing these tests
skip, and the ones that check the message for a missing JAX still run.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zlib

import numpy as np
import pytest

import test_compile as matrix
import test_graph_ops as ops
from derivkit import nn
from derivkit.errors import InputError, MissingDependencyError, ShapeError
from derivkit.nn.networks import mlp

jax = pytest.importorskip("jax", reason="the JAX backend needs the jax extra (CI installs it)")


def assert_same(a, b, rtol=1e-10, atol=1e-12):
    loss_a, grads_a = a
    loss_b, grads_b = b
    assert loss_a == pytest.approx(loss_b, rel=rtol, abs=atol)
    assert set(grads_a) == set(grads_b)
    for name in grads_a:
        assert isinstance(grads_b[name], np.ndarray) and grads_b[name].dtype == np.float64
        np.testing.assert_allclose(grads_b[name], grads_a[name], rtol=rtol, atol=atol, err_msg=name)


@pytest.mark.parametrize("loss", matrix.LOSSES)
@pytest.mark.parametrize("activation", matrix.ACTIVATIONS)
def test_matrix_equals_numpy(activation, loss):
    rng = np.random.default_rng(zlib.crc32(f"{activation}-{loss}".encode()))
    g = mlp([2, 4, 3], activation=activation, loss=loss)
    net = g.compile()
    params = matrix.perturbed_params(net, rng)
    data = matrix.make_data(loss, 5, 3, rng)
    assert_same(net(params, data), g.compile(backend="jax")(params, data))


@pytest.mark.parametrize("case", sorted(ops.CASES))
def test_every_operation_equals_numpy(case):
    g = ops._build(case)
    params, data = ops._data(case, g)
    assert_same(g.compile()(params, data), g.compile(backend="jax")(params, data))


def ninja():
    rng = np.random.default_rng(42)
    g = nn.makemore()
    params = {"C": rng.normal(size=(27, 10)), "W1": rng.normal(size=(30, 64)) * 0.2,
              "b1": rng.normal(size=(1, 64)) * 0.1, "bngain": 1 + rng.normal(size=(1, 64)) * 0.1,
              "bnbias": rng.normal(size=(1, 64)) * 0.1, "W2": rng.normal(size=(64, 27)) * 0.1,
              "b2": rng.normal(size=(1, 27)) * 0.1}
    data = {"Xb": rng.integers(0, 27, (32, 3)), "Yb": rng.integers(0, 27, 32)}
    return g, params, data


def test_ninja_network_equals_numpy_for_every_node():
    g, params, data = ninja()
    names = [n for n in g.names if g[n].dtype == "float" and n != "loss"]
    numpy_result = g.compile(wrt=names)(params, data)
    assert_same(numpy_result, g.compile(backend="jax", wrt=names)(params, data))
    assert len(numpy_result[1]) == len(names) > 20


def test_float64_only_inside_the_call():
    before = jax.config.jax_enable_x64
    net = mlp([3, 4, 2], loss="softmax_cross_entropy").compile(backend="jax")
    params = net.init_params(seed=1)
    X = np.random.default_rng(0).standard_normal((6, 3))
    loss, grads = net(params, {"X": X, "Y": np.eye(2)[[0, 1, 0, 1, 1, 0]]})
    assert jax.config.jax_enable_x64 == before  # the user's setting is left as it was
    assert all(g.dtype == np.float64 for g in grads.values())
    assert net.predict(params, X).dtype == np.float64
    values = net.forward(params, {"X": X, "Y": np.eye(2)[[0, 1, 0, 1, 1, 0]]})
    assert isinstance(values["CE"], float) and values["CE"] == pytest.approx(loss, rel=1e-12)


def test_float32():
    g = mlp([3, 4, 2], loss="softmax_cross_entropy")
    params = g.compile().init_params(seed=0)
    data = {"X": np.random.default_rng(0).standard_normal((6, 3)), "Y": np.eye(2)[[0, 1, 0, 1, 1, 0]]}
    loss32, grads32 = g.compile(backend="jax", dtype="float32")(params, data)
    loss64, grads64 = g.compile()(params, data)
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    for name in grads64:
        assert grads32[name].dtype == np.float32
        np.testing.assert_allclose(grads32[name], grads64[name], rtol=1e-4, atol=1e-6)


def test_jitted_function_keeps_jax_arrays():
    net = mlp([2, 3, 1]).compile(backend="jax")
    params = net.init_params(seed=0)
    with jax.enable_x64(True):
        loss, grads = net.jitted(params, {"X": np.ones((4, 2)), "Y": np.zeros((4, 1))})
        assert isinstance(grads["W1"], jax.Array) and grads["W1"].dtype == np.float64
    with pytest.raises(InputError, match="JAX backend"):
        mlp([2, 1]).compile().jitted


def test_wrong_shapes_are_named_as_with_numpy():
    net = mlp([2, 3, 1]).compile(backend="jax")
    params = net.init_params()
    with pytest.raises(ShapeError, match=r"input Y has shape 5 x 1, but X set N = 4"):
        net(params, {"X": np.zeros((4, 2)), "Y": np.zeros((5, 1))})
    with pytest.raises(ShapeError, match=r"parameter W2 should have shape 3 x 1 but has shape 1 x 3"):
        net({**params, "W2": np.zeros((1, 3))}, {"X": np.zeros((4, 2)), "Y": np.zeros((4, 1))})


# -- several devices ------------------------------------------------------------------------------

def test_two_cpu_devices_are_there():
    assert len(jax.devices()) >= 2, "XLA_FLAGS=--xla_force_host_platform_device_count=2 must be set before JAX starts"


@pytest.mark.parametrize("activation, loss", [("sigmoid", "softmax_cross_entropy"), ("relu", "mse"),
                                              ("tanh", "bce"), ("leaky_relu", "hinge")])
def test_sharded_gradient_equals_single_device(activation, loss):
    rng = np.random.default_rng(3)
    g = mlp([2, 5, 3], activation=activation, loss=loss)
    single = g.compile(backend="jax")
    params = matrix.perturbed_params(single, rng)
    data = matrix.make_data(loss, 8, 3, rng)
    split = g.compile(backend="jax", devices=2)
    assert_same(single(params, data), split(params, data), rtol=1e-12)
    p, d = split._runtime.place(params, data)
    assert len(d["X"].sharding.device_set) == 2 and d["X"].sharding.spec == jax.sharding.PartitionSpec("batch")
    assert d["X"].addressable_shards[0].data.shape == (4, 2)  # half the batch on each device
    assert p["W1"].sharding.is_fully_replicated


def test_sharded_ninja_network_and_the_engine_sums_the_gradients():
    g, params, data = ninja()
    split = g.compile(backend="jax", devices=2)
    assert_same(g.compile(backend="jax")(params, data), split(params, data), rtol=1e-12)
    p, d = split._runtime.place(params, data)
    with jax.enable_x64(True):
        hlo = split.jitted.lower(p, d).compile().as_text()
    assert "all-reduce" in hlo  # XLA's partitioner sums the gradients across the two devices, not derivkit


def test_a_batch_that_does_not_split_evenly_runs_on_one_device():
    g = mlp([2, 3, 1])
    split = g.compile(backend="jax", devices=2)
    params = split.init_params(seed=0)
    data = {"X": np.random.default_rng(0).standard_normal((5, 2)), "Y": np.ones((5, 1))}
    assert_same(g.compile()(params, data), split(params, data))
    assert not isinstance(split._runtime.place(params, data)[1]["X"], jax.Array)


def test_train_with_jax_on_two_devices_follows_numpy():
    from derivkit import train
    from derivkit.optim import GD

    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 2))
    data = {"X": X, "Y": (X[:, :1] * X[:, 1:] > 0).astype(float)}
    g = mlp([2, 4, 1], loss="bce")
    a = train(g, data, GD(0.5), epochs=5, batch_size=8, seed=1)
    b = train(g, data, GD(0.5), epochs=5, batch_size=8, seed=1, backend="jax", devices=2)
    np.testing.assert_allclose(b.losses, a.losses, rtol=1e-10)
    for name in a.params:
        np.testing.assert_allclose(b.params[name], a.params[name], rtol=1e-9, atol=1e-12)
    assert b.metrics["accuracy"] == pytest.approx(a.metrics["accuracy"])


def test_device_errors():
    with pytest.raises(InputError, match=r"devices=64, but JAX sees \d+ devices \(cpu\).*XLA_FLAGS"):
        mlp([2, 1]).compile(backend="jax", devices=64)
    with pytest.raises(InputError, match="at least 1"):
        mlp([2, 1]).compile(backend="jax", devices=0)
    with pytest.raises(InputError, match="backend that has them"):
        mlp([2, 1]).compile(devices=2)


# -- the module as a file ------------------------------------------------------------------------

def test_emitted_jax_module_runs_in_a_fresh_interpreter(tmp_path):
    g = mlp([3, 4, 2], loss="softmax_cross_entropy")
    net = g.compile(backend="jax")
    params = net.init_params(seed=2)
    data = {"X": np.random.default_rng(0).standard_normal((5, 3)), "Y": np.eye(2)[[0, 1, 1, 0, 1]]}
    (tmp_path / "net.py").write_text(net.module_source())
    np.savez(tmp_path / "in.npz", **{f"p_{k}": v for k, v in params.items()}, **{f"d_{k}": v for k, v in data.items()})
    script = textwrap.dedent("""
        import sys, numpy
        import net
        z = numpy.load("in.npz")
        params = {k[2:]: z[k] for k in z.files if k.startswith("p_")}
        data = {k[2:]: z[k] for k in z.files if k.startswith("d_")}
        loss, grads = net.loss_and_grads(params, data)
        assert "derivkit" not in sys.modules
        numpy.savez("out.npz", loss=loss, **grads)
    """)
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True, timeout=120)
    out = np.load(tmp_path / "out.npz")
    loss, grads = g.compile()(params, data)
    assert_same((loss, grads), (float(out["loss"]), {k: out[k] for k in grads}))
