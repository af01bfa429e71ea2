"""The mixin that gives result objects their ``to_text``/``to_latex``/... methods.

The maths modules define frozen dataclasses; the presentation lives in
:mod:`derivkit.render`, which registers one function per (type, format). This
mixin only forwards to it, so result classes stay free of printing code.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["Renderable", "FORMATS"]

FORMATS = ("text", "latex", "markdown", "json")


class Renderable:
    """Forward ``to_<format>()`` to the renderer registered for this class."""

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def render(self, fmt: str = "text") -> str:
        """Render in one of :data:`FORMATS`."""
        if fmt == "json":
            return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)
        from derivkit.render import render

        return render(self, fmt)

    def to_text(self) -> str:
        return self.render("text")

    def to_latex(self) -> str:
        return self.render("latex")

    def to_markdown(self) -> str:
        return self.render("markdown")

    def to_json(self) -> str:
        return self.render("json")

    def _repr_latex_(self) -> str:
        latex = self.render("latex").strip()
        if latex.startswith("\\[") and latex.endswith("\\]"):  # display math already: one pair of delimiters
            latex = latex[2:-2].strip()
        return "$$" + latex + "$$"

    def _repr_markdown_(self) -> str:
        return self.render("markdown")

    def __str__(self) -> str:
        return self.render("text")
