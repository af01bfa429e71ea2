"""Checking a hand-computed derivative, gradient, Jacobian or Hessian: :func:`check`.

The correct answer comes from the step engine (:func:`derivkit.derive`, or
:func:`~derivkit.calculus.several.gradient` and friends for matrices), and its
derivation is kept in the verdict so it can be shown beside it. Whether the
claimed answer is the same is decided as :mod:`derivkit.verify.equivalence`
describes (identical, simplified to zero, or evaluation at several random real
points), and a wrong answer is explained by :mod:`derivkit.verify.diagnosis`.

How the claim is read:

* a **string** is read by the safe parser; it is read as **LaTeX** when
  ``latex=True`` or when it contains a backslash or a brace (``\\frac{..}{..}``,
  ``e^{-x}``); a string in square brackets, ``"[[2, 2*x2], [-2*x1, 3]]"``, is a
  matrix of such strings;
* a SymPy expression, a number, a SymPy ``Matrix``, nested lists or a NumPy array
  (variables are real, so ``re(x)`` in what ``sympy.diff`` gives is ``x``);
* with ``at``, the claim is the **value** at that point: a number is right when
  it is exact, or when the correct value rounds to the decimals it was written
  with (``"-2.61"`` for ``4 cos 4 = -2.6146...``).

What is expected follows from the shapes (or ``kind=``): one function and one
variable, the derivative; one function and several variables, the gradient (a
column; a row or flat list is accepted) or, for an ``n x n`` claim, the Hessian;
several functions, the Jacobian in numerator layout (row ``i`` is ``f_i``).

>>> v = check("x^2 * sin(x)", "x (2 sin(x) + x cos(x))", "x")
>>> v.ok, v.method
(True, 'symbolic')
>>> v = check("sin(x^2)", "cos(x^2)", "x")
>>> v.ok, v.diagnosis
(False, ('missing_chain_factor',))
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Sequence

import mpmath
import sympy
# SymPy imports these on the first sum and the first inequality it builds, and derivkit's
# parser on the first string: done here, the first check in a process is as quick as the next.
import sympy.assumptions.wrapper  # noqa: F401
import sympy.tensor.tensor  # noqa: F401

from derivkit import budget, magnitude
import derivkit.parsing  # noqa: F401
from derivkit.errors import DomainError, InputError, ShapeError
from derivkit.inputs import as_expr, as_matrix, as_number, as_symbols, substitute
from derivkit.magnitude import hazard
from derivkit.render.common import derivative_text, expr_text, value_text
from derivkit.renderable import Renderable, brief_repr
from derivkit.verify.diagnosis import Finding, diagnose, diagnose_value, softmax_delta
from derivkit.verify.equivalence import Comparison, Sampler, as_real, compare, matches_written, real_value, written_decimals

__all__ = ["check", "Verdict", "Counterexample", "KINDS", "read_claim", "index_base"]

#: What a claim can be an answer to.
KINDS = ("derivative", "gradient", "jacobian", "hessian")

_METHODS = {
    "identical": "exactly your answer",
    "symbolic": "the same as your answer written another way (the difference of the two simplifies to 0)",
    "numeric": "the same as your answer written another way (the two agree at every point tried, {n} of them)",
}


@dataclass(frozen=True)
class Counterexample:
    """Where a claimed answer goes wrong: the ``point`` (names to values), both values.

    ``entry`` is the (row, column) of a matrix entry (0-based), ``iteration``
    the iteration of a descent table (1 is the first step). ``claimed`` is
    ``None`` where the claimed answer is undefined (or complex) at the point.
    ``expected_exact`` and ``claimed_exact`` are the values as exact expressions
    (``2·sin(1) + cos(1)``) where they are known; in :meth:`to_dict` every number
    is a float with its exact value beside it (``"expected"`` and ``"expected_exact"``).

    >>> v = check("5*b^2 - 3*b + 2", "10*b + 3", "b")
    >>> v.counterexample.to_dict()
    {'point': {'b': 0.0}, 'point_exact': {'b': '0'}, 'expected': -3.0, 'expected_exact': '-3', 'claimed': 3.0, 'claimed_exact': '3', 'entry': None, 'iteration': None}
    """

    point: dict
    expected: Any
    claimed: Any
    entry: tuple[int, int] | None = None
    iteration: int | None = None
    expected_exact: Any = None
    claimed_exact: Any = None

    def __repr__(self) -> str:
        where = {k: v for k, v in (("entry", self.entry), ("iteration", self.iteration)) if v is not None}
        return brief_repr(self, point=self.point, expected=self.expected, claimed=self.claimed, **where)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "point": {k: _json_number(v) for k, v in self.point.items()},
            "point_exact": {k: _exact_json(v) for k, v in self.point.items()},
        }
        for key, value, exact in (("expected", self.expected, self.expected_exact),
                                  ("claimed", self.claimed, self.claimed_exact)):
            out[key] = _json_number(value)
            shown = exact if exact is not None else value
            out[f"{key}_exact"] = _exact_json(shown)
        out["entry"] = list(self.entry) if self.entry is not None else None
        out["iteration"] = self.iteration
        return out


@dataclass(frozen=True)
class Verdict(Renderable):
    """Whether a hand-computed answer is right, and if not, where and why.

    ``ok``; ``expected`` (the correct answer) and ``claimed`` (as read);
    ``counterexample`` (a :class:`Counterexample`, or None); ``diagnosis``
    (ids, see :data:`derivkit.verify.diagnosis.DIAGNOSES`); ``message`` (one or
    two sentences); ``derivation`` (the correct derivation, or the worked
    :class:`~derivkit.training.descend.Descent` for a descent table). Also:
    ``kind``, ``method`` (what decided), ``expr``, ``wrt``, ``at`` (the point
    as (name, value) pairs), ``findings`` (each diagnosis with its explanation),
    ``wrong_entries`` (0-based (row, column) pairs of a matrix), ``index_base``
    (how the message numbers rows and columns: from 0 when the variables are
    numbered from 0, as ``s_0, s_1``, else from 1) and ``rows`` (the
    iteration-by-iteration check of a descent table).

    A verdict is true when the answer is right: ``bool(v)`` is ``v.ok``.
    """

    ok: bool
    expected: Any
    claimed: Any
    counterexample: Counterexample | None
    diagnosis: tuple[str, ...]
    message: str
    derivation: Any = None
    kind: str = "derivative"
    method: str = ""
    expr: Any = None
    wrt: tuple = ()
    at: tuple = ()
    findings: tuple[Finding, ...] = ()
    wrong_entries: tuple[tuple[int, int], ...] = ()
    rows: tuple = ()
    index_base: int = 1

    def __bool__(self) -> bool:
        return bool(self.ok)

    def __repr__(self) -> str:
        return brief_repr(self, ok=self.ok, kind=self.kind, expected=self.expected, claimed=self.claimed,
                          diagnosis=self.diagnosis)

    def to_dict(self) -> dict[str, Any]:
        valued = bool(self.at) or self.kind == "descent"  # expected and claimed are numbers (or lists, matrices of them)
        return {
            "ok": self.ok,
            "kind": self.kind,
            "method": self.method,
            "expr": _json(self.expr),
            "wrt": [str(s) for s in self.wrt],
            "at": {k: _json_number(v) for k, v in self.at},
            "at_exact": {k: _exact_json(v) for k, v in self.at},
            "expected": _json_number(self.expected) if valued else _json(self.expected),
            "expected_exact": _exact_json(self.expected) if valued else None,
            "claimed": _json_number(self.claimed) if valued else _json(self.claimed),
            "claimed_exact": _exact_json(self.claimed) if valued else None,
            "counterexample": self.counterexample.to_dict() if self.counterexample else None,
            "diagnosis": list(self.diagnosis),
            "findings": [{"id": f.id, "message": f.message} for f in self.findings],
            "wrong_entries": [list(e) for e in self.wrong_entries],
            "index_base": self.index_base,
            "message": self.message,
            "rows": [r.to_dict() for r in self.rows],
            "derivation": self.derivation.to_dict() if hasattr(self.derivation, "to_dict") else None,
        }


def _json_number(v: Any) -> Any:
    """A real number as a float (None where undefined); anything else as :func:`_json` gives it."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, sympy.MatrixBase):
        return [[_json_number(e) for e in row] for row in v.tolist()]
    if isinstance(v, (tuple, list)):
        return [_json_number(e) for e in v]
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, sympy.Basic) and v.is_number:
        value = real_value(v, {})
        return float(value) if value is not None else None
    return _json(v)


def _exact_json(v: Any) -> Any:
    """An exact value as a string (``"1/2"``, ``"2*sin(1)"``); matrices and lists entry by entry."""
    if v is None:
        return None
    if isinstance(v, sympy.MatrixBase):
        return [[_exact_json(e) for e in row] for row in v.tolist()]
    if isinstance(v, (tuple, list)):
        return [_exact_json(e) for e in v]
    return str(v)


def _json(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, sympy.MatrixBase):
        return [[str(e) for e in row] for row in v.tolist()]
    if isinstance(v, (tuple, list)):
        return [_json(e) for e in v]
    if isinstance(v, sympy.Integer):
        return int(v)
    return str(v)


# ---------------------------------------------------------------- reading input

def _is_latex(text: str, latex: bool) -> bool:
    return latex or "\\" in text or "{" in text


def _split_top(text: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts]


def _bracketed(text: str) -> bool:
    t = text.strip()
    if not (t.startswith("[") and t.endswith("]")):
        return False
    depth = 0
    for i, ch in enumerate(t):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth == 0 and i < len(t) - 1:
            return False
    return True


def _nested(text: str) -> Any:
    """``"[[a, b], [c, d]]"`` -> ``[["a", "b"], ["c", "d"]]`` (strings stay strings)."""
    if not _bracketed(text):
        return text
    inner = text.strip()[1:-1]
    if not inner.strip():
        raise InputError(f"the list {text.strip()!r} is empty")
    return [_nested(p) for p in _split_top(inner)]


def read_claim(obj: Any, latex: bool = False, what: str = "claimed answer") -> sympy.Basic | sympy.Matrix:
    """An expression or a Matrix from what a user typed or passed (see module notes).

    >>> read_claim("[[2, 2*x2], [-2*x1, 3]]")
    Matrix([
    [    2, 2*x2],
    [-2*x1,    3]])
    >>> read_claim("2x")
    2*x
    """
    if isinstance(obj, str):
        nested = _nested(obj)
        if isinstance(nested, list):
            return _as_matrix(nested, latex, what)
        return as_expr(obj, latex=_is_latex(obj, latex), what=what)
    if isinstance(obj, sympy.MatrixBase) or isinstance(obj, (list, tuple)) or (
        hasattr(obj, "shape") and getattr(obj, "shape", ()) != () and not isinstance(obj, sympy.Basic)
    ):
        return _as_matrix(obj, latex, what)
    return as_expr(obj, what=what)


def _as_matrix(obj: Any, latex: bool, what: str) -> sympy.Matrix:
    if isinstance(obj, sympy.MatrixBase):
        return sympy.Matrix(obj)
    if hasattr(obj, "tolist") and not isinstance(obj, sympy.Basic):
        obj = obj.tolist()

    def one(v):
        if isinstance(v, str):
            return as_expr(v, latex=_is_latex(v, latex), what=what)
        return as_expr(v, what=what)

    rows = list(obj)
    if rows and all(isinstance(r, (list, tuple)) for r in rows):
        return as_matrix([[one(v) for v in r] for r in rows], what=what)
    if any(isinstance(r, (list, tuple)) for r in rows):
        raise InputError(f"the {what} mixes numbers and lists")
    return as_matrix([one(v) for v in rows], what=what)


def _raw_entries(obj: Any, shape: tuple[int, int]) -> list[list[Any]]:
    """The entries as the user wrote them (for the decimals a number was written with)."""
    if isinstance(obj, str):
        obj = _nested(obj)
    if hasattr(obj, "tolist") and not isinstance(obj, sympy.Basic):
        obj = obj.tolist()
    if isinstance(obj, (list, tuple)):
        rows = [list(r) if isinstance(r, (list, tuple)) else [r] for r in obj]
        flat = [v for r in rows for v in r]
        if len(flat) == shape[0] * shape[1]:
            return [flat[i * shape[1]:(i + 1) * shape[1]] for i in range(shape[0])]
    return [[None] * shape[1] for _ in range(shape[0])]


# ---------------------------------------------------------------- the correct answer

def _derivation(expr: sympy.Basic, x: sympy.Symbol, order: int = 1):
    from derivkit.calculus.steps import derive

    return derive(expr, x, order)


def _matrix_derivation(kind: str, exprs: Sequence[sympy.Basic], wrt: tuple[sympy.Symbol, ...]):
    from derivkit.calculus import several

    if kind == "jacobian":
        return several.jacobian(list(exprs), list(wrt))
    return getattr(several, kind)(exprs[0], list(wrt))


def _entry_problems(kind: str, exprs, wrt) -> list[list[tuple[sympy.Basic, sympy.Symbol]]]:
    """For each matrix entry, the scalar problem (function, variable) it is the answer to."""
    if kind == "gradient":
        return [[(exprs[0], x)] for x in wrt]
    if kind == "jacobian":
        return [[(f, x) for x in wrt] for f in exprs]
    return [[(sympy.diff(exprs[0], xi), xj) for xj in wrt] for xi in wrt]


# ---------------------------------------------------------------- check

@budget.guarded
def check(expr: Any, claimed: Any, wrt: Any, at: dict | None = None, *, latex: bool = False,
          kind: str | None = None, order: int = 1) -> Verdict:
    """Check a hand-computed derivative (or gradient, Jacobian, Hessian, or value at a point).

    ``expr`` is the function (a list of functions for a Jacobian), ``claimed``
    the answer, ``wrt`` the variable(s), ``at`` an optional point (names to
    values) at which ``claimed`` is a value; ``order`` asks for a higher
    derivative of one function (mistakes are then looked for in the last
    differentiation). Returns a :class:`Verdict`.

    >>> check("1/(1 + e^(-x))", "sigmoid(x)*(1 - sigmoid(x))", "x").ok
    True
    >>> v = check("5*b^2 - 3*b + 2", "10*b + 3", "b")
    >>> v.ok, v.counterexample.point
    (False, {'b': 0})
    >>> check("x^3", "3*x^2", "x", at={"x": 2}).ok
    True
    >>> check(["2*x1 + x2^2", "-x1^2 + 3*x2"], [["2", "-2*x1"], ["2*x2", "3"]], "x1, x2").diagnosis
    ('transposed',)
    """
    if kind is not None and kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise InputError(f"the order must be a whole number of at least 1, not {order!r}")
    exprs = _read_functions(expr, latex)
    claim = read_claim(claimed, latex)
    syms = as_symbols(wrt, list(exprs) + ([claim] if not isinstance(claim, sympy.MatrixBase) else list(claim)))
    syms = tuple(_same_name(s, set().union(*(e.free_symbols for e in exprs))) for s in syms)
    every = set(syms).union(*(e.free_symbols for e in exprs))
    claim = _align_names(claim, every)
    claim = claim.applyfunc(lambda e: as_real(e, every)) if isinstance(claim, sympy.MatrixBase) else as_real(claim, every)
    kind = kind or _infer_kind(exprs, claim, syms)
    if kind == "derivative":
        if len(exprs) != 1 or len(syms) != 1:
            raise InputError("a derivative is of one function with respect to one variable")
        if isinstance(claim, sympy.MatrixBase):
            if claim.shape != (1, 1):
                raise ShapeError(f"the derivative of one function by one variable is a single expression, not a {_shape(claim)} matrix")
            claim = claim[0, 0]
        return _check_scalar(exprs[0], claim, syms[0], at, claimed, order)
    if order != 1:
        raise InputError(f"order applies to the derivative of one function by one variable, not to a {kind}")
    if kind in ("gradient", "hessian") and len(exprs) != 1:
        raise InputError(f"a {kind} is of one function; for several functions ask for the Jacobian")
    if not isinstance(claim, sympy.MatrixBase):
        claim = sympy.Matrix([claim])
    return _check_matrix(kind, exprs, claim, syms, at, claimed)


def _key(name: str) -> str:
    return name.replace("_", "").replace("{", "").replace("}", "")


def _same_name(sym: sympy.Symbol, known: set) -> sympy.Symbol:
    """``sym``, or the known symbol it means when written another way (``x_1`` for ``x1``)."""
    if sym in known:
        return sym
    matches = [k for k in known if isinstance(k, sympy.Symbol) and _key(k.name) == _key(sym.name)]
    return matches[0] if len(matches) == 1 else sym


def _align_names(claim, known: set):
    """The claim with its variables renamed to the known ones they mean (LaTeX ``x_1`` is ``x1``)."""
    mapping = {}
    for s in claim.free_symbols:
        if isinstance(s, sympy.Symbol):
            t = _same_name(s, known)
            if t is not s:
                mapping[s] = t
    return claim.xreplace(mapping) if mapping else claim


def _read_functions(expr: Any, latex: bool) -> tuple[sympy.Basic, ...]:
    e = read_claim(expr, latex, what="function")
    if isinstance(e, sympy.MatrixBase):
        if 1 not in e.shape:
            raise ShapeError(f"the functions must be a list, not a {_shape(e)} matrix")
        return tuple(e)
    return (e,)


def _infer_kind(exprs, claim, syms) -> str:
    if len(exprs) > 1:
        return "jacobian"
    if len(syms) == 1:
        return "derivative"
    if isinstance(claim, sympy.MatrixBase) and claim.shape == (len(syms), len(syms)):
        return "hessian"
    if isinstance(claim, sympy.MatrixBase):
        return "gradient"
    raise InputError(
        f"with several variables ({', '.join(s.name for s in syms)}) the answer is a gradient "
        "(a list) or a Hessian (a square matrix); for one partial derivative give one variable"
    )


def _shape(m: sympy.MatrixBase) -> str:
    return f"{m.shape[0]}×{m.shape[1]}"


def _variables(expr: sympy.Basic, claim: sympy.Basic, x: Sequence[sympy.Symbol]) -> set:
    return {s for s in (expr.free_symbols | claim.free_symbols | set(x)) if isinstance(s, sympy.Symbol)}


def _point(at: dict, variables) -> dict:
    """The point as Symbols to exact numbers (every name checked)."""
    if not isinstance(at, dict):
        raise InputError(f"the point must be a dict of values by name, not {type(at).__name__}")
    by_name = {s.name: s for s in variables}
    out = {}
    for k, v in at.items():
        name = k.name if isinstance(k, sympy.Symbol) else str(k)
        if name not in by_name:
            raise InputError(f"'{name}' is not a variable here (variables: {', '.join(sorted(by_name))})")
        out[by_name[name]] = substitute(as_number(v, what=f"value of {name}"), {})
    return out


def _num(v: Any, exact: Any = None) -> str:
    """A value for a message: exact when it is short (``-3``, ``2·sin(1) + cos(1) ≈ 2.22``), else 6 digits."""
    if v is None:
        return "undefined"
    if exact is not None and len(expr_text(exact)) <= 40:
        return value_text(exact)
    if isinstance(v, sympy.Float):
        f = float(v)
        if math.isinf(f) or (f == 0 and v != 0):  # beyond double precision: keep the exponent
            return mpmath.nstr(mpmath.mpf(v._mpf_), 6)
        return f"{f:.6g}"
    return value_text(v)


def _exact_at(e: sympy.Basic, point: dict) -> sympy.Basic | None:
    """``e`` at ``point`` (names to values), exactly, when that stays a small real expression."""
    at = {s: point[s.name] for s in e.free_symbols if isinstance(s, sympy.Symbol) and s.name in point}
    if magnitude.how_to_evaluate(e, at) != "exact":  # the exact value would be huge (gamma(10^10)): none
        return None
    try:
        v = e.xreplace(at)
    except (TypeError, ValueError, ZeroDivisionError, AttributeError):  # pragma: no cover
        return None
    if not getattr(v, "is_number", False) or real_value(v, {}) is None:
        return None
    if any(type(f).__name__ == "softmax_entry" for f in v.atoms(sympy.Function)):
        try:  # a softmax of numbers is clearer as the quotient it stands for: softmax(0, 0)[0] = 1/2
            written = v.rewrite(sympy.exp)
            v = written if sympy.count_ops(written) < sympy.count_ops(v) else v
        except (TypeError, ValueError, AttributeError, NotImplementedError):  # pragma: no cover
            pass
    return v if sympy.count_ops(v) <= 30 else None


def _where(point: dict) -> str:
    return ", ".join(f"{k} = {expr_text(v)}" for k, v in point.items())


def _check_scalar(expr, claim, x, at, raw, order: int = 1) -> Verdict:
    d = _derivation(expr, x, order)
    expected = d.result
    # Mistakes are looked for in the last differentiation, of the (order-1)-th derivative.
    last = sympy.diff(expr, x, order - 1) if order > 1 else expr
    base = dict(expected=expected, derivation=d, kind="derivative", expr=expr, wrt=(x,))
    lhs = derivative_text(expr, x, order)
    if at is not None:
        point = _point(at, _variables(expr, claim, [x]))
        return _check_value(expr, last, x, expected, claim, point, raw, base, lhs)
    variables = _variables(expr, claim, [x])
    sampler = Sampler(expected, variables, domain=(expr,))
    cmp = compare(expected, claim, sorted(variables, key=str), sampler)
    if cmp.equal:
        return Verdict(True, claimed=claim, counterexample=None, diagnosis=(), method=cmp.method,
                       message=f"Correct: {lhs} = {expr_text(expected)}, {_same(cmp)}.", **base)
    if cmp.equal is None:
        return Verdict(False, claimed=claim, counterexample=None, diagnosis=(), method="undecided",
                       message=f"Could not decide: {lhs} = {expr_text(expected)} is not real-valued at any test point and does not simplify to your answer.",
                       **base)
    findings = diagnose(last, x, expected, claim, sampler)
    ce = _counterexample(cmp, expected, claim)
    huge = ce is not None and ce.claimed is None and hazard(claim, sampler.points[cmp.points_tested - 1])
    return Verdict(False, claimed=claim, counterexample=ce, diagnosis=tuple(f.id for f in findings),
                   method=cmp.method, findings=findings, message=_wrong_message(lhs, expected, ce, findings, huge),
                   **base)


def _same(cmp: Comparison) -> str:
    """How a right answer was recognised, in words."""
    return _METHODS[cmp.method].format(n=cmp.points_tested)


def _counterexample(cmp: Comparison, expected: sympy.Basic, claim: sympy.Basic, entry=None) -> Counterexample | None:
    if cmp.point is None:
        return None
    return Counterexample(point=dict(cmp.point), expected=cmp.expected_value, claimed=cmp.claimed_value, entry=entry,
                          expected_exact=_exact_at(expected, cmp.point),
                          claimed_exact=_exact_at(claim, cmp.point) if cmp.claimed_value is not None else None)


def _gives(ce: Counterexample) -> str:
    """``it is -3, but your answer gives 3`` (or says the answer is undefined there)."""
    yours = "your answer is undefined there" if ce.claimed is None else f"your answer gives {_num(ce.claimed, ce.claimed_exact)}"
    return f"{_num(ce.expected, ce.expected_exact)}, but {yours}"


def _wrong_message(lhs: str, expected, ce: Counterexample | None, findings, huge: bool = False) -> str:
    msg = f"Not right: {lhs} = {expr_text(expected)}."
    if ce is not None:
        if huge:
            msg += (f" At {_where(ce.point)} it is {_num(ce.expected, ce.expected_exact)}, but your answer is too "
                    "large to evaluate there.")
        else:
            msg += f" At {_where(ce.point)} it is {_gives(ce)}."
    if findings:
        msg += f" Likely mistake: {findings[0].message}."
    return msg


def _in_domain(exprs, point: dict, what: str = "the function") -> None:
    """Refuse a point where a function (or its derivative) is undefined or not real."""
    where = _where({s.name: v for s, v in point.items()})
    for e in exprs:
        missing = sorted(s.name for s in e.free_symbols - set(point) if isinstance(s, sympy.Symbol))
        if missing:
            raise InputError(f"no value given for {', '.join(missing)}")
        if real_value(e, point) is None:
            raise DomainError(f"{where} is outside the domain of {expr_text(e)}: {what} is undefined or not real there")


def _check_value(expr, last, x, expected, claim, point, raw, base, lhs) -> Verdict:
    _in_domain([expr], point)
    _in_domain([expected], point, "the derivative")
    e_val = substitute(expected, {s.name: v for s, v in point.items()}, variables=list(point))
    c_val = substitute(claim, {s.name: v for s, v in point.items()}, variables=list(point)) if claim.free_symbols else claim
    at_pairs = tuple((s.name, v) for s, v in point.items())
    d = written_decimals(raw)
    method = "exact" if d is None else f"to {d} decimals"
    lhs = f"{lhs} at {_where({s.name: v for s, v in point.items()})}"
    common = dict(base, expected=e_val, at=at_pairs, method=method)
    if matches_written(raw, c_val, e_val):
        return Verdict(True, claimed=c_val, counterexample=None, diagnosis=(),
                       message=f"Correct: {lhs} is {_num(e_val)}, and so is your value ({method}).", **common)
    findings = diagnose_value(last, x, point, expected, c_val, raw)
    ce = Counterexample(point={s.name: v for s, v in point.items()}, expected=e_val, claimed=c_val)
    shown = str(raw).strip() if d is not None else _num(c_val)
    msg = f"Not right: {lhs} is {_num(e_val)}, not {shown}."
    if findings:
        msg += f" Likely mistake: {findings[0].message}."
    return Verdict(False, claimed=c_val, counterexample=ce, diagnosis=tuple(f.id for f in findings),
                   findings=findings, message=msg, **common)


# ---------------------------------------------------------------- matrices

def _check_matrix(kind, exprs, claim, syms, at, raw) -> Verdict:
    md = _matrix_derivation(kind, exprs, syms)
    expected = exact = sympy.Matrix(md.result)
    problems = _entry_problems(kind, exprs, syms)
    base_ = index_base(syms)
    base = dict(derivation=md, kind=kind, expr=exprs[0] if len(exprs) == 1 else sympy.Matrix(exprs), wrt=syms,
                index_base=base_)
    point = None
    functions: list = list(exprs)
    if at is not None:
        every = set().union(*(e.free_symbols for e in exprs)) | set(syms) | claim.free_symbols
        point = _point(at, {s for s in every if isinstance(s, sympy.Symbol)})
        names = {s.name: v for s, v in point.items()}
        _in_domain(exprs, point)
        _in_domain(list(expected), point, "the derivative")
        expected = substitute(expected, names, variables=list(point))
        if claim.free_symbols:
            claim = substitute(claim, names, variables=list(point))
        functions = [substitute(f, names, variables=list(point)) for f in exprs]
        base["at"] = tuple(names.items())
    note = ""
    if kind == "gradient" and claim.shape == (1, expected.shape[0]) and expected.shape[0] > 1:
        claim, note = claim.T, " (written as a row; derivkit writes gradients as columns)"
    raws = _raw_entries(raw, claim.shape)
    label = {"gradient": "gradient", "jacobian": "Jacobian", "hessian": "Hessian"}[kind]
    if claim.shape != expected.shape:
        if claim.shape == expected.T.shape and _matches_transpose(expected, claim, point, raws):
            return _transposed(expected, claim, label, base)
        return Verdict(False, expected=expected, claimed=claim, counterexample=None, diagnosis=(),
                       message=f"Not right: the {label} is a {_shape(expected)} matrix, your answer is {_shape(claim)}.",
                       **base)
    wrong, first, entry_findings = _compare_entries(expected, exact, claim, problems, syms, point, raws)
    if not wrong:
        method = "exact" if point is not None else "entry by entry"
        return Verdict(True, expected=expected, claimed=claim, counterexample=None, diagnosis=(), method=method,
                       message=f"Correct: every entry of the {label} is right{note}.", **base)
    if expected.is_square and expected != expected.T and _matches_transpose(expected, claim, point, raws):
        return _transposed(expected, claim, label, base)
    nonzero = [(i, j) for i in range(expected.rows) for j in range(expected.cols) if expected[i, j] != 0]
    if set(wrong) == set(nonzero) and all(_matches(-expected[i, j], claim[i, j], point, raws[i][j]) for i, j in wrong):
        f = Finding("sign_error", f"every entry of your {label} has the wrong sign")
        return Verdict(False, expected=expected, claimed=claim, counterexample=first, diagnosis=("sign_error",),
                       findings=(f,), wrong_entries=tuple(wrong), message=f"Not right: {f.message}.", **base)
    entries = Finding("wrong_entry", _entries_text(wrong, expected.shape, label, base_))
    delta = None
    if kind == "jacobian":
        delta = softmax_delta(functions, syms, expected, claim, lambda e, c: _matches(e, c, point, None), base_)
    findings: list[Finding] = [delta] if delta is not None else []
    findings.append(entries)
    if delta is None:
        for (i, j), fs in entry_findings.items():
            findings += [Finding(f.id, f"entry (row {i + base_}, column {j + base_}): {f.message}") for f in fs]
    ids = tuple(dict.fromkeys(f.id for f in findings))
    msg = f"Not right: {findings[0].message}."
    if delta is not None:
        msg += f" {entries.message[0].upper()}{entries.message[1:]}."
    if first is not None and delta is not None and point is None:
        i, j = first.entry
        msg += f" At {_where(first.point)}, entry (row {i + base_}, column {j + base_}) is {_gives(first)}."
    elif first is not None:
        i, j = first.entry
        msg += (f" Entry (row {i + base_}, column {j + base_}) should be {expr_text(expected[i, j])}"
                + (f"; at {_where(first.point)} it is {_gives(first)}." if point is None else "."))
    if delta is None and len(findings) > 1:
        msg += f" Likely mistake in {findings[1].message}."
    return Verdict(False, expected=expected, claimed=claim, counterexample=first, diagnosis=ids,
                   findings=tuple(findings), wrong_entries=tuple(wrong), message=msg, **base)


def _compare_entries(expected, exact, claim, problems, syms, point, raws):
    """The wrong entries, the first counterexample and each wrong entry's findings."""
    wrong: list[tuple[int, int]] = []
    first: Counterexample | None = None
    findings: dict[tuple[int, int], tuple[Finding, ...]] = {}
    for i in range(expected.rows):
        for j in range(expected.cols):
            f, x = problems[i][j]
            e, c = expected[i, j], claim[i, j]
            if point is not None:
                if matches_written(raws[i][j] if raws[i][j] is not None else c, c, e):
                    continue
                wrong.append((i, j))
                findings[(i, j)] = diagnose_value(f, x, point, exact[i, j], c, raws[i][j])
                first = first or Counterexample({s.name: v for s, v in point.items()}, e, c, entry=(i, j))
                continue
            variables = _variables(f, c, syms) | e.free_symbols
            sampler = Sampler(e, variables, domain=(f,))
            cmp = compare(e, c, sorted(variables, key=str), sampler)
            if cmp.equal:
                continue
            wrong.append((i, j))
            findings[(i, j)] = diagnose(f, x, e, c, sampler) if cmp.equal is False else ()
            if first is None and cmp.point is not None:
                first = _counterexample(cmp, e, c, entry=(i, j))
    return wrong, first, findings


def _matches(e, c, point, raw) -> bool:
    if point is not None:
        return matches_written(raw if raw is not None else c, c, e)
    return bool(compare(e, c, sorted(_variables(e, c, []), key=str)).equal)


def _matches_transpose(expected, claim, point, raws) -> bool:
    """Whether ``claim`` is the transpose of ``expected`` (``raws`` has the claim's shape)."""
    return all(
        _matches(expected[i, j], claim[j, i], point, raws[j][i])
        for i in range(expected.rows) for j in range(expected.cols)
    )


def _transposed(expected, claim, label, base) -> Verdict:
    layout = " (numerator layout: row i is output f_i, column j is variable x_j)" if label == "Jacobian" else ""
    f = Finding("transposed", f"your matrix is the transpose of the {label}: rows and columns are swapped{layout}")
    return Verdict(False, expected=expected, claimed=claim, counterexample=None, diagnosis=("transposed",),
                   findings=(f,), message=f"Not right: {f.message}.", **base)


def _entries_text(wrong: list[tuple[int, int]], shape, label: str, base: int = 1) -> str:
    where = ", ".join(f"({i + base}, {j + base})" for i, j in wrong)
    n = shape[0] * shape[1]
    verb = "is" if len(wrong) == 1 else "are"
    return f"{len(wrong)} of the {n} entries of the {label} {verb} wrong, at (row, column) {where}"


_NUMBERED = re.compile(r"^(.*?)_?\{?(\d+)\}?$")


def index_base(variables: Sequence[sympy.Symbol]) -> int:
    """0 when the variables are numbered from 0 (``s_0, s_1, s_2``), else 1: how rows and columns are numbered.

    >>> index_base(sympy.symbols("s_0 s_1 s_2")), index_base(sympy.symbols("x1 x2")), index_base(sympy.symbols("x y"))
    (0, 1, 1)
    """
    found = [_NUMBERED.match(s.name) for s in variables]
    if len(found) < 2 or not all(found):
        return 1
    stems = {m.group(1) for m in found if m}
    numbers = sorted(int(m.group(2)) for m in found if m)
    return 0 if len(stems) == 1 and numbers == list(range(len(numbers))) else 1
