"""Gradient descent by hand: the worked table of iterates, exact where the inputs are.

The course's update is ``b(r+1) = b(r) - alpha f'(b(r))``; with momentum it is
``b(r+1) = b(r) - alpha f'(b(r)) + eta Δb`` where ``Δb = b(r) - b(r-1)`` (and
``Δb = 0`` for the first step). :func:`descend` runs that update for a fixed
number of steps and keeps one :class:`DescentRow` per iteration.

Exact arithmetic: a decimal such as ``0.01`` stands for the decimal typed
(``1/100``, see :func:`derivkit.inputs.as_number`), so the course's exercise
comes out exactly (``363/100, 3297/1000, 29973/10000``). While the iterates stay
rational numbers (of at most 60 digits) they are kept exact; as soon as an
update leaves the rationals (``cos(363/100)``) or the fractions grow longer,
the run continues in ordinary floating point (``Descent.exact`` is then ``False``).

Divergence: the run stops with ``diverged = True`` and a ``reason`` when

1. a point or value is not a finite number (``nan``, ``oo``), or
2. a coordinate of the point, or the value, exceeds ``bound`` (``1e12``) in size, or
3. the value rose at each of the last ``patience`` steps (3) while the size of
   the gradient grew at each of them: every step overshoots the minimum by more
   than the last. When fewer than ``patience`` steps are asked for, the test
   is applied to all the steps taken (the course's ``alpha = 1`` run, three
   steps ``-33, 300, -2697``, is flagged this way).

The rows computed before the stop are kept.

>>> d = descend("5*b**2 - 3*b + 2", "b", start=4, lr=0.01, steps=3)
>>> [row.point for row in d.rows]
[363/100, 3297/1000, 29973/10000]
>>> d.final, d.diverged
(29973/10000, False)
>>> descend("5*b**2 - 3*b + 2", "b", start=4, lr=1, steps=3).diverged
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence, TypeAlias, Union

import numpy as np
import sympy

from derivkit import budget
from derivkit.calculus.steps import derive
from derivkit.errors import InputError
from derivkit.inputs import ExprLike, as_expr, as_number, as_symbols
from derivkit.magnitude import how_to_evaluate
from derivkit.renderable import Renderable, brief_repr

__all__ = ["descend", "Descent", "DescentRow", "BOUND", "PATIENCE"]

BOUND = 10**12
PATIENCE = 3
EXACT_DIGITS = 60

Number: TypeAlias = sympy.Basic
Point: TypeAlias = Union[sympy.Basic, tuple]


@dataclass(frozen=True)
class DescentRow:
    """Iteration ``r``: from ``previous`` = b(r-1) to ``point`` = b(r).

    ``gradient`` is f' at ``previous``; ``step`` is ``point - previous``
    (``-alpha f' + eta Δb``); ``momentum_term`` is ``eta Δb`` (0 without
    momentum); ``value`` is f at ``point``. For one variable these are SymPy
    numbers, for several variables tuples of numbers in the order of ``wrt``.
    """

    iteration: int
    previous: Point
    gradient: Point
    step: Point
    point: Point
    value: Number
    momentum_term: Point = sympy.Integer(0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "iteration": self.iteration,
            "previous": _json(self.previous),
            "gradient": _json(self.gradient),
            "step": _json(self.step),
            "momentum_term": _json(self.momentum_term),
            "point": _json(self.point),
            "value": _json(self.value),
        }


@dataclass(frozen=True)
class Descent(Renderable):
    """A worked run of gradient descent (see :func:`descend`).

    ``rows`` holds one :class:`DescentRow` per iteration taken; ``start`` and
    ``start_value`` are the starting point b(0) and f(b(0)). ``final`` is the
    last point (the start when no step was taken). ``stationary_at`` is the first
    r with f'(b(r)) = 0 (gradient descent stays there from then on; None if never);
    ``minimum`` the minimum of f of one variable when it has exactly one (found
    from f' = 0), for comparing the run with where it should end. ``notes``
    say both in words.
    """

    f: sympy.Basic
    wrt: tuple[sympy.Symbol, ...]
    derivatives: tuple[sympy.Basic, ...]
    start: Point
    start_value: Number
    lr: Number
    momentum: Number
    steps: int
    rows: tuple[DescentRow, ...]
    diverged: bool = False
    reason: str = ""
    exact: bool = True
    notes: tuple[str, ...] = field(default=())
    stationary_at: int | None = None
    minimum: Point | None = None

    def __repr__(self) -> str:
        flags = {"diverged": True} if self.diverged else {}
        return brief_repr(self, f=self.f, wrt=self.wrt, start=self.start, lr=self.lr, momentum=self.momentum,
                          steps=len(self.rows), final=self.final, **flags)

    @property
    def final(self) -> Point:
        """The last point reached."""
        return self.rows[-1].point if self.rows else self.start

    @property
    def points(self) -> tuple[Point, ...]:
        """b(0), b(1), ..., the start included."""
        return (self.start,) + tuple(r.point for r in self.rows)

    @property
    def values(self) -> tuple[Number, ...]:
        """f(b(0)), f(b(1)), ..."""
        return (self.start_value,) + tuple(r.value for r in self.rows)

    @property
    def several(self) -> bool:
        """Whether there is more than one variable (points are then tuples)."""
        return len(self.wrt) > 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "f": str(self.f),
            "f_latex": sympy.latex(self.f),
            "wrt": [s.name for s in self.wrt],
            "derivatives": [str(d) for d in self.derivatives],
            "start": _json(self.start),
            "start_value": _json(self.start_value),
            "lr": _json(self.lr),
            "momentum": _json(self.momentum),
            "steps": self.steps,
            "rows": [r.to_dict() for r in self.rows],
            "final": _json(self.final),
            "diverged": self.diverged,
            "reason": self.reason,
            "exact": self.exact,
            "notes": list(self.notes),
            "stationary_at": self.stationary_at,
            "minimum": None if self.minimum is None else _json(self.minimum),
        }


def _json(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_json(x) for x in v]
    if isinstance(v, sympy.Integer):
        return int(v)
    return str(v)


def _start_values(start: Any, wrt: tuple[sympy.Symbol, ...]) -> list[sympy.Basic]:
    names = [s.name for s in wrt]
    if isinstance(start, Mapping):
        given = {(k.name if isinstance(k, sympy.Symbol) else str(k)): v for k, v in start.items()}
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise InputError(f"the start gives a value for {unknown[0]!r}, which is not one of the variables ({', '.join(names)})")
        missing = [n for n in names if n not in given]
        if missing:
            raise InputError(f"the start gives no value for {missing[0]}")
        values = [given[n] for n in names]
    elif isinstance(start, (list, tuple)) or (hasattr(start, "shape") and getattr(start, "shape", ()) != ()):
        values = list(start)
        if len(values) != len(wrt):
            raise InputError(f"the start has {len(values)} values for {len(wrt)} variables ({', '.join(names)})")
    else:
        if len(wrt) != 1:
            raise InputError(f"give a start value for each of the variables {', '.join(names)} (a dict or a tuple)")
        values = [start]
    return [as_number(v, what=f"start value of {n}") for v, n in zip(values, names)]


def _finite(v: sympy.Basic) -> bool:
    return bool(v.is_number) and v.is_finite is not False and v.is_real is not False and v.has(sympy.nan) is False


def _too_big(v: sympy.Basic) -> bool:
    try:
        return bool(abs(v) > BOUND)
    except TypeError:
        return False


class _Evaluator:
    """f and its gradient at a point: exactly while the numbers stay rationals of at most
    ``EXACT_DIGITS`` digits, in float64 (lambdified NumPy code) from then on."""

    def __init__(self, syms: tuple[sympy.Symbol, ...], f: sympy.Basic, derivs: tuple[sympy.Basic, ...], exact: bool):
        self.syms, self.exprs, self.exact = syms, (f,) + derivs, exact
        self._numeric: list[Any] | None = None

    def number(self, v: sympy.Basic) -> sympy.Basic:
        """``v`` kept exact while allowed, else as a float."""
        if self.exact:
            if v.is_Rational and max(abs(v.p), v.q) < 10**EXACT_DIGITS:
                return v
            self.exact = False
        if v.is_Float or not v.is_number:
            return v
        try:
            x = complex(v)
        except OverflowError:
            return sympy.oo
        except (TypeError, ValueError):
            return sympy.nan
        return sympy.Float(x.real) if x.imag == 0 else sympy.nan

    def _at(self, i: int, point: Sequence[sympy.Basic]) -> sympy.Basic:
        if self.exact:
            at = dict(zip(self.syms, point))
            if how_to_evaluate(self.exprs[i], at) == "exact":
                return self.number(self.exprs[i].xreplace(at))
            self.exact = False  # the exact value would be too long (or out of reach): floats from here on
        if self._numeric is None:
            self._numeric = [sympy.lambdify(self.syms, e, modules="numpy") for e in self.exprs]
        with np.errstate(all="ignore"):
            try:
                x = complex(self._numeric[i](*(float(p) for p in point)))
            except (ArithmeticError, ValueError, TypeError):
                return sympy.nan
        return sympy.Float(x.real) if x.imag == 0 else sympy.nan

    def value(self, point: Sequence[sympy.Basic]) -> sympy.Basic:
        return self._at(0, point)

    def gradient(self, point: Sequence[sympy.Basic]) -> list[sympy.Basic]:
        return [self._at(i, point) for i in range(1, len(self.exprs))]


def _norm2(vs: Sequence[sympy.Basic]) -> sympy.Basic:
    return sum((g * g for g in vs), sympy.Integer(0))


def _describe(vs: Sequence[sympy.Basic]) -> str:
    return ", ".join(_short(v) for v in vs)


def decimal(v: sympy.Basic, digits: int = 12) -> str:
    """``v`` as a person writes it: exact decimals as decimals, else 6 significant digits.

    >>> decimal(sympy.Rational(363, 100)), decimal(sympy.Integer(-2697)), decimal(sympy.Rational(1, 3))
    ('3.63', '-2697', '0.333333')
    """
    if v.is_Integer:
        return str(v)
    if v.is_Rational:
        q = v.q
        twos = fives = 0
        while q % 2 == 0:
            q //= 2
            twos += 1
        while q % 5 == 0:
            q //= 5
            fives += 1
        if q == 1:
            places = max(twos, fives)
            text = f"{abs(v.p) * 10**places // v.q}"
            text = text.rjust(places + 1, "0")
            text = (text[:-places] + "." + text[-places:]).rstrip("0").rstrip(".")
            if len(text.replace(".", "").lstrip("0")) <= digits:
                return ("-" if v.p < 0 else "") + text
    if v.is_Float:
        return f"{float(v):.6g}"
    try:
        return f"{float(v):.6g}"
    except TypeError:
        return str(v)


def is_exact_decimal(v: sympy.Basic, digits: int = 12) -> bool:
    """Whether :func:`decimal` writes ``v`` exactly (an integer or a short terminating decimal).

    >>> is_exact_decimal(sympy.Rational(3297, 1000)), is_exact_decimal(sympy.Rational(1, 3))
    (True, False)
    """
    if not v.is_Rational:
        return False
    text = decimal(v, digits)
    return sympy.Rational(text) == v


def _short(v: sympy.Basic) -> str:
    return decimal(v)


@budget.guarded
def descend(
    f: ExprLike,
    wrt: Any,
    start: Any,
    lr: Any,
    steps: int,
    momentum: Any = 0,
    *,
    patience: int = PATIENCE,
    decimals: bool = False,
) -> Descent:
    """Run ``steps`` iterations of gradient descent on ``f`` and record each one.

    ``wrt`` names the variable(s) (``"b"``, ``"x1,x2"`` or Symbols); ``start``
    is a number for one variable, else a dict by name or a tuple in the order of
    ``wrt``; ``lr`` is alpha and ``momentum`` is eta of the course's update
    ``b(r+1) = b(r) - alpha f'(b(r)) + eta (b(r) - b(r-1))``. Stops early, with
    ``diverged = True`` and a ``reason``, when the run blows up (see the
    module notes for the exact criterion).

    >>> d = descend("5*b**2 - 3*b + 2", "b", start=4, lr=0.1, steps=3)
    >>> [row.point for row in d.rows]
    [3/10, 3/10, 3/10]
    >>> d = descend("x**2 + 2*y**2", "x,y", start={"x": 1, "y": 1}, lr=0.25, steps=1)
    >>> d.rows[0].gradient, d.final
    ((2, 4), (1/2, 0))
    >>> descend("5*b**2 - 3*b + 2", "b", start=4, lr=0.01, steps=2, momentum=0.5).final
    389/125
    """
    if isinstance(steps, bool) or not isinstance(steps, int):
        raise InputError(f"the number of steps must be a whole number, not {steps!r}")
    if steps < 0:
        raise InputError(f"the number of steps must be 0 or more, not {steps}")
    budget.refuse_above("steps", steps, f"a descent of {steps:,} steps", part=f"steps={steps}")
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
        raise InputError(f"patience must be a whole number of at least 1, not {patience!r}")
    fx = as_expr(f, what="function", decimals=decimals)
    if isinstance(fx, sympy.MatrixBase):
        raise InputError("descend minimises a scalar function, not a matrix")
    syms = as_symbols(wrt, fx)
    others = sorted(s.name for s in fx.free_symbols if s not in syms)
    if others:
        raise InputError(
            f"f also depends on {', '.join(others)}, which is not among the variables "
            f"({', '.join(s.name for s in syms)}); give it a value or add it to wrt"
        )
    alpha = as_number(lr, what="learning rate")
    eta = as_number(momentum, what="momentum")
    if not (alpha.is_real and alpha.is_positive):
        raise InputError(f"the learning rate must be a positive number, not {alpha}")
    if not (eta.is_real and eta.is_nonnegative and eta < 1):
        raise InputError(f"the momentum must be a number from 0 to below 1, not {eta} (at 1 or more each step keeps "
                         "all of the previous one and the descent does not settle)")
    b = _start_values(start, syms)
    derivs = tuple(derive(fx, s).result for s in syms)

    ev = _Evaluator(syms, fx, derivs, all(v.is_Rational for v in b) and alpha.is_Rational and eta.is_Rational)
    b = [ev.number(v) for v in b]
    value0 = ev.value(b)
    start_point = list(b)
    several = len(syms) > 1

    def pack(vs: Sequence[sympy.Basic]) -> Point:
        return tuple(vs) if several else vs[0]

    rows: list[DescentRow] = []
    delta = [sympy.Integer(0)] * len(syms)
    threshold = min(patience, steps) if steps else patience
    rising = 0
    diverged, reason = False, ""
    grad: list[sympy.Basic] = []
    grad_at_start: list[sympy.Basic] = []
    if not _finite(value0):
        diverged, reason = True, f"f is not a finite number at the start ({value0})"
    else:
        grad = ev.gradient(b)
        grad_at_start = list(grad)
        if not all(_finite(g) for g in grad):
            diverged, reason = True, f"the gradient is not a finite number at the start ({_describe(grad)})"
    prev_value = value0
    for r in range(1, steps + 1):
        if diverged:
            break
        budget.checkpoint()
        mom = [eta * dv for dv in delta]
        step = [-alpha * g + m for g, m in zip(grad, mom)]
        new = [ev.number(bi + si) for bi, si in zip(b, step)]
        value = ev.value(new)
        rows.append(DescentRow(r, pack(b), pack(grad), pack(step), pack(new), value, pack(mom)))
        if not all(_finite(v) for v in new) or not _finite(value):
            diverged, reason = True, f"the iterates are no longer finite numbers at iteration {r}"
            break
        if any(_too_big(v) for v in new) or _too_big(value):
            diverged, reason = True, f"the iterates grew past {BOUND:.0e} in size at iteration {r}"
            break
        new_grad = ev.gradient(new)
        if not all(_finite(g) for g in new_grad):
            diverged = True
            reason = f"the gradient is not a finite number at the point of iteration {r} ({_describe(new_grad)})"
            break
        rose = bool(value > prev_value)
        grew = bool(_norm2(new_grad) > _norm2(grad))
        rising = rising + 1 if rose and grew else 0
        if rising >= threshold:
            diverged, reason = True, _rising_reason(rising, alpha)
            break
        b, grad, delta, prev_value = new, new_grad, step, value
    stationary = _stationary(start_point, grad_at_start, rows, several)
    minimum, notes = _minimum_notes(fx, syms, derivs, rows, stationary, pack)
    return Descent(
        f=fx,
        wrt=syms,
        derivatives=derivs,
        start=pack(start_point),
        start_value=value0,
        lr=alpha,
        momentum=eta,
        steps=steps,
        rows=tuple(rows),
        diverged=diverged,
        reason=reason,
        exact=ev.exact,
        notes=notes,
        stationary_at=stationary,
        minimum=minimum,
    )


def _zero(g: Point) -> bool:
    return all(v == 0 for v in (g if isinstance(g, tuple) else (g,)))


def _stationary(start, grad_at_start, rows, several) -> int | None:
    """The first r with f'(b(r)) = 0 (0: the start), else None."""
    if grad_at_start and all(v == 0 for v in grad_at_start):
        return 0
    for i, row in enumerate(rows[1:], start=1):
        if _zero(row.gradient):
            return i
    return None


def _minimum_notes(f, syms, derivs, rows, stationary, pack) -> tuple[Point | None, tuple[str, ...]]:
    """The minimum of f (one variable, found exactly from f' = 0) and the notes the table states."""
    notes: list[str] = []
    name = syms[0].name if len(syms) == 1 else "b"
    point_text = lambda r: f"{name}{r}" if len(syms) == 1 else f"b({r})"  # noqa: E731
    minimum = None
    if len(syms) == 1:
        try:
            from derivkit.teaching.critical import critical_points

            found = critical_points(f, syms[0])
        except (InputError, NotImplementedError, TypeError, ValueError, ArithmeticError):
            found = None
        if found is not None and found.complete and found.general is None:
            minima = found.minima
            if len(minima) == 1 and len(found.points) == 1:
                p = minima[0]
                minimum = p.x
                at = _short(p.x)
                second = found.second.subs(syms[0], p.x) if found.second is not sympy.nan else None
                why = f" and f''({at}) = {_short(second)} > 0" if second is not None and second.is_positive else ""
                notes.append(f"The minimum of f is at {name} = {at}: f'({at}) = 0{why}; there f = {_short(p.value)}.")
    if stationary is not None:
        where = "the start" if stationary == 0 else f"{point_text(stationary)}"
        value = rows[stationary - 1].point if stationary else None
        at = f" = {_describe(value if isinstance(value, tuple) else (value,))}" if value is not None else ""
        kind = "the minimum" if minimum is not None and value is not None and value == minimum else "a critical point"
        notes.append(f"f' = 0 at {where}{at}: {kind}, so every later step stays there "
                     f"(the step -alpha f' is 0).")
    return minimum, tuple(notes)


def _rising_reason(n: int, alpha: sympy.Basic) -> str:
    steps = "step" if n == 1 else f"{n} steps"
    each = "the" if n == 1 else "each of the last"
    return (
        f"f rose at {each} {steps} while the gradient grew in size; "
        f"the learning rate alpha = {_short(alpha)} is too large"
    )
