"""Nodes as SymPy matrix expressions over ``MatrixSymbol``s of the graph's names (rank 2).

Elementwise functions become ``ElementwiseApplyFunction``, broadcasts and
sums products with all-ones matrices. Operations without a SymPy matrix form
(row-wise softmax, indexing) raise :class:`~derivkit.errors.InputError`.

>>> from derivkit.nn.networks import mlp
>>> bp = mlp([2, 3, 1]).backprop()
>>> to_sympy(bp.gradients["W2"]), to_sympy(bp.gradients["b1"])
(H_out.T*G_O, 1*G_H)
>>> to_sympy(bp.definitions["G_H"]).shape
(N, 3)
"""

from __future__ import annotations

from typing import Any

import sympy

from derivkit.errors import InputError
from derivkit.graph.node import Node
from derivkit.graph.shapes import Shape

__all__ = ["to_sympy", "broadcast_to"]


def broadcast_to(M: Any, shape: Shape) -> Any:
    """Broadcast a SymPy matrix expression to ``shape`` with all-ones matrices (a bias row: ``1 b``)."""
    if tuple(M.shape) == tuple(shape):
        return M
    if M.shape[0] == 1 and shape[0] != 1:
        M = sympy.OneMatrix(shape[0], 1) * M
    if M.shape[1] == 1 and shape[1] != 1:
        M = M * sympy.OneMatrix(1, shape[1])
    return M


def to_sympy(n: Node, top: bool = True) -> Any:
    """The node as a SymPy matrix expression; named nodes below the top are ``MatrixSymbol``s."""
    if n.name is not None and (not top or n.record.leaf):
        if len(n.shape) != 2:
            raise InputError(f"{n.name} has rank {len(n.shape)}: SymPy matrix expressions are matrices")
        return sympy.MatrixSymbol(n.name, *n.shape)
    args = [to_sympy(a, top=False) for a in n.args]
    return n.record.to_sympy(n, args)
