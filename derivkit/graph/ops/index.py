r"""Indexing with integer data: ``C[ix]`` (an embedding lookup), one-hot rows, and picking ``A[i, y_i]``.

``C[ix]`` takes the rows of ``C`` named by the integers ``ix`` (shape
``ix.shape + C.shape[1:]``); its adjoint adds each row of ``G`` back into
the row of ``C`` it came from (a scatter-add), so a row picked twice gets
both contributions. Integer inputs get no gradient.

>>> from derivkit.graph.ops.leaves import leaf
>>> C = leaf("param", "C", (27, 10)); ix = leaf("input", "ix", ("N", 3), dtype="int")
>>> emb = gather(C, ix)
>>> print(emb, emb.shape)
C[ix] (N, 3, 10)
"""

from __future__ import annotations

from typing import Any

import numpy
import sympy

from derivkit.errors import InputError, ShapeError
from derivkit.graph.node import Node, Op, build, in_definitions, make, register, require, short
from derivkit.graph.shapes import MAX_RANK, Shape, same_dim, shape_text

__all__ = ["gather", "scatter_add", "onehot", "pick"]


def _labels_or_indices(values: Any) -> Any:
    return numpy.asarray([int(v) for v in numpy.asarray(values).flat], dtype=int).reshape(numpy.shape(values))


@register
class Gather(Op):
    name = "gather"
    int_operands = (1,)

    def shape(self, args: tuple, param: Any) -> Shape:
        C, ix = args
        require(ix.dtype == "int", lambda: f"{short(C)}[{short(ix)}]: the index {short(ix)} must be an integer input "
                                   "(declare it with dtype=\"int\")")
        require(C.rank >= 1, lambda: f"{short(C)}[...] needs a tensor to pick rows from")
        shape = tuple(ix.shape) + tuple(C.shape[1:])
        require(len(shape) <= MAX_RANK, lambda: f"{short(C)}[{short(ix)}] would have rank {len(shape)} "
                                        f"({shape_text(shape)}); derivkit handles ranks 1 to {MAX_RANK}")
        return shape

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        C, ix = n.args
        base = p.sub(C, 91)
        return (rf"{base}\left[{p.text(ix)}\right]" if p.latex else f"{base}[{p.text(ix)}]"), 90

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        C, ix = n.args
        return [(C, scatter_add(G, ix, C.shape))]

    def lower(self, n: Node, em: Any) -> str:
        return f"{em.ref(n.args[0])}[{em.ref(n.args[1])}]"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        return vals[0][_labels_or_indices(vals[1])]

    def check(self, n: Node, values: dict[str, Any]) -> None:
        """At run time: every index names a row of ``C``."""
        C, ix = n.args
        if ix.name not in values:
            return
        idx = numpy.asarray(values[ix.name])
        rows = C.shape[0]
        if isinstance(rows, int) and idx.size and (idx.min() < 0 or idx.max() >= rows):
            bad = idx.max() if idx.max() >= rows else idx.min()
            raise InputError(f"{short(ix)} holds the index {bad}, but {short(C)} has rows 0 to {rows - 1} "
                             f"(in {short(n)}, shape {shape_text(C.shape)})")


def gather(C: Node, ix: Node) -> Node:
    """``C[ix]``: the rows of ``C`` named by the integer node ``ix``."""
    return build("gather", (C, ix))


@register
class ScatterAdd(Op):
    """Each row of ``G`` added into the row ``ix`` names (the adjoint of ``C[ix]``)."""

    name = "scatter_add"
    int_operands = (1,)

    def shape(self, args: tuple, param: Any) -> Shape:
        return param

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        G, ix = (p.text(a) for a in n.args)
        if p.latex:
            return rf"\operatorname{{scatter\_add}}\left({G}, {ix}\right)", 90
        return f"scatter_add({G}, {ix})", 90

    def lower(self, n: Node, em: Any) -> str:
        G, ix = (em.ref_name(a) for a in n.args)
        out = em.fresh("g")
        em.line(f"{out} = {em.xp}.zeros({em.shape_code(n.shape)}, dtype=DTYPE)")
        em.line(f"{em.xp}.add.at({out}, {ix}, {G})")
        return out

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        G, ix = vals[0], _labels_or_indices(vals[1])
        out = numpy.full(ctx.shape(n.shape), sympy.S.Zero, dtype=object)
        for pos in numpy.ndindex(ix.shape):
            out[ix[pos]] = out[ix[pos]] + G[pos]
        return out


def scatter_add(G: Node, ix: Node, shape: Shape) -> Node:
    """A tensor of ``shape`` with each ``G[pos]`` added into row ``ix[pos]``."""
    if G.op == "zeros":
        from derivkit.graph.ops.leaves import zeros

        return zeros(shape)
    return make("scatter_add", (G, ix), tuple(shape))


@register
class OneHot(Op):
    """The rows of the K x K identity named by integer labels: ``onehot(y)``, shape ``(N, K)``."""

    name = "onehot"
    int_operands = (0,)

    def shape(self, args: tuple, param: Any) -> Shape:
        return tuple(args[0].shape) + (param,)

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        return p.call("onehot", p.text(n.args[0])), 90

    def lower(self, n: Node, em: Any) -> str:
        return f"{em.xp}.eye({em.dim(n.param)}, dtype=DTYPE)[{em.ref(n.args[0])}]"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        labels = _labels_or_indices(vals[0])
        classes = ctx.shape((n.param,))[0]
        out = numpy.full(labels.shape + (classes,), sympy.S.Zero, dtype=object)
        for pos in numpy.ndindex(labels.shape):
            out[pos + (labels[pos],)] = sympy.S.One
        return out

    def check(self, n: Node, values: dict[str, Any]) -> None:
        _check_labels(n.args[0], n.param, values)


def _check_labels(y: Node, classes: Any, values: dict[str, Any]) -> None:
    """At run time: every label is a class, 0 to K - 1."""
    if y.name not in values:
        return
    labels = numpy.asarray(values[y.name])
    if labels.size and (labels.min() < 0 or (isinstance(classes, int) and labels.max() >= classes)):
        bad = labels.min() if labels.min() < 0 else labels.max()
        last = classes - 1 if isinstance(classes, int) else f"{classes} - 1"
        raise InputError(f"the labels {y.name} hold the class {bad}, but there are {classes} classes (0 to {last})")


@in_definitions("onehot")
def onehot(y: Node, classes: Any) -> Node:
    """The one-hot rows of the integer labels ``y`` for ``classes`` classes."""
    if y.dtype != "int":
        raise InputError(f"onehot takes integer labels; {short(y)} holds floats")
    return make("onehot", (y,), tuple(y.shape) + (classes,), param=classes)


@register
class Pick(Op):
    """``A[i, y_i]``: in each row of ``A`` the entry of the row's label."""

    name = "pick"
    int_operands = (1,)

    def shape(self, args: tuple, param: Any) -> Shape:
        A, y = args
        if y.dtype != "int" or A.rank != 2 or y.rank != 1 or not same_dim(A.shape[0], y.shape[0]):
            raise ShapeError(f"pick({short(A)}, {short(y)}) takes a matrix N x K and integer labels of shape N; "
                             f"got {shape_text(A.shape)} and {shape_text(y.shape)}"
                             + ("" if y.dtype == "int" else f" ({short(y)} is not an integer input)"))
        return (A.shape[0],)

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        A, y = n.args
        base = p.sub(A, 91)
        label = p.text(y)
        return (rf"{base}_{{i, {label}_i}}" if p.latex else f"{base}[i, {label}_i]"), 90

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        from derivkit.graph.ops.arith import hadamard
        from derivkit.graph.ops.reshape import reshape

        A, y = n.args
        return [(A, hadamard(onehot(y, A.shape[1]), reshape(G, (A.shape[0], 1))))]

    def lower(self, n: Node, em: Any) -> str:
        A = em.ref_name(n.args[0])
        return f"{A}[{em.xp}.arange({A}.shape[0]), {em.ref(n.args[1])}]"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        labels = _labels_or_indices(vals[1])
        return numpy.array([vals[0][i, labels[i]] for i in range(labels.shape[0])], dtype=object)

    def check(self, n: Node, values: dict[str, Any]) -> None:
        A, y = n.args
        _check_labels(y, A.shape[1], values)


@in_definitions("pick")
def pick(A: Node, y: Node) -> Node:
    """``A[i, y_i]`` for each row ``i``: the log-probability of each example's label, say."""
    return build("pick", (A, y))
