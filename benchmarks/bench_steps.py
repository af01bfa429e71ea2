"""Time the step engine on a corpus of expressions: per-expression median and worst.

The corpus: the course's examples plus expressions generated with a fixed seed
over the rule table's functions (sums, products, quotients, powers and
compositions, depth up to 3). For reference the same corpus is differentiated
by ``sympy.diff`` alone (no steps, no teacher forms, no checks).

Run: ``python benchmarks/bench_steps.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import sympy
from sympy.core.cache import clear_cache

sys.path.insert(0, str(Path(__file__).parent))
import _machine  # noqa: E402

from derivkit import derive  # noqa: E402
from derivkit.functions import relu, sigmoid  # noqa: E402
from derivkit.inputs import as_expr  # noqa: E402

x = sympy.Symbol("x")

COURSE = [
    "(3*x - 2)^2", "9*x^2 - 12*x + 4", "x^2 - 4*x + 3", "5*x^2 - 3*x + 2", "sigmoid(x)",
    "1/(1 + e^(-x))", "tanh(x)", "relu(x)", "step(x, 2)", "max(0, 1 - 2*x)", "abs(3 - x)",
    "(3 - x)^2", "log(sigmoid(x))", "-log(1 - sigmoid(x))", "asin(x)", "x^x", "erf(x)/x",
    "exp(-x^2/2)/sqrt(2*pi)", "(4 - 2.1*x^2 + x^4/3)*x^2", "x/(2*x + 1/2)",
]

UNARY = [
    sympy.sin, sympy.cos, sympy.tan, sympy.sec, sympy.asin, sympy.atan, sympy.acosh, sympy.sinh,
    sympy.tanh, sympy.atanh, sympy.exp, sympy.log, sympy.sqrt, sympy.Abs, sigmoid, relu,
]
LEAVES = [x, 2 * x, x + 1, 3 * x - 2, x**2, 1 - x]


def random_expr(rng: random.Random, depth: int) -> sympy.Basic:
    if depth == 0 or rng.random() < 0.2:
        return rng.choice(LEAVES)
    kind = rng.choice(["unary", "unary", "add", "sub", "mul", "div", "pow"])
    a = random_expr(rng, depth - 1)
    if kind == "unary":
        return rng.choice(UNARY)(a)
    if kind == "pow":
        return a ** rng.choice([2, 3, -1, sympy.Rational(1, 2)])
    b = random_expr(rng, depth - 1)
    return {"add": a + b, "sub": a - b, "mul": a * b, "div": a / b}[kind]


def corpus(n: int, seed: int = 2024) -> list:
    rng = random.Random(seed)
    generated = [random_expr(rng, 3) for _ in range(n)]
    return [as_expr(t) for t in COURSE] + generated


def time_each(fn, exprs) -> list[float]:
    out = []
    for e in exprs:
        start = time.process_time()
        fn(e)
        out.append(time.process_time() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a small corpus, for a smoke run")
    args = parser.parse_args()
    exprs = corpus(30 if args.quick else 300)
    clear_cache()
    steps = time_each(lambda e: derive(e, x), exprs)
    clear_cache()
    plain = time_each(lambda e: sympy.diff(e, x), exprs)
    ms = lambda t: f"{1000 * t:.1f}"  # noqa: E731
    med_s, med_p = statistics.median(steps), statistics.median(plain)
    worst = max(range(len(exprs)), key=lambda i: steps[i])
    table = "\n".join([
        f"Corpus: {len(exprs)} expressions ({len(COURSE)} from the course, the rest generated with seed 2024, "
        "depth up to 3), each derived once; SymPy's cache is cleared before each tool's run. "
        "Times are CPU time of the process (`time.process_time`), so other work on the machine does not "
        "inflate them.",
        "",
        "| | median per expression (ms) | 90th percentile (ms) | worst (ms) | total (s) |",
        "|---|---:|---:|---:|---:|",
        f"| `derive` (steps, teacher forms) | {ms(med_s)} | {ms(sorted(steps)[int(0.9 * len(steps))])} "
        f"| {ms(max(steps))} | {sum(steps):.2f} |",
        f"| `sympy.diff` alone | {ms(med_p)} | {ms(sorted(plain)[int(0.9 * len(plain))])} "
        f"| {ms(max(plain))} | {sum(plain):.2f} |",
        "",
        f"Ratio of medians `derive` / `sympy.diff`: {med_s / med_p:.1f}x. "
        f"Aim: median under 20 ms per expression ({'met' if med_s < 0.020 else 'not met'}).",
        "",
        f"Slowest expression for `derive`: `{sympy.sstr(exprs[worst])}`.",
    ])
    print(table)
    if not args.quick:
        print(f"\nwritten to {_machine.write_result('steps', table)}")


if __name__ == "__main__":
    main()
