"""Benchmark: compiled backprop against the tightest hand-written NumPy, PyTorch and JAX.

Run ``python benchmarks/bench_backprop.py`` (``--quick`` for a fast smoke run);
it writes ``benchmarks/results/backprop.md``. Everything that is compared is
measured in one process, in alternation (many rounds, the median per call), with
one thread each (BLAS, PyTorch, XLA: set below before any of them starts):

1. the loss and every gradient of a 64-32-10 sigmoid MLP with softmax
   cross-entropy at batch 1, 256 and 4096, and of a 784-256-128-10 ReLU MLP at
   batch 128, float64: derivkit's generated NumPy code; the tightest NumPy
   backprop written by hand (one function, no loop over layers, every array
   computed in place where it can be); PyTorch eager; JAX's own
   ``jit(value_and_grad)``; and derivkit's JAX backend (its jit-compiled
   function on device arrays, as JAX's own). All are first checked to agree.
   Peak memory (``tracemalloc``) and minor page faults per call for the two
   NumPy versions;
2. derive + compile time (graph, matrix backprop, code generation, ``compile``)
   for depth 1 to 32 (layers 64 wide, 10 outputs) and for the 64-32-10 network,
   against version 0.1 (commit 317e1a5, taken with ``git archive``): separate
   processes, run in alternation, each the best of several runs in process CPU
   time (the work is single-threaded Python, so CPU time is what it costs,
   whatever else the shared machine does);
3. the cost of ``train``'s default metrics (accuracy every epoch) against
   ``metrics=False``, on the digits (64-32-10, Adam, minibatches of 64) and full
   batch;
4. the scalar-expansion route (one SymPy symbol per weight, ``sympy.diff``,
   ``lambdify``) beside the matrix route, at small sizes.
"""

from __future__ import annotations

import os

# one thread each, before NumPy, PyTorch or JAX start
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                           + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import _machine  # noqa: E402

from derivkit.compile.scalar import expand_scalar  # noqa: E402
from derivkit.nn.networks import mlp  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
VERSION_01 = "317e1a5"
CASES = [((64, 32, 10), "sigmoid", 1), ((64, 32, 10), "sigmoid", 256), ((64, 32, 10), "sigmoid", 4096),
         ((784, 256, 128, 10), "relu", 128)]


# ---------------------------------------------------------------------------
# the hand-written competitors: one function each, no loop over layers
# ---------------------------------------------------------------------------

def hand_sigmoid(params, data):
    """64-32-10, sigmoid hidden layer, softmax cross-entropy: backprop by hand, in place wherever it can be."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    X, Y = data["X"], data["Y"]
    N = X.shape[0]
    H = X @ W1
    H += b1
    np.negative(H, out=H)
    np.exp(H, out=H)
    H += 1.0
    np.reciprocal(H, out=H)                # H = sigmoid(X W1 + b1)
    Z = H @ W2
    Z += b2
    Z -= Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    S = E.sum(axis=1, keepdims=True)
    Z -= np.log(S)                         # log-probabilities
    loss = -np.vdot(Y, Z) / N
    del Z
    E /= S
    E -= Y
    E *= 1.0 / N                           # dL/dZ = (softmax - Y) / N
    dW2 = H.T @ E
    db2 = E.sum(axis=0, keepdims=True)
    dH = E @ W2.T
    del E
    dH *= H
    np.subtract(1.0, H, out=H)
    dH *= H                                # dL/dH_in = dH * H (1 - H)
    del H
    return float(loss), {"W1": X.T @ dH, "b1": dH.sum(axis=0, keepdims=True), "W2": dW2, "b2": db2}


def hand_relu(params, data):
    """784-256-128-10, ReLU hidden layers, softmax cross-entropy: backprop by hand, boolean masks."""
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    X, Y = data["X"], data["Y"]
    N = X.shape[0]
    H1 = X @ W1
    H1 += b1
    M1 = H1 >= 0
    H1 *= M1
    H2 = H1 @ W2
    H2 += b2
    M2 = H2 >= 0
    H2 *= M2
    Z = H2 @ W3
    Z += b3
    Z -= Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    S = E.sum(axis=1, keepdims=True)
    Z -= np.log(S)
    loss = -np.vdot(Y, Z) / N
    del Z
    E /= S
    E -= Y
    E *= 1.0 / N
    dW3 = H2.T @ E
    db3 = E.sum(axis=0, keepdims=True)
    dH2 = E @ W3.T
    del E, H2
    dH2 *= M2
    dW2 = H1.T @ dH2
    db2 = dH2.sum(axis=0, keepdims=True)
    dH1 = dH2 @ W2.T
    del dH2, H1
    dH1 *= M1
    return float(loss), {"W1": X.T @ dH1, "b1": dH1.sum(axis=0, keepdims=True), "W2": dW2, "b2": db2,
                         "W3": dW3, "b3": db3}


def torch_version(activation, params, data):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    X, Y = torch.tensor(data["X"]), torch.tensor(data["Y"])
    layers = len(params) // 2
    act = torch.sigmoid if activation == "sigmoid" else torch.relu

    def step():
        for t in tp.values():
            t.grad = None
        A = X
        for i in range(1, layers):
            A = act(A @ tp[f"W{i}"] + tp[f"b{i}"])
        logp = torch.log_softmax(A @ tp[f"W{layers}"] + tp[f"b{layers}"], dim=1)
        loss = -(Y * logp).sum() / X.shape[0]
        loss.backward()
        return float(loss.detach()), {k: t.grad.numpy() for k, t in tp.items()}

    return step, f"PyTorch {torch.__version__} eager"


def jax_versions(activation, params, data, net_jax):
    """JAX's own jit(value_and_grad), and derivkit's JAX backend, both on device arrays, float64."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    layers = len(params) // 2
    act = jax.nn.sigmoid if activation == "sigmoid" else jax.nn.relu

    def loss_fn(p, X, Y):
        A = X
        for i in range(1, layers):
            A = act(A @ p[f"W{i}"] + p[f"b{i}"])
        logp = jax.nn.log_softmax(A @ p[f"W{layers}"] + p[f"b{layers}"], axis=1)
        return -(Y * logp).sum() / X.shape[0]

    with jax.enable_x64(True):
        vg = jax.jit(jax.value_and_grad(loss_fn))
        jp = {k: jnp.asarray(v) for k, v in params.items()}
        jd = {k: jnp.asarray(v) for k, v in data.items()}
    ours = net_jax.jitted

    def own():
        with jax.enable_x64(True):
            value, grads = vg(jp, jd["X"], jd["Y"])
            jax.block_until_ready(grads)
        return float(value), {k: np.asarray(v) for k, v in grads.items()}

    def derivkit_jax():
        with jax.enable_x64(True):
            value, grads = ours(jp, jd)
            jax.block_until_ready(grads)
        return float(value), {k: np.asarray(v) for k, v in grads.items()}

    return own, derivkit_jax, f"JAX {jax.__version__}"


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


def peak_and_faults(fn, calls: int) -> tuple[int, float]:
    """Peak bytes allocated during one call (tracemalloc), and minor page faults per call."""
    fn()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        fn()
    return peak, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def setup(sizes, activation, batch, seed=0):
    rng = np.random.default_rng(seed)
    g = mlp(list(sizes), activation=activation, loss="softmax_cross_entropy")
    net = g.compile()
    params = net.init_params(seed=0)
    for k in params:
        if k.startswith("b"):
            params[k] = 0.1 * rng.standard_normal(params[k].shape)
    data = {"X": rng.standard_normal((batch, sizes[0])), "Y": np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch)]}
    return g, net, params, data


def gradient_tables(quick: bool) -> str:
    time_rows = ["| network, batch | derivkit NumPy | hand-written NumPy | derivkit / hand | PyTorch eager | "
                 "derivkit / PyTorch | JAX jit(value_and_grad) | derivkit JAX backend | derivkit JAX / JAX |",
                 "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    memory_rows = ["| network, batch | derivkit peak memory | hand-written | derivkit / hand | "
                   "page faults per call: derivkit | hand-written |", "| --- | --- | --- | --- | --- | --- |"]
    labels = {}
    for sizes, activation, batch in CASES:
        g, net, params, data = setup(sizes, activation, batch)
        hand = hand_sigmoid if activation == "sigmoid" else hand_relu
        fns = {"derivkit": lambda: net(params, data), "hand": lambda: hand(params, data)}
        made = torch_version(activation, params, data)
        if made is not None:
            fns["torch"], labels["torch"] = made
        net_jax = None
        try:
            net_jax = g.compile(backend="jax")
        except ImportError:
            pass
        made = jax_versions(activation, params, data, net_jax) if net_jax is not None else None
        if made is not None:
            fns["jax"], fns["derivkit-jax"], labels["jax"] = made
        ref_loss, ref_grads = hand(params, data)
        for name, fn in fns.items():  # every competitor computes the same numbers
            value, grads = fn()
            assert abs(value - ref_loss) <= 1e-9 * max(1.0, abs(ref_loss)), (name, value, ref_loss)
            for k in ref_grads:
                assert np.allclose(grads[k], ref_grads[k], rtol=1e-8, atol=1e-12), (name, k)
        per_call = 2e-4 if batch < 1000 else 1e-2  # a rough guess of a call's time, to size the rounds
        calls = max(1, int((0.002 if quick else 0.02) / per_call))
        for fn in fns.values():  # warm up (JIT, caches, allocator)
            for _ in range(max(3, calls)):
                fn()
        med = interleaved_medians(fns, rounds=7 if quick else 41, calls=calls)
        name = f"{'-'.join(map(str, sizes))} {activation}, {batch}"

        def cell(key: str) -> str:
            return f"{med[key] * 1e6:.0f} µs" if key in med else "-"

        def ratio(a: str, b: str) -> str:
            return f"**{med[a] / med[b]:.2f}**" if a in med and b in med else "-"

        time_rows.append(f"| {name} | {cell('derivkit')} | {cell('hand')} | {ratio('derivkit', 'hand')} | "
                         f"{cell('torch')} | {ratio('derivkit', 'torch')} | {cell('jax')} | {cell('derivkit-jax')} | "
                         f"{ratio('derivkit-jax', 'jax')} |")
        peak_d, faults_d = peak_and_faults(fns["derivkit"], 3 if quick else 20)
        peak_h, faults_h = peak_and_faults(fns["hand"], 3 if quick else 20)
        memory_rows.append(f"| {name} | {peak_d / 1024:.0f} KiB | {peak_h / 1024:.0f} KiB | **{peak_d / peak_h:.2f}** | "
                           f"{faults_d:.0f} | {faults_h:.0f} |")
    tools = ", ".join(labels.values()) or "neither PyTorch nor JAX installed"
    return "\n".join(time_rows), "\n".join(memory_rows), tools


# ---------------------------------------------------------------------------
# derive + compile, this version against 0.1, in separate processes
# ---------------------------------------------------------------------------

WORKER = r'''
import json, sys, time
from derivkit.nn.networks import mlp
depths, reps = json.loads(sys.argv[1])
def best(f, n):
    b = float("inf")
    for _ in range(n):
        t0 = time.process_time(); f(); b = min(b, time.process_time() - t0)
    return b
net = lambda sizes: mlp(sizes, activation="sigmoid", loss="softmax_cross_entropy").compile()
best(lambda: net([64, 32, 10]), 3)
out = {"64-32-10": best(lambda: net([64, 32, 10]), reps)}
for d in depths:
    out[str(d)] = best(lambda: net([64] * d + [10]), reps if d < 16 else max(2, reps // 3))
print(json.dumps(out))
'''


def compile_table(quick: bool) -> str:
    depths = [1, 2, 4, 8, 16, 32] if not quick else [1, 8, 32]
    reps, rounds = (3, 1) if quick else (9, 5)
    old = tempfile.mkdtemp(prefix="derivkit-0.1-")
    try:
        subprocess.run(f"git archive {VERSION_01} derivkit | tar -x -C {old}", shell=True, check=True, cwd=ROOT,
                       capture_output=True)
        versions = {"0.1": old, "now": str(ROOT)}
    except (subprocess.CalledProcessError, FileNotFoundError):
        versions = {"now": str(ROOT)}
    runs: dict[str, list[dict]] = {k: [] for k in versions}
    for r in range(rounds):  # alternate which version runs first
        for name in (list(versions) if r % 2 == 0 else list(reversed(versions))):
            env = dict(os.environ, PYTHONPATH=versions[name])
            out = subprocess.run([sys.executable, "-c", WORKER, json.dumps([depths, reps])], env=env,
                                 cwd=versions[name], capture_output=True, text=True, check=True)
            runs[name].append(json.loads(out.stdout))
    best = {name: {k: min(run[k] for run in rs) for k in rs[0]} for name, rs in runs.items()}
    now = best["now"]
    rows = ["| network | 0.1 (317e1a5) | this version | this / 0.1 |", "| --- | --- | --- | --- |"]
    for key in ["64-32-10"] + [str(d) for d in depths]:
        label = key if key == "64-32-10" else f"depth {key} (64 wide)"
        old_cell = f"{best['0.1'][key] * 1e3:.1f} ms" if "0.1" in best else "-"
        ratio = f"**{now[key] / best['0.1'][key]:.2f}**" if "0.1" in best else "-"
        rows.append(f"| {label} | {old_cell} | {now[key] * 1e3:.1f} ms | {ratio} |")
    growth = f"depth 32 / depth 8: **{now['32'] / now['8']:.2f}**" if "8" in now and "32" in now else ""
    return "\n".join(rows) + (f"\n\nGrowth with depth (this version): {growth} (linear is 4)." if growth else "")


# ---------------------------------------------------------------------------
# train: default metrics against none
# ---------------------------------------------------------------------------

def metrics_table(quick: bool) -> str:
    from derivkit.optim import GD, Adam
    from derivkit.training.datasets import digits
    from derivkit.training.loop import train

    try:
        data, what = digits(), "the digits (scikit-learn's 8x8, 1797 examples)"
    except ImportError:
        rng = np.random.default_rng(0)
        X = rng.standard_normal((1797, 64))
        data, what = {"X": X, "Y": np.eye(10)[(X @ rng.standard_normal((64, 10))).argmax(1)]}, "1797 random points"
    net = mlp([64, 32, 10], activation="relu", loss="softmax_cross_entropy").compile()
    runs = {"minibatches of 64, Adam, 5 epochs": (lambda: Adam(0.01), 2 if quick else 5, 64),
            "full batch, GD, 100 epochs": (lambda: GD(0.5), 20 if quick else 100, None)}
    rows = ["| run | default metrics (accuracy every epoch) | metrics=False | ratio |", "| --- | --- | --- | --- |"]
    for label, (optimizer, epochs, batch_size) in runs.items():
        def run(metrics, optimizer=optimizer, epochs=epochs, batch_size=batch_size):
            return lambda: train(net, data, optimizer(), epochs=epochs, batch_size=batch_size, seed=0,
                                 metrics=metrics, progress=False)
        med = interleaved_medians({"on": run(None), "off": run(False)}, rounds=3 if quick else 15, calls=1)
        rows.append(f"| {label} | {med['on'] * 1e3:.0f} ms | {med['off'] * 1e3:.0f} ms | **{med['on'] / med['off']:.3f}** |")
    return f"On {what}, 64-32-10 ReLU network:\n\n" + "\n".join(rows)


# ---------------------------------------------------------------------------
# the scalar route
# ---------------------------------------------------------------------------

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


def scalar_table(quick: bool) -> str:
    rows = ["| network, batch | weights | scalar route: expand + diff + lambdify | matrix route: derive + compile |",
            "| --- | --- | --- | --- |"]
    cases = [([2, 2, 1], 2), ([2, 3, 1], 4)] + ([] if quick else [([2, 3, 1], 8), ([3, 4, 2], 8)])
    for sizes, batch in cases:
        n_weights, t_scalar = scalar_route(sizes, batch)
        t0 = time.process_time()
        mlp(sizes, loss="mse").compile()
        t_matrix = time.process_time() - t0
        rows.append(f"| {'-'.join(map(str, sizes))}, N = {batch} | {n_weights} | {t_scalar:.2f} s | "
                    f"{t_matrix * 1e3:.0f} ms |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a fast smoke run (fewer rounds and sizes)")
    args = ap.parse_args()
    quick = args.quick
    times, memory, tools = gradient_tables(quick)
    compiles = compile_table(quick)
    metrics = metrics_table(quick)
    scalar = scalar_table(quick)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    md = f"""### Gradient time: loss and every gradient, float64, one thread{' (quick run)' if quick else ''}

{times}

Median per call over rounds in alternation; the ratios are derivkit's time over the other's
(below 1: derivkit is faster). {tools}; JAX's own and derivkit's JAX backend are timed on
device arrays (`jit` functions called with JAX arrays, the result waited for).

### Memory of the NumPy code

{memory}

### Derive + compile time

{compiles}

Graph, matrix backprop, code generation and `compile`, best of several runs in process CPU
time, each version in its own processes, run in alternation.

### What train's default metrics cost

{metrics}

### Against the scalar-expansion route (MSE, sigmoid)

{scalar}

*Environment: one thread for BLAS, PyTorch and XLA; load average during the run {load} (a shared
machine: absolute times vary from run to run, ratios measured in alternation much less).*"""
    path = _machine.write_result("backprop", md)
    print(md)
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
