r"""Rearranging entries: ``reshape``, ``flatten`` (keeps the first axis) and ``concat``, with slices as adjoints.

None of them computes anything, so their backward rules only rearrange ``G``:
the adjoint of a reshape is ``G`` reshaped back, the adjoint of a
concatenation is ``G`` cut into the operands' pieces.

>>> from derivkit.graph.ops.leaves import leaf
>>> emb = leaf("input", "emb", ("N", 3, 10)); A = leaf("input", "A", ("N", 2))
>>> print(flatten(emb), flatten(emb).shape, "|", concat([A, A], axis=1), concat([A, A], 1).shape)
flatten(emb) (N, 30) | concat(A, A) (N, 4)
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy
import sympy

from derivkit.errors import InputError, ShapeError
from derivkit.graph.node import Node, Op, build, in_definitions, make, register, short
from derivkit.graph.shapes import Shape, as_shape, normalize_axis, same_dim, shape_text, size_of

__all__ = ["reshape", "flatten", "concat", "take_slice"]


@register
class Reshape(Op):
    name = "reshape"

    def shape(self, args: tuple, param: Any) -> Shape:
        (a,) = args
        if not same_dim(size_of(a.shape), size_of(param)):
            raise ShapeError(f"cannot reshape {short(a)} ({shape_text(a.shape)}, {size_of(a.shape)} entries) to "
                             f"{shape_text(param)} ({size_of(param)} entries)")
        return tuple(param)

    def simplify(self, args: tuple, param: Any, shape: Shape) -> Node | None:
        (a,) = args
        if tuple(a.shape) == tuple(shape):
            return a
        if a.op in ("reshape", "flatten") and a.name is None:
            return reshape(a.args[0], shape)
        if a.op == "zeros":
            from derivkit.graph.ops.leaves import zeros

            return zeros(shape)
        if a.op == "const":  # a number broadcasts by itself
            return a
        if a.op == "expand" and a.args[0].op == "const":
            from derivkit.graph.ops.reduce import expand

            return expand(a.args[0], shape)
        return None

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        sizes = (r" \times " if p.latex else " x ").join(p.scalar(d) for d in n.shape)
        return p.call("reshape", p.text(n.args[0]), sizes), 90

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        return [(n.args[0], reshape(G, n.args[0].shape))]

    def lower(self, n: Node, em: Any) -> str:
        return f"{em.ref(n.args[0])}.reshape({em.shape_code(n.shape)})"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        return vals[0].reshape(ctx.shape(n.shape))


@register
class Flatten(Reshape):
    name = "flatten"

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        return p.call("flatten", p.text(n.args[0])), 90

    def lower(self, n: Node, em: Any) -> str:
        a = em.ref_name(n.args[0])
        return f"{a}.reshape({a}.shape[0], -1)"


@in_definitions("reshape")
def reshape(a: Node, shape: Any) -> Node:
    """The entries of ``a`` in a new shape (row-major order, as NumPy); sizes may be names (``N``)."""
    shape = as_shape(shape, f"reshape({short(a)}, ...)")
    return build("reshape", (a,), shape)


@in_definitions("flatten")
def flatten(a: Node) -> Node:
    """``a`` as a matrix: the first axis kept, the others flattened into one (``N x 3 x 10`` -> ``N x 30``)."""
    if a.rank < 2:
        raise ShapeError(f"flatten keeps the first axis of a tensor of rank 2 or more; {short(a)} has shape "
                         f"{shape_text(a.shape)}")
    if a.rank == 2:
        return a
    return build("flatten", (a,), (a.shape[0], size_of(a.shape[1:])))


@register
class Concat(Op):
    name = "concat"

    def shape(self, args: tuple, param: Any) -> Shape:
        axis = param
        first = args[0]
        total = sympy.S.Zero
        for a in args:
            if a.rank != first.rank or any(not same_dim(x, y) for i, (x, y) in enumerate(zip(a.shape, first.shape))
                                           if i != axis):
                raise ShapeError(
                    f"cannot concatenate {short(first)} ({shape_text(first.shape)}) and {short(a)} "
                    f"({shape_text(a.shape)}) along axis {axis}: the other sizes must be equal")
            total += sympy.sympify(a.shape[axis])
        size = int(total) if total.is_Integer else total
        return tuple(size if i == axis else d for i, d in enumerate(first.shape))

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        parts = [p.text(a) for a in n.args]
        if p.latex:
            return r"\left[" + r",\ ".join(parts) + r"\right]", 90
        axis = f", axis={n.param}" if n.param != n.rank - 1 else ""
        return f"concat({', '.join(parts)}{axis})", 90

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        out = []
        start = sympy.S.Zero
        for a in n.args:
            stop = start + sympy.sympify(a.shape[n.param])
            out.append((a, take_slice(G, n.param, start, stop)))
            start = stop
        return out

    def lower(self, n: Node, em: Any) -> str:
        parts = ", ".join(em.ref(a) for a in n.args)
        return f"{em.xp}.concatenate(({parts},), axis={n.param})"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        return numpy.concatenate(vals, axis=n.param)


def concat(nodes: Sequence[Node], axis: int = -1) -> Node:
    """The nodes side by side along ``axis`` (default: the last)."""
    nodes = list(nodes)
    if len(nodes) < 1 or not all(isinstance(a, Node) for a in nodes):
        raise InputError("concat takes one or more nodes")
    axis = normalize_axis(axis, nodes[0].rank, "concat")
    if len(nodes) == 1:
        return nodes[0]
    return build("concat", tuple(nodes), axis)


@register
class Slice(Op):
    """``G[..., start:stop, ...]`` along one axis (the adjoint of a concatenation)."""

    name = "slice"

    def shape(self, args: tuple, param: Any) -> Shape:
        return _slice_shape(args[0].shape, *param)

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        axis, start, stop = n.param
        where = ", ".join([":"] * axis + [f"{p.scalar(start)}:{p.scalar(stop)}"])
        base = p.sub(n.args[0], 91)
        return (rf"{base}_{{[{where}]}}" if p.latex else f"{base}[{where}]"), 90

    def lower(self, n: Node, em: Any) -> str:
        axis, start, stop = n.param
        where = ", ".join([":"] * axis + [f"{em.scalar(start)}:{em.scalar(stop)}"])
        return f"{em.ref(n.args[0])}[{where}]"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        axis, start, stop = n.param
        index = [slice(None)] * axis + [slice(int(ctx.size(start)), int(ctx.size(stop)))]
        return vals[0][tuple(index)]


@in_definitions("concat")
def _concat_call(*nodes: Node, axis: int = -1) -> Node:
    return concat(nodes, axis)


def _slice_shape(shape: Shape, axis: int, start: Any, stop: Any) -> Shape:
    size = sympy.sympify(stop - start)
    size = int(size) if size.is_Integer else size
    return tuple(size if i == axis else d for i, d in enumerate(shape))


def take_slice(G: Node, axis: int, start: Any, stop: Any) -> Node:
    """``G`` cut to ``start:stop`` along ``axis``."""
    shape = _slice_shape(G.shape, axis, start, stop)
    if G.op == "zeros":
        from derivkit.graph.ops.leaves import zeros

        return zeros(shape)
    return make("slice", (G,), shape, param=(axis, start, stop))
