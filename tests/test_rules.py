"""The rule table: complete, correct against sympy.diff, domains as in worked-examples.md §1."""

from __future__ import annotations

import json

import pytest
import sympy

from derivkit.functions import leaky_relu, relu, sigmoid, step
from derivkit.rules import FAMILIES, RULES, local_derivative, rule_for

API_IDS = (
    "constant, variable, constant_multiple, sum, difference, product, quotient, power, chain, exp, "
    "exponential, log, log_base, sin, cos, tan, csc, sec, cot, asin, acos, atan, acot, asec, acsc, "
    "sinh, cosh, tanh, csch, sech, coth, asinh, acosh, atanh, acsch, asech, acoth, sqrt, abs, sigmoid, "
    "relu, step, max, min, piecewise, general_power, undefined_function, rewrite, simplify"
).split(", ")

u = sympy.Symbol("u")

# A point inside each function's domain (real-valued there).
POINTS = {
    "asin": 0.3, "acos": -0.4, "asec": 2.5, "acsc": -1.7, "acosh": 1.9, "atanh": 0.6,
    "asech": 0.35, "acoth": 2.2, "acsch": -0.8, "log": 2.0,
}


def test_every_api_rule_id_has_an_entry():
    assert set(API_IDS) <= set(RULES)
    assert {"leaky_relu", "higher_order", "sympy"} <= set(RULES)


def test_entries_are_complete():
    for rid, rule in RULES.items():
        assert rule.id == rid
        assert rule.family in FAMILIES
        assert rule.name and rule.text and rule.latex
        json.dumps(rule.to_dict())


@pytest.mark.parametrize("rule", [r for r in RULES.values() if r.function is not None and r.derivative is not None],
                         ids=lambda r: r.id)
def test_function_derivative_equals_sympy(rule):
    x0 = POINTS.get(rule.id, 0.7)
    for point in (x0, x0 * 1.1):
        expected = sympy.diff(rule.function(u), u)
        if rule.function is sympy.Abs:
            expected = sympy.sign(u)
        if rule.function is sympy.sign:
            expected = sympy.S.Zero  # 2*DiracDelta(u), zero away from u = 0
        if rule.function in (relu, step, leaky_relu):
            expected = expected.subs(step(u), 1)  # at a point u > 0
        got = local_derivative(rule.function, (u,))
        a = complex(expected.subs(u, point).evalf())
        b = complex(got.subs(u, point).evalf())
        assert abs(a - b) < 1e-12, (rule.id, point, a, b)
        assert abs(b.imag) < 1e-12  # real inside the domain


def test_statements_and_domains_follow_the_course():
    assert RULES["acosh"].domain == "x > 1"
    assert RULES["atanh"].domain == "|x| < 1"
    assert RULES["asech"].domain == "0 < x < 1"
    assert RULES["acoth"].domain == "|x| > 1"
    assert RULES["log"].domain == "x > 0"
    assert "|x| sqrt(x^2 - 1)" in RULES["asec"].text
    assert "|x| sqrt(1 + x^2)" in RULES["acsch"].text
    assert RULES["tanh"].text.endswith("1 - tanh(x)^2") and "sech" in RULES["tanh"].text
    assert RULES["quotient"].text == "(f/g)' = (g f' - f g')/g^2"
    assert RULES["exponential"].text == "d/dx a^x = a^x ln a"


def test_teaching_forms():
    assert local_derivative(sigmoid, (u,)) == sigmoid(u) * (1 - sigmoid(u))
    assert local_derivative(sympy.tanh, (u,)) == 1 - sympy.tanh(u) ** 2
    assert local_derivative(relu, (u,)) == step(u)
    assert local_derivative(step, (u, 2)) == 0
    assert local_derivative(sympy.asec, (u,)) == 1 / (sympy.Abs(u) * sympy.sqrt(u**2 - 1))
    assert local_derivative(sympy.sin(u), (u,)) == sympy.cos(u)


def test_non_smooth_rules_name_their_points():
    for rid in ("abs", "relu", "step", "max", "min", "piecewise", "leaky_relu"):
        assert RULES[rid].nondifferentiable, rid
    assert RULES["relu"].kink(u) == sympy.Eq(u, 0)
    assert RULES["step"].kink(u, 2) == sympy.Eq(u, 2)
    assert "0 wherever it exists" in RULES["step"].text and "gradient descent" in RULES["step"].text


def test_conditions_are_stated_for_an_argument():
    assert RULES["log"].condition(u**2 + 1) == (u**2 + 1 > 0)
    assert RULES["atanh"].condition(2 * u) == (sympy.Abs(2 * u) < 1)


def test_rule_for_and_unknown_functions():
    assert rule_for(sympy.exp(u)).id == "exp"
    assert rule_for(sympy.Abs).id == "abs"
    assert rule_for(sympy.Max(u, 0)).id == "max"
    assert rule_for(sympy.erf(u)) is None
    assert rule_for(u + 1) is None
    with pytest.raises(KeyError, match="erf"):
        local_derivative(sympy.erf, (u,))
