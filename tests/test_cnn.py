"""The convolutional network ``nn.cnn``: its names, its gradients, and a training run on the 8x8 digits."""

from __future__ import annotations

import numpy as np
import pytest

from derivkit import nn
from derivkit.cli import main
from derivkit.errors import InputError, ShapeError


def _batch(labels: str, n: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    data = {"X": rng.uniform(0, 1, (n, 1, 8, 8))}
    data.update({"Y": np.eye(10)[y]} if labels == "onehot" else {"y": y})
    return data


def test_the_network_reads_as_the_course_writes_it():
    g = nn.cnn((1, 8, 8))
    assert g.definitions["A1"] == "relu(C1)"
    assert g.definitions["C2"] == "Σ_{c,p,q} P1[n,c,i+p-1,j+q-1] K2[f,c,p,q] + b2[f]"
    assert g.definitions["F"] == "flatten(P2)"
    assert g.definitions["O_in"] == "F W3 + b3"
    shapes = {name: g[name].shape[1:] for name in ("C1", "P1", "C2", "P2", "F", "O_out")}
    assert shapes == {"C1": (16, 8, 8), "P1": (16, 4, 4), "C2": (32, 4, 4), "P2": (32, 2, 2), "F": (128,),
                      "O_out": (10,)}
    bp = g.backprop()
    assert str(bp.gradients["K2"]) == "Σ_{n,i,j} G_C2[n,f,i,j] P1[n,c,i+p-1,j+q-1]"
    assert [f.label for f in bp.chain("K1")] == [
        "∂CE/∂O_in", "∂O_in/∂F", "∂F/∂P2", "∂P2/∂A2", "∂A2/∂C2", "∂C2/∂P1", "∂P1/∂A1", "∂A1/∂C1", "∂C1/∂K1"]
    assert "G_C1  =" in bp.to_text() and "G_{C2} &=" in bp.to_latex()


@pytest.mark.parametrize("labels", ["onehot", "int"])
def test_compiled_gradients_match_central_differences(labels):
    g = nn.cnn((1, 8, 8), channels=(3, 4), labels=labels)
    net = g.compile()
    params = net.init_params(seed=1)
    data = _batch(labels)
    loss, grads = net(params, data)
    rng = np.random.default_rng(2)
    for name, value in params.items():
        for _ in range(6):  # a few entries of each parameter
            idx = tuple(int(rng.integers(0, d)) for d in value.shape)
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[name][idx] += 1e-6
            minus[name][idx] -= 1e-6
            numeric = (net(plus, data)[0] - net(minus, data)[0]) / 2e-6
            assert grads[name][idx] == pytest.approx(numeric, rel=1e-5, abs=1e-8), (name, idx)


def test_integer_labels_and_one_hot_targets_give_the_same_network():
    onehot = nn.cnn((1, 8, 8), channels=(2, 3)).compile()
    labels = nn.cnn((1, 8, 8), channels=(2, 3), labels="int").compile()
    params = onehot.init_params(seed=3)
    data = _batch("int", n=6)
    loss_y, grads_y = labels(params, data)
    loss_Y, grads_Y = onehot(params, {"X": data["X"], "Y": np.eye(10)[data["y"]]})
    assert loss_y == pytest.approx(loss_Y, rel=1e-12)
    for name in grads_y:
        np.testing.assert_allclose(grads_y[name], grads_Y[name], rtol=1e-10, atol=1e-13)
    assert labels.predict(params, data["X"]).shape == (6, 10)


def test_options_build_the_layers_they_name():
    g = nn.cnn((3, 16, 16), classes=4, channels=(6, 16), kernel=5, hidden=(20,), pool=2, activation="tanh")
    assert g["K1"].shape == (6, 3, 5, 5) and g["K2"].shape == (16, 6, 5, 5)
    assert g["F"].shape[1] == 16 * 4 * 4 and g["W3"].shape == (256, 20) and g["W4"].shape == (20, 4)
    assert g.definitions["A1"] == "tanh(C1)" and g.definitions["H3_out"] == "tanh(H3_in)"
    assert "P1" not in nn.cnn((1, 4, 4), channels=(2,), pool=1).names  # pool=1: no pooling


@pytest.mark.parametrize("kwargs, message", [
    ({"input_shape": (8, 8)}, "input_shape is one image, (channels, rows, columns)"),
    ({"channels": ()}, "give at least one convolution"),
    ({"kernel": 4}, "the kernel size must be odd"),
    ({"classes": 1}, "at least 2 classes"),
    ({"labels": "soft"}, "labels must be 'onehot'"),
    ({"channels": (8, 0)}, "each number of channels must be a whole number of at least 1, got 0"),
])
def test_bad_options_are_refused(kwargs, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        nn.cnn(**kwargs)


def test_too_many_poolings_for_the_image_are_refused():
    with pytest.raises(ShapeError, match="the pooling of block 4: the 2 x 2 windows are larger than the 1 x 1 image"):
        nn.cnn((1, 8, 8), channels=(2, 2, 2, 2))


@pytest.fixture
def one_blas_thread():
    """One BLAS thread: on a machine busy with other work, threads waiting on each other slow small products down."""
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="threadpoolctl comes with scikit-learn")
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        yield


def test_the_cnn_learns_the_digits(one_blas_thread):
    pytest.importorskip("sklearn", reason="the digits ship with scikit-learn (extra data)")
    from derivkit import train
    from derivkit.optim import Adam
    from derivkit.training.datasets import digits, train_test_split
    from derivkit.training.loop import evaluate

    train_part, test_part = train_test_split(digits(images=True), test=0.2, seed=0)
    net = nn.cnn((1, 8, 8)).compile()
    h = train(net, train_part, Adam(0.01), epochs=10, batch_size=32, seed=0, metrics=False, progress=False)
    assert not h.diverged and h.losses[-1] < h.losses[0] / 10
    assert evaluate(net, h.params, test_part)["accuracy"] >= 0.98


def test_train_command_with_the_cnn(capsys, one_blas_thread):
    pytest.importorskip("sklearn", reason="the digits ship with scikit-learn (extra data)")
    assert main(["train", "--arch", "cnn", "--data", "digits", "--epochs", "2", "--channels", "4,8"]) == 0
    out = capsys.readouterr().out
    assert "CNN 4-8 (3x3 kernels, ReLU, 2x2 max-pooling, softmax cross-entropy)" in out
    assert "batches of 32" in out and "final test loss" in out and "test accuracy" in out


@pytest.mark.parametrize("argv, message", [
    (["--data", "moons"], "use it with --data digits"),
    (["--layers", "64,10"], "--channels instead of --layers"),
    (["--channels", "16,x"], "--channels takes whole numbers from 1 to 4096 such as 16,32"),
    (["--channels", "0"], "--channels takes whole numbers from 1 to 4096"),
])
def test_train_command_refuses_what_the_cnn_does_not_take(capsys, argv, message):
    assert main(["train", "--arch", "cnn", "--epochs", "1", *argv]) == 2
    assert message in capsys.readouterr().err


def test_integer_labels_train_with_the_training_loop(one_blas_thread):
    pytest.importorskip("sklearn", reason="the digits ship with scikit-learn (extra data)")
    from derivkit import train
    from derivkit.optim import Adam
    from derivkit.training.datasets import digits, labels

    data = digits(images=True)
    data = {"X": data["X"][:256], "y": labels(data["Y"][:256])}
    net = nn.cnn((1, 8, 8), channels=(4, 8), labels="int").compile()
    h = train(net, data, Adam(0.01), epochs=5, batch_size=32, seed=0, progress=False)
    assert not h.diverged and h.losses[-1] < h.losses[0] / 2
    assert np.mean(net.predict(h.params, data["X"]).argmax(axis=1) == data["y"]) > 0.8
