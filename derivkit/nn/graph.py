r"""Networks as graphs of matrix operations, and backpropagation at the matrix level.

A :class:`Graph` holds inputs, parameters and named definitions over matrices
with shapes (the batch size may stay symbolic, ``N``). Expressions are light
:class:`Node` objects built with Python operators (``@`` matrix product, ``*``
Hadamard product or a number times a matrix, ``+``/``-`` with bias broadcast,
``.T``) or read from a string with the same operators (parsed safely with
:mod:`ast`, never evaluated). Why not SymPy's ``MatrixSymbol``: its matrix
calculus fails on a sigmoid + MSE network and it cannot print elementwise
functions to NumPy, so derivkit keeps its own small node types that print in the
course's notation (text and LaTeX) and compile to NumPy (:mod:`derivkit.compile`).

:meth:`Graph.backprop` runs reverse mode over the nodes: an elementwise ``f``
lifts to ``G ∘ f'(A)`` with ``f'`` read from the rule table
(:func:`derivkit.rules.local_derivative`), plus the matrix rules for ``A B``,
``Aᵀ``, ``A ∘ B``, broadcasts, sums and means; softmax (or sigmoid) followed by
its cross-entropy is fused to ``(P - Y)/N``. The adjoint of every named linear
node is named the way the course does (``O_in`` -> ``G_O``, ``H_in`` -> ``G_H``).

>>> g = Graph()
>>> X = g.input("X", ("N", 2)); Y = g.input("Y", ("N", 1))
>>> W1 = g.param("W1", (2, 3)); W2 = g.param("W2", (3, 1))
>>> H_in = g.define("H_in", X @ W1)
>>> H_out = g.define("H_out", "sigmoid(H_in)")
>>> O_in = g.define("O_in", "H_out @ W2")
>>> O_out = g.define("O_out", "sigmoid(O_in)")
>>> MSE = g.define("MSE", "mse(O_out, Y)")
>>> bp = g.backprop()
>>> print(bp.gradients["W2"], "|", bp.gradients["W1"])
H_out^T G_O | X^T G_H
>>> print(bp.definitions["G_O"]); print(bp.definitions["G_H"])
(2/N)(O_out - Y) ∘ σ'(O_in)
(G_O W2^T) ∘ σ'(H_in)
>>> [f.label for f in bp.chain("W1")]
['∂MSE/∂O_out', '∂O_out/∂O_in', '∂O_in/∂H_out', '∂H_out/∂H_in', '∂H_in/∂W1']
"""

from __future__ import annotations

import ast
import dataclasses
import keyword
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence, Union

import sympy

from derivkit.calculus.steps import derive
from derivkit.errors import InputError, ParseError, ShapeError
from derivkit.functions import ACTIVATIONS, relu, sigmoid, step
from derivkit.renderable import Renderable
from derivkit.rules import local_derivative

__all__ = [
    "Node", "Graph", "Backprop", "Factor", "LOSSES", "PENALTIES",
    "matmul", "transpose", "add", "sub", "hadamard", "divide", "scale", "const", "zeros",
    "apply", "fprime", "softmax", "logsoftmax", "softplus", "total", "mean", "expand",
    "loss", "penalty", "node_text", "node_latex", "shape_text", "to_sympy",
]

#: The variable of the scalar function an elementwise node applies.
U = sympy.Symbol("u")

Dim = Union[int, sympy.Symbol]
Shape = tuple  # (rows, cols), each an int or a Symbol such as N

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
}
#: Regularisation terms on one parameter.
PENALTIES: dict[str, dict[str, str]] = {
    "l2": {"text": "Σ W^2", "latex": r"\lVert W \rVert_2^2"},
    "l1": {"text": "Σ |W|", "latex": r"\lVert W \rVert_1"},
}

_LEAVES = ("input", "param", "const", "zeros", "adjoint")
_RESERVED = {"numpy", "params", "data", "DTYPE", "G"}


# ---------------------------------------------------------------------------
# nodes
# ---------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Node:
    """One matrix-valued operation (or a leaf) with its shape.

    ``op`` is the operation, ``args`` its operand nodes, ``shape`` a pair of
    ints or symbols, ``name`` the graph name of a named node and ``param`` the
    op's parameter (the scalar function of an elementwise node, a constant, an
    axis, a loss kind). Operators build new nodes with shape checks.

    >>> A = Node("input", (), (sympy.Symbol("N"), 2), "A"); B = Node("param", (), (2, 3), "B")
    >>> print(A @ B, (A @ B).shape)
    A B (N, 3)
    """

    op: str
    args: tuple = ()
    shape: Shape = (1, 1)
    name: str | None = None
    param: Any = None

    def __matmul__(self, other: "Node") -> "Node":
        return matmul(self, _as_node(other))

    def __add__(self, other) -> "Node":
        return add(self, _as_node(other))

    def __radd__(self, other) -> "Node":
        return add(_as_node(other), self)

    def __sub__(self, other) -> "Node":
        return sub(self, _as_node(other))

    def __rsub__(self, other) -> "Node":
        return sub(_as_node(other), self)

    def __mul__(self, other) -> "Node":
        if isinstance(other, Node):
            return hadamard(self, other)
        return scale(_number(other), self)

    def __rmul__(self, other) -> "Node":
        return scale(_number(other), self)

    def __truediv__(self, other) -> "Node":
        if isinstance(other, Node):
            return divide(self, other)
        return scale(1 / _number(other), self)

    def __neg__(self) -> "Node":
        return scale(sympy.S.NegativeOne, self)

    def __pow__(self, power) -> "Node":
        p = _number(power)
        return apply(U ** p, self)

    @property
    def T(self) -> "Node":
        return transpose(self)

    def __str__(self) -> str:
        return node_text(self, top=True)

    def __repr__(self) -> str:
        return f"Node({self.op}, {node_text(self, top=True)!r}, shape={shape_text(self.shape)})"

    def _repr_latex_(self) -> str:
        return "$" + node_latex(self, top=True) + "$"

    def to_sympy(self):
        """This expression as a SymPy matrix expression (see :func:`to_sympy`)."""
        return to_sympy(self)


def _number(obj) -> sympy.Basic:
    if isinstance(obj, bool) or not isinstance(obj, (int, float, sympy.Basic)):
        raise InputError(f"expected a number or a matrix node, got {obj!r}")
    value = sympy.Rational(repr(obj)) if isinstance(obj, float) else sympy.sympify(obj)
    return value


def _as_node(obj) -> Node:
    return obj if isinstance(obj, Node) else const(_number(obj))


def shape_text(shape: Shape) -> str:
    """``(N, 3)`` -> ``'N x 3'``.

    >>> shape_text((sympy.Symbol("N"), 3))
    'N x 3'
    """
    return f"{shape[0]} x {shape[1]}"


def _dim(d, what: str) -> Dim:
    if isinstance(d, sympy.Symbol):
        return d
    if isinstance(d, str) and d.isidentifier() and not keyword.iskeyword(d) and not d.startswith("_"):
        return sympy.Symbol(d)
    if isinstance(d, int) and not isinstance(d, bool) and d >= 1:
        return d
    raise ShapeError(f"the shape of {what} must be two sizes (positive integers or a name such as N), got {d!r}")


def _shape(shape, what: str) -> Shape:
    if isinstance(shape, int):
        shape = (shape, 1)
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise ShapeError(f"the shape of {what} must be (rows, cols), got {shape!r}")
    return (_dim(shape[0], what), _dim(shape[1], what))


def _broadcast(a: Node, b: Node, sym: str) -> Shape:
    out = []
    for da, db in zip(a.shape, b.shape):
        if da == db or db == 1:
            out.append(da)
        elif da == 1:
            out.append(db)
        else:
            raise ShapeError(
                f"cannot combine {_short(a)} ({shape_text(a.shape)}) {sym} {_short(b)} ({shape_text(b.shape)}): "
                "the shapes must be equal, or one of them a single row (bias) or column")
    return tuple(out)


def _short(node: Node) -> str:
    text = node_text(node)
    return text if len(text) <= 40 else text[:37] + "..."


# ---------------------------------------------------------------------------
# node builders (with the simplifications a teacher does silently)
# ---------------------------------------------------------------------------

def zeros(shape: Shape) -> Node:
    """A zero matrix of ``shape`` (what a gradient through a step activation is)."""
    return Node("zeros", (), tuple(shape))


def const(value) -> Node:
    """A scalar constant (1 x 1) that broadcasts."""
    return Node("const", (), (1, 1), param=sympy.sympify(value))


def _is_zero(n: Node) -> bool:
    return n.op == "zeros" or (n.op == "const" and n.param == 0)


def matmul(a: Node, b: Node) -> Node:
    """The matrix product ``a b``; the columns of ``a`` must equal the rows of ``b``."""
    if a.shape[1] != b.shape[0]:
        raise ShapeError(
            f"cannot multiply {_short(a)} ({shape_text(a.shape)}) by {_short(b)} ({shape_text(b.shape)}): "
            f"a matrix product needs the columns of the first ({a.shape[1]}) to equal the rows of the second ({b.shape[0]})")
    shape = (a.shape[0], b.shape[1])
    if _is_zero(a) or _is_zero(b):
        return zeros(shape)
    return Node("matmul", (a, b), shape)


def transpose(a: Node) -> Node:
    """The transpose ``aᵀ``."""
    shape = (a.shape[1], a.shape[0])
    if a.op == "zeros":
        return zeros(shape)
    if a.op == "transpose" and a.name is None:
        return a.args[0]
    return Node("transpose", (a,), shape)


def add(a: Node, b: Node) -> Node:
    """``a + b``; a 1 x k row (a bias) or a column broadcasts."""
    shape = _broadcast(a, b, "+")
    if a.op == "const" and b.op == "const":
        return const(a.param + b.param)
    if _is_zero(b) and a.shape == shape:
        return a
    if _is_zero(a) and b.shape == shape:
        return b
    if a is b:
        return scale(2, a)
    return Node("add", (a, b), shape)


def sub(a: Node, b: Node) -> Node:
    """``a - b`` with the broadcasts of :func:`add`."""
    shape = _broadcast(a, b, "-")
    if _is_zero(b) and a.shape == shape:
        return a
    if _is_zero(a) and b.shape == shape:
        return scale(-1, b)
    return Node("sub", (a, b), shape)


def hadamard(a: Node, b: Node) -> Node:
    """The elementwise (Hadamard) product ``a ∘ b``."""
    shape = _broadcast(a, b, "∘")
    if _is_zero(a) or _is_zero(b):
        return zeros(shape)
    if a.op == "expand" and a.args[0].op == "const":
        a = a.args[0]
    if b.op == "expand" and b.args[0].op == "const":
        b = b.args[0]
    if a.op == "const" and b.shape == shape:
        return scale(a.param, b)
    if b.op == "const" and a.shape == shape:
        return scale(b.param, a)
    return Node("hadamard", (a, b), shape)


def divide(a: Node, b: Node) -> Node:
    """Elementwise division ``a / b``."""
    shape = _broadcast(a, b, "/")
    if _is_zero(a):
        return zeros(shape)
    if b.op == "const" and a.shape == shape:
        return scale(1 / b.param, a)
    return Node("divide", (a, b), shape)


def scale(c, a: Node) -> Node:
    """A scalar (a number, or a formula in the sizes such as ``2/N``) times ``a``."""
    c = sympy.sympify(c)
    if c == 0 or a.op == "zeros":
        return zeros(a.shape)
    if c == 1:
        return a
    if a.op == "const":
        return const(c * a.param)
    if a.op == "scale" and a.name is None:
        return scale(c * a.param, a.args[0])
    return Node("scale", (a,), a.shape, param=c)


def _function(func) -> sympy.Basic:
    """A scalar function as its body in :data:`U`: from a name, a SymPy function class or a Lambda."""
    if isinstance(func, sympy.Lambda):
        if len(func.variables) != 1:
            raise InputError("an elementwise function takes one variable")
        return func(U)
    if isinstance(func, sympy.Basic) and func.free_symbols <= {U}:
        return func
    if isinstance(func, str):
        cls = _FUNCTIONS.get(func)
        if cls is None:
            raise InputError(f"unknown elementwise function {func!r}; known: {', '.join(sorted(_FUNCTIONS))}")
        func = cls
    if isinstance(func, type) and issubclass(func, sympy.Function) or isinstance(func, sympy.FunctionClass):
        return func(U)
    raise InputError(f"cannot apply {func!r} elementwise: give a function name, a SymPy function or a Lambda")


_FUNCTIONS: dict[str, Any] = {
    **ACTIVATIONS,
    "exp": sympy.exp, "log": sympy.log, "ln": sympy.log, "sin": sympy.sin, "cos": sympy.cos,
    "sinh": sympy.sinh, "cosh": sympy.cosh, "atan": sympy.atan, "asinh": sympy.asinh, "abs": sympy.Abs,
    "sqrt": sympy.sqrt,
}


def apply(func, a: Node) -> Node:
    """Apply a scalar function to every entry of ``a`` (``σ(H_in)``)."""
    body = _function(func)
    if body == U:
        return a
    return Node("apply", (a,), a.shape, param=body)


def _single(body: sympy.Basic):
    """The function application ``f(u, consts...)`` if the body is one, else None."""
    if isinstance(body, sympy.Function) and body.args and body.args[0] == U and all(
            not arg.has(U) for arg in body.args[1:]):
        return body
    return None


def derivative_of(body: sympy.Basic) -> sympy.Basic:
    """``f'(u)`` of an elementwise function, from the rule table.

    >>> derivative_of(sigmoid(U))
    (1 - sigmoid(u))*sigmoid(u)
    >>> derivative_of(step(U, 2)), derivative_of(U**2)
    (0, 2*u)
    """
    app = _single(body)
    if app is not None:
        return local_derivative(app.func, app.args)
    # A composite body such as u**2: the step engine applies the power and chain rules.
    return derive(body, U).result


def fprime(body: sympy.Basic, a: Node, out: Node | None = None, *, simplify: bool = True) -> Node:
    """``f'(a)`` entrywise; ``out`` is the forward value ``f(a)`` (reused: σ' = σ(1 - σ))."""
    if simplify and derivative_of(body) == 0:
        return zeros(a.shape)
    return Node("fprime", (a,) if out is None else (a, out), a.shape, param=body)


def softmax(a: Node) -> Node:
    """Row-wise softmax (each example's scores to probabilities)."""
    return Node("softmax", (a,), a.shape)


def logsoftmax(a: Node) -> Node:
    """Row-wise log-softmax, ``a - logsumexp(a)`` (stable)."""
    return Node("logsoftmax", (a,), a.shape)


def softplus(a: Node) -> Node:
    """``log(1 + e^a)`` entrywise (stable)."""
    return Node("softplus", (a,), a.shape)


def total(a: Node, axis: int | None = None) -> Node:
    """Sum of all entries (``axis=None``), of each column (``axis=0``) or of each row (``axis=1``)."""
    if axis not in (None, 0, 1):
        raise InputError(f"axis must be None, 0 or 1, got {axis!r}")
    shape = (1, 1) if axis is None else ((1, a.shape[1]) if axis == 0 else (a.shape[0], 1))
    if a.op == "zeros":
        return zeros(shape)
    return Node("sum", (a,), shape, param=axis)


def mean(a: Node, axis: int | None = None) -> Node:
    """Mean of the entries (``axis=None``), of each column or of each row."""
    count = {None: a.shape[0] * a.shape[1], 0: a.shape[0], 1: a.shape[1]}[axis]
    return scale(1 / sympy.sympify(count), total(a, axis))


def expand(g: Node, shape: Shape) -> Node:
    """Broadcast ``g`` (a scalar, row or column) to ``shape``."""
    if g.shape == tuple(shape):
        return g
    if g.op == "zeros":
        return zeros(shape)
    return Node("expand", (g,), tuple(shape))


#: Other names of a loss: the node stores the canonical kind, so fusion and codegen see one name.
LOSS_ALIASES = {"cross_entropy": "bce"}


def loss(kind: str, P: Node, Y: Node) -> Node:
    """A loss node ``kind(P, Y)`` (a 1 x 1 value); see :data:`LOSSES`."""
    if kind not in LOSSES:
        raise InputError(f"unknown loss {kind!r}; choose one of {', '.join(LOSSES)}")
    kind = LOSS_ALIASES.get(kind, kind)
    if P.shape != Y.shape:
        raise ShapeError(
            f"the {kind} loss compares {_short(P)} ({shape_text(P.shape)}) with {_short(Y)} "
            f"({shape_text(Y.shape)}): they must have the same shape")
    return Node("loss", (P, Y), (1, 1), param=kind)


def penalty(kind: str, W: Node) -> Node:
    """A regularisation term: ``l2`` (``Σ W^2``) or ``l1`` (``Σ |W|``)."""
    if kind not in PENALTIES:
        raise InputError(f"unknown penalty {kind!r}; choose l2 or l1")
    return Node("penalty", (W,), (1, 1), param=kind)


def _batch(P: Node) -> sympy.Basic:
    return sympy.sympify(P.shape[0])


def fused_input(n: Node) -> Node | None:
    """For a loss fused with its output activation, the pre-activation it differentiates to."""
    if n.op != "loss":
        return None
    P = n.args[0]
    if n.param in ("nll", "softmax_cross_entropy") and P.op == "softmax":
        return P.args[0]
    if n.param == "bce" and P.op == "apply" and P.param == sigmoid(U):
        return P.args[0]
    return None


def expand_loss(n: Node) -> Node:
    """A loss or penalty node written with the primitive operations (what the code computes)."""
    if n.op == "penalty":
        W = n.args[0]
        return total(hadamard(W, W)) if n.param == "l2" else total(apply(sympy.Abs, W))
    kind, (P, Y) = n.param, n.args
    inv_n = 1 / _batch(P)
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
        return scale(inv_n, total(apply(relu(1 - U), hadamard(Y, P))))
    raise InputError(f"unknown loss {kind!r}")  # pragma: no cover - loss() checks the kind


# ---------------------------------------------------------------------------
# reverse mode: one rule per operation
# ---------------------------------------------------------------------------

def _unbroadcast(G: Node, shape: Shape) -> Node:
    """Sum ``G`` down to ``shape`` (the adjoint of a broadcast)."""
    if G.shape == tuple(shape):
        return G
    if shape == (1, 1) and G.shape[0] != 1 and G.shape[1] != 1:
        return total(G)
    if shape[0] == 1 and G.shape[0] != 1:
        G = total(G, 0)
    if shape[1] == 1 and G.shape[1] != 1:
        G = total(G, 1)
    return G


def _times(G: Node, contribution: Node) -> Node:
    """``G`` (the 1 x 1 adjoint of a scalar) times a contribution."""
    if G.op == "const":
        return scale(G.param, contribution)
    return hadamard(G, contribution)


def vjp(n: Node, G: Node) -> list[tuple[Node, Node]]:
    """The contributions ``(operand, adjoint)`` of node ``n`` given its adjoint ``G``."""
    op, args = n.op, n.args
    if op in _LEAVES:
        return []
    if op == "matmul":
        A, B = args
        return [(A, matmul(G, transpose(B))), (B, matmul(transpose(A), G))]
    if op == "transpose":
        return [(args[0], transpose(G))]
    if op == "add":
        return [(a, _unbroadcast(G, a.shape)) for a in args]
    if op == "sub":
        return [(args[0], _unbroadcast(G, args[0].shape)), (args[1], _unbroadcast(scale(-1, G), args[1].shape))]
    if op == "hadamard":
        A, B = args
        return [(A, _unbroadcast(hadamard(G, B), A.shape)), (B, _unbroadcast(hadamard(G, A), B.shape))]
    if op == "divide":
        A, B = args
        return [(A, _unbroadcast(divide(G, B), A.shape)),
                (B, _unbroadcast(scale(-1, divide(hadamard(G, A), hadamard(B, B))), B.shape))]
    if op == "scale":
        return [(args[0], scale(n.param, G))]
    if op == "apply":
        return [(args[0], hadamard(G, fprime(n.param, args[0], n)))]
    if op == "softmax":
        return [(args[0], hadamard(n, sub(G, total(hadamard(G, n), 1))))]
    if op == "logsoftmax":
        return [(args[0], sub(G, hadamard(softmax(args[0]), expand(total(G, 1), n.shape))))]
    if op == "softplus":
        return [(args[0], hadamard(G, apply(sigmoid, args[0])))]
    if op == "sum":
        return [(args[0], expand(G, args[0].shape))]
    if op == "expand":
        return [(args[0], _unbroadcast(G, args[0].shape))]
    if op == "penalty":
        W = args[0]
        local = scale(2, W) if n.param == "l2" else apply(sympy.sign, W)
        return [(W, _times(G, local))]
    if op == "loss":
        return [_loss_vjp(n, G)]
    raise InputError(f"derivkit cannot differentiate the operation {op!r}")  # pragma: no cover


def _loss_vjp(n: Node, G: Node) -> tuple[Node, Node]:
    kind, (P, Y) = n.param, n.args
    inv_n = 1 / _batch(P)
    D = sub(P, Y)
    Z = fused_input(n)
    if Z is not None:  # softmax + cross-entropy, sigmoid + BCE: (P - Y)/N
        return Z, _times(G, scale(inv_n, D))
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
    else:  # hinge
        local = scale(-inv_n, hadamard(Y, apply(step(1 - U), hadamard(Y, P))))
    return P, _times(G, local)


def _topo(root: Node, stop: Callable[[Node], bool]) -> list[Node]:
    """Nodes under ``root``, operands before users; does not descend into ``stop`` nodes."""
    order: list[Node] = []
    seen: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if node is root or not stop(node):
            for arg in reversed(node.args):
                if id(arg) not in seen:
                    stack.append((arg, False))
    return order


def _adjoint_name(name: str, taken: set[str]) -> str:
    base = name[:-3] if name.endswith("_in") and len(name) > 3 else name
    out = f"G_{base}"
    while out in taken:
        out += "_"
    return out


def reverse(root: Node, seed: Node, *, stop_at_named: bool = False,
            name_adjoints: set[str] | None = None) -> tuple[dict[int, Node], dict[int, Node]]:
    """Reverse mode from ``root`` with adjoint ``seed``.

    Returns ``(adjoints, nodes)`` keyed by node id. With ``stop_at_named`` the
    walk stays inside ``root``'s own definition (named nodes are leaves). With
    ``name_adjoints`` (the names in use), the adjoint of each named linear node
    (a product or sum, such as ``O_in``) becomes a named node ``G_O``.
    """
    order = _topo(root, (lambda n: n.name is not None) if stop_at_named else (lambda n: False))
    pending: dict[int, list[Node]] = {id(root): [seed]}
    adjoints: dict[int, Node] = {}
    nodes = {id(n): n for n in order}
    for node in reversed(order):
        parts = pending.pop(id(node), None)
        if not parts:
            continue
        G = parts[0]
        for part in parts[1:]:
            G = add(G, part)
        if (name_adjoints is not None and node.name is not None and node.op in ("matmul", "add", "sub")
                and G.name is None and G.op not in _LEAVES):
            adj_name = _adjoint_name(node.name, name_adjoints)
            name_adjoints.add(adj_name)
            G = dataclasses.replace(G, name=adj_name)
        adjoints[id(node)] = G
        if node is not root and stop_at_named and node.name is not None:
            continue
        for target, contribution in vjp(node, G):
            pending.setdefault(id(target), []).append(contribution)
            nodes.setdefault(id(target), target)
    for key, parts in pending.items():  # operands outside the walk (a fused loss skips a named node)
        G = parts[0]
        for part in parts[1:]:
            G = add(G, part)
        adjoints[key] = G
    return adjoints, nodes


# ---------------------------------------------------------------------------
# printing in the course's notation
# ---------------------------------------------------------------------------

_PREC = {"add": 10, "sub": 10, "scale": 15, "matmul": 20, "hadamard": 20, "divide": 20}


def _name_latex(name: str) -> str:
    """``H_in`` -> ``H_{in}``, ``W1`` -> ``W_{1}``, ``MSE`` -> ``\\mathrm{MSE}``."""
    base, _, sub = name.partition("_")
    if len(base) > 1 and base.isalpha():
        return rf"\mathrm{{{base}}}" + (f"_{{{sub}}}" if sub else "")
    letters = base.rstrip("0123456789")
    if sub and letters and letters != base and "_" not in sub:  # H1_in -> H_{1,in}
        return f"{letters}_{{{base[len(letters):]},{sub}}}"
    return sympy.latex(sympy.Symbol(name))


def _scalar_text(c: sympy.Basic) -> str:
    from derivkit.render.common import expr_text

    return expr_text(c)


def _fname(app, latex: bool) -> str:
    func = app.func
    if func is sigmoid:
        return r"\sigma" if latex else "σ"
    names = {"relu": "ReLU", "leaky_relu": "LeakyReLU"}
    name = names.get(func.__name__, func.__name__)
    if latex:
        return "\\" + name if name in ("tanh", "exp", "log", "sin", "cos", "sinh", "cosh") else rf"\operatorname{{{name}}}"
    return name


def _body(expr: sympy.Basic, arg: str, latex: bool) -> str:
    """Print a scalar body in ``u`` with the matrix argument's text in place of ``u``."""
    from derivkit.render.common import expr_latex, expr_text

    mark = sympy.Symbol("ZZARGZZ")
    text = (expr_latex if latex else expr_text)(expr.subs(U, mark))
    return text.replace("ZZARGZZ", arg)


def _fmt(n: Node, latex: bool, top: bool = False) -> tuple[str, int]:
    if n.name is not None and not top:
        return (_name_latex(n.name) if latex else n.name), 100
    op, args = n.op, n.args

    def sub_(child: Node, level: int, same_ok: bool = True) -> str:
        text, prec = _fmt(child, latex)
        if prec < level or (prec == level and not (same_ok and child.op == op)):
            return (r"\left(" + text + r"\right)") if latex else f"({text})"
        return text

    if op in ("input", "param", "adjoint"):
        return (_name_latex(n.name) if latex else n.name), 100
    if op == "const":
        negative = n.param.could_extract_minus_sign()
        return (sympy.latex(n.param) if latex else _scalar_text(n.param)), 10 if negative else 100
    if op == "zeros":
        return "0", 100
    if op == "matmul":
        return f"{sub_(args[0], 20)} {sub_(args[1], 20)}", 20
    if op == "hadamard":
        sym = r" \circ " if latex else " ∘ "
        return f"{sub_(args[0], 20)}{sym}{sub_(args[1], 20)}", 20
    if op == "divide":
        sym = r" \oslash " if latex else " / "
        return f"{sub_(args[0], 20)}{sym}{sub_(args[1], 21)}", 20
    if op in ("add", "sub"):
        sym = " + " if op == "add" else " - "
        return f"{sub_(args[0], 10)}{sym}{sub_(args[1], 10, op == 'add')}", 10
    if op == "scale":
        c = n.param
        inner, prec = _fmt(args[0], latex)
        if c == 1:
            return inner, prec
        if c == -1:
            return "-" + (inner if prec > 15 else (r"\left(" + inner + r"\right)" if latex else f"({inner})")), 15
        if latex:
            ctext = sympy.latex(c)
            ctext = ctext if (c.is_Integer or c.is_Symbol) else rf"\left({ctext}\right)" if c.is_Add else ctext
            wrapped = inner if prec >= 90 else r"\left(" + inner + r"\right)"
            return f"{ctext} {wrapped}", 21
        ctext = _scalar_text(c)
        ctext = ctext if c.is_Integer else f"({ctext})"
        if prec < 90:
            return f"{ctext}({inner})", 21
        return f"{ctext} {inner}", 21
    if op == "transpose":
        base = sub_(args[0], 91)
        return (base + "^{T}" if latex else base + "^T"), 90
    if op == "apply":
        inner, _ = _fmt(args[0], latex)
        return _body(n.param, inner, latex), 90
    if op == "fprime":
        inner, _ = _fmt(args[0], latex)
        app = _single(n.param)
        if app is not None:
            rest = [sympy.latex(a) if latex else _scalar_text(a) for a in app.args[1:]]
            inside = ", ".join([inner] + rest)
            if latex:
                return rf"{_fname(app, True)}'\left({inside}\right)", 90
            return f"{_fname(app, False)}'({inside})", 90
        return _body(derivative_of(n.param), inner, latex), 90
    if op in ("softmax", "logsoftmax", "softplus"):
        inner, _ = _fmt(args[0], latex)
        name = {"softmax": "softmax", "logsoftmax": "log softmax", "softplus": "softplus"}[op]
        if latex:
            name = {"softmax": r"\operatorname{softmax}", "logsoftmax": r"\log\operatorname{softmax}",
                    "softplus": r"\operatorname{softplus}"}[op]
            return rf"{name}\left({inner}\right)", 90
        return f"{name}({inner})", 90
    if op == "sum":
        inner = sub_(args[0], 90)
        if latex:
            lower = {None: "", 0: "_{e}", 1: "_{n}"}[n.param]
            return rf"\sum{lower} {inner}", 15
        lower = {None: "Σ", 0: "Σ_e", 1: "Σ_n"}[n.param]
        return f"{lower} {inner}", 15
    if op == "expand":
        if latex:
            return rf"{sub_(args[0], 91)} \mathbf{{1}}", 90
        return f"broadcast({_fmt(args[0], latex)[0]})", 90
    if op == "loss":
        P, _ = _fmt(args[0], latex)
        Y, _ = _fmt(args[1], latex)
        template = LOSSES[n.param]["latex" if latex else "text"]
        return template.replace("P", "\0").replace("Y", "\1").replace("\0", P).replace("\1", Y), 10
    if op == "penalty":
        W, _ = _fmt(args[0], latex)
        return PENALTIES[n.param]["latex" if latex else "text"].replace("W", W), 15
    return op, 0  # pragma: no cover - every op is listed above


def _bc(M, shape):
    """Broadcast a SymPy matrix expression to ``shape`` with all-ones matrices (a bias row: ``1 b``)."""
    if tuple(M.shape) == tuple(shape):
        return M
    if M.shape[0] == 1 and shape[0] != 1:
        M = sympy.OneMatrix(shape[0], 1) * M
    if M.shape[1] == 1 and shape[1] != 1:
        M = M * sympy.OneMatrix(1, shape[1])
    return M


def to_sympy(n: Node, top: bool = True):
    """The node as a SymPy matrix expression over ``MatrixSymbol``s of the graph's names.

    Elementwise functions become ``ElementwiseApplyFunction``, broadcasts and
    sums products with all-ones matrices. Row-wise softmax has no SymPy matrix
    form and raises :class:`~derivkit.errors.InputError`.

    >>> from derivkit.nn.networks import mlp
    >>> bp = mlp([2, 3, 1]).backprop()
    >>> to_sympy(bp.gradients["W2"]), to_sympy(bp.gradients["b1"])
    (H_out.T*G_O, 1*G_H)
    >>> to_sympy(bp.definitions["G_H"]).shape
    (N, 3)
    """
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

    if n.op in ("input", "param", "adjoint") or (n.name is not None and not top):
        return sympy.MatrixSymbol(n.name, *n.shape)
    op, shape = n.op, n.shape
    args = [to_sympy(a, top=False) for a in n.args]
    if op == "const":
        return n.param * sympy.OneMatrix(1, 1)
    if op == "zeros":
        return sympy.ZeroMatrix(*shape)
    if op == "matmul":
        return args[0] * args[1]
    if op == "transpose":
        return args[0].T
    if op in ("add", "sub", "hadamard", "divide"):
        a, b = (_bc(x, shape) for x in args)
        if op == "add":
            return a + b
        if op == "sub":
            return a - b
        if op == "divide":
            b = ElementwiseApplyFunction(sympy.Lambda(U, 1 / U), b)
        return sympy.HadamardProduct(a, b)
    if op == "scale":
        return n.param * args[0]
    if op in ("apply", "fprime"):
        body = n.param if op == "apply" else derivative_of(n.param)
        return ElementwiseApplyFunction(sympy.Lambda(U, body), args[0])
    if op == "sum":
        A = args[0]
        rows, cols = n.args[0].shape
        if n.param in (None, 0):
            A = sympy.OneMatrix(1, rows) * A
        if n.param in (None, 1):
            A = A * sympy.OneMatrix(cols, 1)
        return A
    if op == "expand":
        return _bc(args[0], shape)
    if op in ("loss", "penalty"):
        return to_sympy(expand_loss(n), top=True)
    raise InputError(f"{op} has no SymPy matrix-expression form; use the text or LaTeX rendering")


def node_text(n: Node, top: bool = False) -> str:
    """The node in plain text; with ``top`` a named node prints its definition."""
    return _fmt(n, False, top)[0]


def node_latex(n: Node, top: bool = False) -> str:
    """The node in LaTeX; with ``top`` a named node prints its definition."""
    return _fmt(n, True, top)[0]


# ---------------------------------------------------------------------------
# reading definitions from strings (safely, with ast: nothing is evaluated)
# ---------------------------------------------------------------------------

_AST_BINOPS = {ast.MatMult: "@", ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


def _parse_definition(text: str, names: Mapping[str, Node]) -> Node:
    if len(text) > 2000:
        raise ParseError("the definition is too long (2000 characters at most)", text, None)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise ParseError(f"cannot read the definition: {err.msg}", text, (err.offset or 1) - 1) from None
    return _read(tree.body, text, names)


def _read(node: ast.AST, text: str, names: Mapping[str, Node]):
    where = getattr(node, "col_offset", None)
    if isinstance(node, ast.Name):
        if node.id in names:
            return names[node.id]
        raise ParseError(f"unknown name {node.id!r}: define it first (known: {', '.join(names) or 'none'})", text, where)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return _number(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _read(node.operand, text, names)
        return -value
    if isinstance(node, ast.Attribute) and node.attr == "T":
        value = _read(node.value, text, names)
        if not isinstance(value, Node):
            raise ParseError("only a matrix can be transposed", text, where)
        return value.T
    if isinstance(node, ast.BinOp) and type(node.op) in _AST_BINOPS:
        a, b = _read(node.left, text, names), _read(node.right, text, names)
        sym = _AST_BINOPS[type(node.op)]
        if not isinstance(a, Node) and not isinstance(b, Node):
            if sym in "+-*" or (sym == "/" and b != 0):
                return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b != 0 else 0}[sym]
            return _bad(text, where)
        if sym == "@":
            if not (isinstance(a, Node) and isinstance(b, Node)):
                raise ParseError("@ multiplies two matrices", text, where)
            return a @ b
        if sym == "**":
            if not isinstance(a, Node) or isinstance(b, Node):
                raise ParseError("a power needs a matrix base and a number exponent", text, where)
            return a ** b
        return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b}[sym]()
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        fname = node.func.id
        args = [_read(arg, text, names) for arg in node.args]
        return _call(fname, args, text, where)
    return _bad(text, where)


def _bad(text: str, where: int | None):
    raise ParseError("a definition may use names, numbers, @ * + - / **, .T and function calls only", text, where)


def _call(fname: str, args: list, text: str, where: int | None) -> Node:
    nodes = [a for a in args if isinstance(a, Node)]
    if fname in LOSSES:
        if len(args) != 2 or len(nodes) != 2:
            raise ParseError(f"{fname}(P, Y) takes the prediction and the target", text, where)
        return loss(fname, args[0], args[1])
    if fname in ("l2_penalty", "l1_penalty"):
        if len(args) != 1 or len(nodes) != 1:
            raise ParseError(f"{fname}(W) takes one parameter", text, where)
        return penalty(fname[:2], args[0])
    if not args or not isinstance(args[0], Node) or len(nodes) != 1:
        raise ParseError(f"{fname}(...) takes one matrix first (then numbers)", text, where)
    a, rest = args[0], args[1:]
    simple = {"softmax": softmax, "log_softmax": logsoftmax, "softplus": softplus}
    if fname in simple and not rest:
        return simple[fname](a)
    if fname in ("sum", "mean") and len(rest) <= 1:
        axis = int(rest[0]) if rest else None
        if rest and rest[0] not in (0, 1):
            raise ParseError(f"{fname}(A, axis): the axis is 0 or 1", text, where)
        return total(a, axis) if fname == "sum" else mean(a, axis)
    if fname in _FUNCTIONS:
        cls = _FUNCTIONS[fname]
        try:
            return apply(cls(U, *rest), a)
        except (TypeError, ValueError) as err:
            raise ParseError(f"{fname} does not take these arguments ({err})", text, where) from None
    raise ParseError(f"unknown function {fname!r}", text, where)


# ---------------------------------------------------------------------------
# the graph
# ---------------------------------------------------------------------------

class Graph(Renderable):
    """Inputs, parameters and named definitions over matrices with shapes.

    >>> g = Graph()
    >>> X = g.input("X", ("N", 2)); W = g.param("W", (2, 1)); b = g.param("b", (1, 1))
    >>> S = g.define("S", X @ W + b)
    >>> print(g.definitions["S"], S.shape)
    X W + b (N, 1)
    >>> g.define("bad", "W @ X")
    Traceback (most recent call last):
    ...
    derivkit.errors.ShapeError: in the definition of bad: cannot multiply W (2 x 1) by X (N x 2): a matrix product needs the columns of the first (1) to equal the rows of the second (N)
    """

    def __init__(self) -> None:
        self._nodes: dict[str, Node] = {}
        self._inputs: list[str] = []
        self._params: list[str] = []
        self._defined: list[str] = []
        self.init: dict[str, str] = {}
        self.output_name: str | None = None

    # -- building -----------------------------------------------------------
    def _check_name(self, name: str) -> None:
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
            raise InputError(f"{name!r} is not a valid node name (letters, digits and _, not starting with _ or a digit)")
        if name in _RESERVED or name in _FUNCTIONS or name in LOSSES:
            raise InputError(f"{name!r} is a reserved word and cannot name a node")
        if name in self._nodes:
            raise InputError(f"the graph already has a node named {name!r}")
        dims = {str(d) for n in self._nodes.values() for d in n.shape if isinstance(d, sympy.Symbol)}
        if name in dims:
            raise InputError(f"{name!r} is already a size (dimension) name of the graph")

    def _leaf(self, kind: str, name: str, shape) -> Node:
        self._check_name(name)
        node = Node(kind, (), _shape(shape, name), name)
        for d in node.shape:
            if isinstance(d, sympy.Symbol) and str(d) in self._nodes:
                raise InputError(f"the size name {d} is already a node name")
        self._nodes[name] = node
        return node

    def input(self, name: str, shape) -> Node:
        """Declare data (``X``, ``Y``); sizes may be names such as ``"N"``."""
        node = self._leaf("input", name, shape)
        self._inputs.append(name)
        return node

    def param(self, name: str, shape, init: str | None = None) -> Node:
        """Declare a trainable parameter; ``init`` is ``"xavier"``, ``"he"`` or ``"zeros"`` (a hint)."""
        node = self._leaf("param", name, shape)
        if any(isinstance(d, sympy.Symbol) for d in node.shape):
            del self._nodes[name]
            raise ShapeError(f"the parameter {name} needs a fixed shape, got {shape_text(node.shape)}")
        if init is not None and init not in ("xavier", "he", "zeros"):
            del self._nodes[name]
            raise InputError(f"unknown init {init!r} for {name}; choose xavier, he or zeros")
        self._params.append(name)
        self.init[name] = init or ("zeros" if node.shape[0] == 1 else "xavier")
        return node

    def define(self, name: str, expr: Node | str) -> Node:
        """Name a matrix expression (a :class:`Node` or a string such as ``"sigmoid(H_in)"``)."""
        self._check_name(name)
        try:
            node = _parse_definition(expr, self._nodes) if isinstance(expr, str) else expr
        except ShapeError as err:
            raise ShapeError(f"in the definition of {name}: {err}") from None
        if not isinstance(node, Node):
            raise InputError(f"the definition of {name} must be a matrix expression, got {expr!r}")
        if node.op in ("input", "param") or node.name is not None:
            node = Node("scale", (node,), node.shape, param=sympy.S.One)
        named = dataclasses.replace(node, name=name)
        self._nodes[name] = named
        self._defined.append(name)
        if named.op == "loss" and self.output_name is None:
            self.output_name = named.args[0].name
        return named

    # -- reading ------------------------------------------------------------
    def __getitem__(self, name: str) -> Node:
        try:
            return self._nodes[name]
        except KeyError:
            raise InputError(f"the graph has no node named {name!r}; it has {', '.join(self._nodes)}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._nodes

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(self._inputs)

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(self._params)

    @property
    def definitions(self) -> dict[str, str]:
        """Each defined name and its definition in text."""
        return {n: node_text(self._nodes[n], top=True) for n in self._defined}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._nodes)

    def node(self, name: str) -> Node:
        return self[name]

    def default_loss(self) -> str:
        """The last scalar (1 x 1) definition: the loss."""
        for name in reversed(self._defined):
            if self._nodes[name].shape == (1, 1):
                return name
        raise InputError("the graph defines no scalar (1 x 1) loss; define one, e.g. g.define('MSE', 'mse(O_out, Y)')")

    def backprop(self, loss: str | None = None) -> "Backprop":
        """Reverse mode at the matrix level: gradients of ``loss`` for every parameter."""
        return _backprop(self, loss)

    def compile(self, backend: str = "numpy", dtype: Any = "float64", loss: str | None = None):
        """Generate and compile NumPy code for the loss and all gradients (see :class:`CompiledGraph`)."""
        from derivkit.compile.compiled import CompiledGraph

        return CompiledGraph(self.backprop(loss), backend=backend, dtype=dtype)

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": {n: shape_text(self._nodes[n].shape) for n in self._inputs},
            "params": {n: shape_text(self._nodes[n].shape) for n in self._params},
            "definitions": [{"name": n, "expr": node_text(self._nodes[n], top=True),
                             "latex": node_latex(self._nodes[n], top=True),
                             "shape": shape_text(self._nodes[n].shape)} for n in self._defined],
        }


# ---------------------------------------------------------------------------
# the result of backprop
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Factor:
    """One local derivative ``∂upper/∂lower`` of a chain.

    ``local`` is the factor in the course's form (``W2^T``, ``σ'(O_in)``,
    ``(2/N)(O_out - Y)``) and ``how`` says how it acts on the adjoint ``G`` of
    ``upper``: ``"left"`` (``local G``), ``"right"`` (``G local``), ``"hadamard"``
    (``G ∘ local``), ``"scale"``, ``"loss"`` (the first factor) or ``"vjp"``
    (``vjp`` is then the whole map); ``vjp`` is that map written with ``G``.
    """

    upper: str
    lower: str
    local: Node
    how: str
    vjp: Node
    zero: bool = False
    fused: bool = False

    @property
    def label(self) -> str:
        return f"∂{self.upper}/∂{self.lower}"

    @property
    def shape(self) -> Shape:
        return self.local.shape

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "upper": self.upper, "lower": self.lower, "local": node_text(self.local, top=True),
                "local_latex": node_latex(self.local, top=True), "how": self.how, "vjp": node_text(self.vjp, top=True),
                "shape": shape_text(self.shape), "zero": self.zero, "fused": self.fused}


@dataclass(frozen=True)
class Backprop(Renderable):
    """Matrix-level gradients of a graph's loss.

    ``gradients[name]`` is the gradient of the loss for each parameter, a
    :class:`Node` in the graph's names (``H_out^T G_O``); ``definitions`` the
    named adjoints (``G_O``, ``G_H``) in the order they are computed;
    ``chain(name)`` the ordered local factors; ``notes`` what a reader must
    know (a step activation passes no gradient, fused softmax + cross-entropy).
    """

    graph: Graph
    loss: str
    gradients: Mapping[str, Node]
    definitions: Mapping[str, Node]
    edges: Mapping[str, tuple[Factor, ...]] = field(repr=False)
    notes: tuple[str, ...] = ()

    def chain(self, name: str) -> tuple[Factor, ...]:
        """The local factors from the loss down to ``name``, in the course's order."""
        self.graph[name]
        paths = self.paths(name)
        if not paths:
            raise InputError(f"the loss {self.loss} does not depend on {name}")
        if len(paths) > 1:
            raise InputError(f"{name} reaches {self.loss} along {len(paths)} paths; the gradient sums over them "
                             "(see .paths(name) and .gradients)")
        return paths[0]

    def paths(self, name: str) -> list[tuple[Factor, ...]]:
        """Every chain of named nodes from the loss down to ``name``."""
        out: list[tuple[Factor, ...]] = []

        def walk(at: str, acc: tuple[Factor, ...]) -> None:
            if at == name:
                out.append(acc)
                return
            for factor in self.edges.get(at, ()):
                walk(factor.lower, acc + (factor,))

        walk(self.loss, ())
        return out if name != self.loss else []

    @property
    def output(self) -> str | None:
        return self.graph.output_name

    def only(self, *names: str) -> "Backprop":
        """The same result restricted to the gradients of ``names`` (for display)."""
        for name in names:
            if name not in self.gradients:
                raise InputError(f"{name} is not a parameter; the parameters are {', '.join(self.gradients)}")
        return dataclasses.replace(self, gradients={n: self.gradients[n] for n in names})

    def to_dict(self) -> dict[str, Any]:
        chains = {}
        for p in self.gradients:
            try:
                chains[p] = [f.to_dict() for f in self.chain(p)]
            except InputError:
                chains[p] = None
        return {
            "loss": self.loss,
            "graph": self.graph.to_dict(),
            "definitions": [{"name": n, "expr": node_text(e, top=True), "latex": node_latex(e, top=True),
                             "shape": shape_text(e.shape)} for n, e in self.definitions.items()],
            "gradients": {p: {"expr": node_text(e), "latex": node_latex(e), "shape": shape_text(e.shape)}
                          for p, e in self.gradients.items()},
            "chains": chains,
            "notes": list(self.notes),
        }


def _classify(G: Node, vjp_expr: Node) -> tuple[Node, str]:
    if vjp_expr is G:
        return Node("const", (), (1, 1), param=sympy.S.One), "identity"
    if vjp_expr.op == "matmul":
        A, B = vjp_expr.args
        if B is G:
            return A, "left"
        if A is G:
            return B, "right"
    if vjp_expr.op == "hadamard" and vjp_expr.args[0] is G:
        return vjp_expr.args[1], "hadamard"
    if vjp_expr.op == "scale" and vjp_expr.args[0] is G:
        return const(vjp_expr.param), "scale"
    if vjp_expr.op == "transpose" and vjp_expr.args[0] is G:
        return vjp_expr, "transpose"
    return vjp_expr, "vjp"


def _local_factors(upper: Node) -> list[Factor]:
    """The factors ``∂upper/∂lower`` for each named node ``lower`` in ``upper``'s definition."""
    G = Node("adjoint", (), upper.shape, "G")
    is_loss = upper.shape == (1, 1)
    seed = const(1) if is_loss else G
    adjoints, nodes = reverse(upper, seed, stop_at_named=True)
    factors = []
    fused = fused_input(upper) if upper.op == "loss" else None
    for key, adj in adjoints.items():
        lower = nodes[key]
        if lower is upper or lower.name is None or lower.op in ("const", "zeros"):
            continue
        if upper.op == "apply" and upper.args[0] is lower:
            local = fprime(upper.param, lower, upper, simplify=False)
            zero = derivative_of(upper.param) == 0
            factors.append(Factor(upper.name, lower.name, local, "hadamard", hadamard(G, local) if not zero else adj,
                                  zero=zero))
            continue
        if is_loss:
            factors.append(Factor(upper.name, lower.name, adj, "loss", adj, fused=lower is fused))
            continue
        local, how = _classify(G, adj)
        factors.append(Factor(upper.name, lower.name, local, how, adj, zero=adj.op == "zeros"))
    return factors


def _backprop(graph: Graph, loss_name: str | None) -> Backprop:
    loss_name = loss_name or graph.default_loss()
    root = graph[loss_name]
    if root.shape != (1, 1):
        raise ShapeError(f"backprop needs a scalar loss, but {loss_name} is {shape_text(root.shape)}")
    taken = set(graph.names)
    adjoints, nodes = reverse(root, const(1), name_adjoints=taken)
    gradients: dict[str, Node] = {}
    for p in graph.params:
        node = graph[p]
        adj = adjoints.get(id(node))
        gradients[p] = adj if adj is not None else zeros(node.shape)
    # named adjoints, in the order the backward pass computes them (loss first)
    definitions: dict[str, Node] = {}
    order = _topo(root, lambda n: False)
    for node in reversed(order):
        adj = adjoints.get(id(node))
        if adj is not None and adj.name is not None and adj.name not in graph and adj.name not in definitions:
            definitions[adj.name] = adj
    # the named-node chain structure and the notes
    edges: dict[str, tuple[Factor, ...]] = {}
    notes: list[str] = []
    for node in reversed(order):
        if node.name is None or node.op in ("input", "param"):
            continue
        factors = _local_factors(node)
        edges[node.name] = tuple(factors)
        for f in factors:
            if f.zero and f.how == "hadamard":
                app = _single(f.local.param)
                fname = app.func.__name__ if app is not None else "this function"
                blocked = [p for p in graph.params if gradients[p].op == "zeros"]
                notes.append(
                    f"{f.upper} = {fname}({f.lower}): the derivative {fname}'({f.lower}) is 0 wherever it is defined, "
                    f"so no gradient flows back through {f.upper}"
                    + (": " + ", ".join(f"∂{loss_name}/∂{p} = 0" for p in blocked)
                       + ", and gradient descent cannot move " + ("it" if len(blocked) == 1 else "them")
                       if blocked else "") + ".")
            if f.fused:
                upper_in = graph[f.upper].args[0]
                notes.append(
                    f"{upper_in.name} = {'softmax' if upper_in.op == 'softmax' else 'σ'}({f.lower}) and {loss_name} "
                    f"are differentiated together (fused): ∂{loss_name}/∂{f.lower} = (1/N)({upper_in.name} - "
                    f"{node.args[1].name if node.args[1].name else 'Y'}), which is simpler and numerically stable.")
    return Backprop(graph, loss_name, gradients, definitions, edges, tuple(notes))
