"""check_descent(): a hand-computed table of gradient-descent iterates."""

from __future__ import annotations

import pytest
import sympy

from derivkit import check_descent
from derivkit.errors import InputError

F = "5b^2 - 3b + 2"   # f'(b) = 10b - 3, the course exercise from b = 4


def test_the_course_table_is_right():
    v = check_descent(F, "b", start=4, lr=0.01, claimed=["3.63", "3.297", "2.9973"])
    assert v.ok and v.counterexample is None
    assert v.expected == (sympy.Rational(363, 100), sympy.Rational(3297, 1000), sympy.Rational(29973, 10000))
    assert check_descent(F, "b", 4, 0.01, [3.63, 3.297, 2.9973]).ok          # floats keep their decimals
    assert check_descent(F, "b", 4, 0.1, [0.3, 0.3, 0.3]).ok
    assert check_descent(F, "b", 4, "0.01", "3.63, 3.297, 2.9973").ok       # one string


def test_the_diverging_course_table_is_right_and_said_to_diverge():
    v = check_descent(F, "b", 4, 1, [-33, 300, -2697])
    assert v.ok and "diverges" in v.message
    assert check_descent(F, "b", 4, 1, [-33, 300, -2697, 24276]).ok          # b4 = -9 b3 + 3


def test_one_slip_is_named_and_later_iterates_are_right_from_it():
    # 3.63 - 0.01*(10*3.63 - 3) = 3.297; a slip writes 3.279, then 3.279 - 0.01*29.79 = 2.9811.
    v = check_descent(F, "b", 4, 0.01, ["3.63", "3.279", "2.9811"])
    assert not v.ok
    ce = v.counterexample
    assert ce.iteration == 2 and ce.expected == sympy.Rational(3297, 1000)
    assert ce.claimed == sympy.Rational(3279, 1000)
    assert v.diagnosis == ("arithmetic_slip",)
    assert [r.ok for r in v.rows] == [True, False, False]
    assert v.rows[2].consistent is True and v.rows[2].from_claimed == sympy.Rational(29811, 10000)
    assert "right given your value at iteration 2" in v.message


def test_a_slip_carried_on_wrongly_is_said():
    v = check_descent(F, "b", 4, 0.01, ["3.63", "3.279", "2.9973"])
    assert v.counterexample.iteration == 2
    assert v.rows[2].consistent is False
    assert "Iteration 3 is wrong even starting from your value" in v.message


def test_tolerance_follows_the_decimals_written():
    assert check_descent(F, "b", 4, 0.01, ["3.6", "3.3", "3.00"]).ok           # 3.63, 3.297, 2.9973 rounded
    assert not check_descent(F, "b", 4, 0.01, ["3.6", "3.2"]).ok
    assert not check_descent(F, "b", 4, 0.01, ["3.63", "3.29"]).ok             # 3.297 rounds to 3.30
    assert not check_descent(F, "b", 4, 0.01, [sympy.Rational(363, 100), 3]).ok  # an integer is exact


def test_uphill_and_missing_learning_rate_are_diagnosed():
    v = check_descent(F, "b", 4, 0.01, ["4.37"])                               # 4 + 0.37
    assert v.diagnosis == ("sign_error",)
    v = check_descent(F, "b", 4, 0.01, ["-33"])                                # 4 - 37
    assert v.diagnosis == ("missing_learning_rate",)


def test_momentum_table():
    # b1 = 3.63; b2 = 3.63 - 0.333 + 0.5*(3.63 - 4) = 3.112
    assert check_descent(F, "b", 4, 0.01, ["3.63", "3.112"], momentum=0.5).ok
    v = check_descent(F, "b", 4, 0.01, ["3.63", "3.297"], momentum=0.5)
    assert not v.ok and v.diagnosis == ("missing_momentum",)


def test_several_variables():
    # f = x^2 + y^2, grad (2x, 2y), lr 1/4: (1, 2) -> (0.5, 1) -> (0.25, 0.5)
    assert check_descent("x^2 + y^2", "x, y", (1, 2), 0.25, [(0.5, 1), (0.25, 0.5)]).ok
    v = check_descent("x^2 + y^2", "x, y", (1, 2), 0.25, [(0.5, 1), ("0.25", "0.4")])
    assert not v.ok and v.counterexample.iteration == 2
    assert v.counterexample.expected == (sympy.Rational(1, 4), sympy.Rational(1, 2))


def test_bad_tables_are_refused():
    with pytest.raises(InputError):
        check_descent(F, "b", 4, 0.01, [])
    with pytest.raises(InputError):
        check_descent("x^2 + y^2", "x, y", (1, 2), 0.25, [1, 2])
    with pytest.raises(InputError):
        check_descent(F, "b", 4, 0.01, ["3.63", "b"])


def test_a_numpy_table_is_read_with_the_decimals_of_its_floats():
    import numpy as np
    assert check_descent(F, "b", 4, 0.01, np.array([3.63, 3.297, 2.9973])).ok
    assert not check_descent(F, "b", 4, 0.01, np.array([3.63, 3.279])).ok


def test_momentum_table_with_a_slip_is_continued_from_the_claimed_values():
    # Correct: 3.63, 3.112. A slip writes 3.2; from it: 3.2 - 0.01*(32 - 3) + 0.5*(3.2 - 3.63) = 2.695
    v = check_descent(F, "b", 4, 0.01, ["3.63", "3.2", "2.695"], momentum=0.5)
    assert v.counterexample.iteration == 2
    assert v.rows[2].from_claimed == sympy.Rational(2695, 1000) and v.rows[2].consistent
    assert "right given your value at iteration 2" in v.message
