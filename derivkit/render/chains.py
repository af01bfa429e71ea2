"""Chains as text, LaTeX and Markdown: the equations, the local derivatives in chain
order, their product (or the sum over paths), and the substitute-first route.

A chain worked at a point (:class:`~derivkit.calculus.chains.ChainAt`) is laid out
as the course does: the forward values of every name, then a table of the local
derivatives with their values, then the product.
"""

from __future__ import annotations

from typing import Callable

import sympy

from derivkit.calculus.chains import Chain, ChainAt
from derivkit.render import renderer
from derivkit.render.common import (
    expr_latex,
    expr_text,
    indent,
    latex_align,
    latex_aligned,
    markdown_table,
    math_display,
    text_table,
    value_text,
)


_CDOT = r" \cdot "


def _upright(expr):
    """Multi-letter names (``loss``, ``error``) upright, so they do not read as products of letters."""
    if not isinstance(expr, sympy.Basic):
        return expr
    names = {
        s: sympy.Symbol(rf"\mathrm{{{s.name}}}")
        for s in expr.free_symbols
        if isinstance(s, sympy.Symbol) and len(s.name) > 1 and s.name.isalpha() and expr_latex(s) == s.name
    }
    return expr.xreplace(names) if names else expr


def tex(expr) -> str:
    """LaTeX of an expression of the chain's names (see :func:`_upright`)."""
    return expr_latex(_upright(expr))


def label_latex(label: str) -> str:
    r"""``dz/dy`` -> ``\frac{dz}{dy}``; ``∂y/∂q`` -> ``\frac{\partial y}{\partial q}``; ``d(loss)/d(error)`` too.

    >>> label_latex("d(loss)/d(error)")
    '\\frac{d\\,\\mathrm{loss}}{d\\,\\mathrm{error}}'
    """
    top, _, bottom = label.partition("/")

    def part(p: str) -> str:
        d = r"\partial " if p.startswith("∂") else "d"
        name = p[1:]
        if name.startswith("("):
            return d.rstrip() + r"\," + tex(sympy.Symbol(name[1:-1]))
        return d + tex(sympy.Symbol(name))

    return rf"\frac{{{part(top)}}}{{{part(bottom)}}}"


def _factor(value: sympy.Basic, in_product: bool, latex: bool) -> str:
    """A factor (expression or number), bracketed inside a product when it is a sum or negative."""
    text = tex(value) if latex else expr_text(value)
    if in_product and (isinstance(value, sympy.Add) or text.startswith("-")):
        return rf"\left({text}\right)" if latex else f"({text})"
    return text


def _paths_sum(c: Chain, cell: Callable[[int, bool], str], latex: bool) -> str:
    """The sum over the paths of the product of ``cell(k, in_product)`` for each factor ``k`` on the path."""
    sep = _CDOT if latex else " · "
    terms = [sep.join(cell(k, len(p) > 1) for k in p) for p in c.path_index]
    wrap = (lambda t: rf"\left({t}\right)") if latex else (lambda t: f"({t})")
    return " + ".join(wrap(t) if k and t.startswith("-") else t for k, t in enumerate(terms))


def _labels_sum(c: Chain, latex: bool) -> str:
    return _paths_sum(c, lambda k, _: label_latex(c.factors[k][0]) if latex else c.factors[k][0], latex)


def _exprs_sum(c: Chain, latex: bool) -> str:
    return _paths_sum(c, lambda k, inner: _factor(c.factors[k][1], inner, latex), latex)


def _values_sum(w: ChainAt, latex: bool) -> str:
    return _paths_sum(w.chain, lambda k, inner: _factor(w.factors[k][1], inner, latex), latex)


def _product_rows(c: Chain) -> list[str]:
    """``dz/dx &= dz/dy · dy/dx``, ``&= 2y · 3``, ``&= 18x - 12`` in LaTeX."""
    return [
        rf"{label_latex(c.label)} &= {_labels_sum(c, True)}",
        rf"&= {_exprs_sum(c, True)}",
        rf"&= {tex(c.result)}",
    ]


def _equations_text(c: Chain) -> list[str]:
    return [f"  {n.name} = {expr_text(e)}" for n, e in c.equations]


def _inputs_note(c: Chain) -> str:
    others = [s.name for s in c.inputs if s != c.wrt]
    if not others:
        return ""
    return f"The other inputs ({', '.join(others)}) are held constant."


@renderer(Chain, "text")
def chain_text(c: Chain) -> str:
    lines = [f"Chain rule for {c.label}, with", *_equations_text(c)]
    note = _inputs_note(c)
    if note:
        lines.append(note)
    lines += ["", "Local derivatives, in chain order:"]
    lines += [f"  {label} = {expr_text(e)}" for label, e in c.factors]
    lines.append("")
    if not c.path_index:
        lines.append(f"{c.label} = 0 ({c.output.name} does not depend on {c.wrt.name})")
    else:
        pad = " " * len(c.label)
        lines.append(f"{c.label} = {_labels_sum(c, False)}")
        lines.append(f"{pad} = {_exprs_sum(c, False)}")
        if expr_text(c.chained) != lines[-1].split(" = ", 1)[1]:
            lines.append(f"{pad} = {expr_text(c.chained)}")
        if c.result != c.chained:
            names = ", ".join(s.name for s in c.inputs)
            lines.append(f"{pad} = {expr_text(c.result)}   (in terms of {names})")
    lines += [f"Note: {n}" for n in c.notes]
    if c.substituted_derivation is not None:
        lines += [
            "",
            f"Substituting first: {c.output.name} = {expr_text(c.substituted)}, "
            f"so {c.label} = {expr_text(c.substituted_derivation.result)}.",
        ]
    if c.derivations:
        lines += ["", "Working for each local derivative:"]
        for (label, e), d in zip(c.factors, c.derivations):
            lines += [f"{label} = {expr_text(e)}", indent(d.to_text(), "    ")]
    return "\n".join(lines).rstrip()


def _chain_latex_rows(c: Chain) -> list[str]:
    rows = [rf"{tex(n)} &= {tex(e)}" for n, e in c.equations]
    rows += [rf"{label_latex(label)} &= {tex(e)}" for label, e in c.factors]
    if c.path_index:
        rows += _product_rows(c)
    else:
        rows.append(rf"{label_latex(c.label)} &= 0")
    if c.substituted_derivation is not None:
        rows.append(
            rf"\text{{substituting first: }} {tex(c.output)} &= {tex(c.substituted)},\quad "
            rf"{label_latex(c.label)} = {tex(c.substituted_derivation.result)}"
        )
    return rows


@renderer(Chain, "latex")
def chain_latex(c: Chain) -> str:
    """An ``align*`` block with the equations, factors and product, then each factor's derivation."""
    return "\n\n".join([latex_align(_chain_latex_rows(c))] + [d.to_latex() for d in c.derivations])


@renderer(Chain, "markdown")
def chain_markdown(c: Chain) -> str:
    eqs = [rf"{tex(n)} &= {tex(e)}" for n, e in c.equations]
    parts = [f"The chain rule for ${label_latex(c.label)}$, with", math_display(latex_aligned(eqs))]
    note = _inputs_note(c)
    if note:
        parts.append(note)
    parts.append("The local derivatives, in chain order:")
    parts.append(
        markdown_table(
            ["factor", "local derivative"],
            [[f"${label_latex(label)}$", f"${tex(e)}$"] for label, e in c.factors],
        )
    )
    if c.path_index:
        parts.append(math_display(latex_aligned(_product_rows(c))))
    else:
        parts.append(f"${label_latex(c.label)} = 0$: ${tex(c.output)}$ does not depend on ${tex(c.wrt)}$.")
    parts += [f"*Note:* {n}" for n in c.notes]
    if c.substituted_derivation is not None:
        parts.append(
            f"Substituting first: ${tex(c.output)} = {tex(c.substituted)}$, so "
            f"${label_latex(c.label)} = {tex(c.substituted_derivation.result)}$."
        )
    for (label, e), d in zip(c.factors, c.derivations):
        parts += [f"Working for ${label_latex(label)} = {tex(e)}$:", d.to_markdown()]
    return "\n\n".join(parts)


def _forward_rows(w: ChainAt) -> list[tuple[str, sympy.Basic, sympy.Basic | None]]:
    """``(name, definition or None, value)`` for every name, inputs first."""
    defs = {n.name: e for n, e in w.chain.equations}
    return [(name, defs.get(name), v) for name, v in w.values.items()]


def _point_text(w: ChainAt) -> str:
    return ", ".join(f"{s.name} = {value_text(w.values[s.name])}" for s in w.chain.inputs)


@renderer(ChainAt, "text")
def chain_at_text(w: ChainAt) -> str:
    c = w.chain
    lines = [f"The chain rule at {_point_text(w)}", "", "Forward pass:"]
    for name, definition, v in _forward_rows(w):
        lines.append(f"  {name} = {expr_text(definition)} = {value_text(v)}" if definition is not None
                     else f"  {name} = {value_text(v)}")
    lines += ["", "Local derivatives, in chain order:"]
    rows = [[label, e, value_text(v)] for (label, e), (_, v) in zip(c.factors, w.factors)]
    lines.append(indent(text_table(["factor", "expression", "value"], rows), "  "))
    lines.append("")
    if w.paths:
        lines.append(f"{c.label} = {_labels_sum(c, False)} = {_values_sum(w, False)} = {value_text(w.result)}")
    else:
        lines.append(f"{c.label} = 0")
    lines += [f"Note: {n}" for n in c.notes]
    if c.substituted_derivation is not None:
        lines.append(
            f"Substituting first: {c.label} = {expr_text(c.substituted_derivation.result)} "
            f"= {value_text(w.substituted_value)}."
        )
    return "\n".join(lines)


def _at_product(w: ChainAt) -> str:
    """``\\frac{dz}{dx} = \\frac{dz}{dy} \\cdot \\frac{dy}{dx} = 8 \\cdot 3 = 24``."""
    c = w.chain
    return rf"{label_latex(c.label)} = {_labels_sum(c, True)} = {_values_sum(w, True)} = {tex(w.result)}"


def _at_latex_rows(w: ChainAt) -> list[str]:
    c = w.chain
    rows = []
    for name, definition, v in _forward_rows(w):
        sym = tex(sympy.Symbol(name))
        rows.append(rf"{sym} &= {tex(definition)} = {tex(v)}" if definition is not None
                    else rf"{sym} &= {tex(v)}")
    for (label, e), (_, v) in zip(c.factors, w.factors):
        rows.append(rf"{label_latex(label)} &= {tex(e)} = {tex(v)}")
    if w.paths:
        rows.append(_at_product(w).replace(" = ", " &= ", 1))
    return rows


@renderer(ChainAt, "latex")
def chain_at_latex(w: ChainAt) -> str:
    return latex_align(_at_latex_rows(w))


@renderer(ChainAt, "markdown")
def chain_at_markdown(w: ChainAt) -> str:
    c = w.chain
    point = ", ".join(f"${tex(s)} = {tex(w.values[s.name])}$" for s in c.inputs)
    forward = markdown_table(
        ["name", "definition", "value"],
        [[f"${tex(sympy.Symbol(n))}$", f"${tex(d)}$" if d is not None else "input", v] for n, d, v in _forward_rows(w)],
    )
    backward = markdown_table(
        ["factor", "local derivative", "value"],
        [[f"${label_latex(label)}$", f"${tex(e)}$", v] for (label, e), (_, v) in zip(c.factors, w.factors)],
    )
    parts = [f"The chain rule at {point}.", "Forward pass:", forward, "Local derivatives, in chain order:", backward]
    if w.paths:
        parts.append(math_display(_at_product(w)))
    parts += [f"*Note:* {n}" for n in c.notes]
    if c.substituted_derivation is not None:
        parts.append(
            f"Substituting first: ${label_latex(c.label)} = {tex(c.substituted_derivation.result)}"
            f" = {tex(w.substituted_value)}$ at the same point."
        )
    return "\n\n".join(parts)
