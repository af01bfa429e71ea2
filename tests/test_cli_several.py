"""The grad, jacobian, hessian and chain commands: output and exit codes."""

from __future__ import annotations

import json

import pytest

from derivkit.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_hessian_at_a_point_prints_the_course_value(capsys):
    code, out, err = run(
        capsys, "hessian", "(4 - 2.1*x1^2 + x1^4/3)*x1^2 + x1*x2 + (-4 + 4*x2^2)*x2^2",
        "--wrt", "x1,x2", "--at", "x1=0,x2=1",
    )
    assert code == 0 and err == ""
    assert "[ 8   1 ]" in out and "[ 1  40 ]" in out
    assert "derived once" in out


def test_jacobian_json_at_a_point(capsys):
    code, out, _ = run(
        capsys, "jacobian", "2*x1 + x2^2", "-x1^2 + 3*x2", "4*x1*x2",
        "--wrt", "x1,x2", "--at", "x1=2,x2=1", "--format", "json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["value"] == [["2", "2"], ["-4", "3"], ["4", "8"]]
    assert data["result"] == [["2", "2*x2"], ["-2*x1", "3"], ["4*x2", "4*x1"]]


def test_grad_defaults_to_the_variables_by_name(capsys):
    code, out, _ = run(capsys, "grad", "x2*x1^2", "--format", "json")
    assert code == 0
    assert json.loads(out)["wrt"] == ["x1", "x2"]
    assert json.loads(out)["result"] == [["2*x1*x2"], ["x1**2"]]


@pytest.mark.parametrize("fmt, marker", [("latex", r"\begin{bmatrix}"), ("markdown", "$$"), ("text", "∇f = ")])
def test_grad_formats(capsys, fmt, marker):
    code, out, _ = run(capsys, "grad", "x^2*y", "--wrt", "x,y", "--format", fmt)
    assert code == 0 and marker in out


def test_latex_input(capsys):
    code, out, _ = run(capsys, "grad", r"\frac{x^2}{2} + x y", "--wrt", "x,y", "--latex-input", "--format", "json")
    assert code == 0 and json.loads(out)["result"] == [["x + y"], ["x"]]


def test_chain_at_a_point_is_the_course_table(capsys):
    code, out, err = run(capsys, "chain", "y = 3*x - 2", "z = y**2", "--wrt", "x", "--at", "x=2")
    assert code == 0 and err == ""
    assert "y = 3x - 2 = 4" in out and "z = y^2 = 16" in out
    assert "dz/dx = dz/dy · dy/dx = 8 · 3 = 24" in out


def test_chain_symbolic_and_json(capsys):
    code, out, _ = run(capsys, "chain", "x = 5*v - 2", "y = 3*x - 2", "z = y^2", "--wrt", "v", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert [f["label"] for f in data["factors"]] == ["dz/dy", "dy/dx", "dx/dv"]
    assert data["result"] == "450*v - 240"


def test_chain_output_and_inputs_options(capsys):
    code, out, _ = run(
        capsys, "chain", "error = w*x - t", "loss = error^2", "--wrt", "w", "--inputs", "x,t",
        "--at", "w=1,x=2,t=3", "--format", "json",
    )
    assert code == 0 and json.loads(out)["result"] == "-4"
    code, out, _ = run(capsys, "chain", "y = 3*x - 2", "z = y^2", "--wrt", "x", "--output", "y", "--format", "json")
    assert code == 0 and json.loads(out)["result"] == "3"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["chain", "y = 3*x - 2", "z = w^2", "--wrt", "x"], "'w' is not defined"),
        (["chain", "y = 3*x - 2", "y = x^2", "--wrt", "x"], "'y' is defined twice"),
        (["chain", "y = z + x", "z = y^2", "--wrt", "x"], "cyclic: y -> z -> y"),
        (["chain", "y = 3*x - 2", "z = y^2", "--wrt", "x", "--at", "v=2"], "'v' is not an input"),
        (["chain", "y = 3*x - 2", "z = y^2 + c", "--wrt", "x", "--at", "x=2"], "no value given for c"),
        (["chain", "y = 3*x -", "--wrt", "x"], "column"),
        (["hessian", "x^2*y", "--wrt", "x,y", "--at", "x=1"], "no value given for y"),
        (["grad", "x^2 +", "--wrt", "x"], "column"),
        (["grad", "3", "--at", "x=1"], "no variables"),
        (["jacobian", "x", "y", "--wrt", "x,x"], "given twice"),
        (["grad", "x^2", "--wrt", "x", "--at", "x2"], "name=value"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1
    assert err.startswith(f"derivkit {argv[0]}: error:")


def test_chain_latex_input(capsys):
    code, out, _ = run(capsys, "chain", r"y = 3x - 2", r"z = y^{2}", "--wrt", "x", "--latex-input", "--format", "json")
    assert code == 0 and json.loads(out)["result"] == "18*x - 12"


def test_chain_equations_in_one_argument(capsys):
    code, out, _ = run(capsys, "chain", "y = 3*x - 2; z = y^2", "--wrt", "x", "--at", "x=2", "--format", "json")
    assert code == 0 and json.loads(out)["result"] == "24"
