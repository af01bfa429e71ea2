"""The results of the step engine: :class:`Step` and :class:`Derivation`.

A derivation is a tree of steps. Each :class:`Step` says which rule of the
rule table (:mod:`derivkit.rules`) differentiates its expression, with the
sub-steps the rule needs (the derivative of the inner function for the chain
rule, of each factor for the product rule, ...). The engine that builds these
trees is :func:`derivkit.calculus.steps.derive`; the renderers are in
:mod:`derivkit.render`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Union

import sympy

from derivkit.notation import expr_latex, expr_text
from derivkit.inputs import substitute
from derivkit.renderable import Count, Renderable, brief_repr

__all__ = ["Step", "Derivation", "Math", "Piece", "Note", "sentence", "math", "note"]


@dataclass(frozen=True)
class Math:
    """A piece of mathematics inside a step's sentence, in plain text and in LaTeX.

    Renderers set it as math (``$...$`` in Markdown), so a sentence never mixes
    LaTeX commands with plain-text formulas.
    """

    text: str
    latex: str


#: A piece of a sentence: prose, or mathematics.
Piece = Union[str, Math]


def math(expr: Any) -> Math:
    """An expression as a :class:`Math` piece.

    >>> math(sympy.Symbol("x")**2)
    Math(text='x^2', latex='x^{2}')
    """
    return Math(expr_text(expr), expr_latex(expr))


def sentence(*pieces: Piece) -> tuple[str, tuple[Piece, ...]]:
    """``(text, pieces)``: a sentence as plain text, and as the pieces it was built from.

    >>> sentence("By the sum rule, differentiate ", math(sympy.Symbol("x") + 1), " term by term.")[0]
    'By the sum rule, differentiate x + 1 term by term.'
    """
    return "".join(p if isinstance(p, str) else p.text for p in pieces), tuple(pieces)


class Note(str):
    """A note (a domain condition, a non-differentiable point): a plain string that
    also keeps its :class:`Math` pieces, so Markdown can set its formulas as math.

    >>> n = note("The square root rule holds for ", math(sympy.Symbol("x") > 0), ".")
    >>> n, n.pieces[1].latex
    ('The square root rule holds for x > 0.', 'x > 0')
    """

    pieces: tuple[Piece, ...]

    def __new__(cls, text: str, pieces: tuple[Piece, ...] = ()) -> "Note":
        obj = super().__new__(cls, text)
        obj.pieces = tuple(pieces)
        return obj

    def __reduce__(self):
        return (Note, (str(self), self.pieces))


def note(*pieces: Piece) -> Note:
    """A :class:`Note` built from pieces, like :func:`sentence`."""
    text, parts = sentence(*pieces)
    return Note(text, parts)


@dataclass(frozen=True)
class Step(Renderable):
    """One step of a derivation: ``d/d(wrt) expr = result`` by ``rule``.

    ``let`` holds substitutions the step introduces, e.g. ``((u, 3*x - 2),)``
    for the chain rule written "let u = 3x - 2"; ``notes`` holds the domain
    conditions and non-differentiable points the rule states. ``pieces`` is
    ``text`` as prose and :class:`Math` pieces, for renderers that set the
    mathematics apart (Markdown, HTML); it is empty when the sentence has no math.
    ``equation`` is how the step's equation is shown when it is not
    ``d/dx expr = result`` (a difference quotient, a limit as ``h -> 0``).
    """

    rule: str
    expr: sympy.Basic
    wrt: sympy.Symbol
    result: sympy.Basic
    substeps: tuple["Step", ...] = ()
    text: str = ""
    let: tuple[tuple[sympy.Symbol, sympy.Basic], ...] = ()
    notes: tuple[str, ...] = ()
    pieces: tuple[Piece, ...] = ()
    equation: Math | None = None

    def __repr__(self) -> str:
        more = {"substeps": Count.of(len(self.substeps), "step")} if self.substeps else {}
        return brief_repr(self, rule=self.rule, expr=self.expr, wrt=self.wrt, result=self.result, **more)

    def walk(self) -> Iterator["Step"]:
        """Yield this step and all sub-steps in the order a reader meets them."""
        yield self
        for sub in self.substeps:
            yield from sub.walk()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "text": self.text,
            "expr": str(self.expr),
            "wrt": str(self.wrt),
            "result": str(self.result),
            "expr_latex": expr_latex(self.expr),
            "result_latex": expr_latex(self.result),
            "let": [[str(s), str(v)] for s, v in self.let],
            "notes": list(self.notes),
            "pieces": [p if isinstance(p, str) else {"text": p.text, "latex": p.latex} for p in self.pieces],
            "equation": None if self.equation is None else {"text": self.equation.text, "latex": self.equation.latex},
            "substeps": [s.to_dict() for s in self.substeps],
        }


@dataclass(frozen=True)
class Derivation(Renderable):
    """The derivative of ``expr`` with respect to ``wrt`` (``order`` times), with its steps.

    ``stages`` holds one root step per order (the second derivative is the
    derivation of the first one's result); ``steps`` is the root of the last
    stage for ``order == 1`` and a ``higher_order`` step over all stages otherwise.
    ``method`` says how it was found: ``"rules"`` (the rule table) or
    ``"first_principles"`` (the limit of the difference quotient). ``point`` is
    ``((x, x0),)`` when the derivation is of the number ``f'(x0)``.
    """

    expr: sympy.Basic
    wrt: sympy.Symbol
    order: int
    result: sympy.Basic
    steps: Step
    stages: tuple[Step, ...] = ()
    notes: tuple[str, ...] = field(default=())
    method: str = "rules"
    point: tuple[tuple[sympy.Symbol, sympy.Basic], ...] = ()

    @property
    def rules(self) -> tuple[str, ...]:
        """Rule ids in the order a reader meets them, repeats kept."""
        return tuple(s.rule for s in self.steps.walk())

    def __repr__(self) -> str:
        order = {"order": self.order} if self.order != 1 else {}
        return brief_repr(self, expr=self.expr, wrt=self.wrt, **order, result=self.result, rules=self.rules)

    def at(self, **values) -> sympy.Basic:
        """The derivative's value at a point, exact where the inputs are exact."""
        return substitute(self.result, values, variables=self.expr.free_symbols | {self.wrt})

    def plot(self, at: Any = None, path: str | Path | None = None) -> Any:
        """f and f' on one figure, the tangent at ``at``, kinks and critical points marked (matplotlib).

        ``at`` is the point ``x0`` (a number, or ``{"x": x0}``); ``path`` saves a PNG.
        Returns the matplotlib figure (see :func:`derivkit.teaching.plot.plot_derivative`).
        """
        from derivkit.teaching.plot import plot_derivative

        return plot_derivative(self, at=at, path=path)

    def to_dict(self) -> dict[str, Any]:
        return {
            "expr": str(self.expr),
            "wrt": str(self.wrt),
            "order": self.order,
            "result": str(self.result),
            "result_latex": expr_latex(self.result),
            "rules": list(self.rules),
            "notes": list(self.notes),
            "method": self.method,
            "at": {str(k): str(v) for k, v in self.point},
            "steps": self.steps.to_dict(),
        }
