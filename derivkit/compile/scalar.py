"""The cross-check: expand a small graph into scalar SymPy symbols and differentiate.

Every tensor becomes a NumPy array of SymPy scalars (inputs are filled with the
numbers of the data, parameters stay symbols ``W1_0_1``); each operation's
record computes its value entry by entry (``Op.scalar``), losses with the
course's scalar formulas, and the gradient of each weight is ``sympy.diff`` of
the expanded loss. This is the slow, obviously-correct route the matrix-level
derivation is checked against: its size and cost grow with the batch and the
number of weights.

>>> import numpy as np
>>> from derivkit.nn.networks import mlp
>>> g = mlp([2, 2, 1], bias=False)
>>> params = g.compile().init_params(seed=1)
>>> data = {"X": np.array([[1.0, 2.0], [0.5, -1.0]]), "Y": np.array([[1.0], [0.0]])}
>>> loss, grads = scalar_gradients(g, params, data)
>>> loss_c, grads_c = g.compile()(params, data)
>>> abs(loss - loss_c) < 1e-12, max(float(abs(grads[p] - grads_c[p]).max()) for p in grads) < 1e-12
(True, True)
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy
import sympy

from derivkit.graph.graph import Graph
from derivkit.graph.reverse import topo
from derivkit.graph.shapes import Shape

__all__ = ["expand_scalar", "scalar_gradients", "ScalarContext"]


class ScalarContext:
    """What a record's scalar rule needs: the value of every size name (``N`` -> the batch)."""

    def __init__(self, sizes: Mapping[sympy.Symbol, int]) -> None:
        self.sizes = dict(sizes)

    def size(self, expr: Any) -> Any:
        """A number or a formula in the sizes, with the sizes' values."""
        return sympy.sympify(expr).subs(self.sizes)

    def shape(self, shape: Shape) -> tuple[int, ...]:
        return tuple(int(self.size(d)) for d in shape)


def _number(value: Any) -> sympy.Basic:
    value = float(value)
    return sympy.Integer(int(value)) if value == int(value) else sympy.Float(value)


def expand_scalar(graph: Graph, batch: int, loss: str | None = None,
                  data: Mapping[str, Any] | None = None) -> tuple[sympy.Basic, dict[str, numpy.ndarray]]:
    """The loss as one scalar SymPy expression, and the array of symbols of each input and parameter.

    ``batch`` is the value of every symbolic size. With ``data``, inputs are
    the given numbers instead of symbols.
    """
    loss = loss or graph.default_loss()
    ctx = ScalarContext({sympy.Symbol(d): batch for d in graph.sizes})
    env: dict[int, Any] = {}
    symbols: dict[str, numpy.ndarray] = {}
    for name in graph.inputs + graph.params:
        node = graph[name]
        shape = ctx.shape(node.shape)
        M = numpy.empty(shape, dtype=object)
        if data is not None and name in data:
            arr = numpy.asarray(data[name])
            for idx in numpy.ndindex(shape):
                M[idx] = int(arr[idx]) if node.dtype == "int" else _number(arr[idx])
        else:
            # real symbols: |f|' is then sign(f) f' (the course's rule), not the complex form
            for idx in numpy.ndindex(shape):
                M[idx] = sympy.Symbol(f"{name}_" + "_".join(map(str, idx)), real=True)
        symbols[name] = M
        env[node.uid] = M
    root = graph[loss]
    for node in topo(root):
        if node.uid not in env:
            env[node.uid] = node.record.scalar(node, [env[a.uid] for a in node.args], ctx)
    return next(iter(env[root.uid].flat)), symbols


def scalar_gradients(graph: Graph, params: Mapping[str, Any], data: Mapping[str, Any],
                     loss: str | None = None) -> tuple[float, dict[str, numpy.ndarray]]:
    """Loss and gradients by expanding into scalars and ``sympy.diff`` (small graphs only)."""
    first = numpy.asarray(data[graph.inputs[0]])
    expr, symbols = expand_scalar(graph, first.shape[0], loss, data)
    values = {}
    for p in graph.params:
        arr = numpy.asarray(params[p], dtype=float)
        for idx, s in numpy.ndenumerate(symbols[p]):
            values[s] = sympy.Float(arr[idx])
    loss_value = float(expr.xreplace(values).evalf())
    grads = {}
    for p in graph.params:
        M = symbols[p]
        out = numpy.empty(M.shape)
        for idx, s in numpy.ndenumerate(M):
            out[idx] = float(sympy.diff(expr, s).xreplace(values).evalf())
        grads[p] = out
    return loss_value, grads
