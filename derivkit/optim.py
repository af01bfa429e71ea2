"""Optimisers and learning-rate schedules (``derivkit.optim.Adam``, ...).

The implementations live in :mod:`derivkit.training.optim`; this module makes
them importable the short way.

>>> from derivkit.optim import Adam, GD, Momentum
>>> Momentum(lr=0.01, eta=0.5)
Momentum(lr=0.01, eta=0.5)
"""

from derivkit.training.optim import (  # noqa: F401
    OPTIMIZERS,
    Adam,
    CosineDecay,
    ExponentialDecay,
    GD,
    Momentum,
    Nesterov,
    Optimizer,
    SGD,
    Schedule,
    StepDecay,
    make_optimizer,
)

__all__ = [
    "Optimizer", "GD", "SGD", "Momentum", "Nesterov", "Adam",
    "Schedule", "StepDecay", "ExponentialDecay", "CosineDecay", "OPTIMIZERS", "make_optimizer",
]
