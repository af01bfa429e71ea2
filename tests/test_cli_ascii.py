"""Output where the terminal cannot encode derivkit's symbols: one ASCII spelling, every command."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from derivkit.cli.ascii import ASCII, can_encode, install, to_ascii

ASCII_ENV = {"PYTHONIOENCODING": "ascii"}
C_LOCALE = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": ""}


def test_the_table_spells_every_symbol_in_ascii():
    assert all(value.isascii() for value in ASCII.values())
    assert (ASCII["σ"], ASCII["∂"], ASCII["∘"], ASCII["Σ"], ASCII["·"]) == ("sigma", "d", "(.)", "sum", "*")


@pytest.mark.parametrize("text, spelled", [
    ("σ(x)·(1 - σ(x))", "sigma(x)*(1 - sigma(x))"),
    ("∂MSE/∂W1 = Xᵀ G_H", "dMSE/dW1 = X^T G_H"),
    ("G ∘ σ'(A)", "G (.) sigma'(A)"),
    ("√x + √(x + 1) + x² + x¹²", "sqrt(x) + sqrt(x + 1) + x^2 + x^12"),
    ("W₁₂", "W_12"),
    ("Δb = -α∇f", "Delta b = -alpha grad f"),
    ("√2/2 ≈ 0.707107, x ≠ 0, x ≥ 1", "sqrt(2)/2 ~= 0.707107, x != 0, x >= 1"),
    ("(1/N) Σ (O_out - Y)^2", "(1/N) sum (O_out - Y)^2"),
    ("é", "e"),
    ("\u2603", "?"),
])
def test_spellings(text, spelled):
    assert to_ascii(text) == spelled


@given(st.text())
def test_any_text_becomes_ascii_and_ascii_is_kept(text):
    out = to_ascii(text)
    assert out.isascii()
    if text.isascii():
        assert out == text


def test_an_ascii_stream_spells_what_it_cannot_encode():
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    install(stream)
    stream.write("σ(x) = 1/(1 + e^(-x))\n")
    stream.flush()
    assert raw.getvalue() == b"sigma(x) = 1/(1 + e^(-x))\n"
    utf8 = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    install(utf8)
    assert utf8.errors == "strict" and can_encode(utf8, "σ")


COMMANDS = [
    (["derive", "sigmoid(x)"], 0, "sigma(x)*(1 - sigma(x))"),
    (["derive", "sigmoid(x)", "--format", "markdown"], 0, "sigma"),
    (["check", "sigmoid(x)", "--claimed", "sigmoid(x)^2", "--wrt", "x"], 1, "sigma(x)"),
    (["chain", "y = 3*x - 2", "z = y^2", "--wrt", "x", "--at", "x=2"], 0, "24"),
    (["grad", "x1^2*x2", "--wrt", "x1,x2"], 0, "grad"),
    (["jacobian", "x*y", "y", "--wrt", "x,y"], 0, "J"),
    (["hessian", "sqrt(x)*y", "--wrt", "x,y"], 0, "sqrt"),
    (["descend", "5*b**2 - 3*b + 2", "--wrt", "b", "--start", "4", "--lr", "0.01"], 0, "alpha"),
    (["backprop"], 0, "dMSE/dW1"),
    (["train", "--data", "xor", "--epochs", "30"], 0, "Adam"),
    (["tour", "--epochs", "30"], 0, "sigma"),
    (["descend", "--help"], 0, "0.01*37"),
    (["--help"], 0, "exit status"),
]


CASES = [(args, code, words, ASCII_ENV) for args, code, words in COMMANDS] + [
    (args, code, words, C_LOCALE) for args, code, words in (COMMANDS[0], COMMANDS[8], COMMANDS[-1])
]


@pytest.mark.parametrize("args, code, words, env", CASES,
                         ids=[" ".join(c[0][:2]) + (" C locale" if c[3] is C_LOCALE else "") for c in CASES])
def test_every_command_writes_ascii_to_an_ascii_terminal(derivkit_cli, args, code, words, env):
    """Under PYTHONIOENCODING=ascii, and in a C locale without UTF-8 (a few commands)."""
    done = derivkit_cli(*args, env=env)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.isascii() and done.stderr.isascii()
    assert words in done.stdout


def test_json_keeps_the_symbols_as_escapes(derivkit_cli):
    done = derivkit_cli("derive", "sigmoid(x)", "--format", "json", env=ASCII_ENV)
    assert done.returncode == 0 and done.stdout.isascii()
    assert "\\u03c3" in done.stdout                         # σ, escaped, not respelled
    utf8 = derivkit_cli("derive", "sigmoid(x)", "--format", "json", env={"PYTHONIOENCODING": "utf-8"})
    assert json.loads(done.stdout) == json.loads(utf8.stdout)


def test_errors_are_ascii_too(derivkit_cli):
    done = derivkit_cli("derive", "σ(x) +", env=ASCII_ENV)
    assert done.returncode == 2 and done.stderr.isascii() and "error" in done.stderr
