r"""Inverted dropout with a given mask: ``dropout(A, M, p) = A ∘ M / (1 - p)``.

The mask ``M`` (0 for a dropped unit, 1 for a kept one) is data, drawn by the
caller for each training step (``rng.random(shape) >= p``), so the graph stays
a function of its inputs and its gradient can be checked. Kept units are
scaled by ``1/(1 - p)`` during training so that nothing changes at test time;
the backward rule is the same mask and scale: ``G ∘ M / (1 - p)``.

>>> from derivkit.graph.ops.leaves import leaf
>>> H = leaf("input", "H", ("N", 4)); M = leaf("input", "M", ("N", 4))
>>> print(dropout(H, M, 0.5))
dropout(H, M, 1/2)
"""

from __future__ import annotations

from typing import Any

from derivkit.errors import InputError
from derivkit.graph.node import Node, Op, build, in_definitions, number, register, require, short
from derivkit.graph.ops.arith import hadamard, scale
from derivkit.graph.shapes import Shape, shape_text

__all__ = ["dropout"]


@register
class Dropout(Op):
    name = "dropout"

    def shape(self, args: tuple, param: Any) -> Shape:
        A, M = args
        require(tuple(A.shape) == tuple(M.shape), lambda:
                f"dropout({short(A)}, {short(M)}, p): the mask must have the shape of {short(A)} "
                f"({shape_text(A.shape)}), got {shape_text(M.shape)}")
        return A.shape

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        A, M = (p.text(a) for a in n.args)
        return p.call("dropout", A, M, p.scalar(n.param)), 90

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        A, M = n.args
        return [(A, scale(1 / (1 - n.param), hadamard(G, M)))]

    def lower(self, n: Node, em: Any) -> str:
        A, M = (em.ref(a) for a in n.args)
        return f"{A} * {M} * ({em.scalar(1 / (1 - n.param))})"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        return vals[0] * vals[1] * (1 / (1 - n.param))


@in_definitions("dropout")
def dropout(A: Node, M: Node, p: Any) -> Node:
    """Inverted dropout of ``A`` with the mask ``M`` (data) and drop probability ``0 <= p < 1``."""
    p = number(p)
    if not (p.is_real and 0 <= p < 1):
        raise InputError(f"dropout: the drop probability p must be at least 0 and below 1, got {p}")
    if p == 0:
        return A
    return build("dropout", (A, M), p)
