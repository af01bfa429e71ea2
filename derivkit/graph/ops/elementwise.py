r"""Scalar functions applied to every entry: ``σ(A)``, ``A^2``, ``10/A``, and their derivatives ``f'(A)``.

The function is a SymPy body in the variable ``u`` (``sigmoid(u)``, ``u**2``).
Its derivative comes from the rule table (:func:`derivkit.rules.local_derivative`),
or, for a composite body such as ``u**2``, from the step engine; the backward
rule of ``f(A)`` is ``G ∘ f'(A)``. The code for ``f'(A)`` reuses the forward
value where the rule allows (``σ' = σ(1 - σ)``, ``tanh' = 1 - tanh²``).

>>> from derivkit.graph.ops.leaves import leaf
>>> A = leaf("input", "A", ("N", 3))
>>> print(apply("sigmoid", A), "|", A ** 2, "|", 10 / A, "|", fprime(sympy.tanh(U), A))
σ(A) | A^2 | 10/A | tanh'(A)
>>> derivative_of(U ** 3)
3*u**2
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy
import sympy

from derivkit.errors import InputError
from derivkit.functions import ACTIVATIONS
from derivkit.graph.node import DEFINITION_FUNCTIONS, U, Node, Op, build, make, register
from derivkit.graph.ops.arith import divide, hadamard
from derivkit.graph.ops.leaves import zeros
from derivkit.graph.printing import function_name
from derivkit.graph.shapes import Shape

__all__ = ["FUNCTIONS", "apply", "fprime", "derivative_of", "single", "function_body"]

#: The scalar functions a definition string may apply elementwise, by name.
FUNCTIONS: dict[str, Any] = {
    **ACTIVATIONS,
    "exp": sympy.exp, "log": sympy.log, "ln": sympy.log, "sin": sympy.sin, "cos": sympy.cos,
    "sinh": sympy.sinh, "cosh": sympy.cosh, "atan": sympy.atan, "asinh": sympy.asinh, "abs": sympy.Abs,
    "sqrt": sympy.sqrt, "sign": sympy.sign,
}


def function_body(func: Any) -> sympy.Basic:
    """A scalar function as its body in :data:`U`: from a name, a SymPy function class or a Lambda."""
    if isinstance(func, sympy.Lambda):
        if len(func.variables) != 1:
            raise InputError("an elementwise function takes one variable")
        return func(U)
    if isinstance(func, sympy.Basic) and func.free_symbols <= {U}:
        return func
    if isinstance(func, str):
        cls = FUNCTIONS.get(func)
        if cls is None:
            raise InputError(f"unknown elementwise function {func!r}; known: {', '.join(sorted(FUNCTIONS))}")
        func = cls
    if isinstance(func, type) and issubclass(func, sympy.Function) or isinstance(func, sympy.FunctionClass):
        return func(U)
    if func in (sympy.sqrt,):  # SymPy functions that are not classes
        return func(U)
    raise InputError(f"cannot apply {func!r} elementwise: give a function name, a SymPy function or a Lambda")


def single(body: sympy.Basic) -> sympy.Basic | None:
    """The function application ``f(u, consts...)`` if the body is one, else None."""
    if isinstance(body, sympy.Function) and body.args and body.args[0] == U and all(
            not arg.has(U) for arg in body.args[1:]):
        return body
    return None


@lru_cache(maxsize=512)
def derivative_of(body: sympy.Basic) -> sympy.Basic:
    """``f'(u)`` of an elementwise function, from the rule table.

    >>> from derivkit.functions import sigmoid, step
    >>> derivative_of(sigmoid(U))
    (1 - sigmoid(u))*sigmoid(u)
    >>> derivative_of(step(U, 2)), derivative_of(U**2)
    (0, 2*u)
    """
    from derivkit.rules import local_derivative

    app = single(body)
    if app is not None:
        try:
            return local_derivative(app.func, app.args)
        except KeyError:
            pass
    from derivkit.calculus.steps import derive

    # A composite body such as u**2: the step engine applies the power and chain rules.
    return derive(body, U).result


def _level(expr: sympy.Basic, latex: bool = False) -> int:
    r"""How tightly the places of ``u`` in a body bind: a child printed there below this level needs brackets.

    ``u^2``: a power's base (91); ``2u``: a product (16, only sums need brackets);
    ``1 - u``: a sum (11); ``f(u)``: a call's own brackets suffice (0), and so do
    LaTeX's ``\sqrt{u}``, ``\frac{1}{u}`` and exponents.
    """
    if isinstance(expr, sympy.exp) and expr.args[0] == U:  # e^u: an exponent, braced in LaTeX only
        return 0 if latex else 91
    if isinstance(expr, (sympy.Function, sympy.Abs)):
        return max((_level(a, latex) for a in expr.args if a != U), default=0)
    if isinstance(expr, sympy.Pow):
        base, exponent = expr.args
        grouped = latex and exponent in (sympy.S.Half, -sympy.S.Half, sympy.S.NegativeOne)
        here = 0 if grouped else 91
        return max(here if base == U else _level(base, latex), 0 if latex else (91 if exponent == U else
                                                                                 _level(exponent, latex)))
    own = 16 if isinstance(expr, sympy.Mul) else 11 if isinstance(expr, sympy.Add) else 0
    return max((own if a == U else _level(a, latex) for a in expr.args), default=0)


def _precedence(body: sympy.Basic) -> int:
    """A body printed with a leading minus (``-1/A^2``) binds like a negated term."""
    return 15 if body.could_extract_minus_sign() else 90


def _with_argument(p: Any, body: sympy.Basic, child: Node) -> str:
    """``body`` printed around the child's text, the child bracketed where it would bind less tightly."""
    inner, prec = p.fmt(child)
    if prec < _level(body, p.latex):
        inner = p.paren(inner)
    return p.body(body, inner)


@register
class Apply(Op):
    name = "apply"

    def simplify(self, args: tuple, param: Any, shape: Shape) -> Node | None:
        return args[0] if param == U else None

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        return _with_argument(p, n.param, n.args[0]), _precedence(n.param)

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        a = n.args[0]
        d = derivative_of(n.param)
        if d == 1 / U:  # log: G / A
            return [(a, divide(G, a))]
        if d == n.param and single(n.param) is not None:  # exp: G ∘ e^A, the forward value itself
            return [(a, hadamard(G, n))]
        return [(a, hadamard(G, fprime(n.param, a, n)))]

    def lower(self, n: Node, em: Any) -> str:
        return em.function(n.param, em.ref_name(n.args[0]))

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        return _map(vals[0], lambda e: n.param.subs(U, e))

    def to_sympy(self, n: Node, args: list) -> Any:
        from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

        return ElementwiseApplyFunction(sympy.Lambda(U, n.param), args[0])


def _map(A: Any, fn: Any) -> Any:
    out = numpy.empty(A.shape, dtype=object)
    for idx, value in numpy.ndenumerate(A):
        out[idx] = fn(value)
    return out


def as_function(n: Node) -> tuple[sympy.Basic, Node] | None:
    """``(body, A)`` when ``n`` is ``f(A)`` (an unnamed elementwise function), or ``A`` itself (``u``)."""
    if n.op == "apply" and n.name is None:
        return n.param, n.args[0]
    if n.op not in ("const", "zeros"):
        return U, n
    return None


def apply(func: Any, a: Node) -> Node:
    """Apply a scalar function to every entry of ``a`` (``σ(H_in)``)."""
    return build("apply", (a,), function_body(func))


@register
class FPrime(Op):
    """``f'(A)`` entrywise; the optional second operand is the forward value ``f(A)``."""

    name = "fprime"

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        inner = p.text(n.args[0])
        app = single(n.param)
        if app is not None and app.func.__name__ in ACTIVATIONS:  # the course writes σ'(O_in), tanh'(H_in)
            rest = [p.scalar(a) for a in app.args[1:]]
            inside = ", ".join([inner] + rest)
            if p.latex:
                return rf"{function_name(app, True)}'\left({inside}\right)", 90
            return f"{function_name(app, False)}'({inside})", 90
        d = derivative_of(n.param)
        if len(n.args) > 1 and app is not None and d.has(app) and n.args[1].name is not None:
            d = d.subs(app, sympy.Symbol(n.args[1].name))  # e.g. exp' = the forward value
        return _with_argument(p, d, n.args[0]), _precedence(d)

    def lower(self, n: Node, em: Any) -> str:
        d = derivative_of(n.param)
        app = single(n.param)
        if len(n.args) > 1 and app is not None and d.has(app):
            d = d.subs(app, sympy.Symbol(em.ref_name(n.args[1])))
        if d.has(U):
            d = d.subs(U, sympy.Symbol(em.ref_name(n.args[0])))
        return em.function(d, None)

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        d = derivative_of(n.param)
        return _map(vals[0], lambda e: d.subs(U, e))

    def to_sympy(self, n: Node, args: list) -> Any:
        from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

        return ElementwiseApplyFunction(sympy.Lambda(U, derivative_of(n.param)), args[0])


def fprime(body: sympy.Basic, a: Node, out: Node | None = None, *, simplify: bool = True) -> Node:
    """``f'(a)`` entrywise; ``out`` is the forward value ``f(a)`` (reused: σ' = σ(1 - σ))."""
    if simplify and derivative_of(body) == 0:
        return zeros(a.shape)
    return make("fprime", (a,) if out is None else (a, out), a.shape, param=body)


def _elementwise_definition(name: str) -> Any:
    func = FUNCTIONS[name]

    def call(a: Node, *constants: Any) -> Node:
        try:
            body = func(U, *constants)
        except (TypeError, ValueError) as err:
            raise InputError(f"{name} does not take these arguments ({err})") from None
        return apply(body, a)

    call.__name__ = name
    return call


for _name in FUNCTIONS:
    DEFINITION_FUNCTIONS[_name] = _elementwise_definition(_name)
