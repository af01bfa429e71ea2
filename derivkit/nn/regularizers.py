"""Regularisers ``R(W)``: sums over every weight ``W_kl`` of a matrix (or a list, or one weight).

The training objective adds ``λ R(W)`` to the mean loss (see
:func:`derivkit.nn.losses.total_loss`).

>>> import sympy
>>> W = sympy.Matrix([[1, -2], [0, 3]])
>>> l2_penalty(W), l1_penalty(W), elastic_net(W, sympy.Rational(1, 2))
(14, 6, 13)
"""

from __future__ import annotations

from typing import Union

import sympy

from derivkit.inputs import ExprLike, as_expr, as_matrix
from derivkit.nn.activations import VectorLike

__all__ = ["l1_penalty", "l2_penalty", "elastic_net"]

#: Weights: a matrix, a list, or one weight.
Weights = Union[ExprLike, VectorLike]


def _weights(W: Weights) -> list[sympy.Basic]:
    if isinstance(W, (list, tuple, sympy.MatrixBase)) or (hasattr(W, "shape") and not isinstance(W, sympy.Basic)):
        return list(as_matrix(W, what="weights"))
    return [as_expr(W, what="weights")]


def l2_penalty(W: Weights) -> sympy.Basic:
    r"""L2 regularisation ``R(W) = Σ_k Σ_l W_kl^2``.

    >>> import sympy
    >>> w = sympy.symbols("w_11 w_12")
    >>> l2_penalty(w)
    w_11**2 + w_12**2
    """
    return sympy.Add(*[w ** 2 for w in _weights(W)])


def l1_penalty(W: Weights) -> sympy.Basic:
    r"""L1 regularisation ``R(W) = Σ_k Σ_l |W_kl|``.

    >>> l1_penalty([[0.5, -1.5]])
    2
    """
    return sympy.Add(*[sympy.Abs(w) for w in _weights(W)])


def elastic_net(W: Weights, beta: ExprLike) -> sympy.Basic:
    r"""Elastic net ``R(W) = Σ_k Σ_l (β W_kl^2 + |W_kl|)``.

    >>> import sympy
    >>> w, beta = sympy.symbols("w beta")
    >>> elastic_net(w, beta)
    beta*w**2 + Abs(w)
    """
    b = as_expr(beta, what="beta")
    return sympy.Add(*[b * w ** 2 + sympy.Abs(w) for w in _weights(W)])
