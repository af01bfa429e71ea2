"""Load test of ``derivkit serve``: many clients at once, some of them hostile.

A real server (``derivkit serve`` in a subprocess, on 127.0.0.1, its default limits) and,
in this process, asyncio clients that each send one request at a time, back to back:

* *normal* clients mix the pages' everyday requests: a derivation (one of the course's
  expressions), a check of a wrong answer, a backprop of a small network;
* *hostile* clients cycle through inputs meant to hurt: work that runs into the time
  limit (a 14th derivative of tan(tan(tan(x))), a 1000-step exact descent in 8
  variables), a body over the size limit, malformed JSON, code to evaluate, nesting
  10000 deep, a power tower, fields past their bounds.

The two conditions, normal clients alone and normal clients with the hostile ones, are
run in alternation (A B A B ...) so that drift of the machine hits both alike. Reported:
throughput, p50/p95 latency of the normal requests in each condition and their ratio,
errors (a normal request that did not get 200; a hostile one that got 200 or 500), and
what the hostile requests got. The server's pool counters (long requests demoted, workers
killed at the time limit) are read from ``/api/health`` at the end.

Run: ``python benchmarks/bench_web_load.py`` (``--quick`` for a smoke run of a few seconds).
Only 127.0.0.1 is contacted; every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
import _machine  # noqa: E402

from derivkit.web.local import local_server  # noqa: E402

NORMAL = [
    ("derive", {"expr": "(3x - 2)^2", "at": "x=2"}),
    ("derive", {"expr": "sigmoid(x)"}),
    ("derive", {"expr": "x^2 sin(x)"}),
    ("derive", {"expr": "log(1 + e^(-x))"}),
    ("check", {"expr": "sin(x^2)", "claimed": "cos(x^2)", "wrt": "x"}),
    ("check", {"expr": "5b^2 - 3b + 2", "claimed": "3.63, 3.297, 2.9", "wrt": "b", "start": "4", "lr": "0.01"}),
    ("backprop", {"layers": "2,3,1"}),
    ("backprop", {"layers": "4,8,3", "activation": "relu", "loss": "softmax_cross_entropy"}),
]

HOSTILE = [
    ("slow derivative", "derive", {"expr": "tan(tan(tan(x)))", "order": 14}),
    ("oversized body", "derive", {"expr": "x+" * 40000 + "x"}),
    ("malformed JSON", "derive", b"{\"expr\": \"x^2\""),
    ("code to evaluate", "derive", {"expr": "__import__('os').system('true')"}),
    ("nesting 10000 deep", "derive", {"expr": "(" * 10000 + "x" + ")" * 10000}),
    ("power tower", "derive", {"expr": "x^(10^(10^10))"}),
    ("slow descent", "descend", {"f": "+".join(f"x{i}^4" for i in range(1, 9)),
                                 "wrt": ",".join(f"x{i}" for i in range(1, 9)),
                                 "start": ",".join(["1/3"] * 8), "lr": "1/7", "steps": 1000}),
    ("past a bound", "backprop", {"layers": [2] * 13}),
    ("deep JSON", "check", b"[" * 20000 + b"]" * 20000),
]


async def send(client: httpx.AsyncClient, name: str, body) -> tuple[int, float]:
    start = time.perf_counter()
    if isinstance(body, bytes):
        r = await client.post(f"/api/{name}", content=body, headers={"content-type": "application/json"})
    else:
        r = await client.post(f"/api/{name}", json=body)
    return r.status_code, time.perf_counter() - start


async def client_loop(client, requests: list, i: int, until: float, out: list) -> None:
    """Send ``requests`` (label, endpoint, body) in turn, from the ``i``-th, until ``until``."""
    k = i
    while time.perf_counter() < until:
        label, name, body = requests[k % len(requests)]
        status, seconds = await send(client, name, body)
        if time.perf_counter() <= until:  # only what completed inside the phase counts
            out.append((label, status, seconds))
        k += 1


async def phase(url: str, seconds: float, normal: int, hostile: int) -> tuple[list, list, float]:
    """Run the clients for ``seconds``; requests still open 3 s later (long hostile ones) are dropped."""
    limits = httpx.Limits(max_connections=normal + hostile + 4)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        normal_out: list = []
        hostile_out: list = []
        until = time.perf_counter() + seconds
        everyday = [(name, name, body) for name, body in NORMAL]
        tasks = [asyncio.ensure_future(client_loop(client, everyday, i, until, normal_out)) for i in range(normal)]
        tasks += [asyncio.ensure_future(client_loop(client, HOSTILE, 3 * i, until, hostile_out)) for i in range(hostile)]
        done, pending = await asyncio.wait(tasks, timeout=seconds + 3)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return normal_out, hostile_out, seconds


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short phases, for a smoke run")
    parser.add_argument("--normal", type=int, default=16, help="normal clients (default 16)")
    parser.add_argument("--hostile", type=int, default=4, help="hostile clients (default 4)")
    parser.add_argument("--seconds", type=float, default=None, help="length of one phase (default 20, quick 3)")
    parser.add_argument("--rounds", type=int, default=None, help="A/B rounds (default 3, quick 1)")
    args = parser.parse_args()
    seconds = args.seconds or (3.0 if args.quick else 20.0)
    rounds = args.rounds or (1 if args.quick else 3)

    with local_server("--log-level", "error") as server:
        url = server.url
        asyncio.run(phase(url, 2.0, args.normal, 0))  # warm the connections and the workers
        results = {"alone": ([], [], 0.0), "with hostile clients": ([], [], 0.0)}
        for r in range(rounds):
            for cond, hostile in (("alone", 0), ("with hostile clients", args.hostile)):
                n, h, elapsed = asyncio.run(phase(url, seconds, args.normal, hostile))
                acc = results[cond]
                results[cond] = (acc[0] + n, acc[1] + h, acc[2] + elapsed)
                lat = [sec * 1000 for _, status, sec in n if status == 200]
                print(f"round {r + 1} {cond}: {len(n)} normal requests (p95 {pct(lat, 95):.0f} ms), "
                      f"{len(h)} hostile", flush=True)
            # let the long requests of the hostile phase end before the next baseline
            time.sleep(11)
        health = httpx.get(f"{url}/api/health").json()

    rows = []
    p95 = {}
    for cond, (normal, hostile, elapsed) in results.items():
        lat = [s * 1000 for _, status, s in normal if status == 200]
        errors = sum(1 for _, status, _ in normal if status != 200)
        p95[cond] = pct(lat, 95)
        rows.append(f"| {cond} | {args.normal} + {args.hostile if hostile else 0} | {len(normal) / elapsed:.1f} | "
                    f"{pct(lat, 50):.0f} | {pct(lat, 95):.0f} | {max(lat):.0f} | {errors} | {len(hostile)} |")
    ratio = p95["with hostile clients"] / p95["alone"]

    by_kind: dict[str, Counter] = {}
    for label, status, _ in results["with hostile clients"][1]:
        by_kind.setdefault(label, Counter())[status] += 1
    hostile_bad = sum(c[200] + c[500] for c in by_kind.values())
    per_endpoint = {}
    for cond, (normal, _, _) in results.items():
        for name in ("derive", "check", "backprop"):
            per_endpoint.setdefault(name, {})[cond] = pct([s * 1000 for n, st, s in normal if n == name and st == 200], 95)

    pool = health["pool"]
    lines = [
        f"{args.normal} normal clients (derive, check, backprop; one request at a time each, back to back) against "
        f"`derivkit serve` with its default limits ({health['limits']['workers']} workers, "
        f"{health['limits']['time']:g} s and {health['limits']['memory'] // 2**20} MiB per request), alone and "
        f"with {args.hostile} hostile clients, in {rounds} alternating rounds of {seconds:g} s each. "
        "Latency is per request as the client sees it, in milliseconds; the clients run on the same machine.",
        "",
        "| condition | clients | normal requests/s | p50 (ms) | p95 (ms) | max (ms) | normal errors | hostile requests |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"p95 of the normal requests with the hostile clients / alone: **{ratio:.2f}x** "
        f"(the aim: at most 2x; {'met' if ratio <= 2 else 'NOT met'}).",
        "",
        "| p95 by endpoint (ms) | alone | with hostile clients |",
        "|---|---:|---:|",
        *(f"| {name} | {v['alone']:.0f} | {v['with hostile clients']:.0f} |" for name, v in per_endpoint.items()),
        "",
        "What the hostile requests got (HTTP status: count):",
        "",
        "| hostile input | replies |",
        "|---|---|",
        *(f"| {label} | {', '.join(f'{s}: {n}' for s, n in sorted(c.items()))} |" for label, c in by_kind.items()),
        "",
        f"Hostile requests answered 200 or 500: {hostile_bad}. Server pool at the end: {pool['timed_out']} requests "
        f"stopped at the time limit, {pool['demoted']} long requests lowered to the least CPU priority, "
        f"{pool['replaced']} workers replaced, {pool['crashed']} crashed, {pool['turned_away']} turned away busy.",
    ]
    table = "\n".join(lines)
    print(table)
    if not args.quick:
        print(f"\nwritten to {_machine.write_result('web_load', table)}")


if __name__ == "__main__":
    main()
