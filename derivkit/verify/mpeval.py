"""Evaluating an expression at a point in high precision, fast: a walk of the tree in mpmath.

:func:`derivkit.verify.equivalence.real_value` decides every comparison of two
answers, at a dozen points each, and SymPy's ``evalf`` spends milliseconds on
each (more for the sigmoid and the softmax, which it evaluates through their
definitions). :func:`mp_value` walks the expression once and computes each node
with the matching mpmath function, at :data:`WORKING_DIGITS` digits, with the
point's exact rationals as the leaves: the same number, a hundred times sooner.
No code is generated or executed: every node type it knows is a table entry,
and for any other (an undefined function, a derivative left unevaluated, a
special function not in the table) it raises :class:`Unsupported`, and the
caller falls back to ``evalf``. So it does for a complex value on the way
(where branch cuts decide) and for a value that may hide an exact answer:
beyond ``1e30`` (``tan`` next to its pole ``pi/2``) or, not zero, below
``1e-30`` (``sin(pi)``), where SymPy's exact arithmetic knows better.

>>> import sympy
>>> from derivkit.functions import sigmoid
>>> x = sympy.Symbol("x")
>>> mp_value(sigmoid(x) * (1 - sigmoid(x)), {x: sympy.Integer(0)})
mpf('0.25')
>>> mp_value(sympy.sqrt(x), {x: sympy.Integer(-4)})
Traceback (most recent call last):
...
derivkit.verify.mpeval.Unsupported: a complex value
"""

from __future__ import annotations

from typing import Any, Callable

import mpmath
import sympy

from derivkit.functions import identity, leaky_relu, relu, sigmoid, step

__all__ = ["mp_value", "Unsupported", "WORKING_DIGITS"]

#: Digits mpmath works with (the comparison needs 20 of them to agree).
WORKING_DIGITS = 50

_mp = mpmath.mp


class Unsupported(Exception):
    """The expression has a node this evaluator does not know: use ``evalf``."""


def _step(x, t=0):
    return _mp.mpf(1) if x >= t else _mp.mpf(0)


def _leaky(x, a=None):
    a = _mp.mpf(leaky_relu.default_slope.p) / leaky_relu.default_slope.q if a is None else a
    return x if x >= 0 else a * x


def _finite(values: tuple) -> tuple:
    """The arguments of max/min, all finite: ``max(x, log x)`` is undefined at 0, not 0."""
    if not all(_mp.isfinite(v) for v in values):
        raise ZeroDivisionError("an argument of max or min is undefined here")
    return values


def _logsumexp(*s):
    m = max(s)
    return m + _mp.log(_mp.fsum(_mp.exp(v - m) for v in s))


def _softmax_entry(k, *s):
    return _mp.exp(s[int(k)] - _logsumexp(*s))


def _heaviside(x, h0=None):
    if x == 0:
        if h0 is None:
            raise Unsupported("Heaviside at 0 without its value there")
        return h0
    return _mp.mpf(1) if x > 0 else _mp.mpf(0)


def _sign(x):
    return _mp.mpf((x > 0) - (x < 0))


_FUNCTIONS: dict[type, Callable[..., Any]] = {
    sympy.exp: _mp.exp, sympy.log: _mp.log,
    sympy.sin: _mp.sin, sympy.cos: _mp.cos, sympy.tan: _mp.tan,
    sympy.cot: _mp.cot, sympy.sec: _mp.sec, sympy.csc: _mp.csc,
    sympy.asin: _mp.asin, sympy.acos: _mp.acos, sympy.atan: _mp.atan,
    sympy.acot: _mp.acot, sympy.asec: _mp.asec, sympy.acsc: _mp.acsc,
    sympy.sinh: _mp.sinh, sympy.cosh: _mp.cosh, sympy.tanh: _mp.tanh,
    sympy.coth: _mp.coth, sympy.sech: _mp.sech, sympy.csch: _mp.csch,
    sympy.asinh: _mp.asinh, sympy.acosh: _mp.acosh, sympy.atanh: _mp.atanh,
    sympy.acoth: _mp.acoth, sympy.asech: _mp.asech, sympy.acsch: _mp.acsch,
    sympy.erf: _mp.erf, sympy.erfc: _mp.erfc, sympy.gamma: _mp.gamma,
    sympy.Abs: _mp.fabs, sympy.sign: _sign, sympy.Heaviside: _heaviside,
    sympy.Max: lambda *a: max(_finite(a)), sympy.Min: lambda *a: min(_finite(a)),
    sigmoid: lambda x: 1 / (1 + _mp.exp(-x)),
    relu: lambda x: x if x >= 0 else _mp.mpf(0),
    step: _step, leaky_relu: _leaky, identity: lambda x: x,
}
# softmax and logsumexp live with the networks; known here by their module and name.
_BY_NAME = {("derivkit.nn.activations", "softmax_entry"): _softmax_entry,
            ("derivkit.nn.activations", "logsumexp"): _logsumexp}
_CONSTANTS = {sympy.pi: lambda: +_mp.pi, sympy.E: lambda: +_mp.e, sympy.EulerGamma: lambda: +_mp.euler,
              sympy.I: lambda: _mp.mpc(0, 1)}
_RELATIONS = {sympy.StrictLessThan: lambda a, b: a < b, sympy.LessThan: lambda a, b: a <= b,
              sympy.StrictGreaterThan: lambda a, b: a > b, sympy.GreaterThan: lambda a, b: a >= b,
              sympy.Equality: lambda a, b: a == b, sympy.Unequality: lambda a, b: a != b}


def _truth(cond: sympy.Basic, point: dict) -> bool:
    if cond is sympy.true:
        return True
    if cond is sympy.false:
        return False
    rel = _RELATIONS.get(type(cond))
    if rel is not None:
        return bool(rel((_eval(cond.lhs, point)), (_eval(cond.rhs, point))))
    if isinstance(cond, sympy.And):
        return all(_truth(c, point) for c in cond.args)
    if isinstance(cond, sympy.Or):
        return any(_truth(c, point) for c in cond.args)
    if isinstance(cond, sympy.Not):
        return not _truth(cond.args[0], point)
    raise Unsupported(type(cond).__name__)


#: Binary exponents outside which a value may be a pole or an exact zero that rounding hides (2^100 ≈ 1e30).
_HUGE_BITS = 100


def _suspect(m: tuple) -> bool:
    """Whether the mpf tuple ``m`` (sign, mantissa, exponent, bits) is beyond 2^±100 and not zero."""
    return bool(m[1]) and abs(m[2] + m[3]) > _HUGE_BITS


def _eval(e: sympy.Basic, point: dict) -> Any:
    v = _node(e, point)
    if isinstance(v, mpmath.mpc):
        # Complex values meet branch cuts, where mpmath's and SymPy's conventions may part: SymPy decides.
        raise Unsupported("a complex value")
    if _suspect(v._mpf_):
        # tan(pi/2) comes out as 1e50, sin(pi) as 1e-50: let SymPy, which knows them exactly, decide.
        raise Unsupported("a value near a pole or near an exact zero")
    return v


def _node(e: sympy.Basic, point: dict) -> Any:
    if isinstance(e, (int, float)) and not isinstance(e, bool):  # a plain number given as a point's value
        return _mp.mpf(e)
    if e.is_Symbol:
        if e not in point:
            raise Unsupported(f"no value for {e}")
        return _eval(point[e], {})
    if e.is_Integer:
        return _mp.mpf(int(e))
    if e.is_Rational:
        return _mp.mpf(int(e.p)) / int(e.q)
    if e.is_Float:
        return _mp.mpf(e._mpf_)
    if e.is_Add:
        total = _mp.mpf(0)
        for a in e.args:
            total += _eval(a, point)
        return total
    if e.is_Mul:
        out = _mp.mpf(1)
        for a in e.args:
            out *= _eval(a, point)
        return out
    if e.is_Pow:
        base, ex = e.args
        b = _eval(base, point)
        if ex.is_Integer:
            n = int(ex)
            if n < 0 and b == 0:
                raise ZeroDivisionError("a negative power of 0")
            return b ** n
        if ex == sympy.S.Half:
            return _mp.sqrt(b)
        return _mp.power(b, _eval(ex, point))
    if isinstance(e, sympy.Piecewise):
        for value, cond in e.args:
            if _truth(cond, point):
                return _eval(value, point)
        raise Unsupported("no piece of the Piecewise applies")
    fn = _FUNCTIONS.get(type(e)) or _BY_NAME.get((type(e).__module__, type(e).__name__))
    if fn is not None:
        return fn(*[_eval(a, point) for a in e.args])
    for const, make in _CONSTANTS.items():
        if e is const:
            return make()
    raise Unsupported(type(e).__name__)


def mp_value(expr: sympy.Basic, point: dict) -> Any:
    """``expr`` at ``point`` (Symbols to exact numbers) as an mpmath number, at :data:`WORKING_DIGITS` digits.

    Raises :class:`Unsupported` for a node it does not know, for a complex value on the
    way and for a value that may hide an exact one (see the module notes), and
    ``ZeroDivisionError`` where the expression divides by zero. A result may be infinite.
    """
    with _mp.workdps(WORKING_DIGITS):
        return _eval(expr, point)
