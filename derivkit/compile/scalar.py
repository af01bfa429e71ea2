"""The cross-check: expand a small graph into scalar SymPy symbols and differentiate.

Every matrix becomes a SymPy matrix of scalar expressions (inputs are filled
with the numbers of the data, parameters stay symbols ``W1_0_1``), losses are
taken from :mod:`derivkit.nn.losses` (the scalar formulas of the course), and
the gradient of each weight is ``sympy.diff`` of the expanded loss. This is
the slow, obviously-correct route the matrix-level derivation is checked
against: its size and cost grow with the batch and the number of weights.

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

from derivkit.errors import InputError
from derivkit.nn import losses
from derivkit.nn.graph import U, Graph, Node

__all__ = ["expand_scalar", "scalar_gradients"]


def _sizes(graph: Graph, batch: int) -> dict[sympy.Symbol, int]:
    dims = {d for n in graph.names for d in graph[n].shape if isinstance(d, sympy.Symbol)}
    return {d: batch for d in dims}


def _bcast(M: sympy.Matrix, shape: tuple[int, int]) -> sympy.Matrix:
    if M.shape == shape:
        return M
    return sympy.Matrix(shape[0], shape[1], lambda i, j: M[i if M.rows > 1 else 0, j if M.cols > 1 else 0])


def _elementwise(A: sympy.Matrix, B: sympy.Matrix, fn) -> sympy.Matrix:
    shape = (max(A.rows, B.rows), max(A.cols, B.cols))
    A, B = _bcast(A, shape), _bcast(B, shape)
    return sympy.Matrix(shape[0], shape[1], lambda i, j: fn(A[i, j], B[i, j]))


def _labels(Y: sympy.Matrix) -> list[int] | None:
    """The class of each one-hot row of ``Y``, or None when ``Y`` is not one-hot."""
    out = []
    for i in range(Y.rows):
        row = list(Y.row(i))
        if sorted(row) != [0] * (len(row) - 1) + [1]:
            return None
        out.append(row.index(1))
    return out


def _loss(kind: str, P: sympy.Matrix, Y: sympy.Matrix) -> sympy.Basic:
    n = P.rows
    if kind == "mse":
        return losses.sse(P, Y) / n
    if kind == "sse":
        return losses.sse(P, Y)
    if kind == "l1":
        return losses.l1(P, Y) / n
    if kind == "bce":
        return losses.bce(P, Y) / n
    if kind == "hinge":
        return losses.hinge(P, Y) / n
    labels = _labels(Y)
    if labels is None:
        raise InputError("the scalar cross-check of nll / softmax cross-entropy needs one-hot targets")
    if kind == "nll":
        return sympy.Add(*[losses.nll(list(P.row(i)), labels[i]) for i in range(n)]) / n
    return sympy.Add(*[losses.softmax_cross_entropy(list(P.row(i)), labels[i]) for i in range(n)]) / n


def _value(n: Node, env: dict[int, sympy.Matrix], sizes: Mapping) -> sympy.Matrix:
    op, args = n.op, n.args
    vals = [env[id(a)] for a in args]
    if op == "const":
        return sympy.Matrix([[n.param]])
    if op == "zeros":
        return sympy.zeros(*(int(sympy.sympify(d).subs(sizes)) for d in n.shape))
    if op == "matmul":
        return vals[0] * vals[1]
    if op == "transpose":
        return vals[0].T
    if op in ("add", "sub", "hadamard", "divide"):
        fn = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "hadamard": lambda a, b: a * b,
              "divide": lambda a, b: a / b}[op]
        return _elementwise(vals[0], vals[1], fn)
    if op == "scale":
        return sympy.sympify(n.param).subs(sizes) * vals[0]
    if op == "apply":
        return vals[0].applyfunc(lambda e: n.param.subs(U, e))
    if op in ("softmax", "logsoftmax"):
        A = vals[0]
        rows = []
        for i in range(A.rows):
            exps = [sympy.exp(e) for e in A.row(i)]
            total = sympy.Add(*exps)
            rows.append([x / total for x in exps] if op == "softmax" else [e - sympy.log(total) for e in A.row(i)])
        return sympy.Matrix(rows)
    if op == "softplus":
        return vals[0].applyfunc(lambda e: sympy.log(1 + sympy.exp(e)))
    if op == "sum":
        A = vals[0]
        if n.param is None:
            return sympy.Matrix([[sum(A)]])
        if n.param == 0:
            return sympy.Matrix([[sum(A.col(j))] for j in range(A.cols)]).T
        return sympy.Matrix([[sum(A.row(i))] for i in range(A.rows)])
    if op == "loss":
        P, Y = vals
        if n.param == "softmax_cross_entropy" or fused_softmax(n):
            Z = env[id(args[0].args[0])] if fused_softmax(n) else P
            return sympy.Matrix([[_loss("softmax_cross_entropy", Z, Y)]])
        return sympy.Matrix([[_loss(n.param, P, Y)]])
    if op == "penalty":
        from derivkit.nn import regularizers

        fn = regularizers.l2_penalty if n.param == "l2" else regularizers.l1_penalty
        return sympy.Matrix([[fn(vals[0])]])
    raise InputError(f"the scalar expansion does not know the operation {op!r}")


def fused_softmax(n: Node) -> bool:
    return n.param == "nll" and n.args[0].op == "softmax"


def expand_scalar(graph: Graph, batch: int, loss: str | None = None,
                  data: Mapping[str, Any] | None = None) -> tuple[sympy.Basic, dict[str, sympy.Matrix]]:
    """The loss as one scalar SymPy expression, and the symbol matrix of each input and parameter.

    ``batch`` is the value of the symbolic batch size. With ``data``, inputs
    are the given numbers (as SymPy Floats) instead of symbols.
    """
    loss = loss or graph.default_loss()
    sizes = _sizes(graph, batch)
    env: dict[int, sympy.Matrix] = {}
    symbols: dict[str, sympy.Matrix] = {}
    for name in graph.inputs + graph.params:
        node = graph[name]
        rows, cols = (int(sympy.sympify(d).subs(sizes)) for d in node.shape)
        if data is not None and name in data:
            arr = numpy.asarray(data[name], dtype=float)
            M = sympy.Matrix(rows, cols, lambda i, j: sympy.Float(arr[i, j]) if arr[i, j] % 1 else int(arr[i, j]))
        else:
            # real symbols: |f|' is then sign(f) f' (the course's rule), not the complex form
            M = sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(f"{name}_{i}_{j}", real=True))
        symbols[name] = M
        env[id(node)] = M
    root = graph[loss]
    from derivkit.nn.graph import _topo

    for node in _topo(root, lambda n: False):
        if id(node) not in env:
            env[id(node)] = _value(node, env, sizes)
    return env[id(root)][0, 0], symbols


def scalar_gradients(graph: Graph, params: Mapping[str, Any], data: Mapping[str, Any],
                     loss: str | None = None) -> tuple[float, dict[str, numpy.ndarray]]:
    """Loss and gradients by expanding into scalars and ``sympy.diff`` (small graphs only)."""
    first = numpy.asarray(data[graph.inputs[0]])
    expr, symbols = expand_scalar(graph, first.shape[0], loss, data)
    values = {}
    for p in graph.params:
        arr = numpy.asarray(params[p], dtype=float)
        for (i, j), s in numpy.ndenumerate(numpy.array(symbols[p].tolist(), dtype=object)):
            values[s] = sympy.Float(arr[i, j])
    loss_value = float(expr.xreplace(values).evalf())
    grads = {}
    for p in graph.params:
        M = symbols[p]
        grads[p] = numpy.array([[float(sympy.diff(expr, M[i, j]).xreplace(values).evalf()) for j in range(M.cols)]
                                for i in range(M.rows)])
    return loss_value, grads
