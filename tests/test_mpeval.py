"""The mpmath tree walk gives the values SymPy's evalf gives, or hands the point back to it."""

from __future__ import annotations

import mpmath
import pytest
import sympy
from hypothesis import given, settings, strategies as st

from derivkit.functions import leaky_relu, relu, sigmoid, step
from derivkit.nn import softmax
from derivkit.nn.activations import logsumexp
from derivkit.verify.equivalence import PRECISION, TOLERANCE, _SLOW, _fast_value, real_value
from derivkit.verify.mpeval import Unsupported, mp_value

x = sympy.Symbol("x")
UNARY = [sympy.sin, sympy.cos, sympy.tan, sympy.sec, sympy.csc, sympy.cot, sympy.asin, sympy.acos, sympy.atan,
         sympy.acot, sympy.sinh, sympy.cosh, sympy.tanh, sympy.coth, sympy.asinh, sympy.acosh, sympy.atanh,
         sympy.exp, sympy.log, sympy.sqrt, sympy.Abs, sympy.sign, sympy.erf, sigmoid, relu, leaky_relu, step]
LEAVES = [x, 2 * x, x + 1, -x, 3 * x - 2, x / 2, x**2, 1 - x, sympy.pi * x, sympy.E]
POINTS = [sympy.Integer(v) for v in (0, 1, -1, 2, -3)] + [sympy.Rational(p, q) for p, q in
                                                           ((1, 2), (-1, 2), (3, 2), (-1, 19), (34, 19), (5, 7))]


@st.composite
def expressions(draw, depth: int = 3):
    if depth == 0 or draw(st.integers(0, 4)) == 0:
        return draw(st.sampled_from(LEAVES))
    kind = draw(st.sampled_from(["unary", "unary", "add", "mul", "div", "pow", "max"]))
    sub = expressions(depth - 1)
    if kind == "unary":
        return draw(st.sampled_from(UNARY))(draw(sub))
    if kind == "add":
        return draw(sub) + draw(sub)
    if kind == "mul":
        return draw(sub) * draw(sub)
    if kind == "div":
        return draw(sub) / draw(sub)
    if kind == "pow":
        return draw(sub) ** draw(st.sampled_from([2, 3, -1, sympy.Rational(1, 2), sympy.Rational(-3, 2)]))
    try:
        return sympy.Max(draw(sub), draw(sub))
    except (ValueError, TypeError):
        return draw(sub)


def reference(e: sympy.Basic, point: dict):
    """The value as SymPy gives it: exact substitution, then 40-digit evalf; None if undefined or complex."""
    try:
        v = e.xreplace(point)
    except (TypeError, ValueError):  # SymPy refuses to compare an undefined argument: max(0, log 0)
        return None
    if v.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        return None
    v = sympy.N(v, PRECISION)
    if not v.is_number or v.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        return None
    re_, im_ = (sympy.N(p, PRECISION) for p in v.as_real_imag())
    if not (re_.is_Number and im_.is_Number) or abs(im_) > TOLERANCE * max(1, abs(re_)):
        return None
    return re_


@settings(max_examples=200, deadline=None)
@given(expressions(), st.sampled_from(POINTS))
def test_the_tree_walk_agrees_with_evalf(e, at):
    point = {x: at}
    fast = _fast_value(e, point)
    if fast is _SLOW:
        return                                   # handed back: real_value uses evalf
    ref = reference(e, point)
    if ref is None:
        assert fast is None, (e, at, fast)
    elif fast is None:  # SymPy may have removed a singularity the written form has: x/csc(x) is x sin(x) to it
        assert _undefined_piece(e, point), (e, at, ref)
    else:
        assert abs(fast - ref) <= sympy.Float("1e-25") * max(1, abs(ref)), (e, at, fast, ref)


def _undefined_piece(e: sympy.Basic, point: dict) -> bool:
    """Whether some function application in ``e``, as written, is undefined at ``point``."""
    for f in e.atoms(sympy.Function):
        try:
            value = sympy.N(f.xreplace(point), 20)
        except (TypeError, ValueError, ZeroDivisionError):
            return True
        if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
            return True
    return False


def test_values_by_hand():
    assert mp_value(sigmoid(x), {x: sympy.Integer(0)}) == mpmath.mpf(0.5)
    with mpmath.workdps(50):
        assert mpmath.almosteq(mp_value(relu(x) + step(x, 1) + leaky_relu(x), {x: sympy.Integer(-2)}),
                               mpmath.mpf("-0.02"), 1e-45)
    s = sympy.symbols("s_0 s_1")
    p = softmax(s)
    assert mp_value(p[0], {s[0]: sympy.Integer(0), s[1]: sympy.Integer(0)}) == mpmath.mpf(0.5)
    with mpmath.workdps(30):
        assert mpmath.almosteq(mp_value(logsumexp(*s), {s[0]: sympy.Integer(1000), s[1]: sympy.Integer(0)}),
                               mpmath.mpf(1000), 1e-25)


@pytest.mark.parametrize("e, at", [
    (sympy.tan(sympy.pi * x), sympy.Rational(1, 2)),       # a pole: 1e50 in floating point
    (sympy.log(sympy.sin(sympy.pi * x)), sympy.Integer(1)),  # log of an exact 0
    (sympy.sqrt(x), sympy.Integer(-4)),                     # complex
    (sympy.Function("f")(x), sympy.Integer(1)),             # an undefined function
])
def test_what_it_hands_back_to_sympy(e, at):
    with pytest.raises(Unsupported):
        mp_value(e, {x: at})


def test_real_value_is_right_where_the_walk_hands_back():
    assert real_value(sympy.tan(sympy.pi * x), {x: sympy.Rational(1, 2)}) is None
    assert real_value(sympy.log(sympy.sin(sympy.pi * x)), {x: 1}) is None
    assert float(real_value(sympy.Abs(sympy.sqrt(x)), {x: -4})) == 2.0     # complex on the way, real at the end
    assert float(real_value(x, {x: -4})) == -4.0                             # a plain int as the value
    assert real_value(1 / (x - 1), {x: 1}) is None
