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

import random
from dataclasses import dataclass

import sympy
from derivkit.functions import sigmoid

__all__ = ["Rewrite", "teacher_rewrites", "tidy", "sigmoid_form", "same_value"]

#: Results larger than this (in ``count_ops``) are left as they are: tidying them costs more than it gives.
TIDY_LIMIT = 250


@dataclass(frozen=True)
class Rewrite:
    """``before = after`` by ``rule`` (``rewrite`` or ``simplify``), with a sentence saying why."""

    rule: str
    before: sympy.Basic
    after: sympy.Basic
    text: str


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
        point = {s: sympy.Float(rng.uniform(0.2, 1.3)) + sympy.I * sympy.Float(rng.uniform(-0.3, 0.3)) for s in syms}
        try:
            va = complex(a.xreplace(point).evalf(30))
            vb = complex(b.xreplace(point).evalf(30))
        except (TypeError, ValueError, ZeroDivisionError):
            continue
        if not all(v == v and abs(v) < 1e100 for v in (va, vb)):
            continue
        if abs(va - vb) > 1e-9 * max(1.0, abs(va), abs(vb)):
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
    """Write ``-s*(s - 1)`` as ``s*(1 - s)``: flip a negative coefficient into a factor ``(s - 1)``."""
    coeff, factors = expr.as_coeff_mul()
    if coeff.is_negative:
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
        s = sigmoid(-a)
        out = out.xreplace({sympy.exp(a): (1 - s) / s})
        if out.has(sympy.exp(a)):
            return None
        out = sympy.factor(sympy.cancel(out))
        out = _one_minus_first(out, s)
    if out == raw or out.has(sympy.exp) and not raw.has(sympy.exp):
        return None
    return out


def tidy(raw: sympy.Basic) -> sympy.Basic:
    """A cheap tidy: collect common factors or combine fractions when that makes ``raw`` smaller.

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> tidy(x*sympy.sin(x)**2 + sympy.sin(x)**2)
    (x + 1)*sin(x)**2
    """
    if raw.is_Atom:
        return raw
    best, best_ops = raw, sympy.count_ops(raw)
    if best_ops > TIDY_LIMIT:
        return raw
    for candidate in (sympy.factor_terms(raw), sympy.together(raw)):
        ops = sympy.count_ops(candidate)
        if ops < best_ops:
            best, best_ops = candidate, ops
    return best


def teacher_rewrites(raw: sympy.Basic, expr: sympy.Basic, wrt: sympy.Symbol) -> tuple[Rewrite, ...]:
    """The rewrites that take the assembled derivative ``raw`` (of ``expr``) to the form teachers write."""
    out: list[Rewrite] = []
    current = raw
    if not raw.is_Atom and sympy.count_ops(raw) <= TIDY_LIMIT:
        sig = sigmoid_form(current, expr)
        if sig is not None and same_value(sig, current):
            out.append(Rewrite("rewrite", current, sig,
                               "Write e^(-z)/(1 + e^(-z)) through the sigmoid: 1/(1 + e^(-z)) = sigmoid(z) "
                               "and e^(-z)/(1 + e^(-z)) = 1 - sigmoid(z)."))
            current = sig
        tidied = tidy(current)
        if tidied != current and same_value(tidied, current):
            out.append(Rewrite("simplify", current, tidied, "Simplify by collecting common factors."))
            current = tidied
    return tuple(out)

