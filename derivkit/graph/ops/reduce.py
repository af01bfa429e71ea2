r"""Reductions over an axis (sum, mean, max, min, var) and the broadcast that undoes them.

Reductions keep the reduced axis as size 1, as the course's ``Σ_e`` (over the
examples, axis 0) and ``Σ_n`` (over the neurons, axis 1) do, so that the result
broadcasts back against its operand. ``mean`` is ``(1/N) Σ_e``; the gradient of
``max`` goes to the first maximal entry (at ties the maximum is not
differentiable: derivkit then routes the gradient to the first one, as NumPy's
``argmax`` and PyTorch's ``max(dim)`` do).

>>> from derivkit.graph.ops.leaves import leaf
>>> A = leaf("input", "A", ("N", 3))
>>> print(total(A, 0), "|", mean(A, 1), "|", amax(A, 1), "|", var(A, 0, ddof=1), "|", total(A))
Σ_e A | (1/3) Σ_n A | max_n A | var_e(A, ddof=1) | Σ A
>>> mean(A, 0).shape, total(A).shape
((1, 3), (1, 1))
"""

from __future__ import annotations

from typing import Any

import numpy
import sympy

from derivkit.graph.node import Node, Op, build, in_definitions, make, register
from derivkit.graph.ops.arith import hadamard, scale, sub, unbroadcast
from derivkit.graph.ops.leaves import zeros
from derivkit.graph.shapes import Shape, normalize_axis

__all__ = ["total", "mean", "amax", "amin", "var", "expand", "argmax_mask", "axis_count", "reduced_shape"]


def reduced_shape(shape: Shape, axis: int | None, keepdims: bool = True) -> Shape:
    if axis is None:
        return (1,) * len(shape) if keepdims else ()
    if keepdims:
        return tuple(1 if i == axis else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i != axis)


def axis_count(shape: Shape, axis: int | None) -> sympy.Expr:
    """How many entries a reduction over ``axis`` combines (``N`` for axis 0 of ``N x 3``)."""
    if axis is None:
        out = sympy.S.One
        for d in shape:
            out *= sympy.sympify(d)
        return out
    return sympy.sympify(shape[axis])


def _axis(a: Node, axis: Any, what: str) -> int | None:
    return None if axis is None else normalize_axis(axis, max(a.rank, 1), what)


_RANK2_AXIS = {None: ("", ""), 0: ("_e", "_{e}"), 1: ("_n", "_{n}")}


def _axis_mark(n: Node, latex: bool) -> str:
    """``_e``/``_n`` for rank 2 (the examples, the neurons), ``_(axis k)`` otherwise."""
    axis = n.param[0]
    rank = n.args[0].rank
    if axis is None or rank == 2:
        return _RANK2_AXIS[axis][1 if latex else 0]
    if rank == 1:
        return ""
    return rf"_{{\text{{axis }} {axis}}}" if latex else f"_(axis {axis})"


def _np_axis(n: Node) -> str:
    axis, keepdims = n.param[0], n.param[1]
    if axis is None:
        return "keepdims=True" if keepdims else ""
    return f"axis={axis}, keepdims=True" if keepdims else f"axis={axis}"


class _Reduction(Op):
    big_operator = True
    method = ""
    text_name = ""
    latex_name = ""

    def shape(self, args: tuple, param: Any) -> Shape:
        return reduced_shape(args[0].shape, param[0], param[1])

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        inner, prec = p.fmt(n.args[0])
        inner = inner if prec >= 90 else p.paren(inner)
        mark = _axis_mark(n, p.latex)
        return (f"{self.latex_name}{mark} {inner}" if p.latex else f"{self.text_name}{mark} {inner}"), 15

    def lower(self, n: Node, em: Any) -> str:
        return f"{em.ref(n.args[0])}.{self.method}({_np_axis(n)})"

    def _reduce(self, vals: list, axis: int | None, keepdims: bool, fn: Any) -> Any:
        A = vals[0]
        if axis is None:
            out = numpy.array(fn(list(A.flat)), dtype=object)
            return out.reshape((1,) * A.ndim) if keepdims else out
        moved = numpy.moveaxis(A, axis, -1)
        flat = moved.reshape(-1, moved.shape[-1])
        out = numpy.empty(flat.shape[0], dtype=object)
        for i in range(flat.shape[0]):
            out[i] = fn(list(flat[i]))
        out = out.reshape(moved.shape[:-1])
        return numpy.expand_dims(out, axis) if keepdims else out


@register
class Sum(_Reduction):
    name = "sum"
    method = "sum"
    text_name = "Σ"
    latex_name = r"\sum"

    def simplify(self, args: tuple, param: Any, shape: Shape) -> Node | None:
        (a,) = args
        if a.op == "zeros":
            return zeros(shape)
        if a.op == "expand" and a.args[0].op == "const" and param[0] is None:  # Σ of a broadcast number c: c n
            from derivkit.graph.ops.leaves import const

            return const(a.args[0].param * axis_count(a.shape, None))
        if a.op == "scale" and a.name is None:  # Σ (c A) = c Σ A
            return scale(a.param, total(a.args[0], param[0], param[1]))
        axis, keepdims = param
        if a.op in ("hadamard", "divide") and a.name is None and axis is not None and keepdims:
            X, Y = a.args  # Σ_e (X ∘ y) = (Σ_e X) ∘ y when y does not change along e
            if Y.rank == X.rank and Y.shape[axis] == 1 and X.shape[axis] != 1:
                return build(a.op, (total(X, axis), Y))
            if a.op == "hadamard" and X.rank == Y.rank and X.shape[axis] == 1 and Y.shape[axis] != 1:
                return hadamard(X, total(Y, axis))
        return None

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        return [(n.args[0], expand(G, n.args[0].shape))]

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        return self._reduce(vals, n.param[0], n.param[1], lambda xs: sympy.Add(*xs))

    def to_sympy(self, n: Node, args: list) -> Any:
        A = args[0]
        rows, cols = n.args[0].shape
        if n.param[0] in (None, 0):
            A = sympy.OneMatrix(1, rows) * A
        if n.param[0] in (None, 1):
            A = A * sympy.OneMatrix(cols, 1)
        return A


@in_definitions("sum")
def total(a: Node, axis: int | None = None, keepdims: bool = True) -> Node:
    """Sum of all entries (``axis=None``) or along one axis (``0``: the examples, ``Σ_e``)."""
    return build("sum", (a,), (_axis(a, axis, "sum"), keepdims))


@in_definitions("mean")
def mean(a: Node, axis: int | None = None) -> Node:
    """Mean of all entries or along one axis: ``(1/N) Σ_e A``."""
    axis = _axis(a, axis, "mean")
    return scale(1 / axis_count(a.shape, axis), total(a, axis))


@register
class Max(_Reduction):
    name = "max"
    method = "max"
    text_name = "max"
    latex_name = r"\max"

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        A = n.args[0]
        return [(A, hadamard(expand(G, A.shape), argmax_mask(A, n.param[0], self.name)))]

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        return self._reduce(vals, n.param[0], n.param[1], lambda xs: sympy.Max(*xs))


@register
class Min(Max):
    name = "min"
    method = "min"
    text_name = "min"
    latex_name = r"\min"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        return self._reduce(vals, n.param[0], n.param[1], lambda xs: sympy.Min(*xs))


@in_definitions("max")
def amax(a: Node, axis: int | None = None) -> Node:
    """The largest entry along ``axis`` (all entries for None)."""
    return build("max", (a,), (_axis(a, axis, "max"), True))


@in_definitions("min")
def amin(a: Node, axis: int | None = None) -> Node:
    """The smallest entry along ``axis`` (all entries for None)."""
    return build("min", (a,), (_axis(a, axis, "min"), True))


@register
class ArgmaxMask(Op):
    """1 at the first largest (or smallest) entry along an axis, 0 elsewhere."""

    name = "argmax_mask"

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        axis, kind = n.param
        A = n.args[0]
        inner = p.text(A)
        red = build(kind, (A,), (axis, True))
        mark = _axis_mark(red, p.latex)
        if p.latex:
            return rf"\mathbf{{1}}\left[{inner} = \{kind}{mark} {inner}\right]", 90
        return f"1[{inner} = {kind}{mark} {inner}]", 90

    def lower(self, n: Node, em: Any) -> str:
        axis, kind = n.param
        a = em.ref_name(n.args[0])
        out = em.fresh("m")
        arg = "argmax" if kind == "max" else "argmin"
        em.line(f"{out} = {em.xp}.zeros_like({a})")
        if axis is None:
            em.line(f"{out}.flat[{a}.{arg}()] = 1")
        else:
            em.line(f"{em.xp}.put_along_axis({out}, {a}.{arg}(axis={axis}, keepdims=True), 1, axis={axis})")
        return out

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        raise NotImplementedError  # the scalar expansion differentiates max itself


def argmax_mask(a: Node, axis: int | None, kind: str = "max") -> Node:
    return make("argmax_mask", (a,), a.shape, param=(axis, kind))


@register
class Var(_Reduction):
    """The variance along an axis, ``Σ (A - mean)^2 / (n - ddof)``."""

    name = "var"
    big_operator = False
    method = "var"

    def shape(self, args: tuple, param: Any) -> Shape:
        return reduced_shape(args[0].shape, param[0], True)

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        inner = p.text(n.args[0])
        mark = _axis_mark(n, p.latex)
        ddof = f", ddof={n.param[1]}" if n.param[1] else ""
        if p.latex:
            return rf"\operatorname{{var}}{mark}\left({inner}{ddof}\right)", 90
        return f"var{mark}({inner}{ddof})", 90

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        A = n.args[0]
        axis, ddof = n.param
        count = axis_count(A.shape, axis)
        centred = sub(A, mean(A, axis))
        return [(A, scale(2 / (count - ddof), hadamard(expand(G, A.shape), centred)))]

    def lower(self, n: Node, em: Any) -> str:
        axis, ddof = n.param
        where = "" if axis is None else f"axis={axis}, "
        return f"{em.ref(n.args[0])}.var({where}ddof={ddof}, keepdims=True)"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        axis, ddof = n.param

        def variance(xs: list) -> Any:
            m = sympy.Add(*xs) / len(xs)
            return sympy.Add(*[(x - m) ** 2 for x in xs]) / (len(xs) - ddof)

        return self._reduce(vals, axis, True, variance)


@in_definitions("var")
def var(a: Node, axis: int | None = None, ddof: int = 0) -> Node:
    """The variance along ``axis``; ``ddof=1`` divides by ``n - 1`` (Bessel's correction)."""
    if isinstance(ddof, bool) or not isinstance(ddof, int) or ddof < 0:
        from derivkit.errors import InputError

        raise InputError(f"var: ddof must be a non-negative integer, got {ddof!r}")
    return build("var", (a,), (_axis(a, axis, "var"), ddof))


@register
class Expand(Op):
    """Broadcast a node (a number, a row, a column) to a larger shape."""

    name = "expand"

    def shape(self, args: tuple, param: Any) -> Shape:
        return param

    def simplify(self, args: tuple, param: Any, shape: Shape) -> Node | None:
        (g,) = args
        if tuple(g.shape) == tuple(shape):
            return g
        if g.op == "zeros":
            return zeros(shape)
        return None

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        if n.args[0].op == "const":  # a number broadcasts by itself
            return p.fmt(n.args[0])
        if p.latex:
            return rf"{p.sub(n.args[0], 91)} \mathbf{{1}}", 90
        return f"broadcast({p.text(n.args[0])})", 90

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        return [(n.args[0], unbroadcast(G, n.args[0].shape))]

    def lower(self, n: Node, em: Any) -> str:
        return f"{em.ref(n.args[0])} * {em.xp}.ones({em.shape_code(n.shape)}, dtype=DTYPE)"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        return numpy.broadcast_to(vals[0], ctx.shape(n.shape)).copy()

    def to_sympy(self, n: Node, args: list) -> Any:
        from derivkit.graph.sympy_form import broadcast_to

        return broadcast_to(args[0], n.shape)


def expand(g: Node, shape: Shape) -> Node:
    """Broadcast ``g`` (a scalar, row or column) to ``shape``."""
    return build("expand", (g,), tuple(shape))
