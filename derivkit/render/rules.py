"""The rule table as text, LaTeX and Markdown (``derivkit rules``): one line per rule, grouped by family.

>>> from derivkit.rules import table
>>> print(table("trig").to_text().splitlines()[1])
  sin  sine rule       d/dx sin(x) = cos(x)
"""

from __future__ import annotations

from derivkit.render import renderer
from derivkit.render.common import escape_latex_text, escape_markdown, latex_text, table_math, text_table
from derivkit.rules import Rule, RuleTable

__all__: list[str] = []


def _title(family: str) -> str:
    return family.replace("_", " ").capitalize()


def _condition(rule: Rule) -> str:
    parts = []
    if rule.domain:
        parts.append(f"for {rule.domain}")
    if rule.nondifferentiable:
        where = rule.nondifferentiable
        parts.append(f"not differentiable {where}" if where.startswith("where") else f"not differentiable at {where}")
    return "; ".join(parts)


def _groups(t: RuleTable):
    for family in t.families:
        rules = [r for r in t.rules if r.family == family]
        if rules:
            yield family, rules


@renderer(RuleTable, "text")
def rules_text(t: RuleTable) -> str:
    out = []
    for family, rules in _groups(t):
        table = text_table(["id", "rule", "statement", "condition"],
                           [[r.id, r.name, r.text, _condition(r)] for r in rules])
        lines = table.splitlines()
        out += [f"{_title(family)}:", *("  " + line for line in lines[2:]), ""]
    return "\n".join(out).rstrip()


@renderer(RuleTable, "markdown")
def rules_markdown(t: RuleTable) -> str:
    out = []
    for family, rules in _groups(t):
        out += [f"**{_title(family)}**", "", "| rule | statement | condition |", "| --- | --- | --- |"]
        for r in rules:
            out.append(f"| {escape_markdown(r.name)} (`{r.id}`) | {table_math(r.latex)} | "
                       f"{escape_markdown(_condition(r))} |")
        out.append("")
    return "\n".join(out).rstrip()


@renderer(RuleTable, "latex")
def rules_latex(t: RuleTable) -> str:
    rows = []
    for family, rules in _groups(t):
        rows.append(rf"\multicolumn{{3}}{{l}}{{\textbf{{{escape_latex_text(_title(family))}}}}} \\")
        for r in rules:
            cond = _condition(r)
            rows.append(rf"{escape_latex_text(r.name)} & ${r.latex}$ & {('$' + latex_text(cond) + '$') if cond else ''} \\")
    body = "\n".join(rows)
    return "\\begin{tabular}{lll}\n" + body + "\n\\end{tabular}"
