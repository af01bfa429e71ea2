"""How the cost of a Hessian grows with the number of variables.

For n = 2..20 variables, a polynomial with a fixed seed (squares, cubes, neighbour
products and a few random cross terms: about 4n terms) is given to
``derivkit.hessian``, which derives the n first partials and the n(n+1)/2
distinct second partials step by step. Measured in the same process:

* derive: ``derivkit.hessian`` (with every step recorded) against ``sympy.hessian``
  (no steps), and their ratio;
* evaluate: ``.at(...)`` (exact, rational point) against a ``sympy.lambdify``'d
  NumPy function of the same matrix (floats), per call.

Run ``python benchmarks/bench_hessian.py`` (``--quick`` for n = 2..6).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np
import sympy
from sympy.core.cache import clear_cache

sys.path.insert(0, str(Path(__file__).parent))
import _machine  # noqa: E402

from derivkit import hessian  # noqa: E402


def polynomial(n: int, seed: int = 0) -> tuple[sympy.Basic, tuple[sympy.Symbol, ...]]:
    """A polynomial in x1..xn with about 4n terms and small integer coefficients."""
    rng = random.Random(seed + n)
    xs = sympy.symbols(f"x1:{n + 1}")
    terms = []
    for i, x in enumerate(xs):
        terms.append(rng.randint(1, 5) * x**2)
        terms.append(rng.randint(-3, 3) * x**3)
        terms.append(rng.randint(-4, 4) * x * xs[(i + 1) % n])
        a, b = rng.sample(range(n), 2)
        terms.append(rng.randint(-2, 2) * xs[a] ** 2 * xs[b])
    return sympy.Add(*terms), xs


def best_of(fn, repeat: int, fresh: bool = False) -> float:
    """The best time of ``repeat`` runs; ``fresh`` empties SymPy's cache first (no reuse of earlier work)."""
    times = []
    for _ in range(repeat):
        if fresh:
            clear_cache()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(n: int, repeat: int) -> dict[str, float]:
    f, xs = polynomial(n)
    t_derive = best_of(lambda: hessian(f, xs), repeat, fresh=True)
    t_sympy = best_of(lambda: sympy.hessian(f, xs), repeat, fresh=True)
    h = hessian(f, xs)
    assert (sympy.Matrix(h.result) - sympy.hessian(f, xs)).expand() == sympy.zeros(n, n)
    point = {x.name: sympy.Rational(k + 1, 3) for k, x in enumerate(xs)}
    t_at = best_of(lambda: h.at(**point), repeat, fresh=True)
    fn = sympy.lambdify(xs, sympy.Matrix(h.result), "numpy")
    values = [float(v) for v in point.values()]
    calls = 200
    t_np = best_of(lambda: [fn(*values) for _ in range(calls)], repeat) / calls
    assert np.allclose(fn(*values), np.array(h.at(**point), dtype=float))
    return {
        "n": n,
        "terms": len(f.args),
        "derived": n + n * (n + 1) // 2,
        "derive": t_derive,
        "sympy": t_sympy,
        "at": t_at,
        "numpy": t_np,
    }


def table(rows: list[dict[str, float]]) -> str:
    head = (
        "| n | terms | derivations | derkit hessian (s) | sympy.hessian (s) | ratio | "
        "exact `.at` (ms) | lambdify call (µs) |\n|---|---|---|---|---|---|---|---|\n"
    ).replace("derkit", "derivkit")
    body = "".join(
        f"| {r['n']} | {r['terms']} | {r['derived']} | {r['derive']:.3f} | {r['sympy']:.4f} | "
        f"{r['derive'] / r['sympy']:.1f}x | {r['at'] * 1e3:.1f} | {r['numpy'] * 1e6:.1f} |\n"
        for r in rows
    )
    first, last = rows[0], rows[-1]
    growth = (
        f"\nFrom n = {first['n']} to n = {last['n']} the number of derivations grows "
        f"{last['derived'] / first['derived']:.0f}-fold and the time to derive "
        f"{last['derive'] / first['derive']:.0f}-fold; `sympy.hessian` grows "
        f"{last['sympy'] / first['sympy']:.0f}-fold.\n"
    )
    return head + body + growth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 2..6 only, one repeat")
    args = parser.parse_args(argv)
    sizes = range(2, 7) if args.quick else [2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 18, 20]
    repeat = 1 if args.quick else 3
    rows = []
    for n in sizes:
        rows.append(measure(n, repeat))
        r = rows[-1]
        print(f"n={n:2d}  derive {r['derive']:.3f}s  sympy {r['sympy']:.4f}s  at {r['at'] * 1e3:.1f}ms", flush=True)
    markdown = table(rows)
    if not args.quick:
        path = _machine.write_result("hessian", markdown)
        print(f"wrote {path}")
    else:
        print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
