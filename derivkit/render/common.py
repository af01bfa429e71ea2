"""Formatting helpers shared by the renderers: expressions, tables and matrices.

Expressions are written by :mod:`derivkit.notation` (re-exported here); this
module adds math delimiters, values, derivative notation, tables and matrices.

>>> import sympy
>>> x = sympy.Symbol("x")
>>> print(text_table(["x", "f(x)"], [[1, x**2], [2, 4]]))
x  f(x)
-  ----
1  x^2
2  4
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

import sympy
from sympy import S

__all__ = [
    "expr_text",
    "expr_latex",
    "math_inline",
    "math_display",
    "value_text",
    "derivative_text",
    "derivative_latex",
    "text_table",
    "markdown_table",
    "text_matrix",
    "latex_matrix",
    "latex_align",
    "latex_aligned",
    "escape_latex_text",
    "latex_text",
    "latex_paragraph",
    "escape_markdown",
    "table_math",
    "indent",
]

from derivkit.notation import derivative_latex, derivative_text, expr_latex, expr_text  # noqa: E402  (re-exported)


def math_inline(expr: Any) -> str:
    """``$...$`` Markdown math for an expression.

    >>> import sympy
    >>> math_inline(sympy.Symbol("x")**2)
    '$x^{2}$'
    """
    return f"${expr_latex(expr)}$"


def math_display(expr: Any) -> str:
    """``$$...$$`` display math for an expression (alone on its lines).

    >>> import sympy
    >>> print(math_display(sympy.sqrt(sympy.Symbol("x"))))
    $$
    \\sqrt{x}
    $$
    """
    return f"$$\n{expr_latex(expr)}\n$$"


def value_text(value: Any, digits: int = 6) -> str:
    """An exact value in text, with a decimal approximation when it is not a plain number.

    >>> import sympy
    >>> value_text(sympy.Integer(24))
    '24'
    >>> value_text(sympy.sqrt(2)/2)
    '√2/2 ≈ 0.707107'
    >>> value_text(sympy.Rational(1, 4))
    '1/4 = 0.25'
    >>> value_text(sympy.zoo), value_text(-sympy.I/2)
    ('undefined (division by zero or an infinite value)', '-i/2 (not a real number)')
    """
    if isinstance(value, sympy.Basic) and (value.has(S.ComplexInfinity, S.NaN) or value in (S.Infinity, S.NegativeInfinity)):
        return "undefined (division by zero or an infinite value)"
    exact = expr_text(value)
    if not isinstance(value, sympy.Basic) or value.free_symbols or value.is_Integer or value.is_Float:
        return exact
    try:
        approx = complex(value.evalf(digits + 2))
    except (TypeError, ValueError):
        return exact
    if approx.imag != 0:
        return f"{exact} (not a real number)"
    number = format(approx.real, f".{digits}g")
    if number == exact:
        return exact
    sign = "=" if value.is_Rational and sympy.Rational(number) == value else "≈"
    return f"{exact} {sign} {number}"


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (sympy.Basic, int, float)) and not isinstance(value, bool):
        return expr_text(value)
    return str(value)


def text_table(headers: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """An aligned plain-text table; SymPy cells go through :func:`expr_text`.

    >>> print(text_table(["step", "b"], [[0, 4], [1, "363/100"]]))
    step  b
    ----  -------
    0     4
    1     363/100
    """
    head = [_cell_text(h) for h in headers]
    body = [[_cell_text(c) for c in row] for row in rows]
    ncols = max([len(head)] + [len(r) for r in body])
    head += [""] * (ncols - len(head))
    body = [r + [""] * (ncols - len(r)) for r in body]
    widths = [max(len(r[i]) for r in [head] + body) for i in range(ncols)]
    lines = [head, ["-" * max(w, 1) for w in widths]] + body
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in lines)


def table_math(latex: str) -> str:
    r"""``$latex$`` safe inside a Markdown table cell (bars written ``\vert``).

    >>> print(table_math(r"\frac{d}{dx}|x| = \left|x\right| / x"))
    $\frac{d}{dx}\vert x\vert  = \left\vert x\right\vert  / x$
    >>> print(table_math(r"\left|x\right|"))
    $\left\vert x\right\vert$
    """
    latex = latex.replace(r"\left|", r"\left\vert ").replace(r"\right|", r"\right\vert ")
    latex = re.sub(r"(?<!\\)\|", r"\\vert ", latex)
    # no space before the closing "$", or Markdown would not close the math
    return "$" + latex.replace("\n", " ").strip() + "$"


def _md_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (sympy.Basic, int, float)) and not isinstance(value, bool):
        return table_math(expr_latex(value))
    return str(value).replace("|", r"\|").replace("\n", " ")


def markdown_table(headers: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table; SymPy cells become ``$...$`` math, ``|`` is escaped.

    >>> import sympy
    >>> print(markdown_table(["x", "f(x)"], [[2, sympy.Symbol("x")**2]]))
    | x | f(x) |
    | --- | --- |
    | $2$ | $x^{2}$ |
    """
    head = [_md_cell(h) if not isinstance(h, str) else h.replace("|", r"\|") for h in headers]
    out = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    for row in rows:
        cells = [_md_cell(c) for c in row]
        cells += [""] * (len(head) - len(cells))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def text_matrix(matrix: Any) -> str:
    """A matrix in plain text, one bracketed row per line, columns right-aligned.

    >>> import sympy
    >>> x1, x2 = sympy.symbols("x1 x2")
    >>> print(text_matrix(sympy.Matrix([[2, 2*x2], [-2*x1, 3]])))
    [   2  2x2 ]
    [ -2x1   3 ]
    """
    m = sympy.Matrix(matrix)
    cells = [[expr_text(v) for v in row] for row in m.tolist()]
    if not cells or not cells[0]:
        return "[ ]"
    widths = [max(len(r[j]) for r in cells) for j in range(len(cells[0]))]
    return "\n".join("[ " + "  ".join(c.rjust(w) for c, w in zip(r, widths)) + " ]" for r in cells)


def latex_matrix(matrix: Any, env: str = "bmatrix") -> str:
    r"""A matrix as a LaTeX ``bmatrix`` (or ``env``).

    >>> import sympy
    >>> latex_matrix(sympy.Matrix([[8, 1], [1, 40]]))
    '\\begin{bmatrix} 8 & 1 \\\\ 1 & 40 \\end{bmatrix}'
    """
    m = sympy.Matrix(matrix)
    rows = [" & ".join(expr_latex(v) for v in row) for row in m.tolist()]
    return rf"\begin{{{env}}} " + r" \\ ".join(rows) + rf" \end{{{env}}}"


def latex_align(rows: Sequence[str]) -> str:
    r"""Rows (each with its ``&`` marks) as one ``align*`` block, ``\\`` between rows.

    >>> print(latex_align(["y &= 3x - 2", "z &= y^2"]))
    \begin{align*}
    y &= 3x - 2 \\
    z &= y^2
    \end{align*}
    """
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"


def latex_aligned(rows: Sequence[str]) -> str:
    r"""Rows as an ``aligned`` block: the form for inside ``$$...$$`` (MathJax refuses ``align*`` there).

    >>> print(math_display(latex_aligned(["y &= 3x - 2", "z &= y^2"])))
    $$
    \begin{aligned} y &= 3x - 2 \\ z &= y^2 \end{aligned}
    $$
    """
    return r"\begin{aligned} " + r" \\ ".join(rows) + r" \end{aligned}"


_LATEX_TEXT_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "_": r"\_",
    "^": r"\^{}",
    "#": r"\#",
    "$": r"\$",
    "%": r"\%",
    "&": r"\&",
    "~": r"\~{}",
}


def escape_latex_text(text: str) -> str:
    r"""Escape ``text`` for use inside ``\text{...}``.

    >>> escape_latex_text("x_1 & 50%")
    'x\\_1 \\& 50\\%'
    """
    return "".join(_LATEX_TEXT_ESCAPES.get(ch, ch) for ch in text)


_TEXT_RELATIONS = {"<=": r"\leq ", ">=": r"\geq ", "!=": r"\neq ", "≠": r"\neq ", "≤": r"\leq ", "≥": r"\geq ",
                   "<": "<", ">": ">", "|": "|",
                   # characters pdfLaTeX cannot set in text: written as math
                   "·": r"\cdot ", "α": r"\alpha ", "η": r"\eta ", "σ": r"\sigma ", "λ": r"\lambda ",
                   "π": r"\pi ", "Δ": r"\Delta ", "∂": r"\partial ", "≈": r"\approx ", "→": r"\to ",
                   "√": r"\surd ", "∞": r"\infty ", "∘": r"\circ ", "ᵀ": r"^{T}", "−": "-", "×": r"\times "}
_TEXT_RELATION = re.compile("(" + "|".join(re.escape(k) for k in _TEXT_RELATIONS) + ")")


def latex_text(text: str) -> str:
    r"""A sentence as LaTeX ``\text{...}``, with ``<``, ``>``, ``|`` and ``!=`` set as math.

    Inside ``\text`` those characters print wrongly in pdfLaTeX's default font
    (``<`` as ``¡``), so they are moved between text boxes, which works there and in MathJax;
    so are the Greek letters and symbols of derivkit's plain text (``σ``, ``α``, ``·``, ``≈``),
    which pdfLaTeX cannot set in text at all.

    >>> latex_text("holds for |x| < 1")
    '\\text{holds for }|\\text{x}|\\text{ }<\\text{ 1}'
    >>> latex_text("x != 0 & more")
    '\\text{x }\\neq \\text{ 0 \\& more}'
    """
    out = []
    for i, piece in enumerate(_TEXT_RELATION.split(text)):
        if i % 2:
            out.append(_TEXT_RELATIONS[piece])
        elif piece:
            out.append(rf"\text{{{escape_latex_text(piece)}}}")
    return "".join(out)


def latex_paragraph(text: str) -> str:
    r"""A sentence as a LaTeX paragraph (text mode, so long lines wrap), Unicode math set as ``$...$``.

    >>> latex_paragraph("σ'(x) = σ(x)·(1 - σ(x)) & more")
    "$\\sigma$'(x) = $\\sigma$(x)$\\cdot$(1 - $\\sigma$(x)) \\& more"
    """
    out = []
    for i, piece in enumerate(_TEXT_RELATION.split(text)):
        if i % 2:
            out.append("$" + _TEXT_RELATIONS[piece].strip() + "$")
        elif piece:
            out.append(escape_latex_text(piece))
    return "".join(out)


def escape_markdown(text: str) -> str:
    r"""Escape the characters Markdown would read as emphasis, code, table cells or HTML.

    >>> escape_markdown("2*x*y_1 < 3")
    '2\\*x\\*y\\_1 &lt; 3'
    """
    return re.sub(r"([\\`*_|])", r"\\\1", text).replace("<", "&lt;")


def indent(text: str, prefix: str) -> str:
    """Prefix every non-empty line of ``text`` with ``prefix``.

    >>> indent("a\\n\\nb", "  ")
    '  a\\n\\n  b'
    """
    return "\n".join(prefix + line if line else line for line in text.split("\n"))
