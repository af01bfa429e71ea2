r"""Losses and penalties: one scalar (1 x 1) node each, with the course's formulas and backward rules.

A loss compares a prediction ``P`` (N x K) with a target: a tensor ``Y`` of
the same shape, or, for the classification losses, integer labels ``y`` of
shape ``(N,)`` (read as the one-hot rows ``onehot(y)``). Losses average over
the batch (the first axis), as the course's ``L = (1/N) Σ_i L_i``. A loss
whose prediction is its natural output activation is differentiated together
with it (fused): softmax + cross-entropy and sigmoid + BCE give
``∂L/∂Z = (1/N)(P - Y)``, simpler and numerically stable.

>>> from derivkit.graph.ops.leaves import leaf
>>> P = leaf("input", "P", ("N", 3)); y = leaf("input", "y", ("N",), dtype="int")
>>> print(loss("mse", P, P), "|", loss("multiclass_hinge", P, y))
(1/N) Σ (P - P)^2 | (1/N) Σ max(0, P - Σ_n (onehot(y) ∘ P) + 1) ∘ (1 - onehot(y))
"""

from __future__ import annotations

from typing import Any

import numpy
import sympy

from derivkit.errors import InputError, ShapeError
from derivkit.graph.node import DEFINITION_FUNCTIONS, U, Node, Op, make, register, short
from derivkit.graph.ops.arith import add, divide, hadamard, scale, sub, times
from derivkit.graph.ops.elementwise import apply
from derivkit.graph.ops.index import onehot
from derivkit.graph.ops.leaves import const
from derivkit.graph.ops.reduce import expand, total
from derivkit.graph.ops.softmax import logsoftmax, softmax, softplus
from derivkit.graph.shapes import shape_text

__all__ = ["LOSSES", "LOSS_ALIASES", "PENALTIES", "LABEL_LOSSES", "loss", "penalty", "fused_input", "batch_size"]

#: Loss kinds: label of the loss node, its formula (text, LaTeX) with {P} and {Y}.
LOSSES: dict[str, dict[str, str]] = {
    "mse": {"label": "MSE", "text": "(1/N) Σ (P - Y)^2",
            "latex": r"\frac{1}{N}\sum_{e,n}\left(P - Y\right)_{e,n}^{2}"},
    "sse": {"label": "SSE", "text": "Σ (P - Y)^2", "latex": r"\sum_{e,n}\left(P - Y\right)_{e,n}^{2}"},
    "l1": {"label": "L1", "text": "(1/N) Σ |P - Y|", "latex": r"\frac{1}{N}\sum_{e,n}\left|P - Y\right|_{e,n}"},
    "bce": {"label": "BCE", "text": "-(1/N) Σ [Y log P + (1 - Y) log(1 - P)]",
            "latex": r"-\frac{1}{N}\sum_{e,n}\left[Y \log P + (1 - Y)\log(1 - P)\right]_{e,n}"},
    "cross_entropy": {"label": "CE", "text": "-(1/N) Σ [Y log P + (1 - Y) log(1 - P)]",
                      "latex": r"-\frac{1}{N}\sum_{e,n}\left[Y \log P + (1 - Y)\log(1 - P)\right]_{e,n}"},
    "nll": {"label": "NLL", "text": "-(1/N) Σ Y ∘ log P", "latex": r"-\frac{1}{N}\sum_{e,n}\left(Y \circ \log P\right)_{e,n}"},
    "softmax_cross_entropy": {"label": "CE", "text": "-(1/N) Σ Y ∘ log softmax(P)",
                              "latex": r"-\frac{1}{N}\sum_{e,n}\left(Y \circ \log\operatorname{softmax}(P)\right)_{e,n}"},
    "hinge": {"label": "HINGE", "text": "(1/N) Σ max(0, 1 - Y ∘ P)",
              "latex": r"\frac{1}{N}\sum_{e,n}\max\left(0, 1 - Y \circ P\right)_{e,n}"},
    "multiclass_hinge": {"label": "SVM", "text": "(1/N) Σ max(0, P - Σ_n (Y ∘ P) + 1) ∘ (1 - Y)",
                         "latex": r"\frac{1}{N}\sum_{e,n}\left[\max\left(0, P - \textstyle\sum_{n}(Y \circ P) + 1"
                                  r"\right) \circ (1 - Y)\right]_{e,n}"},
}
#: Other names of a loss: the node stores the canonical kind, so fusion and code generation see one name.
LOSS_ALIASES = {"cross_entropy": "bce"}
#: The losses that take integer class labels as well as one-hot targets.
LABEL_LOSSES = ("nll", "softmax_cross_entropy", "multiclass_hinge")

#: Regularisation terms on one parameter.
PENALTIES: dict[str, dict[str, str]] = {
    "l2": {"text": "Σ W^2", "latex": r"\lVert W \rVert_2^2"},
    "l1": {"text": "Σ |W|", "latex": r"\lVert W \rVert_1"},
}


def batch_size(P: Node) -> sympy.Basic:
    """The number of examples, the first axis of the prediction (``N``)."""
    return sympy.sympify(P.shape[0])


def fused_input(n: Node) -> Node | None:
    """For a loss fused with its output activation, the pre-activation it differentiates to."""
    if n.op != "loss":
        return None
    P = n.args[0]
    if n.param in ("nll", "softmax_cross_entropy") and P.op == "softmax":
        return P.args[0]
    if n.param == "bce" and P.op == "apply" and P.param == _sigmoid_u():
        return P.args[0]
    return None


def _sigmoid_u() -> sympy.Basic:
    from derivkit.functions import sigmoid

    return sigmoid(U)


def _template(template: str, parts: dict[str, str]) -> str:
    marks = {key: chr(i) for i, key in enumerate(parts)}
    for key, mark in marks.items():
        template = template.replace(key, mark)
    for key, mark in marks.items():
        template = template.replace(mark, parts[key])
    return template


def _margins(P: Node, Y: Node) -> Node:
    """``P - Σ_n (Y ∘ P) + 1``: each score against the score of the right class, plus the margin 1."""
    return add(sub(P, expand(total(hadamard(Y, P), 1), P.shape)), const(1))


@register
class Loss(Op):
    name = "loss"
    int_operands = (1,)

    def shape(self, args: tuple, param: Any) -> tuple:
        return (1, 1)

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        P, Y = (p.text(a) for a in n.args)
        label = LOSSES[n.param]["latex" if p.latex else "text"]
        return _template(label, {"P": P, "Y": Y}), 10

    def expansion(self, n: Node) -> Node:
        """The loss written with the primitive operations (what the code computes)."""
        kind, (P, Y) = n.param, n.args
        inv_n = 1 / batch_size(P)
        D = sub(P, Y)
        Z = fused_input(n)
        if kind == "mse":
            return scale(inv_n, total(hadamard(D, D)))
        if kind == "sse":
            return total(hadamard(D, D))
        if kind == "l1":
            return scale(inv_n, total(apply(sympy.Abs, D)))
        if kind == "bce":
            if Z is not None:
                return scale(inv_n, total(sub(softplus(Z), hadamard(Y, Z))))
            LP = apply(sympy.log, P)
            LQ = apply(sympy.log(1 - U), P)
            return scale(-inv_n, total(add(hadamard(Y, sub(LP, LQ)), LQ)))
        if kind == "nll":
            return scale(-inv_n, total(hadamard(Y, logsoftmax(Z) if Z is not None else apply(sympy.log, P))))
        if kind == "softmax_cross_entropy":
            return scale(-inv_n, total(hadamard(Y, logsoftmax(Z if Z is not None else P))))
        if kind == "hinge":
            from derivkit.functions import relu

            return scale(inv_n, total(apply(relu(1 - U), hadamard(Y, P))))
        from derivkit.functions import relu

        return scale(inv_n, total(hadamard(apply(relu, _margins(P, Y)), sub(const(1), Y))))

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        return self._vjp(n, G, fuse=True)

    def plain_vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        return self._vjp(n, G, fuse=False)

    def _vjp(self, n: Node, G: Node, fuse: bool) -> list[tuple[Node, Node]]:
        from derivkit.functions import step

        kind, (P, Y) = n.param, n.args
        inv_n = 1 / batch_size(P)
        D = sub(P, Y)
        Z = fused_input(n) if fuse else None
        target = self._target(n, G)
        if Z is not None:  # softmax + cross-entropy, sigmoid + BCE: (P - Y)/N
            return [(Z, times(G, scale(inv_n, D)))] + target
        if kind == "mse":
            local = scale(2 * inv_n, D)
        elif kind == "sse":
            local = scale(2, D)
        elif kind == "l1":
            local = scale(inv_n, apply(sympy.sign, D))
        elif kind == "bce":
            local = scale(inv_n, divide(D, hadamard(P, sub(const(1), P))))
        elif kind == "nll":
            local = scale(-inv_n, divide(Y, P))
        elif kind == "softmax_cross_entropy":
            local = scale(inv_n, sub(softmax(P), Y))
        elif kind == "hinge":
            local = scale(-inv_n, hadamard(Y, apply(step(1 - U), hadamard(Y, P))))
        else:  # multiclass hinge: each violated margin pushes its score up and the right class's down
            active = hadamard(apply(step, _margins(P, Y)), sub(const(1), Y))
            local = scale(inv_n, sub(active, hadamard(Y, expand(total(active, 1), P.shape))))
        return [(P, times(G, local))] + target

    def _target(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        """The gradient for the target, when it is not data that has none (a learned or requested target)."""
        Y = n.args[1]
        if Y.op in ("onehot", "const"):
            return []
        from derivkit.graph.reverse import reverse

        adjoints, _ = reverse(self.expansion(n), G)
        return [(Y, adjoints[Y.uid])] if Y.uid in adjoints else []

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        kind = n.param
        P, Y = vals
        count = P.shape[0]
        if kind in ("mse", "sse"):
            value = sympy.Add(*[(p - y) ** 2 for p, y in zip(P.flat, Y.flat)]) / (count if kind == "mse" else 1)
        elif kind == "l1":
            value = sympy.Add(*[sympy.Abs(p - y) for p, y in zip(P.flat, Y.flat)]) / count
        elif kind == "bce":
            value = -sympy.Add(*[y * sympy.log(p) + (1 - y) * sympy.log(1 - p) for p, y in zip(P.flat, Y.flat)]) / count
        elif kind == "nll":
            value = -sympy.Add(*[y * sympy.log(p) for p, y in zip(P.flat, Y.flat)]) / count
        elif kind == "softmax_cross_entropy":
            terms = []
            for i in range(count):
                lse = sympy.log(sympy.Add(*[sympy.exp(s) for s in P[i]]))
                terms += [y * (s - lse) for s, y in zip(P[i], Y[i])]
            value = -sympy.Add(*terms) / count
        elif kind == "hinge":
            value = sympy.Add(*[sympy.Max(0, 1 - y * p) for p, y in zip(P.flat, Y.flat)]) / count
        else:
            terms = []
            for i in range(count):
                right = sympy.Add(*[s * y for s, y in zip(P[i], Y[i])])
                terms += [sympy.Max(0, s - right + 1) * (1 - y) for s, y in zip(P[i], Y[i])]
            value = sympy.Add(*terms) / count
        return numpy.array([[value]], dtype=object)

    def to_sympy(self, n: Node, args: list) -> Any:
        from derivkit.graph.sympy_form import to_sympy

        return to_sympy(self.expansion(n), top=True)


def loss(kind: str, P: Node, Y: Node) -> Node:
    """A loss node ``kind(P, Y)`` (a 1 x 1 value); see :data:`LOSSES`.

    ``Y`` is a target of ``P``'s shape, or for :data:`LABEL_LOSSES` integer
    labels of shape ``(N,)``.
    """
    if kind not in LOSSES:
        raise InputError(f"unknown loss {kind!r}; choose one of {', '.join(LOSSES)}")
    kind = LOSS_ALIASES.get(kind, kind)
    if not isinstance(P, Node) or not isinstance(Y, Node):
        raise InputError(f"the {kind} loss compares two nodes, a prediction and a target")
    if P.dtype == "int":
        raise InputError(f"the {kind} loss: the prediction {short(P)} holds integers; it must be scores or "
                         "probabilities")
    if Y.dtype == "int":
        if kind not in LABEL_LOSSES:
            raise InputError(f"the {kind} loss compares {short(P)} with a target of the same shape; integer labels "
                             f"{short(Y)} go with {', '.join(LABEL_LOSSES)}")
        if P.rank != 2 or Y.rank != 1 or P.shape[0] != Y.shape[0]:
            raise ShapeError(
                f"the {kind} loss takes scores {short(P)} of shape N x K and labels {short(Y)} of shape N: "
                f"got {shape_text(P.shape)} and {shape_text(Y.shape)}")
        Y = onehot(Y, P.shape[1])
    if P.shape != Y.shape:
        raise ShapeError(
            f"the {kind} loss compares {short(P)} ({shape_text(P.shape)}) with {short(Y)} "
            f"({shape_text(Y.shape)}): they must have the same shape")
    if kind in LABEL_LOSSES + ("hinge",) and P.rank != 2:
        raise ShapeError(f"the {kind} loss takes scores of shape N x K, got {short(P)} ({shape_text(P.shape)})")
    return make("loss", (P, Y), (1, 1), param=kind)


@register
class Penalty(Op):
    name = "penalty"

    def shape(self, args: tuple, param: Any) -> tuple:
        return (1, 1)

    def print(self, n: Node, p: Any) -> tuple[str, int]:
        W = p.text(n.args[0])
        return PENALTIES[n.param]["latex" if p.latex else "text"].replace("W", W), 15

    def expansion(self, n: Node) -> Node:
        W = n.args[0]
        return total(hadamard(W, W)) if n.param == "l2" else total(apply(sympy.Abs, W))

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        W = n.args[0]
        local = scale(2, W) if n.param == "l2" else apply(sympy.sign, W)
        return [(W, times(G, local))]

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        W = vals[0]
        value = sympy.Add(*[w ** 2 if n.param == "l2" else sympy.Abs(w) for w in W.flat])
        return numpy.array([[value]], dtype=object)

    def to_sympy(self, n: Node, args: list) -> Any:
        from derivkit.graph.sympy_form import to_sympy

        return to_sympy(self.expansion(n), top=True)


def penalty(kind: str, W: Node) -> Node:
    """A regularisation term: ``l2`` (``Σ W^2``) or ``l1`` (``Σ |W|``)."""
    if kind not in PENALTIES:
        raise InputError(f"unknown penalty {kind!r}; choose l2 or l1")
    return make("penalty", (W,), (1, 1), param=kind)


def _definition(kind: str) -> Any:
    def call(P: Node, Y: Node) -> Node:
        return loss(kind, P, Y)

    call.__name__ = kind
    return call


def _penalty_definition(kind: str) -> Any:
    def call(W: Node) -> Node:
        return penalty(kind, W)

    call.__name__ = f"{kind}_penalty"
    return call


for _kind in LOSSES:
    DEFINITION_FUNCTIONS[_kind] = _definition(_kind)
for _kind in PENALTIES:
    DEFINITION_FUNCTIONS[f"{_kind}_penalty"] = _penalty_definition(_kind)
