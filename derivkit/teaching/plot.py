"""The picture a student checks a derivative with: f and f' on one figure.

:func:`plot_derivative` draws ``f`` and ``f'`` over the same axis, the tangent
line at ``x0`` when one is asked for (its slope is the value of the f' curve
there), the corners and jumps of ``f`` (where f' has no value) and its critical
points (where the f' curve crosses zero: a minimum, a maximum, or neither).
matplotlib is the optional extra ``plot``; pyplot is imported through
:mod:`derivkit.training.plot`, which leaves a notebook's backend alone.

>>> import tempfile
>>> from derivkit import derive
>>> fig = plot_derivative(derive("x^3 - 3x", "x"), at=2, path=tempfile.mkdtemp() + "/f.png")
>>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()][:2]
['f(x) = x^3 - 3x', "f'(x) = 3x^2 - 3"]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
import sympy

from derivkit.calculus import kinks
from derivkit.calculus.derivation import Derivation
from derivkit.errors import DerivkitError, InputError
from derivkit.inputs import as_number
from derivkit.notation import expr_text
from derivkit.teaching.function import one_variable

__all__ = ["plot_derivative", "SAMPLES"]

#: Points at which f and f' are evaluated.
SAMPLES = 801


def _values(expr: sympy.Basic, x: sympy.Symbol, xs: np.ndarray) -> np.ndarray:
    """``expr`` at ``xs`` as floats, NaN where it is undefined or not real."""
    fn = sympy.lambdify(x, expr, modules="numpy")
    with np.errstate(all="ignore"):
        try:
            ys = np.asarray(fn(xs.astype(complex)), dtype=complex)
        except (TypeError, ValueError, ZeroDivisionError, AttributeError, NameError):
            ys = np.array([complex(_one(fn, t)) for t in xs])
    ys = np.broadcast_to(ys, xs.shape)
    out = np.where(np.abs(ys.imag) < 1e-9, ys.real, np.nan)
    out[~np.isfinite(out)] = np.nan
    return out


def _one(fn, t: float) -> complex:
    try:
        return complex(fn(t))
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return complex("nan")


def _point(at: Any, x: sympy.Symbol) -> sympy.Basic | None:
    if at is None:
        return None
    if isinstance(at, Mapping):
        if set(map(str, at)) != {x.name}:
            raise InputError(f"give the point as a value of {x.name}, like at={{'{x.name}': 1}}")
        at = next(iter(at.values()))
    return as_number(at, what=f"point {x.name}")


def _window(points: list[float], interval: Any) -> tuple[float, float]:
    if interval is not None:
        lo, hi = (float(as_number(v, what="end of the interval")) for v in interval)
        if not lo < hi:
            raise InputError(f"the interval ({lo:g}, {hi:g}) is empty")
        return lo, hi
    if not points:
        return -5.0, 5.0
    lo, hi = min(points), max(points)
    pad = max(2.0, 0.5 * (hi - lo))
    return lo - pad, hi + pad


def _ylimits(*curves: np.ndarray) -> tuple[float, float] | None:
    """Limits that show the curves without letting a pole flatten them (the 2nd to 98th percentile, widened)."""
    finite = np.concatenate([c[np.isfinite(c)] for c in curves]) if curves else np.array([])
    if finite.size == 0:
        return None
    lo, hi = np.percentile(finite, [2, 98])
    span = max(hi - lo, 1.0)
    return float(lo - 0.15 * span), float(hi + 0.15 * span)


def plot_derivative(derivation: Derivation, at: Any = None, path: str | Path | None = None, *,
                    interval: Any = None) -> Any:
    """f and f' on one figure, the tangent at ``at``, kinks and critical points marked; returns the figure.

    ``derivation`` is a first derivative of a function of one variable
    (:func:`derivkit.derive`); ``interval`` the range of x drawn (by default one that
    shows the point, the corners and the critical points); ``path`` saves a PNG.
    """
    from derivkit.training.plot import _finish, _pyplot
    from derivkit.teaching.critical import critical_points

    if not isinstance(derivation, Derivation):
        raise InputError(f"plot_derivative draws a Derivation (from derive), not {type(derivation).__name__}")
    if derivation.order != 1 or derivation.point:
        raise InputError("only a first derivative f'(x) of a function can be drawn with f")
    f, x = one_variable(derivation.expr, derivation.wrt, "a plot")
    fp = derivation.result
    x0 = _point(at, x)
    plt = _pyplot()
    corners = list(kinks.kink_points(f, x))
    try:
        critical = list(critical_points(f, x, interval=interval))
    except (DerivkitError, NotImplementedError, TypeError, ValueError):
        critical = []
    marks = [float(c) for c, _ in corners] + [float(p.x) for p in critical]
    lo, hi = _window(marks + ([float(x0)] if x0 is not None else []), interval)
    xs = np.linspace(lo, hi, SAMPLES)
    ys, dys = _values(f, x, xs), _values(fp, x, xs)
    dys[np.isnan(ys)] = np.nan  # f' only where f itself is defined (1/x is not ln's derivative at x < 0)
    for c, _ in corners:  # f' has no value at a corner or a jump: break its curve there
        dys[np.argmin(np.abs(xs - float(c)))] = np.nan
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.axhline(0, color="0.6", lw=0.8)
    ax.plot(xs, ys, color="C0", lw=2, label=f"f({x.name}) = {expr_text(f)}")
    ax.plot(xs, dys, color="C1", lw=1.6, ls="--", label=f"f'({x.name}) = {expr_text(fp)}")
    if x0 is not None:
        from derivkit.teaching.tangent import tangent_line

        t = tangent_line(f, x, x0)
        span = 0.25 * (hi - lo)
        tx = np.linspace(float(x0) - span, float(x0) + span, 50)
        ax.plot(tx, _values(t.line, x, tx), color="C2", lw=1.4, ls=":",
                label=f"tangent at {x.name} = {expr_text(x0)}: y = {expr_text(t.line)}")
        ax.plot([float(x0)], [float(t.value)], "o", color="C2", ms=6)
        ax.plot([float(x0)], [float(t.slope)], "o", color="C1", ms=5, mfc="white")
    kind_style = {"minimum": ("^", "C2", "minimum"), "maximum": ("v", "C3", "maximum"), "neither": ("o", "0.3", "neither")}
    shown: set = set()
    for p in critical:
        marker, colour, word = kind_style[p.kind]
        label = f"critical point: {word}" if word not in shown else None
        shown.add(word)
        ax.plot([float(p.x)], [float(p.value)], marker, color=colour, ms=8, label=label, zorder=5)
    for i, (c, kind) in enumerate(corners):
        fc = _values(f, x, np.array([float(c)]))[0]
        ax.plot([float(c)], [fc], "X", color="k", ms=8, label=f"{kind} (no f')" if i == 0 else None, zorder=6)
    limits = _ylimits(ys, dys)
    if limits is not None:
        ax.set_ylim(*limits)
    ax.set_xlim(lo, hi)
    ax.set_xlabel(x.name)
    ax.set_title("f and its derivative f'")
    ax.legend(loc="best", fontsize=8)
    ax.grid(True, alpha=0.3)
    return _finish(fig, path)
