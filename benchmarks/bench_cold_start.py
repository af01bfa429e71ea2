"""Cold start of the command line: ``derivkit derive "sin(x^2)"`` against ``import sympy``.

Every command below runs in a fresh Python process, so each measurement pays
for the interpreter, the imports and the work. The commands are interleaved
(one repetition of each in turn, in a shuffled order per round) so that a
machine busy with other work slows them all alike; each row reports the
median wall-clock time over the repetitions. The figure of merit is the ratio
of ``derivkit derive "sin(x^2)"`` to ``python -c "import sympy"``: SymPy is
the one import derivkit cannot avoid, so the ratio says what derivkit adds.

Run: ``python benchmarks/bench_cold_start.py`` (``--quick`` for a smoke run,
``--repeat N`` for more repetitions).
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import _machine  # noqa: E402

#: The reference commands and the derivkit commands, as argument lists after ``python``.
CLI = ["-m", "derivkit"]
COMMANDS: list[tuple[str, list[str]]] = [
    ('`python -c "pass"` (the interpreter alone)', ["-c", "pass"]),
    ('`python -c "import sympy"`', ["-c", "import sympy"]),
    ("`derivkit --help`", CLI + ["--help"]),
    ('`derivkit derive "sin(x^2)"`', CLI + ["derive", "sin(x^2)"]),
    ('`derivkit derive "sin(x^2)" --format json`', CLI + ["derive", "sin(x^2)", "--format", "json"]),
    ('`derivkit check "sin(x^2)" --claimed "2x cos(x^2)" --wrt x` (right)',
     CLI + ["check", "sin(x^2)", "--claimed", "2x cos(x^2)", "--wrt", "x"]),
    ('`derivkit check "sin(x^2)" --claimed "cos(x^2)" --wrt x` (wrong)',
     CLI + ["check", "sin(x^2)", "--claimed", "cos(x^2)", "--wrt", "x"]),
]
SYMPY, DERIVE = 1, 3
TARGET = 1.3


def run_once(args: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{args} failed with exit status {done.returncode}: {done.stderr.decode()}")
    return took


def measure(repeat: int, seed: int = 0) -> list[list[float]]:
    rng = random.Random(seed)
    times: list[list[float]] = [[] for _ in COMMANDS]
    for i in range(len(COMMANDS)):  # warm the file system cache; not counted
        run_once(COMMANDS[i][1])
    for _ in range(repeat):
        order = list(range(len(COMMANDS)))
        rng.shuffle(order)
        for i in order:
            times[i].append(run_once(COMMANDS[i][1]))
    return times


def table(times: list[list[float]], repeat: int) -> str:
    med = [statistics.median(t) for t in times]
    lines = [
        f"Each command in a fresh process, {repeat} repetitions interleaved in shuffled rounds; "
        "median wall-clock time (and the spread between the quartiles). derivkit is run as "
        "`python -m derivkit`, which is what the `derivkit` script does.",
        "",
        "| command | median (ms) | quartiles (ms) | / `import sympy` |",
        "|---|---:|---:|---:|",
    ]
    for (label, _), t, m in zip(COMMANDS, times, med):
        q = statistics.quantiles(t, n=4) if len(t) >= 2 else [m, m, m]
        lines.append(f"| {label} | {1000 * m:.0f} | {1000 * q[0]:.0f} to {1000 * q[2]:.0f} | {m / med[SYMPY]:.2f}x |")
    ratio = med[DERIVE] / med[SYMPY]
    lines += [
        "",
        f"Ratio `derivkit derive \"sin(x^2)\"` / `import sympy`: **{ratio:.2f}x** "
        f"(aim: at most {TARGET}x, {'met' if ratio <= TARGET else 'not met'}).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 repetitions, nothing written")
    parser.add_argument("--repeat", type=int, default=21, help="repetitions of each command (default 21)")
    args = parser.parse_args()
    repeat = 3 if args.quick else args.repeat
    text = table(measure(repeat), repeat)
    print(text)
    if not args.quick:
        print(f"\nwritten to {_machine.write_result('cold_start', text)}")


if __name__ == "__main__":
    main()
