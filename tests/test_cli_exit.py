"""Exit statuses of the command line, each checked in a fresh process, and Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from derivkit.cli import EXIT_STATUSES, build_parser, main
from derivkit.errors import LimitError


def test_0_when_done(derivkit_cli):
    done = derivkit_cli("derive", "x^3")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.rstrip().endswith("= 3x^2")


def test_0_when_a_checked_answer_is_right_and_1_only_when_it_is_wrong(derivkit_cli):
    right = derivkit_cli("check", "sin(x^2)", "--claimed", "2x cos(x^2)", "--wrt", "x")
    wrong = derivkit_cli("check", "sin(x^2)", "--claimed", "cos(x^2)", "--wrt", "x")
    assert right.returncode == 0 and wrong.returncode == 1
    assert wrong.stderr == "" and "2x·cos(x^2)" in wrong.stdout


@pytest.mark.parametrize("args, words", [
    (["derive", "x^^2"], "derivkit derive: error: "),                                  # a parse error
    (["derive", "x*y"], "choose one with --wrt"),                                       # ambiguous input
    (["derive", "x^2", "--order", "80"], "at most order 50"),                           # the library's limit
    (["check", "x^2", "--wrt", "x"], "give your answer once"),
    (["train", "--seed", "-1"], "argument --seed: must be at least 0, got -1"),
    (["train", "--save", "/proc/version", "--data", "xor"], "--save '/proc/version.npz' cannot be written"),
    (["tour", "--epochs", "-1"], "argument --epochs: must be at least 1, got -1"),
    (["descend", "x^2", "--wrt", "x", "--start", "1", "--lr", "0.1", "--steps", "1000000000"],
     "1000000000 is over the limit of 10,000"),
    (["check", "x^2", "--claimed", "4", "--wrt", "x", "--at", "x=nan"], "x=nan in --at is not a number"),
    (["nosuchcommand"], "invalid choice: 'nosuchcommand'"),
    ([], "usage: derivkit"),
])
def test_2_on_bad_input_with_the_reason_on_stderr(derivkit_cli, args, words):
    done = derivkit_cli(*args)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert words in done.stderr and "Traceback" not in done.stderr
    if args:
        assert done.stderr.count("\n") == 1  # one line


def test_2_when_refused_at_a_limit_naming_it(monkeypatch, capsys):
    import derivkit.cli.derive as derive_command

    def refuse(args):
        raise LimitError("the derivation would take more than 10 s, the time limit", limit="time", value=10)

    monkeypatch.setattr(derive_command, "run", refuse)
    assert main(["derive", "x"]) == 2
    err = capsys.readouterr().err
    assert err == "derivkit derive: refused: the derivation would take more than 10 s, the time limit\n"


_BUG = """
import sys
import derivkit.cli.derive as command
def broken(args):
    return {}["no such key"]
command.run = broken
from derivkit.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_3_on_an_internal_error_one_line_and_the_traceback_with_debug():
    plain = subprocess.run([sys.executable, "-c", _BUG, "derive", "x"], capture_output=True, text=True, timeout=120)
    assert plain.returncode == 3 and plain.stdout == ""
    assert plain.stderr.count("\n") == 1
    assert "internal error (KeyError: 'no such key')" in plain.stderr
    assert "bug in derivkit" in plain.stderr and "--debug" in plain.stderr
    assert "Traceback" not in plain.stderr
    for argv in (["--debug", "derive", "x"], ["derive", "x", "--debug"]):
        debug = subprocess.run([sys.executable, "-c", _BUG, *argv], capture_output=True, text=True, timeout=120)
        assert debug.returncode == 3
        assert debug.stderr.startswith("Traceback (most recent call last):")
        assert "in broken" in debug.stderr and "bug in derivkit" in debug.stderr


_INTERRUPTIBLE = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                  "from derivkit.cli import main; sys.exit(main(sys.argv[1:]))")


def _ctrl_c(command: list[str], ready) -> tuple[int, str, str]:
    """Start ``python COMMAND``, wait until ``ready(process)`` returns, press Ctrl-C (SIGINT);
    the exit status, output and errors. The child turns SIGINT into KeyboardInterrupt as at a
    terminal, even where the test runner started with SIGINT ignored."""
    proc = subprocess.Popen([sys.executable, *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready(proc)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return proc.returncode, out, err


def test_130_on_ctrl_c_in_training_with_the_run_saved(tmp_path):
    pytest.importorskip("derivkit.compile")
    from derivkit.training.loop import History

    npz = tmp_path / "run.npz"

    def first_epoch(proc):
        proc.stdout.readline()  # the header
        line = proc.stdout.readline()
        assert line.startswith("epoch      1/100000"), line

    code, out, err = _ctrl_c(["-c", _INTERRUPTIBLE, "train", "--data", "xor", "--epochs", "100000", "--save", str(npz),
                              "--no-progress"], first_epoch)
    assert code == 130
    assert "final" not in out
    assert err.startswith("derivkit train: interrupted (Ctrl-C) after ") and f"saved to {npz}" in err
    saved = History.load(npz)
    assert saved.interrupted and 1 <= saved.epochs < 100000


def test_130_on_ctrl_c_in_training_with_json_the_run_so_far():
    pytest.importorskip("derivkit.compile")
    import json

    def bar_started(proc):
        assert "training:" in proc.stderr.read(12)

    code, out, err = _ctrl_c(["-c", _INTERRUPTIBLE, "train", "--data", "xor", "--epochs", "100000",
                              "--format", "json", "--progress"], bar_started)
    assert code == 130
    report = json.loads(out)
    assert report["interrupted"] is True and report["final"] is None
    assert 1 <= report["epochs"] == len(report["losses"]) < 100000
    assert "interrupted (Ctrl-C)" in err


def test_130_on_ctrl_c_elsewhere():
    script = ("import signal, sys, time; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
              "import derivkit.cli.derive as command\n"
              "def slow(args):\n    print('started', flush=True); time.sleep(60)\n"
              "command.run = slow\n"
              "from derivkit.cli import main; sys.exit(main(['derive', 'x']))\n")

    def started(proc):
        assert proc.stdout.readline() == "started\n"

    code, _, err = _ctrl_c(["-c", script], started)
    assert code == 130
    assert err == "derivkit derive: interrupted (Ctrl-C)\n"


def test_closed_pipe_ends_quietly():
    if not hasattr(os, "pipe"):
        pytest.skip("no pipes")
    code = ("import subprocess, sys\n"
            "p = subprocess.Popen([sys.executable, '-m', 'derivkit', 'backprop', '--layers', '2,8,8,8,1'], "
            "stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
            "p.stdout.read(10); p.stdout.close(); err = p.stderr.read(); p.wait()\n"
            "print(p.returncode, repr(err.decode()))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "0 ''"


def test_help_and_readme_state_the_exit_statuses():
    from pathlib import Path

    text = build_parser().format_help()
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for code, meaning in EXIT_STATUSES.items():
        assert f"  {code:<5} {meaning}" in text
        assert f"| {code} |" in readme
