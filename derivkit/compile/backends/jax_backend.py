"""The JAX backend: the same derived code in ``jax.numpy``, jit-compiled, on any device JAX runs on.

When a user outgrows NumPy on one CPU, derivkit hands its derived gradients to
JAX rather than grow an engine of its own: the generated module defines each
function twice, ``_traced_loss_and_grads`` (``jax.numpy`` code, traced once per
shape by ``jax.jit``; ``loss_and_grads_jit`` is the compiled function) and
``loss_and_grads``, which calls it and returns a float and NumPy arrays.

- **float64 when asked**: JAX computes in float32 unless its 64-bit mode is on.
  Code generated with ``dtype="float64"`` switches it on for its own calls only
  (``jax.enable_x64`` as a context manager); the user's global JAX settings are
  never changed.
- **devices** (``compile(backend="jax", devices=k)``): the batch is split over
  ``k`` devices (data parallel): the inputs whose first axis is the batch are
  placed with a ``jax.sharding.NamedSharding`` over a one-axis mesh, the
  parameters are replicated, and XLA's partitioner runs the same jit-compiled
  code on each part and sums the gradients across devices itself. A batch whose
  size is not a multiple of ``k`` runs on the first device.
- The operations whose NumPy code writes into arrays (the mask of a maximum, the
  scatter-add of ``C[ix]``'s adjoint) have their own lowerings here, in
  :data:`derivkit.compile.codegen.LOWERINGS` ``["jax"]``; every other operation's
  record lowers with ``em.xp`` = ``jnp``.

JAX is an optional dependency (``pip install 'derivkit[jax]'``); writing JAX code
(:func:`derivkit.compile.module.module_source`) does not need it, running it does.
"""

from __future__ import annotations

import importlib.util
from typing import Any, Mapping

import numpy

from derivkit.compile.backends import Backend, Runtime, register_backend
from derivkit.compile.backends.numpy_backend import SHAPE_ERROR_SOURCE
from derivkit.compile.codegen import LOWERINGS
from derivkit.errors import InputError, MissingDependencyError
from derivkit.graph.node import Node

__all__ = ["JaxBackend", "JaxRuntime", "jax_available"]


def jax_available() -> bool:
    """Whether JAX can be imported (without importing it)."""
    try:
        return importlib.util.find_spec("jax") is not None
    except (ImportError, ValueError):  # a module set to None in sys.modules: not importable
        return False


# -- lowerings: the operations whose NumPy code writes into an array ------------------------

def _argmax_mask(n: Node, em: Any) -> str:
    """1 at the first largest (smallest) entry along the axis: a comparison with the index, no writes."""
    axis, kind = n.param
    a = em.ref_name(n.args[0])
    arg = "argmax" if kind == "max" else "argmin"
    if axis is None:
        return f"(jnp.arange({a}.size).reshape({a}.shape) == {a}.{arg}()).astype({a}.dtype)"
    rank = len(n.shape)
    positions = ", ".join("-1" if i == axis else "1" for i in range(rank))
    positions = f"({positions},)" if rank == 1 else f"({positions})"
    return (f"(jnp.arange({a}.shape[{axis}]).reshape({positions}) == "
            f"jnp.expand_dims({a}.{arg}(axis={axis}), {axis})).astype({a}.dtype)")


def _scatter_add(n: Node, em: Any) -> str:
    """Each row of ``G`` added into the row ``ix`` names: ``.at[ix].add(G)``, repeated rows summed."""
    G, ix = (em.ref_name(a) for a in n.args)
    return f"jnp.zeros({em.shape_code(n.shape)}, dtype=DTYPE).at[{ix}].add({G})"


LOWERINGS["jax"] = {"argmax_mask": _argmax_mask, "scatter_add": _scatter_add}

# -- the module ------------------------------------------------------------------------------

_IMPORTS = """import contextlib

import numpy
import jax
import jax.numpy as jnp"""

_HELPERS = '''def _sigmoid(x):
    return jax.nn.sigmoid(x)


''' + SHAPE_ERROR_SOURCE.replace(
    "        array = numpy.asarray(given[name])\n",
    "        array = given[name] if hasattr(given[name], \"dtype\") else numpy.asarray(given[name])\n") + '''

def _float64():
    """JAX's 64-bit mode for this module's own calls (a context: the global setting is left as it is)."""
    if numpy.dtype(DTYPE) != numpy.float64:
        return contextlib.nullcontext()
    if hasattr(jax, "enable_x64"):
        return jax.enable_x64(True)
    from jax.experimental import enable_x64  # older JAX
    return enable_x64()
'''

_WRAPPERS = {
    "loss_and_grads": '''def loss_and_grads(params, data):
    """The loss (a float) and its gradients (NumPy arrays), computed by loss_and_grads_jit in DTYPE."""
    with _float64():
        loss, grads = loss_and_grads_jit(params, data)
        return loss.item(), {name: numpy.array(g) for name, g in grads.items()}
''',
    "loss_grads_and_output": '''def loss_grads_and_output(params, data):
    """The loss, its gradients and the network's output, from one pass (NumPy arrays)."""
    with _float64():
        loss, grads, output = loss_grads_and_output_jit(params, data)
        return loss.item(), {name: numpy.array(g) for name, g in grads.items()}, numpy.array(output)
''',
    "forward": '''def forward(params, data):
    """The value of every named node (NumPy arrays; the 1 x 1 definitions as floats)."""
    with _float64():
        values = forward_jit(params, data)
        return {name: v.item() if name in _NUMBERS else numpy.array(v) for name, v in values.items()}
''',
    "predict": '''def predict(params, data):
    """The network's output for data["X"] (a NumPy array)."""
    with _float64():
        return numpy.array(predict_jit(params, data))
''',
}


class JaxBackend(Backend):
    name = "jax"
    xp = "jnp"
    package = "jax"
    extra = "jax"
    devices = True
    reserved = frozenset({"numpy", "jax", "jnp", "contextlib", "DTYPE", "_SHAPES", "_NUMBERS", "_sigmoid",
                          "_shape_error", "_float64", "params", "data"})
    usage = "Needs JAX (and NumPy)"
    imports = _IMPORTS
    helpers = _HELPERS

    def require(self) -> None:
        if not jax_available():
            raise MissingDependencyError("jax", "jax", "backend='jax'")

    def function_name(self, name: str) -> str:
        return f"_traced_{name}"

    def number(self, var: str) -> str:
        """A 1 x 1 value as a 0-d array, as ``jax.value_and_grad`` gives the loss."""
        return f"{var}.reshape(())"

    def epilogue(self, functions: tuple[str, ...], numbers: tuple[str, ...]) -> str:
        lines = [f"{name}_jit = jax.jit(_traced_{name})" for name in functions]
        lines += ["", "#: The 1 x 1 definitions forward returns as floats.",
                  f"_NUMBERS = {tuple(numbers)!r}", "", ""]
        lines += ["\n\n".join(_WRAPPERS[name] for name in functions)]
        return "\n".join(lines)

    def runtime(self, namespace: dict[str, Any], compiled: Any) -> Runtime:
        return JaxRuntime(namespace, compiled)


class JaxRuntime(Runtime):
    """Calls a module's jit-compiled functions: inputs placed (and split over devices), float64 for the call only."""

    def __init__(self, namespace: dict[str, Any], compiled: Any) -> None:
        import jax

        super().__init__({name: namespace[name] for name in _WRAPPERS if name in namespace})
        self.jax = jax
        self.jitted = {name: namespace[f"{name}_jit"] for name in self.functions}
        self.float64 = namespace["_float64"]
        self.numbers = set(namespace["_NUMBERS"])
        graph = compiled.graph
        self.names = {"params": tuple(graph.params), "data": tuple(graph.inputs)}
        self.mesh = None
        self.batch_names: tuple[str, ...] = ()
        if compiled.devices is not None:
            self._mesh(compiled.devices, graph)

    def _mesh(self, k: int, graph: Any) -> None:
        jax = self.jax
        from jax.sharding import Mesh, NamedSharding, PartitionSpec

        found = jax.devices()
        if k > len(found):
            platform = found[0].platform if found else "none"
            hint = (f"; on a CPU, XLA_FLAGS=--xla_force_host_platform_device_count={k} set before JAX starts "
                    f"makes {k} of it" if platform == "cpu" else "")
            raise InputError(f"devices={k}, but JAX sees {len(found)} device{'s' if len(found) != 1 else ''} "
                             f"({platform}){hint}")
        self.mesh = Mesh(numpy.array(found[:k]), ("batch",))
        self.split = NamedSharding(self.mesh, PartitionSpec("batch"))
        self.replicated = NamedSharding(self.mesh, PartitionSpec())
        self.k = k
        batch = graph[graph.inputs[0]].shape[0] if graph.inputs else None
        self.batch_names = tuple(n for n in graph.inputs if graph[n].shape and graph[n].shape[0] == batch)

    def _arrays(self, given: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
        array_type = self.jax.Array
        return {n: v if isinstance(v, array_type) else numpy.asarray(v) for n, v in given.items() if n in names}

    def place(self, params: Mapping[str, Any], data: Mapping[str, Any]) -> tuple[dict, dict]:
        """The arrays the function needs, on the devices: the batch split when there are several."""
        p = self._arrays(params, self.names["params"])
        d = self._arrays(data, self.names["data"])
        if self.mesh is None:
            return p, d
        sizes = {numpy.shape(d[n])[0] for n in self.batch_names if n in d and numpy.ndim(d[n])}
        if len(sizes) != 1 or next(iter(sizes)) % self.k:
            return p, d  # a batch that does not split evenly runs on one device
        put = self.jax.device_put
        p = {n: put(v, self.replicated) for n, v in p.items()}
        d = {n: put(v, self.split if n in self.batch_names else self.replicated) for n, v in d.items()}
        return p, d

    def call(self, name: str, params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
        with self.float64():
            p, d = self.place(params, data)
            out = self.jitted[name](p, d)
            if name == "loss_and_grads":
                loss, grads = out
                return loss.item(), {k: numpy.array(v) for k, v in grads.items()}
            if name == "loss_grads_and_output":
                loss, grads, output = out
                return loss.item(), {k: numpy.array(v) for k, v in grads.items()}, numpy.array(output)
            if name == "forward":
                return {k: v.item() if k in self.numbers else numpy.array(v) for k, v in out.items()}
            return numpy.array(out)

    def traced(self, name: str) -> Any:
        """The jit-compiled function itself (JAX arrays in and out; call it in ``jax.enable_x64`` for float64)."""
        return self.jitted[name]


register_backend(JaxBackend())
