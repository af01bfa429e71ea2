"""Critical points: where f' = 0 (or f' does not exist), and what kind each one is.

:func:`critical_points` solves ``f'(x) = 0`` over the reals (exactly for a
rational ``f'``, with SymPy's ``solveset`` for others: periodic families are
listed inside one window), adds the corners of ``f`` (``|x|`` at 0, where f' is
undefined), and classifies each point:

* the **second derivative test**: ``f''(c) > 0`` a minimum, ``f''(c) < 0`` a maximum;
* where that is silent (``f''(c) = 0``, or a corner), the **first derivative test**:
  the sign of ``f'`` just left and just right of ``c``.

Minima and maxima are local; ``neither`` is a point where f' = 0 but the sign of
f' does not change (``x^3`` at 0).

>>> cp = critical_points("5b^2 - 3b + 2", "b")
>>> [(p.x, p.kind, p.value) for p in cp]
[(3/10, 'minimum', 31/20)]
>>> [(p.x, p.kind) for p in critical_points("x^3 - 3x", "x")]
[(-1, 'maximum'), (1, 'minimum')]
>>> [(p.x, p.kind, p.reason) for p in critical_points("abs(x)", "x")]
[(0, 'minimum', 'corner')]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import sympy

from derivkit.calculus import kinks
from derivkit.calculus.derivation import Derivation
from derivkit.calculus.steps import derive
from derivkit.decimals import snap_floats
from derivkit.errors import InputError
from derivkit.inputs import ExprLike, SymbolLike, as_number
from derivkit.teaching.function import one_variable
from derivkit.notation import expr_latex, expr_text
from derivkit.renderable import Renderable, brief_repr

__all__ = ["critical_points", "CriticalPoint", "CriticalPoints", "KINDS", "WINDOW"]

#: The kinds of critical point.
KINDS = ("minimum", "maximum", "neither")
#: Periodic solutions are listed inside this window when none is given.
WINDOW = (-2 * sympy.pi, 2 * sympy.pi)
#: Most points listed.
MAX_POINTS = 50
#: solveset is tried only on derivatives this small (nodes).
SOLVE_LIMIT = 80


@dataclass(frozen=True)
class CriticalPoint:
    """One critical point ``x`` of ``f``: ``value = f(x)``, its ``kind`` and how it was decided.

    ``reason`` is ``"f' = 0"`` or ``"corner"`` (f' undefined there); ``test`` the
    sentence of the test that decided the kind.
    """

    x: sympy.Basic
    value: sympy.Basic
    kind: str
    reason: str
    test: str

    def to_dict(self) -> dict[str, Any]:
        return {"x": str(self.x), "x_latex": expr_latex(self.x), "value": str(self.value), "kind": self.kind,
                "reason": self.reason, "test": self.test, "x_float": _float(self.x), "value_float": _float(self.value)}


def _float(v: sympy.Basic) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class CriticalPoints(Renderable):
    """The critical points of ``expr``, in increasing order; iterate over it for the points.

    ``derivative`` is the derivation of f'; ``second`` is f''. ``window`` is the
    interval searched (None: the whole real line); ``general`` the general solution
    of f' = 0 when it has infinitely many solutions (a periodic family, or the
    condition of an interval where f is constant); ``complete`` is False
    when f' = 0 could not be solved exactly and only numerical roots are listed.
    """

    expr: sympy.Basic
    wrt: sympy.Symbol
    derivative: Derivation
    second: sympy.Basic
    points: tuple[CriticalPoint, ...]
    window: tuple[sympy.Basic, sympy.Basic] | None = None
    general: sympy.Basic | None = None
    complete: bool = True

    def __repr__(self) -> str:
        return brief_repr(self, expr=self.expr, wrt=self.wrt,
                          points=tuple((p.x, p.kind) for p in self.points), complete=self.complete)

    def __iter__(self) -> Iterator[CriticalPoint]:
        return iter(self.points)

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, i: int) -> CriticalPoint:
        return self.points[i]

    @property
    def minima(self) -> tuple[CriticalPoint, ...]:
        return tuple(p for p in self.points if p.kind == "minimum")

    @property
    def maxima(self) -> tuple[CriticalPoint, ...]:
        return tuple(p for p in self.points if p.kind == "maximum")

    def to_dict(self) -> dict[str, Any]:
        return {
            "expr": str(self.expr),
            "wrt": str(self.wrt),
            "derivative": str(self.derivative.result),
            "derivative_latex": expr_latex(self.derivative.result),
            "second": str(self.second),
            "points": [p.to_dict() for p in self.points],
            "window": None if self.window is None else [str(a) for a in self.window],
            "general": None if self.general is None else str(self.general),
            "complete": self.complete,
        }


def _solutions(d: sympy.Basic, x: sympy.Symbol, window) -> tuple[list, Any, bool, Any]:
    """``(points, general, complete, window)``: the real solutions of ``d = 0``."""
    if isinstance(d, sympy.Piecewise):
        found: list = []
        flat = [piece.cond for piece in d.args if piece.expr == 0]
        if flat:  # f' = 0 on a whole interval: f is constant there, and every point of it is critical
            return [], sympy.Or(*flat), True, window
        for piece in d.args:
            pts, general, complete, window = _solutions(piece.expr, x, window)
            if general is not None or not complete:
                return found, general, complete, window
            found += [p for p in pts if piece.cond.subs(x, p) is sympy.true and p not in found]
        return found, None, True, window
    roots = kinks.real_roots(d, x)
    if roots is not None:
        if window is not None:
            roots = [r for r in roots if window[0] <= r <= window[1]]
        return roots, None, True, window
    if kinks._measure_ok(d, SOLVE_LIMIT):
        try:
            sol = sympy.solveset(d, x, sympy.S.Reals)
        except (NotImplementedError, TypeError, ValueError):
            sol = None
        if isinstance(sol, sympy.FiniteSet):
            pts = [p for p in sol if p.is_real]
            if window is not None:
                pts = [p for p in pts if window[0] <= p <= window[1]]
            return pts, None, True, window
        if sol is not None and not isinstance(sol, sympy.ConditionSet) and sol is not sympy.S.EmptySet:
            win = window or WINDOW
            inside = sol.intersect(sympy.Interval(*win))
            if isinstance(inside, sympy.FiniteSet):
                return list(inside), sol, True, win
        if sol is sympy.S.EmptySet:
            return [], None, True, window
    return _numeric_roots(d, x, window or (-10, 10)), None, False, window or (-10, 10)


def _numeric_roots(d: sympy.Basic, x: sympy.Symbol, window) -> list:
    """Sign changes of ``d`` on a grid over ``window``, refined by bisection (floats)."""
    from derivkit.calculus.simplify import _num

    lo, hi = float(window[0]), float(window[1])
    n = 400
    xs = [lo + (hi - lo) * i / n for i in range(n + 1)]

    def val(t: float) -> float | None:
        try:
            v = _num(d, {x: complex(t)})
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError):
            return None
        return v.real if v == v and abs(v.imag) < 1e-9 and abs(v) < 1e100 else None

    roots = []
    for a, b in zip(xs, xs[1:]):
        fa, fb = val(a), val(b)
        if fa is None or fb is None or not fa * fb < 0:  # a strict sign change (a flat stretch of f' = 0 is not one)
            continue
        for _ in range(60):
            m = (a + b) / 2
            fm = val(m)
            if fm is None:
                break
            if (fa <= 0) == (fm <= 0):
                a, fa = m, fm
            else:
                b = m
        roots.append((a + b) / 2)
    return [sympy.Float(r, 12) for r in roots]


def _sign_at(d: sympy.Basic, x: sympy.Symbol, t: sympy.Basic) -> int | None:
    from derivkit.calculus.simplify import _num

    try:
        v = _num(d.subs(x, t), {}) if isinstance(d, sympy.Piecewise) else _num(d, {x: complex(float(t))})
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError):
        return None
    if v != v or abs(v.imag) > 1e-9:
        return None
    return (v.real > 1e-12) - (v.real < -1e-12)


def _classify(f, d, d2, x, c, others) -> tuple[str, str]:
    """``(kind, test)`` of the critical point ``c``."""
    if d2 is not None:
        v2 = d2.subs(x, c)
        v2 = snap_floats(v2.evalf(15)) if v2.has(sympy.Float) else sympy.simplify(v2)
        if v2.is_number and v2.is_real and v2 != 0:
            kind = "minimum" if v2 > 0 else "maximum"
            sign = ">" if v2 > 0 else "<"
            return kind, f"f''({expr_text(c)}) = {expr_text(snap_floats(v2))} {sign} 0 (second derivative test)"
    gaps = [abs(float(c) - float(o)) for o in others if o != c]
    delta = sympy.Rational(1, 10)
    if gaps and min(gaps) / 2 < 0.1:
        delta = sympy.nsimplify(min(gaps) / 3, rational=True)
    left, right = _sign_at(d, x, c - delta), _sign_at(d, x, c + delta)
    word = {1: "+", -1: "-", 0: "0", None: "?"}
    how = f"f' is {word[left]} just left of {expr_text(c)} and {word[right]} just right (first derivative test)"
    if left in (-1, 0) and right in (1, 0) and (left, right) != (0, 0):
        return "minimum", how
    if left in (1, 0) and right in (-1, 0) and (left, right) != (0, 0):
        return "maximum", how
    return "neither", how


def critical_points(
    expr: ExprLike, wrt: SymbolLike, *, interval: Any = None, decimals: bool = False
) -> CriticalPoints:
    """The real critical points of ``expr`` with their kind (``minimum``, ``maximum``, ``neither``).

    ``interval`` (a pair ``(a, b)``) restricts the search; periodic functions are
    searched in ``[-2π, 2π]`` unless one is given.

    >>> cp = critical_points("x^4 - 2x^2", "x")
    >>> [(p.x, p.kind) for p in cp]
    [(-1, 'minimum'), (0, 'maximum'), (1, 'minimum')]
    >>> [float(p.x) for p in critical_points("sin(x)", "x", interval=(0, 7))]
    [1.5707963267948966, 4.71238898038469]
    """
    f, x = one_variable(expr, wrt, "the critical points", decimals=decimals)
    window = None
    if interval is not None:
        try:
            a, b = interval
        except (TypeError, ValueError):
            raise InputError(f"the interval must be a pair (a, b), not {interval!r}") from None
        window = (as_number(a, what="start of the interval"), as_number(b, what="end of the interval"))
        if not window[0] < window[1]:
            raise InputError(f"the interval ({window[0]}, {window[1]}) is empty")
    derivation = derive(f, x)
    d = derivation.result
    d2 = derive(d, x).result if d.has(x) else sympy.S.Zero
    if d2.has(sympy.Piecewise):
        d2 = None
    zeros, general, complete, window = _solutions(d, x, window)
    corners = [(c, kind) for c, kind in kinks.kink_points(f, x) if kind == "corner"
               and (window is None or window[0] <= c <= window[1])]
    corner_points = [c for c, _ in corners]
    # sign(x) is 0 at 0 by convention, but |x| has a corner there, not f' = 0
    candidates = [(c, "f' = 0") for c in zeros if c not in corner_points] + [(c, "corner") for c in corner_points]
    if len(candidates) > MAX_POINTS:
        candidates = sorted(candidates, key=lambda p: float(p[0]))[:MAX_POINTS]
    points = []
    everything = [c for c, _ in candidates]
    for c, reason in sorted(candidates, key=lambda p: float(p[0])):
        value = f.subs(x, c)
        value = snap_floats(value if value.has(sympy.Float) else sympy.simplify(value))
        if not value.is_number or value.has(sympy.zoo, sympy.nan) or value.is_real is False:
            continue
        kind, test = _classify(f, d, d2 if reason != "corner" else None, x, c, everything)
        points.append(CriticalPoint(x=c, value=value, kind=kind, reason=reason, test=test))
    return CriticalPoints(expr=f, wrt=x, derivative=derivation, second=d2 if d2 is not None else sympy.nan,
                          points=tuple(points), window=window, general=general, complete=complete)
