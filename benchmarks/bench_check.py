"""Time ``derivkit.check`` on one-variable answers, first call and later calls, and a 200-item batch.

Run: ``python benchmarks/bench_check.py`` (``--quick`` for a smoke run). It measures:

1. **The first call in a process**: a fresh Python process imports ``derivkit.check``
   and checks one answer (right, or wrong), several times; the median import time
   and first-call time.
2. **Later calls**: a corpus of distinct problems (the course's rules with realistic
   mistakes, each with a different constant, so SymPy's cache never holds the
   answer), each checked once, right and wrong answers interleaved; median, 90th
   percentile and worst, as CPU time of the process and as wall time.
3. **The evaluation behind it**: the same corpus with the mpmath tree walk of
   :mod:`derivkit.verify.mpeval` switched off (every value through SymPy's
   ``evalf``, as before it existed), interleaved problem by problem with the
   walk switched on; the ratio of the medians.
4. **A batch file**: 200 items (half of them wrong) graded by ``check_file``, in a
   fresh process, several times; the median wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sympy.core.cache import clear_cache

sys.path.insert(0, str(Path(__file__).parent))
import _machine  # noqa: E402

from derivkit import check  # noqa: E402
from derivkit.verify import equivalence  # noqa: E402

# (function, right answer, a realistic wrong answer), with k = 2, 3, ...
TEMPLATES = [
    ("{k}x^2 + sin({k}x)", "{k2}x + {k}cos({k}x)", "{k2}x + cos({k}x)"),                 # chain factor
    ("e^({k}x)", "{k}e^({k}x)", "e^({k}x)"),
    ("x^{k1}", "{k1}x^{k}", "{k1}x^{k1}"),                                               # power rule
    ("ln({k}x + 1)", "{k}/({k}x + 1)", "1/({k}x + 1)"),
    ("x/(x + {k})", "{k}/(x + {k})^2", "-{k}/(x + {k})^2"),                             # quotient order
    ("sigmoid({k}x)", "{k} sigmoid({k}x)(1 - sigmoid({k}x))", "{k} sigmoid({k}x)^2"),   # σ' = σ²
    ("tanh({k}x)", "{k}(1 - tanh({k}x)^2)", "{k}(1 + tanh({k}x)^2)"),
    ("x^2 cos({k}x)", "2x cos({k}x) - {k}x^2 sin({k}x)", "-{k2}x sin({k}x)"),           # product of derivatives
    ("({k}x - 2)^2", "{k2}({k}x - 2)", "2({k}x - 2)"),
    ("sqrt(x^2 + {k})", "x/sqrt(x^2 + {k})", "1/(2 sqrt(x^2 + {k}))"),
    ("{k}x^2 - 3x + 2", "{k2}x - 3", "{k2}x + 3"),                                       # a term's sign
    ("sin(x)/x^{k}", "(x cos(x) - {k} sin(x))/x^{k1}", "({k} sin(x) - x cos(x))/x^{k1}"),
    ("x^2 e^({k}x)", "x e^({k}x)(2 + {k}x)", "2x e^({k}x)"),                            # a product term missing
    ("log({k}x^2 + 1)", "{k2}x/({k}x^2 + 1)", "{k2}x/(({k}x^2 + 1) ln(10))"),          # log base
    ("cos({k}x)^2", "-{k2} sin({k}x) cos({k}x)", "{k2} sin({k}x) cos({k}x)"),
]


def corpus(repeats: int) -> list[tuple[str, str, bool]]:
    """(function, answer, right?) triples, right and wrong alternating, every function distinct."""
    out = []
    for r in range(repeats):
        k = 2 + r
        fill = dict(k=k, k1=k + 1, k2=2 * k)
        for f, good, bad in TEMPLATES:
            out.append((f.format(**fill), good.format(**fill), True))
            out.append((f.format(**fill), bad.format(**fill), False))
    return out


def _pct(ts: list[float], q: float) -> float:
    s = sorted(ts)
    return s[min(len(s) - 1, int(q * len(s)))]


FIRST = """
import sys, time
t0 = time.perf_counter()
from derivkit import check
t1 = time.perf_counter()
v = check(sys.argv[1], sys.argv[2], "x")
t2 = time.perf_counter()
print(t1 - t0, t2 - t1, v.ok)
"""


def first_calls(runs: int) -> dict[str, tuple[float, float]]:
    out = {}
    for label, (f, answer) in {"right": ("sigmoid(x)", "sigmoid(x)(1 - sigmoid(x))"),
                               "wrong": ("sigmoid(x)", "sigmoid(x)^2")}.items():
        imports, calls = [], []
        for _ in range(runs):
            res = subprocess.run([sys.executable, "-c", FIRST, f, answer], capture_output=True, text=True, check=True)
            t_import, t_call, ok = res.stdout.split()
            assert (ok == "True") == (label == "right")
            imports.append(float(t_import))
            calls.append(float(t_call))
        out[label] = (statistics.median(imports), statistics.median(calls))
    return out


def later_calls(problems) -> dict[str, dict[str, list[float]]]:
    """Per problem: CPU and wall time with the mpmath walk on, and CPU time with it off (interleaved)."""
    slow_switch = equivalence._fast_value
    times: dict[str, dict[str, list[float]]] = {"right": {"cpu": [], "wall": [], "evalf": []},
                                                "wrong": {"cpu": [], "wall": [], "evalf": []}}
    check("x^2", "2x", "x")  # the first call of the process, measured above
    for f, answer, right in problems:
        label = "right" if right else "wrong"
        clear_cache()
        c0, w0 = time.process_time(), time.perf_counter()
        v = check(f, answer, "x")
        times[label]["cpu"].append(time.process_time() - c0)
        times[label]["wall"].append(time.perf_counter() - w0)
        assert v.ok == right, (f, answer)
        assert right or v.diagnosis, (f, answer)
        clear_cache()
        equivalence._fast_value = lambda v, p: equivalence._SLOW  # every value through evalf
        try:
            c0 = time.process_time()
            assert check(f, answer, "x").ok == right
            times[label]["evalf"].append(time.process_time() - c0)
        finally:
            equivalence._fast_value = slow_switch
    return times


BATCH = """
import sys, time
from derivkit.verify.batch import check_file
t0, c0 = time.perf_counter(), time.process_time()
r = check_file(sys.argv[1])
print(time.perf_counter() - t0, time.process_time() - c0, r.right, r.wrong, r.malformed)
"""


def batch(runs: int) -> tuple[float, float, str]:
    items = [{"id": f"s{i:03d}", "expr": f, "claimed": a, "wrt": "x"} for i, (f, a, _) in enumerate(corpus(7)[:200])]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "class.jsonl"
        path.write_text("".join(json.dumps(i) + "\n" for i in items))
        walls, cpus, counts = [], [], ""
        for _ in range(runs):
            res = subprocess.run([sys.executable, "-c", BATCH, str(path)], capture_output=True, text=True, check=True)
            wall, cpu, *c = res.stdout.split()
            walls.append(float(wall))
            cpus.append(float(cpu))
            counts = f"{c[0]} right, {c[1]} wrong, {c[2]} malformed"
    return statistics.median(walls), statistics.median(cpus), counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs and problems, for a smoke run")
    args = parser.parse_args()
    runs = 3 if args.quick else 9
    problems = corpus(1 if args.quick else 4)
    first = first_calls(runs)
    later = later_calls(problems)
    batch_wall, batch_cpu, counts = batch(1 if args.quick else 3)
    ms = lambda t: f"{1000 * t:.1f}"  # noqa: E731
    n_right, n_wrong = len(later["right"]["cpu"]), len(later["wrong"]["cpu"])
    rows = []
    for label in ("right", "wrong"):
        t = later[label]
        rows.append(f"| {label} answer | {ms(statistics.median(t['cpu']))} | {ms(_pct(t['cpu'], 0.9))} "
                    f"| {ms(max(t['cpu']))} | {ms(statistics.median(t['wall']))} "
                    f"| {ms(statistics.median(t['evalf']))} | {ms(max(t['evalf']))} "
                    f"| {statistics.median(t['evalf']) / statistics.median(t['cpu']):.1f}x |")
    worst_first = max(first["right"][1], first["wrong"][1])
    worst_later = max(statistics.median(later[k]["cpu"]) for k in later)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    table = "\n".join([
        f"Load average when the run ended: {load:.1f} on {os.cpu_count()} cores (wall times grow with it, CPU times "
        "much less).",
        "",
        f"**The first call in a process** (median of {runs} fresh processes; wall time):",
        "",
        "| answer | `from derivkit import check` (ms) | first `check` (ms) |",
        "|---|---:|---:|",
        f"| right: σ' = σ(1 - σ) | {ms(first['right'][0])} | {ms(first['right'][1])} |",
        f"| wrong: σ' = σ² | {ms(first['wrong'][0])} | {ms(first['wrong'][1])} |",
        "",
        f"**Later calls**: {n_right} right and {n_wrong} wrong answers to {len(problems) // 2} distinct problems, "
        "interleaved, SymPy's cache cleared before each call; CPU time of the process unless marked wall.",
        "",
        "| | median (ms) | 90th percentile (ms) | worst (ms) | median wall (ms) | median, values by `evalf` (ms) "
        "| worst, values by `evalf` (ms) | medians `evalf` / mpmath walk |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"**A batch file** of 200 items ({counts}), graded by `check_file` in a fresh process: "
        f"{batch_wall:.2f} s wall, {batch_cpu:.2f} s CPU (medians of {1 if args.quick else 3}).",
        "",
        f"Aims: the first call under 250 ms ({'met' if worst_first < 0.25 else 'not met'}: {ms(worst_first)} ms), "
        f"later calls under 100 ms ({'met' if worst_later < 0.1 else 'not met'}: medians up to {ms(worst_later)} ms), "
        f"the 200-item batch under 10 s ({'met' if batch_wall < 10 else 'not met'} in wall time, "
        f"{'met' if batch_cpu < 10 else 'not met'} in CPU time).",
    ])
    print(table)
    if not args.quick:
        print(f"\nwritten to {_machine.write_result('check', table)}")


if __name__ == "__main__":
    main()
