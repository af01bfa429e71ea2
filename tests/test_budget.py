"""The budget mechanism: limits, deadlines and memory in tasks, checkpoints, child processes."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import sympy
from hypothesis import given, settings, strategies as st

import derivkit
from derivkit import budget, derive, parse
from derivkit.budget import Isolated, Limits, checkpoint, limits, run_isolated, task
from derivkit.errors import InputError, LimitError, ParseError, ParseLimitError
from derivkit.renderable import printed_size

pytestmark = pytest.mark.timeout(120)


# ---------------------------------------------------------------- limits

def test_defaults_are_documented_values():
    lim = budget.current()
    assert lim == budget.DEFAULTS == Limits()
    assert (lim.seconds, lim.order, lim.entries, lim.steps, lim.arguments) == (10.0, 50, 1000, 10_000, 32)
    assert set(budget.DESCRIPTIONS) == {f for f in Limits.__dataclass_fields__}


def test_limits_block_changes_and_restores():
    with limits(order=3, seconds=2) as lim:
        assert lim.order == 3 and budget.current().seconds == 2
        with limits(order=7):
            assert budget.current().order == 7 and budget.current().seconds == 2
        assert budget.current().order == 3
    assert budget.current() == budget.DEFAULTS


def test_top_level_name():
    with derivkit.limits(order=2):
        with pytest.raises(LimitError) as err:
            derive("x^5", "x", order=3)
    assert err.value.limit == "order" and err.value.value == 2
    # the limit named by the error is the keyword that raises it
    with derivkit.limits(**{err.value.limit: 3}):
        assert derive("x^5", "x", order=3).result == 60 * sympy.Symbol("x") ** 2


@pytest.mark.parametrize("changes, words", [
    ({"colour": 1}, "'colour' is not a limit"),
    ({"order": 0}, "positive whole number"),
    ({"order": 2.5}, "positive whole number"),
    ({"seconds": -1}, "positive number of seconds"),
    ({"seconds": float("nan")}, "positive number of seconds"),
    ({"steps": True}, "positive whole number"),
])
def test_bad_limits_refused(changes, words):
    with pytest.raises(InputError, match=words):
        with limits(**changes):
            pass


def test_set_defaults_changes_the_process_defaults():
    try:
        budget.set_defaults(order=5)
        assert budget.current().order == 5
        with limits(order=9):
            assert budget.current().order == 9
    finally:
        budget.set_defaults(order=budget.DEFAULTS.order)
    assert budget.current() == budget.DEFAULTS


def test_limits_are_per_thread():
    seen = {}

    def worker():
        seen["thread"] = budget.current().order

    with limits(order=4):
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert budget.current().order == 4
    assert seen["thread"] == budget.DEFAULTS.order


def test_limits_are_per_asyncio_task():
    async def one(order):
        with limits(order=order):
            await asyncio.sleep(0.01)
            return budget.current().order

    async def both():
        return await asyncio.gather(one(3), one(8))

    assert asyncio.run(both()) == [3, 8]


def test_refuse_above_names_limit_value_and_part():
    with pytest.raises(LimitError) as err:
        budget.refuse_above("steps", 10**9, "a descent of 1,000,000,000 steps", part="steps=1000000000")
    e = err.value
    assert (e.limit, e.value, e.part) == ("steps", 10_000, "steps=1000000000")
    assert "10,000" in str(e) and "descent steps limit" in str(e)
    assert isinstance(e, InputError)


# ---------------------------------------------------------------- deadlines

def _spin(seconds: float) -> int:
    """A cooperative loop: checkpoints until ``seconds`` have passed (or the deadline stops it)."""
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        checkpoint()
        n += 1
    return n


def test_checkpoint_outside_a_task_does_nothing():
    assert _spin(0.05) > 0


def test_deadline_stops_a_task():
    with limits(seconds=0.1):
        with pytest.raises(LimitError) as err:
            with task("the spinning loop"):
                _spin(30)
    assert err.value.limit == "seconds" and err.value.value == 0.1
    assert "the spinning loop" in str(err.value) and "time limit of 0.1 s" in str(err.value)


def test_nested_tasks_share_the_outer_deadline():
    with limits(seconds=0.2):
        with task("outer"):
            with limits(seconds=100):  # a task already running keeps its deadline
                with pytest.raises(LimitError, match="outer"):
                    with task("inner"):
                        _spin(30)


def test_deadline_works_in_a_thread():
    errors = []

    def worker():
        try:
            with limits(seconds=0.1), task("in a thread"):
                _spin(30)
        except LimitError as err:
            errors.append(err)

    t = threading.Thread(target=worker)
    t.start()
    t.join(60)
    assert len(errors) == 1 and errors[0].limit == "seconds"


def test_deadline_stops_the_step_engine():
    # a large product rule: thousands of steps, each one a checkpoint
    expr = "*".join(f"sin(x + {k})" for k in range(60))
    with limits(seconds=0.01):
        with pytest.raises(LimitError) as err:
            derive(expr, "x", order=3)
    assert err.value.limit == "seconds"


def test_remaining_and_memory_errors_become_limit_errors():
    assert budget.remaining() == budget.current().seconds
    with task("x"):
        assert 0 < budget.remaining() <= budget.current().seconds
    with pytest.raises(LimitError) as err:
        with task("a huge allocation"):
            raise MemoryError()
    assert err.value.limit == "memory"
    with pytest.raises(LimitError) as err:
        with task("deep"):
            raise RecursionError()
    assert err.value.limit == "depth"


@pytest.mark.skipif(budget._rss() is None, reason="no way to read the process size on this platform")
def test_memory_budget_stops_a_growing_task():
    hold = []
    with limits(memory=50 * 2**20):
        with pytest.raises(LimitError) as err:
            with task("a growing list"):
                for _ in range(400):  # up to 400 MiB, far past the budget
                    hold.append(bytearray(2**20))
                    for j in range(0, 2**20, 4096):
                        hold[-1][j] = 1  # touch the pages so that they count
                    time.sleep(0.002)
                    checkpoint()
    hold.clear()
    assert err.value.limit == "memory" and err.value.value == 50 * 2**20


# ---------------------------------------------------------------- child processes

def _sleep(seconds):
    time.sleep(seconds)
    return "woke"


def _allocate(mib):
    block = bytearray(mib * 2**20)
    return len(block)


def _fail():
    raise ValueError("raised in the child")


@pytest.mark.parametrize("runner", [budget._run_forked, budget._run_multiprocessing])
def test_child_process_runners(runner):
    assert runner(pow, (3, 4), 30.0, 2**30) == (True, 81)
    assert runner(_sleep, (30,), 0.3, 2**30) == (False, "timeout")
    assert runner(_allocate, (2048,), 30.0, 200 * 2**20) == (False, "memory")
    ok, exc = runner(_fail, (), 30.0, 2**30)
    assert not ok and isinstance(exc, ValueError) and "in the child" in str(exc)


def test_run_isolated_limits():
    x = sympy.Symbol("x")
    assert run_isolated(sympy.simplify, sympy.sin(x) ** 2 + sympy.cos(x) ** 2, seconds=60) == 1
    with pytest.raises(LimitError) as err:
        run_isolated(_sleep, 30, seconds=0.3)
    assert err.value.limit == "isolated_seconds"
    with pytest.raises(LimitError) as err:
        run_isolated(_allocate, 2048, memory=200 * 2**20)
    assert err.value.limit == "memory"
    with pytest.raises(ValueError, match="in the child"):
        run_isolated(_fail)


def test_run_isolated_never_runs_past_the_task_deadline():
    with limits(seconds=0.3):
        with task("x"):
            with pytest.raises(LimitError) as err:
                run_isolated(_sleep, 30, seconds=60)
    # stopped by the task's deadline: while the child starts, or while it runs (its own limit, cut to 0.3 s)
    assert err.value.limit == "seconds" or (err.value.limit == "isolated_seconds" and err.value.value <= 0.3)


def test_isolated_error_when_no_child_can_start(monkeypatch):
    # a daemonic worker (of a multiprocessing pool) with threads: no fork, no multiprocessing child
    monkeypatch.setattr(budget, "_in_daemon_process", lambda: True)
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    with pytest.raises(Isolated):
        run_isolated(pow, 2, 3)
    assert budget.try_isolated(pow, 2, 3, default="fallback") == "fallback"


def test_simplify_falls_back_to_evaluation_past_its_limit():
    from derivkit import check

    with limits(isolated_seconds=1e-6):  # simplify gets no time: evaluation decides
        v = check("tan(x)", "1 + tan(x)^2", "x")
    assert v.ok and v.method == "numeric"
    with limits(isolated_seconds=60):  # time enough on a loaded machine
        assert check("tan(x)", "1 + tan(x)^2", "x").method == "symbolic"


# ---------------------------------------------------------------- configurable parser limits

def test_parser_reads_the_limits_in_force():
    assert parse("x" * 20) == sympy.Symbol("x" * 20)
    with limits(length=10):
        with pytest.raises(ParseLimitError) as err:
            parse("x" * 20)
    assert err.value.limit == "length" and err.value.value == 10 and isinstance(err.value, ParseError)
    with limits(depth=5):
        with pytest.raises(ParseLimitError) as err:
            parse("((((((x))))))")
    assert err.value.limit == "depth"
    with limits(digits=10):
        with pytest.raises(ParseLimitError) as err:
            parse("12345678901")
    assert err.value.limit == "digits"
    with limits(tower=2):
        with pytest.raises(ParseLimitError) as err:
            parse("x^x^x^x")  # three levels of variable exponents
    assert err.value.limit == "tower"
    x = sympy.Symbol("x")
    assert parse("x^x^x^x") == x ** x ** x ** x


# ---------------------------------------------------------------- printing estimate

@pytest.mark.parametrize("make", [
    lambda: derive("x^2 sin(x)", "x"),
    lambda: derive("exp(x^2) sin(x)", "x", order=4),
    lambda: derive("sigmoid(3x + 1)", "x"),
    lambda: derivkit.hessian("x*y*z + x^2", "x, y, z"),
    lambda: derivkit.chain({"y": "3x - 2", "z": "y^2"}, "x"),
])
@pytest.mark.parametrize("fmt", ["text", "latex", "json"])
def test_printed_size_estimates_the_printout(make, fmt):
    obj = make()
    actual = len(obj.render(fmt))
    estimate = printed_size(obj, fmt)
    assert actual / 4 <= estimate <= actual * 4


def test_printing_limit_refuses_before_printing():
    d = derive("exp(x^2) sin(x)", "x", order=4)
    with limits(printed=1000):
        with pytest.raises(LimitError) as err:
            d.to_text()
    assert err.value.limit == "printed" and err.value.value == 1000
    assert "printing this Derivation as text" in str(err.value)
    assert d.to_text()  # under the default limit


# ---------------------------------------------------------------- the magnitude probe

_x = sympy.Symbol("x")
_leaves = st.sampled_from([_x, _x + 1, 2 * _x - 3, sympy.Rational(1, 3), sympy.pi])
_functions = st.sampled_from([sympy.sin, sympy.exp, sympy.atan, sympy.cosh])


def _grammar(functions_inside: bool):
    # sin of a large argument is not known to 53 bits (the probe's precision): the
    # measuring test applies functions to the leaves only, the value test anywhere
    def extend(inner):
        unary = st.tuples(_functions, inner if functions_inside else _leaves).map(lambda fa: fa[0](fa[1]))
        return st.one_of(
            st.tuples(inner, inner).map(lambda ab: ab[0] + ab[1]),
            st.tuples(inner, inner).map(lambda ab: ab[0] * ab[1]),
            st.tuples(inner, st.integers(-6, 6)).map(lambda ab: ab[0] ** ab[1]),
            unary,
        )

    return st.recursive(_leaves, extend, max_leaves=6)


_exprs = _grammar(True)
_measurable = _grammar(False)
_points = st.fractions(-5, 5, max_denominator=23).map(lambda f: sympy.Rational(f.numerator, f.denominator))


@settings(max_examples=200, deadline=None)
@given(_measurable, _points)
def test_probe_measures_what_sympy_computes(expr, point):
    """Where a value is in reach, the probe's size agrees with SymPy's 40-digit value."""
    from derivkit.magnitude import probe

    at = {_x: point}
    try:
        exact = expr.xreplace(at)
    except ZeroDivisionError:
        return
    if exact.has(sympy.zoo, sympy.nan, sympy.oo) or not exact.is_number:
        return
    p = probe(expr, at)
    if p.hazard:  # out of reach: a value or an argument of exp/sin beyond 2^(2^40) or 2^4000 (see below)
        return
    value = abs(sympy.N(exact, 40))
    if value > 1e-12 and p.log10 is not None:
        assert abs(p.log10 - sympy.N(sympy.log(value, 10), 20)) < 1e-6 * max(1.0, abs(p.log10))


def test_probe_hazards_are_values_out_of_reach():
    from derivkit.magnitude import hazard, probe

    x = _x
    assert hazard(sympy.exp(sympy.exp(x**3)), {x: sympy.Rational(7, 2)})  # e^(e^42.9): 10^(1.7e18) digits
    assert not hazard(sympy.exp(sympy.exp(2 * x)), {x: sympy.Rational(7, 2)})  # e^(e^7) = 1.8e476
    assert hazard(sympy.sin(x ** (10**10)), {x: sympy.Rational(34, 19)})  # sin of a 2.5e9-digit number
    assert not hazard(sympy.sin(x ** 1000), {x: sympy.Rational(34, 19)})
    assert probe(x ** (10**10), {x: sympy.Integer(2)}).log10 == pytest.approx(10**10 * 0.30103, rel=1e-4)


@settings(max_examples=200, deadline=None)
@given(_exprs, _points)
def test_real_value_unchanged_for_tame_expressions(expr, point):
    """The probe never changes a value: exact substitution and 40 digits, as before it."""
    from derivkit.magnitude import hazard
    from derivkit.verify.equivalence import PRECISION, real_value

    at = {_x: point}
    got = real_value(expr, at)
    if hazard(expr, at):  # out of reach: given up (and SymPy, the oracle, would not return either)
        assert got is None
        return
    try:
        v = sympy.N(expr.xreplace(at), PRECISION)
        re_, im_ = (sympy.N(t, PRECISION) for t in v.as_real_imag())
        want = re_ if re_.is_Number and im_.is_Number and abs(im_) <= 1e-20 * max(1, abs(re_)) else None
    except (TypeError, ValueError, ZeroDivisionError, ArithmeticError, AttributeError):
        want = None
    if want is None or v.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        return
    assert got is not None and abs(got - want) <= 1e-30 * max(1, abs(want))


def test_time_limit_while_printing_names_what_was_printed():
    d = derive("exp(x^2) sin(x)", "x", order=6)
    with limits(seconds=1e-4):
        with pytest.raises(LimitError) as err:
            d.to_text()
    assert err.value.limit == "seconds" and "printing a Derivation" in str(err.value)
