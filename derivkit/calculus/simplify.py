"""Teacher forms: the measured policy that tidies a derivative, each rewrite a step.

The step engine assembles a derivative from the rule table, which already gives
the forms teachers write (``σ(x)(1 - σ(x))``, ``1 - tanh(x)^2``). What is left
is tidying, and it follows one policy:

1. **A cost**: the length of the printed form (:func:`cost`, what a student
   reads).
2. **Candidates from bounded, cheap moves** (:data:`MOVES`): collect common
   factors, group the terms that share a factor, multiply out a numerator, expand
   a polynomial, use ``sin^2 + cos^2 = 1``, the quotient identities
   (``sin·sec = tan``) and the double-angle identities, cancel a common factor,
   write a rational function as a polynomial plus partial fractions, and name the
   sigmoid where the result holds ``e^a/(1 + e^a)``. Moves compose (a numerator
   multiplied out, then the Pythagorean identity, then a cancellation) up to
   :data:`MAX_MOVES` deep, over at most :data:`MAX_STATES` forms, each at most
   :data:`TIDY_LIMIT` nodes. Nothing here calls ``sympy.simplify`` (unbounded,
   and it turns ``1 - tanh^2`` into ``cosh^-2``).
3. **The shortest form wins, strictly**: the form the rules produced stays
   unless a candidate prints shorter, so ``x^2 cos(x) + 2x sin(x)`` is not
   factored into a longer ``x(x cos(x) + 2 sin(x))``, and ``σ(x)(1 - σ(x))``
   stays as the rule table writes it.

Every move of the chosen path becomes a :class:`Rewrite` (a ``simplify`` or
``rewrite`` step of the derivation), checked numerically at random complex points
and dropped if it would change the value.

>>> import sympy
>>> x = sympy.Symbol("x")
>>> raw = sympy.exp(-x) / (1 + sympy.exp(-x)) ** 2
>>> [(r.rule, r.after) for r in teacher_rewrites(raw, 1 / (1 + sympy.exp(-x)), x)]
[('rewrite', (1 - sigmoid(x))*sigmoid(x))]
>>> raw = -(sympy.sin(x) * (sympy.sin(x) + 1) + sympy.cos(x)**2) / (sympy.sin(x) + 1)**2
>>> [r.after for r in teacher_rewrites(raw, sympy.cos(x) / (1 + sympy.sin(x)), x)][-1]
-1/(sin(x) + 1)
"""

from __future__ import annotations

import cmath
import random
from dataclasses import dataclass
from typing import Callable

import sympy

from derivkit.budget import checkpoint
from derivkit.functions import relu, sigmoid, softplus, step
from derivkit.notation import expr_text


__all__ = ["Rewrite", "Move", "MOVES", "teacher_rewrites", "tidy", "sigmoid_form", "same_value", "size", "cost"]

#: Results larger than this (in nodes, see :func:`size`) are left as they are: tidying them costs more than it gives.
TIDY_LIMIT = 200
#: Longest chain of moves tried, and most forms looked at, per result.
MAX_MOVES = 3
MAX_STATES = 30


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
    softplus: lambda z: cmath.log(1 + cmath.exp(z)),
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


def size(e: sympy.Basic) -> int:
    """The number of nodes of ``e``.

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


def cost(e: sympy.Basic) -> int:
    """What a form costs a reader: the length of its printed form.

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> cost(48*x**3 - 32*x) < cost(16*x*(3*x**2 - 2))
    True
    """
    return len(expr_text(e))


# ------------------------------------------------------------------ the sigmoid


def _written_out_sigmoids(expr: sympy.Basic) -> list[sympy.Basic]:
    """Arguments ``z`` of every ``1/(1 + exp(±z))`` in ``expr``, with the sign taken off."""
    found: list[sympy.Basic] = []
    for node in sympy.preorder_traversal(expr):
        if node.is_Pow and node.exp.is_Integer and node.exp < 0 and node.base.is_Add and len(node.base.args) == 2:
            one, other = sorted(node.base.args, key=lambda t: t != 1)
            if one == 1 and isinstance(other, sympy.exp):
                a = other.args[0]
                z = -a if a.could_extract_minus_sign() else a
                if z not in found:
                    found.append(z)
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
    """``raw`` written through ``sigmoid`` where it (or ``expr``) holds ``1/(1 + e^(±z))``, else None.

    Uses ``e^z = σ(z)/(1 - σ(z))``, then cancels: ``e^x/(e^x + 1)`` is ``σ(x)``.

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> sigmoid_form(sympy.exp(x) / (sympy.exp(x) + 1), sympy.log(1 + sympy.exp(x)))
    sigmoid(x)
    """
    args = _written_out_sigmoids(expr)
    args += [z for z in _written_out_sigmoids(raw) if z not in args]
    if not args:
        return None
    out = raw
    for z in args:
        s = sigmoid(z)
        powers = {}
        for node in out.atoms(sympy.exp):
            k = sympy.cancel(node.args[0] / z)
            if k.is_Integer:
                powers[node] = (s / (1 - s)) ** k
            elif node.args[0].free_symbols & z.free_symbols:
                return None
        if not powers:
            continue
        out = out.xreplace(powers)
        out = sympy.factor(sympy.cancel(out))
        out = _one_minus_first(out, s)
    if out == raw or out.has(sympy.exp) and not raw.has(sympy.exp):
        return None
    return out


# ------------------------------------------------------------------ the moves


def _has_function(e: sympy.Basic) -> bool:
    return any(isinstance(a, sympy.Function) for a in sympy.preorder_traversal(e))


#: Expansions are tried only on forms this small (in nodes) with powers at most this high.
EXPAND_LIMIT = 80
EXPAND_MAX_POWER = 6


def _expandable(e: sympy.Basic) -> bool:
    return size(e) <= EXPAND_LIMIT and all(
        not p.exp.is_Integer or abs(int(p.exp)) <= EXPAND_MAX_POWER for p in e.atoms(sympy.Pow))


_SHALLOW = dict(deep=False, power_exp=False, power_base=False, log=False, multinomial=True)


def _multiply_out(e: sympy.Basic) -> sympy.Basic:
    return sympy.Add(*[sympy.expand(t, **_SHALLOW) for t in e.args])


def _expand_numerator(e: sympy.Basic) -> sympy.Basic | None:
    """Multiply out the sums of a product (the numerator a quotient rule leaves), keep the rest.

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> _expand_numerator((-x*sympy.log(x) + (x + 1)*(sympy.log(x) + 1))/(x + 1)**2)
    (x + log(x) + 1)/(x + 1)**2
    """
    if not e.is_Mul or not _expandable(e):
        return None
    return sympy.Mul(*[_multiply_out(f) if f.is_Add else f for f in e.args])


def _expand(e: sympy.Basic) -> sympy.Basic | None:
    """Expand a polynomial or rational expression (no functions: ``σ(1 - σ)`` is not multiplied out)."""
    if not _expandable(e) or _has_function(e) or not (e.is_Add or e.is_Mul or e.is_Pow):
        return None
    return sympy.expand(e, **dict(_SHALLOW, deep=True))


def _expand_all(e: sympy.Basic) -> sympy.Basic | None:
    """Multiply out every product, functions included (``(1 - σ)(…)σ`` to ``σ - y``)."""
    if not _expandable(e) or not _has_function(e) or not (e.is_Add or e.is_Mul):
        return None
    if e.is_Mul:  # distribute first, so each term cancels what it can: (1 - σ)σ(-y/σ) is -y(1 - σ)
        sums = [f for f in e.args if f.is_Add]
        if sums:
            s = max(sums, key=size)
            rest = [f for f in e.args if f is not s]
            e = sympy.Add(*[sympy.Mul(*rest, t) for t in s.args])
    return _multiply_out(e) if e.is_Add else sympy.expand(e, **_SHALLOW)


def _collect(e: sympy.Basic) -> sympy.Basic | None:
    return sympy.factor_terms(e) if (e.is_Add or e.is_Mul) and size(e) <= EXPAND_LIMIT else None


def _group(e: sympy.Basic) -> sympy.Basic | None:
    """Collect the terms that share a function factor: ``x sin(2x) + sin(2x) = (x + 1) sin(2x)``."""
    if not e.is_Add:
        return None
    counts: dict = {}
    for term in e.args:
        for f in sympy.Mul.make_args(term):
            if isinstance(f, sympy.Function):
                counts[f] = counts.get(f, 0) + 1
    shared = [f for f, n in counts.items() if n >= 2]
    if not shared:
        return None
    return sympy.collect(e, max(shared, key=lambda f: (counts[f], -size(f))))


def _trig_args(e: sympy.Basic, fn) -> set:
    return {a.args[0] for a in e.atoms(fn)}


def _pythagorean_add(add: sympy.Add) -> sympy.Basic:
    """``c sin(a)^2 + c cos(a)^2 -> c`` (and ``cosh^2 - sinh^2 = 1``) inside one sum."""
    terms = list(add.args)
    for sq, other, sign in ((sympy.sin, sympy.cos, 1), (sympy.cosh, sympy.sinh, -1)):
        changed = True
        while changed:
            changed = False
            for i, t in enumerate(terms):
                c, rest = t.as_coeff_Mul()
                if not (rest.is_Pow and rest.exp == 2 and isinstance(rest.base, sq)):
                    continue
                partner = c * sign * other(rest.base.args[0]) ** 2
                for j, u in enumerate(terms):
                    if j != i and u == partner:
                        terms = [v for k, v in enumerate(terms) if k not in (i, j)] + [c]
                        changed = True
                        break
                if changed:
                    break
    return sympy.Add(*terms)


def _replace_kept(e: sympy.Basic, pred, fn) -> sympy.Basic:
    """``e.replace(pred, fn)``, but the nodes above a replacement are rebuilt without evaluating, so a
    factor the identity makes common stays visible until a cancellation step removes it."""
    if e.is_Atom:
        return e
    args = [_replace_kept(a, pred, fn) for a in e.args]
    node = e if args == list(e.args) else e.func(*args, evaluate=False)
    if pred(node):
        new = fn(node)
        if new != node:
            return sympy.factor_terms(new)
    return node


def _pythagorean(e: sympy.Basic) -> sympy.Basic | None:
    """The Pythagorean identities ``sin^2 + cos^2 = 1`` and ``cosh^2 - sinh^2 = 1`` wherever a sum holds them."""
    if not ((_trig_args(e, sympy.sin) & _trig_args(e, sympy.cos))
            or (_trig_args(e, sympy.sinh) & _trig_args(e, sympy.cosh))):
        return None
    return _replace_kept(e, lambda n: n.is_Add, _pythagorean_add)


def _double_angle_add(add: sympy.Add) -> sympy.Basic:
    """``c cos(a)^2 - c sin(a)^2 -> c cos(2a)`` inside one sum."""
    terms = list(add.args)
    for i, t in enumerate(terms):
        c, rest = t.as_coeff_Mul()
        if rest.is_Pow and rest.exp == 2 and isinstance(rest.base, sympy.cos):
            a = rest.base.args[0]
            partner = -c * sympy.sin(a) ** 2
            if partner in terms:
                j = terms.index(partner)
                keep = [v for k, v in enumerate(terms) if k not in (i, j)]
                return sympy.Add(*keep, c * sympy.cos(2 * a))
    return add


def _double_angle(e: sympy.Basic) -> sympy.Basic | None:
    """``2 sin(a) cos(a) = sin(2a)`` and ``cos(a)^2 - sin(a)^2 = cos(2a)``."""
    common = _trig_args(e, sympy.sin) & _trig_args(e, sympy.cos)
    if not common:
        return None
    out = e.replace(lambda n: n.is_Add, _double_angle_add)
    for a in common:
        out = out.replace(
            lambda n: n.is_Mul and sympy.sin(a) in n.args and sympy.cos(a) in n.args and n.as_coeff_Mul()[0] % 2 == 0,
            lambda n: n / (sympy.sin(a) * sympy.cos(a) * 2) * sympy.sin(2 * a))
    return out


#: Products of trigonometric functions of one angle that are one function (or 1): sin·sec = tan, cos·tan = sin, ...
_TRIG_PRODUCTS = (
    (sympy.sin, sympy.csc, None), (sympy.cos, sympy.sec, None), (sympy.tan, sympy.cot, None),
    (sympy.sin, sympy.sec, sympy.tan), (sympy.cos, sympy.csc, sympy.cot),
    (sympy.cos, sympy.tan, sympy.sin), (sympy.sin, sympy.cot, sympy.cos),
)
_TRIG = (sympy.sin, sympy.cos, sympy.tan, sympy.cot, sympy.sec, sympy.csc)


def _trig_product_mul(m: sympy.Mul) -> sympy.Basic:
    powers: dict = {}
    rest = []
    for f in m.args:
        base, n = f.as_base_exp()
        if isinstance(base, _TRIG) and n.is_Integer and n > 0:
            powers[base] = powers.get(base, 0) + int(n)
        else:
            rest.append(f)
    changed = False
    for a, b, product in _TRIG_PRODUCTS:
        for fa in [f for f in powers if isinstance(f, a)]:
            fb = b(fa.args[0])
            k = min(powers.get(fa, 0), powers.get(fb, 0))
            if k:
                changed = True
                powers[fa] -= k
                powers[fb] -= k
                if product is not None:
                    p = product(fa.args[0])
                    powers[p] = powers.get(p, 0) + k
    if not changed:
        return m
    return sympy.Mul(*rest, *[f**n for f, n in powers.items() if n])


def _trig_products(e: sympy.Basic) -> sympy.Basic | None:
    """The quotient identities: ``sin(a) sec(a) = tan(a)``, ``cos(a) tan(a) = sin(a)``, ``sin(a) csc(a) = 1``, ..."""
    if sum(1 for f in _TRIG if e.has(f)) < 2:
        return None
    return e.replace(lambda n: n.is_Mul, _trig_product_mul)


def _has_denominator(e: sympy.Basic, x: sympy.Symbol) -> bool:
    return any(p.exp.is_negative and p.base.has(x) for p in e.atoms(sympy.Pow) if p.exp.is_number)


def _cancel(e: sympy.Basic, x: sympy.Symbol) -> sympy.Basic | None:
    """Cancel the common factors of numerator and denominator (functions count as unknowns).

    A rational function of ``x`` is always tried; with functions in it (slow to cancel) only a
    product whose numerator visibly holds a base of its denominator, as ``-(sin x + 1)/(sin x + 1)^2``.
    """
    if not _has_denominator(e, x) or e.has(sympy.Float) or size(e) > EXPAND_LIMIT:
        return None
    if _has_function(e):
        if not e.is_Mul:
            return None
        dens = [f.base for f in e.args if f.is_Pow and f.exp.is_number and f.exp.is_negative]
        nums = [g for f in e.args if not (f.is_Pow and f.exp.is_number and f.exp.is_negative)
                for g in sympy.Mul.make_args(f.base if f.is_Pow else f)]
        nums += [-g for g in nums]
        if not any(d in nums for d in dens):
            return None
    num, den = sympy.fraction(sympy.together(e))
    if not den.has(x):
        return None
    num1, den1 = sympy.fraction(sympy.cancel(e))
    if size(sympy.expand(den1)) >= size(sympy.expand(den)):
        return None  # nothing cancels
    return sympy.factor_terms(num1) / sympy.factor(den1)


def _partial_fractions(e: sympy.Basic, x: sympy.Symbol) -> sympy.Basic | None:
    """A sum of a polynomial and fractions in ``x`` as a polynomial plus partial fractions: ``270x^4 + 39/(x + 1)^2``.

    Only a sum that already has a polynomial term: a single quotient stays one fraction,
    as the quotient rule leaves it.
    """
    if not _has_denominator(e, x) or _has_function(e) or e.has(sympy.Float) or e.free_symbols != {x}:
        return None
    if not e.is_Add or all(_has_denominator(t, x) or not t.has(x) for t in e.args):
        return None
    if size(e) > EXPAND_LIMIT or not _expandable(e):
        return None
    num, den = sympy.fraction(sympy.cancel(sympy.together(e)))
    try:
        if sympy.degree(num, x) + sympy.degree(den, x) > 12:
            return None
        return sympy.apart(e, x)
    except (sympy.PolynomialError, NotImplementedError):
        return None


@dataclass(frozen=True)
class Move:
    """One cheap transformation of a candidate form: ``apply(e, x)`` gives the new form or None.

    ``weight`` above 1 makes a move pay clearly: a form reached through it must
    print that many times shorter (multiplying out ``σ(1 - σ)`` would save one
    character and lose the rule's form; multiplying out a cross-entropy gradient
    to ``σ(x) - y`` saves thirty).
    """

    name: str
    rule: str
    text: str
    apply: Callable[[sympy.Basic, sympy.Symbol], sympy.Basic | None]
    weight: float = 1.0


#: The moves of the policy, in the order they are tried.
MOVES: tuple[Move, ...] = (
    Move("cancel", "simplify", "Cancel the common factor of the numerator and the denominator.", _cancel),
    Move("collect", "simplify", "Simplify by collecting common factors.", lambda e, x: _collect(e)),
    Move("group", "simplify", "Simplify by grouping the terms with a common factor.", lambda e, x: _group(e)),
    Move("expand_numerator", "simplify", "Simplify by multiplying out and collecting like terms.",
         lambda e, x: _expand_numerator(e)),
    Move("expand", "simplify", "Simplify by expanding and collecting like terms.", lambda e, x: _expand(e)),
    Move("expand_all", "simplify", "Simplify by multiplying out and collecting like terms.",
         lambda e, x: _expand_all(e), weight=1.25),
    Move("pythagorean", "rewrite", "Use the Pythagorean identity sin^2 + cos^2 = 1.", lambda e, x: _pythagorean(e)),
    Move("trig_products", "rewrite", "Use the quotient identities tan = sin/cos, cot = cos/sin, sec = 1/cos and "
         "csc = 1/sin.", lambda e, x: _trig_products(e)),
    Move("double_angle", "rewrite", "Use the double-angle identities 2 sin(a) cos(a) = sin(2a) and "
         "cos(a)^2 - sin(a)^2 = cos(2a).", lambda e, x: _double_angle(e)),
    Move("partial_fractions", "simplify", "Combine the fractions: a polynomial plus partial fractions.",
         _partial_fractions),
)


def _search(raw: sympy.Basic, x: sympy.Symbol) -> list[tuple[Move, sympy.Basic]]:
    """The path of moves to the cheapest form reachable from ``raw`` (empty: ``raw`` is best)."""
    best_cost, best_path = float(cost(raw)), []
    frontier: list[tuple[sympy.Basic, list]] = [(raw, [])]
    seen = {raw}
    for _ in range(MAX_MOVES):
        nxt = []
        for form, path in frontier:
            for move in MOVES:
                checkpoint()
                if len(seen) >= MAX_STATES:
                    break
                if path and path[-1][0] is move:  # every move is idempotent: twice in a row gives nothing new
                    continue
                try:
                    new = move.apply(form, x)
                except (sympy.PolynomialError, NotImplementedError, TypeError, ValueError, ZeroDivisionError):
                    new = None
                if new is None or new in seen or size(new) > TIDY_LIMIT:
                    continue
                seen.add(new)
                new_path = path + [(move, new)]
                c = float(cost(new))
                for m, _ in new_path:
                    c *= m.weight
                if c < best_cost:
                    best_cost, best_path = c, new_path
                nxt.append((new, new_path))
        frontier = nxt
    return best_path


def tidy(raw: sympy.Basic, wrt: sympy.Symbol | None = None) -> sympy.Basic:
    """The cheapest form of ``raw`` under the policy (``raw`` itself unless something prints shorter).

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> tidy(x*sympy.sin(x)**2 + sympy.sin(x)**2)
    (x + 1)*sin(x)**2
    >>> tidy(2*x*(x**4/3 - 21*x**2/10 + 4) + x**2*(4*x**3/3 - 21*x/5))
    2*x**5 - 42*x**3/5 + 8*x
    >>> tidy(2*x - 4), tidy(x**2*sympy.cos(x) + 2*x*sympy.sin(x))
    (2*x - 4, x**2*cos(x) + 2*x*sin(x))
    """
    x = wrt if wrt is not None else (sorted(raw.free_symbols, key=lambda s: s.name) or [sympy.Symbol("x")])[0]
    path = _search(raw, x) if not raw.is_Atom and size(raw) <= TIDY_LIMIT else []
    return path[-1][1] if path else raw


def teacher_rewrites(raw: sympy.Basic, expr: sympy.Basic, wrt: sympy.Symbol) -> tuple[Rewrite, ...]:
    """The rewrites that take the assembled derivative ``raw`` (of ``expr``) to the form teachers write."""
    out: list[Rewrite] = []
    current = raw
    if raw.is_Atom or size(raw) > 2 * TIDY_LIMIT:
        return ()
    sig = sigmoid_form(current, expr)
    if sig is not None and same_value(sig, current):
        z = (_written_out_sigmoids(expr) or _written_out_sigmoids(current))[0]
        ez, sz = expr_text(sympy.exp(-z)), expr_text(sigmoid(z))
        out.append(Rewrite("rewrite", current, sig,
                           f"Write the result through the sigmoid: 1/(1 + {ez}) = {sz} "
                           f"and {ez}/(1 + {ez}) = 1 - {sz}."))
        current = sig
    if current.is_Atom or size(current) > TIDY_LIMIT:
        return tuple(out)
    for move, new in _search(current, wrt):
        if not same_value(new, current):
            break
        out.append(Rewrite(move.rule, current, new, move.text))
        current = new
    return tuple(out)
