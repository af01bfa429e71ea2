"""Formulas on the command line: from standard input (``-``), from a file (``@FILE``),
and formulas that start with a minus sign."""

from __future__ import annotations

import io
import json

import pytest

from derivkit.cli import main


def run(capsys, *argv: str, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def last(out: str) -> str:
    return out.rstrip().split("\n")[-1]


# --- standard input and files --------------------------------------------------------------------

def test_dash_reads_the_expression_from_standard_input(derivkit_cli):
    done = derivkit_cli("derive", "-", input="sin(x^2)\n")
    assert done.returncode == 0, done.stderr
    assert last(done.stdout) == "Result: d/dx sin(x^2) = 2x·cos(x^2)"


def test_at_file_reads_the_expression_from_a_file(tmp_path, capsys):
    f = tmp_path / "f.txt"
    f.write_text("# the course's chain rule example\n(3*x - 2)^2\n")
    code, out, _ = run(capsys, "derive", f"@{f}", "--at", "x=2")
    assert code == 0 and out.rstrip().endswith("= 24")


def test_check_takes_both_formulas_from_files_or_stdin(tmp_path, capsys, monkeypatch):
    f, claim = tmp_path / "f.txt", tmp_path / "claim.txt"
    f.write_text("sin(x^2)")
    claim.write_text("cos(x^2)\n")
    code, out, _ = run(capsys, "check", f"@{f}", "--claimed", f"@{claim}", "--wrt", "x")
    assert code == 1 and "missing_chain_factor" in out
    code, out, _ = run(capsys, "check", f"@{f}", "-", "--wrt", "x", stdin="2x cos(x^2)", monkeypatch=monkeypatch)
    assert code == 0


def test_a_matrix_may_span_lines(tmp_path, capsys):
    jac = tmp_path / "jacobian.txt"
    jac.write_text("[[2, 2*x2],\n [4*x2, 4*x1]]\n")
    code, _, err = run(capsys, "check", "[2*x1 + x2^2, 4*x1*x2]", "--claimed", f"@{jac}", "--wrt", "x1,x2")
    assert code == 0, err


def test_chain_reads_one_equation_per_line(tmp_path, capsys):
    eqs = tmp_path / "eqs.txt"
    eqs.write_text("y = 3*x - 2\n\n# then\nz = y^2\n")
    code, out, _ = run(capsys, "chain", f"@{eqs}", "--wrt", "x", "--at", "x=2", "--format", "json")
    assert code == 0 and json.loads(out)["result"] == "24"


def test_jacobian_from_stdin_has_one_row_per_line(capsys, monkeypatch):
    code, out, _ = run(capsys, "jacobian", "-", "x1*x2", "--wrt", "x1,x2", "--at", "x1=1,x2=2", "--format", "json",
                       stdin="x1^2\nx2^2\n", monkeypatch=monkeypatch)
    assert code == 0
    assert json.loads(out)["value"] == [["2", "0"], ["0", "4"], ["2", "1"]]


@pytest.mark.parametrize("content, words", [
    ("", "holds no formula"),
    ("# only a comment\n", "holds no formula"),
    ("x^2\nsin(x)\n", "holds 2 formulas on separate lines; this argument takes one"),
])
def test_a_file_that_does_not_hold_one_formula_is_refused(tmp_path, capsys, content, words):
    f = tmp_path / "f.txt"
    f.write_text(content)
    code, out, err = run(capsys, "derive", f"@{f}")
    assert code == 2 and out == "" and words in err and err.count("\n") == 1


def test_missing_unreadable_or_binary_files_are_refused(tmp_path, capsys):
    code, _, err = run(capsys, "derive", f"@{tmp_path / 'none.txt'}")
    assert code == 2 and "no such file" in err
    code, _, err = run(capsys, "derive", f"@{tmp_path}")
    assert code == 2 and "is a folder" in err
    binary = tmp_path / "b.bin"
    binary.write_bytes(b"\xff\xfe\x00x")
    code, _, err = run(capsys, "derive", f"@{binary}")
    assert code == 2 and "not UTF-8 text" in err


def test_a_huge_file_is_refused_at_the_named_limit(tmp_path, capsys):
    from derivkit.cli.common import MAX_INPUT_CHARS

    f = tmp_path / "big.txt"
    f.write_text("x+" * (MAX_INPUT_CHARS // 2 + 10) + "x")
    code, _, err = run(capsys, "derive", f"@{f}")
    assert code == 2 and f"more than {MAX_INPUT_CHARS:,} characters" in err


def test_standard_input_is_read_once(capsys, monkeypatch):
    code, _, err = run(capsys, "check", "-", "-", "--wrt", "x", stdin="x^2", monkeypatch=monkeypatch)
    assert code == 2 and "can be read only once" in err


# --- a leading minus -----------------------------------------------------------------------------

@pytest.mark.parametrize("claimed", [["--claimed=-sec(x)^2"], ["--claimed", "-sec(x)^2"], ["-c", "-sec(x)^2"],
                                     ["-sec(x)^2"]])
def test_a_claimed_answer_may_start_with_minus(capsys, claimed):
    code, out, err = run(capsys, "check", "sec(x)", *claimed, "--wrt", "x")
    assert code == 1 and err == ""       # wrong: d/dx sec(x) = sec(x) tan(x)
    assert "tan(x)·sec(x)" in out


def test_a_right_answer_with_a_minus_sign(capsys):
    code, _, err = run(capsys, "check", "cos(x)", "--claimed", "-sin(x)", "--wrt", "x")
    assert code == 0 and err == ""
    code, _, _ = run(capsys, "check", "5 - x^2", "-2x", "--wrt", "x")
    assert code == 0


@pytest.mark.parametrize("expr, result", [("-x^2", "-2x"), ("-f(x^2)", "-2x·f'(x^2)"), ("-h(x)", "-h'(x)"),
                                          ("-2x", "-2")])
def test_derive_an_expression_that_starts_with_minus(capsys, expr, result):
    code, out, err = run(capsys, "derive", expr)
    assert code == 0, err
    assert last(out).endswith(f"= {result}")


def test_options_still_work_around_a_formula_with_minus(capsys):
    code, out, _ = run(capsys, "derive", "-x^3", "-n", "2", "--at", "x=1")
    assert code == 0 and out.rstrip().endswith("= -6")
    code, out, _ = run(capsys, "derive", "-x^3", "-n2", "-f", "json")
    assert code == 0 and json.loads(out)["order"] == 2


def test_the_double_dash_convention(capsys):
    code, out, _ = run(capsys, "check", "--wrt", "x", "--", "-x^2", "-2x")
    assert code == 0 and out.startswith("Correct: d/dx [-x^2] = -2x")
    code, out, _ = run(capsys, "derive", "--wrt", "x", "--", "-x^2")
    assert code == 0 and last(out).endswith("= -2x")


def test_a_negative_number_for_a_numeric_option_is_judged_by_the_option(capsys):
    code, _, err = run(capsys, "train", "--lr", "-1")
    assert code == 2 and "argument --lr: must be greater than 0, got -1" in err
    code, out, err = run(capsys, "descend", "x^2", "--wrt", "x", "--start", "-2", "--lr", "0.25", "--steps", "1")
    assert code == 0, err
    assert "x1 = -2 - 0.25·(-4) = -1" in out


def test_a_mistyped_option_is_still_an_error(capsys):
    code, out, err = run(capsys, "derive", "x^2", "-wrt", "x")
    assert code == 2 and out == "" and "unrecognized arguments: -wrt x" in err
