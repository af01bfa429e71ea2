"""``derivkit serve`` on the command line: its options, and the errors it reports before serving."""

from __future__ import annotations

import socket
import sys

import pytest

from derivkit.cli import main


def test_help_says_where_it_listens(capsys):
    assert main(["serve", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "default: 127.0.0.1, this machine only" in out and "--time-limit" in out and "--memory-limit" in out


@pytest.mark.parametrize("args, words", [
    (["--port", "70000"], "--port: must be at most 65,535"),
    (["--workers", "0"], "--workers: must be at least 1"),
    (["--time-limit", "-1"], "--time-limit: must be greater than 0"),
    (["--memory-limit", "lots"], "expected a size such as 512M or 2G"),
])
def test_bad_options_are_refused(capsys, args, words):
    assert main(["serve", *args]) == 2
    assert words in capsys.readouterr().err


def test_a_port_in_use_is_a_one_line_error(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"derivkit serve: error: cannot listen on 127.0.0.1 port {port}")
    assert len(err.strip().splitlines()) == 1


def test_a_memory_limit_below_the_minimum_is_refused(capsys):
    assert main(["serve", "--memory-limit", "1M", "--port", "0"]) == 2
    assert "the memory limit must be at least 16 MiB, not 1 MiB" in capsys.readouterr().err


def test_without_the_web_extra_it_names_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    assert main(["serve"]) != 0
    assert "pip install 'derivkit[web]'" in capsys.readouterr().err
