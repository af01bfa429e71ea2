"""Cold start of the command line: ``derivkit derive "sin(x^2)"`` against ``import sympy``.

Every command below runs in a fresh Python process, so each measurement pays
for the interpreter, the imports and the work. The commands are interleaved
(one repetition of each in turn, in a shuffled order per round) so that a
machine busy with other work slows them all alike; each row reports the
median wall-clock time and the median CPU time of the process (user + system,
which a busy machine inflates much less) over the repetitions. The figure of merit is the ratio
of ``derivkit derive "sin(x^2)"`` to ``python -c "import sympy"``: SymPy is
the one import derivkit cannot avoid, so the ratio says what derivkit adds.

Run: ``python benchmarks/bench_cold_start.py`` (``--quick`` for a smoke run,
``--repeat N`` for more repetitions).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
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
    ('`python -c "import sympy; x = sympy.Symbol(\'x\'); print(sympy.diff(sympy.sin(x**2), x))"`',
     ["-c", "import sympy; x = sympy.Symbol('x'); print(sympy.diff(sympy.sin(x**2), x))"]),
    ("`derivkit --help`", CLI + ["--help"]),
    ('`derivkit derive "sin(x^2)"`', CLI + ["derive", "sin(x^2)"]),
    ('`derivkit derive "sin(x^2)" --format json`', CLI + ["derive", "sin(x^2)", "--format", "json"]),
    ('`derivkit check "sin(x^2)" --claimed "2x cos(x^2)" --wrt x` (right)',
     CLI + ["check", "sin(x^2)", "--claimed", "2x cos(x^2)", "--wrt", "x"]),
    ('`derivkit check "sin(x^2)" --claimed "cos(x^2)" --wrt x` (wrong)',
     CLI + ["check", "sin(x^2)", "--claimed", "cos(x^2)", "--wrt", "x"]),
]
SYMPY, DERIVE = 1, 4
TARGET = 1.3


#: As an installed package runs: bytecode cached (``pip install`` compiles it; here the
#: warm-up run writes it), whatever the environment of the benchmark says.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_once(args: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU time (user + system) of one fresh process running ``python ARGS``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{args} failed with exit status {done.returncode}: {done.stderr.decode()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(repeat: int, seed: int = 0) -> tuple[list[list[float]], list[list[float]]]:
    rng = random.Random(seed)
    wall: list[list[float]] = [[] for _ in COMMANDS]
    cpu: list[list[float]] = [[] for _ in COMMANDS]
    for i in range(len(COMMANDS)):  # warm the file system cache and write the bytecode; not counted
        run_once(COMMANDS[i][1])
    for _ in range(repeat):
        order = list(range(len(COMMANDS)))
        rng.shuffle(order)
        for i in order:
            w, c = run_once(COMMANDS[i][1])
            wall[i].append(w)
            cpu[i].append(c)
    return wall, cpu


def _quartiles(t: list[float]) -> str:
    q = statistics.quantiles(t, n=4) if len(t) >= 2 else [t[0]] * 3
    return f"{1000 * q[0]:.0f} to {1000 * q[2]:.0f}"


def table(wall: list[list[float]], cpu: list[list[float]], repeat: int) -> str:
    mw = [statistics.median(t) for t in wall]
    mc = [statistics.median(t) for t in cpu]
    lines = [
        f"Each command in a fresh process, {repeat} repetitions interleaved in shuffled rounds; the "
        "median (and the quartiles) of the wall-clock time from start to exit, and of the CPU time "
        "the process used (user + system), which other work on the machine does not inflate. "
        "derivkit is run as `python -m derivkit`, which is what the `derivkit` script does.",
        "",
        "| command | CPU, median (ms) | CPU, quartiles (ms) | CPU / `import sympy` | wall, median (ms) "
        "| wall / `import sympy` |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for i, (label, _) in enumerate(COMMANDS):
        lines.append(f"| {label} | {1000 * mc[i]:.0f} | {_quartiles(cpu[i])} | {mc[i] / mc[SYMPY]:.2f}x "
                     f"| {1000 * mw[i]:.0f} | {mw[i] / mw[SYMPY]:.2f}x |")
    ratio, wall_ratio = mc[DERIVE] / mc[SYMPY], mw[DERIVE] / mw[SYMPY]
    lines += [
        "",
        f"Ratio `derivkit derive \"sin(x^2)\"` / `import sympy`: **{ratio:.2f}x** in CPU time, "
        f"{wall_ratio:.2f}x in wall-clock time (aim: at most {TARGET}x, "
        f"{'met' if max(ratio, wall_ratio) <= TARGET else 'not met'}).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 repetitions, nothing written")
    parser.add_argument("--repeat", type=int, default=21, help="repetitions of each command (default 21)")
    args = parser.parse_args()
    repeat = 3 if args.quick else args.repeat
    text = table(*measure(repeat), repeat)
    print(text)
    if not args.quick:
        print(f"\nwritten to {_machine.write_result('cold_start', text)}")


if __name__ == "__main__":
    main()
