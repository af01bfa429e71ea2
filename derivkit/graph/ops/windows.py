r"""Sliding windows over images: what convolution and pooling share.

Images are ``(N, C, H, W)`` tensors (a batch of ``N`` images of ``C`` channels,
``H`` rows and ``W`` columns). A window of ``kh x kw`` pixels slides over each
image with a stride ``s`` after ``P`` rows and columns of zeros are added on
every side (the padding): output position ``(i, j)`` sees the pixels
``(i s + p - P, j s + q - P)`` for ``0 <= p < kh`` and ``0 <= q < kw``. There
are ``Ho = ⌊(H + 2P - kh)/s⌋ + 1`` window positions down the image and
``Wo = ⌊(W + 2P - kw)/s⌋ + 1`` across; when the stride does not divide
``H + 2P - kh``, the last rows (columns) that do not fill a window are left
out, as in PyTorch.

This module owns that arithmetic (:func:`window_sizes`, with the errors for
sizes that do not fit), the index notation the records print
(``X[n,c,2i+p-1,2j+q-1]``), and the generated code that cuts an image into its
windows for im2col (:func:`emit_windows`, a strided view, no copy), picks the
pixel at one offset of every window (:func:`window_slice`, for pooling) and
adds windows back into an image (:func:`emit_fold`, the adjoint: a loop over
the ``kh kw`` offsets of a window, never over pixels).

>>> window_sizes((8, 8), (3, 3), (1, 1), (1, 1), "conv2d(X, K)")
(8, 8)
>>> window_sizes((8, 8), (3, 3), (2, 2), (1, 1), "conv2d(X, K, stride=2, padding=1)")
(4, 4)
>>> window_sizes((4, 4), (5, 5), (1, 1), (0, 0), "conv2d(X, K)")
Traceback (most recent call last):
...
derivkit.errors.ShapeError: conv2d(X, K): the 5 x 5 windows are larger than the 4 x 4 image: 5 rows of window, 4 rows of image
>>> offset_index("i", 2, "p", 1), offset_index("j", 1, "q", 0), source_index("h", "p", 1, 2)
('2i+p-1', 'j+q', '(h-p+1)/2')
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy
import sympy

from derivkit.errors import ShapeError
from derivkit.graph.node import Node, Op, make, short
from derivkit.graph.shapes import shape_text

__all__ = ["Pair", "WindowAdjoint", "adjoint_node", "pair", "window_sizes", "require_images", "offset_index",
           "source_index", "indexed", "pair_text", "options_text", "emit_padded", "emit_windows", "emit_fold",
           "window_slice", "pad_object", "fold_object"]

Pair = tuple[int, int]


def _shown(value: Any) -> str:
    """A value as the user wrote it: ``1.5``, not SymPy's ``3/2`` that a definition string reads it as."""
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_shown(v) for v in value) + ")"
    if isinstance(value, sympy.Rational) and not value.is_Integer:
        return f"{float(value):g}"
    return repr(value) if not isinstance(value, sympy.Basic) else str(value)


def pair(value: Any, what: str, where: str, minimum: int) -> Pair:
    """A size option (stride, padding, pool size) as ``(rows, columns)``: an int or a pair of ints."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    ok = len(items) == 2 and all(
        isinstance(v, (int, numpy.integer, sympy.Integer)) and not isinstance(v, bool) and int(v) >= minimum
        for v in items)
    if not ok:
        least = ", 0 or more" if minimum == 0 else f" of at least {minimum}"
        raise ShapeError(f"{where}: the {what} must be a whole number{least} (or a pair such as (2, 1) for rows "
                         f"and columns), got {_shown(value)}")
    return int(items[0]), int(items[1])


def pair_text(value: Pair) -> str:
    """``(2, 2)`` -> ``'2'``, ``(2, 1)`` -> ``'(2, 1)'`` (as a definition writes it)."""
    return str(value[0]) if value[0] == value[1] else f"({value[0]}, {value[1]})"


def options_text(**options: tuple[Pair, Pair]) -> str:
    """``, stride=2, padding=1`` for the options that differ from their default."""
    return "".join(f", {name}={pair_text(value)}" for name, (value, default) in options.items() if value != default)


def require_images(X: Node, where: str, what: str = "images") -> None:
    """``X`` is a float tensor ``N x C x H x W`` with channels and image sizes given as numbers."""
    if X.rank != 4:
        raise ShapeError(f"{where} takes {what} of shape N x C x H x W (examples, channels, rows, columns), but "
                         f"{short(X)} has shape {shape_text(X.shape)}")
    if not all(isinstance(d, int) for d in X.shape[1:]):
        raise ShapeError(f"{where}: the channels, rows and columns of {short(X)} must be numbers (only the batch "
                         f"size may be a name such as N), got {shape_text(X.shape)}")


def window_sizes(size: Sequence[int], kernel: Pair, stride: Pair, padding: Pair, where: str) -> Pair:
    """The output rows and columns, ``⌊(H + 2P - kh)/s⌋ + 1``, of windows sliding over a padded image."""
    out = []
    for axis, (n, k, s, p) in enumerate(zip(size, kernel, stride, padding)):
        padded = n + 2 * p
        if k > padded:
            def what(count: int) -> str:
                return ("row" if axis == 0 else "column") + ("s" if count != 1 else "")

            padded_size = f" ({size[0] + 2 * padding[0]} x {size[1] + 2 * padding[1]})"
            image = f" with its padding{padded_size}" if padding != (0, 0) else ""
            raise ShapeError(f"{where}: the {kernel[0]} x {kernel[1]} windows are larger than the {size[0]} x "
                             f"{size[1]} image{image}: {k} {what(k)} of window, {padded} {what(padded)} of "
                             f"{'padded ' if image else ''}image")
        out.append((padded - k) // s + 1)
    return out[0], out[1]


class WindowAdjoint(Op):
    """A backward operation of convolution or pooling: its parameter ends with the shape of its result."""

    big_operator = True
    needs_variable = True

    def shape(self, args: tuple, param: Any) -> tuple:
        return param[-1]


def adjoint_node(op: str, args: Sequence[Node], param: tuple, shape: Sequence[Any],
                 vanishes_with: Sequence[Node] | None = None) -> Node:
    """The node ``op(args)`` of ``shape`` (appended to ``param``), or 0 when one of ``vanishes_with`` is 0."""
    from derivkit.graph.ops.leaves import zeros

    if any(a.op == "zeros" for a in (args if vanishes_with is None else vanishes_with)):
        return zeros(tuple(shape))
    return make(op, tuple(args), tuple(shape), param=tuple(param) + (tuple(shape),))


# -- the index notation ----------------------------------------------------------

def _signed(value: int) -> str:
    return "" if value == 0 else (f"+{value}" if value > 0 else f"-{-value}")


def offset_index(out: str, stride: int, offset: str, padding: int) -> str:
    """The input position an output position reads: ``out s + offset - P`` (``2i+p-1``)."""
    return f"{'' if stride == 1 else stride}{out}+{offset}{_signed(-padding)}"


def source_index(position: str, offset: str, padding: int, stride: int) -> str:
    """The output position an input position was read by: ``(h - offset + P)/s`` (``(h-p+1)/2``)."""
    inner = f"{position}-{offset}{_signed(padding)}"
    return inner if stride == 1 else f"({inner})/{stride}"


def indexed(p: Any, n: Node, *indices: str) -> str:
    """``X[n,c,i+p,j+q]``: a node's entry, in text or LaTeX (brackets in both, so ``K_{1}[f,c,p,q]`` reads)."""
    return f"{p.sub(n, 91)}[{','.join(indices)}]"


# -- generated code ------------------------------------------------------------------

def emit_padded(em: Any, X: Node, padding: Pair) -> tuple[str, str]:
    """A variable holding ``X`` with ``padding`` rows and columns of zeros on each side, and its layout.

    The layout is ``"nchw"`` (``X`` itself, without padding) or ``"cnhw"``: the
    padded copy keeps each channel of the whole batch together, which is the
    order im2col reads it in.
    """
    x = em.ref_name(X)
    if padding == (0, 0):
        return x, "nchw"

    def pad() -> str:
        out = em.fresh("xp")
        (ph, pw), (N, C, H, W) = padding, X.shape
        em.line(f"{out} = {em.xp}.zeros(({C}, {em.dim(N)}, {H + 2 * ph}, {W + 2 * pw}), dtype=DTYPE)")
        em.line(f"{out}[:, :, {ph}:{ph + H}, {pw}:{pw + W}] = {x}.transpose(1, 0, 2, 3)")
        return out

    return em.memo(("pad", em.key(X), padding), pad), "cnhw"


def _times(factor: int, code: str) -> str:
    return code if factor == 1 else f"{factor} * {code}"


def emit_windows(em: Any, X: Node, kernel: Pair, stride: Pair, padding: Pair) -> str:
    """A variable holding every window of ``X`` padded, a strided view ``(C, kh, kw, N, Ho, Wo)`` (no copy).

    Its reshape to ``C kh kw x N Ho Wo`` is im2col, with the rows in memory
    order. The view is made with ``as_strided`` from the sizes the shape rule
    checked, which the generated code also checks on the data before it runs.
    """
    xp, layout = emit_padded(em, X, padding)

    def view() -> str:
        out, st = em.fresh("win"), em.fresh("st")
        (N, C, H, W), (kh, kw), (sh, sw) = X.shape, kernel, stride
        Ho, Wo = window_sizes((H, W), kernel, stride, padding, "windows")
        n, c = ("0", "1") if layout == "nchw" else ("1", "0")
        em.line(f"{st} = {xp}.strides")
        em.line(f"{out} = {em.xp}.lib.stride_tricks.as_strided({xp}, ({C}, {kh}, {kw}, {em.dim(N)}, {Ho}, {Wo}), "
                f"({st}[{c}], {st}[2], {st}[3], {st}[{n}], {_times(sh, f'{st}[2]')}, {_times(sw, f'{st}[3]')}), "
                "writeable=False)")
        return out

    return em.memo(("windows", em.key(X), kernel, stride, padding), view)


def window_slice(p: Any, q: Any, out: Pair, stride: Pair) -> str:
    """``[:, :, p:p + s(Ho-1)+1:s, ...]``: the pixel at offset ``(p, q)`` of every window (``p`` an int or a name)."""
    parts = []
    for start, count, step in ((p, out[0], stride[0]), (q, out[1], stride[1])):
        span = step * (count - 1) + 1
        stop = start + span if isinstance(start, int) else f"{start} + {span}"
        parts.append(f"{start}:{stop}" + (f":{step}" if step != 1 else ""))
    return f"[:, :, {parts[0]}, {parts[1]}]"


def emit_fold(em: Any, part: Callable[[str, str], str], image: Sequence[Any], kernel: Pair, stride: Pair,
              padding: Pair, channels_first: bool = False,
              inside: Callable[[str, str], Sequence[str]] = lambda p, q: ()) -> str:
    """Code for the image ``(N, C, H, W)`` that adds every window back where it was read from (col2im).

    ``part(p, q)`` is the code of what the windows hold at offset ``(p, q)``:
    an ``(N, C, Ho, Wo)`` array, or ``(C, N, Ho, Wo)`` with ``channels_first``;
    ``inside(p, q)`` are statements to run before it at each offset. The
    generated loop runs over the ``kh kw`` offsets of a window (each step one
    strided slice of the whole batch), never over pixels. Where windows
    overlap, their entries add up; pixels no window reads get 0; the padding is
    cut off at the end.
    """
    N, C, H, W = image
    (kh, kw), (ph, pw) = kernel, padding
    Ho, Wo = window_sizes((H, W), kernel, stride, padding, "fold")
    Hp, Wp = H + 2 * ph, W + 2 * pw
    tiled = stride == kernel and (Ho * kh, Wo * kw) == (Hp, Wp)  # every pixel in exactly one window
    out = em.fresh("fold")
    first, second = (C, em.dim(N)) if channels_first else (em.dim(N), C)
    em.line(f"{out} = {em.xp}.{'empty' if tiled else 'zeros'}(({first}, {second}, {Hp}, {Wp}), dtype=DTYPE)")
    em.line(f"for _p in range({kh}):")
    em.line(f"    for _q in range({kw}):")
    for statement in inside("_p", "_q"):
        em.line(f"        {statement}")
    em.line(f"        {out}{window_slice('_p', '_q', (Ho, Wo), stride)} {'=' if tiled else '+='} {part('_p', '_q')}")
    crop = f"{out}[:, :, {ph}:{ph + H}, {pw}:{pw + W}]" if padding != (0, 0) else out
    return f"{crop}.transpose(1, 0, 2, 3)" if channels_first else crop


# -- the scalar forms (object arrays of SymPy numbers) --------------------------------

def pad_object(X: numpy.ndarray, padding: Pair) -> numpy.ndarray:
    """An object array padded with SymPy zeros on the last two axes."""
    ph, pw = padding
    out = numpy.full(X.shape[:2] + (X.shape[2] + 2 * ph, X.shape[3] + 2 * pw), sympy.S.Zero, dtype=object)
    out[:, :, ph:ph + X.shape[2], pw:pw + X.shape[3]] = X
    return out


def fold_object(V: numpy.ndarray, image: Sequence[int], kernel: Pair, stride: Pair,
                padding: Pair) -> numpy.ndarray:
    """:func:`emit_fold` on object arrays, one pixel at a time (the obvious loops)."""
    N, C, H, W = image
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    out = numpy.full((N, C, H + 2 * ph, W + 2 * pw), sympy.S.Zero, dtype=object)
    for n, c, i, j, p, q in numpy.ndindex(V.shape):
        out[n, c, i * sh + p, j * sw + q] += V[n, c, i, j, p, q]
    return out[:, :, ph:ph + H, pw:pw + W]
