"""The known failures of SymPy Gamma's step engine (DESIGN.md), each one derived correctly here:
asin, tanh, Abs and Max without a crash, f(x^2) keeping its inner factor, sigmoid' as
sigma(1 - sigma) rather than 1/(4 cosh^2(x/2)), and steps that agree with sympy.diff."""

from __future__ import annotations

import pytest
import sympy
from sympy import Abs, Max, Rational, asin, erf, tanh

from derivkit import derive
from derivkit.functions import sigmoid
from test_steps_properties import assert_same_derivative, assert_steps_correct

x = sympy.Symbol("x")
f = sympy.Function("f")


def test_asin():
    d = derive("asin(x)", "x")
    assert d.rules == ("asin",)
    assert d.result == 1 / sympy.sqrt(1 - x**2)
    assert d.at(x=Rational(1, 2)) == 2 / sympy.sqrt(3)
    assert any("|x| < 1" in n for n in d.notes)


def test_asin_inside_a_chain():
    d = derive(asin(3 * x**2), x)
    assert d.rules[:2] == ("chain", "asin")
    assert_same_derivative(asin(3 * x**2), x, d.result)
    assert_steps_correct(d.steps)


def test_tanh():
    d = derive("tanh(x)", "x")
    assert d.result == 1 - tanh(x) ** 2
    assert d.at(x=0) == 1
    assert not d.result.has(sympy.cosh)


def test_abs():
    d = derive("abs(x)", "x")
    assert d.rules == ("abs",)
    assert d.result == sympy.sign(x)
    assert d.at(x=-3) == -1 and d.at(x=2) == 1
    assert any("x = 0" in n for n in d.notes)


def test_abs_of_a_difference_is_the_l1_gradient():
    y, s = sympy.symbols("y s")
    d = derive(Abs(y - s), s)
    # dL/ds = -sign(y - s): -1 when s < y, +1 when s > y
    assert d.result.subs({y: 1, s: -2}) == -1 and d.result.subs({y: 1, s: 3}) == 1
    assert any("s - y = 0" in n for n in d.notes)


def test_max():
    d = derive("max(x, 0)", "x")
    assert d.rules[0] == "max"
    assert d.result.subs(x, 3) == 1 and d.result.subs(x, -3) == 0
    assert any("tie" in n for n in d.notes)


def test_hinge_loss_max():
    y, s = sympy.symbols("y s")
    d = derive(Max(0, 1 - y * s), s)
    # dL/ds = -y where 1 - y s > 0, else 0 (worked-examples §6)
    assert d.result.subs({y: 1, s: Rational(1, 2)}) == -1
    assert d.result.subs({y: 1, s: 3}) == 0


def test_erf_over_x():
    e = erf(x) / x
    d = derive("erf(x)/x", "x")
    assert d.rules[:2] == ("quotient", "sympy")
    assert sympy.simplify(d.result - sympy.diff(e, x)) == 0
    assert_steps_correct(d.steps)


def test_x_to_the_x():
    d = derive("x^x", "x")
    assert d.rules[0] == "general_power" and "rewrite" in d.rules
    assert sympy.simplify(d.result - x**x * (sympy.log(x) + 1)) == 0
    assert d.at(x=1) == 1
    assert_steps_correct(d.steps)


def test_undefined_function_keeps_the_inner_factor():
    d = derive("f(x^2)", "x")
    assert d.rules == ("chain", "undefined_function", "power")
    assert d.result == sympy.diff(f(x**2), x)
    coeff, rest = d.result.as_independent(sympy.Subs)
    assert coeff == 2 * x


def test_undefined_function_of_x():
    d = derive("f(x)", "x")
    assert d.result == sympy.Derivative(f(x), x)
    assert d.rules == ("undefined_function",)


@pytest.mark.parametrize("text", ["sigmoid(x)", "1/(1 + exp(-x))", "1/(1 + e^(-x))"])
def test_sigmoid_in_the_teachers_form(text):
    d = derive(text, "x")
    assert d.result == sigmoid(x) * (1 - sigmoid(x))
    assert not d.result.has(sympy.cosh)
    assert d.at(x=0) == Rational(1, 4)


def test_written_out_sigmoid_shows_the_rewrite_as_a_step():
    d = derive("1/(1 + exp(-x))", "x")
    assert d.rules[0] == "chain" and d.rules[-1] == "rewrite"
    last = d.steps.substeps[-1]
    assert last.rule == "rewrite"
    assert sympy.simplify(last.expr - sympy.exp(-x) / (1 + sympy.exp(-x)) ** 2) == 0
    assert last.result == sigmoid(x) * (1 - sigmoid(x))


def test_sigmoid_of_a_neuron():
    w, b = sympy.symbols("w b")
    d = derive(sigmoid(w * x + b), w)
    assert d.result == x * sigmoid(w * x + b) * (1 - sigmoid(w * x + b))


@pytest.mark.parametrize("e", [asin(x), tanh(x), Abs(x), Max(x, 0), erf(x) / x, x**x, sigmoid(x),
                               1 / (1 + sympy.exp(-x)), tanh(asin(x / 2)) * Abs(x - 1)])
def test_steps_agree_with_diff(e):
    d = derive(e, x)
    assert_same_derivative(e, x, d.result)
    assert_steps_correct(d.steps)
