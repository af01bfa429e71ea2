"""The ``derivkit derive`` command: output in every format, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sympy

from derivkit.cli import main

pytest.importorskip("derivkit.calculus.steps")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_chain_rule_example_at_a_point_prints_24(capsys):
    code, out, err = run(capsys, "derive", "(3*x-2)**2", "--wrt", "x", "--at", "x=2")
    assert code == 0 and err == ""
    assert "chain rule" in out
    assert out.rstrip().split("\n")[-1].endswith("= 24")


def test_wrt_is_optional_with_one_variable(capsys):
    code, out, _ = run(capsys, "derive", "x^2 - 4x + 3")
    assert code == 0
    assert "Result: d/dx [x^2 - 4x + 3] = 2x - 4" in out


def test_several_variables_need_wrt(capsys):
    code, out, err = run(capsys, "derive", "x*y^2")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--wrt" in err and "x, y" in err
    code, out, _ = run(capsys, "derive", "x*y^2", "--wrt", "y", "--at", "x=1,y=3")
    assert code == 0 and out.rstrip().endswith("= 6")


def test_value_outside_the_domain_is_named(capsys):
    code, out, _ = run(capsys, "derive", "1/x", "--at", "x=0")
    assert code == 0 and out.rstrip().endswith("= undefined (division by zero or an infinite value)")
    code, out, _ = run(capsys, "derive", "sqrt(x)", "--at", "x=-1")
    assert code == 0 and out.rstrip().endswith("= -i/2 (not a real number)")
    assert "x > 0" in out  # the domain condition is stated


def test_second_derivative(capsys):
    code, out, _ = run(capsys, "derive", "x^3 - 2x", "--order", "2", "--at", "x=2", "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert data["order"] == 2
    assert sympy.sympify(data["result"]) == 6 * sympy.Symbol("x")
    assert data["value"] == "12"


def test_json_matches_to_dict(capsys):
    from derivkit import derive

    code, out, _ = run(capsys, "derive", "sigmoid(x)", "--format", "json")
    assert code == 0
    assert json.loads(out) == derive("sigmoid(x)", "x").to_dict()


def test_latex_output_is_an_align_block(capsys):
    code, out, _ = run(capsys, "derive", "sin(x^2)", "--format", "latex")
    assert code == 0
    assert out.startswith(r"\begin{align*}") and out.rstrip().endswith(r"\end{align*}")
    assert r"\text{" in out and "chain rule" in out
    assert out.count("{") == out.count("}") + out.count(r"\}") - out.count(r"\{")


def test_markdown_output(capsys):
    code, out, _ = run(capsys, "derive", "tanh(x)", "--format", "markdown")
    assert code == 0
    assert "**hyperbolic tangent rule**" in out
    assert out.count("$$") % 2 == 0


def test_latex_input(capsys):
    code, out, _ = run(capsys, "derive", r"\frac{1}{1+e^{-x}}", "--latex-input", "--at", "x=0", "--format", "json")
    assert code == 0
    assert sympy.sympify(json.loads(out)["value"]) == sympy.Rational(1, 4)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["derive", "x^^2"], "column"),  # a parse error names the place
        (["derive", "__import__('os')"], ""),  # never evaluated
        (["derive", "(3*x-2)**2", "--at", "y=2"], "'y' is not a variable"),
        (["derive", "(3*x-2)**2", "--at", "x"], "name=value"),
        (["derive", "x^2", "--wrt", "2x"], "not a valid variable name"),
        (["derive", "x^2", "--at", "x=abc"], ""),
    ],
)
def test_bad_input_exits_2_with_one_line_on_stderr(capsys, argv, words):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("derivkit derive: error: ") and err.count("\n") == 1
    assert "Traceback" not in err
    assert words in err


def test_bad_order_is_refused_by_argparse(capsys):
    code, out, err = run(capsys, "derive", "x^2", "--order", "0")
    assert code == 2 and out == ""
    assert err == "derivkit derive: error: argument --order/-n: must be at least 1, got 0 (see 'derivkit derive --help')\n"


def test_python_dash_m_derivkit_derive_sigmoid():
    proc = subprocess.run(
        [sys.executable, "-m", "derivkit", "derive", "sigmoid(x)", "--wrt", "x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "sigmoid rule" in proc.stdout
    assert proc.stdout.rstrip().split("\n")[-1] == "Result: d/dx σ(x) = σ(x)·(1 - σ(x))"
