"""Shapes of graph nodes: tuples of sizes, each an int or a name such as ``N``.

A shape has rank 0 (a number, only for constants) to 4. Sizes are positive
ints or SymPy symbols (the batch size ``N``); products of them appear after a
``flatten``. Broadcasting follows NumPy: shapes are aligned on their last axes
and a size 1 stretches. These functions are the only place that knows how
shapes combine; every operation's shape rule calls them.

>>> N = sympy.Symbol("N")
>>> shape_text((N, 3)), shape_text((N, 3, 10)), shape_text((N,)), shape_text(())
('N x 3', 'N x 3 x 10', 'N', 'a number')
>>> broadcast_shapes((N, 3), (1, 3))
(N, 3)
>>> as_shape(("N", 2), "X")
(N, 2)
"""

from __future__ import annotations

import keyword
from typing import Any, Sequence, Union

import sympy

from derivkit.errors import ShapeError

__all__ = ["Dim", "Shape", "MAX_RANK", "as_dim", "as_shape", "shape_text", "broadcast_shapes", "is_scalar_shape",
           "size_of", "dims_of", "fixed", "same_dim", "normalize_axis"]

Dim = Union[int, sympy.Expr]
Shape = tuple  # of Dim

#: Tensors have rank 1 to 4 (constants are rank 0).
MAX_RANK = 4


def as_dim(d: Any, what: str) -> Dim:
    """One size: a positive int or a name (``"N"``), as an int or a Symbol."""
    if isinstance(d, sympy.Symbol):
        return d
    if isinstance(d, sympy.Integer) and d > 0:
        return int(d)
    if isinstance(d, sympy.Expr) and d.free_symbols and d.is_positive is not False:
        return d
    if isinstance(d, str) and d.isidentifier() and not keyword.iskeyword(d) and not d.startswith("_"):
        return sympy.Symbol(d)
    if isinstance(d, int) and not isinstance(d, bool) and d >= 1:
        return d
    raise ShapeError(f"the shape of {what} must be sizes that are positive integers or names such as N, got {d!r}")


def as_shape(shape: Any, what: str, *, min_rank: int = 1, max_rank: int = MAX_RANK) -> Shape:
    """A shape from a tuple or list of sizes (or one int, a column: ``3`` -> ``(3, 1)``)."""
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape, 1)
    if not isinstance(shape, (tuple, list)) or not min_rank <= len(shape) <= max_rank:
        ranks = f"{min_rank} to {max_rank}" if min_rank != max_rank else str(min_rank)
        raise ShapeError(f"the shape of {what} must be a tuple of {ranks} sizes, such as (N, 3), got {shape!r}")
    return tuple(as_dim(d, what) for d in shape)


def shape_text(shape: Shape) -> str:
    """``(N, 3)`` -> ``'N x 3'``."""
    if not shape:
        return "a number"
    return " x ".join(str(d) for d in shape)


def is_scalar_shape(shape: Shape) -> bool:
    """A number or a 1 x 1 (x 1 ...) node."""
    return all(d == 1 for d in shape)


def same_dim(a: Dim, b: Dim) -> bool:
    """Whether two sizes are equal (``3*N`` and ``N*3`` are)."""
    return a == b or sympy.expand(sympy.sympify(a) - sympy.sympify(b)) == 0


def broadcast_shapes(a: Shape, b: Shape) -> Shape | None:
    """The NumPy broadcast of two shapes, or None when they do not fit."""
    rank = max(len(a), len(b))
    pa = (1,) * (rank - len(a)) + tuple(a)
    pb = (1,) * (rank - len(b)) + tuple(b)
    out = []
    for da, db in zip(pa, pb):
        if da == db or db == 1:
            out.append(da)
        elif da == 1:
            out.append(db)
        else:
            return None
    return tuple(out)


def size_of(shape: Shape) -> sympy.Expr:
    """The number of entries, as a SymPy expression (``N*3``)."""
    out = sympy.S.One
    for d in shape:
        out *= sympy.sympify(d)
    return out


def dims_of(shapes: Sequence[Shape]) -> set[str]:
    """The size names used in some shapes."""
    return {str(s) for shape in shapes for d in shape if isinstance(d, sympy.Expr) for s in d.free_symbols}


def fixed(shape: Shape) -> bool:
    """Whether every size is a number."""
    return all(isinstance(d, int) for d in shape)


def normalize_axis(axis: Any, rank: int, what: str) -> int:
    """An axis as a non-negative int below ``rank`` (``-1`` is the last)."""
    if isinstance(axis, bool) or not isinstance(axis, (int, sympy.Integer)):
        raise ShapeError(f"{what}: the axis must be an integer, got {axis!r}")
    axis = int(axis)
    if not -rank <= axis < rank:
        raise ShapeError(f"{what}: axis {axis} does not exist for a node of rank {rank} (axes 0 to {rank - 1})")
    return axis % rank
