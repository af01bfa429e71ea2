"""Every numeric option refuses what makes no sense (negative, zero, NaN, infinite, huge) with
exit status 2 and a message naming the option; files and optional packages are checked
before the work starts."""

from __future__ import annotations

import importlib.util

import pytest

from derivkit.cli import main

DESCEND = ["descend", "x^2", "--wrt", "x", "--start", "1", "--lr", "0.1"]
CHECK_TABLE = ["check", "5b^2 - 3b + 2", "--wrt", "b", "--claimed", "3.63", "--start", "4", "--lr", "0.01"]


@pytest.mark.parametrize("argv, message", [
    (["derive", "x^2", "--order", "0"], "argument --order/-n: must be at least 1, got 0"),
    (["derive", "x^2", "--order", "nan"], "argument --order/-n: expected a whole number of at least 1, got 'nan'"),
    (["derive", "x^2", "--order", "2.5"], "expected a whole number of at least 1, got '2.5'"),
    (["derive", "x^2", "--order", "9" * 5000], "at most order 50"),
    (["check", "x^2", "2x", "--wrt", "x", "--order", "-1"], "argument --order/-n: must be at least 1, got -1"),
    (["check", "x^2", "2x", "--wrt", "x", "--at", "x=inf"], "x=inf in --at is not a number"),
    (CHECK_TABLE[:-1] + ["0"], "argument --lr: must be greater than 0, got 0"),
    (CHECK_TABLE + ["--momentum", "1"], "argument --momentum: must be less than 1, got 1"),
    (CHECK_TABLE[:6] + ["--start", "nan", "--lr", "0.01"], "expected a finite number in --start, got 'nan'"),
    (["chain", "y = 3x", "z = y^2", "--wrt", "x", "--at", "x=-oo"], "x=-oo in --at is not a number"),
    (["grad", "x*y", "--at", "x=NaN,y=1"], "x=NaN in --at is not a number"),
    (DESCEND + ["--steps", "-1"], "argument --steps: must be at least 0, got -1"),
    (DESCEND + ["--steps", "10001"], "argument --steps: 10001 is over the limit of 10,000"),
    (DESCEND + ["--steps", "9" * 5000], "is over the limit of 10,000"),
    (DESCEND[:-1] + ["-0.5"], "argument --lr: must be greater than 0, got -0.5"),
    (DESCEND[:-1] + ["inf"], "argument --lr: expected a finite number, got 'inf'"),
    (DESCEND + ["--momentum", "-1/2"], "argument --momentum: must be at least 0, got -1/2"),
    (DESCEND[:5] + ["1,nan"] + DESCEND[6:], "expected a finite number in --start, got 'nan'"),
    (["backprop", "--layers", "2,0,1"], "argument --layers: layer sizes are whole numbers of at least 1"),
    (["backprop", "--layers", "2,-3,1"], "argument --layers: layer sizes are whole numbers of at least 1"),
    (["backprop", "--layers", ",".join(["2"] * 33)], "33 layer sizes are over the limit of 32"),
    (["backprop", "--layers", "2,1000000,1"], "a layer of 1000000 units is over the limit of 100,000"),
    (["backprop", "--layers", "5000,5000,1"], "25,010,001 weights and biases, over the limit of 10,000,000"),
    (["train", "--seed", "-1"], "argument --seed: must be at least 0, got -1"),
    (["train", "--seed", str(2**32)], "argument --seed: must be at most 4,294,967,295, got 4294967296"),
    (["train", "--epochs", "0"], "argument --epochs: must be at least 1, got 0"),
    (["train", "--epochs", "1000000000"], "argument --epochs: 1000000000 is over the limit of 100,000"),
    (["train", "--lr", "0"], "argument --lr: must be greater than 0, got 0"),
    (["train", "--lr", "nan"], "argument --lr: expected a finite number, got 'nan'"),
    (["train", "--lr", "1e999"], "argument --lr: expected a finite number, got '1e999'"),
    (["train", "--momentum", "-0.1"], "argument --momentum: must be at least 0, got -0.1"),
    (["train", "--batch-size", "0"], "argument --batch-size: must be at least 1, got 0"),
    (["train", "--test", "0"], "argument --test: must be greater than 0, got 0"),
    (["train", "--test", "1"], "argument --test: must be less than 1, got 1"),
    (["train", "--patience", "-2"], "argument --patience: must be at least 1, got -2"),
    (["tour", "--epochs", "-1"], "argument --epochs: must be at least 1, got -1"),
    (["tour", "--epochs", "100001"], "argument --epochs: 100001 is over the limit of 100,000"),
])
def test_bad_numbers_exit_2_naming_the_option(capsys, argv, message):
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == "" and message in err and err.count("\n") == 1


def test_unwritable_outputs_are_refused_before_the_work(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    blocked = tmp_path / "file"
    blocked.write_text("")
    for argv, words in [
        (["train", "--data", "xor", "--save", str(blocked / "run.npz")], "cannot be written"),
        (["train", "--data", "xor", "--plot", str(tmp_path)], "is a folder; give a file name"),
        (DESCEND + ["--plot", str(blocked / "path.png")], "cannot be written"),
    ]:
        assert main(argv) == 2
        out, err = capsys.readouterr()
        assert out == "" and words in err, err      # nothing was computed or printed
    assert main(["train", "--data", "xor", "--epochs", "2", "--quiet", "--save", str(tmp_path / "new" / "run")]) == 0
    assert (tmp_path / "new" / "run.npz").exists()


@pytest.mark.parametrize("argv, module, extra", [
    (["train", "--data", "digits"], "sklearn", "derivkit[data]"),
    (["train", "--data", "xor", "--plot", "loss.png"], "matplotlib", "derivkit[plot]"),
    (DESCEND + ["--plot", "path.png"], "matplotlib", "derivkit[plot]"),
])
def test_missing_optional_packages_are_named_before_the_work(monkeypatch, capsys, tmp_path, argv, module, extra):
    monkeypatch.chdir(tmp_path)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == module else real(name, *a))
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and f"pip install '{extra}'" in err
    assert not list(tmp_path.iterdir())
