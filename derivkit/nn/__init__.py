"""Neural building blocks as symbolic objects: activations, losses, layers, graphs.

>>> from derivkit import nn
>>> import sympy
>>> x = sympy.Symbol("x")
>>> sympy.diff(nn.sigmoid(x), x)
(1 - sigmoid(x))*sigmoid(x)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
    "cnn": "derivkit.nn.convnets",
    **{n: "derivkit.nn.activations" for n in ("softmax_jacobian", "sigmoid_jacobian", "logsumexp")},
    **{n: "derivkit.nn.losses" for n in (
        "LossGradient", "squared_error_gradient", "nll_gradient", "cross_entropy_gradient",
        "softmax_cross_entropy_gradient", "hinge_gradient", "multiclass_hinge_gradient")},
    **{n: "derivkit.nn.layers" for n in ("decision_boundary", "layer_symbols", "LinearScores")},
}

__all__ = sorted(_EXPORTS)


if TYPE_CHECKING:  # the lazy names as type checkers and the API reference see them (keep in step with _EXPORTS)
    from derivkit.nn.activations import (
        ACTIVATIONS as ACTIVATIONS, identity as identity, leaky_relu as leaky_relu, logsumexp as logsumexp,
        relu as relu, sigmoid as sigmoid, sigmoid_jacobian as sigmoid_jacobian, softmax as softmax,
        softmax_jacobian as softmax_jacobian, step as step, tanh as tanh,
    )
    from derivkit.graph import Backprop as Backprop, Graph as Graph
    from derivkit.nn.convnets import cnn as cnn
    from derivkit.nn.layers import (
        LinearScores as LinearScores, decision_boundary as decision_boundary, layer as layer,
        layer_symbols as layer_symbols, linear_scores as linear_scores, neuron as neuron,
    )
    from derivkit.nn.losses import (
        LossGradient as LossGradient, bce as bce, cross_entropy as cross_entropy,
        cross_entropy_gradient as cross_entropy_gradient, hinge as hinge, hinge_gradient as hinge_gradient, l1 as l1,
        mse as mse, multiclass_hinge as multiclass_hinge, multiclass_hinge_gradient as multiclass_hinge_gradient,
        nll as nll, nll_gradient as nll_gradient, softmax_cross_entropy as softmax_cross_entropy,
        softmax_cross_entropy_gradient as softmax_cross_entropy_gradient,
        squared_error_gradient as squared_error_gradient, sse as sse, total_loss as total_loss,
    )
    from derivkit.nn.charmodel import makemore as makemore
    from derivkit.nn.norms import batchnorm as batchnorm, layernorm as layernorm
    from derivkit.nn.networks import course_network as course_network, mlp as mlp
    from derivkit.nn.regularizers import elastic_net as elastic_net, l1_penalty as l1_penalty, l2_penalty as l2_penalty


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'derivkit.nn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
