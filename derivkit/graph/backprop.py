r"""The result of backpropagation: every gradient, the named backward quantities and the chains of factors.

:func:`backprop` runs reverse mode from the loss (:mod:`derivkit.graph.reverse`).
The gradient of each parameter is a node in the graph's names (``H_out^T G_O``);
the adjoint of each named linear layer gets the course's name (``O_in`` ->
``G_O``); ``chain(name)`` lists the local factors from the loss down to a node,
each with how it acts on the incoming gradient ``G``; ``gradient(name)`` is the
gradient of the loss for any named node or float input.

>>> from derivkit.nn.networks import mlp
>>> bp = mlp([2, 3, 1], bias=False).backprop()
>>> print(bp.gradients["W1"], "|", bp.definitions["G_O"], "|", bp.gradient("H_out"))
X^T G_H | (2/N)(O_out - Y) ∘ σ'(O_in) | G_O W2^T
>>> [f.label for f in bp.chain("W1")]
['∂MSE/∂O_out', '∂O_out/∂O_in', '∂O_in/∂H_out', '∂H_out/∂H_in', '∂H_in/∂W1']
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

import sympy

from derivkit.errors import InputError, ShapeError
from derivkit.graph.node import Node, make
from derivkit.graph.ops import const, derivative_of, expand, fprime, fused_input, hadamard, single, zeros
from derivkit.graph.printing import node_latex, node_text
from derivkit.graph.reverse import reverse, topo
from derivkit.graph.shapes import Shape, is_scalar_shape, shape_text
from derivkit.renderable import Renderable

if TYPE_CHECKING:  # pragma: no cover
    from derivkit.graph.graph import Graph

__all__ = ["Factor", "Backprop", "backprop"]


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

    def __repr__(self) -> str:
        return f"Factor({self.label} = {node_text(self.local, top=True)}, {self.how})"


@dataclass(frozen=True)
class Backprop(Renderable):
    """Gradients of a graph's loss.

    ``gradients[name]`` is the gradient of the loss for each parameter, a
    :class:`~derivkit.graph.node.Node` in the graph's names (``H_out^T G_O``);
    ``definitions`` the named adjoints (``G_O``, ``G_H``) in the order they are
    computed; ``gradient(name)`` the gradient for any named node or float
    input; ``chain(name)`` the ordered local factors; ``notes`` what a reader
    must know (a step activation passes no gradient, fused softmax + cross-entropy).
    """

    graph: "Graph"
    loss: str
    gradients: Mapping[str, Node]
    definitions: Mapping[str, Node]
    edges: Mapping[str, tuple[Factor, ...]] = field(repr=False)
    notes: tuple[str, ...] = ()
    adjoints: Mapping[int, Node] = field(default_factory=dict, repr=False)

    def gradient(self, name: str) -> Node:
        """∂loss/∂name for any named node or float input, as an expression in the graph's names."""
        node = self.graph[name]
        if node.dtype == "int":
            raise InputError(f"{name} holds integers (indices or labels): it has no gradient")
        if name == self.loss:
            return const(1)
        found = self.adjoints.get(node.uid)
        if found is not None:
            return _shaped(found, node)
        root = self.graph[self.loss]
        if node.uid not in {n.uid for n in topo(root)}:
            return zeros(node.shape)
        # A node inside a fused pair (the softmax before its cross-entropy): differentiate without the fusion.
        adjoints, _ = reverse(root, const(1), keep={node.uid})
        return _shaped(adjoints.get(node.uid), node)

    def backward(self, prefix: str = "d") -> tuple[tuple[str, str, Node], ...]:
        """The backward pass as it is written by hand, one line per named node and float leaf.

        Each entry is ``(gradient name, node name, expression)``: ``dlogits``
        for ``logits`` and its expression in the gradients of the nodes above
        it (``dh = dlogits W2^T``), in the order the pass computes them.
        """
        root = self.graph[self.loss]
        taken = set(self.graph.names)

        def namer(node: Node, names: set[str]) -> str | None:
            out = f"{prefix}{node.name}"
            while out in names:
                out += "_"
            return out

        adjoints, _ = reverse(root, const(1), name_adjoints=taken, namer=namer)
        rows = []
        for node in reversed(topo(root)):
            if node.name is None or node is root or node.dtype == "int" or node.op == "const":
                continue
            adj = _shaped(adjoints.get(node.uid), node)
            rows.append((adj.name if adj.name is not None else f"{prefix}{node.name}", node.name, adj))
        return tuple(rows)

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
        chains: dict[str, Any] = {}
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

    def __repr__(self) -> str:
        return f"Backprop({self.loss}: gradients of {', '.join(self.gradients) or 'nothing'})"


def _shaped(gradient: Node | None, node: Node) -> Node:
    """The gradient with the node's own shape (a number that reached it broadcast to it; 0 if nothing did)."""
    if gradient is None:
        return zeros(node.shape)
    if tuple(gradient.shape) != tuple(node.shape):
        return expand(gradient, node.shape)
    return gradient


def _classify(G: Node, vjp_expr: Node) -> tuple[Node, str]:
    if vjp_expr is G:
        return make("const", (), (1, 1), param=sympy.S.One), "identity"
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
    G = make("adjoint", (), upper.shape, name="G")
    is_loss = is_scalar_shape(upper.shape)
    seed = const(1) if is_loss else G
    adjoints, nodes = reverse(upper, seed, stop_at_named=True)
    factors = []
    fused = fused_input(upper) if upper.op == "loss" else None
    for key, adj in adjoints.items():
        lower = nodes[key]
        if lower is upper or lower.name is None or lower.op in ("const", "zeros") or lower.dtype == "int":
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


def _notes(graph: "Graph", loss_name: str, gradients: Mapping[str, Node], node: Node,
           factors: list[Factor]) -> list[str]:
    notes = []
    for f in factors:
        if f.zero and f.how == "hadamard":
            app = single(f.local.param)
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
            target = node.args[1]
            notes.append(
                f"{upper_in.name} = {'softmax' if upper_in.op == 'softmax' else 'σ'}({f.lower}) and {loss_name} "
                f"are differentiated together (fused): ∂{loss_name}/∂{f.lower} = (1/N)({upper_in.name} - "
                f"{node_text(target)}), which is simpler and numerically stable.")
    return notes


def backprop(graph: "Graph", loss_name: str | None = None) -> Backprop:
    """Reverse mode at the matrix level: the gradients of ``loss_name`` (default: the graph's loss)."""
    loss_name = loss_name or graph.default_loss()
    root = graph[loss_name]
    if not is_scalar_shape(root.shape):
        raise ShapeError(f"backprop needs a scalar loss, but {loss_name} is {shape_text(root.shape)}")
    taken = set(graph.names)
    adjoints, nodes = reverse(root, const(1), name_adjoints=taken)
    gradients: dict[str, Node] = {}
    for p in graph.params:
        gradients[p] = _shaped(adjoints.get(graph[p].uid), graph[p])
    order = topo(root)
    # named adjoints, in the order the backward pass computes them (loss first)
    definitions: dict[str, Node] = {}
    for node in reversed(order):
        adj = adjoints.get(node.uid)
        if adj is not None and adj.name is not None and adj.name not in graph and adj.name not in definitions:
            definitions[adj.name] = adj
    # the named-node chain structure and the notes
    edges: dict[str, tuple[Factor, ...]] = {}
    notes: list[str] = []
    for node in reversed(order):
        if node.name is None or node.record.leaf:
            continue
        factors = _local_factors(node)
        edges[node.name] = tuple(factors)
        notes += _notes(graph, loss_name, gradients, node, factors)
    return Backprop(graph, loss_name, gradients, definitions, edges, tuple(notes), adjoints)
