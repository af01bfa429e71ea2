"""Hostile input: every string here is refused with ParseError, quickly, and runs nothing."""

from __future__ import annotations

import builtins
import os
import sys
import time

import pytest
import sympy
import sympy.parsing.sympy_parser as sympy_parser
from hypothesis import given, settings, strategies as st

import derivkit.parsing_latex  # noqa: F401  (imported here: importing runs module code)
from derivkit import ParseError, parse
from derivkit.parsing import MAX_LENGTH

SIDE_EFFECT = "/tmp/derivkit-hostile-marker"

HOSTILE = [
    # code: imports, calls of Python builtins, attribute walks
    f"__import__('os').system('touch {SIDE_EFFECT}')",
    f"os.system('touch {SIDE_EFFECT}')",
    f"open('{SIDE_EFFECT}', 'w')",
    "eval('1+1')",
    "exec('x = 1')",
    "compile('1', '', 'eval')",
    "globals()",
    "breakpoint()",
    "getattr(x, 'y')",
    "sympify(x)",
    "Symbol(x)",
    "factorial(10**6)",
    "__builtins__",
    "_x + 1",
    "x.__class__",
    "x.__class__.__bases__[0].__subclasses__()",
    "().__class__",
    # Python syntax that is not a formula
    "lambda: 0",
    "lambda x: x",
    "(lambda: 0)()",
    "[x for x in range(10)]",
    "{x: 1}",
    "'string'",
    "b'bytes'",
    "f'{x}'",
    "import os",
    "x = 1",
    "(y := 2)",
    "f(*args)",
    "f(**kw)",
    "max(x, key=abs)",
    "x; y",
    "x\nimport os",
    "x if y else z",
    "x[0]",
    "x!",
    "x @ y",
    "not x",
    # sizes that would exhaust memory or time
    "x**(10**10**10)",
    "10**10**10",
    "9**9**9**9",
    "2**(2**64)",
    "(2x)^(10^9)",
    "2^(10^9/3)",
    "10^3000 * 10^3000",
    "9" * 2000,
    "1e100000",
    "(" * 500 + "x" + ")" * 500,
    "-" * 10_000 + "x",
    "sin(" * 300 + "x" + ")" * 300,
    "x^" * 300 + "x",
    "x" * (MAX_LENGTH + 1),
    "gamma(10**6)",
    "Abs(2^(x^1024))",
    "2**2**-2**x**-2**10",
    "max(x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11)",
    "max(x1, max(x2, max(x3, max(x4, max(x5, max(x6, max(x7, max(x8, max(x9, max(x10, x11))))))))))",
]

HOSTILE_LATEX = [
    r"\input{/etc/passwd}",
    r"\write18{rm -rf /}",
    r"\def\x{1}",
    r"\sum_{i=1}^{10^{10}} i",
    r"\int_0^1 x\,dx",
    r"\lim_{x \to 0} x",
    r"2^{10^{10^{10}}}",
    "{" * 500 + "x" + "}" * 500,
    r"\frac{" * 300 + "1",
    r"\operatorname{__import__}(os)",
    r"\text{eval}(x)",
]


@pytest.fixture
def nothing_runs(monkeypatch):
    """Record any import of a dangerous module, any eval/exec, and any use of SymPy's eval-based parser."""
    events: list[str] = []
    real_import = builtins.__import__

    def guarded_import(name, *args, **kwargs):
        if name.split(".")[0] in {"os", "subprocess", "shutil", "socket", "sys", "importlib"}:
            events.append(f"import {name}")
        return real_import(name, *args, **kwargs)

    real_exec = builtins.exec
    # Python itself runs exec to load a module (SymPy imports some lazily, on first use) and to
    # make a dataclass's methods: neither is text from the input.
    runtime = ("<frozen importlib._bootstrap", "importlib", "dataclasses.py")

    def forbidden(what):
        def call(*args, **kwargs):
            caller = sys._getframe(1).f_code.co_filename
            if what == "exec" and any(part in caller for part in runtime):
                return real_exec(*args, **kwargs)
            events.append(what)
            raise AssertionError(f"{what} was called (from {caller})")

        return call

    monkeypatch.setattr(builtins, "__import__", guarded_import)
    monkeypatch.setattr(builtins, "eval", forbidden("eval"))
    monkeypatch.setattr(builtins, "exec", forbidden("exec"))
    monkeypatch.setattr(sympy_parser, "eval_expr", forbidden("sympy eval_expr"))
    monkeypatch.setattr(sympy_parser, "parse_expr", forbidden("sympy parse_expr"))
    return events


def _refused_quickly(text: str, latex: bool, events: list[str]) -> ParseError:
    if os.path.exists(SIDE_EFFECT):
        os.remove(SIDE_EFFECT)
    events.clear()
    start = time.perf_counter()
    with pytest.raises(ParseError) as info:
        parse(text, latex=latex)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"took {elapsed:.2f} s"
    assert events == []
    assert not os.path.exists(SIDE_EFFECT)
    return info.value


def test_at_least_thirty_hostile_strings():
    assert len(HOSTILE) + len(HOSTILE_LATEX) >= 30
    assert len(set(HOSTILE)) == len(HOSTILE)


@pytest.mark.parametrize("text", HOSTILE, ids=[repr(t[:30]) for t in HOSTILE])
def test_hostile_plain_input_is_refused_and_runs_nothing(text, nothing_runs):
    err = _refused_quickly(text, False, nothing_runs)
    assert err.reason  # a message a student can read


@pytest.mark.parametrize("text", HOSTILE_LATEX, ids=[repr(t[:30]) for t in HOSTILE_LATEX])
def test_hostile_latex_is_refused_and_runs_nothing(text, nothing_runs):
    _refused_quickly(text, True, nothing_runs)


def test_the_guard_itself_catches_eval(nothing_runs):
    # a check that cannot fail is no check: the fixture does see a call of eval
    with pytest.raises(AssertionError):
        builtins.eval("1")
    assert nothing_runs == ["eval"]


@pytest.mark.parametrize(
    "text, reason",
    [
        ("x.__class__", "attribute access"),
        ("__import__('os')", "starting with '_'"),
        ("eval(x)", "unknown function 'eval'"),
        ("lambda x: x", "lambdas"),
        ("'abc'", "strings"),
        ("import os", "Python keyword"),
        ("x[0]", "square brackets"),
        ("f(*x)", "starred"),
        ("max(x, key=y)", "keyword arguments"),
        ("x; y", "statements"),
        ("10**10**10", "power too large"),
        ("9" * 2000, "number too long"),
        ("(" * 500 + "x" + ")" * 500, "nested too deeply"),
        ("x" * (MAX_LENGTH + 1), "too long"),
        ("gamma(10**6)", "too large"),
        ("x = 1", "parse_equation"),
    ],
)
def test_refusals_say_why(text, reason):
    with pytest.raises(ParseError, match=reason.replace("(", r"\(").replace("*", r"\*")):
        parse(text)


def test_limits_are_not_too_tight():
    assert parse("10^3000") == sympy.Integer(10) ** 3000
    assert parse("9" * 1000) == sympy.Integer("9" * 1000)
    assert parse("x^(10^100)") == sympy.Symbol("x") ** (sympy.Integer(10) ** 100)
    assert parse("gamma(10)") == 362880
    assert parse("+".join(["x"] * 2000)) == 2000 * sympy.Symbol("x")


@settings(max_examples=300)
@given(st.text(max_size=60))
def test_arbitrary_text_parses_or_raises_parse_error(text):
    start = time.perf_counter()
    try:
        parse(text)
    except ParseError:
        pass
    assert time.perf_counter() - start < 1.0


_POWERS = st.lists(
    st.sampled_from(["9", "10", "2", "x", "(1/3)", "99", "-2", "0.5", "-x", "e", "|x|"]), min_size=2, max_size=7
)


@settings(max_examples=200)
@given(_POWERS, st.sampled_from(["^", "**"]))
def test_power_towers_are_fast_whatever_the_outcome(parts, op):
    start = time.perf_counter()
    try:
        parse(op.join(parts))
    except ParseError:
        pass
    assert time.perf_counter() - start < 1.0
