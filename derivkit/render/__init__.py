"""Renderers: result objects to documents (plain text, LaTeX, Markdown).

Each submodule of this package registers its functions with :func:`renderer`.
A submodule is imported only when an object it renders is first rendered:
:data:`MODULES` says which submodule renders which result class (by class
name), so printing a derivation never imports NumPy, the checker or the
training loop. A class missing from the table still renders: the remaining
submodules are then imported one by one until one of them knows it. Adding a
renderer for a new result type is one module here plus its line in
:data:`MODULES`. JSON needs no renderer: it is ``json.dumps(obj.to_dict())``
(see :class:`derivkit.renderable.Renderable`).

>>> from derivkit import derive
>>> print(render(derive("x^2", "x"), "text").splitlines()[-1])
Result: d/dx x^2 = 2x
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Callable

from derivkit.errors import InputError
from derivkit.renderable import FORMATS

__all__ = ["renderer", "render", "FORMATS", "MODULES"]

#: Result class name -> the submodule of this package that renders it.
MODULES: dict[str, str] = {
    "Step": "derivation",
    "Derivation": "derivation",
    "DerivationAt": "derivation",
    "MatrixDerivation": "several",
    "MatrixAt": "several",
    "Chain": "chains",
    "ChainAt": "chains",
    "Verdict": "verify",
    "GradcheckReport": "verify",
    "BatchReport": "verify",
    "Descent": "descent",
    "History": "training",
    "LossGradient": "nn",
    "LinearScores": "nn",
    "Graph": "backprop",
    "Backprop": "backprop",
    "BackpropVerdict": "backprop",
}

_REGISTRY: dict[tuple[type, str], Callable[[Any], str]] = {}
_imported: set[str] = set()


def renderer(cls: type, fmt: str) -> Callable[[Callable[[Any], str]], Callable[[Any], str]]:
    """Register the decorated function as the ``fmt`` renderer of ``cls``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")

    def register(fn: Callable[[Any], str]) -> Callable[[Any], str]:
        _REGISTRY[(cls, fmt)] = fn
        return fn

    return register


def _import(name: str) -> None:
    if name not in _imported:
        _imported.add(name)
        importlib.import_module(f"{__name__}.{name}")


def _lookup(cls: type, fmt: str) -> Callable[[Any], str] | None:
    for klass in cls.__mro__:
        fn = _REGISTRY.get((klass, fmt))
        if fn is not None:
            return fn
    return None


def _find(cls: type, fmt: str) -> Callable[[Any], str] | None:
    fn = _lookup(cls, fmt)
    if fn is not None:
        return fn
    for klass in cls.__mro__:
        if klass.__name__ in MODULES:
            _import(MODULES[klass.__name__])
            fn = _lookup(cls, fmt)
            if fn is not None:
                return fn
    for info in pkgutil.iter_modules(__path__):  # a class the table does not name yet
        if info.name not in _imported:
            _import(info.name)
            fn = _lookup(cls, fmt)
            if fn is not None:
                return fn
    return None


def render(obj: Any, fmt: str = "text") -> str:
    """Render ``obj`` as ``fmt`` (one of ``text``, ``latex``, ``markdown``, ``json``)."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "json":
        return obj.render("json")
    fn = _find(type(obj), fmt)
    if fn is None:
        raise InputError(f"derivkit cannot render a {type(obj).__name__} as {fmt}")
    return fn(obj)
