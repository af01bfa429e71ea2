r"""Derivations as text, LaTeX and Markdown.

A derivation is shown as a teacher writes it: one numbered line per step
(sub-steps indented under the step that needs them), the rule named on each,
"Let u = ..." where the chain rule introduces a name, the domain conditions and
non-differentiable points at the end, then the result. LaTeX is an ``align*``
block to paste into slides; Markdown a numbered list with ``$...$`` math.

:class:`DerivationAt` is a derivation together with a point and the
derivative's value there (what ``derivkit derive --at x=2`` prints).

>>> import sympy
>>> from derivkit.calculus.derivation import Derivation, Math, Step
>>> x = sympy.Symbol("x")
>>> s = Step("power", x**2, x, 2*x, text="By the power rule.")
>>> d = Derivation(x**2, x, 1, 2*x, s)
>>> print(d.to_text())
Differentiate x^2 with respect to x:
<BLANKLINE>
1. power rule: d/dx x^2 = 2x
   By the power rule.
<BLANKLINE>
Result: d/dx x^2 = 2x
>>> print(evaluate_at(d, x=3).to_text().splitlines()[-1])
At x = 3: d/dx x^2 = 6
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import sympy

from derivkit.calculus.derivation import Derivation, Math, Step
from derivkit.inputs import as_number
from derivkit.render import renderer
from derivkit.render.common import (
    derivative_latex,
    derivative_text,
    escape_latex_text,
    escape_markdown,
    expr_latex,
    expr_text,
    latex_align,
    latex_text,
    value_text,
)
from derivkit.renderable import Renderable, brief_repr

__all__ = ["DerivationAt", "evaluate_at", "rule_name", "pieces_markdown", "note_markdown", "outline"]


# --- a derivation evaluated at a point ---------------------------------------------------


@dataclass(frozen=True)
class DerivationAt(Renderable):
    """A derivation with a point and the derivative's exact value there."""

    derivation: Derivation
    point: tuple[tuple[sympy.Symbol, sympy.Basic], ...]
    value: sympy.Basic

    def __repr__(self) -> str:
        d = self.derivation
        return brief_repr(self, expr=d.expr, wrt=d.wrt, result=d.result, at=dict(self.point), value=self.value)

    def to_dict(self) -> dict[str, Any]:
        out = self.derivation.to_dict()
        out["at"] = {str(s): str(v) for s, v in self.point}
        out["value"] = str(self.value)
        out["value_latex"] = expr_latex(self.value)
        try:
            number = complex(self.value.evalf())
        except (TypeError, ValueError):
            number = None
        if number is not None and number.imag == 0:
            out["value_float"] = number.real
        return out


def evaluate_at(derivation: Derivation, **values: Any) -> DerivationAt:
    """The derivation with its value at the point ``values`` (names to numbers).

    >>> import sympy
    >>> from derivkit.calculus.derivation import Derivation, Math, Step
    >>> x = sympy.Symbol("x")
    >>> d = Derivation(x**3, x, 1, 3*x**2, Step("power", x**3, x, 3*x**2))
    >>> evaluate_at(d, x="1/2").value
    3/4
    """
    value = derivation.at(**values)
    symbols = {s.name: s for s in derivation.expr.free_symbols | {derivation.wrt} if isinstance(s, sympy.Symbol)}
    point = tuple(
        (symbols.get(name, sympy.Symbol(name)), as_number(v, what=f"value of {name}")) for name, v in values.items()
    )
    return DerivationAt(derivation, point, value)


# --- shared pieces ---------------------------------------------------------------------------


def rule_name(rule_id: str) -> str:
    """The textbook name of a rule id (``"chain"`` -> ``"chain rule"``).

    >>> rule_name("chain"), rule_name("no_such_rule")
    ('chain rule', 'no such rule')
    """
    try:
        from derivkit.rules import RULES
    except ImportError:  # pragma: no cover - the table is part of the package
        RULES = {}
    rule = RULES.get(rule_id)
    return rule.name if rule is not None else rule_id.replace("_", " ")


def _numbered(step: Step, prefix: str = "") -> Iterator[tuple[str, int, Step]]:
    """Yield ``(number, depth, step)`` in reading order: "1", "1.1", "1.2", "1.2.1", ..."""
    yield (prefix or "1"), (prefix.count(".") if prefix else 0), step
    base = prefix or "1"
    for i, sub in enumerate(step.substeps, start=1):
        yield from _numbered(sub, f"{base}.{i}")


def _order_of(step: Step, derivation: Derivation) -> int:
    return derivation.order if step is derivation.steps and step.rule == "higher_order" else 1


def _all_notes(derivation: Derivation) -> list[str]:
    """The derivation's notes, then those its steps state, each once, in order."""
    seen: dict[str, None] = {}
    for note in derivation.notes:
        seen.setdefault(note, None)
    for step in derivation.steps.walk():
        for note in step.notes:
            seen.setdefault(note, None)
    return list(seen)


#: Rules whose step states an equality (``expr = result``), not a derivative.
EQUALITY_RULES = frozenset({"rewrite", "simplify"})


def _step_equation_text(s: Step, order: int) -> str:
    if s.rule in EQUALITY_RULES:
        return f"{expr_text(s.expr)} = {expr_text(s.result)}"
    return f"{derivative_text(s.expr, s.wrt, order)} = {expr_text(s.result)}"


def _pieces(s: Step, order: int) -> tuple:
    """The step's sentence as pieces, without what the step line and the Let line already say.

    Empty when the sentence only repeats the step's own equation (``variable rule: d/dx x = 1``
    needs no "By the variable rule, d/dx x = 1." below it).
    """
    pieces = s.pieces or (s.text,)
    for name, value in s.let:  # the "Let u = ..." line above already says it
        for i in range(len(pieces) - 2):
            middle = pieces[i + 1]
            if pieces[i] == "let " and pieces[i + 2] == "; then " and isinstance(middle, Math) \
                    and middle.text == f"{expr_text(name)} = {expr_text(value)}":
                pieces = pieces[:i] + pieces[i + 3:]
                break
        else:
            pieces = tuple(p.replace(f"let {expr_text(name)} = {expr_text(value)}; then ", "")
                           if isinstance(p, str) else p for p in pieces)
    text = "".join(p if isinstance(p, str) else p.text for p in pieces)
    if text.startswith("By the ") and ", " in text:
        said = text.split(", ", 1)[1].rstrip(".")
        if said == _step_equation_text(s, order):
            return ()
    return pieces


def _sentence(s: Step, order: int) -> str:
    """The engine's sentence in plain text, or "" when it only repeats the step's own equation."""
    return "".join(p if isinstance(p, str) else p.text for p in _pieces(s, order))


def pieces_markdown(pieces) -> str:
    """Sentence pieces in Markdown: prose escaped, every formula in ``$...$``."""
    return "".join(escape_markdown(p) if isinstance(p, str) else f"${p.latex}$" for p in pieces)


def note_markdown(n: str) -> str:
    """A note in Markdown, its formulas as math when the note keeps them (:class:`~derivkit.calculus.derivation.Note`)."""
    pieces = getattr(n, "pieces", ())
    return pieces_markdown(pieces) if pieces else escape_markdown(n)


def _sentence_markdown(s: Step, order: int) -> str:
    """The sentence in Markdown: prose escaped, every formula in ``$...$``."""
    return pieces_markdown(_pieces(s, order))


def _step_equation_latex(s: Step, order: int, align: bool) -> str:
    eq = "&=" if align else "="
    if s.rule in EQUALITY_RULES:
        return f"{expr_latex(s.expr)} {eq} {expr_latex(s.result)}"
    return f"{derivative_latex(s.expr, s.wrt, order)} {eq} {expr_latex(s.result)}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _root_equation_text(d: Derivation) -> str:
    return f"{derivative_text(d.expr, d.wrt, d.order)} = {expr_text(d.result)}"


def _problem_text(d: Derivation) -> str:
    if d.order == 1:
        return f"Differentiate {expr_text(d.expr)} with respect to {expr_text(d.wrt)}:"
    return f"Find the {_ordinal(d.order)} derivative of {expr_text(d.expr)} with respect to {expr_text(d.wrt)}:"


def _point_text(point) -> str:
    return ", ".join(f"{expr_text(s)} = {expr_text(v)}" for s, v in point)


def _point_latex(point) -> str:
    return ", ".join(f"{expr_latex(s)} = {expr_latex(v)}" for s, v in point)


# --- plain text --------------------------------------------------------------------------------


def _step_lines(step: Step, derivation: Derivation | None = None) -> list[str]:
    lines: list[str] = []
    for number, depth, s in _numbered(step):
        pad = "   " * depth
        order = _order_of(s, derivation) if derivation is not None else 1
        head = f"{pad}{number}. {rule_name(s.rule)}: {_step_equation_text(s, order)}"
        lines.append(head)
        body = pad + " " * (len(number) + 2)
        for name, value in s.let:
            lines.append(f"{body}Let {expr_text(name)} = {expr_text(value)}.")
        sentence = _sentence(s, order)
        if sentence:
            lines.append(f"{body}{sentence}")
    return lines


@renderer(Step, "text")
def step_text(step: Step) -> str:
    """A step and its sub-steps as numbered, indented lines."""
    return "\n".join(_step_lines(step))


@renderer(Derivation, "text")
def derivation_text(d: Derivation) -> str:
    """The derivation in plain text: statement, steps, notes, result."""
    parts = [_problem_text(d), "", *_step_lines(d.steps, d)]
    notes = _all_notes(d)
    if notes:
        parts += ["", "Notes:", *(f"  - {n}" for n in notes)]
    parts += ["", f"Result: {_root_equation_text(d)}"]
    return "\n".join(parts)


@renderer(DerivationAt, "text")
def derivation_at_text(a: DerivationAt) -> str:
    """The derivation in plain text, then its value at the point."""
    d = a.derivation
    return (
        derivation_text(d)
        + f"\nAt {_point_text(a.point)}: {derivative_text(d.expr, d.wrt, d.order)} = {value_text(a.value)}"
    )


def outline(d: Derivation) -> list[dict[str, Any]]:
    """The steps in the text renderer's layout, as data: one dict per numbered line.

    Each dict has the step's ``number`` ("1.2"), ``depth``, ``rule`` id and
    ``rule_name``, its equation in text and LaTeX, the ``let`` lines (pairs of
    LaTeX) and the ``sentence`` the text renderer prints under it ("" when it
    would only repeat the equation). A page lays the steps out from this.

    >>> import sympy
    >>> from derivkit.calculus.derivation import Derivation, Step
    >>> x = sympy.Symbol("x")
    >>> row = outline(Derivation(x**2, x, 1, 2*x, Step("power", x**2, x, 2*x, text="By the power rule.")))[0]
    >>> row["number"], row["rule_name"], row["equation"], row["sentence"]
    ('1', 'power rule', 'd/dx x^2 = 2x', 'By the power rule.')
    """
    rows = []
    for number, depth, s in _numbered(d.steps):
        order = _order_of(s, d)
        rows.append({
            "number": number,
            "depth": depth,
            "rule": s.rule,
            "rule_name": rule_name(s.rule),
            "equation": _step_equation_text(s, order),
            "equation_latex": _step_equation_latex(s, order, align=False),
            "let": [[expr_latex(name), expr_latex(value)] for name, value in s.let],
            "sentence": _sentence(s, order),
        })
    return rows


# --- LaTeX -----------------------------------------------------------------------------------


def _latex_rows(step: Step, derivation: Derivation | None = None) -> list[str]:
    rows: list[str] = []
    for number, depth, s in _numbered(step):
        order = _order_of(s, derivation) if derivation is not None else 1
        label = escape_latex_text(f"{number}. {rule_name(s.rule)}")
        rows.append(rf"{_step_equation_latex(s, order, align=True)} && \text{{{label}}}")
        for name, value in s.let:
            rows.append(rf"{expr_latex(name)} &= {expr_latex(value)} && \text{{let}}")
    return rows


def _derivation_rows(d: Derivation) -> list[str]:
    rows = _latex_rows(d.steps, d)
    for note in _all_notes(d):
        rows.append(rf"&& {latex_text('note: ' + note)}")
    rows.append(rf"{derivative_latex(d.expr, d.wrt, d.order)} &= {expr_latex(d.result)} && \text{{result}}")
    return rows


@renderer(Step, "latex")
def step_latex(step: Step) -> str:
    """A step and its sub-steps as an ``align*`` block."""
    return latex_align(_latex_rows(step))


@renderer(Derivation, "latex")
def derivation_latex(d: Derivation) -> str:
    r"""The derivation as an ``align*`` block: one row per step, the rule in ``\text{}``."""
    return latex_align(_derivation_rows(d))


@renderer(DerivationAt, "latex")
def derivation_at_latex(a: DerivationAt) -> str:
    """The derivation's ``align*`` block with a last row for the value at the point."""
    d = a.derivation
    rows = _derivation_rows(d)
    rows.append(
        rf"\left.{derivative_latex(d.expr, d.wrt, d.order)}\right|_{{{_point_latex(a.point)}}} &= "
        rf"{expr_latex(a.value)} && \text{{value}}"
    )
    return latex_align(rows)


# --- Markdown ----------------------------------------------------------------------------------


def _markdown_items(step: Step, derivation: Derivation | None = None) -> list[str]:
    lines: list[str] = []

    def visit(s: Step, depth: int, index: int) -> None:
        order = _order_of(s, derivation) if derivation is not None else 1
        item = f"{'    ' * depth}{index}. **{rule_name(s.rule)}**: ${_step_equation_latex(s, order, align=False)}$"
        extra = [f"Let ${expr_latex(name)} = {expr_latex(value)}$." for name, value in s.let]
        sentence = _sentence_markdown(s, order)
        if sentence:
            extra.append(sentence)
        if extra:
            item += ". " + " ".join(extra)
        lines.append(item)
        for i, sub in enumerate(s.substeps, start=1):
            visit(sub, depth + 1, i)

    visit(step, 0, 1)
    return lines


@renderer(Step, "markdown")
def step_markdown(step: Step) -> str:
    """A step and its sub-steps as a nested numbered list."""
    return "\n".join(_markdown_items(step))


def _derivation_markdown_parts(d: Derivation) -> list[str]:
    parts = [
        f"Derivative of ${expr_latex(d.expr)}$ with respect to ${expr_latex(d.wrt)}$"
        + (f" (order {d.order})" if d.order != 1 else "")
        + ":",
        "",
        *_markdown_items(d.steps, d),
    ]
    notes = _all_notes(d)
    if notes:
        parts += ["", "Notes:", "", *(f"- {note_markdown(n)}" for n in notes)]
    parts += ["", "Result:", "", "$$", f"{derivative_latex(d.expr, d.wrt, d.order)} = {expr_latex(d.result)}", "$$"]
    return parts


@renderer(Derivation, "markdown")
def derivation_markdown(d: Derivation) -> str:
    """The derivation in Markdown: numbered steps with nested sub-steps, the result in ``$$``."""
    return "\n".join(_derivation_markdown_parts(d))


@renderer(DerivationAt, "markdown")
def derivation_at_markdown(a: DerivationAt) -> str:
    """The derivation in Markdown, then its value at the point."""
    d = a.derivation
    parts = _derivation_markdown_parts(d)
    parts += [
        "",
        f"At ${_point_latex(a.point)}$:",
        "",
        "$$",
        rf"\left.{derivative_latex(d.expr, d.wrt, d.order)}\right|_{{{_point_latex(a.point)}}} = {expr_latex(a.value)}",
        "$$",
    ]
    return "\n".join(parts)
