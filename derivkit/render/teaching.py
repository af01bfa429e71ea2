"""Tangent lines and critical points as text, LaTeX and Markdown.

>>> from derivkit.teaching.tangent import tangent_line
>>> print(tangent_line("x^2", "x", at=3).to_text())
Tangent line to y = x^2 at x = 3:
<BLANKLINE>
1. the point: f(3) = 9
2. the slope: f'(x) = 2x, so f'(3) = 6
3. point-slope form: y = 9 + 6(x - 3)
4. the tangent line: y = 6x - 9
"""

from __future__ import annotations

import sympy

from derivkit.render import renderer
from derivkit.render.common import (
    escape_latex_text,
    escape_markdown,
    expr_latex,
    expr_text,
    latex_align,
    latex_text,
    markdown_table,
    text_table,
    value_text,
)
from derivkit.teaching.critical import CriticalPoints
from derivkit.teaching.tangent import TangentLine

__all__: list[str] = []

_KIND = {"minimum": "local minimum", "maximum": "local maximum", "neither": "neither"}


def _fx(x: sympy.Symbol, a) -> str:
    return f"f({expr_text(a)})"


# --- tangent lines -------------------------------------------------------------------------


def _tangent_rows(t: TangentLine) -> list[tuple[str, str, str]]:
    """(label, text, latex) for each line of the working."""
    x, a = t.wrt, t.point
    fa_t, fa_l = f"f({expr_text(a)})", f"f({expr_latex(a)})"
    return [
        ("the point", f"{fa_t} = {expr_text(t.value)}", f"{fa_l} &= {expr_latex(t.value)}"),
        ("the slope", f"f'({expr_text(x)}) = {expr_text(t.derivation.result)}, so f'({expr_text(a)}) = {expr_text(t.slope)}",
         rf"f'({expr_latex(x)}) &= {expr_latex(t.derivation.result)}, \quad f'({expr_latex(a)}) = {expr_latex(t.slope)}"),
        ("point-slope form", f"y = {t.point_slope[0]}", f"y &= {t.point_slope[1]}"),
        ("the tangent line", f"y = {expr_text(t.line)}", f"y &= {expr_latex(t.line)}"),
    ]


def _tangent_title(t: TangentLine) -> str:
    return f"Tangent line to y = {expr_text(t.expr)} at {expr_text(t.wrt)} = {expr_text(t.point)}:"


@renderer(TangentLine, "text")
def tangent_text(t: TangentLine) -> str:
    lines = [_tangent_title(t), ""]
    lines += [f"{i}. {label}: {text}" for i, (label, text, _) in enumerate(_tangent_rows(t), start=1)]
    return "\n".join(lines)


@renderer(TangentLine, "latex")
def tangent_latex(t: TangentLine) -> str:
    return latex_align([rf"{latex} && \text{{{escape_latex_text(label)}}}" for label, _, latex in _tangent_rows(t)])


@renderer(TangentLine, "markdown")
def tangent_markdown(t: TangentLine) -> str:
    head = (f"Tangent line to $y = {expr_latex(t.expr)}$ at ${expr_latex(t.wrt)} = {expr_latex(t.point)}$:")
    items = [f"{i}. **{label}**: ${latex.replace('&=', '=')}$"
             for i, (label, _, latex) in enumerate(_tangent_rows(t), start=1)]
    return "\n".join([head, "", *items])


# --- critical points -----------------------------------------------------------------------


def _family_text(general: sympy.Basic, x: sympy.Symbol) -> str:
    """A periodic family of solutions as a teacher writes it: ``x = π/2 + 2kπ`` (k an integer)."""
    k = sympy.Symbol("k", integer=True)
    sets = general.args if isinstance(general, sympy.Union) else (general,)
    parts = []
    for s in sets:
        if isinstance(s, sympy.ImageSet) and len(s.lamda.variables) == 1:
            parts.append(f"{expr_text(x)} = {expr_text(s.lamda.expr.xreplace({s.lamda.variables[0]: k}))}")
        else:
            return expr_text(general)
    return " or ".join(parts) + " for every integer k"


def _solve_sentence(c: CriticalPoints) -> str:
    x = expr_text(c.wrt)
    zeros = [p for p in c.points if p.reason == "f' = 0"]
    if c.general is not None and isinstance(c.general, sympy.Basic) and c.general.is_Boolean:
        said = f"f'({x}) = 0 wherever {expr_text(c.general)}: f is constant there, and every such point is critical."
    elif c.general is not None:
        said = (f"f'({x}) = 0 has infinitely many solutions, {_family_text(c.general, c.wrt)}; those in "
                f"[{expr_text(c.window[0])}, {expr_text(c.window[1])}] are listed." if c.window else "")
    elif not c.complete:
        said = (f"f'({x}) = 0 cannot be solved exactly; the roots below were found numerically in "
                f"[{expr_text(c.window[0])}, {expr_text(c.window[1])}]." if c.window else "")
    elif zeros:
        said = f"Solve f'({x}) = 0: " + ", ".join(f"{x} = {expr_text(p.x)}" for p in zeros) + "."
    else:
        said = f"f'({x}) = 0 has no real solution."
    corners = [p for p in c.points if p.reason == "corner"]
    if corners:
        said += " f' does not exist at " + ", ".join(f"{x} = {expr_text(p.x)}" for p in corners) + " (a corner)."
    return said


def _point_rows(c: CriticalPoints, fmt: str = "text") -> list[list]:
    if fmt == "text":
        return [[value_text(p.x), value_text(p.value), _KIND[p.kind], p.test] for p in c.points]
    return [[p.x, p.value, _KIND[p.kind], p.test] for p in c.points]


@renderer(CriticalPoints, "text")
def critical_text(c: CriticalPoints) -> str:
    x = expr_text(c.wrt)
    lines = [f"Critical points of f({x}) = {expr_text(c.expr)}:", "",
             f"f'({x}) = {expr_text(c.derivative.result)}"]
    if c.second is not sympy.nan:
        lines.append(f"f''({x}) = {expr_text(c.second)}")
    lines += [_solve_sentence(c), ""]
    if c.points:
        lines.append(text_table([x, f"f({x})", "kind", "how"], _point_rows(c)))
    else:
        lines.append("No critical points.")
    return "\n".join(lines).rstrip()


@renderer(CriticalPoints, "latex")
def critical_latex(c: CriticalPoints) -> str:
    x = expr_latex(c.wrt)
    rows = [rf"f'({x}) &= {expr_latex(c.derivative.result)} && \text{{first derivative}}"]
    if c.second is not sympy.nan:
        rows.append(rf"f''({x}) &= {expr_latex(c.second)} && \text{{second derivative}}")
    for p in c.points:
        rows.append(rf"{x} &= {expr_latex(p.x)},\quad f = {expr_latex(p.value)} && "
                    rf"\text{{{escape_latex_text(_KIND[p.kind])}}}")
    rows.append(rf"&& {latex_text(_solve_sentence(c))}")
    return latex_align(rows)


@renderer(CriticalPoints, "markdown")
def critical_markdown(c: CriticalPoints) -> str:
    x = expr_latex(c.wrt)
    parts = [f"Critical points of $f({x}) = {expr_latex(c.expr)}$:", "",
             f"- $f'({x}) = {expr_latex(c.derivative.result)}$"]
    if c.second is not sympy.nan:
        parts.append(f"- $f''({x}) = {expr_latex(c.second)}$")
    parts += ["", escape_markdown(_solve_sentence(c)), ""]
    if c.points:
        parts.append(markdown_table([f"${x}$", f"$f({x})$", "kind", "how"], _point_rows(c, "markdown")))
    return "\n".join(parts).rstrip()
