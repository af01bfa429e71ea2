"""Benchmark: compiled matrix-level backprop against hand-written NumPy, PyTorch and JAX.

Run ``python benchmarks/bench_backprop.py`` (``--quick`` for a fast smoke run).
It measures, in one process:

1. the gradient of a 64-32-10 sigmoid MLP with softmax cross-entropy at batch
   256: derivkit's generated code, a careful hand-written NumPy backprop (the
   same formulas, written once by hand), PyTorch eager on the CPU and JAX
   ``jit`` on the CPU (each skipped cleanly when not importable), all in float64,
   all checked to agree before timing; the median of many interleaved rounds;
2. derive + compile time (graph, backprop, code generation, ``compile``) for that
   network, for depth 1..8 and width 16..512, and for fixed batch sizes (the
   generated code, and so the time, does not depend on the batch);
3. the scalar-expansion route (expand into scalar symbols, ``sympy.diff`` every
   weight, ``lambdify``) at small sizes, beside the matrix route.

Environment notes: all numbers compare code in the same process, same BLAS and
same thread settings; nothing here changes them. Some machines set
``OPENBLAS_CORETYPE`` (or vendor variables such as ``NVPL_BLAS_DEBUG_CPU_TYPE``)
which pick the BLAS kernels; the values found are printed with the results, and
ratios are only meaningful within one run. PyTorch runs with one thread (these matrices
are tiny; its thread pool only adds contention), JAX with its defaults; both use
their own BLAS, and their ratios include that difference.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import _machine  # noqa: E402

from derivkit.compile.scalar import expand_scalar  # noqa: E402
from derivkit.nn.graph import Graph, apply, loss as loss_node, softmax  # noqa: E402
from derivkit.nn.networks import mlp  # noqa: E402

SIZES = [64, 32, 10]
BATCH = 256


# ---------------------------------------------------------------------------
# the competitors
# ---------------------------------------------------------------------------

def hand_written(params, data):
    """Backprop for the 64-32-10 sigmoid/softmax network, written by hand."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    X, Y = data["X"], data["Y"]
    N = X.shape[0]
    H = 1.0 / (1.0 + np.exp(-(X @ W1 + b1)))
    O_in = H @ W2 + b2
    Z = O_in - O_in.max(axis=1, keepdims=True)
    E = np.exp(Z)
    S = E.sum(axis=1, keepdims=True)
    loss = -np.sum(Y * (Z - np.log(S))) / N
    G_O = (E / S - Y) / N
    G_H = (G_O @ W2.T) * H * (1.0 - H)
    return float(loss), {"W1": X.T @ G_H, "b1": G_H.sum(axis=0, keepdims=True),
                         "W2": H.T @ G_O, "b2": G_O.sum(axis=0, keepdims=True)}


def torch_version(params, data):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)  # tiny matrices: one thread avoids spin-wait contention on a loaded machine
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    X, Y = torch.tensor(data["X"]), torch.tensor(data["Y"])

    def step():
        for t in tp.values():
            t.grad = None
        H = torch.sigmoid(X @ tp["W1"] + tp["b1"])
        logp = torch.log_softmax(H @ tp["W2"] + tp["b2"], dim=1)
        loss = -(Y * logp).sum() / X.shape[0]
        loss.backward()
        return float(loss.detach()), {k: t.grad.numpy() for k, t in tp.items()}

    return step, f"PyTorch {torch.__version__} eager, {torch.get_num_threads()} threads"


def jax_version(params, data):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_platform_name", "cpu")

    def loss_fn(p, X, Y):
        H = jax.nn.sigmoid(X @ p["W1"] + p["b1"])
        logp = jax.nn.log_softmax(H @ p["W2"] + p["b2"], axis=1)
        return -(Y * logp).sum() / X.shape[0]

    vg = jax.jit(jax.value_and_grad(loss_fn))
    jp = {k: jnp.asarray(v) for k, v in params.items()}
    X, Y = jnp.asarray(data["X"]), jnp.asarray(data["Y"])

    def step():
        value, grads = vg(jp, X, Y)
        jax.block_until_ready(grads)
        return float(value), {k: np.asarray(v) for k, v in grads.items()}

    return step, f"JAX {jax.__version__} jit (CPU)"


def interleaved_medians(fns: dict, rounds: int, calls: int) -> dict[str, float]:
    """Median seconds per call of each function, timing them in alternation."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            times[name].append((time.perf_counter() - t0) / calls)
    return {k: statistics.median(v) for k, v in times.items()}


# ---------------------------------------------------------------------------
# derive + compile
# ---------------------------------------------------------------------------

def compile_time(build, repeats: int) -> tuple[float, int]:
    best = []
    lines = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        net = build().compile()
        best.append(time.perf_counter() - t0)
        lines = len(net.source.splitlines())
    return min(best), lines  # the best run: compile time is noise-free work, the rest is the machine


def fixed_batch_mlp(batch: int, sizes=SIZES) -> Graph:
    """The benchmark network with a fixed (not symbolic) batch size."""
    g = Graph()
    A = g.input("X", (batch, sizes[0]))
    Y = g.input("Y", (batch, sizes[-1]))
    params = [(g.param(f"W{i}", (sizes[i - 1], sizes[i])), g.param(f"b{i}", (1, sizes[i])))
              for i in range(1, len(sizes))]
    for i, (W, b) in enumerate(params, start=1):
        last = i == len(params)
        Z = g.define("O_in" if last else f"H{i}_in", A @ W + b)
        A = g.define("O_out" if last else f"H{i}_out", softmax(Z) if last else apply("sigmoid", Z))
    g.define("CE", loss_node("nll", A, Y))
    return g


def scalar_route(sizes, batch) -> tuple[int, float]:
    """Seconds to expand into scalars, differentiate every weight and lambdify."""
    import sympy

    t0 = time.perf_counter()
    g = mlp(sizes, loss="mse")
    expr, symbols = expand_scalar(g, batch)
    weights = [s for p in g.params for s in symbols[p].flat]
    grads = [sympy.diff(expr, w) for w in weights]
    data_syms = [s for n in g.inputs for s in symbols[n].flat]
    sympy.lambdify(weights + data_syms, [expr] + grads, "numpy")
    return len(weights), time.perf_counter() - t0


# ---------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a fast smoke run (fewer rounds and sizes)")
    args = ap.parse_args()
    quick = args.quick
    rng = np.random.default_rng(0)
    net = mlp(SIZES, activation="sigmoid", loss="softmax_cross_entropy").compile()
    params = {k: v.astype(np.float64) for k, v in net.init_params(seed=0).items()}
    params["b1"] = 0.1 * rng.standard_normal(params["b1"].shape)
    params["b2"] = 0.1 * rng.standard_normal(params["b2"].shape)
    data = {"X": rng.standard_normal((BATCH, SIZES[0])), "Y": np.eye(SIZES[-1])[rng.integers(0, SIZES[-1], BATCH)]}

    fns = {"derivkit (generated NumPy)": lambda: net(params, data),
           "hand-written NumPy": lambda: hand_written(params, data)}
    labels = {}
    for make in (torch_version, jax_version):
        made = make(params, data)
        if made is not None:
            fn, label = made
            fns[label.split(" ")[0]] = fn
            labels[label.split(" ")[0]] = label
    ref_loss, ref_grads = hand_written(params, data)
    for name, fn in fns.items():  # every competitor computes the same numbers
        value, grads = fn()
        assert abs(value - ref_loss) < 1e-9, name
        for k in ref_grads:
            assert np.allclose(grads[k], ref_grads[k], rtol=1e-8, atol=1e-12), (name, k)
    for fn in fns.values():  # warm up (JIT, caches)
        for _ in range(20):
            fn()
    med = interleaved_medians(fns, rounds=15 if quick else 101, calls=5 if quick else 20)
    base = med["derivkit (generated NumPy)"]

    rows = ["| implementation | median time per gradient | derivkit / this |", "| --- | --- | --- |"]
    for name, t in med.items():
        shown = labels.get(name, name)
        rows.append(f"| {shown} | {t * 1e6:.0f} µs | {base / t:.2f} |")
    gradient_table = "\n".join(rows)

    build = lambda: mlp(SIZES, activation="sigmoid", loss="softmax_cross_entropy")  # noqa: E731
    dc_time, dc_lines = compile_time(build, 3 if quick else 7)

    depths = [1, 2, 4, 8] if not quick else [1, 2]
    widths = [16, 64, 512] if not quick else [16]
    table = ["| depth \\ width | " + " | ".join(str(w) for w in widths) + " | code lines |",
             "| --- | " + " | ".join("---" for _ in widths) + " | --- |"]
    for d in depths:
        cells, lines = [], 0
        for w in widths:
            t, lines = compile_time(lambda: mlp([w] * d + [10], activation="sigmoid",
                                                loss="softmax_cross_entropy"), 3)
            cells.append(f"{t * 1e3:.0f} ms")
        table.append(f"| {d} | " + " | ".join(cells) + f" | {lines} |")
    depth_table = "\n".join(table)

    batch_rows = ["| batch size (fixed in the graph) | derive + compile | code lines | code characters |",
                  "| --- | --- | --- | --- |"]
    for b in ([16, 256, 4096] if not quick else [16, 256]):
        t, lines = compile_time(lambda: fixed_batch_mlp(b), 3 if quick else 5)
        chars = len(fixed_batch_mlp(b).compile().source)
        batch_rows.append(f"| {b} | {t * 1e3:.0f} ms | {lines} | {chars} |")
    batch_table = "\n".join(batch_rows)

    scalar_rows = ["| network, batch | weights | scalar route: expand + diff + lambdify | matrix route: derive + compile |",
                   "| --- | --- | --- | --- |"]
    cases = [([2, 2, 1], 2), ([2, 3, 1], 4)] + ([] if quick else [([2, 3, 1], 8), ([3, 4, 2], 8)])
    for sizes, batch in cases:
        n_weights, t_scalar = scalar_route(sizes, batch)
        t_matrix, _ = compile_time(lambda: mlp(sizes, loss="mse"), 3)
        scalar_rows.append(f"| {'-'.join(map(str, sizes))}, N = {batch} | {n_weights} | {t_scalar:.2f} s | "
                           f"{t_matrix * 1e3:.0f} ms |")
    scalar_table = "\n".join(scalar_rows)

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    env = ", ".join(f"{k}={os.environ[k]}" for k in sorted(os.environ)
                    if "BLAS" in k or "OMP" in k or k.startswith("MKL")) or "no BLAS/OpenMP variables set"
    hand_ratio = base / med["hand-written NumPy"]
    md = f"""### Gradient of a 64-32-10 sigmoid MLP with softmax cross-entropy, batch {BATCH} (float64)

{gradient_table}

derivkit / hand-written NumPy: **{hand_ratio:.2f}x**{' (quick run)' if quick else ''}.

### Derive + compile time

64-32-10 network: **{dc_time * 1e3:.0f} ms**, best of several runs (graph, matrix backprop, code generation and `compile`; {dc_lines} lines of code).

By depth (weight layers) and width (every layer `width` wide, 10 outputs):

{depth_table}

The same network with the batch size fixed in the graph (instead of the symbol `N`):

{batch_table}

### Against the scalar-expansion route (MSE, sigmoid)

{scalar_table}

*Environment: {env}; load average during the run {load} (a shared machine: absolute times vary
from run to run, ratios measured in alternation much less).*"""
    path = _machine.write_result("backprop", md)
    print(md)
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
