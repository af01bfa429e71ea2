r"""Pooling: ``maxpool2d(X, k)`` and ``avgpool2d(X, k)`` over ``k x k`` windows, and their backward operations.

Each channel of each image is cut into windows of ``kh x kw`` pixels, moved by
a stride ``s`` (by default the window size: windows side by side), and each
window becomes one number, its largest entry or its mean:

    Y[n,c,i,j] = max_{p,q} X[n,c,i s+p,j s+q]          (max-pooling)
    Y[n,c,i,j] = (1/(kh kw)) Σ_{p,q} X[n,c,i s+p,j s+q]   (average pooling)

There are ``⌊(H - kh)/s⌋ + 1`` windows down and ``⌊(W - kw)/s⌋ + 1`` across
(rows and columns that do not fill a last window are left out, as in PyTorch).
Backward, max-pooling *routes* the upstream gradient ``G[n,c,i,j]`` to the
entry of its window that was the maximum and gives 0 to the others; where
windows overlap, an entry that is the maximum of several windows gets the sum.
**Ties**: when several entries of a window share the maximum, the maximum is
not differentiable there; derivkit gives the whole gradient to the first of
them in reading order (row by row, as NumPy's ``argmax`` and PyTorch do).
Average pooling spreads ``G[n,c,i,j] / (kh kw)`` evenly over its window.

>>> from derivkit.graph.ops.leaves import leaf
>>> A = leaf("input", "A", ("N", 8, 4, 4))
>>> print(maxpool2d(A, 2), maxpool2d(A, 2).shape, "|", avgpool2d(A, 2))
max_{p,q} A[n,c,2i+p,2j+q] (N, 8, 2, 2) | (1/4) Σ_{p,q} A[n,c,2i+p,2j+q]
>>> maxpool2d(A, 3).shape, maxpool2d(A, 3, stride=1).shape
((N, 8, 1, 1), (N, 8, 2, 2))
>>> maxpool2d(A, 5)
Traceback (most recent call last):
...
derivkit.errors.ShapeError: maxpool2d(A, 5): the 5 x 5 windows are larger than the 4 x 4 image: 5 rows of window, 4 rows of image
"""

from __future__ import annotations

from typing import Any

import numpy
import sympy

from derivkit.errors import InputError
from derivkit.graph.node import Node, Op, build, in_definitions, register, short
from derivkit.graph.ops.windows import (
    Pair, WindowAdjoint, adjoint_node, emit_fold, fold_object, indexed, offset_index, pair, pair_text, require_images, source_index,
    window_slice, window_sizes,
)
from derivkit.graph.shapes import Shape

__all__ = ["maxpool2d", "avgpool2d", "maxpool2d_grad", "avgpool2d_grad"]


def _reads(param: tuple) -> tuple[str, str]:
    (sh, sw) = param[1]
    return offset_index("i", sh, "p", 0), offset_index("j", sw, "q", 0)


def _windows_object(X: numpy.ndarray, size: Pair, stride: Pair, out: Any) -> numpy.ndarray:
    """The windows of an object array, ``(N, C, Ho, Wo, kh, kw)``."""
    (kh, kw), (sh, sw) = size, stride
    win = numpy.empty(tuple(out) + (kh, kw), dtype=object)
    for n, c, i, j, p, q in numpy.ndindex(win.shape):
        win[n, c, i, j, p, q] = X[n, c, i * sh + p, j * sw + q]
    return win


def _slices(em: Any, n: Node) -> list[str]:
    """The pixel at each offset of every window of the pooled node, in reading order (strided slices)."""
    x = em.ref_name(n.args[0])
    (kh, kw), stride = n.param[0], n.param[1]
    out = (n.shape[2], n.shape[3])
    return [x + window_slice(p, q, out, stride) for p in range(kh) for q in range(kw)]


def _tree(fn: str, parts: list[str]) -> str:
    """``fn(fn(a, b), fn(c, d))``: a balanced tree of a two-argument function over the parts."""
    while len(parts) > 1:
        parts = [f"{fn}({a}, {b})" for a, b in zip(parts[::2], parts[1::2])] + parts[len(parts) - len(parts) % 2:]
    return parts[0]


class _Pool(Op):
    kind = ""
    big_operator = True

    def shape(self, args: tuple, param: Any) -> Shape:
        (X,) = args
        size, stride = param
        where = f"{self.name}({short(X)}, {pair_text(size)}" + (
            f", stride={pair_text(stride)})" if stride != size else ")")
        require_images(X, where)
        Ho, Wo = window_sizes(X.shape[2:], size, stride, (0, 0), where)
        return X.shape[:2] + (Ho, Wo)


def _pool(kind: str, X: Node, k: Any, stride: Any) -> Node:
    where = f"{kind}({short(X)}, {k!r})" if isinstance(X, Node) else kind
    if not isinstance(X, Node):
        raise InputError(f"{kind} pools a node of images N x C x H x W, got {X!r}")
    size = pair(k, "window size", where, 1)
    return build(kind, (X,), (size, size if stride is None else pair(stride, "stride", where, 1)))


@register
class MaxPool2d(_Pool):
    """``maxpool2d(X, k)``: the largest entry of each ``k x k`` window."""

    name = "maxpool2d"

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        body = indexed(p, n.args[0], "n", "c", *_reads(n.param))
        return (rf"\max_{{p,q}} {body}" if p.latex else f"max_{{p,q}} {body}"), 15

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        return [(n.args[0], maxpool2d_grad(G, n))]

    def lower(self, n: Node, em: Any) -> str:
        parts = _slices(em, n)
        return _tree(f"{em.xp}.maximum", parts) if len(parts) > 1 else f"{parts[0]}.copy()"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        win = _windows_object(vals[0], n.param[0], n.param[1], ctx.shape(n.shape))
        out = numpy.empty(win.shape[:4], dtype=object)
        for pos in numpy.ndindex(out.shape):
            out[pos] = sympy.Max(*win[pos].flat)
        return out


@in_definitions("maxpool2d")
def maxpool2d(X: Node, k: Any = 2, stride: Any = None) -> Node:
    """Max-pooling of images ``X`` (``N x C x H x W``) over ``k x k`` windows (``k`` or ``(kh, kw)``), stride ``k``."""
    return _pool("maxpool2d", X, k, stride)


def _first_argmax(values: list) -> int:
    """The position of the first largest number (ties: the first), for the scalar form."""
    best = 0
    for i, v in enumerate(values):
        bigger = sympy.sympify(v > values[best])
        if not isinstance(bigger, sympy.logic.boolalg.BooleanAtom):
            raise InputError("the scalar form of max-pooling's gradient needs numbers, not symbols")
        if bigger:
            best = i
    return best


@register
class MaxPool2dGrad(WindowAdjoint):
    """The adjoint of ``maxpool2d``: each ``G[n,c,i,j]`` routed to the first maximum of its window."""

    name = "maxpool2d_grad"

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        G, X = n.args[0], n.args[1]
        rows, cols = _reads(n.param)
        g = indexed(p, G, "n", "c", "i", "j")
        window = indexed(p, X, "n", "c", rows, cols)
        if p.latex:
            return (rf"\sum_{{i,j}} {g}\, \mathbb{{1}}\left[(h,w) = \operatorname{{argmax}}_{{({rows},\,{cols})}} "
                    rf"{window}\right]"), 15
        return f"Σ_{{i,j}} {g} 1[(h,w) = argmax_({rows},{cols}) {window}]", 15

    def lower(self, n: Node, em: Any) -> str:
        G, X, Y = n.args
        size, stride = n.param[:2]
        x, y, g = em.ref_name(X), em.ref_name(Y), em.ref_name(G)
        taken, hit = em.fresh("taken"), em.fresh("hit")
        em.line(f"{taken} = {em.xp}.zeros({y}.shape, dtype=bool)")
        at = window_slice("_p", "_q", (Y.shape[2], Y.shape[3]), stride)

        def first_maximum(p: str, q: str) -> list[str]:  # ties: the first maximum in reading order
            return [f"{hit} = ({x}{at} == {y}) & ~{taken}", f"{taken} |= {hit}"]

        return emit_fold(em, lambda p, q: f"{g} * {hit}", X.shape, size, stride, (0, 0), inside=first_maximum)

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        G, X = vals[0], vals[1]
        size, stride = n.param[:2]
        win = _windows_object(X, size, stride, G.shape)
        V = numpy.full(win.shape, sympy.S.Zero, dtype=object)
        for pos in numpy.ndindex(G.shape):
            first = _first_argmax(list(win[pos].flat))
            V[pos + divmod(first, size[1])] = G[pos]
        return fold_object(V, X.shape, size, stride, (0, 0))


def maxpool2d_grad(G: Node, Y: Node) -> Node:
    """``∂L/∂X`` of ``Y = maxpool2d(X)`` from its upstream gradient ``G`` (the operands: ``G``, ``X`` and ``Y``)."""
    X = Y.args[0]
    return adjoint_node("maxpool2d_grad", (G, X, Y), Y.param, X.shape, vanishes_with=(G,))


@register
class AvgPool2d(_Pool):
    """``avgpool2d(X, k)``: the mean of each ``k x k`` window."""

    name = "avgpool2d"

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        (kh, kw), _ = n.param
        body = indexed(p, n.args[0], "n", "c", *_reads(n.param))
        if p.latex:
            return rf"\frac{{1}}{{{kh * kw}}} \sum_{{p,q}} {body}", 15
        return f"(1/{kh * kw}) Σ_{{p,q}} {body}", 15

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        X = n.args[0]
        return [(X, avgpool2d_grad(G, n.param, X.shape))]

    def lower(self, n: Node, em: Any) -> str:
        (kh, kw), _ = n.param
        return f"({' + '.join(_slices(em, n))}) / {kh * kw}"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        win = _windows_object(vals[0], n.param[0], n.param[1], ctx.shape(n.shape))
        out = numpy.empty(win.shape[:4], dtype=object)
        count = n.param[0][0] * n.param[0][1]
        for pos in numpy.ndindex(out.shape):
            out[pos] = sympy.Add(*win[pos].flat) / count
        return out


@in_definitions("avgpool2d")
def avgpool2d(X: Node, k: Any = 2, stride: Any = None) -> Node:
    """Average pooling of images ``X`` (``N x C x H x W``) over ``k x k`` windows, stride ``k`` by default."""
    return _pool("avgpool2d", X, k, stride)


@register
class AvgPool2dGrad(WindowAdjoint):
    """The adjoint of ``avgpool2d``: each ``G[n,c,i,j]`` spread evenly over its window."""

    name = "avgpool2d_grad"

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        (kh, kw), (sh, sw), _ = n.param
        G = n.args[0]
        if (sh, sw) == (kh, kw):
            rows, cols = (rf"\lfloor h/{sh} \rfloor", rf"\lfloor w/{sw} \rfloor") if p.latex else (
                f"⌊h/{sh}⌋", f"⌊w/{sw}⌋")
            body = indexed(p, G, "n", "c", rows, cols)
            return (rf"\frac{{1}}{{{kh * kw}}} {body}" if p.latex else f"(1/{kh * kw}) {body}"), 15
        body = indexed(p, G, "n", "c", source_index("h", "p", 0, sh), source_index("w", "q", 0, sw))
        if p.latex:
            return rf"\frac{{1}}{{{kh * kw}}} \sum_{{p,q}} {body}", 15
        return f"(1/{kh * kw}) Σ_{{p,q}} {body}", 15

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        size, stride, _ = n.param
        return [(n.args[0], avgpool2d(G, size, stride))]

    def lower(self, n: Node, em: Any) -> str:
        size, stride, image = n.param
        share = em.fresh("share")
        em.line(f"{share} = {em.ref(n.args[0])} / {size[0] * size[1]}")
        return emit_fold(em, lambda p, q: share, image, size, stride, (0, 0))

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        G = vals[0]
        size, stride, image = n.param
        count = size[0] * size[1]
        V = numpy.empty(G.shape + size, dtype=object)
        for pos in numpy.ndindex(V.shape):
            V[pos] = G[pos[:4]] / count
        return fold_object(V, ctx.shape(image), size, stride, (0, 0))


def avgpool2d_grad(G: Node, param: tuple, image: Shape) -> Node:
    """``∂L/∂X`` of ``avgpool2d(X)`` from its upstream gradient ``G`` (``image`` is the shape of ``X``)."""
    return adjoint_node("avgpool2d_grad", (G,), param[:2], image)
