"""Reverse mode over a graph's nodes: the walk, which never names an operation.

Each node's record gives its backward rule (``Op.vjp``); the walk visits the
nodes from the root down, sums the contributions that arrive at each node (a
node used twice gets both) and hands the sum to the node's own rule.

>>> from derivkit.graph import Graph
>>> g = Graph()
>>> x = g.input("x", (3, 1)); A = g.param("A", (3, 3))
>>> f = g.define("f", "sum(x.T @ A @ x)")
>>> adjoints, nodes = reverse(f, const(1))
>>> print(adjoints[x.uid])
(A + A^T) x
"""

from __future__ import annotations

from typing import Callable, Collection

from derivkit.graph.node import LEAVES, Node
from derivkit.graph.ops import add, const

__all__ = ["topo", "reverse", "adjoint_name", "const"]


def topo(root: Node, stop: Callable[[Node], bool] = lambda n: False) -> list[Node]:
    """Nodes under ``root``, operands before users; does not descend into ``stop`` nodes."""
    order: list[Node] = []
    seen: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node.uid in seen:
            continue
        seen.add(node.uid)
        stack.append((node, True))
        if node is root or not stop(node):
            for arg in reversed(node.args):
                if arg.uid not in seen:
                    stack.append((arg, False))
    return order


def adjoint_name(name: str, taken: set[str]) -> str:
    """The course's name for the gradient arriving at a layer: ``O_in`` -> ``G_O``."""
    base = name[:-3] if name.endswith("_in") and len(name) > 3 else name
    out = f"G_{base}"
    while out in taken:
        out += "_"
    return out


def _is_number(G: Node) -> bool:
    """A number, perhaps broadcast: not worth a name."""
    return G.op == "const" or (G.op == "expand" and G.args[0].op == "const")


def _total(parts: list[Node]) -> Node:
    G = parts[0]
    for part in parts[1:]:
        G = add(G, part)
    return G


def course_names(node: Node, taken: set[str]) -> str | None:
    """The course's names: the gradient arriving at each named linear layer (``O_in`` -> ``G_O``)."""
    if node.record.names_adjoint and node.name is not None:
        return adjoint_name(node.name, taken)
    return None


def d_names(node: Node, taken: set[str]) -> str | None:
    """A name for the gradient at every named node: ``logits`` -> ``dlogits`` (as in hand-written backprop)."""
    out = f"d{node.name}"
    while out in taken:
        out += "_"
    return out


def reverse(root: Node, seed: Node, *, stop_at_named: bool = False, name_adjoints: set[str] | None = None,
            keep: Collection[int] = (), namer: Callable[[Node, set[str]], str | None] = course_names,
            ) -> tuple[dict[int, Node], dict[int, Node]]:
    """Reverse mode from ``root`` with adjoint ``seed``.

    Returns ``(adjoints, nodes)`` keyed by node uid. With ``stop_at_named`` the
    walk stays inside ``root``'s own definition (named nodes are leaves). With
    ``name_adjoints`` (the names in use), the adjoint of a named node becomes a
    named node when ``namer`` gives it a name: by default the course's names
    for the linear layers (``O_in`` -> ``G_O``), with :func:`d_names` every
    named node's (``dlogits``). A rule that skips an operand (a loss fused with its output
    activation) is asked for its plain form when that operand's uid is in
    ``keep``, so that its gradient exists.
    """
    order = topo(root, (lambda n: n.name is not None) if stop_at_named else (lambda n: False))
    pending: dict[int, list[Node]] = {root.uid: [seed]}
    adjoints: dict[int, Node] = {}
    nodes = {n.uid: n for n in order}
    for node in reversed(order):
        parts = pending.pop(node.uid, None)
        if not parts:
            continue
        G = _total(parts)
        if (name_adjoints is not None and node.name is not None and not node.record.leaf
                and G.name is None and G.op not in LEAVES and not _is_number(G)):
            adj_name = namer(node, name_adjoints)
            if adj_name is not None:
                name_adjoints.add(adj_name)
                G = G.renamed(adj_name)
        adjoints[node.uid] = G
        if node is not root and stop_at_named and node.name is not None:
            continue
        contributions = node.record.vjp(node, G)
        targets = {t.uid for t, _ in contributions}
        if any(a.uid in keep and a.uid not in targets for a in node.args):
            contributions = node.record.plain_vjp(node, G)
        for target, contribution in contributions:
            pending.setdefault(target.uid, []).append(contribution)
            nodes.setdefault(target.uid, target)
    for key, parts in pending.items():  # operands outside the walk (a fused loss skips a named node)
        adjoints[key] = _total(parts)
    return adjoints, nodes
