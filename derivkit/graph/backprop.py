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
from derivkit.graph.node import U, Node, make
from derivkit.graph.ops import add, apply, const, scale, sub, derivative_of, expand, fprime, fused_input, hadamard, single, zeros
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
            return expand(const(1), node.shape)
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

    def assembled(self, name: str) -> Node:
        """The gradient for ``name`` with every named adjoint written out and each ``f'`` in its teaching form.

        ``X^T G_H`` becomes ``X^T (((2/N)(O_out - Y) ∘ O_out(1 - O_out)) W2^T ∘ H_out(1 - H_out))``:
        the whole expression as it stands on a slide, ``σ'`` written ``σ(1 - σ)`` with the forward values.
        """
        grad = self.gradients[name] if name in self.gradients else self.gradient(name)
        memo: dict[int, Node] = {}

        def rebuild(n: Node, top: bool = False) -> Node:
            if n.uid in memo:
                return memo[n.uid]
            if n.name is not None and n.name in self.definitions and not top:
                out = rebuild(self.definitions[n.name], top=True)
            elif n.op == "fprime" and teaching_form(n) is not None:
                out = teaching_form(n)  # type: ignore[assignment]
            elif not n.args:
                out = n
            else:
                args = tuple(rebuild(a) for a in n.args)
                out = n if args == n.args and (n.name is None or top) else make(
                    n.op, args, n.shape, name=None if top else n.name, param=n.param, dtype=n.dtype)
                if top and n.name is not None:
                    out = make(n.op, args, n.shape, param=n.param, dtype=n.dtype)
            memo[n.uid] = out
            return out

        return rebuild(grad, top=grad.name in self.definitions)

    @property
    def derivatives(self) -> tuple[tuple[Node, Node], ...]:
        """Each ``f'(A)`` of the backward pass with its teaching form: ``(σ'(O_in), O_out(1 - O_out))``."""
        seen: dict[int, tuple[Node, Node]] = {}
        for root in list(self.definitions.values()) + list(self.gradients.values()):
            for n in topo(root):
                form = teaching_form(n) if n.op == "fprime" else None
                if form is not None and n.uid not in seen:
                    seen[n.uid] = (n, form)
        return tuple(seen.values())

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


def teaching_form(n: Node) -> Node | None:
    """``f'(A)`` written with the forward value ``f(A)`` where the rule allows: ``σ'`` as ``σ(1 - σ)``, ``tanh'`` as
    ``1 - tanh^2``; None when the derivative does not use it (ReLU', a power)."""
    if n.op != "fprime" or len(n.args) < 2 or n.args[1].name is None:
        return None
    app = single(n.param)
    d = derivative_of(n.param)
    if app is None or not d.has(app):
        return None
    body = d.subs(app, U)
    if body.has(U) and not body.free_symbols - {U}:
        return _as_nodes(body, n.args[1])
    return None


def _as_nodes(body: sympy.Basic, A: Node) -> Node:
    """A scalar body in ``u`` as entrywise nodes of ``A``: ``u (1 - u)`` -> ``A ∘ (1 - A)``."""
    if body == U:
        return A
    if body.is_number:
        return const(body)
    if isinstance(body, sympy.Add):
        terms = sorted(body.args, key=lambda t: t.could_extract_minus_sign())
        out = _as_nodes(terms[0], A)
        for t in terms[1:]:
            out = sub(out, _as_nodes(-t, A)) if t.could_extract_minus_sign() else add(out, _as_nodes(t, A))
        return out
    if isinstance(body, sympy.Mul):
        coeff, rest = body.as_coeff_Mul()
        factors = sympy.Mul.make_args(rest)
        out = _as_nodes(factors[0], A)
        for factor in factors[1:]:
            out = hadamard(out, _as_nodes(factor, A))
        return out if coeff == 1 else scale(coeff, out)
    return apply(body, A)


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
    upper_name = str(upper.name)
    for key, adj in adjoints.items():
        lower = nodes[key]
        if lower is upper or lower.name is None or lower.op in ("const", "zeros") or lower.dtype == "int":
            continue
        lower_name = lower.name
        if upper.op == "apply" and upper.args[0] is lower:
            local = fprime(upper.param, lower, upper, simplify=False)
            zero = derivative_of(upper.param) == 0
            factors.append(Factor(upper_name, lower_name, local, "hadamard", hadamard(G, local) if not zero else adj,
                                  zero=zero))
            continue
        if is_loss:
            factors.append(Factor(upper_name, lower_name, adj, "loss", adj, fused=lower is fused))
            continue
        local, how = _classify(G, adj)
        factors.append(Factor(upper_name, lower_name, local, how, adj, zero=adj.op == "zeros"))
    return factors


class Note(str):
    """A note on a derivation: the plain text (the string itself) and ``.latex``, for inside a math block."""

    latex: str

    def __new__(cls, *parts: Any) -> "Note":
        text, latex = _note_parts(parts)
        note = super().__new__(cls, text)
        note.latex = latex
        return note


def _note_parts(parts: tuple) -> tuple[str, str]:
    """Pieces of a note: strings are words, nodes and ``("math", text, latex)`` triples are mathematics."""
    from derivkit.render.common import latex_text  # a helper for text inside LaTeX math, no renderer

    text, latex = [], []
    for part in parts:
        if isinstance(part, Node):
            text.append(node_text(part))
            latex.append(node_latex(part))
        elif isinstance(part, tuple):
            text.append(part[1])
            latex.append(part[2])
        else:
            text.append(part)
            latex.append(latex_text(part))
    return "".join(text), " ".join(latex)


def _partial(upper: str, lower: str) -> tuple[str, str, str]:
    from derivkit.graph.printing import name_latex

    return ("math", f"∂{upper}/∂{lower}",
            rf"\frac{{\partial {name_latex(upper)}}}{{\partial {name_latex(lower)}}}")


def _blocked_through(edges: Mapping[str, tuple[Factor, ...]], loss: str, gradients: Mapping[str, Node],
                     f: Factor) -> list[str]:
    """The parameters with a zero gradient all of whose paths to the loss pass through the factor ``f``."""
    out = []
    for p, grad in gradients.items():
        if grad.op != "zeros":
            continue
        paths: list[tuple[Factor, ...]] = []

        def walk(at: str, acc: tuple[Factor, ...]) -> None:
            if at == p:
                paths.append(acc)
                return
            for factor in edges.get(at, ()):
                walk(factor.lower, acc + (factor,))

        walk(loss, ())
        if paths and all(any(x.upper == f.upper and x.lower == f.lower for x in path) for path in paths):
            out.append(p)
    return out


def _notes(graph: "Graph", loss_name: str, gradients: Mapping[str, Node],
           edges: Mapping[str, tuple[Factor, ...]], order: list[Node]) -> list[Note]:
    notes: list[Note] = []
    any_blocked = False
    for node in order:
        for f in edges.get(node.name or "", ()):
            if f.zero and f.how == "hadamard":
                any_blocked = True
                blocked = _blocked_through(edges, loss_name, gradients, f)
                upper = graph[f.upper]
                parts: list[Any] = [
                    ("math", f"{f.upper} = {node_text(upper, top=True)}",
                     f"{node_latex(upper)} = {node_latex(upper, top=True)}"),
                    ": its derivative ", f.local, " is 0 wherever it is defined, so no gradient flows back through ",
                    upper]
                if blocked:
                    parts.append(": ")
                    for i, p in enumerate(blocked):
                        parts += ([", "] if i else []) + [_partial(loss_name, p), ("math", " = 0", "= 0")]
                    parts.append(", and gradient descent cannot move " + ("it" if len(blocked) == 1 else "them"))
                notes.append(Note(*parts, "."))
            if f.fused:
                upper_in = graph[f.upper].args[0]
                target = graph[f.upper].args[1]
                kind = "softmax" if upper_in.op == "softmax" else "σ"
                kind_latex = r"\operatorname{softmax}" if upper_in.op == "softmax" else r"\sigma"
                notes.append(Note(
                    ("math", f"{upper_in.name} = {kind}({f.lower})",
                     rf"{node_latex(upper_in)} = {kind_latex}\left({node_latex(graph[f.lower])}\right)"),
                    " and ", graph[f.upper], " are differentiated together (fused): ", _partial(loss_name, f.lower),
                    ("math", f" = (1/N)({upper_in.name} - {node_text(target)})",
                     rf"= \frac{{1}}{{N}}\left({node_latex(upper_in)} - {node_latex(target)}\right)"),
                    ", which is simpler and numerically stable."))
    if any_blocked:
        notes.append(Note(
            "A step's output does not change when a weight moves a little (it only jumps where its input crosses 0), "
            "so the loss is flat in the weights below it and gradient descent gets no signal. This is why the course "
            "replaces the step by the sigmoid: ", ("math", "σ'(x) = σ(x)(1 - σ(x))",
                                                    r"\sigma'(x) = \sigma(x)\left(1 - \sigma(x)\right)"),
            " is positive everywhere, so every weight gets a gradient."))
    return notes


def backprop(graph: "Graph", loss_name: str | None = None, *, chains: bool = True) -> Backprop:
    """Reverse mode at the matrix level: the gradients of ``loss_name`` (default: the graph's loss).

    ``chains=False`` leaves out the chains of local factors and the notes, which only the
    renderers read (the code generator needs the gradients alone).
    """
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
    for node in reversed(order) if chains else ():
        if node.name is None or node.record.leaf:
            continue
        edges[node.name] = tuple(_local_factors(node))
    notes = _notes(graph, loss_name, gradients, edges, list(reversed(order))) if chains else []
    return Backprop(graph, loss_name, gradients, definitions, edges, tuple(notes), adjoints)
