"""A hostile campaign: thousands of random formulas through the library and the command line.

    python tests/hostile_campaign.py [STRINGS] [SEED] [PROCESSES]

Each string goes through ``parse``, ``derive`` and ``check`` (as the function and as the
claimed answer) and through one command of the command line, each case in the child process of
``tests/fuzz_worker.py`` (memory and wall-clock capped). ``PROCESSES`` more commands run as
real processes of ``python -m derivkit`` (exit status and output as a user sees them). Prints
the counts: cases tried, accepted, refused cleanly (a ``derivkit.errors`` exception, by type
and limit), hung, crashed, raw exceptions, and each failing case.
"""

from __future__ import annotations

import collections
import os
import random
import subprocess
import sys
import time

from fuzz_worker import CAP_SECONDS, SMALL, Worker, _limit_child, commands, random_formula


def processes(count: int, seed: int) -> tuple[collections.Counter, list[str]]:
    """``count`` commands run as real processes: exit statuses, and the runs that failed."""
    rng = random.Random(seed + 1)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg")
    codes: collections.Counter = collections.Counter()
    failures = []
    for _ in range(count):
        f, g, n = random_formula(rng), random_formula(rng), random_formula(rng)
        argv = rng.choice(commands(f, g, n, rng.choice(["1", "0.1", "-1", "nan"]), rng.choice(SMALL)))
        try:
            p = subprocess.run([sys.executable, "-m", "derivkit", *argv], capture_output=True, text=True,
                               timeout=CAP_SECONDS + 30, env=env, preexec_fn=_limit_child)
        except subprocess.TimeoutExpired:
            codes["hang"] += 1
            failures.append(f"hang: {argv}")
            continue
        bad = p.returncode not in (0, 1, 2) or "Traceback" in p.stdout + p.stderr
        codes["raw" if bad else f"exit {p.returncode}"] += 1
        if bad:
            failures.append(f"exit {p.returncode}: {argv}\n{p.stderr[-2000:]}")
    return codes, failures


def campaign(strings: int, seed: int = 0) -> dict:
    rng = random.Random(seed)
    worker = Worker()
    counts: collections.Counter = collections.Counter()
    refusals: collections.Counter = collections.Counter()
    slow: list[tuple[float, dict]] = []
    t0 = time.perf_counter()
    try:
        for _ in range(strings):
            f, g = random_formula(rng), random_formula(rng)
            n, m = random_formula(rng), rng.choice(["1", "0.1", "-1", "nan", "2"])
            cases = [{"call": "parse", "args": [f]}, {"call": "derive", "args": [f, "x"]},
                     {"call": "check", "args": [f, g, "x"]}, {"call": "check", "args": ["x^2", f, "x"]},
                     {"call": "cli", "args": rng.choice(commands(f, g, n, m, rng.choice(SMALL)))}]
            for case in cases:
                out = worker.run(case)
                side = "cli" if case["call"] == "cli" else "library"
                status = out["status"]
                if status == "ok" and side == "cli":
                    status = f"exit {out['code']}"
                counts[(side, status)] += 1
                if out["status"] == "refused":
                    refusals[(out["type"], out.get("limit"))] += 1
                if out.get("seconds", 0) > 1.0:
                    slow.append((out["seconds"], case))
    finally:
        worker.stop()
    return {"counts": counts, "refusals": refusals, "failures": worker.failures,
            "slow": sorted(slow, key=lambda s: -s[0])[:10], "seconds": time.perf_counter() - t0}


def main() -> None:
    strings = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    r = campaign(strings, seed)
    if count:
        t0 = time.perf_counter()
        codes, failures = processes(count, seed)
        for status, n in sorted(codes.items()):
            r["counts"][("process", status)] += n
        r["failures"] += failures
        r["seconds"] += time.perf_counter() - t0
    print(f"{strings} strings, {sum(r['counts'].values())} cases in {r['seconds']:.0f} s")
    for (side, status), n in sorted(r["counts"].items()):
        print(f"  {side:8s} {status:10s} {n}")
    print("refusals by type and limit:")
    for (kind, limit), n in r["refusals"].most_common():
        print(f"  {kind:16s} {str(limit):16s} {n}")
    print("slowest cases:")
    for seconds, case in r["slow"]:
        print(f"  {seconds:6.2f} s  {case}")
    print(f"{len(r['failures'])} failures")
    for f in r["failures"]:
        print("-" * 70)
        print(f)


if __name__ == "__main__":
    main()
