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
        (2 * sympy.sin(x), "2·sin(x)"),  # a coefficient joins variables, not function names
        (2 * sympy.exp(x), "2e^x"),
        (sympy.Rational(-21, 5) * x, "-21x/5"),
        (sympy.Float(8.4) * x, "8.4x"),
        (relu(x), "relu(x)"),
        (sympy.Max(0, x), "max(0, x)"),
        (sympy.Piecewise((1, x > 0), (0, True)), "{1 if x > 0; 0 otherwise}"),
        (x ** sympy.Rational(-3, 2), "1/x^(3/2)"),
        (sympy.log(x, 2), "log_2(x)"),
        (sympy.log(x) / sympy.log(x + 1), "ln(x)/ln(x + 1)"),
        (sympy.Piecewise((x, (x > 0) & (x < 1)), (0, True)), "{x if x > 0 and x < 1; 0 otherwise}"),
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
    assert derivative_text(sympy.log(x, 10), x) == "d/dx log_10(x)"
    assert derivative_latex(sympy.log(x, 10), x) == r"\frac{d}{dx} \log_{10}\left(x\right)"
    assert derivative_text(x**3, x, 2) == "d^2/dx^2 x^3"
    assert derivative_latex(x**2, x) == r"\frac{d}{dx} x^{2}"
    assert derivative_latex(3 * x - 2, x) == r"\frac{d}{dx}\left[3 x - 2\right]"


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


# --- derivations -------------------------------------------------------------------------
from derivkit.calculus.derivation import Derivation, Step  # noqa: E402
from derivkit.render import derivation as rd  # noqa: E402


def hand_chain() -> Derivation:
    """d/dx (3x - 2)^2 built by hand, as the step engine writes it."""
    inner = 3 * x - 2
    outer = Step("power", u**2, u, 2 * u, text="Power rule with n = 2.")
    cm = Step("constant_multiple", 3 * x, x, sympy.Integer(3), substeps=(Step("variable", x, x, sympy.Integer(1)),))
    diff = Step("difference", inner, x, sympy.Integer(3), substeps=(cm, Step("constant", sympy.Integer(2), x, sympy.S.Zero)))
    root = Step("chain", inner**2, x, 6 * inner, substeps=(outer, diff), let=((u, inner),), text="Apply the chain rule.")
    return Derivation(inner**2, x, 1, 6 * inner, root)


def hand_log() -> Derivation:
    root = Step("log", sympy.log(x), x, 1 / x, notes=("x > 0",), text="The natural logarithm rule.")
    return Derivation(sympy.log(x), x, 1, 1 / x, root, notes=("ln(x) needs x > 0", "x > 0"))


def test_text_numbers_steps_names_rules_and_indents_substeps():
    out = rd.derivation_text(hand_chain())
    lines = out.split("\n")
    assert lines[0] == "Differentiate (3x - 2)^2 with respect to x:"
    assert "1. chain rule: d/dx (3x - 2)^2 = 18x - 12" in lines
    assert "   Let u = 3x - 2." in lines
    assert "   1.1. power rule: d/du u^2 = 2u" in lines
    assert "      1.2.1. constant multiple rule: d/dx [3x] = 3" in lines
    order = [out.index(name) for name in ["chain rule", "power rule", "difference rule", "constant multiple rule", "variable rule"]]
    assert order == sorted(order)
    assert lines[-1] == "Result: d/dx (3x - 2)^2 = 18x - 12"


def test_text_puts_each_note_once_at_the_end():
    out = rd.derivation_text(hand_log())
    notes = out[out.index("Notes:"):]
    assert notes.count("x > 0") == 2  # "ln(x) needs x > 0" and "x > 0", the repeat dropped
    assert out.index("Notes:") > out.index("1. natural logarithm rule")


def test_value_at_a_point_in_every_format():
    at = rd.evaluate_at(hand_chain(), x=2)
    assert at.value == 24
    assert rd.derivation_at_text(at).split("\n")[-1] == "At x = 2: d/dx (3x - 2)^2 = 24"
    tex = rd.derivation_at_latex(at)
    assert r"\right|_{x = 2} &= 24" in tex
    md = rd.derivation_at_markdown(at)
    assert md.rstrip().endswith("= 24\n$$")
    data = json.loads(at.to_json())
    assert data["value"] == "24" and data["at"] == {"x": "2"} and data["value_float"] == 24.0
    assert data["steps"] == hand_chain().to_dict()["steps"]


def test_value_at_a_point_is_exact():
    d = Derivation(x**3, x, 1, 3 * x**2, Step("power", x**3, x, 3 * x**2))
    assert rd.evaluate_at(d, x="1/3").value == sympy.Rational(1, 3)
    assert rd.evaluate_at(d, x=0.1).value == sympy.Rational(3, 100)


def test_value_at_a_point_refuses_unknown_names():
    from derivkit.errors import InputError

    with pytest.raises(InputError, match="'y' is not a variable"):
        rd.evaluate_at(hand_chain(), y=2)


def test_latex_is_one_align_block_with_balanced_braces_and_rules():
    tex = rd.derivation_latex(hand_chain())
    assert tex.startswith("\\begin{align*}\n") and tex.endswith("\n\\end{align*}")
    assert tex.count(r"\begin{align*}") == 1
    assert balanced(tex)
    assert r"\frac{d}{dx} \left(3 x - 2\right)^{2} &= 18 x - 12 && \text{1. chain rule}" in tex
    assert r"u &= 3 x - 2 && \text{let}" in tex
    rows = tex.split(" \\\\\n")
    assert len(rows) == 8  # 6 steps, 1 let, 1 result
    assert all(row.count("&") in (2, 3) for row in rows)


def test_latex_escapes_notes():
    tex = rd.derivation_latex(Derivation(x, x, 1, sympy.S.One, Step("variable", x, x, sympy.S.One), notes=("a_1 & b",)))
    assert r"\text{note: a\_1 \& b}" in tex
    tex = rd.derivation_latex(hand_log())
    assert r"&& \text{note: ln(x) needs x }>\text{ 0}" in tex  # '>' in math: pdfLaTeX prints '¡' in text
    assert balanced(tex)


def test_markdown_nests_substeps_and_balances_math():
    md = rd.derivation_markdown(hand_chain())
    lines = md.split("\n")
    assert lines[2].startswith("1. **chain rule**: $")
    assert "Let $u = 3 x - 2$." in lines[2]
    assert lines[3].startswith("    1. **power rule**: $")
    assert lines[5].startswith("        1. **constant multiple rule**")
    for line in lines:
        assert line.replace("$$", "").count("$") % 2 == 0, line
    assert md.count("$$") == 2
    assert balanced(md)


def test_markdown_escapes_step_text():
    d = Derivation(x, x, 1, sympy.S.One, Step("variable", x, x, sympy.S.One, text="d*x/d*x_1 < 2"))
    assert r"d\*x/d\*x\_1 &lt; 2" in rd.derivation_markdown(d)


def test_higher_order_root_uses_the_order():
    s1 = Step("power", x**3, x, 3 * x**2)
    s2 = Step("constant_multiple", 3 * x**2, x, 6 * x, substeps=(Step("power", x**2, x, 2 * x),))
    root = Step("higher_order", x**3, x, 6 * x, substeps=(s1, s2))
    d = Derivation(x**3, x, 2, 6 * x, root, stages=(s1, s2))
    out = rd.derivation_text(d)
    assert "1. higher-order derivative: d^2/dx^2 x^3 = 6x" in out
    assert "1.1. power rule: d/dx x^3 = 3x^2" in out
    assert r"\frac{d^{2}}{dx^{2}} x^{3} &= 6 x" in rd.derivation_latex(d)


def test_rule_name_comes_from_the_table():
    assert rd.rule_name("quotient") == "quotient rule"
    assert rd.rule_name("sympy") == "SymPy's derivative"


def test_step_renderers_render_the_subtree():
    root = hand_chain().steps
    assert rd.step_text(root.substeps[1]).split("\n")[0] == "1. difference rule: d/dx [3x - 2] = 3"
    assert rd.step_latex(root).count(r"\text{") == 7
    assert rd.step_markdown(root).count("**") == 2 * 6


def test_rewrite_and_simplify_steps_are_equalities_not_derivatives():
    s = sigmoid(x)
    raw = sympy.exp(-x) / (1 + sympy.exp(-x)) ** 2
    rewrite = Step("rewrite", raw, x, s * (1 - s), text="Write it through the sigmoid.")
    root = Step("chain", 1 / (1 + sympy.exp(-x)), x, s * (1 - s), substeps=(rewrite,))
    d = Derivation(1 / (1 + sympy.exp(-x)), x, 1, s * (1 - s), root)
    assert "1.1. rewrite: e^(-x)/(1 + e^(-x))^2 = σ(x)·(1 - σ(x))" in rd.derivation_text(d)
    tex = rd.derivation_latex(d)
    row = next(r for r in tex.split("\n") if r"\text{1.1. rewrite}" in r)
    assert row.startswith(r"\frac{e^{- x}}{\left(1 + e^{- x}\right)^{2}} &= \sigma\left(x\right)")


# --- real derivations from the step engine -------------------------------------------------

REAL = ["(3*x - 2)**2", "x**x", "1/(1 + exp(-x))", "erf(x)/x", "asin(x^2)*tanh(x)", "max(0, x) + abs(x)",
        "f(x**2)", "log(x, 2) - sqrt(x)/x"]


@pytest.fixture(scope="module")
def derive():
    return pytest.importorskip("derivkit.calculus.steps").derive


def check_all_formats(d) -> None:
    """The properties every rendering of a real derivation must have."""
    text = d.to_text()
    position = 0
    for rule in d.rules:  # every step names its rule, in reading order
        found = text.find(f". {rd.rule_name(rule)}: ", position)
        assert found >= 0, (rule, text)
        position = found + 1
    assert text.split("\n")[-1].startswith("Result: ")

    tex = d.to_latex()
    assert tex.startswith("\\begin{align*}\n") and tex.endswith("\n\\end{align*}")
    assert balanced(tex)
    assert len(re.findall(r"\\text\{[\d.]+\. ", tex)) == len(d.rules)

    md = d.to_markdown()
    assert balanced(md)
    assert md.count("$$") % 2 == 0
    for line in md.split("\n"):
        assert line.replace("$$", "").count("$") % 2 == 0, line

    assert json.loads(d.to_json()) == d.to_dict()
    assert d._repr_latex_().startswith("$$") and d._repr_markdown_() == md


@pytest.mark.parametrize("expr", REAL)
def test_real_derivations_render_in_every_format(derive, expr):
    check_all_formats(derive(expr, "x"))


def test_real_chain_rule_text(derive):
    out = derive("(3*x - 2)**2", "x").to_text()
    assert "1. chain rule: d/dx (3x - 2)^2 = " in out
    assert "   Let u = 3x - 2." in out
    assert "1.1. power rule: d/du u^2 = 2u" in out
    assert rd.evaluate_at(derive("(3*x - 2)**2", "x"), x=2).to_text().endswith("= 24")


def test_real_sigmoid_ends_in_sigma_one_minus_sigma(derive):
    assert derive("sigmoid(x)", "x").to_text().endswith("Result: d/dx σ(x) = σ(x)·(1 - σ(x))")
    assert r"\sigma\left(x\right) \left(1 - \sigma\left(x\right)\right)" in derive("sigmoid(x)", "x").to_latex()


def test_real_higher_order_renders_each_stage(derive):
    d = derive("x**3 - 2*x", "x", order=2)
    check_all_formats(d)
    assert d.to_text().startswith("Find the 2nd derivative of x^3 - 2x with respect to x:")


def test_real_notes_are_at_the_end(derive):
    out = derive("log(x) + asin(x)", "x").to_text()
    notes = out.index("Notes:")
    assert notes > out.index("natural logarithm rule:") and notes > out.index("arcsine rule:")
    assert "x > 0" in out[notes:] and "|x| < 1" in out[notes:]


# Random expressions over the table's functions: every format renders and stays well formed.
from hypothesis import assume, given, settings  # noqa: E402

from derivkit.errors import DerivkitError  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_LEAVES = st.sampled_from(["x", "2", "3*x", "x^2", "1/2", "pi", "e"])
_FUNCS = ["sin", "cos", "tan", "exp", "log", "sqrt", "sigmoid", "tanh", "relu", "abs", "asin", "atan", "sinh", "acosh"]


def _combine(children):
    unary = st.tuples(st.sampled_from(_FUNCS), children).map(lambda t: f"{t[0]}({t[1]})")
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})")
    power = st.tuples(children, st.sampled_from(["2", "3", "-1", "x"])).map(lambda t: f"({t[0]})^{t[1]}")
    return unary | binary | power


@settings(max_examples=25, deadline=None)
@given(st.recursive(_LEAVES, _combine, max_leaves=4))
def test_random_derivations_render_well_formed(expr):
    steps = pytest.importorskip("derivkit.calculus.steps")
    try:
        d = steps.derive(expr, "x")
    except DerivkitError:  # e.g. (2 - 2)^-1: refused as input, nothing to render
        assume(False)
        return
    check_all_formats(d)


def test_markdown_aligned_blocks_are_well_formed():
    from derivkit import chain, nn

    for md in (chain({"y": "3*x - 2", "z": "y^2"}, "x").to_markdown(), nn.mlp([2, 3, 1]).backprop().to_markdown()):
        assert "\\begin{aligned}" in md and md.count("\\begin{aligned}") == md.count("\\end{aligned}")
        assert not any(ord(c) < 32 and c not in "\n\t" for c in md)
