"""Multilayer perceptrons as graphs, with the course's names.

``mlp([2, 3, 1])`` is the course's two-layer network::

    H_in = X W1 + b1,  H_out = σ(H_in),  O_in = H_out W2 + b2,  O_out = σ(O_in),  MSE = ...

Deeper networks number the hidden layers: ``H1_in, H1_out, H2_in, H2_out, ...``
(weights ``W1, W2, ...`` and biases ``b1, b2, ...`` counted from the input), and
the last layer is always ``O_in``/``O_out``. A network without hidden layer
(``mlp([4, 1])``) is ``O_in = X W1 + b1``. The loss node is named after the
loss: ``MSE``, ``SSE``, ``L1``, ``BCE``, ``CE`` (softmax + cross-entropy,
fused), ``NLL``, ``HINGE``. Sizes of the batch stay symbolic (``N``).

>>> g = mlp([2, 3, 1])
>>> g.names
('X', 'Y', 'W1', 'b1', 'W2', 'b2', 'H_in', 'H_out', 'O_in', 'O_out', 'MSE')
>>> print(g.definitions["O_out"], "|", g.definitions["MSE"])
σ(O_in) | (1/N) Σ (O_out - Y)^2
>>> mlp([4, 8, 8, 3], activation="relu", loss="softmax_cross_entropy").names[-7:]
('H1_in', 'H1_out', 'H2_in', 'H2_out', 'O_in', 'O_out', 'CE')
"""

from __future__ import annotations

from typing import Sequence

from derivkit.errors import InputError
from derivkit.graph import Graph
from derivkit.graph.ops import LOSSES, apply, loss as loss_node, softmax

__all__ = ["mlp", "course_network", "OUTPUT_FOR_LOSS"]

#: The output activation used when none is given, per loss.
OUTPUT_FOR_LOSS = {
    "mse": "sigmoid", "sse": "sigmoid", "l1": "sigmoid", "bce": "sigmoid", "cross_entropy": "sigmoid",
    "nll": "softmax", "softmax_cross_entropy": "softmax", "hinge": "identity",
}


def mlp(sizes: Sequence[int], activation: str = "sigmoid", output: str | None = None, loss: str = "mse",
        bias: bool = True) -> Graph:
    """A fully connected network as a :class:`~derivkit.graph.Graph`.

    ``sizes`` are the layer widths from input to output (``[2, 3, 1]``),
    ``activation`` the hidden layers' function, ``output`` the last layer's
    (default: sigmoid for mse/sse/l1/bce as in the course, softmax for
    ``softmax_cross_entropy`` and ``nll``, identity for hinge), ``loss`` one of
    :data:`derivkit.graph.ops.LOSSES`.

    >>> g = mlp([2, 3, 1], activation="step", bias=False)
    >>> print(g.definitions["H_out"])
    step(H_in)
    >>> {p: g[p].shape for p in g.params}
    {'W1': (2, 3), 'W2': (3, 1)}
    """
    if isinstance(sizes, str):
        try:
            sizes = [int(s) for s in sizes.split(",")]
        except ValueError:
            raise InputError(f"layer sizes must be integers such as 2,3,1, got {sizes!r}") from None
    sizes = list(sizes)
    if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise InputError(f"an mlp needs at least two positive integer sizes (input, output), got {sizes!r}")
    if loss not in LOSSES:
        raise InputError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    output = output or OUTPUT_FOR_LOSS[loss]
    g = Graph()
    X = g.input("X", ("N", sizes[0]))
    Y = g.input("Y", ("N", sizes[-1]))
    layers = len(sizes) - 1
    init = "he" if activation in ("relu", "leaky_relu") else "xavier"
    weights = []
    for i in range(1, layers + 1):
        W = g.param(f"W{i}", (sizes[i - 1], sizes[i]), init=init if i < layers else "xavier")
        b = g.param(f"b{i}", (1, sizes[i]), init="zeros") if bias else None
        weights.append((W, b))
    A = X
    for i, (W, b) in enumerate(weights, start=1):
        last = i == layers
        prefix = "O" if last else ("H" if layers == 2 else f"H{i}")
        pre = A @ W
        if b is not None:
            pre = pre + b
        Z = g.define(f"{prefix}_in", pre)
        func = output if last else activation
        A = g.define(f"{prefix}_out", softmax(Z) if func == "softmax" else apply(func, Z))
    kind = "nll" if (loss == "softmax_cross_entropy" and output == "softmax") else loss
    label = LOSSES[loss]["label"]
    g.define(label, loss_node(kind, A, Y))
    g.output_name = A.name
    return g


def course_network(activation: str = "sigmoid") -> Graph:
    """The network of the course's slides: 2-3-1, MSE, no biases, ``activation`` in both layers.

    >>> print(course_network("step").definitions["O_out"])
    step(O_in)
    """
    return mlp([2, 3, 1], activation=activation, output=activation, loss="mse", bias=False)
