"""``derivkit tour``: a guided run through the course in a few seconds.

Five stops, each using derivkit's public API: a derivation (the sigmoid), the
chain rule worked at a point, a wrong derivative diagnosed, a gradient-descent
table, and a small network trained on XOR. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

from derivkit.cli.common import add_format, whole
from derivkit.cli.progress import EpochBar, add_progress, wants_bar
from derivkit.errors import DerivkitError

ORDER = 80

WIDTH = 72

#: The longest XOR run the tour accepts.
MAX_EPOCHS = 100_000

EXAMPLES = """examples:
  derivkit tour                          the five stops in plain text
  derivkit tour --format markdown        the same as a Markdown page
  derivkit tour --epochs 300 --no-progress   a shorter training run, without a progress bar
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tour",
        help="a guided run through the course in a few seconds",
        description="Derive the sigmoid, work the chain rule at a point, diagnose a wrong derivative, "
        "run gradient descent by hand and train a small network on XOR.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_format(p, ("text", "markdown"))
    p.add_argument("--epochs", type=whole(1, MAX_EPOCHS, limit="the longest run the tour accepts"), default=1000,
                   help="epochs of the XOR training run (default 1000)")
    add_progress(p)
    p.set_defaults(run=run)


def _derivation(fmt: str) -> str:
    from derivkit import derive

    return derive("sigmoid(x)", "x").render(fmt)


def _chain(fmt: str) -> str:
    from derivkit import chain

    return chain({"y": "3*x - 2", "z": "y**2"}, "x").at(x=2).render(fmt)


def _check(fmt: str) -> str:
    from derivkit import check

    verdict = check("sin(x**2)", "cos(x**2)", "x")
    return verdict.render(fmt)


def _descent(fmt: str) -> str:
    from derivkit import descend

    f = "5*b**2 - 3*b + 2"
    good = descend(f, "b", start=4, lr=0.01, steps=3).render(fmt)
    bad = descend(f, "b", start=4, lr=1, steps=3).render(fmt)
    sep = "\n\nThe same with alpha = 1 overshoots further at every step:\n\n"
    return good + sep + bad


def _training(fmt: str, epochs: int, progress: bool = False) -> str:
    import numpy as np

    from derivkit import nn, train
    from derivkit.optim import Adam
    from derivkit.render.common import markdown_table, text_table
    from derivkit.training.datasets import xor

    graph = nn.mlp([2, 4, 1], activation="sigmoid", output="sigmoid", loss="mse")
    compiled = graph.compile()
    data = xor()
    with EpochBar(epochs, progress, desc="XOR") as bar:
        h = train(compiled, data, Adam(0.1), epochs=epochs, seed=1, progress=False,
                  callback=lambda epoch, logs: bar.update(logs))
    if h.interrupted:
        raise KeyboardInterrupt
    out = np.asarray(compiled.predict(h.params, data["X"])).ravel()
    rows = [[f"{int(a)}", f"{int(b)}", f"{int(y)}", f"{o:.3f}"] for (a, b), y, o in zip(data["X"], data["Y"].ravel(), out)]
    table = (text_table if fmt == "text" else markdown_table)(["x1", "x2", "XOR", "network"], rows)
    intro = (f"mlp([2, 4, 1]): H_in = X W1 + b1, H_out = σ(H_in), O_in = H_out W2 + b2, O_out = σ(O_in), "
             f"loss MSE; gradients compiled to NumPy, trained with Adam(0.1) for {h.epochs} epochs "
             f"({h.seconds:.2f} s): loss {h.losses[0]:.4f} -> {h.final_loss:.4f}, "
             f"accuracy {h.metrics.get('accuracy', (float('nan'),))[-1]:.0%}.")
    return intro + "\n\n" + table


def stops(epochs: int = 1000, progress: bool = False) -> list[tuple[str, str, Callable[[str], str]]]:
    """The tour's stops: (title, the command that shows more, renderer of the stop)."""
    return [
        ("A derivation, step by step: the sigmoid", 'derivkit derive "sigmoid(x)" --wrt x', _derivation),
        ("The chain rule at a point: y = 3x - 2, z = y^2, x = 2", 'derivkit chain "y = 3*x - 2" "z = y^2" --wrt x --at x=2', _chain),
        ("Checking your work: d/dx sin(x^2) claimed to be cos(x^2)", 'derivkit check "sin(x^2)" "cos(x^2)" --wrt x', _check),
        ("Gradient descent by hand: f(b) = 5b^2 - 3b + 2 from b = 4, alpha = 0.01",
         'derivkit descend "5*b**2 - 3*b + 2" --wrt b --start 4 --lr 0.01 --steps 3', _descent),
        ("Training a network: XOR", "derivkit train --data digits --epochs 20 --batch-size 64",
         lambda fmt: _training(fmt, epochs, progress)),
    ]


def run(args: argparse.Namespace) -> int:
    fmt = args.format
    t0 = time.perf_counter()
    all_stops = stops(args.epochs, wants_bar(args.progress, fmt=args.format))
    if fmt == "text":
        print("derivkit tour: the calculus of deep learning in five stops".center(WIDTH).rstrip())
    else:
        print("# derivkit tour\n\nThe calculus of deep learning in five stops.")
    for i, (title, more, fn) in enumerate(all_stops, start=1):
        try:
            body = fn(fmt)
        except (ImportError, DerivkitError) as err:
            body = f"(this stop is not available in this installation: {str(err).splitlines()[0]})"
        if fmt == "text":
            print(f"\n{'=' * WIDTH}\n{i}. {title}\n{'=' * WIDTH}\n\n{body}\n\nMore: {more}")
        else:
            print(f"\n## {i}. {title}\n\n{body}\n\nMore: `{more}`")
    took = time.perf_counter() - t0
    end = f"Tour finished in {took:.1f} s. See `derivkit --help` for every command."
    print(f"\n{end}" if fmt == "markdown" else f"\n{'=' * WIDTH}\n{end}")
    return 0
