"""derivkit check: exit 0 when right, 1 when wrong (with the explanation), 2 on bad input."""

from __future__ import annotations

import json

from derivkit.cli import main


def run(capsys, *argv):
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_right_answer_exits_0(capsys):
    code, out, err = run(capsys, "sigmoid(x)", "--claimed", "e^(-x)/(1+e^(-x))^2", "--wrt", "x")
    assert code == 0 and out.startswith("Correct") and err == ""


def test_wrong_answer_exits_1_with_the_explanation_and_the_derivation(capsys):
    code, out, _ = run(capsys, "sin(x^2)", "--claimed", "cos(x^2)", "--wrt", "x")
    assert code == 1
    assert "missing_chain_factor" in out and "2x" in out
    assert "chain rule" in out                     # the correct derivation is shown beside the verdict


def test_value_at_a_point(capsys):
    assert run(capsys, "x^3", "--claimed", "12", "--wrt", "x", "--at", "x=2")[0] == 0
    assert run(capsys, "x^3", "--claimed", "6", "--wrt", "x", "--at", "x=2")[0] == 1


def test_matrices(capsys):
    code, _, _ = run(capsys, "[2*x1 + x2^2, -x1^2 + 3*x2, 4*x1*x2]", "--claimed",
                     "[[2, 2*x2], [-2*x1, 3], [4*x2, 4*x1]]", "--wrt", "x1,x2")
    assert code == 0
    code, out, _ = run(capsys, "[2*x1 + x2^2, -x1^2 + 3*x2, 4*x1*x2]", "--claimed",
                       "[[2, -2*x1, 4*x2], [2*x2, 3, 4*x1]]", "--wrt", "x1,x2")
    assert code == 1 and "transpose" in out


def test_latex_input(capsys):
    code, _, _ = run(capsys, r"\frac{1}{1+e^{-x}}", "--claimed", r"\sigma(x)(1-\sigma(x))", "--wrt", "x",
                     "--latex-input")
    assert code == 0


def test_descent_table(capsys):
    base = ["5b^2 - 3b + 2", "--wrt", "b", "--start", "4", "--lr", "0.01", "--claimed"]
    assert run(capsys, *base, "3.63, 3.297, 2.9973")[0] == 0
    code, out, _ = run(capsys, *base, "3.63, 3.279, 2.9811")
    assert code == 1 and "iteration 2 should be 3.297" in out


def test_json_output(capsys):
    code, out, _ = run(capsys, "x^5", "--claimed", "5x^5", "--wrt", "x", "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False and data["diagnosis"] == ["power_rule_exponent"]


def test_bad_input_exits_2_with_one_line_on_stderr(capsys):
    code, out, err = run(capsys, "x^3", "--claimed", "3x^2 +", "--wrt", "x")
    assert code == 2 and out == "" and err.startswith("derivkit check: error:") and err.count("\n") == 1
    code, _, err = run(capsys, "x^3", "--claimed", "3x^2", "--wrt", "x", "--at", "y=1")
    assert code == 2 and "'y'" in err
    code, _, err = run(capsys, "b^2", "--claimed", "1", "--wrt", "b", "--start", "4")
    assert code == 2 and "--lr" in err


def test_kind_option(capsys):
    # A square answer for two variables is read as the Hessian anyway; --kind says it outright.
    code, out, _ = run(capsys, "x1^2*x2", "--claimed", "[[2*x2, 2*x1], [2*x1, 0]]", "--wrt", "x1,x2", "--kind", "hessian")
    assert code == 0 and "Hessian" in out
    code, out, _ = run(capsys, "x1^2*x2", "--claimed", "[[2*x2, 2*x1], [2*x1, 0]]", "--wrt", "x1,x2", "--kind", "jacobian")
    assert code == 1 and "1×2" in out


def test_the_answer_may_follow_the_expression(capsys):
    assert run(capsys, "sin(x^2)", "2x cos(x^2)", "--wrt", "x")[0] == 0
    assert run(capsys, "sin(x^2)", "cos(x^2)", "--wrt", "x")[0] == 1
    code, _, err = run(capsys, "sin(x^2)", "--wrt", "x")
    assert code == 2 and "answer" in err
    code, _, err = run(capsys, "sin(x^2)", "cos(x^2)", "--claimed", "cos(x^2)", "--wrt", "x")
    assert code == 2


def test_order_option(capsys):
    assert run(capsys, "x^4", "12x^2", "--wrt", "x", "--order", "2")[0] == 0
    assert run(capsys, "x^4", "4x^3", "--wrt", "x", "--order", "2")[0] == 1
