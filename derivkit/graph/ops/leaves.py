"""Leaves: inputs, parameters, constants, zeros, the identity, and the adjoint symbol ``G``.

>>> print(const(2), zeros((2, 3)).shape, eye(3).shape)
2 (2, 3) (3, 3)
"""

from __future__ import annotations

from typing import Any

import numpy
import sympy

from derivkit.graph.node import Node, Op, make, register
from derivkit.graph.shapes import Shape, as_shape

__all__ = ["leaf", "const", "zeros", "eye", "is_zero", "is_const"]


class _Leaf(Op):
    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        return []


class _Named(_Leaf):
    leaf = True

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        return p.name(str(n.name)), 100

    def lower(self, n: Node, em: Any) -> str:
        return str(n.name)

    def to_sympy(self, n: Node, args: list) -> Any:
        return sympy.MatrixSymbol(n.name, *n.shape)


@register
class Input(_Named):
    """Data: ``X``, ``Y``, integer indices and labels."""

    name = "input"


@register
class Param(_Named):
    """A trainable parameter: ``W1``, ``b1``."""

    name = "param"


@register
class Adjoint(_Named):
    """The symbol ``G`` for the gradient arriving at a node (in printed local factors)."""

    name = "adjoint"


def leaf(kind: str, name: str, shape: Shape, dtype: str = "float") -> Node:
    """An input, parameter or adjoint named ``name`` (sizes may be names: ``("N", 2)``)."""
    return make(kind, (), as_shape(shape, name), name=name, dtype=dtype)


@register
class Const(_Leaf):
    """A number (rank 0: it broadcasts to any shape)."""

    name = "const"

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        return p.scalar(n.param), (10 if n.param.could_extract_minus_sign() else 100)

    def lower(self, n: Node, em: Any) -> str:
        return em.scalar(n.param)

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        return numpy.array(ctx.size(n.param), dtype=object)

    def to_sympy(self, n: Node, args: list) -> Any:
        return n.param * sympy.OneMatrix(1, 1)


def const(value: Any) -> Node:
    """A scalar constant, which broadcasts."""
    return make("const", (), (), param=sympy.sympify(value))


@register
class Zeros(_Leaf):
    """A zero tensor (what a gradient through a step activation is)."""

    name = "zeros"

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        return "0", 100

    def lower(self, n: Node, em: Any) -> str:
        return f"{em.xp}.zeros({em.shape_code(n.shape)}, dtype=DTYPE)"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        return numpy.full(ctx.shape(n.shape), sympy.S.Zero, dtype=object)

    def to_sympy(self, n: Node, args: list) -> Any:
        return sympy.ZeroMatrix(*n.shape)


def zeros(shape: Shape) -> Node:
    """A zero tensor of ``shape``."""
    return make("zeros", (), tuple(shape))


@register
class Eye(_Leaf):
    """The identity matrix ``I`` (n x n)."""

    name = "eye"

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        return (r"I" if p.latex else "I"), 100

    def lower(self, n: Node, em: Any) -> str:
        return f"{em.xp}.eye({em.dim(n.shape[0])}, dtype=DTYPE)"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        size = ctx.shape(n.shape)[0]
        out = numpy.empty((size, size), dtype=object)
        for i in range(size):
            for j in range(size):
                out[i, j] = sympy.S.One if i == j else sympy.S.Zero
        return out

    def to_sympy(self, n: Node, args: list) -> Any:
        return sympy.Identity(n.shape[0])


def eye(size: Any) -> Node:
    """The identity matrix of ``size``."""
    return make("eye", (), (size, size))


def is_zero(n: Node) -> bool:
    """A zero tensor or the number 0."""
    return n.op == "zeros" or (n.op == "const" and n.param == 0)


def is_const(n: Node, value: Any = None) -> bool:
    """A number (equal to ``value`` when given)."""
    return n.op == "const" and (value is None or n.param == value)
