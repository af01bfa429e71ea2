"""Neural building blocks as symbolic objects: activations, losses, layers, graphs.

>>> from derivkit import nn
>>> import sympy
>>> x = sympy.Symbol("x")
>>> sympy.diff(nn.sigmoid(x), x)
(1 - sigmoid(x))*sigmoid(x)
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    **{n: "derivkit.nn.activations" for n in (
        "sigmoid", "tanh", "relu", "leaky_relu", "step", "identity", "softmax", "ACTIVATIONS")},
    **{n: "derivkit.nn.losses" for n in (
        "mse", "sse", "l1", "bce", "nll", "cross_entropy", "softmax_cross_entropy",
        "hinge", "multiclass_hinge", "total_loss")},
    **{n: "derivkit.nn.regularizers" for n in ("l1_penalty", "l2_penalty", "elastic_net")},
    **{n: "derivkit.nn.layers" for n in ("neuron", "layer", "linear_scores")},
    **{n: "derivkit.graph" for n in ("Graph", "Backprop")},
    "mlp": "derivkit.nn.networks",
    "course_network": "derivkit.nn.networks",
    **{n: "derivkit.nn.norms" for n in ("batchnorm", "layernorm")},
    "makemore": "derivkit.nn.charmodel",
    **{n: "derivkit.nn.activations" for n in ("softmax_jacobian", "sigmoid_jacobian", "logsumexp")},
    **{n: "derivkit.nn.losses" for n in (
        "LossGradient", "squared_error_gradient", "nll_gradient", "cross_entropy_gradient",
        "softmax_cross_entropy_gradient", "hinge_gradient", "multiclass_hinge_gradient")},
    **{n: "derivkit.nn.layers" for n in ("decision_boundary", "layer_symbols", "LinearScores")},
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'derivkit.nn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
