"""The training progress bar: on at a terminal, off when piped, with --quiet and in JSON mode;
and ``train --format json``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from derivkit.cli import main
from derivkit.cli.progress import wants_bar

pytest.importorskip("tqdm")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("choice, quiet, fmt, out_tty, err_tty, shown", [
    (None, False, "text", True, True, True),       # a person at a terminal
    (None, False, "text", False, True, False),     # output piped or redirected
    (None, False, "text", True, False, False),     # errors redirected
    (None, True, "text", True, True, False),       # --quiet
    (None, False, "json", True, True, False),      # --format json
    (True, True, "json", False, False, True),      # --progress
    (False, False, "text", True, True, False),     # --no-progress
])
def test_when_the_bar_is_drawn(choice, quiet, fmt, out_tty, err_tty, shown):
    out = Terminal() if out_tty else io.StringIO()
    err = Terminal() if err_tty else io.StringIO()
    assert wants_bar(choice, quiet=quiet, fmt=fmt, stdout=out, stderr=err) is shown


def test_progress_without_tqdm_is_refused_before_training(monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tqdm" else real(name, *a))
    assert main(["train", "--data", "xor", "--epochs", "5", "--progress"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "pip install 'derivkit[progress]'" in err and err.count("\n") == 1


def _in_a_terminal(*args: str) -> str:
    """Run ``derivkit ARGS`` with a pseudo-terminal as standard output and error; all it wrote."""
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    import fcntl
    import struct
    import termios

    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))  # 24 rows, 80 columns
    proc = subprocess.Popen([sys.executable, "-m", "derivkit", *args], stdin=slave, stdout=slave, stderr=slave,
                            close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=120) == 0
    return b"".join(chunks).decode("utf-8", "replace")


def test_a_bar_at_a_terminal_for_train_and_the_tour():
    text = _in_a_terminal("train", "--data", "xor", "--epochs", "300")
    assert "training:" in text and "epoch/s" in text and "final training loss" in text
    tour = _in_a_terminal("tour", "--epochs", "300")
    assert "XOR:" in tour and "epoch/s" in tour


@pytest.mark.parametrize("extra", [["--quiet"], ["--format", "json"], ["--no-progress"]])
def test_no_bar_at_a_terminal_when_asked_so(extra):
    text = _in_a_terminal("train", "--data", "xor", "--epochs", "300", *extra)
    assert "epoch/s" not in text


def test_no_bar_when_piped(derivkit_cli):
    done = derivkit_cli("train", "--data", "xor", "--epochs", "300")
    assert done.returncode == 0 and done.stderr == ""
    assert "epoch/s" not in done.stdout and "final training loss" in done.stdout
    forced = derivkit_cli("train", "--data", "xor", "--epochs", "300", "--progress")
    assert "epoch/s" in forced.stderr and "epoch/s" not in forced.stdout


# --- train --format json ---------------------------------------------------------------------------

def test_train_json_is_the_whole_run_and_nothing_else(capsys):
    assert main(["train", "--data", "xor", "--epochs", "1000", "--lr", "0.1", "--seed", "1", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)                        # stdout is one JSON document
    assert err == ""
    assert report["data"] == "xor" and report["network"] == {"layers": [2, 4, 1], "activation": "sigmoid",
                                                             "loss": "mse"}
    assert report["epochs"] == 1000 and len(report["losses"]) == 1000
    assert report["examples"] == {"training": 4, "test": 0}
    assert report["final"]["on"] == "training" and report["final"]["accuracy"] == 1.0
    assert report["losses"][-1] < report["losses"][0]
    assert report["diverged"] is False and report["saved"] is None


def test_train_json_with_a_test_part_and_a_saved_run(tmp_path, capsys):
    npz = tmp_path / "run"
    assert main(["train", "--data", "moons", "--epochs", "5", "--format", "json", "--save", str(npz)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["examples"]["test"] > 0 and report["final"]["on"] == "test"
    assert len(report["val_losses"]) == 5 and len(report["metrics"]["val_accuracy"]) == 5
    assert report["saved"] == str(npz) + ".npz" and (tmp_path / "run.npz").exists()


def test_train_json_when_the_run_diverges(capsys):
    argv = ["train", "--data", "regression", "--optimizer", "gd", "--lr", "0.2", "--epochs", "300", "--format", "json"]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["diverged"] is True and "learning rate" in report["reason"]
    assert all(v is None or isinstance(v, float) for v in report["losses"])   # no NaN in the JSON
    assert err.startswith("derivkit train: diverged: ")
