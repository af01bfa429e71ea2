"""Entrywise arithmetic with NumPy broadcasting: ``+``, ``-``, ``∘``, ``/`` and a number times a node.

A bias row ``b`` (1 x k) broadcasts over the examples; the adjoint of a
broadcast operand is the gradient summed over the axes it was stretched along
(``Σ_e G`` for a bias).

>>> from derivkit.graph.ops.leaves import leaf
>>> A = leaf("input", "A", (2, 3)); b = leaf("param", "b", (1, 3))
>>> print(A + b, "|", A - 2 * A, "|", A * b, "|", (A + b) / A)
A + b | A - 2 A | A ∘ b | (A + b) / A
"""

from __future__ import annotations

from typing import Any

import numpy
import sympy

from derivkit.errors import ShapeError
from derivkit.graph.node import Node, Op, build, make, register, short
from derivkit.graph.ops.leaves import const, is_const, is_zero, zeros
from derivkit.graph.shapes import Shape, broadcast_shapes, shape_text

__all__ = ["add", "sub", "hadamard", "divide", "scale", "unbroadcast", "times"]


def _broadcast(args: tuple, sym: str) -> Shape:
    a, b = args
    shape = broadcast_shapes(a.shape, b.shape)
    if shape is None:
        raise ShapeError(
            f"cannot combine {short(a)} ({shape_text(a.shape)}) {sym} {short(b)} ({shape_text(b.shape)}): "
            "the shapes must be equal, or one of them a single row (bias) or column")
    return shape


def unbroadcast(G: Node, shape: Shape) -> Node:
    """Sum ``G`` down to ``shape`` (the adjoint of a broadcast)."""
    from derivkit.graph.ops.reduce import total

    if tuple(G.shape) == tuple(shape) or (G.op == "const" and not G.shape):
        return G  # a number stays a number: it broadcasts
    if not shape:  # a number: every entry contributes
        return total(G)
    extra = len(G.shape) - len(shape)
    if all(d == 1 for d in shape) and all(d != 1 for d in G.shape) and extra == 0:
        return total(G)
    for axis in range(extra):
        G = total(G, 0, keepdims=False)
    for axis, d in enumerate(shape):
        if d == 1 and G.shape[axis] != 1:
            G = total(G, axis)
    return G


def times(G: Node, contribution: Node) -> Node:
    """``G`` (the adjoint of a scalar) times a contribution."""
    if G.op == "const":
        return scale(G.param, contribution)
    return hadamard(G, contribution)


def _without_broadcasts(args: tuple, shape: Shape) -> tuple | None:
    """The operands with an explicit broadcast dropped where the other operand has the result's shape."""
    a, b = args
    if a.op == "expand" and a.name is None and tuple(b.shape) == tuple(shape):
        a = a.args[0]
    if b.op == "expand" and b.name is None and tuple(a.shape) == tuple(shape):
        b = b.args[0]
    return (a, b) if (a, b) != args else None


class _Binary(Op):
    """An entrywise binary operation: broadcasting shape rule, NumPy operator ``code``, ``combine`` on values."""

    symbol = ""  # how it reads in a message about shapes
    code = ""

    def shape(self, args: tuple, param: Any) -> Shape:
        return _broadcast(args, self.symbol)

    def simplify(self, args: tuple, param: Any, shape: Shape) -> Node | None:
        plain = _without_broadcasts(args, shape)
        if plain is not None:
            return build(self.name, plain)
        return self.rules(args[0], args[1], shape)

    def rules(self, a: Node, b: Node, shape: Shape) -> Node | None:
        """The operation's own simplifications."""
        return None

    def lower(self, n: Node, em: Any) -> str:
        return f"{em.ref(n.args[0])} {self.code} {em.ref(n.args[1])}"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        a, b = numpy.broadcast_arrays(*vals)
        return self.combine(a, b)

    def combine(self, a: Any, b: Any) -> Any:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def to_sympy(self, n: Node, args: list) -> Any:
        from derivkit.graph.sympy_form import broadcast_to

        a, b = (broadcast_to(x, n.shape) for x in args)
        return self.sympy_op(a, b)

    def sympy_op(self, a: Any, b: Any) -> Any:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


@register
class Add(_Binary):
    name = "add"
    names_adjoint = True
    code = "+"

    symbol = "+"

    def rules(self, a: Node, b: Node, shape: Shape) -> Node | None:
        if a.op == "const" and b.op == "const":
            return const(a.param + b.param)
        if is_zero(b) and a.shape == shape:
            return a
        if is_zero(a) and b.shape == shape:
            return b
        if a is b:
            return scale(2, a)
        if a.op == "transpose" and a.name is None and a.args[0] is b:  # A^T + A -> A + A^T
            return add(b, a)
        if b.op == "scale" and b.name is None and b.param.could_extract_minus_sign():  # a + (-c) b = a - c b
            return sub(a, scale(-b.param, b.args[0]))
        if a.op == "matmul" and b.op == "matmul" and a.name is None and b.name is None:
            (p, q), (r, s) = a.args, b.args
            if q is s:  # P x + R x -> (P + R) x
                return _matmul(add(p, r), q)
            if p is r:  # x Q + x S -> x (Q + S)
                return _matmul(p, add(q, s))
        return None

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        left, right = p.sub(n.args[0], 10, ("add", "sub")), p.sub(n.args[1], 10, "add")
        if right.startswith("-"):  # a + (-t + ...) = a - t + ...
            return f"{left} - {right[1:].lstrip()}", 10
        return f"{left} + {right}", 10

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        return [(a, unbroadcast(G, a.shape)) for a in n.args]

    def combine(self, a: Any, b: Any) -> Any:
        return a + b

    def sympy_op(self, a: Any, b: Any) -> Any:
        return a + b


@register
class Sub(_Binary):
    name = "sub"
    names_adjoint = True
    code = "-"

    symbol = "-"

    def rules(self, a: Node, b: Node, shape: Shape) -> Node | None:
        if is_zero(b) and a.shape == shape:
            return a
        if is_zero(a) and b.shape == shape:
            return scale(-1, b)
        if b.op == "scale" and b.name is None and b.param == -1:  # a - (-b) = a + b
            return add(a, b.args[0])
        return None

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        return f"{p.sub(n.args[0], 10, ('add', 'sub'))} - {p.sub(n.args[1], 10)}", 10

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        a, b = n.args
        return [(a, unbroadcast(G, a.shape)), (b, unbroadcast(scale(-1, G), b.shape))]

    def combine(self, a: Any, b: Any) -> Any:
        return a - b

    def sympy_op(self, a: Any, b: Any) -> Any:
        return a - b


@register
class Hadamard(_Binary):
    name = "hadamard"
    code = "*"

    symbol = "∘"

    def rules(self, a: Node, b: Node, shape: Shape) -> Node | None:
        if is_zero(a) or is_zero(b):
            return zeros(shape)
        merged = _merge_functions(a, b)
        if merged is not None:
            return merged
        if a.op == "scale" and a.name is None and a.param == -1:  # (-A) ∘ B = -(A ∘ B)
            return scale(-1, hadamard(a.args[0], b))
        if b.op == "scale" and b.name is None and b.param == -1:
            return scale(-1, hadamard(a, b.args[0]))
        a2 = a.args[0] if a.op == "expand" and a.args[0].op == "const" else a
        b2 = b.args[0] if b.op == "expand" and b.args[0].op == "const" else b
        if a2.op == "const" and b2.shape == shape:
            return scale(a2.param, b2)
        if b2.op == "const" and a2.shape == shape:
            return scale(b2.param, a2)
        if a2 is not a or b2 is not b:
            return hadamard(a2, b2)
        return None

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        sym = r" \circ " if p.latex else " ∘ "
        return f"{p.sub(n.args[0], 20, 'hadamard')}{sym}{p.sub(n.args[1], 20, 'hadamard')}", 20

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        a, b = n.args
        return [(a, unbroadcast(hadamard(G, b), a.shape)), (b, unbroadcast(hadamard(G, a), b.shape))]

    def combine(self, a: Any, b: Any) -> Any:
        return a * b

    def sympy_op(self, a: Any, b: Any) -> Any:
        return sympy.HadamardProduct(a, b)


@register
class Divide(_Binary):
    name = "divide"
    code = "/"

    symbol = "/"

    def rules(self, a: Node, b: Node, shape: Shape) -> Node | None:
        if is_zero(a):
            return zeros(shape)
        if b.op == "const" and a.shape == shape:
            return scale(1 / b.param, a)
        return None

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        sym = r" \oslash " if p.latex else " / "
        return f"{p.sub(n.args[0], 20, 'divide')}{sym}{p.sub(n.args[1], 21)}", 20

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        a, b = n.args
        return [(a, unbroadcast(divide(G, b), a.shape)),
                (b, unbroadcast(scale(-1, divide(hadamard(G, a), hadamard(b, b))), b.shape))]

    def combine(self, a: Any, b: Any) -> Any:
        return a / b

    def sympy_op(self, a: Any, b: Any) -> Any:
        from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

        from derivkit.graph.node import U

        return sympy.HadamardProduct(a, ElementwiseApplyFunction(sympy.Lambda(U, 1 / U), b))


@register
class Scale(Op):
    """A number, or a formula in the sizes such as ``2/N``, times a node."""

    name = "scale"

    def shape(self, args: tuple, param: Any) -> Shape:
        return args[0].shape

    def simplify(self, args: tuple, param: Any, shape: Shape) -> Node | None:
        (a,) = args
        c = param
        if c == 0 or a.op == "zeros":
            return zeros(a.shape)
        if c == 1:
            return a
        if a.op == "const":
            return const(c * a.param)
        if a.op == "scale" and a.name is None:
            return scale(c * a.param, a.args[0])
        return None

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        c = n.param
        inner, prec = p.fmt(n.args[0])
        if c == 1:
            return inner, prec
        if c == -1:
            return "-" + (inner if prec > 15 or n.args[0].record.big_operator else p.paren(inner)), 15
        if c.could_extract_minus_sign() and not c.is_Integer:  # -(1/N) Σ, not (-1/N) Σ
            positive, _ = self.print(make("scale", n.args, n.shape, param=-c), p)
            return "-" + positive, 15
        if p.latex:
            ctext = sympy.latex(c)
            ctext = ctext if (c.is_Integer or c.is_Symbol) else rf"\left({ctext}\right)" if c.is_Add else ctext
            wrapped = inner if prec >= 90 or n.args[0].record.big_operator else p.paren(inner)
            return f"{ctext} {wrapped}", 21
        ctext = p.scalar(c)
        ctext = ctext if c.is_Integer else f"({ctext})"
        if prec < 90 and not n.args[0].record.big_operator:
            return f"{ctext}({inner})", 21
        return f"{ctext} {inner}", 21

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        return [(n.args[0], scale(n.param, G))]

    def lower(self, n: Node, em: Any) -> str:
        c = n.param
        if c == 1:
            return em.ref(n.args[0])
        if c == -1:
            return f"-{em.ref(n.args[0])}"
        return f"{em.ref(n.args[0])} * ({em.scalar(c)})"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        return ctx.size(n.param) * vals[0]

    def to_sympy(self, n: Node, args: list) -> Any:
        return n.param * args[0]


def _merge_functions(a: Node, b: Node) -> Node | None:
    """``f(A) ∘ g(A) = (f g)(A)`` (``√V ∘ √V = V``), also at the end of a product ``S ∘ f(A) ∘ g(A)``."""
    from derivkit.graph.ops.elementwise import apply, as_function

    fa, fb = as_function(a), as_function(b)
    if fa is not None and fb is not None and fa[1] is fb[1]:
        return apply(fa[0] * fb[0], fa[1])
    if a.op == "hadamard" and a.name is None and fb is not None:
        inner = as_function(a.args[1])
        if inner is not None and inner[1] is fb[1]:
            return hadamard(a.args[0], apply(inner[0] * fb[0], fb[1]))
    return None


def _matmul(a: Node, b: Node) -> Node:
    from derivkit.graph.ops.linalg import matmul

    return matmul(a, b)


def add(a: Node, b: Node) -> Node:
    """``a + b``; a 1 x k row (a bias) or a column broadcasts."""
    return build("add", (a, b))


def sub(a: Node, b: Node) -> Node:
    """``a - b`` with the broadcasts of :func:`add`."""
    return build("sub", (a, b))


def hadamard(a: Node, b: Node) -> Node:
    """The elementwise (Hadamard) product ``a ∘ b``."""
    return build("hadamard", (a, b))


def divide(a: Node, b: Node) -> Node:
    """Elementwise division ``a / b``."""
    return build("divide", (a, b))


def scale(c: Any, a: Node) -> Node:
    """A scalar (a number, or a formula in the sizes such as ``2/N``) times ``a``."""
    return build("scale", (a,), sympy.sympify(c))
