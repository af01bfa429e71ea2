"""Renderers of the neural building blocks: loss gradients and linear scores.

>>> from derivkit.nn.losses import nll_gradient
>>> print(nll_gradient(3, 1).to_text())
negative log-likelihood: L = -ln(p_1)
dL/dp_y = -1/p_y, dL/dp_j = 0 for j != y
  dL/dp_0 = 0
  dL/dp_1 = -1/p_1
  dL/dp_2 = 0
"""

from __future__ import annotations

from derivkit.nn.layers import LinearScores
from derivkit.nn.losses import LossGradient
from derivkit.render import renderer
from derivkit.render.common import escape_latex_text, expr_latex, expr_text, latex_aligned, latex_matrix, text_matrix


@renderer(LossGradient, "text")
def loss_gradient_text(g: LossGradient) -> str:
    lines = [f"{g.name}: L = {expr_text(g.loss)}", g.formula]
    lines += [f"  dL/d{expr_text(v)} = {expr_text(r)}" for v, r in zip(g.wrt, g.result)]
    lines += [f"Note: {n}" for n in g.notes]
    return "\n".join(lines)


def _gradient_aligned(g: LossGradient) -> str:
    rows = [r"\frac{\partial L}{\partial %s} &= %s" % (expr_latex(v), expr_latex(r)) for v, r in zip(g.wrt, g.result)]
    return latex_aligned([r"L &= %s" % expr_latex(g.loss)] + rows)


@renderer(LossGradient, "latex")
def loss_gradient_latex(g: LossGradient) -> str:
    notes = "".join(r" \\ \text{%s}" % escape_latex_text(n) for n in g.notes)
    return _gradient_aligned(g) + notes


@renderer(LossGradient, "markdown")
def loss_gradient_markdown(g: LossGradient) -> str:
    parts = [f"**{g.name}**: `{g.formula}`", "", "$$", _gradient_aligned(g), "$$"]
    parts += [f"\n> {n}" for n in g.notes]
    return "\n".join(parts)


@renderer(LinearScores, "text")
def linear_scores_text(r: LinearScores) -> str:
    lines = []
    for label, m in (("s = W x + b", r.s), ("ds/db", r.ds_db), (f"ds/dx ({r.layout})", r.ds_dx)):
        lines += [f"{label} =", text_matrix(m)]
    lines.append("ds_j/dw_j = x for every row j of W: " + ", ".join(expr_text(v) for v in r.x))
    return "\n".join(lines)


@renderer(LinearScores, "latex")
def linear_scores_latex(r: LinearScores) -> str:
    return (r"\begin{aligned} s &= W x + b = %s \\ \frac{\partial s}{\partial b} &= %s \\ "
            r"\frac{\partial s}{\partial x} &= W^{T} = %s \\ \frac{\partial s_j}{\partial w_j} &= x = %s "
            r"\end{aligned}") % (latex_matrix(r.s), latex_matrix(r.ds_db), latex_matrix(r.ds_dx), latex_matrix(r.x))


@renderer(LinearScores, "markdown")
def linear_scores_markdown(r: LinearScores) -> str:
    return "\n".join(["$$", linear_scores_latex(r), "$$", "", f"$\\partial s/\\partial x$ is written in the {r.layout}."])
