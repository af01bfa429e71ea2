"""Data sets: the course's points, synthetic sets (seeded), digits, helpers."""

from __future__ import annotations

import numpy as np
import pytest

from derivkit.errors import InputError, MissingDependencyError, ShapeError
from derivkit.training import datasets as ds


def test_regression_points_and_their_least_squares_fit():
    d = ds.regression()
    X = np.hstack([d["X"], np.ones((4, 1))])
    w, b = np.linalg.lstsq(X, d["Y"], rcond=None)[0].ravel()
    assert (w, b) == pytest.approx((0.5, 2.0))


def test_xor_truth_table():
    d = ds.xor()
    assert [int(a) ^ int(b) for a, b in d["X"]] == d["Y"].ravel().astype(int).tolist()


def test_moons_and_blobs_are_seeded_and_balanced():
    a, b, c = ds.moons(50, seed=1), ds.moons(50, seed=1), ds.moons(50, seed=2)
    assert np.array_equal(a["X"], b["X"]) and not np.array_equal(a["X"], c["X"])
    assert int(a["Y"].sum()) == 25
    bl = ds.blobs(90, centers=3, spread=0.5, seed=0)
    assert bl["Y"].shape == (90, 3) and bl["Y"].sum(axis=0).tolist() == [30, 30, 30]
    # well separated: each point lies nearest to its own cluster's mean
    means = np.array([bl["X"][bl["Y"][:, k] == 1].mean(axis=0) for k in range(3)])
    nearest = np.argmin(((bl["X"][:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert (nearest == ds.labels(bl["Y"])).mean() > 0.95


def test_digits():
    pytest.importorskip("sklearn")
    d = ds.digits()
    assert d["X"].shape == (1797, 64) and d["Y"].shape == (1797, 10)
    assert d["X"].min() == 0.0 and d["X"].max() == 1.0
    assert (d["Y"].sum(axis=1) == 1).all()


def test_digits_missing_dependency(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(MissingDependencyError, match=r"derivkit\[data\]"):
        ds.digits()


def test_one_hot_and_labels_round_trip():
    y = np.array([3, 0, 2, 2])
    assert ds.labels(ds.one_hot(y, 4)).tolist() == y.tolist()
    assert ds.one_hot(y).shape == (4, 4)
    with pytest.raises(InputError, match="0..1"):
        ds.one_hot([0, 2], 2)
    with pytest.raises(ShapeError):
        ds.one_hot(np.zeros((2, 2)))


def test_train_test_split():
    d = ds.blobs(50, seed=0)
    tr, te = ds.train_test_split(d, test=0.2, seed=4)
    assert tr["X"].shape == (40, 2) and te["X"].shape == (10, 2)
    both = np.vstack([tr["X"], te["X"]])
    assert sorted(map(tuple, both)) == sorted(map(tuple, d["X"]))
    tr2, _ = ds.train_test_split(d, test=0.2, seed=4)
    assert np.array_equal(tr["X"], tr2["X"])
    with pytest.raises(InputError, match="between 0 and 1"):
        ds.train_test_split(d, test=1.5)


def test_as_data_and_load():
    d = ds.as_data(([1, 2, 3], [4, 5, 6]))
    assert d["X"].shape == (3, 1)
    with pytest.raises(ShapeError, match="different numbers of rows"):
        ds.as_data({"X": np.ones((2, 1)), "Y": np.ones((3, 1))})
    with pytest.raises(InputError, match="unknown data set"):
        ds.load("mnist")
    assert ds.load("moons", n=20)["X"].shape == (20, 2)
