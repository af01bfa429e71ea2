"""Convolution benchmark: conv2d forward + backward, and a CNN trained on the digits, against PyTorch on the CPU.

1. Two convolutions, 1 -> 8 -> 16 channels (3 x 3 kernels, padding 1, a bias per
   kernel), on a batch of 64 images of 8 x 8 and of 32 x 32 pixels; the loss
   ``L = Σ C2 ∘ R`` with a fixed random ``R``. Timed: the loss and every gradient
   (``K1, b1, K2, b2``: the backward pass goes through both layers). Compared:
   derivkit's compiled code, a plain im2col NumPy version written the usual way
   (fancy-index im2col, ``np.add.at`` col2im; its index arrays are built once,
   outside the timing) and PyTorch eager, each in float64 and float32; all are
   checked to give the same gradients.
2. ``nn.cnn((1, 8, 8))`` (conv 16 - ReLU - pool, conv 32 - ReLU - pool, affine,
   softmax + cross-entropy) trained on the digits (80/20 split, seed 0) with
   Adam (lr 0.01), batches of 32 shuffled each epoch, 10 epochs, from the same
   initial weights, with derivkit's training loop and with the same network in
   PyTorch (``nn.Conv2d``, ``nn.MaxPool2d``, ``nn.Linear``, ``torch.optim.Adam``).

Every library computes with one thread (BLAS and PyTorch), in one process; times
are CPU time of the process (``time.process_time``: other work on a busy machine
does not inflate it); the runs of the different rows are interleaved and each row
reports its best.

    python benchmarks/bench_conv.py            # full run, writes results/conv.md
    python benchmarks/bench_conv.py --quick    # smoke test: fewer repeats, one epoch, no result file
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # before NumPy starts its threads
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))

import _machine  # noqa: E402

from derivkit import nn  # noqa: E402
from derivkit.graph import Graph  # noqa: E402
from derivkit.optim import Adam  # noqa: E402
from derivkit.training.datasets import digits, labels, train_test_split  # noqa: E402
from derivkit.training.loop import evaluate, train  # noqa: E402

BATCH, SEED = 64, 0
CNN_EPOCHS, CNN_BATCH, CNN_LR = 10, 32, 0.01


# -- 1. two convolutions, forward and backward ------------------------------------------

def conv_graph(size: int) -> Graph:
    g = Graph()
    g.input("X", ("N", 1, size, size))
    g.param("K1", (8, 1, 3, 3))
    g.param("b1", (8,))
    g.param("K2", (16, 8, 3, 3))
    g.param("b2", (16,))
    g.define("C1", "conv2d(X, K1, b1, padding=1)")
    g.define("C2", "conv2d(C1, K2, b2, padding=1)")
    g.input("R", ("N", 16, size, size))
    g.define("L", "sum(C2 * R)")
    return g


class PlainIm2col:
    """A convolution layer as it is usually written in NumPy: im2col by fancy indexing, col2im by ``np.add.at``."""

    def __init__(self, shape: tuple[int, int, int, int], k: int, pad: int) -> None:
        N, C, H, W = shape
        Ho, Wo = H + 2 * pad - k + 1, W + 2 * pad - k + 1
        i0 = np.tile(np.repeat(np.arange(k), k), C)
        j0 = np.tile(np.arange(k), k * C)
        self.i = i0[:, None] + np.repeat(np.arange(Ho), Wo)[None, :]
        self.j = j0[:, None] + np.tile(np.arange(Wo), Ho)[None, :]
        self.c = np.repeat(np.arange(C), k * k)[:, None]
        self.shape, self.pad, self.out = shape, pad, (Ho, Wo)

    def forward(self, X: np.ndarray, K: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = self.pad
        Xp = np.pad(X, ((0, 0), (0, 0), (p, p), (p, p)))
        cols = Xp[:, self.c, self.i, self.j].transpose(1, 2, 0).reshape(self.c.shape[0], -1)
        out = K.reshape(K.shape[0], -1) @ cols + b[:, None]
        return out.reshape(K.shape[0], *self.out, X.shape[0]).transpose(3, 0, 1, 2), cols

    def backward(self, G: np.ndarray, cols: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        N, C, H, W = self.shape
        p = self.pad
        G2 = G.transpose(1, 2, 3, 0).reshape(K.shape[0], -1)
        dK = (G2 @ cols.T).reshape(K.shape)
        dcols = (K.reshape(K.shape[0], -1).T @ G2).reshape(self.c.shape[0], -1, N).transpose(2, 0, 1)
        dXp = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=G.dtype)
        np.add.at(dXp, (slice(None), self.c, self.i, self.j), dcols)
        return dXp[:, :, p:p + H, p:p + W], dK, G.sum(axis=(0, 2, 3))


def conv_runners(size: int, dtype: str, torch):
    """``{name: run() -> gradients}`` for the two-layer convolution on ``size x size`` images."""
    rng = np.random.default_rng(SEED)
    net = conv_graph(size).compile(dtype=dtype)
    params = {k: v.astype(dtype) for k, v in net.init_params(SEED).items()}
    data = {"X": rng.normal(size=(BATCH, 1, size, size)).astype(dtype),
            "R": rng.normal(size=(BATCH, 16, size, size)).astype(dtype)}
    runners = {}

    def derivkit_run():
        return net(params, data)[1]

    runners["derivkit"] = derivkit_run
    layer1 = PlainIm2col((BATCH, 1, size, size), 3, 1)
    layer2 = PlainIm2col((BATCH, 8, size, size), 3, 1)

    def plain_run():
        C1, cols1 = layer1.forward(data["X"], params["K1"], params["b1"])
        C2, cols2 = layer2.forward(C1, params["K2"], params["b2"])
        float((C2 * data["R"]).sum())
        dC1, dK2, db2 = layer2.backward(data["R"], cols2, params["K2"])
        _, dK1, db1 = layer1.backward(dC1, cols1, params["K1"])
        return {"K1": dK1, "b1": db1, "K2": dK2, "b2": db2}

    runners["plain im2col NumPy"] = plain_run
    if torch is not None:
        tparams = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
        tX, tR = torch.tensor(data["X"]), torch.tensor(data["R"])
        F = torch.nn.functional

        def torch_run():
            for v in tparams.values():
                v.grad = None
            C1 = F.conv2d(tX, tparams["K1"], tparams["b1"], padding=1)
            C2 = F.conv2d(C1, tparams["K2"], tparams["b2"], padding=1)
            (C2 * tR).sum().backward()
            return {k: v.grad.numpy() for k, v in tparams.items()}

        runners["PyTorch eager"] = torch_run
    reference = derivkit_run()
    tolerance = 1e-9 if dtype == "float64" else 2e-3
    for name, run in runners.items():  # the same gradients everywhere
        for key, value in run().items():
            scale = np.abs(reference[key]).max()
            assert np.abs(value - reference[key]).max() <= tolerance * scale, (name, key)
    return runners


def best_of(configs: dict, repeat: int, calls: int) -> dict[str, float]:
    """Seconds per call of each runner: best of ``repeat`` rounds of ``calls`` calls, rounds interleaved."""
    best = {name: float("inf") for name in configs}
    for run in configs.values():
        run()  # warm-up
    for _ in range(repeat):
        for name, run in configs.items():
            t0 = time.process_time()
            for _ in range(calls):
                run()
            best[name] = min(best[name], (time.process_time() - t0) / calls)
    return best


# -- 2. the CNN on the digits ---------------------------------------------------------------

def torch_cnn(torch, params, dtype):
    m = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(128, 10)).to(dtype)
    with torch.no_grad():  # derivkit's W3 is (in, out); torch's weight is (out, in)
        for layer, (K, b) in ((m[0], ("K1", "b1")), (m[3], ("K2", "b2"))):
            layer.weight.copy_(torch.tensor(params[K]))
            layer.bias.copy_(torch.tensor(params[b]))
        m[7].weight.copy_(torch.tensor(params["W3"].T))
        m[7].bias.copy_(torch.tensor(params["b3"].ravel()))
    return m


def cnn_runners(tr, te, epochs: int, torch):
    compiled = nn.cnn((1, 8, 8)).compile()
    params0 = compiled.init_params(SEED)
    runners = {}

    def derivkit_run():
        start = {k: v.copy() for k, v in params0.items()}
        t0 = time.process_time()
        h = train(compiled, tr, Adam(CNN_LR), epochs=epochs, batch_size=CNN_BATCH, seed=SEED, params=start,
                  metrics=False, progress=False)
        return time.process_time() - t0, evaluate(compiled, h.params, te)["accuracy"]

    runners["derivkit (NumPy, float64)"] = derivkit_run
    if torch is not None:
        for dtype, label in ((torch.float64, "float64"), (torch.float32, "float32")):
            def torch_run(dtype=dtype):
                model = torch_cnn(torch, params0, dtype)
                X = torch.tensor(tr["X"], dtype=dtype)
                y = torch.tensor(labels(tr["Y"]), dtype=torch.long)
                opt = torch.optim.Adam(model.parameters(), lr=CNN_LR)
                lossf = torch.nn.CrossEntropyLoss()
                n = X.shape[0]
                t0 = time.process_time()
                for epoch in range(epochs):  # the batches derivkit's loop takes
                    order = torch.from_numpy(np.random.default_rng([SEED, epoch]).permutation(n))
                    Xs, ys = X[order], y[order]
                    for i in range(0, n, CNN_BATCH):
                        opt.zero_grad()
                        lossf(model(Xs[i:i + CNN_BATCH]), ys[i:i + CNN_BATCH]).backward()
                        opt.step()
                seconds = time.process_time() - t0
                with torch.no_grad():
                    pred = model(torch.tensor(te["X"], dtype=dtype)).argmax(1).numpy()
                return seconds, float(np.mean(pred == labels(te["Y"])))

            runners[f"PyTorch eager, {label}"] = torch_run
    return compiled, runners


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, one epoch, no result file")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    repeat = 2 if args.quick else args.repeat
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # the environment variables above already ask for one thread
        threadpool_limits = None
    limits = threadpool_limits(1) if threadpool_limits is not None else None

    lines = [
        f"**conv2d forward + backward**: two convolutions, 1 -> 8 -> 16 channels, 3 x 3 kernels, padding 1, bias; "
        f"batch {BATCH}; the loss Σ C2 ∘ R and the gradients of K1, b1, K2, b2 (through both layers). "
        "Milliseconds of CPU time per call, best of interleaved rounds; the ratio is the time over derivkit's in the same "
        "precision (above 1: derivkit is faster).",
        "",
        "| input | precision | derivkit (ms) | plain im2col NumPy (ms) | PyTorch eager (ms) | im2col / derivkit | "
        "PyTorch / derivkit |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for size in (8, 32):
        calls = 20 if size == 8 else 3
        for dtype in ("float64", "float32"):
            runners = conv_runners(size, dtype, torch)
            best = best_of(runners, repeat, calls if not args.quick else 1)
            ours = best["derivkit"]
            torch_ms = f"{1e3 * best['PyTorch eager']:.2f}" if torch is not None else "-"
            torch_ratio = f"{best['PyTorch eager'] / ours:.2f}" if torch is not None else "-"
            lines.append(f"| {BATCH} x 1 x {size} x {size} | {dtype} | {1e3 * ours:.2f} | "
                         f"{1e3 * best['plain im2col NumPy']:.2f} | {torch_ms} | "
                         f"{best['plain im2col NumPy'] / ours:.2f} | {torch_ratio} |")
            print(lines[-1], flush=True)

    tr, te = train_test_split(digits(images=True), test=0.2, seed=SEED)
    epochs = 1 if args.quick else CNN_EPOCHS
    t0 = time.process_time()
    compiled, runners = cnn_runners(tr, te, epochs, torch)
    compile_s = time.process_time() - t0  # CPU time, like the rest
    for run in runners.values():  # warm-up
        run()
    results: dict[str, tuple[float, float]] = {}
    for _ in range(max(1, repeat // 2)):
        for name, run in runners.items():
            seconds, accuracy = run()
            if name not in results or seconds < results[name][0]:
                results[name] = (seconds, accuracy)
    steps = epochs * -(-len(tr["X"]) // CNN_BATCH)
    ours = results["derivkit (NumPy, float64)"][0]
    lines += [
        "",
        f"**CNN on the digits**: `nn.cnn((1, 8, 8))` (conv 16 - ReLU - 2 x 2 max-pool, conv 32 - ReLU - 2 x 2 max-pool, "
        f"affine 128 -> 10, softmax + cross-entropy), {len(tr['X'])} training / {len(te['X'])} test images, Adam lr "
        f"{CNN_LR}, batches of {CNN_BATCH}, {epochs} epochs ({steps} steps), same initial weights and batches; best "
        f"of {max(1, repeat // 2)} runs. derivkit derives and compiles the network once in {compile_s:.2f} s (not "
        "included).",
        "",
        "| implementation | training time, CPU (s) | per step (µs) | test accuracy | time / derivkit |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, (seconds, accuracy) in results.items():
        lines.append(f"| {name} | {seconds:.3f} | {1e6 * seconds / steps:.0f} | {accuracy:.1%} | "
                     f"{seconds / ours:.2f} |")
    if torch is None:
        lines.append("\nPyTorch is not installed: no comparison.")
    else:
        lines.append(f"\nPyTorch {torch.__version__}, NumPy {np.__version__}; one thread everywhere.")
    if limits is not None:
        limits.restore_original_limits()
    table = "\n".join(lines)
    print(table)
    accuracy = results["derivkit (NumPy, float64)"][1]
    if not args.quick:
        path = _machine.write_result("conv", table)
        print(f"written to {path}")
        if accuracy < 0.98:
            print(f"derivkit's test accuracy {accuracy:.1%} is below 98%", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
