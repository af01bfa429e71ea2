"""Fuzzing: strings over the parser's alphabet through parse, derive, check and every command.

Each case runs in a child process (``tests/fuzz_worker.py``) whose address space is
limited (``RLIMIT_AS``) and whose every case has a wall-clock cap; a case that
passes the cap is a hang, one that kills the child a crash. The property: every
call returns, or raises an exception of ``derivkit.errors``, within the cap; every
command exits 0, 1 or 2 with no traceback. The library's own time limit is set
lower in the child (3 s), so a refusal at the time limit is a clean answer and
only work that ignores the limit counts as a hang.

CI runs ``DERIVKIT_FUZZ_EXAMPLES`` strings (default 120, each through about
six calls); set it higher for a longer campaign, e.g. ``DERIVKIT_FUZZ_EXAMPLES=5000``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fuzz_worker import CAP_SECONDS, SMALL, Worker, _limit_child, commands, random_formula

pytestmark = [pytest.mark.timeout(1800), pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX resource limits")]

EXAMPLES = int(os.environ.get("DERIVKIT_FUZZ_EXAMPLES", "120"))

# ---------------------------------------------------------------- the strings

#: Formulas from the campaign's generator (tests/fuzz_worker.py), driven by Hypothesis.
formulas = st.randoms(use_true_random=False).map(random_formula)
numbers = st.one_of(st.sampled_from(["0", "1", "-1", "2", "0.1", "1/3", "100", "1e10", "nan", "-inf", "x", ""]),
                    formulas)


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.stop()


# ---------------------------------------------------------------- the properties

def _assert_clean(worker: Worker) -> None:
    if worker.failures:
        failures, worker.failures = worker.failures, []
        raise AssertionError(f"{len(failures)} case(s) hung, crashed or raised a raw exception:\n\n"
                             + "\n\n".join(failures[:5]))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(f=formulas, g=formulas)
def test_library_returns_or_refuses_within_the_cap(worker, f, g):
    for case in (
        {"call": "parse", "args": [f]},
        {"call": "derive", "args": [f, "x"]},
        {"call": "check", "args": [f, g, "x"]},
        {"call": "check", "args": ["x^2", f, "x"]},
    ):
        worker.run(case)
    _assert_clean(worker)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(f=formulas, g=formulas, n=numbers, m=numbers, k=st.sampled_from(SMALL), which=st.integers(0, 12))
def test_every_command_exits_cleanly_within_the_cap(worker, f, g, n, m, k, which):
    worker.run({"call": "cli", "args": commands(f, g, n, m, k)[which]})
    _assert_clean(worker)


def test_the_issue_strings_in_every_command(worker):
    """The strings that once hung, crashed or misread, through every command."""
    hostile = ["x^(10^10)", "x^x^x^x", "(x+1)^100000", "E^E^E^E^E", "exp(exp(exp(exp(x))))",
               "^".join(["1.5"] * 15), "0" * 4301 + "1", "|f(-x-1)|", "||f(2-x, x)||", "log(x, 0)", "0^x",
               "asec(x)", "1e5e5", "f^(-1)(x)", "f(" + ",".join(["x"] * 1000) + ")"]
    before = dict(worker.outcomes)
    for f in hostile:
        for argv in commands(f, "2x", "nan", "-1"):
            worker.run({"call": "cli", "args": argv})
    _assert_clean(worker)
    for bad in ("hang", "crash", "raw"):
        assert worker.outcomes.get(bad, 0) == before.get(bad, 0)


def test_commands_in_a_real_process():
    """A few runs of the real executable: exit status and no traceback on the way out."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg")
    runs = [
        (["derive", "x^(10^10)", "--wrt", "x"], 0),
        (["check", "x^x^x^x", "--claimed", "2x", "--wrt", "x"], 1),
        (["check", "x^2", "--claimed", "2x", "--wrt", "x", "--at", "x=nan"], 2),
        (["descend", "x^2", "--wrt", "x", "--start", "1", "--lr", "0.1", "--steps", "1000000000"], 2),
        (["derive", "f^(-1)(x)", "--wrt", "x"], 2),
    ]
    for argv, code in runs:
        p = subprocess.run([sys.executable, "-m", "derivkit", *argv], capture_output=True, text=True,
                           timeout=CAP_SECONDS + 60, env=env, preexec_fn=_limit_child)
        assert p.returncode == code, (argv, p.returncode, p.stderr)
        assert "Traceback" not in p.stdout + p.stderr, (argv, p.stderr)
