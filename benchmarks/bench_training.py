"""Training benchmark: scikit-learn's 8x8 digits with a 64-32-10 MLP, derivkit against PyTorch CPU.

Same configuration on both sides: 80/20 train/test split (seed 0), ReLU hidden
layer, softmax + cross-entropy, Adam (lr 0.01), minibatches of 64 shuffled each
epoch, 20 epochs, the same initial weights. Timed: the training loop alone
(best of ``--repeat`` runs), as CPU time of the process (``time.process_time``:
other work on a busy machine does not inflate it; both sides run one thread at
this size) and as wall time; derivkit's one-off compile time is reported apart.

    python benchmarks/bench_training.py            # full run, writes results/training.md
    python benchmarks/bench_training.py --quick    # smoke test: 3 epochs, one repeat
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import _machine  # noqa: E402

from derivkit import nn  # noqa: E402
from derivkit.optim import Adam  # noqa: E402
from derivkit.training.datasets import digits, labels, train_test_split  # noqa: E402
from derivkit.training.loop import evaluate, train  # noqa: E402

SIZES = [64, 32, 10]
LR, BATCH, SEED = 0.01, 64, 0


def run_derivkit(compiled, params0, tr, te, epochs: int, dtype: str = "float64") -> tuple[float, float, float]:
    params = {k: v.copy() for k, v in params0.items()}
    t0, c0 = time.perf_counter(), time.process_time()
    h = train(compiled, tr, Adam(LR), epochs=epochs, batch_size=BATCH, seed=SEED, params=params,
              metrics=False, progress=False)
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    return cpu, wall, evaluate(compiled, h.params, te)["accuracy"]


def run_torch(torch, params0, tr, te, epochs: int, dtype) -> tuple[float, float, float]:
    X = torch.tensor(tr["X"], dtype=dtype)
    y = torch.tensor(labels(tr["Y"]), dtype=torch.long)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)).to(dtype)
    with torch.no_grad():  # derivkit's W is (in, out); torch's weight is (out, in)
        model[0].weight.copy_(torch.tensor(params0["W1"].T))
        model[0].bias.copy_(torch.tensor(params0["b1"].ravel()))
        model[2].weight.copy_(torch.tensor(params0["W2"].T))
        model[2].bias.copy_(torch.tensor(params0["b2"].ravel()))
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    lossf = torch.nn.CrossEntropyLoss()
    n = X.shape[0]
    t0, c0 = time.perf_counter(), time.process_time()
    for epoch in range(epochs):
        order = torch.from_numpy(np.random.default_rng([SEED, epoch]).permutation(n))
        Xs, ys = X[order], y[order]
        for i in range(0, n, BATCH):
            opt.zero_grad()
            loss = lossf(model(Xs[i:i + BATCH]), ys[i:i + BATCH])
            loss.backward()
            opt.step()
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    with torch.no_grad():
        pred = model(torch.tensor(te["X"], dtype=dtype)).argmax(1).numpy()
    return cpu, wall, float(np.mean(pred == labels(te["Y"])))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 epochs, one repeat, no result file")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--default-threads", action="store_true",
                    help="also time PyTorch with its default number of threads (slow on a busy machine)")
    args = ap.parse_args()
    epochs = 3 if args.quick else args.epochs
    repeat = 1 if args.quick else args.repeat

    tr, te = train_test_split(digits(), test=0.2, seed=SEED)
    t0 = time.perf_counter()
    graph = nn.mlp(SIZES, activation="relu", loss="softmax_cross_entropy")
    compiled = graph.compile()
    compile_s = time.perf_counter() - t0
    params0 = compiled.init_params(SEED)

    try:
        import torch
    except ImportError:
        torch = None
    # Each configuration: (name, run(epochs) -> (cpu seconds, wall seconds, accuracy), torch threads or None).
    configs = [("derivkit (NumPy, float64)", lambda e: run_derivkit(compiled, params0, tr, te, e), None)]
    if torch is not None:
        default_threads = torch.get_num_threads()
        for dtype, label in ((torch.float64, "float64"), (torch.float32, "float32")):
            configs.append((f"PyTorch CPU, {label}, 1 thread",
                            lambda e, dt=dtype: run_torch(torch, params0, tr, te, e, dt), 1))
        if args.default_threads and default_threads > 1:
            configs.append((f"PyTorch CPU, float32, {default_threads} threads (default)",
                            lambda e: run_torch(torch, params0, tr, te, e, torch.float32), default_threads))

    def measured(run, threads, e):
        if threads is not None:
            torch.set_num_threads(threads)
        return run(e)

    for _, run, threads in configs:  # warm-up
        measured(run, threads, 1)
    best: dict[str, list[float]] = {}
    for _ in range(repeat):  # interleaved, so that a busy machine slows every side alike
        for name, run, threads in configs:
            cpu, wall, acc = measured(run, threads, epochs)
            b = best.setdefault(name, [cpu, wall, acc])
            b[0], b[1] = min(b[0], cpu), min(b[1], wall)
    if torch is not None:
        torch.set_num_threads(default_threads)
    rows = [(name, best[name]) for name, _, _ in configs]

    ours = rows[0][1][0]
    steps = epochs * -(-len(tr["X"]) // BATCH)
    lines = [
        f"Digits (8x8, {len(tr['X'])} training / {len(te['X'])} test images), MLP 64-32-10 (ReLU, softmax + "
        f"cross-entropy), Adam lr {LR}, batch {BATCH}, {epochs} epochs ({steps} steps), same initial weights; "
        f"best of {repeat} runs. derivkit compiles the graph once in {compile_s:.2f} s (not included).",
        "",
        "| implementation | training time, CPU (s) | per step (µs) | wall time (s) | test accuracy | time / derivkit |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, (cpu, wall, acc) in rows:
        lines.append(f"| {name} | {cpu:.3f} | {1e6 * cpu / steps:.0f} | {wall:.3f} | {acc:.1%} | {cpu / ours:.2f} |")
    if torch is None:
        lines.append("\nPyTorch is not installed: no comparison.")
    else:
        lines.append(f"\nPyTorch {torch.__version__}; runs interleaved, best of {repeat} per row; the ratio is of CPU "
                     "times. derivkit runs NumPy with its default BLAS threads.")
    table = "\n".join(lines)
    print(table)
    acc = rows[0][1][2]
    if not args.quick:
        path = _machine.write_result("training", table)
        print(f"written to {path}")
        if acc < 0.97:
            print(f"derivkit's test accuracy {acc:.1%} is below 97%", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
