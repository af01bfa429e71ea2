"""Gradient descent and training: worked descent tables, optimisers, the training loop.

>>> from derivkit.training import descend
>>> descend("5*b**2 - 3*b + 2", "b", start=4, lr=0.01, steps=1).final
363/100

Names are imported on first use, so importing this package stays quick (except
:func:`descend`, imported at once because its module has the same name).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from derivkit.training.descend import Descent, DescentRow, descend  # noqa: E402,F401

_EXPORTS = {
    **{n: "derivkit.training.optim" for n in (
        "Optimizer", "GD", "SGD", "Momentum", "Nesterov", "Adam", "AdamW",
        "Schedule", "StepDecay", "ExponentialDecay", "CosineDecay")},
    **{n: "derivkit.training.loop" for n in ("train", "History", "load_params")},
}

__all__ = sorted(_EXPORTS) + ["Descent", "DescentRow", "descend", "datasets", "plot"]


if TYPE_CHECKING:  # the lazy names as type checkers and the API reference see them (keep in step with _EXPORTS)
    from derivkit.training import datasets as datasets, plot as plot
    from derivkit.training.loop import History as History, load_params as load_params, train as train
    from derivkit.training.optim import (
        SGD as SGD, Adam as Adam, AdamW as AdamW, CosineDecay as CosineDecay, ExponentialDecay as ExponentialDecay,
        GD as GD, Momentum as Momentum, Nesterov as Nesterov, Optimizer as Optimizer, Schedule as Schedule,
        StepDecay as StepDecay,
    )


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    if name in ("datasets", "plot"):
        return importlib.import_module(f"derivkit.training.{name}")
    raise AttributeError(f"module 'derivkit.training' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
