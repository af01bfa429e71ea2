"""check(): right answers in any form are accepted, wrong ones are caught and explained."""

from __future__ import annotations

import sympy
import pytest
from hypothesis import given, settings, strategies as st

from derivkit import check, Verdict
from derivkit.errors import DomainError, InputError, ParseError, ShapeError
from derivkit.functions import sigmoid

x = sympy.Symbol("x")
F_COURSE = "(4 - 2.1 x1^2 + x1^4/3) x1^2 + x1 x2 + (-4 + 4 x2^2) x2^2"
J_COURSE = ["2*x1 + x2^2", "-x1^2 + 3*x2", "4*x1*x2"]


# ---------------------------------------------------------------- right answers, other forms

@pytest.mark.parametrize("expr, claimed", [
    ("(x + 1)^3", "3x^2 + 6x + 3"),                      # expanded vs factored
    ("x^3 + 3x^2 + 3x + 1", "3(x + 1)^2"),               # factored vs expanded
    ("sigmoid(x)", "e^(-x)/(1 + e^(-x))^2"),             # σ(1-σ) vs the exponential form
    ("1/(1 + e^(-x))", "sigmoid(x)*(1 - sigmoid(x))"),
    ("tanh(x)", "1/cosh(x)^2"),                          # 1 - tanh² vs sech²
    ("sin(x)^2", "sin(2x)"),                             # a trig identity
    ("ln(x^2)", "2/x"),
    ("x e^x", "e^x (1 + x)"),
])
def test_other_algebraic_forms_are_accepted(expr, claimed):
    v = check(expr, claimed, "x")
    assert v.ok, v.message
    assert v.diagnosis == ()
    assert v.counterexample is None


def test_sympy_objects_and_strings_mix():
    assert check(sympy.sin(x) * x, "sin(x) + x cos(x)", x).ok
    assert check("sin(x)*x", sympy.sin(x) + x * sympy.cos(x), "x").ok


def test_sqrt_of_square_is_abs_for_real_x():
    # Variables are real: x/sqrt(x^2) and x/|x| (= sign x) are the same answer.
    v = check("sqrt(x^2)", "x/abs(x)", "x")
    assert v.ok and v.method == "numeric"
    assert check("abs(x)", sympy.sign(x), "x").ok


def test_the_method_that_decided_is_named():
    assert check("x^2", "2x", "x").method == "identical"
    assert check("sin(x)^2", "2 sin(x) cos(x)", "x").method == "symbolic"


def test_latex_claims_are_read():
    assert check("sigmoid(x)", r"\frac{e^{-x}}{(1+e^{-x})^2}", "x").ok
    assert check(r"\frac{1}{1+e^{-x}}", r"\sigma(x)(1-\sigma(x))", "x").ok
    assert not check("sin(x^2)", r"\cos(x^2)", "x").ok


# ---------------------------------------------------------------- wrong answers

def test_a_wrong_answer_has_a_counterexample_with_both_values():
    v = check("5*b^2 - 3*b + 2", "10*b + 3", "b")
    assert not v.ok
    ce = v.counterexample
    b = ce.point["b"]
    assert ce.expected == pytest.approx(float(10 * b - 3))
    assert ce.claimed == pytest.approx(float(10 * b + 3))
    assert "Not right" in v.message and "10b - 3" in v.message


def test_expected_is_the_derivation_result_and_the_derivation_is_kept():
    v = check("sin(x^2)", "cos(x^2)", "x")
    assert sympy.simplify(v.expected - 2 * x * sympy.cos(x**2)) == 0
    assert v.derivation.result == v.expected
    assert "chain" in v.derivation.rules


def test_value_at_a_point_exact_and_to_the_decimals_written():
    assert check("5b^2 - 3b + 2", 37, "b", at={"b": 4}).ok                  # 10*4 - 3
    assert not check("5b^2 - 3b + 2", 38, "b", at={"b": 4}).ok
    assert check("sin(x^2)", "-2.61", "x", at={"x": 2}).ok                  # 4 cos 4 = -2.6146
    assert check("sin(x^2)", -2.615, "x", at={"x": 2}).ok
    assert not check("sin(x^2)", "-2.62", "x", at={"x": 2}).ok
    assert check("sin(x^2)", "-2.6", "x", at={"x": 2}).ok                   # one decimal: rounds to -2.6
    assert not check("sin(x^2)", "-2.7", "x", at={"x": 2}).ok
    assert check("x^3", "3*x^2", "x", at={"x": 2}).ok                      # an expression evaluated there


def test_matrix_value_at_a_point():
    v = check(F_COURSE, [[8, 1], [1, 40]], "x1, x2", at={"x1": 0, "x2": 1})
    assert v.ok and v.kind == "hessian"
    v = check(J_COURSE, "[[2, 2], [-4, 3], [4, 8]]", "x1,x2", at={"x1": 2, "x2": 1})
    assert v.ok and v.kind == "jacobian"
    v = check(J_COURSE, "[[2, 2], [-4, 3], [4, 7]]", "x1,x2", at={"x1": 2, "x2": 1})
    assert not v.ok and v.wrong_entries == ((2, 1),)


# ---------------------------------------------------------------- matrices

def test_course_gradient_and_hessian():
    g = check(F_COURSE, ["2 x1^5 - 8.4 x1^3 + 8 x1 + x2", "16 x2^3 - 8 x2 + x1"], "x1, x2")
    assert g.ok and g.kind == "gradient"
    h = check(F_COURSE, [["10 x1^4 - 25.2 x1^2 + 8", "1"], ["1", "48 x2^2 - 8"]], "x1, x2")
    assert h.ok and h.kind == "hessian"


def test_gradient_written_as_a_row_is_accepted_and_said():
    v = check("x1^2 x2", [["2 x1 x2", "x1^2"]], "x1, x2")
    assert v.ok and "row" in v.message


def test_jacobian_right_and_transposed():
    right = [["2", "2 x2"], ["-2 x1", "3"], ["4 x2", "4 x1"]]
    assert check(J_COURSE, right, "x1, x2").ok
    v = check(J_COURSE, [list(r) for r in zip(*right)], "x1, x2")
    assert not v.ok and v.diagnosis == ("transposed",)
    assert "numerator layout" in v.message


def test_square_jacobian_transposed():
    v = check(["x1 + 2*x2", "3*x1 + 4*x2"], [[1, 3], [2, 4]], "x1, x2")
    assert not v.ok and v.diagnosis == ("transposed",)


def test_wrong_entries_are_named():
    v = check(F_COURSE, [["10 x1^4 - 25.2 x1^2 + 8", "1"], ["1", "48 x2^2 + 8"]], "x1, x2")
    assert not v.ok
    assert v.wrong_entries == ((1, 1),)
    assert v.diagnosis[0] == "wrong_entry"
    assert v.counterexample.entry == (1, 1)
    assert "(2, 2)" in v.message


def test_wrong_shape_is_a_wrong_answer():
    v = check(J_COURSE, [[1, 2], [3, 4]], "x1, x2")
    assert not v.ok and "3×2" in v.message


# ---------------------------------------------------------------- bad input

def test_bad_input_raises():
    with pytest.raises(ParseError):
        check("x^2", "2x +", "x")
    with pytest.raises(InputError):
        check("x*y", "y", "x, y")            # several variables, a scalar answer
    with pytest.raises(InputError):
        check("x^2", "2x", "x", at={"z": 1})
    with pytest.raises(InputError):
        check("x^2", "2x", "x", kind="integral")
    with pytest.raises(ShapeError):
        check("x^2", [[1, 2]], "x")


def test_a_point_outside_the_domain_is_refused():
    with pytest.raises(DomainError, match="outside the domain of ln"):
        check("ln(x)", 1, "x", at={"x": -1})
    with pytest.raises(DomainError):
        check("1/x", 1, "x", at={"x": 0})
    with pytest.raises(DomainError):
        check(["ln(x1)", "x2"], [[1, 0], [0, 1]], "x1, x2", at={"x1": -1, "x2": 1})


def test_test_points_lie_in_the_domain_of_the_function():
    # 1/x is defined for x < 0, but log10(x) is not: the counterexample has x > 0.
    v = check("log10(x)", "1/x", "x")
    assert v.counterexample.point["x"] > 0


def test_verdict_is_frozen_and_renders_as_json():
    import json
    v = check("sin(x^2)", "cos(x^2)", "x")
    assert isinstance(v, Verdict)
    with pytest.raises(AttributeError):
        v.ok = True
    d = json.loads(v.to_json())
    assert d["ok"] is False and d["diagnosis"] == ["missing_chain_factor"]


# ---------------------------------------------------------------- no false verdicts

_unary = [sympy.sin, sympy.cos, sympy.exp, sympy.tanh, sigmoid, sympy.atan,
          lambda e: sympy.log(1 + e**2), lambda e: sympy.sqrt(1 + e**2)]


def _exprs():
    leaf = st.sampled_from([x, 2 * x, x + 1, x**2, 3 * x - 2, x**3])
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.tuples(st.sampled_from(_unary), inner).map(lambda t: t[0](t[1])),
            st.tuples(inner, inner).map(lambda t: t[0] * t[1]),
            st.tuples(inner, inner).map(lambda t: t[0] + t[1]),
            st.tuples(inner, inner).map(lambda t: t[0] / (1 + t[1] ** 2)),
        ),
        max_leaves=4,
    )


# A time budget: each example takes at most a few seconds (1 s of it simplify's limit).
@settings(max_examples=15, deadline=None)
@given(_exprs(), st.sampled_from(["as_is", "expand", "exp"]))
def test_the_true_derivative_in_any_form_is_always_accepted(e, form):
    d = sympy.diff(e, x)
    claimed = {"as_is": d, "expand": sympy.expand(d), "exp": d.rewrite(sympy.exp)}[form]
    v = check(e, claimed, x)
    assert v.ok, (e, claimed, v.message)


@settings(max_examples=25, deadline=None)
@given(_exprs(), st.sampled_from(["plus", "times", "plus_const"]))
def test_a_slightly_perturbed_derivative_is_never_accepted(e, how):
    d = sympy.diff(e, x)
    claimed = {"plus": d + x / 1000, "times": d * (1 + sympy.Rational(1, 1000)),
               "plus_const": d + sympy.Rational(1, 10**6)}[how]
    v = check(e, claimed, x)
    assert not v.ok, (e, claimed)
    assert v.counterexample is not None


def test_renderers_show_the_verdict_beside_the_correct_derivation():
    v = check("sin(x^2)", "cos(x^2)", "x")
    text = v.to_text()
    assert text.startswith("Not right") and "Your answer: cos(x^2)" in text
    assert "The correct derivation:" in text and "chain rule" in text
    md = v.to_markdown()
    assert md.startswith("**Not right:**") and "`missing_chain_factor`" in md and "chain rule" in md
    latex = v.to_latex()
    assert latex.startswith(r"\begin{align*}") and r"\text{correct} &= 2 x \cos" in latex
    m = check(J_COURSE, [["2", "-2 x1", "4 x2"], ["2 x2", "3", "4 x1"]], "x1, x2")
    assert "bmatrix" in m.to_markdown() and "Your answer:" in m.to_text()


def test_sympy_diff_of_abs_is_read_for_real_variables():
    # sympy.diff(|x|) speaks of re(x) and Derivative(re(x), x); for real x it is sign(x).
    assert check(sympy.Abs(x) / x, sympy.diff(sympy.Abs(x) / x, x), x).ok
    assert check(sympy.Abs(x**2 + x), sympy.diff(sympy.Abs(x**2 + x), x), x).ok


def test_points_are_found_in_a_narrow_domain():
    # acosh(acosh(x/3)) needs x/3 >= cosh(1), i.e. x > 4.6
    e = sympy.acosh(sympy.acosh(x / 3))
    v = check(e, sympy.diff(e, x).rewrite(sympy.exp), x)
    assert v.ok, v.message


x1, x2 = sympy.symbols("x1 x2")


@settings(max_examples=10, deadline=None)
@given(st.sampled_from([x1**2 * x2, sympy.sin(x1 * x2), sympy.exp(x1 - x2) + x2**3, sigmoid(x1 + 2 * x2),
                        sympy.log(1 + x1**2) * x2]),
       st.integers(0, 1))
def test_gradients_right_and_with_one_entry_perturbed(f, i):
    grad = [sympy.diff(f, v) for v in (x1, x2)]
    assert check(f, grad, [x1, x2]).ok
    grad[i] = grad[i] + x1 / 1000
    v = check(f, grad, [x1, x2])
    assert not v.ok and v.wrong_entries == ((i, 0),)


def test_higher_derivatives():
    assert check("x^4", "12x^2", "x", order=2).ok
    assert check("x^4", 48, "x", order=2, at={"x": 2}).ok
    v = check("sin(x^2)", "2cos(x^2) + 4x^2 sin(x^2)", "x", order=2)   # d/dx cos(x^2) taken as +sin
    assert not v.ok and "sign_error" in v.diagnosis and "d^2/dx^2" in v.message
    with pytest.raises(InputError):
        check("x^4", "12x^2", "x", order=0)
    with pytest.raises(InputError):
        check("x1*x2", ["x2", "x1"], "x1, x2", order=2)


def test_latex_subscripts_name_the_same_variables():
    # LaTeX x_1 and plain x1 are the same variable.
    assert check("x1^2*x2", [r"2 x_1 x_2", r"x_1^2"], "x1, x2").ok
    assert check(r"x_1^2 x_2", ["2 x1 x2", "x1^2"], "x1, x2").ok
    assert not check(r"x_1^2 x_2", ["2 x1 x2", "x1"], "x1, x2").ok
