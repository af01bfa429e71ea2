r"""Checking a hand-written backprop node by node: which gradient goes wrong first, and why.

A student who writes a network's backward pass by hand (the backprop-ninja
exercise, a CS231n layer) computes one gradient per node, from the loss down.
:func:`check_backprop` compares each one the student gives with the one derived
from the graph and compiled, walking backward from the loss, and names the
**first wrong node**: the one nearest the loss whose gradient is wrong while
every gradient above it is right. Its mistake is then in that one step, so the
verdict shows that step's rule (the forward definition that uses the node and
the backward line derived from it) and names the likely mistake (a constant
factor such as a missing ``1/N``, a sign, a transpose, a missing term) in the
vocabulary of :func:`derivkit.check`.

>>> import numpy as np
>>> from derivkit.nn import mlp
>>> g = mlp([2, 3, 1], bias=False)
>>> net = g.compile(wrt=("O_in", "H_in", "W2", "W1"))
>>> params = net.init_params(seed=0)
>>> data = {"X": np.array([[1.0, 2.0], [0.5, -1.0]]), "Y": np.array([[1.0], [0.0]])}
>>> _, right = net(params, data)
>>> mine = dict(right, H_in=2 * right["H_in"])          # a factor of 2 too much at H_in
>>> v = check_backprop(g, params, data, mine)
>>> v.ok, v.first_wrong, [r.name for r in v.rows]
(False, 'H_in', ['O_in', 'W2', 'H_in', 'W1'])
>>> v.rows[2].diagnosis
('constant_factor',)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy

from derivkit.errors import InputError, ShapeError
from derivkit.renderable import Renderable, brief_repr
from derivkit.verify.array_diagnosis import diagnose_gradients
from derivkit.verify.finding import Finding

__all__ = ["check_backprop", "BackpropVerdict", "BackpropRow", "RTOL", "ATOL"]

#: Tolerances: a claimed gradient is right when ``max |claimed - derived| <= ATOL + RTOL max |derived|``.
RTOL = 1e-6
ATOL = 1e-9


@dataclass(frozen=True)
class BackpropRow:
    """One claimed gradient: the node's ``name``, ``ok``, the largest absolute and relative
    differences, the mistake ids (``diagnosis``) with their explanations (``findings``)."""

    name: str
    ok: bool
    max_error: float
    relative_error: float
    shape: tuple[int, ...]
    diagnosis: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "max_error": self.max_error, "relative_error": self.relative_error,
                "shape": list(self.shape), "diagnosis": list(self.diagnosis),
                "findings": [{"id": f.id, "message": f.message} for f in self.findings]}

    def __repr__(self) -> str:
        return brief_repr(self, name=self.name, ok=self.ok, max_error=self.max_error, diagnosis=self.diagnosis)


@dataclass(frozen=True)
class BackpropVerdict(Renderable):
    """The outcome of :func:`check_backprop`.

    ``ok`` (every claimed gradient right), ``first_wrong`` (the node nearest
    the loss whose claimed gradient is wrong while every one above it is right,
    or None), ``rows`` (one :class:`BackpropRow` per claimed name, in backward
    order), ``rule`` (for the first wrong node: its backward line and the
    forward definitions it comes from, as text), ``message`` and ``expected``
    (the derived gradients, by name).
    """

    ok: bool
    first_wrong: str | None
    rows: tuple[BackpropRow, ...]
    message: str
    loss: str
    rule: tuple[str, ...] = ()
    rule_latex: tuple[str, ...] = ()
    expected: Mapping[str, numpy.ndarray] = field(default_factory=dict, repr=False)

    def __bool__(self) -> bool:
        return bool(self.ok)

    def __repr__(self) -> str:
        return brief_repr(self, ok=self.ok, first_wrong=self.first_wrong, rows=len(self.rows))

    def row(self, name: str) -> BackpropRow:
        for r in self.rows:
            if r.name == name:
                return r
        raise InputError(f"no gradient of {name!r} was checked; the rows are {', '.join(r.name for r in self.rows)}")

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "first_wrong": self.first_wrong, "loss": self.loss,
                "rows": [r.to_dict() for r in self.rows], "rule": list(self.rule), "message": self.message}


def _claimed_name(key: str, graph: Any) -> str:
    """A claimed key: a node's name, or the hand-written ``d`` + name (``dlogits``)."""
    if key in graph:
        return key
    if key.startswith("d") and key[1:] in graph:
        return key[1:]
    raise InputError(f"claimed names a gradient of {key!r}, which is not a node of the graph; "
                     f"it has {', '.join(graph.names)}")


@dataclass(frozen=True)
class _Step:
    """The step at a node: the forward definitions that use it, its backward line, each ``f'`` written out;
    each line as ``(text, latex)``."""

    forward: tuple[tuple[str, str], ...]
    backward: tuple[str, str] | None
    derivatives: tuple[tuple[str, str], ...]

    def lines(self) -> tuple[tuple[str, str], ...]:
        return self.forward + ((self.backward,) if self.backward else ()) + self.derivatives


def _step(bp: Any, name: str) -> _Step:
    from derivkit.graph import node_latex, node_text
    from derivkit.graph.backprop import teaching_form
    from derivkit.graph.printing import name_latex
    from derivkit.graph.reverse import topo

    graph = bp.graph
    users = [upper for upper, factors in bp.edges.items() if any(f.lower == name for f in factors)]
    forward = tuple((f"{u} = {node_text(graph[u], top=True)}", rf"{name_latex(u)} = {node_latex(graph[u], top=True)}")
                    for u in users)
    backward = None
    derivatives: list[tuple[str, str]] = []
    for dname, node_name, expr in bp.backward():
        if node_name != name:
            continue
        top = expr.name == dname
        backward = (f"{dname} = {node_text(expr, top=top)}", rf"{name_latex(dname)} = {node_latex(expr, top=top)}")
        for n in topo(expr):
            form = teaching_form(n)
            if form is not None:
                derivatives.append((f"{node_text(n)} = {node_text(form)}", rf"{node_latex(n)} = {node_latex(form)}"))
        break
    return _Step(forward, backward, tuple(derivatives))


def check_backprop(graph: Any, params: Mapping[str, Any], data: Mapping[str, Any], claimed: Mapping[str, Any], *,
                   loss: str | None = None, rtol: float = RTOL, atol: float = ATOL) -> BackpropVerdict:
    """Compare hand-computed gradients of a graph's nodes, inputs and parameters with the derived ones.

    ``graph`` is a :class:`~derivkit.graph.Graph`; ``params`` and ``data`` the
    values its compiled function takes; ``claimed`` maps node, input or
    parameter names (or ``d`` + the name, as hand-written backprop names them:
    ``dlogits``) to the user's gradient arrays. A compiled graph is checked
    against the graph it was compiled from (with its loss).
    """
    from derivkit.graph import Graph

    if hasattr(graph, "backprop") and isinstance(getattr(graph, "graph", None), Graph):  # a CompiledGraph
        loss = graph.loss_name if loss is None else loss
        graph = graph.graph
    if not isinstance(graph, Graph):
        raise InputError(f"check_backprop checks the nodes of a graph (derivkit.Graph, nn.mlp(...), nn.makemore()), "
                         f"not {type(graph).__name__}")
    if not isinstance(claimed, Mapping) or not claimed:
        raise InputError("claimed must map node names to your gradients, e.g. {'logits': dlogits, 'W2': dW2}")
    names: dict[str, Any] = {}
    for key, value in claimed.items():
        if not isinstance(key, str):
            raise InputError(f"claimed names nodes by strings, got {key!r}")
        name = _claimed_name(key, graph)
        if name in names:
            raise InputError(f"the gradient of {name} is claimed twice")
        names[name] = value
    bp = graph.backprop(loss)
    order = [node for _, node, _ in bp.backward()]
    wrt = [n for n in order if n in names] + [n for n in names if n not in order]
    net = graph.compile(loss=loss, wrt=wrt)
    _, derived = net(params, data)
    first = next(iter(data.values()), None)
    batch = int(numpy.shape(first)[0]) if first is not None and numpy.ndim(first) else None
    rows = []
    for name in wrt:
        want = numpy.asarray(derived[name], dtype=float)
        try:
            got = numpy.asarray(names[name], dtype=float)
        except (TypeError, ValueError):
            raise InputError(f"the claimed gradient of {name} is not an array of numbers") from None
        if got.shape != want.shape and got.squeeze().shape == want.squeeze().shape:
            got = got.reshape(want.shape)  # a bias as a row (5,) for the 1 x 5 node: the same numbers
        if got.shape != want.shape:
            if got.shape == want.T.shape and want.ndim == 2:
                d = diagnose_gradients({name: want}, {name: got.T}, params, atol=atol, rtol=rtol,
                                       batch_size=batch, transposed=(name,))
                rows.append(BackpropRow(name, False, float("nan"), float("nan"), tuple(got.shape), d.ids, d.findings))
                continue
            raise ShapeError(f"the claimed gradient of {name} has shape {got.shape}, but {name} has shape "
                             f"{want.shape} (a gradient has the shape of its node)")
        error = float(numpy.max(numpy.abs(got - want))) if want.size else 0.0
        scale = float(numpy.max(numpy.abs(want))) if want.size else 0.0
        ok = bool(numpy.all(numpy.isfinite(got))) and error <= atol + rtol * scale
        findings: tuple[Finding, ...] = ()
        ids: tuple[str, ...] = ()
        if not ok:
            d = diagnose_gradients({name: want}, {name: got}, params, atol=max(atol, 1e-12), rtol=max(rtol, 1e-6),
                                   batch_size=batch)
            ids, findings = d.ids, d.findings
        rows.append(BackpropRow(name, ok, error, error / scale if scale else error, tuple(want.shape), ids, findings))
    first_wrong = next((r.name for r in rows if not r.ok), None)
    step = _step(bp, first_wrong) if first_wrong is not None else _Step((), None, ())
    lines = step.lines()
    return BackpropVerdict(first_wrong is None, first_wrong, tuple(rows), _message(rows, first_wrong, step), bp.loss,
                           tuple(t for t, _ in lines), tuple(la for _, la in lines),
                           {n: numpy.asarray(derived[n]) for n in wrt})


def _message(rows: list[BackpropRow], first_wrong: str | None, step: _Step) -> str:
    if first_wrong is None:
        worst = max((r.max_error for r in rows), default=0.0)
        return f"All {len(rows)} gradients are right (the largest difference is {worst:.1e})."
    above = [r.name for r in rows[:[r.name for r in rows].index(first_wrong)]]
    start = (f"Your gradients are right from the loss down to d{above[-1]}; " if above
             else "Your backprop goes wrong at once: ")
    wrong = next(r for r in rows if r.name == first_wrong)
    msg = f"{start}d{first_wrong} is the first that is wrong (largest difference {wrong.max_error:.3g})."
    if step.backward is not None:
        msg += f" It should be {step.backward[0]}"
        msg += "".join(f", where {t}" for t, _ in step.derivatives)
        msg += (f", from {' and '.join(t for t, _ in step.forward)}." if step.forward else ".")
    if wrong.findings:
        msg += " Likely mistake: " + wrong.findings[0].message + "."
    later = [r.name for r in rows if not r.ok and r.name != first_wrong]
    if later:
        msg += (f" The gradients below it ({', '.join('d' + n for n in later)}) are computed from it, so fix "
                f"d{first_wrong} first.")
    return msg
