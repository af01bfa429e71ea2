"""Verdicts and gradient-check reports as text, LaTeX and Markdown.

A verdict shows its message, the claimed and the correct answer side by side,
the counterexample, each diagnosis with its explanation, and then the correct
derivation (or, for a descent table, the iteration-by-iteration check and the
worked run).
"""

from __future__ import annotations

from typing import Any

import sympy

from derivkit.render import renderer
from derivkit.render.common import (
    escape_latex_text,
    escape_markdown,
    expr_latex,
    expr_text,
    latex_align,
    latex_matrix,
    markdown_table,
    text_matrix,
    text_table,
)
from derivkit.training.descend import decimal
from derivkit.verify.batch import BatchReport
from derivkit.verify.check import Verdict
from derivkit.verify.gradcheck import GradcheckReport

_HEAD = {True: "Correct", False: "Not right"}


def _is_matrix(v: Any) -> bool:
    return isinstance(v, sympy.MatrixBase)


def _val_text(v: Any) -> str:
    if v is None:
        return "undefined"
    if isinstance(v, tuple):
        return "(" + ", ".join(_val_text(e) for e in v) + ")"
    if isinstance(v, sympy.Float):
        return f"{float(v):.6g}"
    if isinstance(v, sympy.Rational):
        return decimal(v)
    return expr_text(v)


def _body(message: str) -> str:
    """The message without its leading "Correct:" / "Not right:" (shown as a heading)."""
    for head in _HEAD.values():
        if message.startswith(head + ": "):
            return message[len(head) + 2:]
    return message


def _val_latex(v: Any) -> str:
    if v is None:
        return r"\text{undefined}"
    if _is_matrix(v):
        return latex_matrix(v)
    if isinstance(v, tuple):
        return r"\left(" + ", ".join(_val_latex(e) for e in v) + r"\right)"
    if isinstance(v, sympy.Float):
        return f"{float(v):.6g}"
    return expr_latex(v)


def _shown(ce: Any, which: str) -> Any:
    """A counterexample's value as shown: exact when it is a plain number (``-3``, ``1/2``), else the decimal."""
    exact = getattr(ce, f"{which}_exact", None)
    if isinstance(exact, sympy.Rational) and getattr(ce, which) is not None:
        return exact
    return getattr(ce, which)


def _point_text(point: dict) -> str:
    return ", ".join(f"{k} = {_val_text(v)}" for k, v in point.items())


def _point_latex(point: dict) -> str:
    return ", ".join(f"{expr_latex(sympy.Symbol(k))} = {_val_latex(v)}" for k, v in point.items())


def _descent_rows(v: Verdict) -> tuple[list[str], list[list[Any]]]:
    head = ["r", "yours", "correct", "one step from your previous", "verdict"]
    rows = []
    for r in v.rows:
        status = "right" if r.ok else ("wrong" if r.consistent is not True else "follows from yours")
        rows.append([str(r.iteration), _val_text(r.claimed), _val_text(r.expected),
                     _val_text(r.from_claimed) if r.from_claimed is not None else "", status])
    return head, rows


def _entry_words(ce, base: int = 1) -> str:
    """``entry (row 2, column 1) `` for a matrix entry (numbered from ``base``), else nothing."""
    return f"entry (row {ce.entry[0] + base}, column {ce.entry[1] + base}) " if ce.entry else ""


def _findings_lines(v: Verdict) -> list[str]:
    return [f"{f.id}: {f.message}" for f in v.findings]


@renderer(Verdict, "text")
def verdict_text(v: Verdict) -> str:
    lines = [v.message, ""]
    if v.kind == "descent":
        head, rows = _descent_rows(v)
        lines += [text_table(head, [[str(c) for c in r] for r in rows]), ""]
    elif _is_matrix(v.claimed) or _is_matrix(v.expected):
        lines += ["Your answer:", text_matrix(v.claimed), "Correct:", text_matrix(v.expected), ""]
    else:
        lines += [f"Your answer: {_val_text(v.claimed)}", f"Correct:     {_val_text(v.expected)}", ""]
    if v.counterexample is not None and v.kind != "descent":
        ce = v.counterexample
        where = _entry_words(ce, v.index_base)
        lines.append(f"Counterexample: {where}at {_point_text(ce.point)}: correct {_val_text(_shown(ce, 'expected'))}, "
                     f"yours {_val_text(_shown(ce, 'claimed'))}")
    if v.findings:
        lines.append("Diagnosis:")
        lines += [f"  - {line}" for line in _findings_lines(v)]
    if v.derivation is not None and hasattr(v.derivation, "to_text"):
        title = "The worked run:" if v.kind == "descent" else "The correct derivation:"
        lines += ["", title, v.derivation.to_text()]
    text = "\n".join(lines).rstrip()
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text


@renderer(Verdict, "latex")
def verdict_latex(v: Verdict) -> str:
    rows = [rf"&\text{{{escape_latex_text(_HEAD[v.ok])}}}"]
    if v.kind == "descent":
        for r in v.rows:
            mark = r"\checkmark" if r.ok else r"\times"
            rows.append(rf"\text{{iteration {r.iteration}}} &: {_val_latex(r.claimed)} \quad "
                        rf"\text{{(correct: }} {_val_latex(r.expected)}\text{{)}} \quad {mark}")
    else:
        rows.append(rf"\text{{your answer}} &= {_val_latex(v.claimed)}")
        rows.append(rf"\text{{correct}} &= {_val_latex(v.expected)}")
    if v.counterexample is not None and v.kind != "descent":
        ce = v.counterexample
        rows.append(rf"\text{{at }} {_point_latex(ce.point)} &: \text{{correct }} {_val_latex(_shown(ce, 'expected'))}, "
                    rf"\text{{ yours }} {_val_latex(_shown(ce, 'claimed'))}")
    for f in v.findings:
        rows.append(rf"&\text{{{escape_latex_text(f.id)}: {escape_latex_text(f.message)}}}")
    out = latex_align(rows)
    if v.derivation is not None and hasattr(v.derivation, "to_latex"):
        out += "\n" + v.derivation.to_latex()
    return out


@renderer(Verdict, "markdown")
def verdict_markdown(v: Verdict) -> str:
    parts = [f"**{_HEAD[v.ok]}:** {escape_markdown(_body(v.message))}"]
    if v.kind == "descent":
        head, rows = _descent_rows(v)
        parts.append(markdown_table(head, rows))
    else:
        if _is_matrix(v.claimed) or _is_matrix(v.expected):
            parts.append(f"$$\n\\text{{yours: }} {_val_latex(v.claimed)} \\qquad "
                         f"\\text{{correct: }} {_val_latex(v.expected)}\n$$")
        else:
            parts.append(markdown_table(["", "answer"], [["yours", v.claimed], ["correct", v.expected]]))
    if v.counterexample is not None and v.kind != "descent":
        ce = v.counterexample
        where = _entry_words(ce, v.index_base)
        parts.append(f"Counterexample: {where}at ${_point_latex(ce.point)}$ the correct value is "
                     f"${_val_latex(_shown(ce, 'expected'))}$, yours is ${_val_latex(_shown(ce, 'claimed'))}$.")
    if v.findings:
        parts.append("Diagnosis:\n\n" + "\n".join(f"- `{f.id}`: {escape_markdown(f.message)}" for f in v.findings))
    if v.derivation is not None and hasattr(v.derivation, "to_markdown"):
        title = "The worked run" if v.kind == "descent" else "The correct derivation"
        parts.append(f"**{title}:**\n\n" + v.derivation.to_markdown())
    return "\n\n".join(parts)


# ---------------------------------------------------------------- gradcheck

_GC_HEAD = ["entry", "reference", "analytical", "abs error", "rel error", "ok"]


def _gc_rows(r: GradcheckReport) -> list[list[str]]:
    return [[e.label, f"{e.numerical:.6g}", f"{e.analytical:.6g}", f"{e.abs_error:.3g}", f"{e.rel_error:.3g}",
             "yes" if e.ok else "no"] for e in r.entries]


@renderer(GradcheckReport, "text")
def gradcheck_text(r: GradcheckReport) -> str:
    head = list(_GC_HEAD)
    head[1] = "numerical" if r.reference == "central differences" else "derived"
    return r.message + "\n\nWorst entries:\n" + text_table(head, _gc_rows(r))


@renderer(GradcheckReport, "markdown")
def gradcheck_markdown(r: GradcheckReport) -> str:
    head = list(_GC_HEAD)
    head[1] = "numerical" if r.reference == "central differences" else "derived"
    first = escape_markdown(r.message.split("\n")[0])
    out = f"**{'Passed' if r.ok else 'Failed'}:** {first}\n\n" + markdown_table(head, [
        [f"`{c[0]}`"] + c[1:] for c in _gc_rows(r)])
    if r.findings:
        out += "\n\nLikely mistake:\n\n" + "\n".join(f"- `{f.id}`: {escape_markdown(f.message)}" for f in r.findings)
    return out


@renderer(GradcheckReport, "latex")
def gradcheck_latex(r: GradcheckReport) -> str:
    head = " & ".join(rf"\text{{{escape_latex_text(h)}}}" for h in _GC_HEAD)
    body = r" \\ ".join(" & ".join(rf"\text{{{escape_latex_text(c)}}}" for c in row) for row in _gc_rows(r))
    first = escape_latex_text(r.message.split("\n")[0])
    out = (rf"\text{{{first}}}" + "\n" + r"\begin{array}{llllll} " + head + r" \\ \hline " + body
           + r" \end{array}")
    for f in r.findings:
        out += "\n" + rf"\text{{{escape_latex_text(f.id)}: {escape_latex_text(f.message)}}}"
    return out


# ---------------------------------------------------------------- batches

def _batch_rows(r: BatchReport) -> list[tuple[str, str, str]]:
    """(item, verdict, message) for each item; the message without its "Correct:"/"Not right:" head."""
    return [(i.id, i.status, _body(i.message) if i.verdict is not None else i.error or "") for i in r.items]


@renderer(BatchReport, "text")
def batch_text(r: BatchReport) -> str:
    rows = _batch_rows(r)
    width = max((len(i) for i, _, _ in rows), default=4)
    lines = [r.message, ""] + [f"{i:<{width}}  {status:<9}  {why}" for i, status, why in rows]
    return "\n".join(lines).rstrip()


@renderer(BatchReport, "markdown")
def batch_markdown(r: BatchReport) -> str:
    rows = [[f"`{escape_markdown(i)}`", status, escape_markdown(why)] for i, status, why in _batch_rows(r)]
    return f"**{escape_markdown(r.message)}**\n\n" + markdown_table(["item", "verdict", "why"], rows)


@renderer(BatchReport, "latex")
def batch_latex(r: BatchReport) -> str:
    body = r" \\ ".join(rf"\text{{{escape_latex_text(i)}}} & \text{{{status}}} & \text{{{escape_latex_text(why)}}}"
                        for i, status, why in _batch_rows(r))
    return (rf"\text{{{escape_latex_text(r.message)}}}" + "\n" + r"\begin{array}{lll} \text{item} & \text{verdict} & "
            r"\text{why} \\ \hline " + body + r" \end{array}")
