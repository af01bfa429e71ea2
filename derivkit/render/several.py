"""Gradients, Jacobians and Hessians as text, LaTeX and Markdown.

Each rendering states the layout, lays the matrix out (an aligned block in
text, a ``bmatrix`` in LaTeX and Markdown), and then gives the derivation of
every entry. A Hessian first derives the first partials, then each mixed
partial once; an entry below the diagonal points at its mirror entry.
"""

from __future__ import annotations

import sympy

from derivkit.calculus.several import MatrixDerivation, MatrixAt
from derivkit.render import renderer
from derivkit.render.common import (
    expr_latex,
    expr_text,
    indent,
    latex_align,
    latex_matrix,
    latex_text,
    math_display,
    text_matrix,
)

_TITLE = {"gradient": "Gradient", "jacobian": "Jacobian", "hessian": "Hessian"}
_SYMBOL = {"gradient": "∇f", "jacobian": "J", "hessian": "H"}
_SYMBOL_LATEX = {"gradient": r"\nabla f", "jacobian": "J", "hessian": "H"}
_LAYOUT_MD = {
    "gradient": r"a column: entry $i$ is $\partial f/\partial x_i$",
    "jacobian": r"numerator layout: row $i$ is output $f_i$, column $j$ is variable $x_j$",
    "hessian": r"$H_{ij} = \partial/\partial x_j \, (\partial f/\partial x_i)$; the matrix is symmetric",
}


def _fname(m: MatrixDerivation, i: int) -> str:
    return f"f{i + 1}" if m.kind == "jacobian" else "f"


def _fname_latex(m: MatrixDerivation, i: int) -> str:
    return f"f_{{{i + 1}}}" if m.kind == "jacobian" else "f"


def entry_label(m: MatrixDerivation, i: int, j: int) -> str:
    """``∂f/∂x1``, ``∂f2/∂x1``, ``∂²f/∂x1²`` or ``∂²f/∂x2∂x1`` (x1 first, then x2)."""
    if m.kind == "hessian":
        xi, xj = m.wrt[i].name, m.wrt[j].name
        return f"∂²f/∂{xi}²" if i == j else f"∂²f/∂{xj}∂{xi}"
    col = 0 if m.kind == "gradient" else j
    return f"∂{_fname(m, i)}/∂{m.wrt[col].name}"


def entry_label_latex(m: MatrixDerivation, i: int, j: int) -> str:
    if m.kind == "hessian":
        xi, xj = expr_latex(m.wrt[i]), expr_latex(m.wrt[j])
        den = rf"\partial {xi}^{{2}}" if i == j else rf"\partial {xj}\,\partial {xi}"
        return rf"\frac{{\partial^{{2}} f}}{{{den}}}"
    col = 0 if m.kind == "gradient" else j
    return rf"\frac{{\partial {_fname_latex(m, i)}}}{{\partial {expr_latex(m.wrt[col])}}}"


def _functions_text(m: MatrixDerivation) -> str:
    args = ", ".join(s.name for s in m.wrt)
    if m.kind == "jacobian":
        return "\n".join(f"  f{k + 1}({args}) = {expr_text(e)}" for k, e in enumerate(m.exprs))
    return f"  f({args}) = {expr_text(m.expr)}"


def _functions_latex(m: MatrixDerivation) -> list[str]:
    args = ", ".join(expr_latex(s) for s in m.wrt)
    if m.kind == "jacobian":
        return [rf"f_{{{k + 1}}}({args}) = {expr_latex(e)}" for k, e in enumerate(m.exprs)]
    return [rf"f({args}) = {expr_latex(m.expr)}"]


def _forms(m: MatrixDerivation, i: int, j: int, show) -> str:
    """The derivation's result, and the matrix entry (its expansion) when that is written differently."""
    d, entry = m.entry(i, j), m.result[i, j]
    return show(d.result) if entry == d.result else f"{show(d.result)} = {show(entry)}"


def _reuse_text(m: MatrixDerivation, i: int, j: int) -> str:
    return (
        f"{entry_label(m, i, j)} = {entry_label(m, j, i)} = {expr_text(m.result[i, j])}"
        "  (the mixed partials agree; derived once, above)"
    )


@renderer(MatrixDerivation, "text")
def matrix_text(m: MatrixDerivation) -> str:
    sym = _SYMBOL[m.kind]
    lines = [f"{_TITLE[m.kind]} of", _functions_text(m), f"Layout: {m.layout}.", ""]
    block = text_matrix(m.result).split("\n")
    pad = " " * (len(sym) + 3)
    lines += [(f"{sym} = " if k == (len(block) - 1) // 2 else pad) + row for k, row in enumerate(block)]
    if m.first:
        lines += ["", "First partial derivatives:"]
        for s, d in zip(m.wrt, m.first):
            lines += [f"∂f/∂{s.name} = {expr_text(d.result)}", indent(d.to_text(), "    ")]
    lines += ["", "Second partial derivatives:" if m.kind == "hessian" else "Entries:"]
    for i, j, d in m.entries():
        if m.is_reused(i, j):
            lines.append(_reuse_text(m, i, j))
            continue
        lines += [f"{entry_label(m, i, j)} = {_forms(m, i, j, expr_text)}", indent(d.to_text(), "    ")]
    lines += [f"Note: {n}" for n in m.notes]
    return "\n".join(lines).rstrip()


def _latex_rows(m: MatrixDerivation) -> list[str]:
    sym = _SYMBOL_LATEX[m.kind]
    rows = [row.replace(" = ", " &= ", 1) for row in _functions_latex(m)]
    rows.append(rf"&{latex_text('layout: ' + m.layout)}")
    rows.append(rf"{sym} &= {latex_matrix(m.result)}")
    for s, d in zip(m.wrt, m.first):
        rows.append(rf"\frac{{\partial f}}{{\partial {expr_latex(s)}}} &= {expr_latex(d.result)}")
    for i, j, d in m.entries():
        label = entry_label_latex(m, i, j)
        if m.is_reused(i, j):
            rows.append(rf"{label} &= {entry_label_latex(m, j, i)} = {expr_latex(m.result[i, j])}")
        else:
            rows.append(rf"{label} &= {_forms(m, i, j, expr_latex)}")
    return rows


def _latex(m: MatrixDerivation, extra: tuple[str, ...] = ()) -> str:
    """An ``align*`` block with the matrix and its entries, then each entry's derivation."""
    blocks = [latex_align(_latex_rows(m) + list(extra))]
    blocks += [d.to_latex() for d in m.first]
    blocks += [d.to_latex() for i, j, d in m.entries() if not m.is_reused(i, j)]
    return "\n\n".join(blocks)


@renderer(MatrixDerivation, "latex")
def matrix_latex(m: MatrixDerivation) -> str:
    return _latex(m)


@renderer(MatrixDerivation, "markdown")
def matrix_markdown(m: MatrixDerivation) -> str:
    sym = _SYMBOL_LATEX[m.kind]
    funcs = r" \\ ".join(_functions_latex(m))
    parts = [
        f"**{_TITLE[m.kind]}** of",
        math_display(rf"\begin{{gathered}} {funcs} \end{{gathered}}"),
        f"Layout: {_LAYOUT_MD[m.kind]}.",
        math_display(rf"{sym} = {latex_matrix(m.result)}"),
    ]
    if m.first:
        parts.append("First partial derivatives:")
        for s, d in zip(m.wrt, m.first):
            head = rf"\frac{{\partial f}}{{\partial {expr_latex(s)}}} = {expr_latex(d.result)}"
            parts += [math_display(head), d.to_markdown()]
        parts.append("Second partial derivatives:")
    for i, j, d in m.entries():
        label = entry_label_latex(m, i, j)
        if m.is_reused(i, j):
            parts.append(
                f"${label} = {entry_label_latex(m, j, i)} = {expr_latex(m.result[i, j])}$ "
                "(the mixed partials agree; derived once, above)."
            )
        else:
            parts += [math_display(rf"{label} = {_forms(m, i, j, expr_latex)}"), d.to_markdown()]
    parts += [f"*Note:* {n}" for n in m.notes]
    return "\n\n".join(parts)


def _point_text(a: MatrixAt) -> str:
    return ", ".join(f"{name} = {expr_text(v)}" for name, v in a.point)


def _point_latex(a: MatrixAt) -> str:
    return ", ".join(f"{expr_latex(sympy.Symbol(name))} = {expr_latex(v)}" for name, v in a.point)


@renderer(MatrixAt, "text")
def matrix_at_text(a: MatrixAt) -> str:
    sym = _SYMBOL[a.derivation.kind]
    block = text_matrix(a.value).split("\n")
    head = f"{sym}({_point_text(a)}) = "
    pad = " " * len(head)
    rows = [(head if k == (len(block) - 1) // 2 else pad) + row for k, row in enumerate(block)]
    return matrix_text(a.derivation) + "\n\nAt " + _point_text(a) + ":\n" + "\n".join(rows)


@renderer(MatrixAt, "latex")
def matrix_at_latex(a: MatrixAt) -> str:
    sym = _SYMBOL_LATEX[a.derivation.kind]
    value = rf"{sym}\,\big|_{{{_point_latex(a)}}} &= {latex_matrix(a.value)}"
    return _latex(a.derivation, (value,))


@renderer(MatrixAt, "markdown")
def matrix_at_markdown(a: MatrixAt) -> str:
    sym = _SYMBOL_LATEX[a.derivation.kind]
    value = rf"{sym}\,\big|_{{{_point_latex(a)}}} = {latex_matrix(a.value)}"
    return matrix_markdown(a.derivation) + f"\n\nAt ${_point_latex(a)}$:\n\n" + math_display(value)
