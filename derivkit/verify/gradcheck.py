"""Checking a NumPy gradient, or a hand-written backprop, numerically: :func:`gradcheck`.

Two forms:

* ``gradcheck(f, grad, x)``: ``f(x)`` is a scalar function of an array ``x`` (or
  of a dict of named arrays) and ``grad(x)`` the user's gradient, of the same
  shape (or a dict of such). Every entry is compared with the **central
  difference** ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` in float64.
* ``gradcheck(graph, backprop, params, data=data)``: ``graph`` is a
  :class:`~derivkit.nn.graph.Graph` (or its :class:`~derivkit.compile.compiled.CompiledGraph`)
  and ``backprop(params, data)`` the user's own backpropagation, returning a dict
  of gradients by parameter name (or ``(loss, grads)``). Every parameter's
  gradient is compared with the one **derived** from the graph.

An entry fails, as in ``torch.autograd.gradcheck``, when
``|analytical - numerical| > atol + rtol * |numerical|``; the defaults are
torch's: ``eps = 1e-6``, ``atol = 1e-5``, ``rtol = 1e-3``. The report names each
failing parameter (by its key; a single array by the name of ``f``'s argument)
and its worst entries, and **names the mistake** where it is a typical one
(:mod:`derivkit.verify.array_diagnosis`): a constant factor (``.factor``; "a
missing 1/N?" when it is the batch size), a wrong sign, a transposed gradient,
a missing or extra term such as a regularisation gradient ``c·W``, two
parameters' gradients swapped, one wrong row or column. ``.diagnosis`` holds the
ids, in the vocabulary of :func:`derivkit.check`.

>>> import numpy as np
>>> r = gradcheck(lambda x: np.sum(x**3), lambda x: 3 * x**2, np.array([1.0, 2.0]))
>>> r.ok
True
>>> r = gradcheck(lambda x: np.sum(x**3), lambda x: 2 * x**2, np.array([1.0, 2.0]))
>>> r.ok, r.entries[0].index, round(r.entries[0].numerical, 4), r.entries[0].analytical
(False, (1,), 12.0, 8.0)
>>> r.diagnosis, r.factor
(('constant_factor',), 0.6666...)
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy

from derivkit.errors import InputError, ShapeError
from derivkit.renderable import Renderable, brief_repr
from derivkit.verify.array_diagnosis import diagnose_gradients, explain_loss_difference
from derivkit.verify.finding import Finding

__all__ = ["gradcheck", "gradcheck_graph", "GradcheckReport", "GradEntry", "EPS", "ATOL", "RTOL"]

#: Defaults, as in ``torch.autograd.gradcheck``.
EPS, ATOL, RTOL = 1e-6, 1e-5, 1e-3
#: How many of the worst entries a report keeps.
WORST = 5


@dataclass(frozen=True)
class GradEntry:
    """One gradient entry: ``param`` (its name: the key, or for a single array the name of ``f``'s argument), ``index``,
    the ``numerical`` (reference) and ``analytical`` (user's) values, the errors,
    and whether it is within tolerance (``ok``)."""

    param: str | None
    index: tuple[int, ...]
    numerical: float
    analytical: float
    abs_error: float
    rel_error: float
    ok: bool

    @property
    def label(self) -> str:
        """``W1[0, 1]`` or ``x[1]``."""
        return f"{self.param or 'x'}[{', '.join(str(i) for i in self.index)}]"

    def to_dict(self) -> dict[str, Any]:
        return {"param": self.param, "index": list(self.index), "numerical": self.numerical,
                "analytical": self.analytical, "abs_error": self.abs_error, "rel_error": self.rel_error,
                "ok": self.ok}


@dataclass(frozen=True)
class GradcheckReport(Renderable):
    """The outcome of :func:`gradcheck`.

    ``ok``; ``entries``: the worst entries, worst first (failing ones before
    passing ones); ``failed``/``total``: entry counts; ``bad_params``: the names
    of parameters with a failing entry; ``reference``: what the user's gradient
    was compared with (``"central differences"`` or ``"derived gradient"``);
    ``eps``, ``atol``, ``rtol``; ``message``, in the style of torch's gradcheck,
    followed by the likely mistake; ``diagnosis``: the mistake ids (empty for a
    right gradient, or a wrong one of no typical kind), ``findings`` the same
    with their explanations, ``factor`` the ratio of the user's gradient to the
    true one when a constant factor explains it (else None).
    """

    ok: bool
    entries: tuple[GradEntry, ...]
    failed: int
    total: int
    bad_params: tuple[str, ...]
    reference: str
    eps: float | None
    atol: float
    rtol: float
    message: str
    diagnosis: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    factor: float | None = None

    def __bool__(self) -> bool:
        return bool(self.ok)

    def __repr__(self) -> str:
        bad = {"bad_params": self.bad_params} if self.bad_params else {}
        return brief_repr(self, ok=self.ok, failed=self.failed, total=self.total, reference=self.reference, **bad)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "failed": self.failed, "total": self.total, "bad_params": list(self.bad_params),
                "reference": self.reference, "eps": self.eps, "atol": self.atol, "rtol": self.rtol,
                "diagnosis": list(self.diagnosis), "factor": self.factor,
                "findings": [{"id": f.id, "message": f.message} for f in self.findings],
                "entries": [e.to_dict() for e in self.entries], "message": self.message}


def _array(v: Any, what: str) -> numpy.ndarray:
    try:
        arr = numpy.array(v, dtype=numpy.float64)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be an array of numbers, not {type(v).__name__}") from None
    return arr


def _point(v: Any, what: str) -> numpy.ndarray:
    """An array of the point the gradient is checked at: numbers, all finite."""
    arr = _array(v, what)
    bad = numpy.flatnonzero(~numpy.isfinite(arr.ravel()))
    if len(bad):
        count = "1 entry that is" if len(bad) == 1 else f"{len(bad)} entries that are"
        at = f"at [{', '.join(str(int(i)) for i in numpy.unravel_index(bad[0], arr.shape))}] " if arr.ndim else ""
        raise InputError(f"{what} holds {count} NaN or infinite (the first {at}is {arr.ravel()[bad[0]]}): the gradient "
                         "is checked at a point of finite numbers")
    return arr


def _scalar(v: Any) -> float:
    arr = numpy.asarray(v, dtype=numpy.float64)
    if arr.size != 1:
        raise ShapeError(f"f must return a single number (the loss), but it returned an array of shape {arr.shape}")
    return float(arr.reshape(()))


def _central_differences(f: Callable, params: dict[str, numpy.ndarray], single: bool, eps: float) -> dict[str, numpy.ndarray]:
    def call():
        return _scalar(f(next(iter(params.values())) if single else params))

    out = {}
    for name, arr in params.items():
        num = numpy.zeros_like(arr)
        flat, nflat = arr.reshape(-1), num.reshape(-1)
        for i in range(flat.size):
            keep = flat[i]
            flat[i] = keep + eps
            up = call()
            flat[i] = keep - eps
            down = call()
            flat[i] = keep
            nflat[i] = (up - down) / (2 * eps)
        out[name] = num
    return out


def _user_grads(g: Any, params: dict[str, numpy.ndarray], single: bool) -> tuple[dict[str, numpy.ndarray], dict[str, str]]:
    """The user's gradients by name, and the names whose gradient had to be repaired to fit.

    A gradient of the transposed shape is transposed back (``"transposed"``);
    two gradients of each other's shapes are swapped back (``"swapped:OTHER"``);
    any other shape is refused with a :class:`~derivkit.errors.ShapeError`.
    """
    if isinstance(g, tuple) and len(g) == 2 and isinstance(g[1], Mapping):
        g = g[1]  # (loss, grads)
    if single:
        g = {next(iter(params)): g}
    elif not isinstance(g, Mapping):
        raise InputError(f"the gradient function must return a dict of gradients by parameter name, not {type(g).__name__}")
    given = {}
    for name, arr in params.items():
        if name not in g:
            raise InputError(f"the gradient function gives no gradient for parameter {name!r}")
        a = _array(g[name], f"the gradient of {name}")
        if a.shape != arr.shape and a.size == arr.size and a.squeeze().shape == arr.squeeze().shape:
            a = a.reshape(arr.shape)
        given[name] = a
    out, repaired = {}, {}
    for name, arr in params.items():
        a = given[name]
        if a.shape == arr.shape:
            out[name] = a
        elif a.ndim == 2 and a.shape == arr.shape[::-1]:
            out[name], repaired[name] = a.T, "transposed"
        else:
            other = next((m for m in params if m != name and a.shape == params[m].shape
                          and given[m].shape == arr.shape), None)
            if other is None:
                raise ShapeError(f"the gradient of {name} has shape {a.shape}, but {name} has shape {arr.shape}")
            out[name], repaired[name] = given[other], f"swapped:{other}"
    return out, repaired


def _compare(reference: dict, user: dict, reference_name: str, eps: float | None, atol: float, rtol: float,
             params: Mapping[str, numpy.ndarray] | None = None, repaired: Mapping[str, str] | None = None,
             batch_size: int | None = None, loss: tuple[float, float, Finding] | None = None) -> GradcheckReport:
    repaired = dict(repaired or {})
    entries: list[tuple[float, GradEntry]] = []
    failed, total, bad = 0, 0, []
    for name, ref in reference.items():
        total += ref.size
        if name in repaired:  # of the wrong shape as given: every entry is wrong
            failed += ref.size
            bad.append(name)
            continue
        ana = user[name]
        err = numpy.abs(ana - ref)
        allowed = atol + rtol * numpy.abs(ref)
        nonfinite = ~numpy.isfinite(ana) | ~numpy.isfinite(ref)  # NaN compares false: it must fail explicitly
        fail = (err > allowed) | nonfinite
        failed += int(fail.sum())
        if fail.any():
            bad.append(name)
        excess = numpy.where(nonfinite, numpy.inf, err / allowed)
        order = numpy.argsort(-excess, axis=None, kind="stable")[:WORST]
        for flat_i in order:
            idx = tuple(int(i) for i in numpy.unravel_index(flat_i, ref.shape))
            n, a = float(ref[idx]), float(ana[idx])
            e = abs(a - n)
            rel = e / abs(n) if n != 0 else (0.0 if e == 0 else float("inf"))
            entries.append((float(excess[idx]), GradEntry(name, idx, n, a, e, rel, not bool(fail[idx]))))
    entries.sort(key=lambda t: -t[0])
    worst = tuple(e for _, e in entries[:WORST])
    ok = failed == 0 and loss is None
    findings: tuple[Finding, ...] = ()
    factor = None
    if failed:
        findings, factor = _diagnose(reference, user, params, repaired, atol, rtol, batch_size)
    message = _message(failed == 0, worst, failed, total, bad, reference, user, reference_name, eps, atol, rtol,
                       repaired)
    if any(not numpy.isfinite(ref).all() for ref in reference.values()):
        message += (f"\nThe {reference_name} hold NaN or infinite entries: the function is not finite at or near "
                    "this point (is it defined there?), so no gradient can agree with them.")
    if loss is not None:  # the gradients may agree while the loss returned beside them does not
        user_loss, graph_loss, why = loss
        message = message.replace("Gradient check passed: all", "The gradients agree: all", 1)
        message = f"Loss mismatch: your loss is {user_loss:.6g}, the graph's loss is {graph_loss:.6g}.\n{message}"
        findings = (why,) + findings
    if findings:  # right after the first line, before the numbers
        head, _, rest = message.partition("\n")
        likely = "\n".join(f"Likely mistake: {f.message[0].upper()}{f.message[1:]}." for f in findings)
        message = f"{head}\n{likely}" + (f"\n{rest}" if rest else "")
    return GradcheckReport(ok, worst, failed, total, tuple(bad), reference_name, eps, atol, rtol, message,
                           diagnosis=tuple(dict.fromkeys(f.id for f in findings)), findings=findings, factor=factor)


def _diagnose(reference, user, params, repaired, atol, rtol, batch_size) -> tuple[tuple[Finding, ...], float | None]:
    swapped = []
    for name, how in repaired.items():
        other = how.partition(":")[2]
        if how.startswith("swapped") and name < other:
            swapped.append(Finding("swapped_parameters",
                                   f"the gradients of {name} and {other} are swapped: what you return as the gradient of "
                                   f"{name} has the shape of {other}, and the other way round: look at the names (or the "
                                   f"order) of what your gradient function returns"))
    transposed = [n for n, how in repaired.items() if how == "transposed"]
    rest = {n: v for n, v in reference.items() if n not in repaired or n in transposed}
    d = diagnose_gradients(rest, user, params, atol=atol, rtol=rtol, batch_size=batch_size, transposed=transposed)
    return tuple(swapped) + d.findings, d.factor


def _fmt(a: numpy.ndarray) -> str:
    return numpy.array2string(numpy.asarray(a), precision=6, separator=", ", suppress_small=False, max_line_width=100)


def _message(ok, worst, failed, total, bad, reference, user, reference_name, eps, atol, rtol, repaired) -> str:
    tol = f"atol={atol:g}, rtol={rtol:g}" + (f", eps={eps:g}" if eps is not None else "")
    if ok:
        worst_err = max((e.abs_error for e in worst), default=0.0)
        return (f"Gradient check passed: all {total} entries agree with the {reference_name} "
                f"(largest absolute error {worst_err:.2g}; {tol}).")
    label = "numerical" if reference_name == "central differences" else "derived"
    lines = [f"Gradient mismatch with respect to {', '.join(bad)}: {failed} of {total} entries differ from the "
             f"{reference_name} ({tol})."]
    first = next((e for e in worst if not e.ok), None)
    if first is not None:
        lines.append(f"Worst entry {first.label}: {label} {first.numerical:.6g}, analytical {first.analytical:.6g} "
                     f"(absolute error {first.abs_error:.3g}, relative {first.rel_error:.3g}).")
    which = next((b for b in bad if b not in repaired), None)
    if which is not None and reference[which].size <= 64:
        lines.append(f"{label} {which}:\n{_fmt(reference[which])}")
        lines.append(f"analytical {which}:\n{_fmt(user[which])}")
    return "\n".join(lines)


def _defaults(eps, rtol, atol) -> tuple[float, float, float]:
    eps = EPS if eps is None else float(eps)
    rtol = RTOL if rtol is None else float(rtol)
    atol = ATOL if atol is None else float(atol)
    if not eps > 0 or rtol < 0 or atol < 0:
        raise InputError(f"eps must be positive and the tolerances 0 or more (eps={eps}, rtol={rtol}, atol={atol})")
    return eps, rtol, atol


def _argument_name(f: Callable) -> str:
    """The name of ``f``'s first argument (``W`` for ``def loss(W)``), else ``x``."""
    try:
        first = next(iter(inspect.signature(f).parameters.values()), None)
    except (TypeError, ValueError):
        return "x"
    if first is None or first.kind in (first.VAR_POSITIONAL, first.VAR_KEYWORD) or first.name.startswith("_"):
        return "x"
    return first.name


def _batch_size(batch_size: Any) -> int | None:
    if batch_size is None:
        return None
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, numpy.integer)) or batch_size < 1:
        raise InputError(f"batch_size must be a whole number of at least 1, not {batch_size!r}")
    return int(batch_size)


def gradcheck(f: Any, grad: Callable, x: Any, eps: float | None = None, rtol: float | None = None,
              atol: float | None = None, *, data: Mapping[str, Any] | None = None,
              batch_size: int | None = None, name: str | None = None) -> GradcheckReport:
    """Compare a user's gradient with central differences (or a graph's derived gradient).

    ``f(x) -> float`` and ``grad(x) -> array``; ``x`` an array or a dict of
    named arrays (then ``grad`` returns a dict, and the arrays are named by
    their keys; a single array is named by ``name``, else by ``f``'s argument).
    ``x`` is not modified. ``batch_size`` (the ``N`` of a loss averaged over
    the batch) lets the diagnosis say "a missing 1/N" for a factor ``N``. With a
    :class:`~derivkit.nn.graph.Graph` or compiled graph as ``f``, this is
    :func:`gradcheck_graph` (``grad`` is the user's backprop, ``x`` the
    parameters, ``data`` the inputs).

    >>> import numpy as np
    >>> def f(p): return np.sum((p["w"] * p["x"]) ** 2)
    >>> def grad(p): return {"w": 2 * p["w"] * p["x"] ** 2, "x": 2 * p["w"] * p["x"]}   # x's is wrong
    >>> r = gradcheck(f, grad, {"w": np.array([1.0, 2.0]), "x": np.array([3.0, 1.0])})
    >>> r.ok, r.bad_params
    (False, ('x',))
    >>> r = gradcheck(lambda W: np.sum(W ** 2) / 4, lambda W: 2 * W, np.ones((2, 3)), batch_size=4)
    >>> r.diagnosis, r.factor, r.bad_params
    (('constant_factor',), 4.0, ('W',))
    """
    if hasattr(f, "param_shapes") or hasattr(f, "compile"):
        if data is None:
            raise InputError("checking a graph's gradients needs the data (inputs): gradcheck(graph, backprop, params, data=...)")
        return gradcheck_graph(f, x, data, grad, rtol=rtol, atol=atol)
    if not callable(f) or not callable(grad):
        raise InputError("gradcheck needs a function f(x) and a gradient function grad(x)")
    eps, rtol, atol = _defaults(eps, rtol, atol)
    n = _batch_size(batch_size)
    single = not isinstance(x, Mapping)
    if single:
        label = str(name) if name is not None else _argument_name(f)
        params = {label: _point(x, label)}
    else:
        params = {str(k): _point(v, f"parameter {k}") for k, v in x.items()}
    copy = {k: v.copy() for k, v in params.items()}
    user, repaired = _user_grads(grad(next(iter(copy.values())) if single else copy), params, single)
    numerical = _central_differences(f, params, single, eps)
    return _compare(numerical, user, "central differences", eps, atol, rtol, params, repaired, n)


def _data_batch(data: Mapping[str, Any]) -> int | None:
    """The batch size: the first dimension the data arrays share (None if they do not)."""
    sizes = {numpy.shape(v)[0] for v in data.values() if numpy.ndim(v) >= 1}
    return int(sizes.pop()) if len(sizes) == 1 else None


def _fit(arr: numpy.ndarray, shape: Any) -> numpy.ndarray:
    """``arr`` in the graph's shape for it when only the layout differs (a bias ``(5,)`` for ``(1, 5)``)."""
    shape = tuple(shape)
    if arr.shape != shape and all(isinstance(d, int) for d in shape) and arr.size == int(numpy.prod(shape)) \
            and arr.squeeze().shape == numpy.empty(shape).squeeze().shape:
        return arr.reshape(shape)
    return arr


def gradcheck_graph(graph: Any, params: Mapping[str, Any], data: Mapping[str, Any], backprop: Callable,
                    rtol: float | None = None, atol: float | None = None) -> GradcheckReport:
    """Compare a hand-written ``backprop(params, data)`` with the gradients derived from ``graph``.

    ``graph`` is a :class:`~derivkit.nn.graph.Graph` (compiled here) or a
    compiled graph; every parameter's gradient is compared, entry by entry, and
    a failing one is diagnosed as in :func:`gradcheck` (the batch size is the
    data's first dimension). A backprop that returns ``(loss, grads)`` has its
    loss compared too: a loss that differs from the graph's makes the check fail,
    and the difference is named when it is a regularisation term ``c·ΣW²``.

    >>> import numpy as np
    >>> from derivkit.nn import mlp
    >>> g = mlp([1, 1], activation="sigmoid", bias=False)          # O_out = σ(X W1), MSE
    >>> def backprop(p, d):                                         # forgets σ'(O_in)
    ...     O = 1 / (1 + np.exp(-(d["X"] @ p["W1"])))
    ...     return {"W1": d["X"].T @ (2 * (O - d["Y"]) / len(d["X"]))}
    >>> r = gradcheck_graph(g, {"W1": np.array([[0.5]])}, {"X": np.array([[1.0]]), "Y": np.array([[0.0]])}, backprop)
    >>> r.ok, r.bad_params
    (False, ('W1',))
    """
    _, rtol, atol = _defaults(None, rtol, atol)
    compiled = graph if hasattr(graph, "param_shapes") else graph.compile()
    names = list(compiled.param_shapes)
    missing = [n for n in names if n not in params]
    if missing:
        raise InputError(f"no value given for parameter {missing[0]} (the graph's parameters: {', '.join(names)})")
    p = {n: _fit(_point(params[n], f"parameter {n}"), compiled.param_shapes[n]) for n in names}
    graph_loss, derived = compiled(p, data)
    reference = {n: numpy.asarray(derived[n], dtype=numpy.float64) for n in names}
    returned = backprop({n: v.copy() for n, v in p.items()}, data)
    user, repaired = _user_grads(returned, p, False)
    loss: tuple[float, float, Finding] | None = None
    user_loss = _returned_loss(returned)
    if user_loss is not None and abs(user_loss - float(graph_loss)) > atol + rtol * abs(float(graph_loss)):
        probes = [(user_loss, float(graph_loss), p)]
        for probe in (0, 1):  # the difference at other parameter values tells a term c·ΣW² from a slip
            # each parameter scaled by its own factor, so that ΣW1² and ΣW2² do not grow alike
            q = {n: (0.5 + 0.3 * ((i + probe) % 4) + 0.7 * probe) * v for i, (n, v) in enumerate(p.items())}
            other = _returned_loss(backprop({n: v.copy() for n, v in q.items()}, data))
            if other is not None:
                probes.append((other, float(compiled(q, data)[0]), q))
        loss = (user_loss, float(graph_loss), explain_loss_difference(probes))
    return _compare(reference, user, "derived gradient", None, atol, rtol, p, repaired, _data_batch(data), loss=loss)


def _returned_loss(returned: Any) -> float | None:
    """The loss of a backprop that returns ``(loss, grads)``, else None."""
    if isinstance(returned, tuple) and len(returned) == 2 and isinstance(returned[1], Mapping):
        try:
            return float(numpy.asarray(returned[0], dtype=numpy.float64).reshape(()))
        except (TypeError, ValueError):
            raise InputError("the backprop returned (loss, grads), but its loss is not a single number") from None
    return None
