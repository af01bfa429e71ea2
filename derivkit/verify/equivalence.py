"""Deciding whether two expressions are the same function: symbolically, then numerically.

Variables are **real**: two answers are the same when they agree at every real
point where the correct one is defined. So ``sqrt(x^2)`` and ``|x|`` are the same
answer, and so are ``x/sqrt(x^2)`` and ``sign(x)``, even though SymPy (whose
plain symbols are complex) does not simplify one into the other.

The decision, in order (:func:`compare` reports which step decided):

1. ``identical``: the two expressions are equal as written (after SymPy's
   automatic simplifications).
2. ``numeric`` counterexample: both are evaluated at several random real points
   inside the domain (exact rationals substituted, then 40-digit ``evalf``;
   points where the correct answer is complex or undefined are skipped, and so
   are points where a value is too large to compute: :mod:`derivkit.magnitude`
   decides that before SymPy starts). One
   point where the values differ proves they are different functions.
3. ``symbolic``: when they agree at every point, ``expand`` (when its result is
   small), then ``cancel`` and ``simplify`` of ``a - b`` (also after rewriting in
   terms of ``exp``) are tried, the latter in a child process limited to one
   second (the ``isolated_seconds`` limit of :mod:`derivkit.budget`); if one gives
   0 the symbolic method decided.
4. ``numeric`` agreement: otherwise they are declared equal because they agree,
   to 20 significant digits, at every one of at least :data:`MIN_POINTS` random
   points (never one lucky point). The points are fractions with small prime
   denominators (``-1/19``, ``34/19``) drawn from several ranges in turn, so
   narrow domains (``|x| < 1``, ``x > 4``) are reached and special points such as
   0, 1 or multiples of pi are not hit by accident.

A counterexample is shown at the **simplest point** where the two differ, so that
a student can check it by hand: small integers and halves (``0, 1, -1, 2, -2,
1/2, ...``, see :data:`SIMPLE_VALUES`) inside the domain and away from kinks
(``|x|``, ``relu`` or ``step`` at 0). Only when none of them shows a difference
is the random point that proved it shown.

The search for a counterexample comes before simplification because it is
cheap and conclusive: a wrong answer is rejected in milliseconds with a point
to show, while ``simplify`` on a wrong answer can take long to return nothing.
If no real point of the domain is found and simplification does not decide,
the result is undecided (``equal is None``).

>>> import sympy
>>> x = sympy.Symbol("x")
>>> compare(sympy.sqrt(x**2), sympy.Abs(x), [x]).equal
True
>>> r = compare(2*x, 2*x + x/1000, [x])
>>> r.equal, r.method
(False, 'numeric')
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence

import mpmath
import sympy
from sympy.core.function import AppliedUndef

from derivkit import budget, magnitude
from derivkit.verify.mpeval import Unsupported, mp_value

__all__ = [
    "Comparison",
    "Sampler",
    "real_value",
    "as_real",
    "compare",
    "written_decimals",
    "matches_written",
    "defined_at",
    "PRECISION",
    "MIN_POINTS",
    "SIMPLE_VALUES",
    "simple_counterexample",
]

#: Digits used to evaluate at a point.
PRECISION = 40
#: Relative size below which two values at a point count as equal.
TOLERANCE = sympy.Float("1e-20", PRECISION)
_TOL = mpmath.mpf("1e-20")
#: Points that must agree before two answers are called equal by evaluation.
MIN_POINTS = 6

#: Values tried first for a counterexample, simplest first: small integers and halves.
SIMPLE_VALUES = tuple(sympy.Rational(v) for v in (
    "0", "1", "-1", "2", "-2", "1/2", "-1/2", "3", "-3", "3/2", "-3/2", "4", "-4", "5/2", "-5/2", "5", "-5"))
#: How many simple points are tried before the random one is kept.
SIMPLE_TRIES = 40

# Regions random points are drawn from, in turn: general, positive, |x| < 1, x > 1, wide, x > 4.
_REGIONS = ((-3, 3), (0, 3), (-1, 1), (1, 4), (-12, 12), (4, 12))
#: The parts of the line every variable gets a test point in, where the function is defined.
PARTS = ((-12, -1), (-1, 0), (0, 1), (1, 12))
_TRIES_PER_PART = 4
_COVER_TRIES = 40
_DENOMINATORS = (7, 11, 13, 17, 19, 23)


def _zero_by_simplify(d: sympy.Basic) -> bool:
    """``cancel``, ``simplify`` and ``simplify`` after rewriting in ``exp``: run in a child process."""
    if sympy.cancel(d) == 0 or sympy.simplify(d) == 0:
        return True
    return sympy.simplify(d.rewrite(sympy.exp)) == 0


def _small_trig_multiples(d: sympy.Basic) -> bool:
    """Whether every trigonometric argument is a small multiple (at most 4) of something: then the
    double- and triple-angle expansions stay small (``sin(2x) = 2 sin(x) cos(x)``)."""
    trig = d.atoms(sympy.sin, sympy.cos, sympy.tan, sympy.sinh, sympy.cosh, sympy.tanh)
    for f in trig:
        coeff, _ = f.args[0].as_coeff_Mul()
        if not (coeff.is_Rational and abs(coeff.p) <= 4 and coeff.q == 1):
            return False
    return len(trig) <= 8


def _expands_cheaply(d: sympy.Basic) -> bool:
    from derivkit.calculus.several import terms_bound

    return terms_bound(d) <= 2000


def simplifies_to_zero(d: sympy.Basic, seconds: float | None = None) -> bool:
    """Whether ``d == 0`` can be shown symbolically within ``seconds`` (``False``: not shown).

    ``expand`` is tried here when its result is small (bounded before expanding);
    ``cancel``, ``simplify`` and ``simplify`` after rewriting in terms of ``exp`` run in
    a child process (:func:`derivkit.budget.run_isolated`), limited to ``seconds``
    (default: the ``isolated_seconds`` limit) and to the memory limit, since SymPy
    cannot be stopped inside them. Past the limits the answer is ``False``, and the
    caller decides by evaluation instead.

    >>> x = sympy.Symbol("x")
    >>> simplifies_to_zero(sympy.sin(x)**2 + sympy.cos(x)**2 - 1)
    True
    """
    if d == 0:
        return True
    try:
        if _expands_cheaply(d) and (sympy.expand(d) == 0 or (_small_trig_multiples(d) and sympy.expand(d, trig=True) == 0)):
            return True
    except (TypeError, ValueError, NotImplementedError, AttributeError, RecursionError, sympy.PolynomialError):
        return False
    return bool(budget.try_isolated(_zero_by_simplify, d, default=False, seconds=seconds))


def as_real(expr: sympy.Basic, variables: Iterable[sympy.Symbol]) -> sympy.Basic:
    """``expr`` with its variables taken as real: ``re(x) -> x``, ``im(x) -> 0``, derivatives done.

    SymPy's plain symbols are complex, so ``sympy.diff(abs(x), x)`` mentions
    ``re(x)`` and ``Derivative(re(x), x)``; for real ``x`` that is ``sign(x)``.

    >>> x = sympy.Symbol("x")
    >>> as_real(sympy.diff(sympy.Abs(x), x), [x])
    sign(x)
    """
    if not expr.has(sympy.re, sympy.im, sympy.Derivative, sympy.conjugate, sympy.arg):
        return expr
    mapping = {}
    for s in variables:
        mapping.update({sympy.re(s): s, sympy.im(s): sympy.Integer(0), sympy.conjugate(s): s})
    try:
        return expr.xreplace(mapping).doit()
    except (TypeError, ValueError, NotImplementedError, AttributeError):  # pragma: no cover
        return expr


def real_value(expr: sympy.Basic, point: dict) -> sympy.Basic | None:
    """``expr`` at ``point`` as a real 40-digit Float, or None if undefined or complex there.

    >>> x = sympy.Symbol("x")
    >>> real_value(sympy.sqrt(x), {x: 4}), real_value(sympy.sqrt(x), {x: -4}), real_value(1/x, {x: 0})
    (2.000000000000000000000000000000000000000, None, None)
    """
    budget.checkpoint()
    try:
        how = magnitude.how_to_evaluate(expr, point)
        if how is None:  # too large to evaluate: the point cannot be used
            return None
        if how == "float":  # exact arithmetic would make numbers of too many digits
            point = {s: sympy.Float(v, PRECISION + 20) for s, v in point.items()}
        fast = _fast_value(expr, point)
        if fast is not _SLOW:
            return fast
        v = expr.xreplace(point) if point else expr
        if v.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
            return None
        if v.free_symbols or v.has(AppliedUndef):  # f(3/19) of an unknown f is no number
            return None
        fast = _fast_value(v, {})
        if fast is not _SLOW:
            return fast
        v = sympy.N(v, PRECISION)
        if not v.is_number or v.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
            return None
        re_, im_ = v.as_real_imag()
        re_, im_ = sympy.N(re_, PRECISION), sympy.N(im_, PRECISION)
        if not (re_.is_Number and im_.is_Number):
            return None
        if abs(im_) > TOLERANCE * max(1, abs(re_)):
            return None
        return re_
    except (TypeError, ValueError, ZeroDivisionError, ArithmeticError, AttributeError, RecursionError, MemoryError):
        return None


def defined_at(expr: sympy.Basic, point: dict) -> bool:
    """Whether the point lies in the domain of ``expr``: its value there is real and finite.

    A value too large to evaluate counts as defined when ``expr`` is real and finite
    everywhere by its form (``e^e^e^e^e``, ``exp(exp(exp(exp(x))))``), so such a
    function's derivative can still be checked.

    >>> x = sympy.Symbol("x")
    >>> defined_at(sympy.log(x), {x: -1}), defined_at(sympy.exp(sympy.exp(sympy.exp(sympy.exp(x)))), {x: 3})
    (False, True)
    """
    if real_value(expr, point) is not None:
        return True
    return magnitude.hazard(expr, point) and magnitude.real_everywhere(expr)


_SLOW = object()


def _fast_value(v: sympy.Basic, point: dict) -> Any:
    """:func:`real_value` through :mod:`derivkit.verify.mpeval`: a finite real value, else ``_SLOW``.

    Anything else (a node it does not know, a complex value, a division by zero,
    an infinity) is left to SymPy, which knows ``0/csc(0) = 0`` and ``tan(pi/2)``
    exactly.
    """
    try:
        m = mp_value(v, point)
    except (Unsupported, ZeroDivisionError, TypeError, ValueError, OverflowError, AttributeError):
        return _SLOW
    if not mpmath.isfinite(m):
        return _SLOW
    return sympy.Float(m, PRECISION)


def close(a: sympy.Basic, b: sympy.Basic) -> bool:
    """Whether two evaluated values agree to 20 significant digits.

    >>> close(sympy.Float(1, 40), sympy.Float("1.000000000000000000001", 40)), close(sympy.Integer(1), sympy.Float("1.001"))
    (True, False)
    """
    with mpmath.mp.workdps(PRECISION + 10):
        fa, fb = _mp_number(a), _mp_number(b)
        if fa is None or fb is None:
            return bool(abs(a - b) <= TOLERANCE * max(1, abs(a), abs(b)))
        return bool(abs(fa - fb) <= _TOL * max(1, abs(fa), abs(fb)))


def _mp_number(v: Any) -> Any:
    """A real SymPy number (or int, float) as an mpmath number at the working precision, else None."""
    if isinstance(v, sympy.Float):
        return mpmath.mpf(v._mpf_)
    if isinstance(v, sympy.Integer) or isinstance(v, int):
        return mpmath.mpf(int(v))
    if isinstance(v, sympy.Rational):
        return mpmath.mpf(int(v.p)) / int(v.q)
    if isinstance(v, float):
        return mpmath.mpf(v)
    return None


class Sampler:
    """Random real points where a reference expression is defined, and its values there.

    The points are drawn deterministically (a fixed seed), so a verdict never
    changes from one run to the next. Expressions in ``domain`` (the function
    that was differentiated) must be real and finite at each point too, so the
    points lie inside the function's domain (``x > 0`` for ``ln x``). ``values(expr)`` evaluates another
    expression at the same points; ``agrees(expr)`` says whether it matches the
    reference at all of them.

    Every part of the domain is visited: after the first draws, each variable
    gets a point in each of the parts ``x < -1``, ``-1 < x < 0``, ``0 < x < 1``
    and ``x > 1`` (see :data:`PARTS`) where the functions are defined and no
    point has fallen yet, so both branches of ``asec``, ``acsc`` and ``|x|`` are tested.
    """

    def __init__(self, reference: sympy.Basic, variables: Iterable[sympy.Symbol], wanted: int = MIN_POINTS + 2,
                 tries: int = 60, domain: Sequence[sympy.Basic] = ()):
        self.reference = reference
        self.variables = tuple(sorted(set(variables), key=lambda s: s.name))
        self.domain = tuple(domain)
        rng = random.Random(20240607)
        self.points: list[dict] = []
        self.reference_values: list[sympy.Basic] = []
        for k in range(tries):
            lo, hi = _REGIONS[k % len(_REGIONS)]
            point = {}
            for s in self.variables:
                q = rng.choice(_DENOMINATORS)
                p = rng.randint(lo * q + 1, hi * q - 1)
                point[s] = sympy.Rational(p, q)
            self._accept(point, domain)
            if len(self.points) >= wanted:
                break
        self._cover_parts(domain)

    def _accept(self, point: dict, domain: Sequence[sympy.Basic]) -> bool:
        v = real_value(self.reference, point)
        if v is not None and all(defined_at(d, point) for d in domain):
            self.points.append(point)
            self.reference_values.append(v)
            return True
        return False

    def _cover_parts(self, domain: Sequence[sympy.Basic]) -> None:
        """Add a point in each part of the line (:data:`PARTS`) that no point of a variable lies in yet."""
        if not self.points:
            return  # nowhere defined at the first draws: the search ends here
        rng = random.Random(20240608)
        budget_tries = _COVER_TRIES
        for s in self.variables:
            for lo, hi in PARTS:
                if any(lo < p[s] < hi for p in self.points):
                    continue
                for _ in range(_TRIES_PER_PART):
                    if budget_tries <= 0:
                        return
                    budget_tries -= 1
                    point = {}
                    for t in self.variables:
                        a, b = (lo, hi) if t is s else _REGIONS[rng.randrange(len(_REGIONS))]
                        q = rng.choice(_DENOMINATORS)
                        point[t] = sympy.Rational(rng.randint(a * q + 1, b * q - 1), q)
                    if self._accept(point, domain):
                        break

    @property
    def enough(self) -> bool:
        """Whether enough points were found for a numeric decision."""
        return len(self.points) >= MIN_POINTS or (not self.variables and len(self.points) == 1)

    def values(self, expr: sympy.Basic) -> list[sympy.Basic | None]:
        return [real_value(expr, p) for p in self.points]

    def first_difference(self, expr: sympy.Basic) -> int | None:
        """Index of the first point where ``expr`` differs from the reference (None: agrees)."""
        for i, (p, ref) in enumerate(zip(self.points, self.reference_values)):
            v = real_value(expr, p)
            if v is None or not close(v, ref):
                return i
        return None

    def agrees(self, expr: sympy.Basic) -> bool:
        return bool(self.points) and self.first_difference(expr) is None


@dataclass(frozen=True)
class Comparison:
    """The outcome of :func:`compare`.

    ``equal`` is ``None`` only when no real point could be found to test and
    simplification did not decide. ``method`` is ``"identical"``,
    ``"symbolic"`` or ``"numeric"``; ``point`` (names to exact values),
    ``expected_value`` and ``claimed_value`` give a counterexample when they
    differ (``claimed_value`` is ``None`` where the claimed answer is undefined
    or complex at that point).
    """

    equal: bool | None
    method: str
    point: dict | None = None
    expected_value: sympy.Basic | None = None
    claimed_value: sympy.Basic | None = None
    points_tested: int = 0


def compare(expected: sympy.Basic, claimed: sympy.Basic, variables: Sequence[sympy.Symbol] = (), sampler: Sampler | None = None) -> Comparison:
    """Decide whether ``claimed`` is the same real function as ``expected`` (see module notes).

    >>> x = sympy.Symbol("x")
    >>> from derivkit.functions import sigmoid
    >>> compare(sigmoid(x)*(1 - sigmoid(x)), sympy.exp(-x)/(1 + sympy.exp(-x))**2, [x]).equal
    True
    >>> r = compare(sympy.cos(x), -sympy.cos(x), [x])
    >>> r.equal, r.point
    (False, {'x': 0})
    """
    if expected == claimed:
        return Comparison(True, "identical")
    if sampler is None:
        syms = set(variables) | expected.free_symbols | claimed.free_symbols
        sampler = Sampler(expected, [s for s in syms if isinstance(s, sympy.Symbol)])
    i = sampler.first_difference(claimed)
    if i is not None:
        simple = simple_counterexample(expected, claimed, sampler.variables, sampler.domain)
        if simple is not None:
            at, e_val, c_val = simple
        else:
            at, e_val, c_val = sampler.points[i], sampler.reference_values[i], real_value(claimed, sampler.points[i])
        return Comparison(False, "numeric", point={s.name: v for s, v in at.items()}, expected_value=e_val,
                          claimed_value=c_val, points_tested=i + 1)
    if simplifies_to_zero(expected - claimed):
        return Comparison(True, "symbolic", points_tested=len(sampler.points))
    if sampler.enough:
        return Comparison(True, "numeric", points_tested=len(sampler.points))
    return Comparison(None, "numeric", points_tested=len(sampler.points))


def _simple_points(variables: Sequence[sympy.Symbol]) -> Iterator[dict]:
    """Points of :data:`SIMPLE_VALUES`, simplest first (by the sum of the values' ranks)."""
    n, top = len(variables), len(SIMPLE_VALUES) - 1

    def ranks(k: int, total: int) -> Iterator[tuple[int, ...]]:  # k ranks summing to total
        if k == 1:
            if total <= top:
                yield (total,)
            return
        for first in range(min(total, top) + 1):
            for rest in ranks(k - 1, total - first):
                yield (first, *rest)

    if n == 0:
        return
    for total in range(n * top + 1):
        for r in ranks(n, total):
            yield {s: SIMPLE_VALUES[i] for s, i in zip(variables, r)}


def _kink_arguments(exprs: Iterable[sympy.Basic]) -> list[sympy.Basic]:
    """Expressions that are 0 exactly where one of ``exprs`` has a kink or a jump."""
    from derivkit.functions import leaky_relu, relu, step

    out: list[sympy.Basic] = []
    for e in exprs:
        for node in sympy.preorder_traversal(e):
            if isinstance(node, (sympy.Abs, sympy.sign, sympy.Heaviside, relu, leaky_relu)):
                out.append(node.args[0])
            elif isinstance(node, step):
                out.append(node.args[0] - node.threshold)
            elif isinstance(node, (sympy.Max, sympy.Min)):
                out += [a - b for a, b in itertools.combinations(node.args, 2)]
            elif isinstance(node, sympy.Piecewise):
                out += [c.lhs - c.rhs for _, c in node.args if isinstance(c, sympy.core.relational.Relational)]
    return out


def simple_counterexample(expected: sympy.Basic, claimed: sympy.Basic, variables: Sequence[sympy.Symbol],
                          domain: Sequence[sympy.Basic] = (), tries: int = SIMPLE_TRIES) -> tuple[dict, Any, Any] | None:
    """The simplest point (Symbols to values) where ``claimed`` differs from ``expected``, and both values.

    Points are made of small integers and halves (:data:`SIMPLE_VALUES`); one is
    used only when ``expected`` and every expression of ``domain`` are real there,
    no kink (``|u|``, ``relu(u)``, ``step(u)``, ``max``, a piecewise boundary) sits
    on it, and ``claimed`` is real there and clearly different. None when none of
    the first ``tries`` points qualifies.

    >>> x = sympy.Symbol("x")
    >>> simple_counterexample(10*x - 3, 10*x + 3, [x])
    ({x: 0}, -3.000000000000000000000000000000000000000, 3.000000000000000000000000000000000000000)
    >>> simple_counterexample(1/x, 1/x**2, [x], domain=[sympy.log(x)])[0]
    {x: 2}
    >>> simple_counterexample(sympy.sign(x), 2*sympy.sign(x), [x])[0]        # not at the kink x = 0
    {x: 1}
    """
    kinks = _kink_arguments([expected, claimed, *domain])
    for point in itertools.islice(_simple_points(tuple(variables)), tries):
        e_val = real_value(expected, point)
        if e_val is None or any(real_value(d, point) is None for d in domain):
            continue
        if any(v is None or close(v, 0) for v in (real_value(k, point) for k in kinks)):
            continue
        c_val = real_value(claimed, point)
        if c_val is not None and not close(e_val, c_val):
            return point, e_val, c_val
    return None


_DECIMAL = re.compile(r"^\s*[-+]?(\d+)?\.(\d+)\s*$")


def written_decimals(obj: Any) -> int | None:
    """How many decimals a number was written with (None: an exact value, such as ``3`` or ``1/3``).

    >>> written_decimals("3.63"), written_decimals(2.9973), written_decimals("1/3"), written_decimals(7)
    (2, 4, None, None)
    """
    if isinstance(obj, bool):
        return None
    if isinstance(obj, float):
        text = repr(obj)
        if "e" in text or "E" in text:
            return None
    elif isinstance(obj, str):
        text = obj
    elif isinstance(obj, sympy.Float):
        return None
    else:
        return None
    m = _DECIMAL.match(text)
    return len(m.group(2)) if m else None


def matches_written(claimed_raw: Any, claimed: sympy.Basic, expected: sympy.Basic) -> bool:
    """Whether a claimed number is right: exactly, or to the decimals it was written with.

    A value written with 3 decimals is right when the correct value rounds to
    those 3 decimals (a half-unit of the last digit either way).

    >>> matches_written("0.333", sympy.Rational(333, 1000), sympy.Rational(1, 3))
    True
    >>> matches_written("0.334", sympy.Rational(334, 1000), sympy.Rational(1, 3))
    False
    >>> matches_written(sympy.Rational(1, 3), sympy.Rational(1, 3), sympy.Integer(1) / 3)
    True
    """
    e = real_value(expected, {})
    c = real_value(claimed, {})
    if e is None or c is None:
        return False
    d = written_decimals(claimed_raw)
    if d is None:
        return close(e, c)
    half = sympy.Rational(1, 2) * sympy.Rational(1, 10**d)
    return bool(abs(c - e) <= half * (1 + sympy.Rational(1, 10**12)))
