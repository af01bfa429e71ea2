"""Optimisers and learning-rate schedules (``derivkit.optim.Adam``, ...).

The implementations live in :mod:`derivkit.training.optim`; this module makes
them importable the short way. The keywords are PyTorch's; the course's
``eta`` is accepted for the momentum.

>>> from derivkit.optim import Adam, GD, Momentum, SGD
>>> Momentum(lr=0.01, momentum=0.5)
Momentum(lr=0.01, momentum=0.5)
>>> SGD(0.1, momentum=0.9, weight_decay=1e-4)
SGD(lr=0.1, momentum=0.9, weight_decay=0.0001)
"""

from derivkit.training.optim import (  # noqa: F401
    OPTIMIZERS,
    Adam,
    AdamW,
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
    "Optimizer", "GD", "SGD", "Momentum", "Nesterov", "Adam", "AdamW",
    "Schedule", "StepDecay", "ExponentialDecay", "CosineDecay", "OPTIMIZERS", "make_optimizer",
]
