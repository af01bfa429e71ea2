"""How large a value gets at a point, found cheaply before SymPy computes it.

SymPy evaluates ``x^(10^10)`` at ``x = 34/19`` exactly when the point is
substituted (a fraction of 25 billion digits), and ``sympy.N`` of
``exp(exp(exp(exp(x))))`` at ``x = 2`` first computes ``e`` to more digits than
the universe has atoms; neither can be interrupted. :func:`probe` walks the
expression once in 53-bit floating point with unbounded exponents (mpmath),
before any of that, and reports:

* whether the value is **out of reach** (``hazard``): some exponential or
  trigonometric function would get an argument above ``2^MAX_ARGUMENT_BITS`` (its
  argument reduction needs that many bits of precision), or some value would
  exceed ``2^MAX_VALUE_BITS`` in size;
* the **digits an exact evaluation would produce** (``exact_digits``): what
  substituting exact fractions into the powers of the expression would cost.

:func:`how_to_evaluate` turns that into a plan: evaluate exactly, with
high-precision floats, or not at all. Expressions built from polynomials of
modest degree and single exponentials at small points are recognised without
the walk (:func:`tame`), so ordinary checks pay nothing.

>>> import sympy
>>> x = sympy.Symbol("x")
>>> how_to_evaluate(x**2 + 1, {x: sympy.Rational(34, 19)})
'exact'
>>> how_to_evaluate(x**(10**10), {x: sympy.Rational(34, 19)})
'float'
>>> how_to_evaluate(sympy.exp(sympy.exp(sympy.exp(sympy.exp(x)))), {x: sympy.Integer(2)}) is None
True
>>> probe(x**(10**10), {x: sympy.Rational(34, 19)}).log10 > 2.5e9
True
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass
from typing import Any, Mapping

import sympy
from mpmath.ctx_mp import MPContext

from derivkit.budget import current, shorten
from derivkit.errors import LimitError
from derivkit.functions import relu, sigmoid, step

__all__ = ["Probe", "probe", "tame", "how_to_evaluate", "hazard", "real_everywhere", "value_at",
           "MAX_ARGUMENT_BITS", "MAX_VALUE_BITS"]

#: Exponentials and trigonometric functions of arguments above 2^this are out of reach.
MAX_ARGUMENT_BITS = 4_000
#: Values above 2^this (about 10^(3 * 10^11)) are out of reach.
MAX_VALUE_BITS = 2**40
#: Exponents up to this are tame (a power of a small fraction stays a few hundred digits).
TAME_POWER = 64
#: Point values up to this size, with at most this many digits, keep a tame expression tame.
TAME_POINT = 10**6
TAME_POINT_DIGITS = 30

_REDUCING = {
    sympy.exp: "exp", sympy.sin: "sin", sympy.cos: "cos", sympy.tan: "tan", sympy.sec: "sec",
    sympy.csc: "csc", sympy.cot: "cot", sympy.sinh: "sinh", sympy.cosh: "cosh", sympy.tanh: "tanh",
    sympy.coth: "coth", sympy.sech: "sech", sympy.csch: "csch",
}
_CHEAP = {
    sympy.log: "log", sympy.asin: "asin", sympy.acos: "acos", sympy.atan: "atan", sympy.acot: "acot",
    sympy.asec: "asec", sympy.acsc: "acsc", sympy.asinh: "asinh", sympy.acosh: "acosh",
    sympy.atanh: "atanh", sympy.acoth: "acoth", sympy.asech: "asech", sympy.acsch: "acsch",
    sympy.erf: "erf",
}
_GROWTH = (sympy.exp, sympy.sinh, sympy.cosh, sympy.gamma, sympy.factorial)

_local = threading.local()
_STAND_IN = MPContext().mpf(1.25)


def _ctx() -> Any:
    """A private mpmath context per thread (mpmath's global precision is shared state)."""
    ctx = getattr(_local, "ctx", None)
    if ctx is None:
        ctx = MPContext()
        ctx.prec = 53
        _local.ctx = ctx
    return ctx


class _OutOfReach(Exception):
    pass


class _NotNumeric(Exception):
    pass


@dataclass(frozen=True)
class Probe:
    """What :func:`probe` found: ``hazard`` (out of reach), ``log10`` (about log10 of the size of
    the value; ``None`` when undefined, unknown or out of reach) and ``exact_digits`` (about the
    digits that exact substitution would produce)."""

    hazard: bool
    log10: float | None
    exact_digits: float


def _growth(e: sympy.Basic) -> int:
    if e.is_Atom:
        return 0
    if isinstance(e, sympy.Pow):
        if not e.exp.is_Rational:  # a variable or irrational exponent: b^x = exp(x ln b)
            return 1 + max(_growth(e.base), _growth(e.exp))
        if abs(e.exp.p) > TAME_POWER:
            return 1 + _growth(e.base)
        return _growth(e.base)
    inner = max((_growth(a) for a in e.args), default=0)
    return inner + 1 if isinstance(e, _GROWTH) else inner


@functools.lru_cache(maxsize=2048)
def tame(expr: sympy.Basic) -> bool:
    """Whether ``expr`` is safe to evaluate exactly at any small point, without probing.

    Tame: at most one level of growth (an exponential, a power with a variable
    exponent), no power above 64 (nor a number above 64 in a variable exponent) and
    no number over 300 digits.

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> tame(sympy.exp(x) * sympy.sin(x) + x**5), tame(sympy.exp(sympy.exp(x))), tame(x**1000)
    (True, False, False)
    """
    try:
        if _growth(expr) > 1 or expr.has(sympy.gamma, sympy.factorial):  # gamma(n) is a factorial
            return False
        for n in expr.atoms(sympy.Rational):
            if abs(n.p) > 10**300 or n.q > 10**300:
                return False
        for p in expr.atoms(sympy.Pow):
            if p.exp.is_Rational and abs(p.exp.p) > TAME_POWER:
                return False
            # a variable exponent with a large number in it (y^(10^10 x)) is a large power at a point
            if not p.exp.is_Rational and any(abs(n.p) > TAME_POWER or n.q > TAME_POWER
                                             for n in p.exp.atoms(sympy.Rational)):
                return False
    except RecursionError:
        return False
    return True


def _small_point(point: Mapping[Any, Any]) -> bool:
    for v in point.values():
        if not (isinstance(v, sympy.Rational) and abs(v.p) < TAME_POINT * v.q
                and v.q < 10**TAME_POINT_DIGITS and abs(v.p) < 10**TAME_POINT_DIGITS):
            return False
    return True


def _digits(q: sympy.Basic) -> float:
    if isinstance(q, sympy.Rational):
        return math.log10(abs(q.p) + 1) + math.log10(q.q)
    return 17.0


def probe(expr: sympy.Basic, point: Mapping[sympy.Symbol, sympy.Basic]) -> Probe:
    """Walk ``expr`` at ``point`` (Symbols to numbers) in 53-bit arithmetic; see the module notes.

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> p = probe(sympy.exp(x), {x: sympy.Integer(1000)})
    >>> p.hazard, round(p.log10, 1)
    (False, 434.3)
    >>> probe(sympy.E ** sympy.E ** sympy.E ** sympy.E ** sympy.E, {}).hazard
    True
    """
    ctx = _ctx()
    values = {s: _mp(ctx, v) for s, v in point.items()}
    point_digits = max((_digits(v) for v in point.values()), default=1.0)
    walker = _Walker(ctx, values, max(point_digits, 1.0))
    try:
        v = walker.value(expr)
    except _OutOfReach:
        return Probe(True, None, math.inf)
    except (_NotNumeric, ZeroDivisionError, ValueError, TypeError, OverflowError, RecursionError):
        return Probe(False, None, walker.exact_digits)
    if walker.unknown or not ctx.isfinite(v):
        return Probe(False, None, walker.exact_digits)
    log10 = -math.inf if v == 0 else float(ctx.log(abs(v), 10))
    return Probe(False, log10, walker.exact_digits)


def _mp(ctx: Any, v: sympy.Basic) -> Any:
    if isinstance(v, sympy.Rational):
        return ctx.mpf(int(v.p)) / int(v.q)
    if isinstance(v, sympy.Float):
        return ctx.mpf(v._mpf_)
    c = complex(v)
    return ctx.mpc(c.real, c.imag) if c.imag else ctx.mpf(c.real)


class _Walker:
    def __init__(self, ctx: Any, point: dict, point_digits: float):
        self.ctx = ctx
        self.point = point
        self.point_digits = point_digits
        self.exact_digits = 0.0
        self.unknown = False
        self.memo: dict[sympy.Basic, Any] = {}

    def value(self, e: sympy.Basic) -> Any:
        hit = self.memo.get(e)
        if hit is not None:
            return hit
        v = self._value(e)
        if v != 0 and self.ctx.isfinite(v) and self.ctx.mag(v) > MAX_VALUE_BITS:
            raise _OutOfReach()
        self.memo[e] = v
        return v

    def reduce(self, a: Any) -> Any:
        """``a`` as an argument of a function that reduces it (exp, sin, ...): refused when huge."""
        if a != 0 and self.ctx.isfinite(a) and self.ctx.mag(a) > MAX_ARGUMENT_BITS:
            raise _OutOfReach()
        return a

    def _value(self, e: sympy.Basic) -> Any:
        ctx = self.ctx
        if e.is_Symbol:
            if e not in self.point:  # a variable without a value: a neutral stand-in, for the estimates
                self.unknown = True
                return _STAND_IN
            return self.point[e]
        if e.is_Rational:
            return ctx.mpf(int(e.p)) / int(e.q)
        if e.is_Float:
            return ctx.mpf(e._mpf_)
        if e is sympy.I:
            return ctx.mpc(0, 1)
        if e.is_NumberSymbol:
            return ctx.mpf(e.evalf(20)._mpf_)
        if e.is_Atom:
            raise _NotNumeric()  # oo, zoo, nan, other atoms
        if e.is_Add:
            return ctx.fsum(self.value(a) for a in e.args)
        if e.is_Mul:
            return ctx.fprod(self.value(a) for a in e.args)
        if e.is_Pow:
            return self._pow(e)
        fn = type(e)
        if fn in _REDUCING and len(e.args) == 1:
            a = self.reduce(self.value(e.args[0]))
            name = _REDUCING[fn]
            if name in ("sec", "csc", "coth", "sech", "csch"):
                base = {"sec": ctx.cos, "csc": ctx.sin, "coth": ctx.tanh, "sech": ctx.cosh, "csch": ctx.sinh}[name]
                return 1 / base(a)
            if name == "cot":
                return 1 / ctx.tan(a)
            return getattr(ctx, name)(a)
        if fn in _CHEAP and len(e.args) == 1:
            return getattr(ctx, _CHEAP[fn])(self.value(e.args[0]))
        if fn is sigmoid:
            return 1 / (1 + ctx.exp(-self.reduce(self.value(e.args[0]))))
        if fn is sympy.Abs:
            return abs(self.value(e.args[0]))
        if fn in (relu, step, sympy.sign, sympy.Heaviside, sympy.Max, sympy.Min, sympy.re, sympy.im):
            args = [self.value(a) for a in e.args]
            return max((abs(a) for a in args), default=ctx.mpf(0)) + 1
        if fn in (sympy.gamma, sympy.factorial) and len(e.args) == 1:
            a = self.value(e.args[0])
            if a != 0 and self.ctx.isfinite(a) and self.ctx.mag(a) > 64:
                raise _OutOfReach()
            if e.free_symbols & set(self.point):  # substituted exactly, gamma(n) is the integer (n-1)!
                size = abs(float(self.ctx.re(a)))
                self.exact_digits += size * max(1.0, math.log10(size + 1))
            return self.ctx.gamma(a + 1 if fn is sympy.factorial else a)
        if isinstance(e, sympy.Piecewise):
            return max((abs(self.value(piece.expr)) for piece in e.args), default=ctx.mpf(0))
        return self._other(e)

    def _pow(self, e: sympy.Pow) -> Any:
        ctx = self.ctx
        b = self.value(e.base)
        x = self.value(e.exp)
        if e.free_symbols & set(self.point) and ctx.isfinite(x):
            # exact substitution computes b^x with |x| times the digits of b (SymPy evaluates
            # rational powers of fractions at once)
            self.exact_digits += float(abs(ctx.re(x))) * (self.point_digits + _log10_abs(ctx, b))
        if b == 0:
            if ctx.re(x) < 0:
                raise ZeroDivisionError
            return ctx.mpf(0)
        if e.exp.is_Integer:
            if abs(int(e.exp)) * abs(ctx.mag(b)) > MAX_VALUE_BITS:
                raise _OutOfReach()
            return ctx.power(b, int(e.exp))
        # b^x = exp(x log b): the argument of exp must stay within reach
        return ctx.exp(self.reduce(x * ctx.log(b)))

    def _other(self, e: sympy.Basic) -> Any:
        """A function the walker does not know: its arguments must be small, then SymPy evaluates it."""
        ctx = self.ctx
        args = [self.value(a) for a in e.args]
        if any(a != 0 and ctx.isfinite(a) and ctx.mag(a) > 64 for a in args):
            raise _OutOfReach()
        floats = [sympy.Float(ctx.re(a), 15) + sympy.I * sympy.Float(ctx.im(a), 15) for a in args]
        try:
            v = complex(e.func(*floats).evalf(15))
        except (TypeError, ValueError, AttributeError):
            raise _NotNumeric() from None
        return ctx.mpc(v.real, v.imag) if v.imag else ctx.mpf(v.real)


def _log10_abs(ctx: Any, v: Any) -> float:
    if v == 0 or not ctx.isfinite(v):
        return 0.0
    return abs(float(ctx.mag(v))) * 0.30103


def how_to_evaluate(expr: sympy.Basic, point: Mapping[sympy.Symbol, sympy.Basic]) -> str | None:
    """``"exact"`` (substitute the exact point), ``"float"`` (substitute high-precision floats:
    exact arithmetic would produce too many digits) or ``None`` (out of reach: do not evaluate)."""
    if tame(expr) and _small_point(point):
        return "float" if _ragged_exponent(expr, point) else "exact"
    p = probe(expr, point)
    if p.hazard:
        return None
    if p.exact_digits > current().digits or _ragged_exponent(expr, point):
        return "float"
    return "exact"


#: A variable exponent whose exact value at a point has a numerator or denominator past this
#: makes the power an exact root of that order (``(5/7)^(3 (11/19)^10)``), which SymPy cannot
#: settle in reasonable time; such powers are evaluated in floating point.
RAGGED = 10 ** 6


def _ragged_exponent(expr: sympy.Basic, point: Mapping[sympy.Symbol, sympy.Basic]) -> bool:
    """Whether a power with a variable exponent gets an exponent of many digits at ``point``."""
    for p in expr.atoms(sympy.Pow):
        if not p.exp.free_symbols:
            continue
        if probe(p.exp, point).exact_digits > 50:  # the exponent itself is too long to compute exactly
            return True
        try:
            value = p.exp.xreplace(dict(point))
        except (TypeError, ValueError, ArithmeticError):
            return True
        if value.is_Rational and (abs(value.p) > RAGGED or value.q > RAGGED):
            return True
    return False


def hazard(expr: sympy.Basic, point: Mapping[sympy.Symbol, sympy.Basic]) -> bool:
    """Whether ``expr`` at ``point`` is out of reach (too large to evaluate)."""
    return how_to_evaluate(expr, point) is None


_MAY_LEAVE_REALS = (sympy.log, sympy.asin, sympy.acos, sympy.asec, sympy.acsc, sympy.acosh,
                    sympy.atanh, sympy.acoth, sympy.asech, sympy.acsch, sympy.tan, sympy.sec,
                    sympy.csc, sympy.cot, sympy.coth, sympy.csch)


def real_everywhere(expr: sympy.Basic) -> bool:
    """Whether ``expr`` is real and finite at every real point, judged from its form.

    Sums, products, positive integer powers, powers of positive bases, exp, sin,
    cos and the other functions real and finite on the whole line qualify; ``log``,
    ``1/x``, ``sqrt`` and ``tan`` do not.

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> real_everywhere(sympy.E ** sympy.exp(x) + sympy.sin(x)), real_everywhere(sympy.log(x))
    (True, False)
    """
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.Pow):
            n = node.exp
            if not (n.is_Integer and n >= 0) and node.base.is_positive is not True:
                return False
        elif isinstance(node, _MAY_LEAVE_REALS) or (node.is_Atom and node in (sympy.zoo, sympy.nan, sympy.I)):
            return False
        elif isinstance(node, sympy.Function) and not isinstance(
                node, (sympy.exp, sympy.sin, sympy.cos, sympy.sinh, sympy.cosh, sympy.tanh, sympy.sech,
                       sympy.atan, sympy.asinh, sympy.acot, sympy.Abs, sympy.erf, sigmoid, relu, step, sympy.sign)):
            return False
    return True


#: Significant digits of a value computed in floating point because its exact form would be too long.
FLOAT_DIGITS = 30


def value_at(expr: sympy.Basic, point: Mapping[sympy.Symbol, sympy.Basic], what: str = "the value") -> sympy.Basic:
    """``expr`` at ``point``: exact when that is affordable, else a 30-digit Float.

    A value out of reach raises :class:`~derivkit.errors.LimitError` (``limit="digits"``).

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> value_at(x**3 / 3, {x: sympy.Integer(2)})
    8/3
    >>> value_at(x**(10**10), {x: sympy.Integer(2)})
    4.363...e+3010299956
    >>> value_at(sympy.exp(sympy.exp(sympy.exp(sympy.exp(x)))), {x: sympy.Integer(3)})
    Traceback (most recent call last):
    ...
    derivkit.errors.LimitError: the value of exp(exp(exp(exp(x)))) at x = 3 is too large to compute
    """
    how = how_to_evaluate(expr, point)
    if how is None:
        where = ", ".join(f"{s} = {v}" for s, v in point.items())
        shown = what if what != "the value" else f"the value of {shorten(expr, 40)}"
        raise LimitError(f"{shown} at {shorten(where, 60)} is too large to compute", limit="digits",
                         value=current().digits, part=shorten(expr))
    if how == "exact":
        return expr.xreplace(dict(point)) if point else expr
    floats = {s: sympy.Float(v, FLOAT_DIGITS + 10) for s, v in point.items()}
    return sympy.N(expr.xreplace(floats), FLOAT_DIGITS)
