"""Naming the mistake in a NumPy gradient: what :func:`~derivkit.verify.gradcheck.gradcheck` adds to "wrong".

A hand-written gradient ``U`` that fails the check is compared with the
reference ``R`` (central differences, or the derived gradient) through small
models of the typical mistakes, simplest first. A model **explains** the
mistake when the user's gradient passes the gradient check against it, with the
same tolerances as the check itself. The diagnosis ids are those of
:func:`derivkit.check` (:data:`~derivkit.verify.diagnosis.DIAGNOSES`):

* ``swapped_parameters``: ``U[a] = R[b]`` and ``U[b] = R[a]``;
* ``transposed``: ``U = Rᵀ`` (also when the shapes are swapped, ``(3, 2)`` for ``(2, 3)``);
* ``constant_factor``: ``U = k·R`` (``k`` is reported; ``k = N``, the batch
  size, is "a missing 1/N?"); ``sign_error`` when ``k = -1``;
* ``missing_term`` / ``extra_term``: ``U = R + c·Q`` where ``Q`` is a simple
  function of the parameters: the parameter itself (``c·W`` is the gradient of a
  regularisation term ``(c/2)·ΣW²``), ``sign(W)`` (an L1 penalty), a constant,
  or another parameter of the same shape;
* both at once, ``U = k·R + c·Q``: read as "apart from the term ``T``, which is
  right, the gradient is ``k`` times the true one", where ``T = c/(1 - k)·Q``
  (the data part of the loss scaled, its regularisation term not);
* ``wrong_entry``: only one row, one column or one entry is wrong.

And where a hand-written backprop returns its loss beside its gradients,
:func:`explain_loss_difference` says why that loss differs from the graph's:
a regularisation term ``c·ΣW²`` left out or added (``missing_term``,
``extra_term``), or by how much (``wrong_loss``).

Each finding's message names the arrays by their keys and says what to look at
in the code.

>>> import numpy as np
>>> R = {"W": np.array([[1.0, -2.0], [0.5, 3.0]])}
>>> [f.id for f in diagnose_gradients(R, {"W": 6 * R["W"]}, batch_size=6).findings]
['constant_factor']
>>> diagnose_gradients(R, {"W": 6 * R["W"]}, batch_size=6).factor
6.0
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Mapping, Sequence

import numpy

from derivkit.verify.finding import Finding

__all__ = ["GradientDiagnosis", "diagnose_gradients", "explain_loss_difference", "nice_number"]


@dataclass(frozen=True)
class GradientDiagnosis:
    """The findings for the failing arrays, and the constant ``factor`` when one explains them."""

    findings: tuple[Finding, ...] = ()
    factor: float | None = None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.id for f in self.findings))


@dataclass(frozen=True)
class _Explained:
    """How one array's gradient goes wrong (before findings of several arrays are merged)."""

    kind: str                  # "factor", "term", "factor_and_term", "zero", "rows"
    name: str
    k: float = 1.0
    c: float = 0.0
    term: str = ""             # how Q is written: "W", "sign(W)", "1", "W1"
    term_kind: str = ""        # "own", "l1", "constant", "other"
    text: str = ""             # for "rows"


def _fraction(v: float, rtol: float = 1e-3) -> Fraction | None:
    """``v`` as a fraction with small numerator and denominator, when it is one to ``rtol``."""
    f = Fraction(v).limit_denominator(12)
    if abs(float(f) - v) <= rtol * abs(v) and (f.denominator == 1 or abs(f.numerator) <= 12):
        return f
    return None


def nice_number(v: float, rtol: float = 1e-3) -> str:
    """``v`` as a short number: a fraction with a small denominator when it is one (``6``, ``-1/2``, ``0.05``).

    >>> nice_number(6.0000001), nice_number(-0.5), nice_number(1 / 6), nice_number(0.05), nice_number(0.123456)
    ('6', '-0.5', '1/6', '0.05', '0.1235')
    """
    f = _fraction(v, rtol)
    if f is None:
        return f"{v:.4g}"
    d = f.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d == 1:  # a terminating decimal: 0.05, -0.5, 6
        return f"{float(f):g}"
    return f"{f.numerator}/{f.denominator}"


def _nice_value(v: float) -> float:
    """``v``, or the simple fraction it is within the check's tolerance (``3.9999999994`` is 4)."""
    f = _fraction(v)
    return float(f) if f is not None else float(v)


def _passes(user: numpy.ndarray, model: numpy.ndarray, atol: float, rtol: float, scale: float = 1.0) -> bool:
    """The gradient check's own criterion, with the model as the reference."""
    return bool(numpy.all(numpy.abs(user - model) <= atol * max(1.0, abs(scale)) + rtol * numpy.abs(model)))


def _dot(a: numpy.ndarray, b: numpy.ndarray) -> float:
    return float(numpy.vdot(a, b))


def _terms(name: str, params: Mapping[str, numpy.ndarray], shape: tuple[int, ...]) -> list[tuple[str, str, numpy.ndarray]]:
    """Simple functions of the parameters a term of ``name``'s gradient could be: (written, kind, array)."""
    out: list[tuple[str, str, numpy.ndarray]] = []
    own = params.get(name)
    if own is not None and own.shape == shape and numpy.any(own != 0):
        out.append((name, "own", own))
        if numpy.any(own < 0) and numpy.any(own > 0):
            out.append((f"sign({name})", "l1", numpy.sign(own)))
    out.append(("1", "constant", numpy.ones(shape)))
    for other, value in params.items():
        if other != name and value.shape == shape and numpy.any(value != 0):
            out.append((other, "other", value))
    return out


def _explain(name: str, R: numpy.ndarray, U: numpy.ndarray, params: Mapping[str, numpy.ndarray],
             atol: float, rtol: float) -> _Explained | None:
    """The simplest model of a typical mistake that turns ``R`` into ``U``, or None."""
    if not (numpy.isfinite(R).all() and numpy.isfinite(U).all()):
        return None  # no model of a mistake explains NaN or infinity; the entries are listed as they are
    rr = _dot(R, R)
    if rr == 0:
        return None
    if _passes(U, numpy.zeros_like(R), atol, rtol):
        return _Explained("zero", name)
    k = _dot(U, R) / rr
    if abs(k - 1) > rtol and _passes(U, k * R, atol, rtol, k):
        return _Explained("factor", name, k=k)
    terms = _terms(name, params, R.shape)
    for written, kind, Q in terms:
        c = _dot(U - R, Q) / _dot(Q, Q)
        if _passes(U, R + c * Q, atol, rtol):
            return _Explained("term", name, c=c, term=written, term_kind=kind)
    for written, kind, Q in terms:
        A = numpy.stack([R.ravel(), Q.ravel()], axis=1)
        if numpy.linalg.matrix_rank(A) < 2:
            continue
        (k, c), *_ = numpy.linalg.lstsq(A, U.ravel(), rcond=None)
        if abs(k - 1) > rtol and abs(1 - k) > 1e-9 and _passes(U, k * R + c * Q, atol, rtol, k):
            return _Explained("factor_and_term", name, k=float(k), c=float(c), term=written, term_kind=kind)
    return _rows(name, R, U, atol, rtol)


def _rows(name: str, R: numpy.ndarray, U: numpy.ndarray, atol: float, rtol: float) -> _Explained | None:
    """Only one entry, one row or one column wrong."""
    bad = numpy.abs(U - R) > atol + rtol * numpy.abs(R)
    flat = numpy.flatnonzero(bad.ravel())
    if R.size < 2 or len(flat) == 0:
        return None
    if len(flat) == 1:
        idx = ", ".join(str(int(i)) for i in numpy.unravel_index(flat[0], R.shape))
        return _Explained("rows", name, text=f"only the entry {name}[{idx}] of your gradient of {name} is wrong "
                                             f"(the other {R.size - 1} are right)")
    if R.ndim != 2 or 1 in R.shape:
        return None
    rows, cols = numpy.flatnonzero(bad.any(axis=1)), numpy.flatnonzero(bad.any(axis=0))
    if len(rows) == 1:
        i = int(rows[0])
        return _Explained("rows", name, text=f"only row {i} of your gradient of {name}, {name}[{i}, :], is wrong "
                                             f"(the other {R.shape[0] - 1} rows are right)")
    if len(cols) == 1:
        j = int(cols[0])
        return _Explained("rows", name, text=f"only column {j} of your gradient of {name}, {name}[:, {j}], is wrong "
                                             f"(the other {R.shape[1] - 1} columns are right; in a classifier's weight "
                                             f"gradient a column belongs to one class: the correct class's column, or a "
                                             f"loop over classes that stops one short)")
    return None


# ---------------------------------------------------------------- messages

def _names(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _gradient_of(names: Sequence[str]) -> str:
    return f"your gradient of {names[0]}" if len(names) == 1 else f"your gradients of {_names(names)}"


def _factor_hint(k: float, batch_size: int | None) -> str:
    """What a factor ``k`` usually means, and where to look."""
    shown = nice_number(k)
    if batch_size and batch_size > 1 and abs(k - batch_size) <= 1e-3 * batch_size:
        return (f"; {shown} is the batch size N: a missing 1/N? The loss averages over the batch, so its gradient "
                f"needs the same 1/N (divide the upstream gradient, such as dscores, by N once)")
    if batch_size and batch_size > 1 and abs(k * batch_size - 1) <= 1e-3:
        return f"; 1/{batch_size} is one over the batch size N: is the gradient divided by N twice?"
    if abs(k - round(k)) <= 1e-3 * abs(k) and round(k) >= 3:
        return (f"; if {round(k)} is your batch size N, the 1/N of the averaged loss is missing "
                f"(divide the upstream gradient by N once)")
    if abs(k) < 1 and abs(1 / k - round(1 / k)) <= 1e-3 / abs(k) and round(1 / k) >= 3:
        return f"; if {round(1 / k)} is your batch size N, the gradient is divided by N twice"
    if abs(k - 2) <= 2e-3:
        return "; a factor 2 too many: does the loss have ½·(...)², whose derivative has no 2?"
    if abs(k - 0.5) <= 1e-3:
        return "; a factor 2 too few: the 2 of d/dx x² = 2x is missing?"
    return ": look for a constant factor that the loss has and the gradient does not, or the other way round"


_SIGN_HINT = ("look for a subtraction written the wrong way round, such as one-hot labels minus probabilities "
              "instead of probabilities minus one-hot labels, or target minus prediction")


def _term_text(c: float, written: str) -> str:
    a = nice_number(abs(c))
    return a if written == "1" else f"{a}·{written}"


def _term_meaning(group: list[_Explained], c: float) -> str:
    """What a term ``c·Q`` in the gradients of ``group`` comes from, in the loss."""
    e, names = group[0], [g.name for g in group]
    a, half = abs(c), nice_number(abs(c) / 2)
    if e.term_kind == "own":
        w = names[0] if len(names) == 1 else "W"
        squares = f"Σ{names[0]}²" if len(names) == 1 else "(" + " + ".join(f"Σ{n}²" for n in names) + ")"
        each = "" if len(names) == 1 else " for each W"
        if c < 0:
            text = (f"the gradient of {half}·{squares}, a regularisation term reg·{squares} (reg = {half}) whose "
                    f"gradient 2·reg·{w}{each} is missing; or reg·{w} written where 2·reg·{w} belongs (reg = {nice_number(a)})")
        else:
            text = (f"the gradient of {half}·{squares}, a regularisation term that the loss leaves out "
                    f"(reg·{squares} with reg = {half}): either the loss is missing it or the gradient should not "
                    f"have 2·reg·{w}{each}; or 2·reg·{w} written where the loss's ½·reg·{squares} gives reg·{w} "
                    f"(reg = {nice_number(a)})")
        biases = [n for n in names if n.lower().startswith("b")]
        if biases:
            text += (f" (biases are usually not regularised: is {_names(biases)} regularised in only one of the "
                     f"loss and the gradient?)")
        return text
    if e.term_kind == "l1":
        return f"the gradient of {nice_number(a)}·Σ|{e.name}|, an L1 penalty"
    if e.term_kind == "constant":
        return (f"the same {nice_number(a)} in every entry: a constant (for a bias, the gradient is the upstream "
                f"gradient summed over the batch, np.sum(d, axis=0))")
    return f"{e.term} where {e.name} belongs? (a term such as 2·reg·{e.term} added to the gradient of {e.name})"


def _is_are(names: Sequence[str]) -> str:
    return "is" if len(names) == 1 else "are"


def _factor_message(groups: list[list[_Explained]], batch_size: int | None, order: Mapping[str, int]) -> Finding:
    """One finding for every array scaled by the same ``k`` (some of them apart from a term that is right)."""
    names = sorted((e.name for g in groups for e in g), key=lambda n: order.get(n, 0))
    k = groups[0][0].k
    apart = ""
    with_term = [g for g in groups if g[0].kind == "factor_and_term"]
    if with_term:
        group = with_term[0]
        terms = _names([_term_text(e.c / (1 - e.k), e.term) for e in group])
        which = "" if len(group) == len(names) else f" for {_names([e.name for e in group])}"
        what = "the regularisation gradient, which is right" if group[0].term_kind == "own" else "which is right"
        apart = f" (apart from the term {terms}{which}: {what})"
    if abs(k + 1) <= 1e-3:
        return Finding("sign_error", f"{_gradient_of(names)} {_is_are(names)} the negative of the true one"
                                     f"{apart}: {_SIGN_HINT}")
    return Finding("constant_factor", f"{_gradient_of(names)} {_is_are(names)} {nice_number(k)} times the true "
                                      f"one{apart}{_factor_hint(k, batch_size)}")


def _message(group: list[_Explained], batch_size: int | None) -> Finding:
    e, names = group[0], [g.name for g in group]
    if e.kind == "zero":
        return Finding("missing_term", f"{_gradient_of(names)} {_is_are(names)} zero everywhere, but the true one is "
                                       f"not: is it computed, added to and returned?")
    if e.kind == "rows":
        return Finding("wrong_entry", f"{e.text}: look at the code that computes that part on its own")
    terms = _names([_term_text(g.c, g.term) for g in group])
    if e.c < 0:
        return Finding("missing_term", f"{_gradient_of(names)} {'lacks' if len(names) == 1 else 'lack'} the term "
                                       f"{terms}: {_term_meaning(group, e.c)}")
    return Finding("extra_term", f"{_gradient_of(names)} {'has' if len(names) == 1 else 'have'} an extra term "
                                 f"{terms}: {_term_meaning(group, e.c)}")


def _key(e: _Explained) -> tuple:
    r = lambda v: float(f"{v:.3g}")  # noqa: E731
    if e.kind == "rows":
        return (e.kind, e.name)
    term = e.term_kind if e.term_kind in ("own", "l1", "constant") else e.term
    if e.kind == "factor_and_term":
        return (e.kind, r(e.k), r(e.c / (1 - e.k)), term)
    return (e.kind, r(e.k), r(e.c), term)


def diagnose_gradients(reference: Mapping[str, numpy.ndarray], user: Mapping[str, numpy.ndarray],
                       params: Mapping[str, numpy.ndarray] | None = None, *, atol: float = 1e-5, rtol: float = 1e-3,
                       batch_size: int | None = None, transposed: Sequence[str] = ()) -> GradientDiagnosis:
    """Name the mistakes behind failing gradients, array by array.

    ``reference`` and ``user`` map names to arrays of the same shape (``user``
    already transposed back for the names in ``transposed``, which had the
    transposed shape); ``params`` the parameter values, for terms such as
    ``c·W``; ``batch_size`` the ``N`` of an averaged loss, if known. Arrays that
    pass are left alone.

    >>> import numpy as np
    >>> W = np.array([[0.5, -1.0], [2.0, 0.25]])
    >>> R = {"W": np.array([[1.0, 2.0], [-3.0, 0.5]]) + 0.1 * W}
    >>> d = diagnose_gradients(R, {"W": R["W"] - 0.1 * W}, {"W": W})
    >>> d.ids, d.findings[0].message[:46]
    (('missing_term',), 'your gradient of W lacks the term 0.1·W: the g')
    """
    params = {n: numpy.asarray(v, dtype=numpy.float64) for n, v in (params or {}).items()}
    failing = [n for n in reference
               if n in transposed or not _passes(user[n], reference[n], atol, rtol)]
    findings: list[Finding] = []
    done: set[str] = set()
    for n in transposed:
        ok = _passes(user[n], reference[n], atol, rtol)
        findings.append(Finding("transposed", _transposed_text(n, reference[n].shape, ok)))
        if ok:
            done.add(n)
    for a in failing:
        for b in failing:
            if a < b and a not in done and b not in done and reference[a].shape == reference[b].shape \
                    and _passes(user[a], reference[b], atol, rtol) and _passes(user[b], reference[a], atol, rtol):
                findings.append(Finding("swapped_parameters", f"the gradients of {a} and {b} are swapped: what you "
                                        f"return as the gradient of {a} is that of {b}, and the other way round: look at "
                                        f"the names (or the order) of what your gradient function returns"))
                done |= {a, b}
    for n in failing:
        R, U = reference[n], user[n]
        if n not in done and R.ndim == 2 and R.shape[0] == R.shape[1] and R.shape[0] > 1 \
                and _passes(U.T, R, atol, rtol) and not numpy.allclose(R, R.T):
            findings.append(Finding("transposed", _transposed_text(n, R.shape, True, square=True)))
            done.add(n)
    groups: dict[tuple, list[_Explained]] = {}
    for n in failing:
        if n in done:
            continue
        e = _explain(n, reference[n], user[n], params, atol, rtol)
        if e is not None:
            groups.setdefault(_key(e), []).append(e)
    scaled: dict[float, list[list[_Explained]]] = {}
    for key, group in groups.items():
        if group[0].kind in ("factor", "factor_and_term"):
            scaled.setdefault(key[1], []).append(group)
        else:
            findings.append(_message(group, batch_size))
    order = {n: k for k, n in enumerate(reference)}
    findings += [_factor_message(sorted(gs, key=lambda g: g[0].kind), batch_size, order) for gs in scaled.values()]
    ks = {_key(e)[1] for g in groups.values() for e in g if e.kind in ("factor", "factor_and_term")}
    factor = None
    if len(ks) == 1:
        factor = _nice_value(next(e.k for g in groups.values() for e in g if e.kind in ("factor", "factor_and_term")))
    return GradientDiagnosis(tuple(findings), factor)


def _transposed_text(name: str, shape: tuple[int, ...], fixes: bool, square: bool = False) -> str:
    where = (f"your gradient of {name} is the transpose of the true one" if square else
             f"your gradient of {name} has shape {tuple(reversed(shape))}, but {name} has shape {shape}: it is transposed")
    rest = "; transposed back it is right" if fixes and not square else ("" if fixes else "; transposed back it is still wrong")
    return (f"{where}{rest}. The gradient of {name} has {name}'s shape: look at the order of the matrix product "
            f"(X.T @ d, not d.T @ X) and at a stray .T")


def _sum_terms(params: Mapping[str, numpy.ndarray]) -> list[tuple[str, list[str], str]]:
    """Candidate loss terms over the parameters: (how it is written, the names, "square" or "abs")."""
    names = list(params)
    weights = [n for n in names if numpy.ndim(params[n]) >= 2 and min(numpy.shape(params[n])) > 1]
    groups: list[list[str]] = [[n] for n in names]
    if len(weights) > 1:
        groups.append(weights)
    if len(names) > 1 and names != weights:
        groups.append(names)
    out = []
    for kind, power in (("square", "²"), ("abs", "")):
        for g in groups:
            parts = [f"Σ{n}{power}" if kind == "square" else f"Σ|{n}|" for n in g]
            written = parts[0] if len(parts) == 1 else "(" + " + ".join(parts) + ")"
            out.append((written, g, kind))
    return out


def _sum_value(params: Mapping[str, numpy.ndarray], names: Sequence[str], kind: str) -> float:
    f = numpy.square if kind == "square" else numpy.abs
    return float(sum(numpy.sum(f(numpy.asarray(params[n], dtype=numpy.float64))) for n in names))


def explain_loss_difference(probes: Sequence[tuple[float, float, Mapping[str, numpy.ndarray]]],
                            rtol: float = 1e-6) -> Finding:
    """Why the loss a backprop returns differs from the graph's: a regularisation term, or otherwise by how much.

    ``probes`` are ``(user's loss, graph's loss, parameters)`` at a few parameter
    values (the first at the parameters being checked). A term ``c·ΣW²`` (or
    ``c·Σ|W|``, over one parameter, the weight matrices or all of them) is named
    when one ``c`` explains the difference at every probe.

    >>> import numpy as np
    >>> W, b = np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([0.5, 1.0])
    >>> probes = [(1.0, 1.0 + 0.05 * np.sum((s * W) ** 2), {"W": s * W, "b": b}) for s in (1, 0.5, 2)]
    >>> explain_loss_difference(probes).message[:49]
    'your loss leaves out the term 0.05·ΣW², which the'
    """
    (u0, r0, p0) = probes[0]
    for written, names, kind in _sum_terms(p0):
        cs = []
        for user, ref, params in probes:
            s = _sum_value(params, names, kind)
            if s == 0:
                break
            cs.append((ref - user) / s)
        if len(cs) == len(probes) and cs[0] != 0 and all(abs(c - cs[0]) <= rtol * abs(cs[0]) for c in cs):
            c = cs[0]
            what = "a regularisation term" if kind == "square" else "an L1 penalty"
            if c > 0:
                return Finding("missing_term", f"your loss leaves out the term {nice_number(c)}·{written}, which the "
                                               f"graph's loss has: {what} (reg = {nice_number(c)}) that your loss "
                                               f"function does not add, while the gradients agree")
            return Finding("extra_term", f"your loss has an extra term {nice_number(-c)}·{written}, which the graph's "
                                         f"loss does not have: {what} (reg = {nice_number(-c)})")
    return Finding("wrong_loss", f"your loss is {u0:.6g}, the graph's loss is {r0:.6g}: they differ by {r0 - u0:.3g}, "
                                 f"and not by a regularisation term")
