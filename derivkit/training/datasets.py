"""Small data sets for the course, made locally (no download).

Each function returns a dict ``{"X": ..., "Y": ...}`` of float arrays, one
example per row, ready for :func:`derivkit.train`. Class labels come one-hot
(``Y`` has one column per class) except for two-class sets, whose ``Y`` is a
single 0/1 column (for a sigmoid output). ``labels(Y)`` turns either back into
class numbers.

>>> data = regression()
>>> data["X"].ravel().tolist(), data["Y"].ravel().tolist()
([2.0, 4.0, 6.0, 8.0], [3.0, 4.0, 5.0, 6.0])
>>> xor()["Y"].ravel().tolist()
[0.0, 1.0, 1.0, 0.0]
>>> one_hot([2, 0], 3).tolist()
[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from derivkit.errors import InputError, MissingDependencyError, ShapeError

__all__ = [
    "regression", "xor", "moons", "blobs", "digits", "one_hot", "labels",
    "train_test_split", "as_data", "DATASETS", "load",
]

Data = dict[str, np.ndarray]


def regression() -> Data:
    """The course's linear-regression points: x = 2, 4, 6, 8 and y = 3, 4, 5, 6 (best fit y = 0.5 x + 2)."""
    return {"X": np.array([[2.0], [4.0], [6.0], [8.0]]), "Y": np.array([[3.0], [4.0], [5.0], [6.0]])}


def xor() -> Data:
    """The four points of XOR: ``Y = x1 xor x2`` (not linearly separable).

    >>> xor()["X"].tolist()
    [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    """
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return {"X": X, "Y": np.array([[0.0], [1.0], [1.0], [0.0]])}


def _count(n: Any, what: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise InputError(f"{what} must be a whole number of at least 2, not {n!r}")
    return int(n)


def moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> Data:
    """Two interleaved half circles (two classes, ``Y`` a 0/1 column), like scikit-learn's ``make_moons``.

    >>> d = moons(10, seed=1)
    >>> d["X"].shape, d["Y"].shape, int(d["Y"].sum())
    ((10, 2), (10, 1), 5)
    """
    n = _count(n)
    if noise < 0:
        raise InputError(f"the noise must be 0 or more, not {noise}")
    rng = np.random.default_rng(seed)
    n0 = n // 2
    t0 = np.linspace(0, np.pi, n0)
    t1 = np.linspace(0, np.pi, n - n0)
    X = np.concatenate([
        np.stack([np.cos(t0), np.sin(t0)], axis=1),
        np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], axis=1),
    ])
    X += noise * rng.standard_normal(X.shape)
    Y = np.concatenate([np.zeros(n0), np.ones(n - n0)])[:, None]
    order = rng.permutation(n)
    return {"X": X[order], "Y": Y[order]}


def blobs(n: int = 300, centers: int = 3, spread: float = 1.0, seed: int = 0) -> Data:
    """Gaussian clusters in the plane, one class each (``Y`` one-hot with ``centers`` columns).

    >>> d = blobs(30, centers=3, seed=0)
    >>> d["X"].shape, d["Y"].shape, d["Y"].sum(axis=0).tolist()
    ((30, 2), (30, 3), [10.0, 10.0, 10.0])
    """
    n = _count(n)
    k = _count(centers, "centers")
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(k) / k
    means = 5.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    y = np.arange(n) % k
    X = means[y] + spread * rng.standard_normal((n, 2))
    order = rng.permutation(n)
    return {"X": X[order], "Y": one_hot(y[order], k)}


def digits(images: bool = False) -> Data:
    """scikit-learn's bundled 8x8 handwritten digits (1797 images, no download).

    ``X`` holds the 64 pixel intensities scaled to [0, 1], ``Y`` the one-hot
    digit (10 columns). With ``images=True``, ``X`` keeps the pictures, one
    channel each, ``N x 1 x 8 x 8`` (for a convolutional network). Needs the
    optional extra ``data`` (scikit-learn).

    >>> d = digits()
    >>> d["X"].shape, d["Y"].shape, digits(images=True)["X"].shape
    ((1797, 64), (1797, 10), (1797, 1, 8, 8))
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise MissingDependencyError("scikit-learn", "data", "the digits data set") from None
    raw = load_digits()
    X = raw.data.astype(float) / 16.0
    return {"X": X.reshape(-1, 1, 8, 8) if images else X, "Y": one_hot(raw.target, 10)}


DATASETS = {"regression": regression, "xor": xor, "moons": moons, "blobs": blobs, "digits": digits}


def load(name: str, **kwargs: Any) -> Data:
    """A data set by name: ``regression``, ``xor``, ``moons``, ``blobs``, ``digits``.

    >>> load("xor")["X"].shape
    (4, 2)
    """
    fn = DATASETS.get(str(name).lower())
    if fn is None:
        raise InputError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    return fn(**kwargs)


def one_hot(y: Sequence[int] | np.ndarray, classes: int | None = None) -> np.ndarray:
    """Class numbers ``0..classes-1`` as one-hot rows."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ShapeError(f"one_hot takes a flat list of class numbers, not an array of shape {y.shape}")
    if y.size and (not np.issubdtype(y.dtype, np.integer) and not np.all(y == np.round(y))):
        raise InputError("class labels must be whole numbers")
    y = y.astype(int)
    k = int(y.max()) + 1 if classes is None and y.size else int(classes or 0)
    if y.size and (y.min() < 0 or y.max() >= k):
        raise InputError(f"class labels must lie in 0..{k - 1}, found {int(y.min())}..{int(y.max())}")
    out = np.zeros((y.size, k))
    out[np.arange(y.size), y] = 1.0
    return out


def labels(Y: np.ndarray) -> np.ndarray:
    """Class numbers from one-hot rows (argmax) or from a 0/1 column (threshold 0.5).

    >>> labels(np.array([[0.1, 0.9], [0.8, 0.2]])).tolist(), labels(np.array([[0.7], [0.2]])).tolist()
    ([1, 0], [1, 0])
    """
    Y = np.asarray(Y)
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.shape[1] == 1:
        return (Y[:, 0] >= 0.5).astype(int)
    return np.argmax(Y, axis=1)


def _array(values: Any) -> np.ndarray:
    """NumPy integer arrays (indices, class labels) stay integers; everything else (lists too) becomes floats."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        return values
    return np.asarray(values, dtype=float)


def as_data(data: Any) -> Data:
    """``{"X": ..., "Y": ...}`` (or any dict of arrays) or a pair ``(X, Y)``, as arrays of equal length.

    Numbers become floats and a flat array of them one column; NumPy integer
    arrays (indices, class labels ``y`` of shape ``(N,)``) keep their dtype and shape.

    >>> d = as_data(([1, 2, 3], [[1], [0], [1]]))
    >>> d["X"].shape, d["Y"].dtype
    ((3, 1), dtype('float64'))
    """
    if isinstance(data, Mapping):
        out = {str(k): _array(v) for k, v in data.items()}
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        out = {"X": _array(data[0]), "Y": _array(data[1])}
    else:
        raise InputError("data must be a dict such as {'X': ..., 'Y': ...} or a pair (X, Y)")
    if not out:
        raise InputError("the data is empty")
    for k, v in out.items():
        if v.ndim == 1 and v.dtype.kind == "f":
            out[k] = v[:, None]
        elif v.ndim == 0:
            raise ShapeError(f"data[{k!r}] is a single number, not one row per example")
    sizes = {k: v.shape[0] for k, v in out.items()}
    if len(set(sizes.values())) != 1:
        raise ShapeError(f"the data arrays have different numbers of rows: {sizes}")
    if next(iter(sizes.values())) == 0:
        raise InputError("the data has no examples")
    return out


def train_test_split(data: Any, test: float = 0.2, seed: int = 0) -> tuple[Data, Data]:
    """Shuffle (seeded) and split the examples into a training and a test part.

    >>> tr, te = train_test_split(blobs(30), test=0.2)
    >>> tr["X"].shape, te["X"].shape
    ((24, 2), (6, 2))
    """
    d = as_data(data)
    n = next(iter(d.values())).shape[0]
    if not 0 < test < 1:
        raise InputError(f"the test fraction must lie between 0 and 1, not {test}")
    n_test = int(round(n * test))
    if n_test < 1 or n_test >= n:
        raise InputError(f"a test fraction of {test} leaves no examples on one side of {n}")
    order = np.random.default_rng(seed).permutation(n)
    te, tr = order[:n_test], order[n_test:]
    return {k: v[tr] for k, v in d.items()}, {k: v[te] for k, v in d.items()}
