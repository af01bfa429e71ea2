"""Where a formula can fail and where a derivative does not exist.

Three questions the step engine asks before it writes a note or a piece:

* :func:`always_true`: does a domain condition hold for every real input
  (``x^2 + 1 > 0`` does, so the square root rule needs no note)?
* :func:`can_hold`: can an equation hold at all (``x^2 + 1 = 0`` cannot, so
  ``|x^2 + 1|`` has no kink)?
* :func:`piecewise_conditions`: on which open sets does each piece of a
  piecewise derivative hold, and at which meeting points is the function not
  differentiable (a corner or a jump)? There the derivative is left undefined,
  not given the value of whichever piece comes last.

Answers are proved, never guessed from samples: SymPy's assumptions on real
symbols, then for a polynomial in one variable its real roots (Sturm sequences,
exact). When neither decides, the cautious answer is returned (the note is kept).

>>> import sympy
>>> x = sympy.Symbol("x")
>>> always_true(x**2 + 1 > 0), always_true(x**2 - 2*x + 2 > 0), always_true(x > 0)
(True, True, False)
>>> can_hold(sympy.Eq(x**2 + 1, 0)), can_hold(sympy.Eq(x, 0))
(False, True)
>>> pw = sympy.Piecewise((0, x < 0), (x, True))
>>> piecewise_conditions(pw, [sympy.S.Zero, sympy.S.One], x)
([x < 0, x > 0], [0])
"""

from __future__ import annotations

from typing import Sequence

import sympy
from sympy import S
from sympy.core.relational import Relational

__all__ = ["always_true", "can_hold", "piecewise_conditions", "real_roots", "kink_points", "MAX_DEGREE", "MAX_BOUNDARIES"]

#: Polynomials up to this degree are decided by counting their real roots.
MAX_DEGREE = 40
#: Piecewise functions with more meeting points than this are not analysed.
MAX_BOUNDARIES = 20


def _real(expr: sympy.Basic) -> sympy.Basic:
    """``expr`` with its symbols real (a relational re-evaluates under the assumption)."""
    syms = [s for s in expr.free_symbols if isinstance(s, sympy.Symbol) and s.is_real is None]
    if not syms:
        return expr
    return expr.xreplace({s: sympy.Dummy(s.name, real=True) for s in syms})


def _poly(p: sympy.Basic) -> sympy.Poly | None:
    """``p`` as a polynomial in its one symbol with rational coefficients, else None."""
    syms = p.free_symbols
    if len(syms) != 1 or p.has(sympy.Float):
        return None
    try:
        poly = sympy.Poly(p, *syms)
    except sympy.PolynomialError:
        return None
    if not poly.domain.is_QQ and not poly.domain.is_ZZ or poly.degree() > MAX_DEGREE:
        return None
    return poly


def _positive(p: sympy.Basic, strict: bool) -> bool:
    """Proved: ``p > 0`` (or ``>= 0``) for every real value of its symbols."""
    r = _real(p)
    if (r.is_positive if strict else r.is_nonnegative) is True:
        return True
    poly = _poly(sympy.expand(p)) if p.free_symbols else None
    if poly is None or poly.is_zero:
        return False
    try:
        roots = poly.count_roots()
    except (sympy.PolynomialError, NotImplementedError):  # pragma: no cover - exact domains only
        return False
    return roots == 0 and bool(poly.eval(0) > 0)


def always_true(cond: sympy.Basic) -> bool:
    """Whether ``cond`` holds for every real value of its symbols (``False`` when not proved)."""
    if cond is S.true or cond is True:
        return True
    if isinstance(cond, sympy.And):
        return all(always_true(a) for a in cond.args)
    if isinstance(cond, sympy.Or):
        return any(always_true(a) for a in cond.args)
    if not isinstance(cond, Relational):
        return False
    if _real(cond) is S.true:
        return True
    ops = {">": (1, True), ">=": (1, False), "<": (-1, True), "<=": (-1, False)}
    if cond.rel_op == "!=":
        return not can_hold(sympy.Eq(cond.lhs, cond.rhs, evaluate=False))
    if cond.rel_op not in ops:
        return False
    sign, strict = ops[cond.rel_op]
    return _positive(sign * (cond.lhs - cond.rhs), strict)


def can_hold(eq: sympy.Basic) -> bool:
    """Whether the equation ``eq`` can hold for some real values (``True`` unless proved impossible)."""
    if eq is S.false or eq is False:
        return False
    if eq is S.true or eq is True or not isinstance(eq, sympy.Eq):
        return True
    if _real(eq) is S.false:
        return False
    p = eq.lhs - eq.rhs
    return not (_positive(p, True) or _positive(-p, True))


# ------------------------------------------------------------------ piecewise functions


def _relational(s: sympy.Set, x: sympy.Symbol) -> sympy.Basic:
    """A set of reals as the condition a teacher writes: ``x > 0``, not ``(0 < x) & (x < oo)``."""
    if s is S.Reals:
        return S.true
    if s is S.EmptySet:
        return S.false
    if isinstance(s, sympy.Interval):
        parts = []
        if s.start is not S.NegativeInfinity:
            parts.append(sympy.StrictGreaterThan(x, s.start) if s.left_open else sympy.GreaterThan(x, s.start))
        if s.end is not S.Infinity:
            parts.append(sympy.StrictLessThan(x, s.end) if s.right_open else sympy.LessThan(x, s.end))
        return sympy.And(*parts)
    if isinstance(s, sympy.Union):
        return sympy.Or(*[_relational(a, x) for a in s.args])
    if isinstance(s, sympy.FiniteSet):
        return sympy.Or(*[sympy.Eq(x, a) for a in s.args])
    if isinstance(s, sympy.Complement) and isinstance(s.args[1], sympy.FiniteSet):
        return sympy.And(_relational(s.args[0], x), *[sympy.Ne(x, a) for a in s.args[1].args])
    return s.as_relational(x)


def _value(expr: sympy.Basic, x: sympy.Symbol, b: sympy.Basic) -> sympy.Basic | None:
    """``expr`` at ``x = b`` when it is a finite real number there, else None."""
    try:
        v = expr.subs(x, b)
    except (TypeError, ValueError, ZeroDivisionError):  # pragma: no cover - defensive
        return None
    if not v.is_number or v.has(S.NaN, S.ComplexInfinity, S.Infinity, S.NegativeInfinity) or v.is_real is False:
        return None
    return v


def _same(a: sympy.Basic, b: sympy.Basic) -> bool:
    d = a - b
    if d.is_zero is not None:
        return bool(d.is_zero)
    return abs(complex(d.evalf(30))) < 1e-20


def piecewise_conditions(
    pw: sympy.Piecewise, derivatives: Sequence[sympy.Basic], x: sympy.Symbol
) -> tuple[list[sympy.Basic], list[sympy.Basic] | None]:
    """Conditions for the pieces of ``pw``'s derivative, and the points where ``pw`` is not differentiable.

    ``derivatives[i]`` is the derivative of piece ``i``. Returns ``(conditions,
    kinks)``: piece ``i`` of the derivative holds on the open set where piece ``i``
    of ``pw`` is the one in force, less the meeting points where ``pw`` has a
    corner or a jump (``kinks``). A meeting point where the pieces join smoothly
    keeps its piece. When the conditions are not relations in ``x`` alone (or too
    many), the original conditions come back with ``kinks`` None.
    """
    original = [piece.cond for piece in pw.args]
    if any(c.free_symbols - {x} for c in original if isinstance(c, sympy.Basic)):
        return original, None
    try:
        sets, covered = [], S.EmptySet
        for c in original:
            s = (S.Reals if c is S.true or c is True else c.as_set()) - covered
            sets.append(s)
            covered = covered | s
        points: set = set()
        for s in sets:
            boundary = s.boundary
            if not isinstance(boundary, sympy.FiniteSet) and boundary is not S.EmptySet:
                return original, None
            points |= {p for p in boundary if p.is_finite}
    except (NotImplementedError, TypeError, ValueError, AttributeError):
        return original, None
    if len(points) > MAX_BOUNDARIES or not all(p.is_real for p in points):
        return original, None
    ordered = sorted(points, key=lambda p: float(p))
    kinks = []
    for k, b in enumerate(ordered):
        gaps = [abs(b - o) for o in ordered if o != b]
        delta = min([sympy.Rational(1, 1000)] + [g / 4 for g in gaps])

        def piece_at(point):
            return next((i for i, s in enumerate(sets) if s.contains(point) is S.true), None)

        left, here, right = piece_at(b - delta), piece_at(b), piece_at(b + delta)
        smooth = None not in (left, here, right)
        if smooth:
            values = [_value(pw.args[i].expr, x, b) for i in (left, here, right)]
            slopes = [_value(derivatives[i], x, b) for i in (left, right)]
            smooth = None not in values + slopes and _same(values[0], values[1]) and _same(values[1], values[2]) \
                and _same(slopes[0], slopes[1])
        if not smooth:
            kinks.append(b)
    if not kinks:
        return original, []
    bad = sympy.FiniteSet(*kinks)
    return [_relational(s - bad, x) for s in sets], kinks


# ------------------------------------------------------------------ non-differentiable points


def real_roots(expr: sympy.Basic, x: sympy.Symbol) -> list[sympy.Basic] | None:
    """The real solutions of ``expr = 0``, exact, when ``expr`` is a rational function of ``x``
    whose numerator has degree at most :data:`MAX_DEGREE`; None when derivkit cannot say.

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> real_roots(x**2 - 2, x), real_roots((x - 1)/x, x), real_roots(x**2 + 1, x)
    ([-sqrt(2), sqrt(2)], [1], [])
    """
    if expr.free_symbols - {x} or expr.has(sympy.Float):
        return None
    if not expr.has(x):
        return [] if expr != 0 else None
    if any(p.base.has(x) and (not p.exp.is_Number or abs(p.exp) > MAX_DEGREE) for p in expr.atoms(sympy.Pow)):
        return None  # x^(10^10): no polynomial derivkit solves (and expanding it would not finish)
    num, den = sympy.fraction(sympy.together(expr))
    try:
        poly = sympy.Poly(sympy.expand(num), x)
    except sympy.PolynomialError:
        return None
    if not (poly.domain.is_ZZ or poly.domain.is_QQ) or poly.degree() > MAX_DEGREE:
        return None
    roots = []
    for r in poly.real_roots():
        if r in roots:
            continue
        d = den.subs(x, r)
        if d.is_zero:
            continue
        roots.append(r)
    return roots


def _numeric_slopes(f, x, c) -> tuple[float, float, float, float] | None:
    """Left and right difference quotients of ``f`` at ``c`` and the values just left and right of it."""
    import cmath

    from derivkit.calculus.simplify import _num

    step = 1e-6 * max(1.0, abs(float(c)))
    out = []
    for point in (float(c) - step, float(c), float(c) + step):
        try:
            v = _num(f, {x: complex(point)})
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError):
            return None
        if not cmath.isfinite(v) or abs(v.imag) > 1e-9:
            return None
        out.append(v.real)
    left, mid, right = out
    return (mid - left) / step, (right - mid) / step, left, right


def kink_points(expr: sympy.Basic, x: sympy.Symbol) -> tuple[tuple[sympy.Basic, str], ...]:
    """The points where ``expr`` (a function of ``x``) is continuous but has a corner, or jumps.

    Candidates come from the non-smooth functions in ``expr`` (``|g|``, ``relu``,
    ``step``, ``sign``, ``max``/``min`` ties, the meeting points of a piecewise
    function) solved exactly; each is kept only when the one-sided slopes differ
    (``"corner"``) or the function jumps there (``"jump"``). ``|x|^3`` has no corner.

    >>> import sympy
    >>> from derivkit.functions import relu
    >>> x = sympy.Symbol("x")
    >>> kink_points(sympy.Abs(x - 1) + relu(x + 2), x)
    ((-2, 'corner'), (1, 'corner'))
    >>> kink_points(sympy.Abs(x)**3, x)
    ()
    """
    from derivkit.functions import leaky_relu, relu, step

    equations: list[sympy.Basic] = []
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, (sympy.Abs, sympy.sign, relu, leaky_relu)):
            equations.append(node.args[0])
        elif isinstance(node, step):
            equations.append(node.args[0] - (node.args[1] if len(node.args) > 1 else 0))
        elif isinstance(node, (sympy.Max, sympy.Min)):
            args = node.args
            equations += [args[i] - args[j] for i in range(len(args)) for j in range(i + 1, len(args))]
        elif isinstance(node, sympy.Piecewise) and node.has(x):
            for piece in node.args:
                cond = piece.cond
                if cond is sympy.true or cond is True:
                    continue
                for rel in cond.atoms(Relational):
                    equations.append(rel.lhs - rel.rhs)
    candidates: list[sympy.Basic] = []
    for eq in equations:
        roots = real_roots(eq, x) or []
        candidates += [r for r in roots if r not in candidates]
    found = []
    for c in sorted(candidates, key=float):
        slopes = _numeric_slopes(expr, x, c)
        if slopes is None:
            continue
        left, right, before, after = slopes
        if abs(after - before) > 1e-4 * max(1.0, abs(before)):
            found.append((c, "jump"))
        elif abs(left - right) > 1e-3 * max(1.0, abs(left), abs(right)):
            found.append((c, "corner"))
    return tuple(found)


def _measure_ok(expr: sympy.Basic, limit: int) -> bool:
    """Whether ``expr`` has at most ``limit`` nodes."""
    n, stack = 0, [expr]
    while stack:
        n += 1
        if n > limit:
            return False
        stack.extend(stack.pop().args)
    return True
