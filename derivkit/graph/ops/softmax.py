r"""Softmax, log-softmax and softplus over the last axis (each example's scores).

The code is the stable form: softmax subtracts each row's maximum before the
exponential, log-softmax is ``z - log Σ e^z`` on the shifted scores, softplus
is ``max(x, 0) + log1p(e^(-|x|))``.

>>> from derivkit.graph.ops.leaves import leaf
>>> S = leaf("input", "S", ("N", 3))
>>> print(softmax(S), "|", logsoftmax(S), "|", softplus(S))
softmax(S) | log softmax(S) | softplus(S)
"""

from __future__ import annotations

from typing import Any

import numpy
import sympy

from derivkit.graph.node import Node, Op, build, in_definitions, register
from derivkit.graph.ops.arith import hadamard, sub
from derivkit.graph.ops.elementwise import apply
from derivkit.graph.ops.reduce import expand, total

__all__ = ["softmax", "logsoftmax", "softplus"]


def _parts(em: Any, Z: Node) -> tuple[str, str, str]:
    """The shifted scores, their exponentials and the row sums (computed once per ``Z``)."""

    def emit() -> tuple[str, str, str]:
        z = em.ref(Z)
        shifted, e, s = em.fresh("z"), em.fresh("e"), em.fresh("s")
        em.line(f"{shifted} = {z} - {z}.max(axis=-1, keepdims=True)")
        em.line(f"{e} = {em.xp}.exp({shifted})")
        em.line(f"{s} = {e}.sum(axis=-1, keepdims=True)")
        return shifted, e, s

    return em.memo(("softmax", Z.uid), emit)


def _rows(A: Any, fn: Any) -> Any:
    out = numpy.empty(A.shape, dtype=object)
    for idx in numpy.ndindex(A.shape[:-1]):
        out[idx] = fn(list(A[idx]))
    return out


class _Rowwise(Op):
    label = ""
    latex_label = ""
    needs_variable = True

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        inner = p.text(n.args[0])
        return (rf"{self.latex_label}\left({inner}\right)" if p.latex else f"{self.label}({inner})"), 90


@register
class Softmax(_Rowwise):
    name = "softmax"
    label = "softmax"
    latex_label = r"\operatorname{softmax}"

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        return [(n.args[0], hadamard(n, sub(G, total(hadamard(G, n), n.rank - 1))))]

    def lower(self, n: Node, em: Any) -> str:
        _, e, s = _parts(em, n.args[0])
        return f"{e} / {s}"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        def row(xs: list) -> list:
            exps = [sympy.exp(x) for x in xs]
            denominator = sympy.Add(*exps)
            return [x / denominator for x in exps]

        return _rows(vals[0], row)


@register
class LogSoftmax(_Rowwise):
    name = "logsoftmax"
    label = "log softmax"
    latex_label = r"\log\operatorname{softmax}"

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        Z = n.args[0]
        return [(Z, sub(G, hadamard(softmax(Z), expand(total(G, n.rank - 1), n.shape))))]

    def lower(self, n: Node, em: Any) -> str:
        shifted, _, s = _parts(em, n.args[0])
        return f"{shifted} - {em.xp}.log({s})"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        def row(xs: list) -> list:
            lse = sympy.log(sympy.Add(*[sympy.exp(x) for x in xs]))
            return [x - lse for x in xs]

        return _rows(vals[0], row)


@register
class Softplus(_Rowwise):
    name = "softplus"
    label = "softplus"
    latex_label = r"\operatorname{softplus}"
    needs_variable = False

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        from derivkit.functions import sigmoid

        return [(n.args[0], hadamard(G, apply(sigmoid, n.args[0])))]

    def lower(self, n: Node, em: Any) -> str:
        x = em.ref_name(n.args[0])
        xp = em.xp
        return f"{xp}.maximum({x}, 0) + {xp}.log1p({xp}.exp(-{xp}.abs({x})))"

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        out = numpy.empty(vals[0].shape, dtype=object)
        for idx, e in numpy.ndenumerate(vals[0]):
            out[idx] = sympy.log(1 + sympy.exp(e))
        return out


@in_definitions("softmax")
def softmax(a: Node) -> Node:
    """Softmax over the last axis (each example's scores to probabilities)."""
    return build("softmax", (a,))


@in_definitions("log_softmax", "logsoftmax")
def logsoftmax(a: Node) -> Node:
    """Log-softmax over the last axis, ``a - log Σ e^a`` (stable)."""
    return build("logsoftmax", (a,))


@in_definitions("softplus")
def softplus(a: Node) -> Node:
    """``log(1 + e^a)`` entrywise (stable)."""
    return build("softplus", (a,))
