"""What the budgets cost on ordinary work, and how long hostile input now takes.

1. Ordinary checks: the course's derivatives, each checked with a right and a wrong
   answer; CPU time per check, and how many needed a child process for ``simplify``.
2. The mechanism's own costs: a checkpoint, entering a task, the magnitude probe.
3. Numeric evaluation (``real_value``) with the probe against the same with the probe
   switched off, interleaved, as a ratio.
4. The inputs that used to hang: wall-clock time of each now.

Run: ``python benchmarks/bench_budget.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import sympy

sys.path.insert(0, str(Path(__file__).parent))
import _machine  # noqa: E402

from derivkit import budget, check, derive, descend, parse  # noqa: E402
from derivkit.magnitude import probe, tame  # noqa: E402
from derivkit.verify.equivalence import Sampler, real_value  # noqa: E402

#: (function, right answer, wrong answer): the course's derivatives.
CHECKS = [
    ("(3x - 2)^2", "6(3x - 2)", "2(3x - 2)"),
    ("5x^2 - 3x + 2", "10x - 3", "10x + 3"),
    ("x^2 sin(x)", "2x sin(x) + x^2 cos(x)", "2x cos(x)"),
    ("sin(x^2)", "2x cos(x^2)", "cos(x^2)"),
    ("1/(1 + e^(-x))", "sigmoid(x)(1 - sigmoid(x))", "sigmoid(x)"),
    ("tanh(x)", "1 - tanh(x)^2", "1 + tanh(x)^2"),
    ("tan(x)", "1 + tan(x)^2", "sec(x)"),
    ("ln(x^2 + 1)", "2x/(x^2 + 1)", "1/(x^2 + 1)"),
    ("e^(3x)", "3e^(3x)", "e^(3x)"),
    ("sqrt(x)", "1/(2 sqrt(x))", "1/sqrt(x)"),
    ("asin(x)", "1/sqrt(1 - x^2)", "-1/sqrt(1 - x^2)"),
    ("asec(x)", "1/(|x| sqrt(x^2 - 1))", "1/(x sqrt(x^2 - 1))"),
    ("x^x", "x^x (ln(x) + 1)", "x x^(x - 1)"),
    ("log(x, 2)", "1/(x ln(2))", "1/x"),
    ("relu(x)", "step(x)", "x"),
    ("(x^2 + 1)/(x - 1)", "(x^2 - 2x - 1)/(x - 1)^2", "2x/(x - 1)"),
]

HOSTILE = [
    ("check x^(10^10) claimed 2x", lambda: check("x^(10^10)", "2x", "x")),
    ("check x^x^x^x claimed 2x", lambda: check("x^x^x^x", "2x", "x")),
    ("check (x+1)^100000 claimed 2x", lambda: check("(x+1)^100000", "2x", "x")),
    ("check E^E^E^E^E claimed 2x", lambda: check("E^E^E^E^E", "2x", "x")),
    ("check exp(exp(exp(exp(x)))) claimed 2x", lambda: check("exp(exp(exp(exp(x))))", "2x", "x")),
    ("check x^2 claimed x^(10^10)", lambda: check("x^2", "x^(10^10)", "x")),
    ("check x^2 claimed E^E^E^E^E", lambda: check("x^2", "E^E^E^E^E", "x")),
    ("check 1.5^1.5^...^1.5 (15) claimed 1", lambda: check("^".join(["1.5"] * 15), "1", "x")),
    ("descend x^(10^10), 10 steps", lambda: descend("x^(10^10)", "x", 1, 0.1, 10)),
    ("parse of 4301 digits with leading zeros", lambda: parse("0" * 4301 + "1")),
    ("derive \\|f(-x-1)\\|", lambda: derive("|f(-x-1)|", "x").to_text()),
    ("derive x^(10^10) at x = 2", lambda: derive("x^(10^10)", "x").at(x=2)),
]


def cpu(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def wall(fn) -> float:
    start = time.perf_counter()
    try:
        fn()
    except Exception:  # noqa: BLE001 - a refusal is an answer too
        pass
    return time.perf_counter() - start


def ordinary_checks(repeat: int) -> tuple[list[float], list[float], int, int]:
    for f, right, wrong in CHECKS:  # warm: the first call of each kind imports and caches
        check(f, right, "x")
        check(f, wrong, "x")
    calls = {"n": 0}
    isolated = budget.run_isolated

    def counting(*args, **kwargs):
        calls["n"] += 1
        return isolated(*args, **kwargs)

    budget.run_isolated = counting  # type: ignore[assignment]
    try:
        rights, wrongs = [], []
        for _ in range(repeat):
            for f, right, wrong in CHECKS:
                rights.append(cpu(lambda: check(f, right, "x")))
                wrongs.append(cpu(lambda: check(f, wrong, "x")))
    finally:
        budget.run_isolated = isolated  # type: ignore[assignment]
    return rights, wrongs, calls["n"], repeat * len(CHECKS)


def per_call(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def evaluation_ratio(rounds: int) -> tuple[float, float]:
    """CPU time per value of ``real_value`` with the probe, and with the probe switched off."""
    from derivkit import magnitude

    x = sympy.Symbol("x")
    cases = []
    for f, right, _ in CHECKS:
        e = derive(f, "x").result
        cases += [(e, p) for p in Sampler(e, [x]).points]
    probed = magnitude.how_to_evaluate
    new, old = [], []
    try:
        for _ in range(rounds):  # interleaved
            magnitude.how_to_evaluate = probed  # type: ignore[assignment]
            new.append(cpu(lambda: [real_value(e, p) for e, p in cases]))
            magnitude.how_to_evaluate = lambda expr, point: "exact"  # type: ignore[assignment]
            old.append(cpu(lambda: [real_value(e, p) for e, p in cases]))
    finally:
        magnitude.how_to_evaluate = probed  # type: ignore[assignment]
    return statistics.median(new) / len(cases), statistics.median(old) / len(cases)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, for a smoke run")
    args = parser.parse_args()
    rights, wrongs, isolated, checks = ordinary_checks(1 if args.quick else 5)
    ms = lambda t: f"{1000 * t:.1f}"  # noqa: E731
    x = sympy.Symbol("x")
    e_tame = derive("x^2 sin(x)", "x").result
    e_wild = derive("exp(exp(exp(x)))", "x").result
    pt = {x: sympy.Rational(34, 19)}
    n = 2000 if args.quick else 20000

    def in_task():
        with budget.task("x"):
            pass

    with budget.task("benchmark"):
        t_check = per_call(budget.checkpoint, n * 10)
    t_task = per_call(in_task, n)
    tame.cache_clear()
    t_tame = per_call(lambda: tame.__wrapped__(e_tame), n // 10)
    t_probe = per_call(lambda: probe(e_wild, pt), n // 10)
    new, old = evaluation_ratio(3 if args.quick else 15)
    hostile = [(name, wall(fn)) for name, fn in HOSTILE]
    p90 = lambda ts: sorted(ts)[int(0.9 * len(ts))]  # noqa: E731
    lines = [
        f"**Ordinary checks** ({len(CHECKS)} of the course's derivatives, each with a right and a wrong answer, "
        f"{len(rights) // len(CHECKS)} rounds, warm process; CPU time of this process, so the child "
        "processes' time is not in it):",
        "",
        "| | median (ms) | 90th percentile (ms) | worst (ms) |",
        "|---|---:|---:|---:|",
        f"| right answer | {ms(statistics.median(rights))} | {ms(p90(rights))} | {ms(max(rights))} |",
        f"| wrong answer | {ms(statistics.median(wrongs))} | {ms(p90(wrongs))} | {ms(max(wrongs))} |",
        "",
        f"Child processes for `simplify`: {isolated} in {checks} checks of right answers "
        f"({isolated / max(checks, 1):.0%}); the others were decided without one (identical, or `expand`).",
        "",
        "**The mechanism's own costs** (wall-clock time per call):",
        "",
        "| | per call |",
        "|---|---:|",
        f"| `checkpoint()` inside a task | {t_check * 1e9:.0f} ns |",
        f"| entering and leaving a `task()` | {t_task * 1e6:.1f} µs |",
        f"| `tame(expr)` of the derivative of x² sin x (uncached) | {t_tame * 1e6:.1f} µs |",
        f"| `probe(expr, point)` of the derivative of exp(exp(exp(x))) | {t_probe * 1e6:.1f} µs |",
        "",
        f"**Numeric evaluation** at the sample points of the checks above ({len(CHECKS)} derivatives, "
        "interleaved rounds, median): "
        f"with the probe {new * 1e6:.0f} µs per value, with it switched off {old * 1e6:.0f} µs: "
        f"ratio {new / old:.2f}.",
        "",
        "**Inputs that used to hang or crash** (wall-clock time now; each one was stopped at 30 s "
        "or more before, or raised a raw exception):",
        "",
        "| input | seconds |",
        "|---|---:|",
        *[f"| {name} | {t:.2f} |" for name, t in hostile],
    ]
    table = "\n".join(lines)
    print(table)
    if not args.quick:
        print(f"\nwritten to {_machine.write_result('budget', table)}")


if __name__ == "__main__":
    main()
