"""The mixin that gives result objects their ``to_text``/``to_latex``/... methods.

The maths modules define frozen dataclasses; the presentation lives in
:mod:`derivkit.render`, which registers one function per (type, format). This
mixin only forwards to it, so result classes stay free of printing code.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from derivkit import budget

__all__ = ["Renderable", "FORMATS", "printed_size"]

FORMATS = ("text", "latex", "markdown", "json")

#: Characters a rendering writes per node of the expressions it shows (measured; JSON writes
#: each expression twice, as text and as LaTeX, with its keys).
CHARS_PER_NODE = {"text": 6, "latex": 7, "markdown": 7, "json": 24}


def printed_size(obj: Any, fmt: str = "text", stop: int | None = None) -> int:
    """An estimate of the characters rendering ``obj`` as ``fmt`` writes, found without rendering.

    Counts the nodes of every expression the result holds (each tree in full, as
    printing writes it) and scales by :data:`CHARS_PER_NODE`; stops counting past ``stop``.

    >>> import sympy
    >>> printed_size(sympy.Symbol("x") ** 2 + 1)
    30
    """
    per = CHARS_PER_NODE.get(fmt, 24)
    most = None if stop is None else stop // per + 1
    seen: set[int] = set()
    nodes = 0
    stack: list[Any] = [obj]
    while stack and (most is None or nodes <= most):
        o = stack.pop()
        if hasattr(o, "args") and hasattr(o, "func"):  # a SymPy object: its whole tree is printed
            tree = [o]
            while tree and (most is None or nodes <= most):
                node = tree.pop()
                nodes += 1
                tree.extend(node.args)
            continue
        if id(o) in seen:
            continue
        seen.add(id(o))
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            stack.extend(getattr(o, f.name) for f in dataclasses.fields(o))
        elif isinstance(o, (tuple, list, set, frozenset)):
            stack.extend(o)
        elif isinstance(o, dict):
            stack.extend(o.values())
        elif isinstance(o, str):
            nodes += len(o) // per
        elif hasattr(o, "size") and hasattr(o, "dtype"):  # a NumPy array
            nodes += int(o.size)
    return nodes * per


class Renderable:
    """Forward ``to_<format>()`` to the renderer registered for this class."""

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def render(self, fmt: str = "text") -> str:
        """Render in one of :data:`FORMATS` (refused when the printout would exceed the ``printed`` limit)."""
        with budget.task(f"printing a {type(self).__name__}"):
            self.check_printable(fmt)
            if fmt == "json":
                return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)
            from derivkit.render import render

            return render(self, fmt)

    def check_printable(self, fmt: str = "json") -> None:
        """Raise :class:`~derivkit.errors.LimitError` when rendering as ``fmt`` would write more than
        the ``printed`` limit allows (call it before ``to_dict()`` on results of user input)."""
        most = budget.current().printed
        size = printed_size(self, fmt, stop=most)
        if size > most:
            budget.refuse_above(
                "printed", size,
                f"printing this {type(self).__name__} as {fmt} would write over {most:,} characters, which",
            )

    def to_text(self) -> str:
        return self.render("text")

    def to_latex(self) -> str:
        return self.render("latex")

    def to_markdown(self) -> str:
        return self.render("markdown")

    def to_json(self) -> str:
        return self.render("json")

    def _repr_latex_(self) -> str:
        return "$$" + self.render("latex") + "$$"

    def _repr_markdown_(self) -> str:
        return self.render("markdown")

    def __str__(self) -> str:
        return self.render("text")
