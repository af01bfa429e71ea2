"""``derivkit train``: train a small network on a bundled data set and report test accuracy."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from derivkit.cli.common import (
    EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, add_format, check_writable, layer_sizes, print_ascii_safe,
    real, require, whole,
)
from derivkit.cli.progress import EpochBar, add_progress, wants_bar
from derivkit.errors import InputError

ORDER = 70

#: Per data set: default layer sizes, hidden activation, output, loss.
DEFAULTS = {
    "digits": ("64,32,10", "relu", None, "softmax_cross_entropy"),
    "blobs": ("2,8,3", "tanh", None, "softmax_cross_entropy"),
    "moons": ("2,16,1", "tanh", "sigmoid", "bce"),
    "xor": ("2,4,1", "sigmoid", "sigmoid", "mse"),
    "regression": ("1,1", "identity", "identity", "mse"),
}
LEARNING_RATES = {"adam": 0.01, "adamw": 0.01, "gd": 0.1, "sgd": 0.1, "momentum": 0.05, "nesterov": 0.05}
#: The longest run the command accepts (Ctrl-C stops a run early and keeps it).
MAX_EPOCHS = 100_000

EXAMPLES = """examples:
  derivkit train --data xor --epochs 500 --lr 0.1 --seed 1        a 2-4-1 sigmoid network learns XOR
  derivkit train --data digits --epochs 5 --batch-size 64         8x8 digits, minibatches of 64
  derivkit train --data moons --optimizer momentum --lr 0.1 --momentum 0.9 --epochs 50
  derivkit train --data blobs --epochs 30 --patience 5 --quiet    early stopping, only the result
  derivkit train --data xor --epochs 200 --format json            the whole run as JSON

Ctrl-C stops the run; with --save the parameters so far are saved (exit status 130).
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a small network on a bundled data set",
        description="Build a network (an MLP, or with --arch cnn a convolutional network), compile its "
        "gradients to NumPy and train it with minibatch SGD (or full-batch descent); prints one line per "
        "epoch and the test accuracy.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", default="digits", choices=sorted(DEFAULTS), help="data set (default: digits)")
    p.add_argument("--arch", default="mlp", choices=("mlp", "cnn"),
                   help="mlp (default) or cnn: a convolutional network (conv-ReLU-pool blocks) on the 8x8 digit images")
    p.add_argument("--channels", type=_channels, default=[16, 32],
                   help="kernels of each conv block of --arch cnn (default 16,32)")
    p.add_argument("--layers", type=layer_sizes,
                   help="layer sizes from input to output, e.g. 64,32,10 (default: per data set)")
    p.add_argument("--activation", help="hidden activation: sigmoid, tanh, relu, ... (default: per data set)")
    p.add_argument("--loss", help="loss: mse, bce, softmax_cross_entropy, ... (default: per data set)")
    p.add_argument("--optimizer", default="adam", type=str.lower, choices=sorted(LEARNING_RATES),
                   help="the optimiser (default: adam)")
    p.add_argument("--lr", type=real(0, above=True), help="learning rate (default: 0.01 for adam, 0.1 for gd)")
    p.add_argument("--momentum", type=real(0, 1, below=True),
                   help="momentum (the course's eta) of --optimizer momentum, nesterov or sgd, from 0 to below 1 "
                   "(default 0.9; sgd: 0)")
    p.add_argument("--weight-decay", type=real(0), help="PyTorch's weight decay (L2) for any optimiser (default 0)")
    p.add_argument("--epochs", type=whole(1, MAX_EPOCHS, limit="the longest run derivkit train accepts"),
                   default=20, help="number of epochs (default 20)")
    p.add_argument("--batch-size", type=whole(1),
                   help="minibatch size (default: the whole training set; 32 for --arch cnn)")
    p.add_argument("--test", type=real(0, 1, above=True, below=True), default=0.2,
                   help="fraction held out for testing, between 0 and 1 (default 0.2)")
    p.add_argument("--patience", type=whole(1),
                   help="early stopping on the test part after this many epochs without progress")
    p.add_argument("--seed", type=whole(0, 2**32 - 1), default=0,
                   help="random seed for the split, the weights and the shuffling (0 to 2^32 - 1)")
    p.add_argument("--plot", metavar="PNG", help="save the loss curves to this PNG file (needs matplotlib)")
    p.add_argument("--save", metavar="NPZ", help="save the parameters and the run to this .npz file")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the result")
    add_progress(p)
    add_format(p, ("text", "json"))
    p.set_defaults(run=run)


def _channels(text: str) -> list[int]:
    """An argument type: the kernels of each convolution block, such as ``16,32``."""
    parts = [p.strip() for p in text.split(",")]
    if not all(p.isdigit() and 1 <= int(p) <= 4096 for p in parts):
        raise argparse.ArgumentTypeError(f"--channels takes whole numbers from 1 to 4096 such as 16,32; got {text!r}")
    return [int(p) for p in parts]


def _save_path(text: str) -> Path:
    """Where ``History.save`` writes: the name given, with ``.npz`` added when missing."""
    path = Path(text)
    return path if path.suffix == ".npz" else Path(f"{text}.npz")


def _check_before_work(args: argparse.Namespace) -> None:
    """Refuse now, not after the training, what would fail at the end."""
    if args.data == "digits":
        require("sklearn", "scikit-learn", "data", "the digits data set")
    if args.plot:
        require("matplotlib", "matplotlib", "plot", "--plot")
        check_writable(args.plot, "--plot")
    if args.save:
        check_writable(_save_path(args.save), "--save")


def _number(x: float) -> float | None:
    """A float for JSON (which has no NaN or infinity: those become null)."""
    return float(x) if math.isfinite(x) else None


def run(args: argparse.Namespace) -> int:
    _check_before_work(args)
    show_bar = wants_bar(args.progress, quiet=args.quiet, fmt=args.format)
    text = args.format == "text"
    say = (lambda line: None) if args.quiet or not text else print  # noqa: E731

    from derivkit.nn import cnn, mlp
    from derivkit.training.datasets import load, train_test_split
    from derivkit.training.loop import evaluate, train
    from derivkit.training.optim import make_optimizer

    default_layers, activation, output, loss = DEFAULTS[args.data]
    sizes = args.layers or [int(s) for s in default_layers.split(",")]
    layers = ",".join(map(str, sizes))
    activation = args.activation or activation
    loss = args.loss or loss
    if args.loss and args.loss != DEFAULTS[args.data][3]:
        output = None  # let mlp pick the output that goes with this loss
    if args.arch == "cnn" and (args.data != "digits" or args.layers or args.activation or args.loss):
        raise InputError("--arch cnn trains a convolutional network on the digit images: use it with --data digits, "
                         "and --channels instead of --layers, --activation and --loss")
    data = load(args.data, images=True) if args.arch == "cnn" else load(args.data)
    n_in, n_out = data["X"].shape[1], data["Y"].shape[1]
    if args.arch == "mlp" and (sizes[0] != n_in or sizes[-1] != n_out):
        raise InputError(f"the {args.data} data has {n_in} inputs and {n_out} outputs: "
                         f"--layers must start with {n_in} and end with {n_out}, not {layers}")
    if args.data in ("xor", "regression"):
        train_part, test_part = data, data  # too few points to hold any out
    else:
        train_part, test_part = train_test_split(data, test=args.test, seed=args.seed)
    name = args.optimizer
    lr = args.lr if args.lr is not None else LEARNING_RATES.get(name, 0.01)
    hyper = {"momentum": args.momentum} if args.momentum is not None and name in ("momentum", "nesterov", "sgd") else {}
    if args.weight_decay is not None:
        hyper["weight_decay"] = args.weight_decay
    opt = make_optimizer(name, lr=lr, **hyper)
    if args.arch == "cnn":
        graph = cnn(data["X"].shape[1:], classes=n_out, channels=args.channels)
        args.batch_size = 32 if args.batch_size is None else args.batch_size
        network = f"CNN {'-'.join(map(str, args.channels))} (3x3 kernels, ReLU, 2x2 max-pooling, softmax cross-entropy)"
    else:
        graph = mlp(sizes, activation=activation, output=output, loss=loss)
        network = f"MLP {'-'.join(map(str, sizes))} ({activation}, loss {loss})"
    compiled = graph.compile()
    epochs = args.epochs
    held_out = test_part is not train_part

    batch = "full batch" if args.batch_size is None else f"batches of {args.batch_size}"
    split = (f"{len(train_part['X'])} training, {len(test_part['X'])} test examples" if held_out
             else f"{len(train_part['X'])} examples, no test part")
    say(f"{args.data}: {split}; {network}; {opt!r}, {batch}")

    every = max(1, -(-epochs // 20))  # at most about 20 lines

    with EpochBar(epochs, show_bar) as bar:
        def log(epoch: int, logs: dict[str, float]) -> None:
            bar.update(logs)
            if args.quiet or not text or (epoch % every and epoch != epochs and epoch != 1):
                return
            parts = [f"epoch {epoch:>{len(str(epochs))}}/{epochs}", f"loss {logs['loss']:.4f}"]
            if "accuracy" in logs:
                parts.append(f"accuracy {logs['accuracy']:.1%}")
            if "val_loss" in logs:
                parts.append(f"test loss {logs['val_loss']:.4f}")
            if "val_accuracy" in logs:
                parts.append(f"test accuracy {logs['val_accuracy']:.1%}")
            bar.write("  ".join(parts))

        h = train(compiled, train_part, opt, epochs=epochs, batch_size=args.batch_size, seed=args.seed,
                  validation=test_part if held_out else None, patience=args.patience,
                  callback=log, progress=False)

    saved = plotted = None
    if args.plot and h.losses:
        h.plot(args.plot)
        plotted = args.plot
        say(f"loss curves saved to {args.plot}")
    if args.save:
        saved = h.save(args.save)
        say(f"parameters saved to {saved}")

    result: dict[str, float] = {}
    if not (h.diverged or h.interrupted):
        result = evaluate(compiled, h.best_params if args.patience else h.params, test_part)
    what = "test" if held_out else "training"
    if not text:
        report: dict[str, Any] = {
            "data": args.data,
            "examples": {"training": len(train_part["X"]), "test": len(test_part["X"]) if held_out else 0},
            "network": ({"arch": "cnn", "channels": args.channels, "loss": "softmax_cross_entropy"}
                        if args.arch == "cnn" else {"layers": sizes, "activation": activation, "loss": loss}),
            "optimizer": repr(opt),
            "batch_size": args.batch_size,
            "seed": args.seed,
            "epochs": h.epochs,
            "seconds": h.seconds,
            "losses": [_number(v) for v in h.losses],
            "val_losses": [_number(v) for v in h.val_losses],
            "metrics": {k: [_number(v) for v in vs] for k, vs in h.metrics.items()},
            "final": {"on": what, **{k: _number(v) for k, v in result.items()}} if result else None,
            "diverged": h.diverged,
            "stopped_early": h.stopped_early,
            "interrupted": h.interrupted,
            "reason": h.reason,
            "saved": str(saved) if saved else None,
            "plot": plotted,
        }
        import json

        print_ascii_safe(json.dumps(report, indent=2, ensure_ascii=False), json_text=True)
    if h.interrupted:
        kept = f"; the run is saved to {saved}" if saved else " (give --save FILE to keep a run)"
        print(f"derivkit train: interrupted (Ctrl-C) after {h.epochs} epochs{kept}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if h.diverged:
        print(f"derivkit train: diverged: {h.reason}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not text:
        return EXIT_OK
    if h.reason:
        print(h.reason)
    line = f"final {what} loss {result['loss']:.4f}"
    if "accuracy" in result:
        line += f", {what} accuracy {result['accuracy']:.1%}"
    print(f"{line} ({h.epochs} epochs, {h.seconds:.2f} s)")
    return EXIT_OK
