"""The child process of the fuzz test (tests/test_fuzz.py): runs one case per line of input.

Each line read is a JSON case, ``{"call": "parse" | "derive" | "check" | "cli", "args": [...]}``;
each line written is the outcome: ``{"status": "ok" | "refused" | "raw", ...}``. ``refused`` is a
``derivkit.errors`` exception (its type named), ``raw`` anything else (with the traceback), and a
command line run reports its exit status and whether a traceback reached its output. The
parent process limits this one's memory and the time of each case, and starts a new one
when a case hangs or kills it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import select
import subprocess
import sys
import time
import traceback
from pathlib import Path

#: Lines of the protocol start with this (anything else a case prints is not an answer).
MARK = "@@fuzz "


#: Wall-clock cap of one case, and the derivkit limits inside the child (time well below the cap).
CAP_SECONDS = 30.0
CHILD_LIMITS = {"seconds": 3.0, "isolated_seconds": 0.5}
#: Address space of the child process.
CAP_MEMORY = 6 * 2**30

# ---------------------------------------------------------------- what is typed

def _function_names() -> list[str]:
    from derivkit.parsing import FUNCTIONS

    return list(FUNCTIONS)


#: Pieces of hostile and careless input, joined at random into formulas.
_PIECES = sorted(_function_names()) + [
    # numbers, names and constants
    "0", "1", "2", "3", "9", "10", "0.5", "1.5", "007", "1e5", "2E-3", "1e5e5", ".5", "4301",
    "x", "y", "z", "x1", "x2", "b", "e", "E", "pi", "sigma", "gamma", "alpha", "lambda", "nan", "oo", "inf",
    # operators and brackets
    "+", "-", "*", "/", "^", "**", "(", ")", "(", ")", "|", ",", " ", " ", "=", "'", "''", ".",
    # hostile and odd pieces
    "^(10^10)", "^x^x^x", "^100000", "!", ";", "[", "]", "{", "}", "\\", "_", "__import__", "os.system",
    "lambda:", "0^", "^-1", "^(-1)", "log_0", "log_2", "\\frac{1}{", "\\sin", "\\sigma", "²", "σ", "−", "·",
    "exp(exp(exp(", "f(x, x, x)", "sqrt(x^2-1)", "|x|", "9^9^9", "E^E^E",
]


#: Values for options that set the length of a run (epochs): short runs, and garbage.
SMALL = ["-1", "0", "1", "2", "3", "x", "1e3", "", "2.5", "nan", "--", "0x10"]


def commands(f: str, g: str, n: str, m: str, small: str = "2") -> list[list[str]]:
    """Each command of the command line, with fuzzed formulas ``f``, ``g``, values ``n``, ``m``
    and a run length ``small`` (training runs as long as asked: no budget stops it)."""
    return [
        ["derive", f, "--wrt", "x"],
        ["derive", f, "--wrt", "x", "--order", "3", "--format", "latex"],
        ["check", f, "--claimed", g, "--wrt", "x"],
        ["check", f, "--claimed", g, "--wrt", "x", "--at", f"x={n}"],
        ["check", f, "--claimed", g, "--wrt", "x", "--start", n, "--lr", m],
        ["grad", f, "--wrt", "x,y", "--format", "json"],
        ["jacobian", f, g, "--wrt", "x,y"],
        ["hessian", f, "--wrt", "x,y", "--at", f"x={n},y={m}"],
        ["chain", f"y = {f}", f"z = {g}", "--wrt", "x"],
        ["descend", f, "--wrt", "x", "--start", n, "--lr", m, "--steps", "4"],
        ["backprop", "--layers", n, "--activation", g],
        ["train", "--data", "xor", "--epochs", small, "--lr", n, "--seed", m, "--quiet"],
        ["tour", "--epochs", small],
    ]


_LEAVES = ["x", "x", "y", "2", "3", "0", "1", "-1", "0.5", "e", "pi", "10^10", "1e5", "100000", "E", "1/3",
           "0.000001", "x1", "b", "sigma", "7" * 50]
_UNARY = ["sin", "cos", "tan", "exp", "ln", "log", "sqrt", "asin", "acos", "atan", "asec", "acsc", "acosh",
          "atanh", "sinh", "tanh", "sigmoid", "relu", "abs", "sign", "gamma", "erf", "sec", "f", "g", "step"]
_POWERS = ["2", "3", "-1", "1/2", "x", "-x", "100000", "(10^10)", "0.5", "x^x", "e^x", "(-1)", "0"]


def _structured(rng: random.Random, depth: int) -> str:
    """A formula that reads (mostly): a random tree of the course's functions, hostile leaves and powers."""
    if depth <= 0 or rng.random() < 0.25:
        return rng.choice(_LEAVES)
    kind = rng.random()
    a = _structured(rng, depth - 1)
    if kind < 0.3:
        return f"{rng.choice(_UNARY)}({a})"
    if kind < 0.55:
        b = _structured(rng, depth - 1)
        return f"({a}){rng.choice(['+', '-', '*', '/', ' ', '^'])}({b})"
    if kind < 0.7:
        return f"({a})^{rng.choice(_POWERS)}"
    if kind < 0.78:
        return f"|{a}|"
    if kind < 0.84:
        args = ", ".join(_structured(rng, depth - 2) for _ in range(rng.randint(1, 4)))
        return f"{rng.choice(['f', 'max', 'min', 'log', 'leaky_relu'])}({args})"
    if kind < 0.9:
        return f"{rng.choice(['2', '3x', '0.1', 'e', '10'])}{a}" if rng.random() < 0.5 else f"{a}{rng.choice(_LEAVES)}"
    return f"{rng.choice(_UNARY)}^{rng.choice(['2', '-1', '(-1)', '3'])}({a})"


def _mutated(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(chars) + 1)
        what = rng.random()
        if what < 0.4 and chars:
            del chars[min(i, len(chars) - 1)]
        elif what < 0.8:
            chars.insert(i, rng.choice(CHARS))
        else:
            chars.insert(i, rng.choice(_PIECES))
    return "".join(chars) or "x"


def random_formula(rng: random.Random) -> str:
    """A formula as a careless or hostile user types it: a random tree of functions (mutated at
    times), pieces of input joined at random, or characters."""
    r = rng.random()
    if r < 0.45:
        return _structured(rng, rng.randint(1, 5))
    if r < 0.65:
        return _mutated(rng, _structured(rng, rng.randint(1, 4)))
    if r < 0.85:
        return "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 24)))
    return "".join(rng.choice(CHARS) for _ in range(rng.randint(1, 40)))


#: Characters of the character-level strings.
CHARS = "0123456789xyzeE.+-*/^()|, =_abcdefghijklmnopqrstuvw!\\{}[]'σ²"


# ---------------------------------------------------------------- the parent's side

def _limit_child() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (CAP_MEMORY, CAP_MEMORY))


class Worker:
    """The child process; restarted after a hang or a crash."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.failures: list[str] = []
        self.cases = 0
        self.outcomes: dict[str, int] = {}

    def start(self) -> None:
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg")
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__)), json.dumps(CHILD_LIMITS)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, preexec_fn=_limit_child,
        )

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def run(self, case: dict) -> dict:
        """The outcome of one case; hangs and crashes are recorded as failures."""
        if self.proc is None:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
        self.cases += 1
        self.proc.stdin.write(json.dumps(case) + "\n")
        self.proc.stdin.flush()
        first_case = self.cases == 1
        cap = CAP_SECONDS + (60 if first_case else 0)  # the first case also imports derivkit
        while True:
            ready, _, _ = select.select([self.proc.stdout], [], [], cap)
            if not ready:
                self._fail("hang", case, f"no answer within {cap:g} s")
                return {"status": "hang"}
            line = self.proc.stdout.readline()
            if not line:
                self._fail("crash", case, f"the child process died (exit {self.proc.poll()})")
                return {"status": "crash"}
            if line.startswith(MARK):
                out = json.loads(line[len(MARK):])
                self.outcomes[out["status"]] = self.outcomes.get(out["status"], 0) + 1
                if out["status"] == "raw":
                    self.failures.append(f"raw exception: {case}\n{out.get('detail', out)}")
                return out

    def _fail(self, what: str, case: dict, detail: str) -> None:
        self.outcomes[what] = self.outcomes.get(what, 0) + 1
        self.failures.append(f"{what}: {case}: {detail}")
        self.stop()



def run_case(case: dict) -> dict:
    """One case, its outcome as a JSON-ready dict (never raises)."""
    import derivkit
    from derivkit.errors import DerivkitError

    call, args = case["call"], case["args"]
    started = time.perf_counter()
    out: dict = {}
    try:
        if call == "cli":
            out = _cli(args)
        else:
            fn = {"parse": derivkit.parse, "derive": derivkit.derive, "check": derivkit.check}[call]
            result = fn(*args, **case.get("kwargs", {}))
            if call != "parse":
                result.to_text()  # printing is part of the work
            out = {"status": "ok"}
    except DerivkitError as err:
        out = {"status": "refused", "type": type(err).__name__, "limit": getattr(err, "limit", None)}
    except BaseException as err:  # noqa: BLE001 - exactly what the fuzz test looks for
        out = {"status": "raw", "type": type(err).__name__, "detail": traceback.format_exc()[-3000:]}
    out["seconds"] = time.perf_counter() - started
    return out


def _cli(argv: list[str]) -> dict:
    from derivkit.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    code: object = None
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(argv)
        except SystemExit as stop:  # argparse: exit 2 for bad arguments, 0 for --help
            code = stop.code
    text = stdout.getvalue() + stderr.getvalue()
    code = 0 if code is None else code
    bad = not isinstance(code, int) or code not in (0, 1, 2) or "Traceback (most recent call last)" in text
    return {"status": "raw" if bad else "ok", "code": code, "detail": text[-3000:] if bad else ""}


def main() -> None:
    import derivkit.budget

    limits = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    derivkit.budget.set_defaults(**limits)
    for line in sys.stdin:
        case = json.loads(line)
        print(MARK + json.dumps(run_case(case)), flush=True)


if __name__ == "__main__":
    main()
