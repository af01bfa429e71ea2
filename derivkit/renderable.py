"""The mixin that gives result objects their ``to_text``/``to_latex``/... methods.

The maths modules define frozen dataclasses; the presentation lives in
:mod:`derivkit.render`, which registers one function per (type, format). This
mixin only forwards to it, so result classes stay free of printing code.

:func:`brief_repr` writes the one-line ``repr`` of a result object, as SymPy's
are: the names of the fields that matter and their values, each cut short, so
that a notebook or a console shows ``Derivation(expr=sin(x**2), wrt=x, ...)``
rather than every step of every sub-derivation. The full content is in the
renderers (``str``, ``to_markdown``, ``_repr_latex_``, ...).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Mapping

from derivkit import budget

__all__ = ["Renderable", "FORMATS", "brief_repr", "short", "Count", "printed_size"]

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
        if hasattr(o, "args") and hasattr(o, "func") and not isinstance(o, type):  # a SymPy object: its tree
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


#: The longest a value may be in a one-line repr before it is cut (with "...").
SHORT = 60


class Count(str):
    """A value shown as it is in a repr, such as ``<3 steps>``.

    >>> Count.of(3, "step"), Count.of(1, "step")
    ('<3 steps>', '<1 step>')
    """

    @classmethod
    def of(cls, n: int, noun: str) -> "Count":
        return cls(f"<{n} {noun}{'' if n == 1 else 's'}>")


def short(value: Any, limit: int = SHORT) -> str:
    """``value`` on one line of at most ``limit`` characters, for a repr.

    SymPy objects print as SymPy prints them, matrices as their rows, floats
    with 6 significant digits, large arrays as their shape.

    >>> import sympy
    >>> short(sympy.Matrix([[1, 2], [3, 4]])), short(sympy.Float("0.10526275403392168347711581"))
    ('Matrix([[1, 2], [3, 4]])', '0.105263')
    >>> short(tuple(range(30)), limit=20)
    '(0, 1, 2, 3, 4, ...)'
    >>> short("x" * 80, limit=10), short(1.0)
    ("'xxxxxx...", '1.0')
    """
    text = " ".join(_one_line(value).split())
    if len(text) <= limit:
        return text
    if isinstance(value, (tuple, list)) and not isinstance(value, Count):
        # whole items while they fit, then "..."
        items: list[str] = []
        for item in value:
            one = " ".join(_one_line(item).split())
            if len(", ".join(items + [one])) + 7 > limit:
                break
            items.append(one)
        opening, closing = ("(", ")") if isinstance(value, tuple) else ("[", "]")
        return opening + ", ".join(items + ["..."]) + closing
    return text[: max(limit - 3, 1)] + "..."


def _one_line(v: Any) -> str:
    if isinstance(v, Count):
        return str(v)
    if isinstance(v, bool) or v is None:
        return repr(v)
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, float) or getattr(v, "is_Float", False):
        text = f"{float(v):.6g}"
        return text if any(c in text for c in ".enai") else text + ".0"
    if hasattr(v, "dtype") and hasattr(v, "shape"):  # a NumPy array or scalar
        if v.shape == ():
            return _one_line(v.item())
        if v.size > 12:
            return f"<array {'x'.join(map(str, v.shape))}>"
        return f"array({_one_line(v.tolist())})"
    if hasattr(v, "tolist") and hasattr(v, "shape"):  # a SymPy matrix
        return f"Matrix({_one_line(v.tolist())})"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{_one_line(k)}: {_one_line(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_one_line(x) for x in v) + "]"
    if isinstance(v, tuple):
        inner = ", ".join(_one_line(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    return repr(v)


def brief_repr(obj: object, **fields: Any) -> str:
    """``TypeName(field=value, ...)`` on one line, each value cut by :func:`short`.

    >>> class Result:
    ...     def __repr__(self):
    ...         return brief_repr(self, ok=True, rules=("chain", "sin"), steps=Count.of(2, "step"))
    >>> Result()
    Result(ok=True, rules=('chain', 'sin'), steps=<2 steps>)
    """
    return f"{type(obj).__name__}({', '.join(f'{k}={short(v)}' for k, v in fields.items())})"
