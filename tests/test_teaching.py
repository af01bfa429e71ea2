"""First principles, tangent lines, critical points and the picture of f and f'."""

from __future__ import annotations

import sympy
import pytest
from hypothesis import given, settings, strategies as st

from derivkit import critical_points, derive, first_principles, parse, tangent_line
from derivkit.calculus.kinks import always_true, can_hold, kink_points, piecewise_conditions, real_roots
from derivkit.calculus.simplify import same_value
from derivkit.errors import DomainError, InputError
from derivkit.functions import relu

x = sympy.Symbol("x")


# ---------------------------------------------------------------- first principles


@pytest.mark.parametrize("text,expected", [
    ("x^2", "2x"), ("x^3", "3x^2"), ("1/x", "-1/x^2"), ("sqrt(x)", "1/(2sqrt(x))"), ("sin(x)", "cos(x)"),
    ("cos(x)", "-sin(x)"), ("e^x", "e^x"), ("ln(x)", "1/x"), ("3x^2 - 4x + 1", "6x - 4"), ("5", "0"),
    ("(x + 1)/(x - 1)", "-2/(x - 1)^2"), ("x^3 + 2cos(x)", "3x^2 - 2sin(x)"), ("4e^x - sqrt(x)", "4e^x - 1/(2sqrt(x))"),
])
def test_first_principles_gives_the_derivative(text, expected):
    d = first_principles(text, "x")
    assert same_value(d.result, parse(expected))
    assert d.rules[0] == "limit" and d.rules[1] == "difference_quotient" and d.rules[-1] == "limit"
    assert d.method == "first_principles"


def test_every_algebra_step_of_first_principles_is_an_equality():
    for text in ("x^3 - x", "1/x", "sin(x) + x^2", "sqrt(x)", "ln(x)", "e^x"):
        d = first_principles(text, "x")
        for s in d.steps.substeps:
            if s.rule in ("rewrite", "simplify"):
                assert same_value(s.expr, s.result), (text, s.expr, s.result)


def test_first_principles_at_a_point_is_worked_with_numbers():
    d = first_principles("x^2", "x", at=3)
    assert d.result == 6 and d.point == ((x, 3),)
    text = d.to_text()
    assert "(f(3 + h) - f(3))/h" in text and "lim_(h→0) (h + 6) = 6" in text
    assert "6 at x = 3" in text.splitlines()[-1]
    assert first_principles("sqrt(x)", "x", at=4).result == sympy.Rational(1, 4)


def test_first_principles_refuses_what_it_does_not_work():
    with pytest.raises(InputError, match="tan"):
        first_principles("tan(x)", "x")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-6, 6), min_size=1, max_size=5), st.sampled_from(["", "sin", "cos", "exp"]),
       st.integers(-3, 3))
def test_first_principles_equals_diff_on_random_sums(coeffs, fn, c):
    f = sum(k * x**i for i, k in enumerate(coeffs))
    if fn:
        f += c * getattr(sympy, fn)(x)
    d = first_principles(f, x)
    assert sympy.simplify(d.result - sympy.diff(f, x)) == 0


# ---------------------------------------------------------------- tangent lines


def test_tangent_line_by_hand():
    slope, line = tangent_line("x^2", "x", at=3)
    assert (slope, line) == (6, 6 * x - 9)
    t = tangent_line("sin(x)", "x", {"x": 0})
    assert t.line == x and t.value == 0
    assert tangent_line("e^x", "x", at=0).line == x + 1
    assert tangent_line("x^3 - 2x", "x", at=-1).line == x + 2
    assert "y = 9 + 6(x - 3)" in tangent_line("x^2", "x", 3).to_text()


def test_no_tangent_where_f_is_not_differentiable():
    with pytest.raises(DomainError, match="corner"):
        tangent_line("abs(x)", "x", at=0)
    with pytest.raises(DomainError, match="not defined"):
        tangent_line("1/x", "x", at=0)
    with pytest.raises(DomainError, match="vertical"):
        tangent_line("x^(1/3)", "x", at=0)


# ---------------------------------------------------------------- critical points


def test_critical_points_by_hand():
    cp = critical_points("5b^2 - 3b + 2", "b")
    assert [(p.x, p.kind, p.value) for p in cp] == [(sympy.Rational(3, 10), "minimum", sympy.Rational(31, 20))]
    assert [(p.x, p.kind) for p in critical_points("x^3 - 3x", "x")] == [(-1, "maximum"), (1, "minimum")]
    assert [(p.x, p.kind) for p in critical_points("x^3", "x")] == [(0, "neither")]
    assert [(p.x, p.kind) for p in critical_points("x^4", "x")] == [(0, "minimum")]  # f''(0) = 0: first derivative test
    assert [(p.x, p.kind, p.reason) for p in critical_points("abs(x - 2)", "x")] == [(2, "minimum", "corner")]
    assert critical_points("x^2 + 1", "x").minima[0].value == 1
    assert list(critical_points("e^x", "x")) == []


def test_periodic_critical_points_in_a_window():
    cp = critical_points("sin(x)", "x", interval=(0, 7))
    assert [p.x for p in cp] == [sympy.pi / 2, 3 * sympy.pi / 2]
    assert [p.kind for p in cp] == ["maximum", "minimum"]
    assert "every integer k" in critical_points("cos(x)", "x").to_text()


def test_numerical_roots_when_no_exact_solution():
    cp = critical_points("x e^x - x^2", "x", interval=(-3, 3))
    assert not cp.complete or len(cp) >= 1
    for p in cp:
        assert abs(float(derive("x e^x - x^2", "x").result.subs(x, p.x))) < 1e-6


# ---------------------------------------------------------------- kinks and conditions


def test_conditions_and_kinks_are_proved():
    assert always_true(x**2 + 1 > 0) and always_true(x**2 - 2 * x + 2 > 0) and not always_true(x**2 - 1 > 0)
    assert not can_hold(sympy.Eq(x**2 + 1, 0)) and can_hold(sympy.Eq(x**2, 1))
    assert real_roots(x**3 - x, x) == [-1, 0, 1]
    assert kink_points(sympy.Abs(x) + relu(x - 1), x) == ((0, "corner"), (1, "corner"))
    assert kink_points(sympy.Abs(x) ** 2 * x, x) == ()
    conds, kinks = piecewise_conditions(sympy.Piecewise((x**2, x < 1), (2 * x - 1, True)), [2 * x, sympy.S(2)], x)
    assert kinks == []


# ---------------------------------------------------------------- the picture


def test_plot_draws_f_f_prime_the_tangent_and_the_marks(tmp_path):
    pytest.importorskip("matplotlib")
    fig = derive("abs(x - 1) + x^2/4", "x").plot(at=2, path=tmp_path / "f.png")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0].startswith("f(x) =") and labels[1].startswith("f'(x) =")
    assert any(label.startswith("tangent at x = 2: y = 2x - 2") for label in labels)
    assert any("corner" in label for label in labels) and any("minimum" in label for label in labels)
    assert (tmp_path / "f.png").stat().st_size > 1000
    with pytest.raises(InputError):
        derive("x*y", "x").plot()
