"""The descend and train commands."""

from __future__ import annotations

import json

import pytest

from derivkit.cli import main


def test_descend_exercise(capsys):
    assert main(["descend", "5*b**2 - 3*b + 2", "--wrt", "b", "--start", "4", "--lr", "0.01", "--steps", "3"]) == 0
    out = capsys.readouterr().out
    assert "b1 = 4 - 0.01·37 = 3.63" in out and "b3 = 3.297 - 0.01·29.97 = 2.9973" in out


def test_descend_momentum_json(capsys):
    argv = ["descend", "5*b**2 - 3*b + 2", "--wrt", "b", "--start", "4", "--lr", "0.01", "--steps", "2",
            "--momentum", "0.5", "--format", "json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["final"] == "389/125" and data["momentum"] == "1/2"


def test_descend_several_variables_and_divergence(capsys):
    assert main(["descend", "x1^2 + 2*x2^2", "--wrt", "x1,x2", "--start", "x1=1,x2=1", "--lr", "0.1", "--steps", "1"]) == 0
    assert "x2(1) = 1 - 0.1·4 = 0.6" in capsys.readouterr().out
    assert main(["descend", "5*b**2 - 3*b + 2", "--wrt", "b", "--start", "4", "--lr", "1"]) == 0
    assert "Diverged after 3 steps" in capsys.readouterr().out


def test_descend_bad_input_exit_2(capsys):
    assert main(["descend", "5*b**2", "--wrt", "b", "--start", "4", "--lr", "-1"]) == 2
    assert "argument --lr: must be greater than 0, got -1" in capsys.readouterr().err
    assert main(["descend", "5*b**2 +", "--wrt", "b", "--start", "4", "--lr", "1"]) == 2


def test_descend_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "path.png"
    argv = ["descend", "x^2 + 3*y^2", "--wrt", "x,y", "--start", "x=2,y=1", "--lr", "0.1", "--steps", "5", "--plot", str(png)]
    assert main(argv) == 0
    assert png.stat().st_size > 1000


def _compiles() -> None:
    from derivkit import nn

    try:
        nn.mlp([2, 1]).compile()
    except ImportError as err:
        pytest.skip(f"compiled graphs unavailable: {err}")


def test_train_xor(capsys):
    _compiles()
    assert main(["train", "--data", "xor", "--epochs", "1000", "--lr", "0.1", "--seed", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "training accuracy 100.0%" in out


def test_train_digits_minibatch_log(tmp_path, capsys):
    _compiles()
    pytest.importorskip("sklearn")
    png, npz = tmp_path / "loss.png", tmp_path / "run.npz"
    argv = ["train", "--layers", "64,32,10", "--data", "digits", "--optimizer", "adam", "--epochs", "3",
            "--batch-size", "64", "--save", str(npz)]
    if pytest.importorskip("matplotlib"):
        argv += ["--plot", str(png)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "epoch 1/3" in out and "epoch 3/3" in out and "test accuracy" in out
    accuracy = float(out.split("final test loss")[1].split("test accuracy ")[1].split("%")[0])
    assert accuracy > 85
    assert npz.exists() and png.exists()


def test_train_bad_layers(capsys):
    assert main(["train", "--data", "xor", "--layers", "3,4,1"]) == 2
    assert "must start with 2" in capsys.readouterr().err


def test_train_divergence_reported(capsys):
    _compiles()
    argv = ["train", "--data", "regression", "--optimizer", "gd", "--lr", "0.2", "--epochs", "300", "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "diverged: the training loss grew from 4.53" in err and "learning rate (0.2)" in err


def test_descend_latex_input(capsys):
    argv = ["descend", r"\frac{1}{2}x^2", "--latex-input", "--wrt", "x", "--start", "2", "--lr", "0.5", "--steps", "2"]
    assert main(argv) == 0
    assert "x2 = 1 - 0.5·1 = 0.5" in capsys.readouterr().out
