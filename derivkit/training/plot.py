"""Pictures of descent and training (matplotlib, the optional extra ``plot``).

* :func:`plot_history`: the loss per epoch (training and validation), and the
  accuracy when it was recorded.
* :func:`plot_descent`: a :class:`~derivkit.training.descend.Descent` drawn as
  the course draws it: for one variable the curve ``f(b)`` with the iterates
  on it, for two variables the path of the iterates over the contours of ``f``.

Both return the matplotlib figure; with a ``path`` they also save it (PNG at
150 dpi, or SVG/PDF by the file's extension). :func:`figure_html` turns a
figure into an ``<img>`` tag for a web page.

The backend is the user's: a notebook's inline backend, one set with
``matplotlib.use`` or ``MPLBACKEND``, or matplotlib's own choice where there is
a display. Only where there is no display and no backend was chosen (a script
on a server, CI) is the non-interactive Agg backend selected, so that nothing
tries to open a window.
"""

from __future__ import annotations

import base64
import html
import io
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from derivkit.errors import InputError, MissingDependencyError

__all__ = ["plot_history", "plot_descent", "figure_html", "DPI"]

#: Resolution of saved raster figures (dots per inch).
DPI = 150


def _has_display() -> bool:
    """Whether a window could be opened: always on macOS and Windows, with X11 or Wayland elsewhere."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _backend_chosen(matplotlib: Any) -> bool:
    """Whether a backend was chosen (``matplotlib.use``, ``MPLBACKEND``, matplotlibrc, Jupyter)."""
    if os.environ.get("MPLBACKEND"):
        return True
    rc = matplotlib.rcParams
    getter = getattr(rc, "_get_backend_or_none", None)
    if getter is not None:
        return getter() is not None
    from matplotlib import rcsetup  # matplotlib before 3.8

    return dict.__getitem__(rc, "backend") is not getattr(rcsetup, "_auto_backend_sentinel", None)


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise MissingDependencyError("matplotlib", "plot", "drawing plots") from None
    if "matplotlib.pyplot" not in sys.modules and not _backend_chosen(matplotlib) and not _has_display():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _finish(fig: Any, path: str | Path | None) -> Any:
    fig.tight_layout()
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI)
        _pyplot().close(fig)  # saved: free it (the returned figure can still be saved again)
    return fig


def figure_html(fig: Any, alt: str, *, format: str = "svg", width: str | None = None, close: bool = True) -> str:
    """The figure as an ``<img>`` tag with the image inline (SVG, or PNG at :data:`DPI` dpi).

    ``alt`` is the text a screen reader says; ``width`` a CSS width (``"32%"``).
    The page needs nothing else: the image travels in the tag.

    >>> from derivkit.training.loop import History
    >>> tag = figure_html(plot_history(History(losses=(1.0, 0.5))), "a loss curve")
    >>> tag.startswith('<img alt="a loss curve" src="data:image/svg+xml;base64,')
    True
    """
    if format not in ("svg", "png"):
        raise InputError(f"a figure can be embedded as svg or png, not {format!r}")
    buf = io.BytesIO()
    fig.savefig(buf, format=format, dpi=DPI, metadata={"Date": None} if format == "svg" else None)
    if close:
        _pyplot().close(fig)
    mime = "image/svg+xml" if format == "svg" else "image/png"
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    style = f' style="max-width: {html.escape(width)}"' if width else ""
    return f'<img alt="{html.escape(alt)}" src="data:{mime};base64,{data}"{style}>'


def plot_history(history: Any, path: str | Path | None = None, *, log: bool | None = None) -> Any:
    """Loss curves of a :class:`~derivkit.training.loop.History` (log scale when the loss spans decades).

    >>> from derivkit.training.loop import History
    >>> fig = plot_history(History(losses=(1.0, 0.1, 0.001), metrics={"accuracy": (0.5, 0.9, 1.0)}))
    >>> [ax.get_title() for ax in fig.axes], fig.axes[0].get_yscale()
    (['Loss', 'Accuracy'], 'log')
    """
    plt = _pyplot()
    if not history.losses:
        raise InputError("the history has no epochs to plot")
    acc = {k: v for k, v in history.metrics.items() if "accuracy" in k}
    fig, axes = plt.subplots(1, 2 if acc else 1, figsize=(9 if acc else 5.5, 3.6), squeeze=False)
    ax = axes[0][0]
    epochs = np.arange(1, len(history.losses) + 1)
    ax.plot(epochs, history.losses, label="training loss")
    if history.val_losses:
        ax.plot(np.arange(1, len(history.val_losses) + 1), history.val_losses, label="validation loss")
    losses = np.asarray(history.losses, dtype=float)
    positive = losses[np.isfinite(losses) & (losses > 0)]
    if log is None:
        log = positive.size > 1 and positive.max() / positive.min() > 100
    if log:
        ax.set_yscale("log")
    if history.best_epoch:
        ax.axvline(history.best_epoch, color="grey", lw=0.8, ls=":", label=f"best epoch {history.best_epoch}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    ax.set_title("Loss")
    if acc:
        ax2 = axes[0][1]
        for k, v in acc.items():
            ax2.plot(np.arange(1, len(v) + 1), v, label=k.replace("_", " "))
        ax2.set_xlabel("epoch")
        ax2.set_ylabel("accuracy")
        ax2.set_ylim(0, 1.02)
        ax2.legend()
        ax2.set_title("Accuracy")
    return _finish(fig, path)


def _as_floats(p: Any) -> list[float]:
    items = list(p) if isinstance(p, tuple) else [p]
    return [float(v) for v in items]


def plot_descent(descent: Any, path: str | Path | None = None, *, margin: float = 0.5) -> Any:
    """The descent of one or two variables over the function (curve, or contours with the path).

    >>> import tempfile
    >>> from derivkit import descend
    >>> d = descend("x**2 + 5*y**2", "x,y", start=(4, 1), lr=0.09, steps=5)
    >>> fig = plot_descent(d, tempfile.mkdtemp() + "/path.png")
    >>> fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
    ('x', 'y')
    """
    import sympy

    plt = _pyplot()
    pts = np.array([_as_floats(p) for p in descent.points])
    nvar = len(descent.wrt)
    if nvar > 2:
        raise InputError(f"a descent path can be drawn for one or two variables, not {nvar}")
    f = sympy.lambdify(descent.wrt, descent.f, modules="numpy")
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = np.maximum(hi - lo, 1e-9)
    lo, hi = lo - margin * span - 0.1, hi + margin * span + 0.1
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    title = f"alpha = {float(descent.lr):g}" + (f", eta = {float(descent.momentum):g}" if descent.momentum != 0 else "")
    if nvar == 1:
        xs = np.linspace(lo[0], hi[0], 400)
        ys = np.broadcast_to(np.asarray(f(xs), dtype=float), xs.shape)
        ax.plot(xs, ys, color="C0", label=f"f({descent.wrt[0].name})")
        vals = np.array([float(v) for v in descent.values])
        ax.plot(pts[:, 0], vals, "o-", color="C3", ms=4, lw=1, label="iterates")
        for r, (x, y) in enumerate(zip(pts[:, 0], vals)):
            ax.annotate(str(r), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
        ax.set_xlabel(descent.wrt[0].name)
        ax.set_ylabel("f")
    else:
        xs = np.linspace(lo[0], hi[0], 200)
        ys = np.linspace(lo[1], hi[1], 200)
        Xg, Yg = np.meshgrid(xs, ys)
        Z = np.broadcast_to(np.asarray(f(Xg, Yg), dtype=float), Xg.shape)
        cs = ax.contour(Xg, Yg, Z, levels=20, cmap="viridis", linewidths=0.8)
        ax.clabel(cs, inline=True, fontsize=7, fmt="%.3g")
        ax.plot(pts[:, 0], pts[:, 1], "o-", color="C3", ms=4, lw=1, label="iterates")
        ax.plot(pts[0, 0], pts[0, 1], "s", color="k", ms=6, label="start")
        ax.set_xlabel(descent.wrt[0].name)
        ax.set_ylabel(descent.wrt[1].name)
    if descent.diverged:
        title += " (diverged)"
    ax.set_title(f"Gradient descent, {title}")
    ax.legend(loc="best", fontsize=8)
    return _finish(fig, path)
