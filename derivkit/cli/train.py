"""``derivkit train``: train a small network on a bundled data set and report test accuracy."""

from __future__ import annotations

import argparse
import sys

from derivkit.errors import InputError

ORDER = 70

#: Per data set: default layer sizes, hidden activation, output, loss, learning rate of Adam.
DEFAULTS = {
    "digits": ("64,32,10", "relu", None, "softmax_cross_entropy"),
    "blobs": ("2,8,3", "tanh", None, "softmax_cross_entropy"),
    "moons": ("2,16,1", "tanh", "sigmoid", "bce"),
    "xor": ("2,4,1", "sigmoid", "sigmoid", "mse"),
    "regression": ("1,1", "identity", "identity", "mse"),
}
LEARNING_RATES = {"adam": 0.01, "gd": 0.1, "sgd": 0.1, "momentum": 0.05, "nesterov": 0.05}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a small network on a bundled data set",
        description="Build an MLP, compile its gradients to NumPy and train it with minibatch SGD "
        "(or full-batch descent); prints one line per epoch and the test accuracy.",
    )
    p.add_argument("--data", default="digits", choices=sorted(DEFAULTS), help="data set (default: digits)")
    p.add_argument("--arch", default="mlp", choices=("mlp", "cnn"),
                   help="mlp (default) or cnn: a convolutional network (conv-ReLU-pool blocks) on the 8x8 digit images")
    p.add_argument("--channels", default="16,32", help="kernels of each conv block of --arch cnn (default 16,32)")
    p.add_argument("--layers", help="layer sizes from input to output, e.g. 64,32,10 (default: per data set)")
    p.add_argument("--activation", help="hidden activation: sigmoid, tanh, relu, ... (default: per data set)")
    p.add_argument("--loss", help="loss: mse, bce, softmax_cross_entropy, ... (default: per data set)")
    p.add_argument("--optimizer", default="adam", help="gd, momentum, nesterov or adam (default: adam)")
    p.add_argument("--lr", type=float, help="learning rate (default: 0.01 for adam, 0.1 for gd)")
    p.add_argument("--momentum", type=float, help="eta for --optimizer momentum/nesterov (default 0.9)")
    p.add_argument("--epochs", type=int, default=20, help="number of epochs (default 20)")
    p.add_argument("--batch-size", type=int, help="minibatch size (default: the whole training set; 32 for --arch cnn)")
    p.add_argument("--test", type=float, default=0.2, help="fraction held out for testing (default 0.2)")
    p.add_argument("--patience", type=int, help="early stopping on the test part after this many epochs without progress")
    p.add_argument("--seed", type=int, default=0, help="random seed for the split, the weights and the shuffling")
    p.add_argument("--plot", metavar="PNG", help="save the loss curves to this PNG file (needs matplotlib)")
    p.add_argument("--save", metavar="NPZ", help="save the parameters and the run to this .npz file")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the result")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from derivkit.nn import cnn, mlp
    from derivkit.training.datasets import load, train_test_split
    from derivkit.training.loop import evaluate, train
    from derivkit.training.optim import make_optimizer

    layers, activation, output, loss = DEFAULTS[args.data]
    layers = args.layers or layers
    activation = args.activation or activation
    loss = args.loss or loss
    if args.loss and args.loss != DEFAULTS[args.data][3]:
        output = None  # let mlp pick the output that goes with this loss
    try:
        sizes = [int(s) for s in layers.split(",")]
    except ValueError:
        raise InputError(f"--layers takes integers such as 64,32,10, not {layers!r}") from None
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
    name = args.optimizer.lower()
    lr = args.lr if args.lr is not None else LEARNING_RATES.get(name, 0.01)
    hyper = {"eta": args.momentum} if args.momentum is not None and name in ("momentum", "nesterov") else {}
    opt = make_optimizer(name, lr=lr, **hyper)
    if args.arch == "cnn":
        try:
            channels = [int(c) for c in args.channels.split(",")]
        except ValueError:
            raise InputError(f"--channels takes whole numbers such as 16,32, not {args.channels!r}") from None
        graph = cnn(data["X"].shape[1:], classes=n_out, channels=channels)
        args.batch_size = 32 if args.batch_size is None else args.batch_size
    else:
        graph = mlp(sizes, activation=activation, output=output, loss=loss)
    compiled = graph.compile()
    epochs = args.epochs

    every = max(1, -(-epochs // 20))  # at most about 20 lines

    def log(epoch: int, logs: dict[str, float]) -> None:
        if args.quiet or (epoch % every and epoch != epochs and epoch != 1):
            return
        parts = [f"epoch {epoch:>{len(str(epochs))}}/{epochs}", f"loss {logs['loss']:.4f}"]
        if "accuracy" in logs:
            parts.append(f"accuracy {logs['accuracy']:.1%}")
        if "val_loss" in logs:
            parts.append(f"test loss {logs['val_loss']:.4f}")
        if "val_accuracy" in logs:
            parts.append(f"test accuracy {logs['val_accuracy']:.1%}")
        print("  ".join(parts), flush=True)

    if not args.quiet:
        batch = "full batch" if args.batch_size is None else f"batches of {args.batch_size}"
        split = (f"{len(train_part['X'])} examples, no test part" if test_part is train_part
                 else f"{len(train_part['X'])} training, {len(test_part['X'])} test examples")
        print(f"{args.data}: {split}; "
              + (f"CNN {args.channels.replace(',', '-')} (3x3 kernels, ReLU, 2x2 max-pooling, softmax cross-entropy)"
                 if args.arch == "cnn"
                 else f"MLP {'-'.join(map(str, sizes))} ({activation}, loss {loss})") + f"; {opt!r}, {batch}")
    h = train(compiled, train_part, opt, epochs=epochs, batch_size=args.batch_size, seed=args.seed,
              validation=test_part if test_part is not train_part else None, patience=args.patience,
              callback=log, progress=False)
    if args.plot and h.losses:
        h.plot(args.plot)
        print(f"loss curves saved to {args.plot}")
    if args.save:
        print(f"parameters saved to {h.save(args.save)}")
    if h.diverged:
        print(f"derivkit train: diverged: {h.reason}", file=sys.stderr)
        return 2
    params = h.best_params if args.patience else h.params
    result = evaluate(compiled, params, test_part)
    if h.reason:
        print(h.reason)
    what = "test" if test_part is not train_part else "training"
    line = f"final {what} loss {result['loss']:.4f}"
    if "accuracy" in result:
        line += f", {what} accuracy {result['accuracy']:.1%}"
    print(f"{line} ({h.epochs} epochs, {h.seconds:.2f} s)")
    return 0
