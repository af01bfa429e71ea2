r"""Matrix operations: the product ``A B``, the transpose, the trace, the inverse and ``log |det A|``.

The backward rules are the matrix-calculus identities a course derives:
``∂(A B)``: ``G Bᵀ`` for ``A`` and ``Aᵀ G`` for ``B``; ``∂ tr(A) = I``;
``∂ A⁻¹``: ``-A⁻ᵀ G A⁻ᵀ``; ``∂ log|det A| = A⁻ᵀ``.

>>> from derivkit.graph.ops.leaves import leaf
>>> A = leaf("param", "A", (3, 3)); x = leaf("input", "x", (3, 1))
>>> print(x.T @ A @ x, "|", trace(A), "|", inv(A), "|", logdet(A))
x^T A x | tr(A) | A^(-1) | log|det(A)|
"""

from __future__ import annotations

from typing import Any

import numpy
import sympy

from derivkit.graph.node import Node, Op, build, in_definitions, register, require, short
from derivkit.graph.ops.arith import scale, times
from derivkit.graph.ops.leaves import eye, is_zero, zeros
from derivkit.graph.shapes import Shape, same_dim, shape_text

__all__ = ["matmul", "transpose", "trace", "inv", "logdet"]


def _rank2(a: Node, what: str) -> None:
    require(a.rank == 2, lambda: f"{what} needs a matrix, but {short(a)} has shape {shape_text(a.shape)}")


def _square(a: Node, what: str) -> None:
    require(a.rank == 2 and same_dim(a.shape[0], a.shape[1]), lambda:
            f"{what} needs a square matrix, but {short(a)} has shape {shape_text(a.shape)}")


@register
class MatMul(Op):
    name = "matmul"
    names_adjoint = True

    def shape(self, args: tuple, param: Any) -> Shape:
        a, b = args
        if not a.shape or not b.shape:  # a number times a matrix
            return b.shape or a.shape
        _rank2(a, "a matrix product")
        _rank2(b, "a matrix product")
        require(same_dim(a.shape[1], b.shape[0]), lambda:
                f"cannot multiply {short(a)} ({shape_text(a.shape)}) by {short(b)} ({shape_text(b.shape)}): "
                f"a matrix product needs the columns of the first ({a.shape[1]}) to equal the rows of the second "
                f"({b.shape[0]})")
        return (a.shape[0], b.shape[1])

    def simplify(self, args: tuple, param: Any, shape: Shape) -> Node | None:
        a, b = (_number_of(x) for x in args)
        if is_zero(a) or is_zero(b):
            return zeros(shape)
        if a.op == "const" and (not b.shape or b.shape[0] == 1):  # a 1 x 1 number times a row
            return scale(a.param, b)
        if b.op == "const" and (not a.shape or a.shape[1] == 1):
            return scale(b.param, a)
        if a.op == "eye":
            return b
        if b.op == "eye":
            return a
        return None

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        return f"{p.sub(n.args[0], 20, 'matmul')} {p.sub(n.args[1], 20, 'matmul')}", 20

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        A, B = n.args
        return [(A, matmul(G, transpose(B))), (B, matmul(transpose(A), G))]

    def lower(self, n: Node, em: Any) -> str:
        return f"{em.ref(n.args[0])} @ {em.ref(n.args[1])}"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        return vals[0].dot(vals[1])

    def to_sympy(self, n: Node, args: list) -> Any:
        return args[0] * args[1]


def _number_of(n: Node) -> Node:
    """A number broadcast to 1 x 1 is that number."""
    if n.op == "expand" and n.args[0].op == "const" and all(d == 1 for d in n.shape):
        return n.args[0]
    return n


def matmul(a: Node, b: Node) -> Node:
    """The matrix product ``a b``; the columns of ``a`` must equal the rows of ``b``."""
    return build("matmul", (a, b))


@register
class Transpose(Op):
    name = "transpose"

    def shape(self, args: tuple, param: Any) -> Shape:
        (a,) = args
        if not a.shape:
            return ()
        _rank2(a, "a transpose")
        return (a.shape[1], a.shape[0])

    def simplify(self, args: tuple, param: Any, shape: Shape) -> Node | None:
        (a,) = args
        if a.op == "zeros":
            return zeros(shape)
        if a.op in ("const", "eye"):
            return a
        if a.op == "transpose" and a.name is None:
            return a.args[0]
        if a.op == "matmul" and a.name is None:  # (P Q)^T = Q^T P^T
            return matmul(transpose(a.args[1]), transpose(a.args[0]))
        if a.op == "expand" and a.args[0].op == "const":
            from derivkit.graph.ops.reduce import expand

            return expand(a.args[0], shape)
        return None

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        base = p.sub(n.args[0], 91)
        return (base + "^{T}" if p.latex else base + "^T"), 90

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        return [(n.args[0], transpose(G))]

    def lower(self, n: Node, em: Any) -> str:
        return f"{em.ref(n.args[0])}.T"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        return vals[0].T

    def to_sympy(self, n: Node, args: list) -> Any:
        return args[0].T


@in_definitions("transpose")
def transpose(a: Node) -> Node:
    """The transpose ``aᵀ``."""
    return build("transpose", (a,))


@register
class Trace(Op):
    name = "trace"

    def shape(self, args: tuple, param: Any) -> Shape:
        _square(args[0], "the trace")
        return (1, 1)

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        inner = p.text(n.args[0])
        return (rf"\operatorname{{tr}}\left({inner}\right)" if p.latex else f"tr({inner})"), 90

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        (A,) = n.args
        return [(A, times(G, eye(A.shape[0])))]

    def lower(self, n: Node, em: Any) -> str:
        return f"{em.xp}.trace({em.ref(n.args[0])}).reshape(1, 1)"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        return numpy.array([[sum(vals[0][i, i] for i in range(vals[0].shape[0]))]], dtype=object)

    def to_sympy(self, n: Node, args: list) -> Any:
        return sympy.Trace(args[0]) * sympy.OneMatrix(1, 1)


@in_definitions("trace", "tr")
def trace(a: Node) -> Node:
    """``tr(a)``, the sum of the diagonal of a square matrix (a 1 x 1 node)."""
    return build("trace", (a,))


@register
class Inverse(Op):
    name = "inv"

    def shape(self, args: tuple, param: Any) -> Shape:
        _square(args[0], "the inverse")
        return args[0].shape

    def simplify(self, args: tuple, param: Any, shape: Shape) -> Node | None:
        (a,) = args
        if a.op == "eye":
            return a
        if a.op == "inv" and a.name is None:
            return a.args[0]
        return None

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        base = p.sub(n.args[0], 91)
        return (base + "^{-1}" if p.latex else base + "^(-1)"), 90

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        (A,) = n.args
        Yt = transpose(n)
        return [(A, scale(-1, matmul(matmul(Yt, G), Yt)))]

    def lower(self, n: Node, em: Any) -> str:
        return f"{em.xp}.linalg.inv({em.ref(n.args[0])})"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        return numpy.array(sympy.Matrix(vals[0].tolist()).inv().tolist(), dtype=object)

    def to_sympy(self, n: Node, args: list) -> Any:
        return args[0].I


@in_definitions("inv")
def inv(a: Node) -> Node:
    """The inverse ``a⁻¹`` of a square matrix."""
    return build("inv", (a,))


@register
class LogDet(Op):
    name = "logdet"

    def shape(self, args: tuple, param: Any) -> Shape:
        _square(args[0], "logdet")
        return (1, 1)

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        inner = p.text(n.args[0])
        if p.latex:
            return rf"\log\left|\det\left({inner}\right)\right|", 90
        return f"log|det({inner})|", 90

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        (A,) = n.args
        return [(A, times(G, transpose(inv(A))))]

    def lower(self, n: Node, em: Any) -> str:
        return f"{em.xp}.linalg.slogdet({em.ref(n.args[0])})[1].reshape(1, 1)"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        return numpy.array([[sympy.log(sympy.Abs(sympy.Matrix(vals[0].tolist()).det()))]], dtype=object)

    def to_sympy(self, n: Node, args: list) -> Any:
        return sympy.log(sympy.Abs(sympy.Determinant(args[0]))) * sympy.OneMatrix(1, 1)


@in_definitions("logdet")
def logdet(a: Node) -> Node:
    """``log |det a|`` of a square matrix (a 1 x 1 node); its gradient is ``a⁻ᵀ``."""
    return build("logdet", (a,))

