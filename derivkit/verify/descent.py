"""Checking a hand-computed table of gradient-descent iterates: :func:`check_descent`.

The correct run comes from :func:`derivkit.descend` (exact where the inputs
are), and each claimed iterate ``b(1), b(2), ...`` is compared with it:

* a number written with decimals (``"3.63"``, ``3.297``) is right when the
  correct value rounds to the same decimals; an integer or a fraction must be exact;
* the **first wrong iteration** is named with the claimed and the correct value,
  and its likely cause (stepping uphill, a forgotten learning rate or momentum
  term, or otherwise an arithmetic slip);
* each later iteration is also checked **from the claimed value before it**
  (one step of :func:`~derivkit.descend` from there, plus the momentum term
  ``eta (b(r) - b(r-1))`` of the claimed values when there is momentum), so a
  table that carries one slip forward correctly is told so.

>>> v = check_descent("5b^2 - 3b + 2", "b", start=4, lr=0.01, claimed=["3.63", "3.297", "2.9973"])
>>> v.ok
True
>>> v = check_descent("5b^2 - 3b + 2", "b", start=4, lr=0.01, claimed=["3.63", "3.279", "2.9811"])
>>> v.ok, v.counterexample.iteration, v.counterexample.expected
(False, 2, 3297/1000)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import sympy

from derivkit import budget
from derivkit.errors import InputError
from derivkit.inputs import as_expr, as_symbols
from derivkit.render.common import expr_text
from derivkit.training.descend import Descent, decimal, descend
from derivkit.verify.check import Counterexample, Verdict, _split_top
from derivkit.verify.diagnosis import Finding
from derivkit.verify.equivalence import matches_written, written_decimals

__all__ = ["check_descent", "IterateCheck"]


@dataclass(frozen=True)
class IterateCheck:
    """One row of a checked descent table.

    ``claimed`` and ``expected`` (the correct run) at ``iteration``; ``ok``
    whether they agree; ``from_claimed`` the iterate one correct step from the
    *claimed* previous iterate and ``consistent`` whether the claim matches it
    (``None`` where that was not checked: up to the first wrong iteration).
    ``expected`` is ``None`` past the end of a run that diverged.
    """

    iteration: int
    claimed: Any
    expected: Any
    ok: bool
    from_claimed: Any = None
    consistent: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        def j(v):
            if v is None:
                return None
            return [str(e) for e in v] if isinstance(v, tuple) else str(v)

        return {"iteration": self.iteration, "claimed": j(self.claimed), "expected": j(self.expected),
                "ok": self.ok, "from_claimed": j(self.from_claimed), "consistent": self.consistent}


def _components(v: Any) -> list:
    return list(v) if isinstance(v, tuple) else [v]


def _read_table(claimed: Any, n_vars: int) -> list[list[Any]]:
    """The claimed iterates as lists of raw components (strings kept for their decimals)."""
    if isinstance(claimed, str):
        claimed = _split_top(claimed.strip().strip("[]"))
    elif hasattr(claimed, "tolist") and not isinstance(claimed, sympy.Basic):  # a NumPy array
        claimed = claimed.tolist()
    if not isinstance(claimed, (list, tuple)) or not claimed:
        raise InputError("the claimed table must be a non-empty list of iterates b(1), b(2), ...")
    rows = []
    for k, item in enumerate(claimed, start=1):
        if isinstance(item, str) and n_vars > 1:
            item = _split_top(item.strip().strip("()[]"))
        parts = list(item) if isinstance(item, (list, tuple)) else [item]
        if len(parts) != n_vars:
            raise InputError(f"iterate {k} of the claimed table has {len(parts)} values for {n_vars} variables")
        rows.append(parts)
    return rows


def _value(raw: Any, what: str) -> sympy.Basic:
    v = as_expr(raw, what=what)
    if v.free_symbols:
        raise InputError(f"the {what} must be a number, not {v}")
    return v


def _matches(raws: Sequence[Any], values: Sequence[sympy.Basic], expected: Any) -> bool:
    return all(matches_written(r, c, e) for r, c, e in zip(raws, values, _components(expected)))


def _pack(values: Sequence[sympy.Basic], several: bool) -> Any:
    return tuple(values) if several else values[0]


def _show(v: Any) -> str:
    if isinstance(v, tuple):
        return "(" + ", ".join(_show(e) for e in v) + ")"
    if isinstance(v, sympy.Basic) and v.is_number:
        return decimal(v)
    return expr_text(v)


def _show_like(expected: Any, raws: Sequence[Any]) -> str:
    """The correct iterate, rounded to the decimals the claim was written with (when it is not exact)."""
    parts = []
    for e, r in zip(_components(expected), raws):
        d = written_decimals(r)
        exact = isinstance(e, sympy.Basic) and e.is_Rational and sympy.Rational(decimal(e)) == e
        parts.append(decimal(e) if d is None or exact else f"{float(e):.{d}f}")
    return parts[0] if len(parts) == 1 else "(" + ", ".join(parts) + ")"


def _show_written(raws: Sequence[Any], values: Any) -> str:
    parts = [str(r).strip() if written_decimals(r) is not None else _show(v) for r, v in zip(raws, _components(values))]
    return parts[0] if len(parts) == 1 else "(" + ", ".join(parts) + ")"


@budget.guarded
def check_descent(f: Any, wrt: Any, start: Any, lr: Any, claimed: Sequence[Any], momentum: Any = 0) -> Verdict:
    """Check a hand-computed table of gradient-descent iterates ``b(1), b(2), ...``.

    ``f``, ``wrt``, ``start``, ``lr`` and ``momentum`` are as for
    :func:`derivkit.descend`; ``claimed`` is a list of numbers (tuples for
    several variables; strings such as ``"3.63"`` keep the decimals written).
    Returns a :class:`~derivkit.verify.check.Verdict` whose ``counterexample``
    names the first wrong iteration and whose ``rows`` check every iteration.

    >>> v = check_descent("5b^2 - 3b + 2", "b", 4, 1, [-33, 300, -2697])
    >>> v.ok
    True
    >>> check_descent("x^2 + y^2", "x, y", (1, 2), 0.25, [(0.5, 1), (0.25, 0.4)]).counterexample.iteration
    2
    """
    fx = as_expr(f, what="function")
    syms = as_symbols(wrt, fx)
    several = len(syms) > 1
    table = _read_table(claimed, len(syms))
    values = [[_value(r, f"iterate {k}") for r in row] for k, row in enumerate(table, start=1)]
    # Compare as far as the table goes: only a blow-up (not the early warning of
    # a rising run) ends the correct run; the warning is still reported.
    run: Descent = descend(fx, syms, start, lr, len(table), momentum, patience=len(table) + 1)
    warning = descend(fx, syms, start, lr, len(table), momentum)
    with_momentum = run.momentum != 0
    checks: list[IterateCheck] = []
    first: int | None = None
    for k, (raws, vals) in enumerate(zip(table, values), start=1):
        expected = run.rows[k - 1].point if k <= len(run.rows) else None
        ok = expected is not None and _matches(raws, vals, expected)
        from_claimed = consistent = None
        if first is not None:
            from_claimed = _step_from(fx, syms, run, values[k - 2],
                                      values[k - 3] if k >= 3 else _components(run.start), several)
            consistent = from_claimed is not None and _matches(raws, vals, from_claimed)
        checks.append(IterateCheck(k, _pack(vals, several), expected, ok, from_claimed, consistent))
        if not ok and first is None:
            first = k
    exp_points = tuple(c.expected for c in checks)
    claimed_points = tuple(c.claimed for c in checks)
    decimals = {written_decimals(r) for row in table for r in row} - {None}
    method = "exact" if not decimals else "to the decimals written"
    base = dict(expected=exp_points, claimed=claimed_points, derivation=run, kind="descent", method=method,
                expr=fx, wrt=syms, rows=tuple(checks))
    setting = f"alpha = {decimal(run.lr)}" + (f", eta = {decimal(run.momentum)}" if with_momentum else "")
    if first is None:
        msg = f"Correct: all {len(checks)} iterates agree with gradient descent from {_show(run.start)} ({setting})."
        if warning.diverged:
            msg += f" The run diverges: {warning.reason}."
        return Verdict(True, counterexample=None, diagnosis=(), message=msg, **base)
    bad = checks[first - 1]
    if bad.expected is None:
        msg = (f"Not right: gradient descent stops before iteration {first} ({run.reason}), "
               f"so your iterate {_show(bad.claimed)} cannot be right.")
        ce = Counterexample({"iteration": first}, None, bad.claimed, iteration=first)
        return Verdict(False, counterexample=ce, diagnosis=(), message=msg, **base)
    finding = _diagnose_step(run, first, bad.claimed, table[first - 1], several)
    ce = Counterexample({"iteration": first}, bad.expected, bad.claimed, iteration=first)
    msg = (f"Not right: iteration {first} should be {_show_like(bad.expected, table[first - 1])}, "
           f"not {_show_written(table[first - 1], bad.claimed)}"
           f" (gradient descent with {setting}). Likely mistake: {finding.message}.")
    later = checks[first:]
    if later:
        if all(c.consistent for c in later):
            msg += f" The later iterations are right given your value at iteration {first}."
        else:
            k = next(c.iteration for c in later if not c.consistent)
            msg += f" Iteration {k} is wrong even starting from your value before it."
    return Verdict(False, counterexample=ce, diagnosis=(finding.id,), findings=(finding,), message=msg, **base)


def _step_from(fx, syms, run: Descent, prev: list, before: list, several: bool) -> Any:
    """One step from the claimed iterate ``prev`` (``before`` is the one before it, for momentum).

    The gradient step is :func:`~derivkit.descend` started at ``prev``; with momentum
    the course's term ``eta (b(r) - b(r-1))`` is added, as ``descend`` cannot be
    started with a previous step.
    """
    step = descend(fx, syms, _pack(prev, several), run.lr, 1)
    if not step.rows:
        return None
    point = _components(step.rows[0].point)
    if run.momentum != 0:
        point = [p + run.momentum * (a - b) for p, a, b in zip(point, prev, before)]
    return _pack(point, several)


def _diagnose_step(run: Descent, k: int, claimed: Any, raws: Sequence[Any], several: bool) -> Finding:
    """Why iterate ``k`` came out as ``claimed``: the step taken uphill, without alpha, without momentum."""
    row = run.rows[k - 1]
    prev, grad, mom = (_components(v) for v in (row.previous, row.gradient, row.momentum_term))
    a = run.lr
    mistakes = [
        ("sign_error", [p + a * g + m for p, g, m in zip(prev, grad, mom)],
         "the step went uphill: the update is b - alpha f'(b), with a minus sign"),
        ("missing_learning_rate", [p - g + m for p, g, m in zip(prev, grad, mom)],
         "the learning rate is missing: the update is b - alpha f'(b), not b - f'(b)"),
    ]
    if run.momentum != 0:
        mistakes.append(("missing_momentum", [p - a * g for p, g in zip(prev, grad)],
                         "the momentum term eta (b(r) - b(r-1)) is missing from the update"))
    for ident, values, text in mistakes:
        if _matches(raws, _components(claimed), _pack(values, several)):
            return Finding(ident, text)
    return Finding("arithmetic_slip", f"an arithmetic slip: from {_show(row.previous)} the gradient is "
                   f"{_show(row.gradient)} and the step {_show(row.step)}")
