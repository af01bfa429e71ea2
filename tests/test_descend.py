"""descend: the course's exercise (worked-examples.md §4), exactly."""

from __future__ import annotations

import json

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from derivkit.errors import InputError
from derivkit.training.descend import decimal, descend

b, x1, x2 = sympy.symbols("b x1 x2")
F = 5 * b**2 - 3 * b + 2  # f'(b) = 10 b - 3, minimum at b = 3/10


def points(d):
    return [row.point for row in d.rows]


def test_exercise_alpha_001_exact():
    d = descend(F, "b", start=4, lr=0.01, steps=3)
    assert points(d) == [sympy.Rational(363, 100), sympy.Rational(3297, 1000), sympy.Rational(29973, 10000)]
    assert d.final == sympy.Rational(29973, 10000)
    assert [r.gradient for r in d.rows] == [37, sympy.Rational(333, 10), sympy.Rational(2997, 100)]
    assert d.rows[0].value == F.subs(b, sympy.Rational(363, 100))
    assert d.exact and not d.diverged
    assert d.start == 4 and d.start_value == 70


def test_exercise_alpha_01_reaches_minimum_in_one_step():
    d = descend(F, b, start=4, lr=0.1, steps=3)
    assert points(d) == [sympy.Rational(3, 10)] * 3
    assert [r.gradient for r in d.rows][1:] == [0, 0]
    assert not d.diverged


def test_exercise_alpha_1_diverges_and_keeps_rows():
    d = descend(F, "b", start=4, lr=1, steps=3)
    assert points(d) == [-33, 300, -2697]
    assert d.diverged
    assert "rose" in d.reason and "alpha = 1" in d.reason


def test_alpha_1_long_run_stops_early():
    d = descend(F, "b", start=4, lr=1, steps=50)
    assert d.diverged and len(d.rows) == 3


def test_float_learning_rate_is_the_decimal_typed():
    d = descend(F, "b", start=4, lr=0.01, steps=1)
    assert d.lr == sympy.Rational(1, 100)
    assert d.final == sympy.Rational(363, 100)


def test_momentum_matches_formula_by_hand():
    # b1 = 4 - 0.01*37 = 3.63 (Δb = 0); b2 = 3.63 - 0.01*33.3 + 0.5*(3.63 - 4) = 3.112
    # b3 = 3.112 - 0.01*28.12 + 0.5*(3.112 - 3.63) = 2.5718
    d = descend(F, "b", start=4, lr=0.01, steps=3, momentum=0.5)
    assert points(d) == [sympy.Rational("3.63"), sympy.Rational("3.112"), sympy.Rational("2.5718")]
    assert d.rows[1].momentum_term == sympy.Rational("-0.185")


def test_momentum_recurrence_property():
    d = descend(F, "b", start=4, lr=sympy.Rational(1, 50), steps=6, momentum=sympy.Rational(9, 10))
    pts = list(d.points)
    for r in range(1, len(pts) - 1):
        expected = pts[r] - sympy.Rational(1, 50) * (10 * pts[r] - 3) + sympy.Rational(9, 10) * (pts[r] - pts[r - 1])
        assert pts[r + 1] == expected


def test_several_variables_dict_and_tuple():
    f = x1**2 + 2 * x2**2
    d1 = descend(f, "x1,x2", start={"x1": 1, "x2": 1}, lr=0.1, steps=2)
    d2 = descend(f, [x1, x2], start=(1, 1), lr=0.1, steps=2)
    assert d1.rows[0].gradient == (2, 4)
    assert d1.final == d2.final == (sympy.Rational(16, 25), sympy.Rational(9, 25))


def test_inexact_function_continues_with_floats():
    d = descend(sympy.cos(b), "b", start=1, lr=sympy.Rational(1, 2), steps=40)
    assert not d.exact
    assert float(d.final) == pytest.approx(float(sympy.pi), abs=1e-6)


def test_blow_up_detected_by_bound():
    d = descend(sympy.exp(b), "b", start=0, lr=1, steps=5, patience=100)
    assert not d.diverged  # exp decreases towards -oo without blowing up
    d = descend(-b**4, "b", start=2, lr=1, steps=20, patience=100)
    assert d.diverged and "grew past" in d.reason


def test_non_finite_gradient_stops():
    d = descend(sympy.sqrt(b), "b", start=1, lr=2, steps=3)
    assert d.diverged and "not a finite number" in d.reason


@settings(max_examples=25)
@given(st.integers(min_value=1, max_value=19))
def test_quadratic_converges_iff_lr_below_two_over_curvature(k):
    # f'' = 10: descent converges for alpha < 0.2 and diverges above.
    lr = sympy.Rational(k, 100)
    d = descend(F, "b", start=4, lr=lr, steps=3)
    assert not d.diverged
    d = descend(F, "b", start=4, lr=sympy.Rational(20 + k, 100), steps=3)
    assert d.diverged


def test_bad_inputs():
    with pytest.raises(InputError, match="steps"):
        descend(F, "b", 4, 0.1, -1)
    with pytest.raises(InputError, match="learning rate"):
        descend(F, "b", 4, 0, 3)
    with pytest.raises(InputError, match="no value for x2"):
        descend(x1 + x2, "x1,x2", {"x1": 1}, 0.1, 1)
    with pytest.raises(InputError, match="y"):
        descend(x1 + sympy.Symbol("y"), "x1", 1, 0.1, 1)
    with pytest.raises(InputError, match="2 values"):
        descend(x1 + x2 + b, "x1,x2,b", (1, 2), 0.1, 1)


def test_renderings_write_out_the_substitution():
    d = descend(F, "b", start=4, lr=0.01, steps=3)
    text = d.to_text()
    assert "b1 = 4 - 0.01·37 = 3.63" in text
    assert "b3 = 3.297 - 0.01·29.97 = 2.9973" in text
    assert r"b_{1} = 4 - 0.01 \cdot 37 = 3.63" in d.to_markdown()
    assert r"\begin{array}" in d.to_latex()
    data = json.loads(d.to_json())
    assert data["final"] == "29973/10000" and data["rows"][0]["gradient"] == 37
    m = descend(F, "b", start=4, lr=0.01, steps=2, momentum=0.5).to_text()
    assert "b2 = 3.63 - 0.01·33.3 + 0.5·(-0.37) = 3.112" in m
    assert "Diverged" in descend(F, "b", start=4, lr=1, steps=3).to_text()


def test_decimal_formatting():
    assert decimal(sympy.Rational(29973, 10000)) == "2.9973"
    assert decimal(sympy.Rational(-37, 100)) == "-0.37"
    assert decimal(sympy.Rational(1, 8)) == "0.125"
    assert decimal(sympy.Rational(2, 3)) == "0.666667"


def test_string_input():
    pytest.importorskip("derivkit.parsing")
    d = descend("5*b**2 - 3*b + 2", "b", start=4, lr=0.01, steps=3)
    assert d.final == sympy.Rational(29973, 10000)


def test_long_run_switches_to_floats_but_keeps_early_rows_exact():
    d = descend(F, "b", start=4, lr=0.01, steps=200)
    assert not d.exact and not d.diverged
    assert d.rows[2].point == sympy.Rational(29973, 10000)
    assert d.rows[-1].point.is_Float
    assert float(d.final) == pytest.approx(0.3 + 3.7 * 0.9**200, rel=1e-9)
