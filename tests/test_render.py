"""Renderers: the shared formatting helpers and derivations as text, LaTeX, Markdown, JSON."""

from __future__ import annotations

import json
import re

import pytest
import sympy

from derivkit.functions import relu, sigmoid
from derivkit.render.common import (
    derivative_latex,
    derivative_text,
    escape_latex_text,
    expr_latex,
    expr_text,
    latex_matrix,
    markdown_table,
    text_matrix,
    text_table,
    value_text,
)

x, y, u = sympy.symbols("x y u")


def balanced(text: str) -> bool:
    """True when the braces of ``text`` (ignoring escaped ``\\{``) nest properly."""
    depth = 0
    for m in re.finditer(r"\\[{}]|[{}]", text):
        tok = m.group()
        if tok.startswith("\\"):
            continue
        depth += 1 if tok == "{" else -1
        if depth < 0:
            return False
    return depth == 0


# --- expressions in text --------------------------------------------------------------

@pytest.mark.parametrize(
    "expr, text",
    [
        (x**2, "x^2"),
        (sympy.Mul(6, 3 * x - 2, evaluate=False), "6(3x - 2)"),
        (sigmoid(x) * (1 - sigmoid(x)), "σ(x)·(1 - σ(x))"),
        (1 - sympy.tanh(x) ** 2, "1 - tanh(x)^2"),
        (sympy.exp(-x) / (1 + sympy.exp(-x)) ** 2, "e^(-x)/(1 + e^(-x))^2"),
        (1 / sympy.sqrt(1 - x**2), "1/√(1 - x^2)"),
        (-1 / (sympy.Abs(x) * sympy.sqrt(1 + x**2)), "-1/(|x|·√(x^2 + 1))"),
        (2**x * sympy.log(2), "2^x·ln(2)"),
        (x**x * (sympy.log(x) + 1), "x^x·(ln(x) + 1)"),
        (sympy.sqrt(2) * x, "√2·x"),  # not √(2x)
        (x**2 * y, "x^2·y"),  # not x^2y
        (sympy.Rational(-21, 5) * x, "-21x/5"),
        (sympy.Float(8.4) * x, "8.4x"),
        (relu(x), "relu(x)"),
        (sympy.Max(0, x), "max(0, x)"),
        (sympy.Piecewise((1, x > 0), (0, True)), "{1 if x > 0; 0 otherwise}"),
        (x ** sympy.Rational(-3, 2), "1/x^(3/2)"),
    ],
)
def test_expr_text(expr, text):
    assert expr_text(expr) == text


def test_expr_text_keeps_the_inner_factor_of_an_undefined_function():
    f = sympy.Function("f")
    assert expr_text(sympy.diff(f(x**2), x)) == "2x·f'(x^2)"
    assert expr_latex(sympy.diff(f(x**2), x)) == r"2 x f'\left(x^{2}\right)"


def test_expr_text_round_trips_through_the_parser_for_plain_forms():
    parse = pytest.importorskip("derivkit.parsing").parse
    for e in [x**2 + 3 * x - 2, x**x * (sympy.log(x) + 1), sympy.exp(-x) / (1 + sympy.exp(-x)) ** 2]:
        text = expr_text(e).replace("·", "*")
        assert sympy.simplify(parse(text) - e) == 0


def test_expr_latex_writes_teacher_forms():
    assert expr_latex(sigmoid(x) * (1 - sigmoid(x))) == r"\sigma\left(x\right) \left(1 - \sigma\left(x\right)\right)"
    assert expr_latex(sympy.log(x)) == r"\ln{\left(x \right)}"
    assert expr_latex(sympy.asin(x)) == r"\arcsin{\left(x \right)}"


def test_derivative_notation():
    assert derivative_text(sympy.sin(x), x) == "d/dx sin(x)"
    assert derivative_text(3 * x - 2, x) == "d/dx [3x - 2]"
    assert derivative_text(u**2, u) == "d/du u^2"
    assert derivative_text(x**3, x, 2) == "d^2/dx^2 x^3"
    assert derivative_latex(x**2, x) == r"\frac{d}{dx}\left[x^{2}\right]"


def test_value_text():
    assert value_text(sympy.Integer(24)) == "24"
    assert value_text(sympy.Rational(3, 8)) == "3/8 = 0.375"
    assert value_text(sympy.pi / 4).startswith("π/4 ≈ 0.785398")


# --- tables and matrices --------------------------------------------------------------

def test_text_table_aligns_columns():
    out = text_table(["iteration", "b"], [[0, 4], [1, sympy.Rational(363, 100)]])
    lines = out.split("\n")
    assert lines[0] == "iteration  b"
    assert lines[2] == "0          4"
    assert lines[3] == "1          363/100"


def test_markdown_table_escapes_bars_and_writes_math():
    out = markdown_table(["f", "note"], [[sympy.Abs(x), "a|b"]])
    lines = out.split("\n")
    assert lines[1] == "| --- | --- |"
    # The only unescaped bars are the cell separators: 3 on each line.
    assert len(re.findall(r"(?<!\\)\|", lines[2])) == 3
    assert "$" in lines[2] and lines[2].count("$") == 2


def test_text_matrix_and_latex_matrix():
    J = sympy.Matrix([[2, 2], [-4, 3], [4, 8]])
    assert text_matrix(J).split("\n") == ["[  2  2 ]", "[ -4  3 ]", "[  4  8 ]"]
    tex = latex_matrix(J)
    assert tex == r"\begin{bmatrix} 2 & 2 \\ -4 & 3 \\ 4 & 8 \end{bmatrix}"
    assert latex_matrix(sympy.Matrix([[1]]), env="pmatrix").startswith(r"\begin{pmatrix}")


def test_escape_latex_text_is_balanced():
    s = escape_latex_text("a_{1} & {b}")
    assert balanced(r"\text{" + s + "}")
