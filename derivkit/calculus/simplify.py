"""Teacher-form rewrites of a derivative, each one an equality a step can show.

The step engine assembles a derivative from the rule table, which already
gives the forms teachers write (``sigmoid(x)*(1 - sigmoid(x))``,
``1 - tanh(x)**2``). What is left is tidying: recognising the sigmoid written
out as ``1/(1 + e^{-x})`` and collecting common factors. Nothing here calls
``sympy.simplify`` (slow, and it turns ``1 - tanh^2`` into ``cosh^{-2}``); every
rewrite is checked numerically and dropped if it would change the value.

>>> import sympy
>>> x = sympy.Symbol("x")
>>> raw = sympy.exp(-x) / (1 + sympy.exp(-x)) ** 2
>>> [(r.rule, r.after) for r in teacher_rewrites(raw, 1 / (1 + sympy.exp(-x)), x)]
[('rewrite', (1 - sigmoid(x))*sigmoid(x))]
"""

from __future__ import annotations

import cmath
import random
from dataclasses import dataclass

import sympy

from derivkit import budget
from derivkit.functions import relu, sigmoid, step
from derivkit.notation import expr_text

__all__ = ["Rewrite", "teacher_rewrites", "tidy", "sigmoid_form", "same_value", "size"]

#: Results larger than this (in nodes, see :func:`size`) are left as they are: tidying them costs more than it gives.
TIDY_LIMIT = 200


@dataclass(frozen=True)
class Rewrite:
    """``before = after`` by ``rule`` (``rewrite`` or ``simplify``), with a sentence saying why."""

    rule: str
    before: sympy.Basic
    after: sympy.Basic
    text: str


_CMATH = {
    sympy.sin: cmath.sin, sympy.cos: cmath.cos, sympy.tan: cmath.tan,
    sympy.csc: lambda z: 1 / cmath.sin(z), sympy.sec: lambda z: 1 / cmath.cos(z),
    sympy.cot: lambda z: 1 / cmath.tan(z),
    sympy.asin: cmath.asin, sympy.acos: cmath.acos, sympy.atan: cmath.atan,
    sympy.sinh: cmath.sinh, sympy.cosh: cmath.cosh, sympy.tanh: cmath.tanh,
    sympy.csch: lambda z: 1 / cmath.sinh(z), sympy.sech: lambda z: 1 / cmath.cosh(z),
    sympy.coth: lambda z: 1 / cmath.tanh(z),
    sympy.asinh: cmath.asinh, sympy.acosh: cmath.acosh, sympy.atanh: cmath.atanh,
    sympy.acot: lambda z: cmath.atan(1 / z), sympy.asec: lambda z: cmath.acos(1 / z),
    sympy.acsc: lambda z: cmath.asin(1 / z), sympy.acoth: lambda z: cmath.atanh(1 / z),
    sympy.acsch: lambda z: cmath.asinh(1 / z), sympy.asech: lambda z: cmath.acosh(1 / z),
    sympy.exp: cmath.exp, sympy.log: cmath.log, sympy.Abs: abs,
    sympy.sign: lambda z: z / abs(z),
    sigmoid: lambda z: 1 / (1 + cmath.exp(-z)),
    relu: lambda z: z if z.real >= 0 else 0j,
    step: lambda z: 1 + 0j if z.real >= 0 else 0j,
}


def _num(e: sympy.Basic, point: dict) -> complex:
    """The value of ``e`` at ``point`` in double precision (fast; SymPy's evalf only as a last resort)."""
    if e.is_Symbol:
        if e not in point:  # a bound variable (of a Subs or Derivative): no value here
            raise ValueError(f"{e} has no value at this point")
        return point[e]
    if e.is_Number or e.is_NumberSymbol:
        return complex(e)
    if e.is_Add:
        return sum((_num(a, point) for a in e.args), 0j)
    if e.is_Mul:
        out = 1 + 0j
        for a in e.args:
            out *= _num(a, point)
        return out
    if e.is_Pow:
        return _num(e.base, point) ** _num(e.exp, point)
    fn = _CMATH.get(e.func)
    if fn is not None and len(e.args) == 1:
        return fn(_num(e.args[0], point))
    args = [_num(a, point) for a in e.args]
    return complex(e.func(*[sympy.Float(a.real) + sympy.I * sympy.Float(a.imag) for a in args]).evalf())


def same_value(a: sympy.Basic, b: sympy.Basic, tries: int = 4, seed: int = 7) -> bool:
    """True when ``a`` and ``b`` agree numerically at a few random complex points.

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> same_value(2*(x + 1), 2*x + 2), same_value(x, x + 1)
    (True, False)
    """
    if a == b:
        return True
    syms = sorted((a.free_symbols | b.free_symbols), key=lambda s: s.name)
    rng = random.Random(seed)
    checked = 0
    for _ in range(tries * 3):
        point = {s: complex(rng.uniform(0.2, 1.3), rng.uniform(-0.3, 0.3)) for s in syms}
        try:
            va, vb = _num(a, point), _num(b, point)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError, RecursionError):
            continue
        if not all(v == v and abs(v) < 1e100 for v in (va, vb)):
            continue
        if abs(va - vb) > 1e-8 * max(1.0, abs(va), abs(vb)):
            return False
        checked += 1
        if checked >= tries:
            break
    return checked > 0


def _written_out_sigmoids(expr: sympy.Basic) -> list[sympy.Basic]:
    """Arguments ``a`` of every ``1/(1 + exp(a))`` in ``expr`` (the sigmoid of ``-a``)."""
    found = []
    for node in sympy.preorder_traversal(expr):
        if node.is_Pow and node.exp == -1 and node.base.is_Add and len(node.base.args) == 2:
            one, other = sorted(node.base.args, key=lambda t: t != 1)
            if one == 1 and isinstance(other, sympy.exp) and other.args[0] not in found:
                found.append(other.args[0])
    return found


def _one_minus_first(expr: sympy.Basic, s: sympy.Basic) -> sympy.Basic:
    """Write a factor ``(s - 1)`` as ``-(1 - s)``: ``-s*(s - 1)`` reads ``s*(1 - s)``."""
    coeff, factors = expr.as_coeff_mul()
    for i, f in enumerate(factors):
        base, n = f.as_base_exp()
        if base == s - 1 and n.is_odd:
            new = list(factors)
            new[i] = sympy.Pow(sympy.Add(1, -s, evaluate=False), n)
            return sympy.Mul(-coeff, *new)
    return expr


def sigmoid_form(raw: sympy.Basic, expr: sympy.Basic) -> sympy.Basic | None:
    """``raw`` with every written-out sigmoid of ``expr`` expressed through ``sigmoid``, else None.

    Uses ``e^{a} = (1 - s)/s`` for ``s = sigmoid(-a)``, then cancels.
    """
    args = _written_out_sigmoids(expr)
    if not args:
        return None
    out = raw
    for a in args:
        budget.checkpoint()
        s = sigmoid(-a)
        # e^(k a) = ((1 - s)/s)^k for whole k; any other exponential of a's variables stays, and then we give up
        powers = {}
        for node in out.atoms(sympy.exp):
            k = sympy.cancel(node.args[0] / a)
            if k.is_Integer:
                powers[node] = ((1 - s) / s) ** k
            elif node.args[0].free_symbols & a.free_symbols:
                return None
        out = out.xreplace(powers)
        out = sympy.factor(sympy.cancel(out))
        out = _one_minus_first(out, s)
    if out == raw or out.has(sympy.exp) and not raw.has(sympy.exp):
        return None
    return out


def size(e: sympy.Basic) -> int:
    """The number of nodes of ``e`` (a cheap stand-in for ``count_ops``).

    >>> import sympy
    >>> size(sympy.Symbol("x") + 1)
    3
    """
    n, stack = 0, [e]
    while stack:
        node = stack.pop()
        n += 1
        stack.extend(node.args)
    return n


#: Expansions are tried only on results this small (in nodes) with powers at most this high.
EXPAND_LIMIT = 80
EXPAND_MAX_POWER = 6


def _expandable(e: sympy.Basic) -> bool:
    return size(e) <= EXPAND_LIMIT and all(
        not p.exp.is_Integer or abs(int(p.exp)) <= EXPAND_MAX_POWER for p in e.atoms(sympy.Pow))


def _expand_numerators(e: sympy.Basic) -> sympy.Basic:
    """Multiply out the sums of a product (the numerator a quotient rule leaves), keep the rest.

    Only products and integer powers are multiplied out; ``e^(a+b)``, logarithms and the
    arguments of functions are left as they are.

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> _expand_numerators((-x*sympy.log(x) + (x + 1)*(sympy.log(x) + 1))/(x + 1)**2)
    (x + log(x) + 1)/(x + 1)**2
    """
    if e.is_Mul:
        return sympy.Mul(*[_multiply_out(f) if f.is_Add else f for f in e.args])
    return e


def _multiply_out(e: sympy.Basic) -> sympy.Basic:
    opts = dict(deep=False, power_exp=False, power_base=False, log=False)
    return sympy.Add(*[sympy.expand(t, **opts) for t in e.args])


def tidy(raw: sympy.Basic) -> sympy.Basic:
    """A cheap tidy into the form a teacher writes, used only when it makes ``raw`` smaller.

    Tries collecting common factors (``factor_terms``), expanding (``2x(x - 1) - x^2 + 1``
    becomes ``x^2 - 2x + 1``) and expanding the numerator a quotient rule leaves. A product
    may also be rewritten at equal size (``2(2 - 2t^2)t`` becomes ``4t(1 - t^2)``); a sum only
    when strictly smaller, so ``2x - 4`` stays as it is.

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> tidy(x*sympy.sin(x)**2 + sympy.sin(x)**2)
    (x + 1)*sin(x)**2
    >>> tidy(2*x*(x**4/3 - 21*x**2/10 + 4) + x**2*(4*x**3/3 - 21*x/5))
    2*x**5 - 42*x**3/5 + 8*x
    """
    return _tidy(raw)[0]


def _tidy(raw: sympy.Basic) -> tuple[sympy.Basic, str]:
    """:func:`tidy`, and a sentence saying what it did."""
    if raw.is_Atom or size(raw) > TIDY_LIMIT:
        return raw, ""
    best, best_size, how = raw, size(raw), ""
    factored = sympy.factor_terms(raw)
    n = size(factored)
    if n < best_size or (n == best_size and raw.is_Mul):
        best, best_size, how = factored, n, "Simplify by collecting common factors."
    if _expandable(raw):
        # Expanding must pay clearly: 4t(1 - t^2) stays, 2x(x - 1) - x^2 + 1 becomes x^2 - 2x + 1.
        for c, text in ((_expand_numerators(raw), "Simplify by expanding the numerator and collecting like terms."),
                        (sympy.expand(raw), "Simplify by expanding and collecting like terms.")):
            n = size(c)
            if n <= 0.8 * best_size:
                best, best_size, how = c, n, text
    return best, how


def teacher_rewrites(raw: sympy.Basic, expr: sympy.Basic, wrt: sympy.Symbol) -> tuple[Rewrite, ...]:
    """The rewrites that take the assembled derivative ``raw`` (of ``expr``) to the form teachers write."""
    out: list[Rewrite] = []
    current = raw
    budget.checkpoint()
    if not raw.is_Atom and size(raw) <= 2 * TIDY_LIMIT:
        sig = sigmoid_form(current, expr)
        if sig is not None and same_value(sig, current):
            z = -_written_out_sigmoids(expr)[0]
            ez, sz = expr_text(sympy.exp(-z)), expr_text(sigmoid(z))
            out.append(Rewrite("rewrite", current, sig,
                               f"Write the result through the sigmoid: 1/(1 + {ez}) = {sz} "
                               f"and {ez}/(1 + {ez}) = 1 - {sz}."))
            current = sig
        tidied, how = _tidy(current)
        if tidied != current and same_value(tidied, current):
            out.append(Rewrite("simplify", current, tidied, how))
            current = tidied
    return tuple(out)

