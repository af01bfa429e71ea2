"""check(): the second generation of scalar diagnoses, simple counterexamples, JSON numbers, bool(verdict)."""

from __future__ import annotations

import json

import pytest
import sympy
from hypothesis import given, settings, strategies as st

from derivkit import check
from derivkit.nn import softmax
from derivkit.verify.equivalence import SIMPLE_VALUES, simple_counterexample

x = sympy.Symbol("x")


# ---------------------------------------------------------------- activations and other rules

@pytest.mark.parametrize("expr, claimed, ident, said", [
    ("sigmoid(x)", "sigmoid(x)^2", "activation_derivative", "not σ(u)^2"),
    ("sigmoid(x)", "sigmoid(x)(1 + sigmoid(x))", "activation_derivative", "not σ(u)·(σ(u) + 1)"),
    ("1/(1 + e^(-x))", "sigmoid(x)^2", "activation_derivative", "not σ(u)^2"),     # the sigmoid written out
    ("sigmoid(3x)", "3 sigmoid(3x)^2", "activation_derivative", "not σ(u)^2"),    # inside a chain, the factor kept
    ("tanh(x)", "1 + tanh(x)^2", "activation_derivative", "not tanh(u)^2 + 1"),
    ("relu(x)", "relu(x)", "activation_derivative", "not relu(u)"),
    ("tan(x)", "sec(x)", "wrong_rule", "d/du tan(u) = sec(u)^2, not sec(u)"),
    ("tan(2x)", "2 sec(2x)", "wrong_rule", "not sec(u)"),
    ("sec(x)", "tan(x)", "wrong_rule", "not tan(u)"),
    ("atan(x)", "1/(1 - x^2)", "wrong_rule", "not 1/(1 - u^2)"),
    ("asin(x)", "1/sqrt(1 + x^2)", "wrong_rule", "not 1/√(u^2 + 1)"),
    ("tanh(x)", "sech(x)", "activation_derivative", "not sech(u)"),
    ("relu(x)", "1", "activation_derivative", "not 1"),
    ("e^x", "x e^(x - 1)", "power_rule_exponent", "e^u is its own derivative"),
    ("e^(x^2)", "x^2 e^(x^2 - 1)", "power_rule_exponent", "e^u is its own derivative"),
    ("2^x", "x*2^(x - 1)", "power_rule_exponent", "d/du a^u = a^u·ln(a)"),
    ("x/(x^2 + 1)", "(x^2 + 1 - 2x^2)/(x^2 + 1)", "quotient_denominator", "divides by v^2, not by v"),
    ("(x^2 + 1)/(x - 1)", "2x", "quotient_of_derivatives", "not u'/v' = 2x"),
])
def test_a_misremembered_rule_is_named(expr, claimed, ident, said):
    v = check(expr, claimed, "x")
    assert not v.ok and v.diagnosis[0] == ident, v.diagnosis
    assert said in v.message


def test_the_right_sigmoid_derivative_has_no_diagnosis():
    v = check("sigmoid(x)", "sigmoid(x)(1 - sigmoid(x))", "x")
    assert v.ok and v.diagnosis == ()


# ---------------------------------------------------------------- the quotient rule

@pytest.mark.parametrize("expr, claimed", [
    ("x/(x + 1)", "(x - (x + 1))/(x + 1)^2"),                       # also -(correct), and u'·v' = -1/(x+1)^2
    ("sin(x)/x", "(sin(x) - x cos(x))/x^2"),
    ("x^2/(x + 1)", "(x^2 - 2x(x + 1))/(x + 1)^2"),
    ("ln(sin(x)/x)", "(x/sin(x)) (sin(x) - x cos(x))/x^2"),          # a quotient inside a chain
])
def test_the_numerator_in_the_wrong_order_is_named_first(expr, claimed):
    v = check(expr, claimed, "x")
    assert v.diagnosis[0] == "quotient_order", v.diagnosis
    assert "u'·v - u·v'" in v.message and "in the wrong order" in v.message


def test_quotient_order_comes_before_product_of_derivatives():
    v = check("x/(x + 1)", "-1/(x + 1)^2", "x")
    assert v.diagnosis.index("quotient_order") < v.diagnosis.index("product_of_derivatives")


def test_quotient_with_plus_is_still_quotient_sign():
    assert check("sin(x)/x", "(x cos(x) + sin(x))/x^2", "x").diagnosis[0] == "quotient_sign"


# ---------------------------------------------------------------- the softmax Jacobian

def _softmax(n, names):
    s = sympy.symbols(names)
    return s, list(softmax(s))


def test_softmax_jacobian_without_delta():
    s, p = _softmax(3, "s_0:3")
    claimed = [[-p[a] * p[b] for b in range(3)] for a in range(3)]
    v = check(p, claimed, s)
    assert not v.ok and v.diagnosis[0] == "missing_delta"
    assert "p_a(δ_ab - p_b)" in v.message and "∂p_0/∂s_0 = p_0·(1 - p_0)" in v.message
    # Rows, columns and the p_a are all numbered from 0, as the scores are.
    assert "numbered from 0" in v.message and "at (row, column) (0, 0), (1, 1), (2, 2)" in v.message
    assert v.index_base == 0 and v.wrong_entries == ((0, 0), (1, 1), (2, 2))
    # The counterexample is at s = 0, where every p_a = 1/3: 2/9 against -1/9.
    assert v.counterexample.point == {"s_0": 0, "s_1": 0, "s_2": 0}
    assert "2/9" in v.message and "-1/9" in v.message
    assert "Counterexample: entry (row 0, column 0)" in v.to_text()


def test_softmax_jacobian_with_delta_one_everywhere():
    s, p = _softmax(2, "s_0:2")
    v = check(p, [[p[a] * (1 - p[b]) for b in range(2)] for a in range(2)], s)
    assert v.diagnosis[0] == "missing_delta" and "as 1 everywhere" in v.message
    assert "∂p_0/∂s_1 = -p_0·p_1" in v.message


def test_softmax_jacobian_numbered_from_one_with_one_based_variables():
    s, p = _softmax(2, "x1:3")
    v = check(p, [[-p[a] * p[b] for b in range(2)] for a in range(2)], s)
    assert v.index_base == 1 and v.diagnosis[0] == "missing_delta"
    assert "∂p_1/∂x1 = p_1·(1 - p_1)" in v.message and "p_1 = softmax(x1, x2)[0]" in v.message
    assert "(1, 1), (2, 2)" in v.message


def test_softmax_written_out_as_strings():
    fs = ["e^s0/(e^s0 + e^s1)", "e^s1/(e^s0 + e^s1)"]
    p0, p1 = "e^s0/(e^s0 + e^s1)", "e^s1/(e^s0 + e^s1)"
    no_delta = [[f"-({p0})^2", f"-({p0})({p1})"], [f"-({p0})({p1})", f"-({p1})^2"]]
    v = check(fs, no_delta, "s0, s1")
    assert v.diagnosis[0] == "missing_delta"
    right = [[f"({p0})(1 - {p0})", f"-({p0})({p1})"], [f"-({p0})({p1})", f"({p1})(1 - {p1})"]]
    assert check(fs, right, "s0, s1").ok


def test_a_jacobian_that_is_not_a_softmax_gets_no_missing_delta():
    v = check(["x1*x2", "x1 + x2"], [["x2", "x1"], ["1", "0"]], "x1, x2")
    assert not v.ok and "missing_delta" not in v.diagnosis


# ---------------------------------------------------------------- counterexamples at simple points

@pytest.mark.parametrize("expr, claimed, point, expected, yours", [
    ("5b^2 - 3b + 2", "10b + 3", {"b": 0}, -3, 3),
    ("ln(x)", "1/x^2", {"x": 2}, sympy.Rational(1, 2), sympy.Rational(1, 4)),    # x = 1 agrees; x <= 0 is outside
    ("sqrt(x)", "1/sqrt(x)", {"x": 1}, sympy.Rational(1, 2), 1),                 # x = 0 is outside the domain
    ("relu(x)", "2 step(x)", {"x": 1}, 1, 2),                                    # not at the kink x = 0
    ("asin(x)", "1/sqrt(1 + x^2)", {"x": sympy.Rational(1, 2)}, None, None),      # |x| < 1: a half
])
def test_the_counterexample_is_at_a_simple_point(expr, claimed, point, expected, yours):
    v = check(expr, claimed, list(point)[0])
    ce = v.counterexample
    assert ce.point == point
    if expected is not None:
        assert ce.expected_exact == expected and ce.claimed_exact == yours
        assert ce.expected == pytest.approx(float(expected)) and ce.claimed == pytest.approx(float(yours))


def test_the_counterexample_falls_back_to_the_random_point_when_no_simple_one_differs():
    # The two agree at every small integer and half (sin(pi x) = 0 there), not elsewhere.
    v = check("x^2", f"2x + sin(2 pi x)", "x")
    assert not v.ok
    assert v.counterexample.point["x"] not in SIMPLE_VALUES


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-5, 5), min_size=4, max_size=4), st.lists(st.integers(-3, 3), min_size=3, max_size=3))
def test_a_wrong_polynomial_answer_has_a_simple_counterexample(coeffs, slip):
    f = sum(c * x**k for k, c in enumerate(coeffs))
    d = sympy.diff(f, x)
    error = sum(c * x**k for k, c in enumerate(slip))
    if error == 0:
        return
    v = check(f, d + error, "x")
    assert not v.ok
    at = v.counterexample.point["x"]
    # A nonzero polynomial of degree 2 has at most 2 roots among the 17 simple values.
    assert at in SIMPLE_VALUES
    assert v.counterexample.expected_exact == d.subs(x, at)
    assert v.counterexample.claimed_exact == (d + error).subs(x, at) != d.subs(x, at)


def test_simple_counterexample_respects_the_domain():
    assert simple_counterexample(1 / x, 1 / x**2, [x], domain=[sympy.log(x)])[0] == {x: 2}
    assert simple_counterexample(sympy.sign(x), 2 * sympy.sign(x), [x])[0] == {x: 1}
    assert simple_counterexample(x, x, [x]) is None


# ---------------------------------------------------------------- messages and JSON

def test_the_message_is_in_plain_words():
    v = check("x^2", "3x", "x")
    assert v.message == ("Not right: d/dx x^2 = 2x. At x = 1 it is 2, but your answer gives 3. "
                         "Likely mistake: your answer is 3/2 times the correct derivative: a constant factor is wrong.")
    text = v.to_text()
    assert "Decided" not in text and "numeric" not in text
    assert check("x^3", "3x^2", "x").message == "Correct: d/dx x^3 = 3x^2, exactly your answer."


def test_an_answer_undefined_at_the_point_is_said_so():
    v = check("x^2", "2x + 1/(x - 1) - 1/(x - 1)", "x")      # SymPy cancels this one: right
    assert v.ok
    v = check("ln(x)", "1/(x - 2)", "x")
    assert not v.ok and v.counterexample.point == {"x": 1}


def test_json_numbers_are_floats_with_the_exact_value_beside():
    v = check("sin(x)", "-cos(x)", "x")
    d = json.loads(v.to_json())
    ce = d["counterexample"]
    assert ce["point"] == {"x": 0.0} and ce["point_exact"] == {"x": "0"}
    assert ce["expected"] == 1.0 and ce["expected_exact"] == "1"
    assert ce["claimed"] == -1.0 and ce["claimed_exact"] == "-1"
    v = check("sin(x)", "-cos(x)", "x")
    ce = json.loads(check("x^3", "x^2", "x").to_json())["counterexample"]
    assert ce["point"] == {"x": 1.0} and ce["expected"] == 3.0 and ce["claimed"] == 1.0
    # A value at a point: the numbers are floats, the exact ones beside them.
    d = json.loads(check("sin(x^2)", "-2.61", "x", at={"x": 2}).to_json())
    assert d["at"] == {"x": 2.0} and d["at_exact"] == {"x": "2"}
    assert d["expected"] == pytest.approx(-2.6145744834544478) and d["expected_exact"] == "4*cos(4)"
    assert isinstance(d["claimed"], float)


def test_json_counterexample_with_an_irrational_value():
    ce = json.loads(check("sigmoid(x)", "sigmoid(x)^2", "x").to_json())["counterexample"]
    assert ce["point_exact"] == {"x": "1"}
    assert ce["expected"] == pytest.approx(0.19661193324148185) and "sigmoid(1)" in ce["expected_exact"]
    assert ce["claimed"] == pytest.approx(0.5344466118977307) and ce["claimed_exact"] == "sigmoid(1)**2"


def test_bool_of_a_verdict_is_ok():
    assert bool(check("x^2", "2x", "x")) is True
    assert bool(check("x^2", "3x", "x")) is False
    assert not check("x^3", 13, "x", at={"x": 2})


def test_json_of_a_descent_table_has_numbers_with_exact_values():
    from derivkit import check_descent

    d = json.loads(check_descent("5b^2 - 3b + 2", "b", 4, 0.01, ["3.63", "3.279"]).to_json())
    assert d["expected"] == [3.63, 3.297] and d["expected_exact"] == ["363/100", "3297/1000"]
    assert d["claimed"] == [3.63, 3.279]
    assert d["counterexample"]["iteration"] == 2 and d["counterexample"]["expected_exact"] == "3297/1000"
