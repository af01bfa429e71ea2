"""Renderers for graphs and matrix-level backpropagation.

A :class:`~derivkit.graph.Backprop` reads as the course teaches it: the
forward pass, the named backward quantities (``G_O``, ``G_H``), then for each
parameter the chain of local factors, each factor with its shape and how it
acts on the incoming gradient ``G``, and the assembled matrix expression.
"""

from __future__ import annotations

from derivkit.errors import InputError
from derivkit.graph import Backprop, Factor, Graph, node_latex, node_text, shape_text
from derivkit.graph.printing import name_latex as _name_latex
from derivkit.verify.backprop import BackpropVerdict
from derivkit.render import renderer
from derivkit.render.common import latex_align, latex_aligned, latex_text, math_display

__all__ = ["backprop_text", "backprop_latex", "backprop_markdown", "graph_text", "graph_latex", "graph_markdown"]


def _shape_latex(shape) -> str:
    if not shape:
        return "1"
    return r" \times ".join(str(d) for d in shape)


def _partial_text(upper: str, lower: str) -> str:
    return f"∂{upper}/∂{lower}"


def _partial_latex(upper: str, lower: str) -> str:
    return rf"\frac{{\partial {_name_latex(upper)}}}{{\partial {_name_latex(lower)}}}"


_HOW_TEXT = {
    "left": "multiplies G from the left: {local} G",
    "right": "multiplies G from the right: G {local}",
    "hadamard": "elementwise: G ∘ {local}",
    "scale": "scales G by {local}",
    "identity": "passes G through unchanged",
    "transpose": "transposes G",
    "loss": "where the gradient starts",
    "vjp": "G ↦ {vjp}",
}
_HOW_LATEX = {
    "left": r"\text{from the left: } {local}\, G",
    "right": r"\text{from the right: } G\, {local}",
    "hadamard": r"\text{elementwise: } G \circ {local}",
    "scale": r"\text{scales } G",
    "identity": r"\text{passes } G \text{ through}",
    "transpose": r"G^{T}",
    "loss": r"\text{the start of the chain}",
    "vjp": r"G \mapsto {vjp}",
}


def _how_text(f: Factor) -> str:
    text = _HOW_TEXT[f.how].format(local=node_text(f.local), vjp=node_text(f.vjp))
    if f.fused:
        text += " (fused with the output activation)"
    if f.zero:
        text += "; this factor is 0"
    return text


def _how_latex(f: Factor) -> str:
    text = _HOW_LATEX[f.how].replace("{local}", node_latex(f.local)).replace("{vjp}", node_latex(f.vjp))
    if f.fused:
        text += r"\ \text{(fused)}"
    if f.zero:
        text += r"\ = 0"
    return text


def _chain_or_none(bp: Backprop, p: str):
    try:
        return bp.chain(p)
    except InputError:
        return None


def _definition_rows(graph: Graph) -> list[tuple[str, str, str]]:
    return [(n, node_text(graph[n], top=True), shape_text(graph[n].shape)) for n in graph.names
            if n not in graph.inputs and n not in graph.params]


def _aligned(rows: list[tuple[str, ...]], indent: str = "  ") -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))] if rows else []
    out = []
    for r in rows:
        cells = [c.ljust(w) for c, w in zip(r, widths)]
        out.append((indent + "  ".join(cells)).rstrip())
    return out


# ---------------------------------------------------------------------------
# graph
# ---------------------------------------------------------------------------

def graph_text(g: Graph) -> str:
    lines = ["Inputs: " + ", ".join(f"{n} ({shape_text(g[n].shape)})" for n in g.inputs),
             "Parameters: " + ", ".join(f"{n} ({shape_text(g[n].shape)})" for n in g.params),
             "Forward pass:"]
    lines += _aligned([(n, "=", e, s) for n, e, s in _definition_rows(g)])
    return "\n".join(lines)


def _graph_latex_rows(g: Graph) -> list[str]:
    return [rf"{_name_latex(n)} &= {node_latex(g[n], top=True)} && {_shape_latex(g[n].shape)}"
            for n in g.names if n not in g.inputs and n not in g.params]


def graph_latex(g: Graph) -> str:
    return latex_align(_graph_latex_rows(g))


def graph_markdown(g: Graph) -> str:
    inputs = ", ".join(f"${_name_latex(n)}$ (${_shape_latex(g[n].shape)}$)" for n in g.inputs)
    params = ", ".join(f"${_name_latex(n)}$ (${_shape_latex(g[n].shape)}$)" for n in g.params)
    return f"Inputs: {inputs}; parameters: {params}.\n\n{math_display(latex_aligned(_graph_latex_rows(g)))}"


renderer(Graph, "text")(graph_text)
renderer(Graph, "latex")(graph_latex)
renderer(Graph, "markdown")(graph_markdown)


# ---------------------------------------------------------------------------
# backprop
# ---------------------------------------------------------------------------

def _param_text(bp: Backprop, p: str) -> list[str]:
    grad = bp.gradients[p]
    lines = [f"{_partial_text(bp.loss, p)}  ({shape_text(bp.graph[p].shape)})"]
    chain = _chain_or_none(bp, p)
    if chain:
        lines.append(f"  chain: {_partial_text(bp.loss, p)} = " + " · ".join(f.label for f in chain))
        lines += _aligned([(f.label, "=", node_text(f.local, top=True), shape_text(f.shape), _how_text(f))
                           for f in chain], indent="    ")
    elif chain is None and bp.paths(p):
        lines.append(f"  {p} reaches {bp.loss} along {len(bp.paths(p))} paths; their contributions add up")
    lines.append(f"  so {_partial_text(bp.loss, p)} = {node_text(grad)}   ({shape_text(grad.shape)})")
    written = bp.assembled(p)
    if written is not grad and written.op != "zeros":
        lines.append(f"  written out: {_partial_text(bp.loss, p)} = {node_text(written)}")
    return lines


def _where_text(bp: Backprop) -> list[str]:
    return [f"  where {node_text(d)} = {node_text(form)}" for d, form in bp.derivatives]


def _where_latex(bp: Backprop) -> list[str]:
    return [rf"&& \text{{where }} {node_latex(d)} = {node_latex(form)}" for d, form in bp.derivatives]


def backprop_text(bp: Backprop) -> str:
    g = bp.graph
    lines = [f"Backpropagation of {bp.loss}", "", "Forward pass:"]
    lines += _aligned([(n, "=", e, s) for n, e, s in _definition_rows(g)])
    if bp.definitions:
        lines += ["", "Backward pass (the gradient arriving at each layer):"]
        lines += _aligned([(n, "=", node_text(e, top=True), shape_text(e.shape)) for n, e in bp.definitions.items()])
        lines += _where_text(bp)
    for p in bp.gradients:
        lines += [""] + _param_text(bp, p)
    if bp.notes:
        lines += ["", "Notes:"] + [f"  - {note}" for note in bp.notes]
    return "\n".join(lines)


def _param_latex_rows(bp: Backprop, p: str) -> list[str]:
    grad = bp.gradients[p]
    rows = []
    chain = _chain_or_none(bp, p)
    if chain:
        rows.append(rf"{_partial_latex(bp.loss, p)} &= " + r" \cdot ".join(
            _partial_latex(f.upper, f.lower) for f in chain) + r" &&")
        for f in chain:
            rows.append(rf"{_partial_latex(f.upper, f.lower)} &= {node_latex(f.local, top=True)} && "
                        rf"{_shape_latex(f.shape)},\ {_how_latex(f)}")
    rows.append(rf"{_partial_latex(bp.loss, p)} &= {node_latex(grad)} && {_shape_latex(grad.shape)}")
    written = bp.assembled(p)
    if written is not grad and written.op != "zeros":
        rows.append(rf"&= {node_latex(written)} &&")
    return rows


def backprop_latex(bp: Backprop) -> str:
    rows = _graph_latex_rows(bp.graph)
    rows += [rf"{_name_latex(n)} &= {node_latex(e, top=True)} && {_shape_latex(e.shape)}"
             for n, e in bp.definitions.items()]
    rows += _where_latex(bp)
    for p in bp.gradients:
        rows += _param_latex_rows(bp, p)
    rows += [rf"&& \text{{note: }} {getattr(n, 'latex', latex_text(n))}" for n in bp.notes]
    return latex_align(rows)


def backprop_markdown(bp: Backprop) -> str:
    g = bp.graph
    parts = ["**Forward pass**", "", math_display(latex_aligned(_graph_latex_rows(g)))]
    if bp.definitions:
        rows = [rf"{_name_latex(n)} &= {node_latex(e, top=True)} && {_shape_latex(e.shape)}"
                for n, e in bp.definitions.items()] + _where_latex(bp)
        parts += ["", "**Backward pass** (the gradient arriving at each layer)", "", math_display(latex_aligned(rows))]
    for p in bp.gradients:
        parts += ["", f"**Gradient of ${_name_latex(bp.loss)}$ with respect to ${_name_latex(p)}$** "
                      f"(${_shape_latex(g[p].shape)}$)", "", math_display(latex_aligned(_param_latex_rows(bp, p)))]
    if bp.notes:
        parts += [""] + [f"!!! note\n    {note}\n" for note in bp.notes]
    return "\n".join(parts).rstrip() + "\n"


# ---------------------------------------------------------------------------
# a hand-written backprop, checked node by node
# ---------------------------------------------------------------------------

def _verdict_rows(v: BackpropVerdict) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for r in v.rows:
        mark = "right" if r.ok else ("WRONG, first" if r.name == v.first_wrong else "wrong")
        rows.append((f"d{r.name}", mark, f"{r.max_error:.2e}", ", ".join(r.diagnosis)))
    return rows


def backprop_verdict_text(v: BackpropVerdict) -> str:
    lines = [f"Checking your backprop of {v.loss}, node by node from the loss:", ""]
    lines += _aligned([("gradient", "", "max error", "diagnosis")] + _verdict_rows(v))
    lines += ["", v.message]
    if v.rule:
        lines += ["", f"The step at {v.first_wrong}:"] + [f"  {line}" for line in v.rule]
    return "\n".join(lines)


def backprop_verdict_markdown(v: BackpropVerdict) -> str:
    from derivkit.render.common import escape_markdown, markdown_table

    table = markdown_table(["gradient", "", "max error", "diagnosis"], _verdict_rows(v))
    parts = [table, "", escape_markdown(v.message)]
    if v.rule_latex:
        parts += ["", f"**The step at `{v.first_wrong}`**", "", math_display(latex_aligned([f"&{r}" for r in v.rule_latex]))]
    return "\n".join(parts) + "\n"


def backprop_verdict_latex(v: BackpropVerdict) -> str:
    rows = [rf"{_name_latex('d' + r.name)} &: \text{{{'right' if r.ok else 'wrong'}, largest difference }} "
            rf"{r.max_error:.2e}" for r in v.rows]
    rows += [f"&{r}" for r in v.rule_latex]
    return latex_align(rows)


renderer(BackpropVerdict, "text")(backprop_verdict_text)
renderer(BackpropVerdict, "markdown")(backprop_verdict_markdown)
renderer(BackpropVerdict, "latex")(backprop_verdict_latex)
renderer(Backprop, "text")(backprop_text)
renderer(Backprop, "latex")(backprop_latex)
renderer(Backprop, "markdown")(backprop_markdown)
