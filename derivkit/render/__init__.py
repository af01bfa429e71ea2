"""Renderers: result objects to documents (plain text, LaTeX, Markdown).

Each submodule of this package registers its functions with :func:`renderer`;
all submodules are imported on first use, so adding a renderer for a new
result type is adding one module here. JSON needs no renderer: it is
``json.dumps(obj.to_dict())`` (see :class:`derivkit.renderable.Renderable`).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Callable

from derivkit.errors import InputError
from derivkit.renderable import FORMATS

__all__ = ["renderer", "render", "FORMATS"]

_REGISTRY: dict[tuple[type, str], Callable[[Any], str]] = {}
_loaded = False


def renderer(cls: type, fmt: str) -> Callable[[Callable[[Any], str]], Callable[[Any], str]]:
    """Register the decorated function as the ``fmt`` renderer of ``cls``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")

    def register(fn: Callable[[Any], str]) -> Callable[[Any], str]:
        _REGISTRY[(cls, fmt)] = fn
        return fn

    return register


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def render(obj: Any, fmt: str = "text") -> str:
    """Render ``obj`` as ``fmt`` (one of ``text``, ``latex``, ``markdown``, ``json``)."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "json":
        return obj.render("json")
    _load_all()
    for cls in type(obj).__mro__:
        fn = _REGISTRY.get((cls, fmt))
        if fn is not None:
            return fn(obj)
    raise InputError(f"derivkit cannot render a {type(obj).__name__} as {fmt}")
