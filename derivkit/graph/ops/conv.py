r"""Convolution of images with kernels: ``conv2d(X, K, b, stride, padding)`` and its three backward operations.

A convolutional layer (as in deep learning: a cross-correlation, the kernel is
not flipped) takes images ``X`` of shape ``N x C x H x W`` and ``F`` kernels
``K`` of shape ``F x C x kh x kw``, and gives ``F`` channels, one per kernel:

    Y[n,f,i,j] = Σ_{c,p,q} X[n,c,i s+p-P,j s+q-P] K[f,c,p,q] + b[f]

with stride ``s``, padding ``P`` (pixels outside the image count as 0) and an
optional bias ``b`` (one number per kernel, shape ``F``, or ``1 x F x 1 x 1``).
The backward rules are the course's:

- for ``K``, the input correlated with the upstream gradient ``G``:
  ``∂L/∂K[f,c,p,q] = Σ_{n,i,j} G[n,f,i,j] X[n,c,i s+p-P,j s+q-P]``;
- for ``X``, ``G`` convolved with the kernel (a full convolution, which is a
  correlation with the kernel flipped: the *transposed convolution*):
  ``∂L/∂X[n,c,h,w] = Σ_{f,p,q} G[n,f,(h-p+P)/s,(w-q+P)/s] K[f,c,p,q]``,
  where positions of ``G`` that are outside it or not whole numbers count 0;
- for ``b``, the upstream gradient summed over the examples and the pixels:
  ``∂L/∂b[f] = Σ_{n,i,j} G[n,f,i,j]``.

Each is a record of its own, with its printing, lowering and scalar form. The
NumPy code cuts the padded image into windows (a strided view), lays them out
as the columns of one matrix (im2col, ``C kh kw x N Ho Wo``) and multiplies the
kernels by it in one matrix product; the backward pass reuses that matrix for
``K`` and adds the windows of ``Kᵀ G`` back into the image for ``X`` (col2im).

>>> from derivkit.graph.ops.leaves import leaf
>>> X = leaf("input", "X", ("N", 1, 8, 8)); K = leaf("param", "K", (4, 1, 3, 3)); b = leaf("param", "b", (4,))
>>> Y = conv2d(X, K, b, padding=1)
>>> print(Y, Y.shape)
Σ_{c,p,q} X[n,c,i+p-1,j+q-1] K[f,c,p,q] + b[f] (N, 4, 8, 8)
>>> print(conv2d(X, K, stride=2, padding=(1, 0)).shape)
(N, 4, 4, 3)
>>> conv2d(X, leaf("param", "K2", (4, 3, 3, 3)))
Traceback (most recent call last):
...
derivkit.errors.ShapeError: conv2d(X, K2): X has 1 channel (N x 1 x 8 x 8), but the kernels K2 (4 x 3 x 3 x 3) expect 3: the second size of the kernels must be the channels of the images
"""

from __future__ import annotations

from typing import Any

import numpy
import sympy

from derivkit.errors import InputError, ShapeError
from derivkit.graph.node import Node, Op, build, in_definitions, register, short
from derivkit.graph.ops.windows import (
    Pair, WindowAdjoint, adjoint_node, emit_fold, emit_windows, fold_object, indexed, offset_index, options_text, pad_object, pair,
    require_images, source_index, window_sizes,
)
from derivkit.graph.shapes import Shape, shape_text

__all__ = ["conv2d", "conv2d_input_grad", "conv2d_kernel_grad", "conv2d_bias_grad"]


def _sum(p: Any, indices: str, body: str) -> str:
    return rf"\sum_{{{indices}}} {body}" if p.latex else f"Σ_{{{indices}}} {body}"


def _product(p: Any, a: str, b: str) -> str:
    return rf"{a}\, {b}" if p.latex else f"{a} {b}"


def _options(param: tuple) -> str:
    stride, padding = param[0], param[1]
    return options_text(stride=(stride, (1, 1)), padding=(padding, (0, 0)))


def _reads(stride: Pair, padding: Pair, out: tuple[str, str] = ("i", "j")) -> tuple[str, str]:
    """The image position an output position reads: ``i s+p-P``, ``j s+q-P``."""
    return (offset_index(out[0], stride[0], "p", padding[0]), offset_index(out[1], stride[1], "q", padding[1]))


def _rows(em: Any, G: Node) -> str:
    """``G`` (``N x F x Ho x Wo``) as a matrix with one row per kernel, ``F x N Ho Wo`` (shared)."""
    g = em.ref_name(G)

    def emit() -> str:
        out = em.fresh("g")
        em.line(f"{out} = {g}.transpose(1, 0, 2, 3).reshape({G.shape[1]}, -1)")
        return out

    return em.memo(("rows", em.key(G)), emit)


def _columns(em: Any, X: Node, kernel: Pair, stride: Pair, padding: Pair) -> str:
    """im2col: the windows of ``X`` as the columns of one matrix, ``C kh kw x N Ho Wo`` (shared by forward and backward)."""
    win = emit_windows(em, X, kernel, stride, padding)

    def emit() -> str:
        out = em.fresh("cols")
        em.line(f"{out} = {win}.reshape({X.shape[1] * kernel[0] * kernel[1]}, -1)")
        return out

    return em.memo(("columns", em.key(X), kernel, stride, padding), emit)


@register
class Conv2d(Op):
    """``conv2d(X, K[, b])``: ``F`` kernels slid over images, one output channel per kernel."""

    name = "conv2d"
    names_adjoint = True
    big_operator = True

    def shape(self, args: tuple, param: Any) -> Shape:
        X, K = args[0], args[1]
        stride, padding = param
        where = f"conv2d({short(X)}, {short(K)}{_options(param)})"
        require_images(X, where)
        if K.rank != 4 or not all(isinstance(d, int) for d in K.shape):
            raise ShapeError(f"{where} takes kernels of shape F x C x kh x kw (filters, channels, rows, columns), "
                             f"but {short(K)} has shape {shape_text(K.shape)}")
        F, C, kh, kw = K.shape
        if X.shape[1] != C:
            channels = f"{X.shape[1]} channel" + ("s" if X.shape[1] != 1 else "")
            raise ShapeError(f"{where}: {short(X)} has {channels} ({shape_text(X.shape)}), but the kernels "
                             f"{short(K)} ({shape_text(K.shape)}) expect {C}: the second size of the kernels must "
                             "be the channels of the images")
        if len(args) == 3:
            b = args[2]
            if tuple(b.shape) not in ((F,), (1, F, 1, 1)):
                raise ShapeError(f"{where}: the bias {short(b)} must hold one number per kernel, shape {F} (or "
                                 f"1 x {F} x 1 x 1), but has shape {shape_text(b.shape)}")
        Ho, Wo = window_sizes(X.shape[2:], (kh, kw), stride, padding, where)
        return (X.shape[0], F, Ho, Wo)

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        X, K = n.args[0], n.args[1]
        rows, cols = _reads(*n.param)
        body = _sum(p, "c,p,q", _product(p, indexed(p, X, "n", "c", rows, cols), indexed(p, K, "f", "c", "p", "q")))
        if len(n.args) == 3:
            return f"{body} + {indexed(p, n.args[2], 'f')}", 10
        return body, 15

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        X, K = n.args[0], n.args[1]
        out = [(X, conv2d_input_grad(G, K, n.param, X.shape)), (K, conv2d_kernel_grad(X, G, n.param, K.shape))]
        if len(n.args) == 3:
            out.append((n.args[2], conv2d_bias_grad(G, n.args[2].shape)))
        return out

    def lower(self, n: Node, em: Any) -> str:
        X, K = n.args[0], n.args[1]
        F, _, kh, kw = K.shape
        cols = _columns(em, X, (kh, kw), *n.param)
        product = f"{em.ref(K)}.reshape({F}, -1) @ {cols}"
        if len(n.args) == 3:
            b = em.ref(n.args[2])
            product += f" + {b}[:, None]" if n.args[2].rank == 1 else f" + {b}.reshape({F}, 1)"
        return f"({product}).reshape({F}, -1, {n.shape[2]}, {n.shape[3]}).transpose(1, 0, 2, 3)"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        X, K = vals[0], vals[1]
        (sh, sw), padding = n.param
        Xp = pad_object(X, padding)
        N, F, Ho, Wo = ctx.shape(n.shape)
        _, C, kh, kw = K.shape
        out = numpy.empty((N, F, Ho, Wo), dtype=object)
        bias = vals[2].reshape(-1) if len(vals) == 3 else None
        for i_n, f, i, j in numpy.ndindex(out.shape):
            total = sympy.Add(*[Xp[i_n, c, i * sh + p, j * sw + q] * K[f, c, p, q]
                                for c in range(C) for p in range(kh) for q in range(kw)])
            out[i_n, f, i, j] = total + bias[f] if bias is not None else total
        return out


@in_definitions("conv2d")
def conv2d(X: Node, K: Node, b: Node | None = None, stride: Any = 1, padding: Any = 0, *,
           bias: Node | None = None) -> Node:
    """Convolve images ``X`` (``N x C x H x W``) with kernels ``K`` (``F x C x kh x kw``), plus a bias per kernel.

    ``b`` (or ``bias=``) has shape ``F`` or ``1 x F x 1 x 1``; ``stride`` and
    ``padding`` are whole numbers or ``(rows, columns)`` pairs. The result is
    ``N x F x Ho x Wo`` with ``Ho = ⌊(H + 2P - kh)/s⌋ + 1`` (as in PyTorch). In a definition:
    ``"conv2d(X, K1, b1, stride=1, padding=1)"``.
    """
    if bias is not None:
        if b is not None:
            raise InputError("conv2d takes the bias once: as its third argument or as bias=, not both")
        b = bias
    if b is not None and not isinstance(b, Node):
        raise InputError(f"conv2d: the third argument is the bias, a node of shape F (one number per kernel), got "
                         f"{b!r}; give the stride and the padding by name: stride=2, padding=1")
    where = f"conv2d({short(X)}, {short(K)})" if isinstance(X, Node) and isinstance(K, Node) else "conv2d"
    param = (pair(stride, "stride", where, 1), pair(padding, "padding", where, 0))
    args = (X, K) if b is None else (X, K, b)
    return build("conv2d", args, param)


@register
class Conv2dInputGrad(WindowAdjoint):
    """The adjoint of ``conv2d`` for the images: ``G`` convolved with the kernels (the transposed convolution)."""

    name = "conv2d_input_grad"

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        G, K = n.args
        (sh, sw), (ph, pw), _ = n.param
        rows, cols = source_index("h", "p", ph, sh), source_index("w", "q", pw, sw)
        return _sum(p, "f,p,q", _product(p, indexed(p, G, "n", "f", rows, cols), indexed(p, K, "f", "c", "p", "q"))), 15

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        Gy, K = n.args
        param = n.param[:2]
        return [(Gy, conv2d(G, K, stride=param[0], padding=param[1])),
                (K, conv2d_kernel_grad(G, Gy, param, K.shape))]

    def lower(self, n: Node, em: Any) -> str:
        G, K = n.args
        F, C, kh, kw = K.shape
        stride, padding, image = n.param
        V = em.fresh("dcols")
        em.line(f"{V} = ({em.ref(K)}.reshape({F}, -1).T @ {_rows(em, G)}).reshape({C}, {kh}, {kw}, -1, "
                f"{G.shape[2]}, {G.shape[3]})")
        return emit_fold(em, lambda p, q: f"{V}[:, {p}, {q}]", image, (kh, kw), stride, padding, channels_first=True)

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        G, K = vals
        stride, padding, image = n.param
        F, C, kh, kw = K.shape
        N, _, Ho, Wo = G.shape
        V = numpy.empty((N, C, Ho, Wo, kh, kw), dtype=object)
        for i_n, c, i, j, p, q in numpy.ndindex(V.shape):
            V[i_n, c, i, j, p, q] = sympy.Add(*[G[i_n, f, i, j] * K[f, c, p, q] for f in range(F)])
        return fold_object(V, ctx.shape(image), (kh, kw), stride, padding)


def conv2d_input_grad(G: Node, K: Node, param: tuple, image: Shape) -> Node:
    """``∂L/∂X`` of ``conv2d(X, K)`` from its upstream gradient ``G`` (``image`` is the shape of ``X``)."""
    return adjoint_node("conv2d_input_grad", (G, K), param[:2], image)


@register
class Conv2dKernelGrad(WindowAdjoint):
    """The adjoint of ``conv2d`` for the kernels: the images correlated with the upstream gradient ``G``."""

    name = "conv2d_kernel_grad"

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        X, G = n.args
        rows, cols = _reads(n.param[0], n.param[1])
        return _sum(p, "n,i,j", _product(p, indexed(p, G, "n", "f", "i", "j"), indexed(p, X, "n", "c", rows, cols))), 15

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        X, Gy = n.args
        param = n.param[:2]
        return [(X, conv2d_input_grad(Gy, G, param, X.shape)),
                (Gy, conv2d(X, G, stride=param[0], padding=param[1]))]

    def lower(self, n: Node, em: Any) -> str:
        X, G = n.args
        F, C, kh, kw = n.shape
        cols = _columns(em, X, (kh, kw), n.param[0], n.param[1])
        return f"({_rows(em, G)} @ {cols}.T).reshape({F}, {C}, {kh}, {kw})"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        X, G = vals
        (sh, sw), padding, kernel = n.param
        Xp = pad_object(X, padding)
        N, F, Ho, Wo = G.shape
        out = numpy.empty(kernel, dtype=object)
        for f, c, p, q in numpy.ndindex(out.shape):
            out[f, c, p, q] = sympy.Add(*[G[i_n, f, i, j] * Xp[i_n, c, i * sh + p, j * sw + q]
                                          for i_n in range(N) for i in range(Ho) for j in range(Wo)])
        return out


def conv2d_kernel_grad(X: Node, G: Node, param: tuple, kernel: Shape) -> Node:
    """``∂L/∂K`` of ``conv2d(X, K)`` from its upstream gradient ``G`` (``kernel`` is the shape of ``K``)."""
    return adjoint_node("conv2d_kernel_grad", (X, G), param[:2], kernel)


@register
class Conv2dBiasGrad(WindowAdjoint):
    """The adjoint of the bias of ``conv2d``: the upstream gradient summed over the examples and the pixels."""

    name = "conv2d_bias_grad"

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        return _sum(p, "n,i,j", indexed(p, n.args[0], "n", "f", "i", "j")), 15

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        from derivkit.graph.ops.reduce import expand
        from derivkit.graph.ops.reshape import reshape

        Gy = n.args[0]
        return [(Gy, expand(reshape(G, (1, Gy.shape[1], 1, 1)), Gy.shape))]

    def lower(self, n: Node, em: Any) -> str:
        code = f"{_rows(em, n.args[0])}.sum(axis=1)"  # the rows of the kernel gradient's G, summed
        return code if len(n.shape) == 1 else f"{code}.reshape({em.shape_code(n.shape)})"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        G = vals[0]
        sums = [sympy.Add(*G[:, f].flat) for f in range(G.shape[1])]
        return numpy.array(sums, dtype=object).reshape(ctx.shape(n.shape))


def conv2d_bias_grad(G: Node, shape: Shape) -> Node:
    """``∂L/∂b`` of the bias of ``conv2d`` (``shape``: ``F`` or ``1 x F x 1 x 1``)."""
    return adjoint_node("conv2d_bias_grad", (G,), (), shape)
