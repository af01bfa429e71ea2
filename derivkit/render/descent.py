"""Descent tables as text, LaTeX and Markdown, with each update written out.

The update column writes the substitution as the course does:
``b1 = 4 - 0.01·37 = 3.63`` (and ``+ 0.5·(-0.37)`` for the momentum term).
Exact decimals are shown as decimals; other values to 6 significant digits
after ``≈``.
"""

from __future__ import annotations

import sympy

from derivkit.render import renderer
from derivkit.render.common import expr_latex, expr_text, latex_text, markdown_table, text_table
from derivkit.training.descend import Descent, DescentRow, decimal, is_exact_decimal

def _items(p) -> list[sympy.Basic]:
    return list(p) if isinstance(p, tuple) else [p]


def _name(sym: sympy.Symbol, r: int | str, fmt: str) -> str:
    n = sym.name
    if fmt == "latex":
        base = sympy.latex(sym)
        return f"{base}^{{({r})}}" if n[-1].isdigit() or "_" in n else f"{base}_{{{r}}}"
    return f"{n}({r})" if n[-1].isdigit() or isinstance(r, str) else f"{n}{r}"


def _num(v: sympy.Basic, fmt: str) -> str:
    text = decimal(v)
    if fmt == "latex" and not v.is_Rational and not v.is_Float and v.is_number:
        return f"{float(v):.6g}"
    return text


def _eq(v: sympy.Basic) -> str:
    """``=`` where the shown value is exact, else ``≈``."""
    return "=" if is_exact_decimal(v) else "≈"


def _paren(v: sympy.Basic, fmt: str) -> str:
    s = _num(v, fmt)
    return f"({s})" if s.startswith("-") else s


def _update(d: Descent, row: DescentRow, i: int, fmt: str) -> str:
    """``b1 = 4 - 0.01·37 = 3.63`` for variable ``i`` of ``row``."""
    dot = r" \cdot " if fmt == "latex" else "·"
    sym = d.wrt[i]
    prev, grad = _items(row.previous)[i], _items(row.gradient)[i]
    delta = _items(row.previous)[i] - (_items(d.points[row.iteration - 2])[i] if row.iteration > 1 else _items(row.previous)[i])
    point = _items(row.point)[i]
    text = f"{_name(sym, row.iteration, fmt)} = {_num(prev, fmt)} - {_num(d.lr, fmt)}{dot}{_paren(grad, fmt)}"
    if d.momentum != 0:
        text += f" + {_num(d.momentum, fmt)}{dot}{_paren(delta, fmt)}"
    eq = _eq(point)
    if fmt == "latex" and eq == "≈":
        eq = r"\approx"
    return f"{text} {eq} {_num(point, fmt)}"


def _headers(d: Descent, fmt: str) -> list[str]:
    latex = fmt != "text"
    prev = "r-1"
    if latex:
        cols = ["$r$"]
        cols += [f"${_name(s, prev, 'latex')}$" for s in d.wrt]
        if d.several:
            cols += [rf"$\partial f/\partial {sympy.latex(s)}$" for s in d.wrt]
        else:
            cols += [f"$f'({_name(d.wrt[0], prev, 'latex')})$"]
        cols += ["update"] * 1 + [f"$f({', '.join(_name(s, 'r', 'latex') for s in d.wrt)})$"]
        return cols
    cols = ["r"] + [_name(s, prev, "text") for s in d.wrt]
    if d.several:
        cols += [f"df/d{s.name}" for s in d.wrt]
    else:
        cols += [f"f'({_name(d.wrt[0], prev, 'text')})"]
    return cols + ["update", f"f({', '.join(_name(s, 'r', 'text') for s in d.wrt)})"]


def _cells(d: Descent, row: DescentRow, fmt: str) -> list[str]:
    wrap = (lambda s: f"${s}$") if fmt != "text" else (lambda s: s)  # noqa: E731
    mfmt = "latex" if fmt != "text" else "text"
    cells = [str(row.iteration)]
    cells += [wrap(_num(v, mfmt)) for v in _items(row.previous)]
    cells += [wrap(_num(v, mfmt)) for v in _items(row.gradient)]
    sep = "; " if fmt == "text" else ", "
    cells.append(sep.join(wrap(_update(d, row, i, mfmt)) for i in range(len(d.wrt))))
    cells.append(wrap(_num(row.value, mfmt)))
    return cells


def _intro(d: Descent, fmt: str) -> list[str]:
    names = ", ".join(s.name for s in d.wrt)
    start = ", ".join(f"{_name(s, 0, 'text')} = {decimal(v)}" for s, v in zip(d.wrt, _items(d.start)))
    if fmt == "text":
        lines = [f"Gradient descent on f({names}) = {expr_text(d.f)}"]
        for s, g in zip(d.wrt, d.derivatives):
            label = f"f'({names})" if not d.several else f"df/d{s.name}"
            lines.append(f"  {label} = {expr_text(g)}")
        v = d.wrt[0].name if not d.several else "v"
        slope = f"f'({v}(r))" if not d.several else f"df/d{v}"
        rule = f"{v}(r+1) = {v}(r) - α·{slope}"
        if d.momentum != 0:
            rule += f" + η·Δ{v},  Δ{v} = {v}(r) - {v}(r-1)"
        if d.several:
            rule += f"  for each variable v of {names}"
        lines.append(f"  update: {rule}")
        params = f"α = {decimal(d.lr)}" + (f", η = {decimal(d.momentum)}" if d.momentum != 0 else "")
        lines.append(f"  {params}; start {start}, f {_eq(d.start_value)} {decimal(d.start_value)}")
        return lines
    fl = ", ".join(sympy.latex(s) for s in d.wrt)
    intro = [f"Gradient descent on $f({fl}) = {expr_latex(d.f)}$"]
    for s, g in zip(d.wrt, d.derivatives):
        label = f"f'({fl})" if not d.several else rf"\frac{{\partial f}}{{\partial {sympy.latex(s)}}}"
        intro.append(f"${label} = {expr_latex(g)}$")
    b = d.wrt[0] if not d.several else sympy.Symbol("v")
    slope = f"f'({_name(b, 'r', 'latex')})" if not d.several else r"\frac{\partial f}{\partial v}"
    rule = f"{_name(b, 'r+1', 'latex')} = {_name(b, 'r', 'latex')} - \\alpha {slope}"
    if d.momentum != 0:
        rule += rf" + \eta \Delta {sympy.latex(b)}"
    intro.append(f"update ${rule}$" + (" for each variable $v$" if d.several else ""))
    params = rf"$\alpha = {decimal(d.lr)}$" + (rf", $\eta = {decimal(d.momentum)}$" if d.momentum != 0 else "")
    starts = ", ".join(f"${_name(s, 0, 'latex')} = {decimal(v)}$" for s, v in zip(d.wrt, _items(d.start)))
    eq = "=" if is_exact_decimal(d.start_value) else r"\approx"
    intro.append(f"{params}; start {starts}, $f {eq} {decimal(d.start_value)}$")
    return intro


def _outcome(d: Descent) -> str:
    if d.diverged:
        said = f"Diverged after {len(d.rows)} step{'s' * (len(d.rows) != 1)}: {d.reason}."
    elif not d.rows:
        said = "No steps taken."
    else:
        final = ", ".join(f"{_name(s, len(d.rows), 'text')} {_eq(v)} {decimal(v)}"
                          for s, v in zip(d.wrt, _items(d.final)))
        last = d.rows[-1].value
        said = f"After {len(d.rows)} step{'s' * (len(d.rows) != 1)}: {final}, f {_eq(last)} {decimal(last)}."
    return said


@renderer(Descent, "text")
def descent_text(d: Descent) -> str:
    table = text_table(_headers(d, "text"), [_cells(d, r, "text") for r in d.rows])
    return "\n".join(_intro(d, "text") + ["", table, "", _outcome(d), *d.notes])


@renderer(Descent, "markdown")
def descent_markdown(d: Descent) -> str:
    intro = _intro(d, "markdown")
    table = markdown_table(_headers(d, "markdown"), [_cells(d, r, "markdown") for r in d.rows])
    out = intro[0] + ", with " + "; ".join(intro[1:-1]) + ".\n\n" + intro[-1] + ".\n\n" + table
    return out + "\n\n" + " ".join([_outcome(d), *d.notes]).replace("≈", "$\\approx$")


@renderer(Descent, "latex")
def descent_latex(d: Descent) -> str:
    ncols = len(_headers(d, "latex"))
    heads = " & ".join(h.strip("$") if h.startswith("$") else rf"\text{{{h}}}" for h in _headers(d, "latex"))
    body = []
    for r in d.rows:
        cells = [c.replace("$", "") for c in _cells(d, r, "latex")]
        body.append(" & ".join(cells) + r" \\")
    spec = "r" * (ncols - 2) + "l" + "r"
    names = ", ".join(sympy.latex(s) for s in d.wrt)
    intro = [f"f({names}) = {expr_latex(d.f)}"]
    for s, g in zip(d.wrt, d.derivatives):
        label = f"f'({names})" if not d.several else rf"\frac{{\partial f}}{{\partial {sympy.latex(s)}}}"
        intro.append(f"{label} = {expr_latex(g)}")
    intro.append(rf"\alpha = {decimal(d.lr)}" + (rf",\ \eta = {decimal(d.momentum)}" if d.momentum != 0 else ""))
    intro.append(r",\ ".join(f"{_name(s, 0, 'latex')} = {decimal(v)}" for s, v in zip(d.wrt, _items(d.start))))
    table = (rf"\begin{{array}}{{{spec}}}" + "\n" + heads + r" \\ \hline" + "\n" + "\n".join(body)
             + "\n" + r"\end{array}")
    return (
        r"\begin{gather*}" + "\n" + r"\begin{array}{l}" + "\n" + r",\quad ".join(intro) + r" \\[6pt]" + "\n" + table + r" \\[6pt]" + "\n"
        + r" \\ ".join(latex_text(line) for line in [_outcome(d), *d.notes]) + "\n" + r"\end{array}" + "\n" + r"\end{gather*}"
    )


# --- plain descent and momentum, side by side ----------------------------------------------------

from derivkit.training.momentum import MomentumComparison  # noqa: E402


def _side_rows(c: MomentumComparison, fmt: str) -> tuple[list[str], list[list[str]]]:
    p, m = c.plain, c.momentum
    wrap = (lambda s: f"${s}$") if fmt != "text" else (lambda s: s)  # noqa: E731
    mfmt = "latex" if fmt != "text" else "text"
    eta = decimal(m.momentum)
    if fmt == "text":
        heads = ["r", "plain: update", "f", f"momentum η = {eta}: update", "f"]
    else:
        heads = ["$r$", "plain: update", "$f$", rf"momentum $\eta = {eta}$: update", "$f$"]
    rows = []
    sep = "; " if fmt == "text" else ", "
    for r in range(max(len(p.rows), len(m.rows))):
        cells = [str(r + 1)]
        for d in (p, m):
            if r < len(d.rows):
                row = d.rows[r]
                cells.append(sep.join(wrap(_update(d, row, i, mfmt)) for i in range(len(d.wrt))))
                cells.append(wrap(_num(row.value, mfmt)))
            else:
                cells += ["(stopped)", ""]
        rows.append(cells)
    return heads, rows


def _side_intro(c: MomentumComparison) -> str:
    p = c.plain
    names = ", ".join(s.name for s in p.wrt)
    start = ", ".join(f"{_name(s, 0, 'text')} = {decimal(v)}" for s, v in zip(p.wrt, _items(p.start)))
    return (f"Gradient descent on f({names}) = {expr_text(p.f)} from {start} with α = {decimal(p.lr)}, "
            f"without and with momentum η = {decimal(c.momentum.momentum)}:")


@renderer(MomentumComparison, "text")
def comparison_text(c: MomentumComparison) -> str:
    heads, rows = _side_rows(c, "text")
    lines = [_side_intro(c), "", text_table(heads, rows), ""]
    lines += [f"Plain:    {_outcome(c.plain)}", f"Momentum: {_outcome(c.momentum)}", *c.plain.notes[:1], "",
              c.sentence]
    return "\n".join(lines)


@renderer(MomentumComparison, "markdown")
def comparison_markdown(c: MomentumComparison) -> str:
    heads, rows = _side_rows(c, "markdown")
    intro = _side_intro(c).replace("α", r"$\alpha$").replace("η", r"$\eta$")
    parts = [intro, "", markdown_table(heads, rows), "",
             f"Plain: {_outcome(c.plain)} Momentum: {_outcome(c.momentum)}".replace("≈", r"$\approx$"), "",
             f"**{c.sentence}**"]
    return "\n".join(parts)


@renderer(MomentumComparison, "latex")
def comparison_latex(c: MomentumComparison) -> str:
    _, rows = _side_rows(c, "latex")
    eta = decimal(c.momentum.momentum)
    head = rf"r & \text{{plain: update}} & f & \text{{momentum }}\eta = {eta}\text{{: update}} & f"
    body = [" & ".join(cell.replace("$", "") if cell.startswith("$") else latex_text(cell) for cell in row) + r" \\"
            for row in rows]
    table = "\n".join([r"\begin{array}{rlrlr}", head + r" \\ \hline", *body, r"\end{array}"])
    p = c.plain
    names = ", ".join(sympy.latex(v) for v in p.wrt)
    start = ", ".join(f"{_name(v, 0, 'latex')} = {decimal(b)}" for v, b in zip(p.wrt, _items(p.start)))
    intro = (rf"\text{{Gradient descent on }} f({names}) = {expr_latex(p.f)} \text{{ from }} {start} "
             rf"\text{{ with }} \alpha = {decimal(p.lr)}\text{{, without and with momentum }} \eta = {eta}")
    inner = [intro, table, latex_text(c.sentence)]
    return "\\begin{gather*}\n\\begin{array}{l}\n" + " \\\\[4pt]\n".join(inner) + "\n\\end{array}\n\\end{gather*}"
