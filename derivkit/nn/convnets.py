"""Convolutional networks as graphs: LeNet-style blocks of convolution, ReLU and max-pooling.

(The module is ``convnets``, not ``cnn``, so that ``derivkit.nn.cnn`` is always the function.)

``cnn((1, 8, 8), classes=10)`` is the course's small convolutional network for
the 8 x 8 digits, two blocks of conv - ReLU - pool, then one affine layer and
the softmax with the cross-entropy loss::

    C1 = conv2d(X, K1, b1, padding=1),   A1 = ReLU(C1),   P1 = maxpool2d(A1, 2)
    C2 = conv2d(P1, K2, b2, padding=1),  A2 = ReLU(C2),   P2 = maxpool2d(A2, 2)
    F = flatten(P2),  O_in = F W3 + b3,  O_out = softmax(O_in),  CE = cross-entropy

Each block ``k`` has kernels ``Kk`` (``channels[k] x channels[k-1] x kernel x
kernel``, He-initialised for the ReLU) and a bias ``bk`` per kernel; the
padding keeps the image size (``kernel // 2``, "same"), so only the pooling
halves it. Hidden affine layers (``hidden=(32,)``) are named as in
:func:`~derivkit.nn.mlp` (``H3_in``, ``H3_out``); the weights are counted from
the input (``W3`` after two convolutions). The targets are one-hot rows ``Y``
(``N x classes``, what :mod:`derivkit.training` and the data sets use) or, with
``labels="int"``, integer class labels ``y`` of shape ``N``.

>>> g = cnn((1, 8, 8), classes=10)
>>> g.names
('X', 'Y', 'K1', 'b1', 'K2', 'b2', 'W3', 'b3', 'C1', 'A1', 'P1', 'C2', 'A2', 'P2', 'F', 'O_in', 'O_out', 'CE')
>>> {p: g[p].shape for p in g.params}
{'K1': (16, 1, 3, 3), 'b1': (16,), 'K2': (32, 16, 3, 3), 'b2': (32,), 'W3': (128, 10), 'b3': (1, 10)}
>>> print(g.definitions["C1"], "|", g.definitions["P1"])
Σ_{c,p,q} X[n,c,i+p-1,j+q-1] K1[f,c,p,q] + b1[f] | max_{p,q} A1[n,c,2i+p,2j+q]
"""

from __future__ import annotations

from typing import Sequence

from derivkit.errors import InputError
from derivkit.graph import Graph
from derivkit.graph.ops import apply, conv2d, flatten, loss, maxpool2d, softmax
from derivkit.graph.ops.windows import window_sizes

__all__ = ["cnn"]


def _positive(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"cnn: {what} must be a whole number of at least 1, got {value!r}")
    return value


def cnn(input_shape: Sequence[int] = (1, 8, 8), classes: int = 10, channels: Sequence[int] = (16, 32),
        kernel: int = 3, pool: int = 2, hidden: Sequence[int] = (), activation: str = "relu",
        labels: str = "onehot") -> Graph:
    """A LeNet-style convolutional network as a :class:`~derivkit.graph.Graph`.

    ``input_shape`` is one image, ``(C, H, W)`` (the batch size stays ``N``);
    ``channels`` the number of kernels of each conv - activation - pool block;
    ``kernel`` their size (odd: the padding ``kernel // 2`` keeps the image
    size); ``pool`` the max-pooling window (and stride; 1 for none);
    ``hidden`` the widths of affine layers between the last block and the
    output; ``activation`` the function after each convolution and hidden layer;
    ``labels`` ``"onehot"`` (targets ``Y``, ``N x classes``) or ``"int"``
    (labels ``y`` of shape ``N``).

    >>> g = cnn((3, 32, 32), classes=10, channels=(6, 16), kernel=5, hidden=(120, 84), labels="int")
    >>> g["P2"].shape, g["H4_out"].shape, g["y"].shape, g["y"].dtype
    ((N, 16, 8, 8), (N, 84), (N,), 'int')
    >>> cnn((1, 8, 8), channels=(4, 8, 16, 32))
    Traceback (most recent call last):
    ...
    derivkit.errors.ShapeError: cnn: the pooling of block 4: the 2 x 2 windows are larger than the 1 x 1 image: 2 rows of window, 1 row of image
    """
    shape = tuple(input_shape)
    if len(shape) != 3:
        raise InputError(f"cnn: input_shape is one image, (channels, rows, columns) such as (1, 8, 8); got {shape!r}")
    for d in shape:
        _positive(d, "each size of input_shape")
    classes = _positive(classes, "the number of classes")
    if classes < 2:
        raise InputError("cnn: a classifier needs at least 2 classes")
    channels = [_positive(c, "each number of channels") for c in channels]
    if not channels:
        raise InputError("cnn: give at least one convolution, e.g. channels=(8, 16)")
    kernel, pool = _positive(kernel, "the kernel size"), _positive(pool, "the pooling size")
    if kernel % 2 == 0:
        raise InputError(f"cnn: the kernel size must be odd (3, 5, ...) so that padding keeps the image size; got "
                         f"{kernel}")
    hidden = [_positive(h, "each hidden width") for h in hidden]
    if labels not in ("onehot", "int"):
        raise InputError(f"cnn: labels must be 'onehot' (targets Y) or 'int' (class labels y), got {labels!r}")

    g = Graph()
    X = g.input("X", ("N",) + shape)
    target = g.input("Y", ("N", classes)) if labels == "onehot" else g.input("y", ("N",), dtype="int")
    init = "he" if activation in ("relu", "leaky_relu") else "xavier"
    kernels = []
    size, previous = shape[1:], shape[0]
    for k, c in enumerate(channels, start=1):
        kernels.append((g.param(f"K{k}", (c, previous, kernel, kernel), init=init), g.param(f"b{k}", (c,))))
        if pool > 1:
            size = window_sizes(size, (pool, pool), (pool, pool), (0, 0), f"cnn: the pooling of block {k}")
        previous = c
    widths = [previous * size[0] * size[1]] + hidden + [classes]
    first = len(channels) + 1
    dense = [(g.param(f"W{first + i}", (widths[i], widths[i + 1]), init="xavier" if i == len(hidden) else init),
              g.param(f"b{first + i}", (1, widths[i + 1]))) for i in range(len(hidden) + 1)]
    A = X
    for k, (K, b) in enumerate(kernels, start=1):
        A = g.define(f"A{k}", apply(activation, g.define(f"C{k}", conv2d(A, K, b, padding=kernel // 2))))
        if pool > 1:
            A = g.define(f"P{k}", maxpool2d(A, pool))
    H = g.define("F", flatten(A))
    for i, (W, b) in enumerate(dense):
        last = i == len(dense) - 1
        prefix = "O" if last else f"H{first + i}"
        Z = g.define(f"{prefix}_in", H @ W + b)
        H = g.define(f"{prefix}_out", softmax(Z) if last else apply(activation, Z))
    g.define("CE", loss("nll", H, target))
    g.output_name = H.name
    return g
