"""Each diagnosis, on at least two cases, through check() and at the level of the detectors."""

from __future__ import annotations

import pytest
import sympy
from hypothesis import given, settings, strategies as st

from derivkit import check
from derivkit.verify.diagnosis import DIAGNOSES, diagnose, variants
from derivkit.verify.equivalence import compare

x = sympy.Symbol("x")


@pytest.mark.parametrize("expr, claimed, diagnosis", [
    # sign_error: the whole answer negated, or one function's derivative with the wrong sign
    ("cos(x)", "sin(x)", "sign_error"),
    ("x/(1 + x)", "-1/(1 + x)^2", "sign_error"),
    ("cos(3x)", "3 sin(3x)", "sign_error"),
    ("5b^2 - 3b", "10b + 3", "sign_error"),
    # constant_factor
    ("3x^2", "12x", "constant_factor"),
    ("x^4/4", "4x^3", "constant_factor"),
    ("e^(2x)", "e^(2x)", "constant_factor"),
    # missing_chain_factor: claimed = outer derivative without the inner one
    ("sin(x^2)", "cos(x^2)", "missing_chain_factor"),
    ("(3x - 2)^2", "2(3x - 2)", "missing_chain_factor"),
    ("sigmoid(2x + 1)", "sigmoid(2x + 1)(1 - sigmoid(2x + 1))", "missing_chain_factor"),
    ("ln(x^2 + 1)", "1/(x^2 + 1)", "missing_chain_factor"),
    ("1/(1 + e^(-x))", "-1/(1 + e^(-x))^2", "missing_chain_factor"),
    # missing_term: a product-rule or sum term dropped
    ("x^2 sin(x)", "x^2 cos(x)", "missing_term"),
    ("x e^x", "x e^x", "missing_term"),
    ("x^3 + sin(x)", "3x^2", "missing_term"),
    ("x^2 ln(x)", "x", "missing_term"),
    # log_base: ln confused with log10 / log2
    ("log10(x)", "1/x", "log_base"),
    ("ln(x)", "1/(x ln(10))", "log_base"),
    ("log(x, 2)", "1/x", "log_base"),
    ("ln(x^2 + 1)", "2x/((x^2 + 1) ln(2))", "log_base"),
    # power_rule_exponent
    ("x^5", "5x^5", "power_rule_exponent"),
    ("1/x^2", "-2/x", "power_rule_exponent"),
    ("sqrt(x)", "sqrt(x)/2", "power_rule_exponent"),
    # quotient_sign
    ("sin(x)/x", "(x cos(x) + sin(x))/x^2", "quotient_sign"),
    ("x/(x^2 + 1)", "(x^2 + 1 + 2x^2)/(x^2 + 1)^2", "quotient_sign"),
    # product_of_derivatives
    ("x^2 sin(x)", "2x cos(x)", "product_of_derivatives"),
    ("e^x cos(x)", "-e^x sin(x)", "product_of_derivatives"),
])
def test_diagnosis_through_check(expr, claimed, diagnosis):
    v = check(expr, claimed, "x" if "b" not in expr else "b")
    assert not v.ok
    assert diagnosis in v.diagnosis, (v.diagnosis, v.message)
    assert v.message.startswith("Not right") and "Likely mistake" in v.message


def test_diagnosis_at_a_point():
    v = check("sin(x^2)", "-0.65", "x", at={"x": 2})       # cos(4) = -0.6536: the inner 2x = 4 is missing
    assert "missing_chain_factor" in v.diagnosis
    v = check("x^5", 160, "x", at={"x": 2})                 # 5*2^5 instead of 5*2^4 = 80
    assert "power_rule_exponent" in v.diagnosis
    v = check("cos(x)", "0.909", "x", at={"x": 2})          # sin(2) instead of -sin(2)
    assert "sign_error" in v.diagnosis


@pytest.mark.parametrize("fs, claimed, wrong", [
    (["2*x1 + x2^2", "-x1^2 + 3*x2", "4*x1*x2"], [["2", "2 x2"], ["2 x1", "3"], ["4 x2", "4 x1"]], ((1, 0),)),
    (["x1*x2", "x1 + x2"], [["x2", "x2"], ["1", "1"]], ((0, 1),)),
])
def test_wrong_entry_names_the_entries(fs, claimed, wrong):
    v = check(fs, claimed, "x1, x2")
    assert v.diagnosis[0] == "wrong_entry" and v.wrong_entries == wrong


def test_wrong_entry_with_its_own_diagnosis():
    v = check(["2*x1 + x2^2", "-x1^2 + 3*x2", "4*x1*x2"], [["2", "2 x2"], ["2 x1", "3"], ["4 x2", "4 x1"]], "x1, x2")
    assert "sign_error" in v.diagnosis                       # entry (2, 1): 2 x1 instead of -2 x1
    v = check("sin(x1 x2)", ["cos(x1 x2)", "x1 cos(x1 x2)"], "x1, x2")
    assert v.diagnosis == ("wrong_entry", "missing_chain_factor") and v.wrong_entries == ((0, 0),)


@pytest.mark.parametrize("fs, claimed", [
    (["2*x1 + x2^2", "-x1^2 + 3*x2", "4*x1*x2"], [["2", "-2 x1", "4 x2"], ["2 x2", "3", "4 x1"]]),
    (["x1 + 2*x2", "3*x1 + 4*x2"], [[1, 3], [2, 4]]),
])
def test_transposed(fs, claimed):
    v = check(fs, claimed, "x1, x2")
    assert v.diagnosis == ("transposed",)


def test_every_entry_negated_is_a_sign_error():
    v = check(["x1^2", "x1 x2"], [["-2 x1", "0"], ["-x2", "-x1"]], "x1, x2")
    assert v.diagnosis == ("sign_error",)


def test_a_right_answer_has_no_diagnosis_and_an_unrelated_one_none_that_is_false():
    assert check("x^2 sin(x)", "2x sin(x) + x^2 cos(x)", "x").diagnosis == ()
    v = check("sin(x)", "x^7 + 1", "x")
    assert not v.ok and v.diagnosis == ()


def test_variants_are_real_mistakes_not_the_right_answer():
    e = sympy.sin(x**2) * sympy.exp(3 * x)
    right = sympy.diff(e, x)
    for v in variants(e, x):
        assert v.id in DIAGNOSES
        assert sympy.simplify(v.expr - right) != 0, v


def test_detector_finds_missing_chain_factor_directly():
    found = diagnose(sympy.exp(3 * x), x, 3 * sympy.exp(3 * x), sympy.exp(3 * x))
    assert [f.id for f in found] == ["missing_chain_factor", "constant_factor"]
    assert "3" in found[0].message


@pytest.mark.parametrize("expr, claimed, diagnosis", [
    ("2^x", "2^x", "exponential_rule"),
    ("10^(x^2)", "2x*10^(x^2)", "exponential_rule"),
    ("x^x", "x x^(x - 1)", "power_rule_exponent"),
])
def test_exponential_rule_and_variable_exponents(expr, claimed, diagnosis):
    v = check(expr, claimed, "x")
    assert diagnosis in v.diagnosis and "log_base" not in v.diagnosis


def test_holding_one_factor_constant_leaves_the_others_alone():
    # In x·sin(x), holding the factor x constant must not freeze the x inside sin(x).
    assert check("x sin(x)", "x cos(x)", "x").diagnosis == ("missing_term",)
    assert "missing_term" not in check("x sin(x)", "0", "x").diagnosis


@settings(max_examples=15, deadline=None)
@given(st.sampled_from([
    sympy.sin(x**2) * sympy.exp(3 * x), sympy.log(x**2 + 1) / (x + 2), (3 * x - 2) ** 4 + sympy.cos(x),
    sympy.tanh(2 * x) * x**3, sympy.sqrt(x**2 + 1) * sympy.atan(x), 2 ** x / (1 + x**2),
]), st.integers(0, 200))
def test_every_mistake_made_on_purpose_is_diagnosed(e, k):
    # Property: redo the derivative with one of the typical mistakes; check() names that mistake.
    vs = variants(e, x)
    v = vs[k % len(vs)]
    if compare(sympy.diff(e, x), v.expr, [x]).equal:
        return
    verdict = check(e, v.expr, x)
    assert not verdict.ok and v.id in verdict.diagnosis, (v, verdict.diagnosis)


def test_terms_of_the_correct_answer_dropped_or_negated():
    # d/dx (x^2 + 1)(x - 3) = 3x^2 - 6x + 1
    assert "missing_term" in check("(x^2 + 1)(x - 3)", "3x^2 - 6x", "x").diagnosis
    assert "sign_error" in check("(x^2 + 1)(x - 3)", "3x^2 - 6x - 1", "x").diagnosis
