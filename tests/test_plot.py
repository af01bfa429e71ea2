"""Plots: the backend stays the user's, figures show inline in a notebook, embedded images."""

from __future__ import annotations

import ast
import base64
import os
import subprocess
import sys

import pytest

pytest.importorskip("matplotlib")

from derivkit import descend  # noqa: E402
from derivkit.errors import InputError  # noqa: E402
from derivkit.training.loop import History  # noqa: E402
from derivkit.training.plot import DPI, figure_html, plot_descent, plot_history  # noqa: E402


def _backend_after_plot(setup: str, **env: str) -> tuple[str, list[str]]:
    """The backend in a fresh interpreter after ``setup`` and one ``plot_history``, and
    the backends derivkit selected with ``matplotlib.use``."""
    code = (
        "import matplotlib\n"
        f"{setup}\n"
        "calls, use = [], matplotlib.use\n"
        "matplotlib.use = lambda name, **kw: (calls.append(name), use(name, **kw))\n"
        "from derivkit.training.loop import History\n"
        "History(losses=(1.0, 0.5)).plot()\n"
        "print(matplotlib.get_backend().lower(), calls)\n"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "DISPLAY", "WAYLAND_DISPLAY")}
    out = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True,
                         timeout=120, check=True)
    backend, _, calls = out.stdout.strip().splitlines()[-1].partition(" ")
    return backend, ast.literal_eval(calls)


def test_agg_without_display_or_choice():
    assert _backend_after_plot("") == ("agg", ["Agg"])


def test_a_backend_chosen_with_use_is_kept():
    assert _backend_after_plot("matplotlib.use('svg')") == ("svg", [])


def test_a_backend_chosen_in_the_environment_is_kept():
    # Jupyter chooses its inline backend this way (ipykernel sets MPLBACKEND)
    assert _backend_after_plot("", MPLBACKEND="pdf") == ("pdf", [])


def test_pyplot_already_imported_keeps_its_backend():
    assert _backend_after_plot("matplotlib.use('ps'); import matplotlib.pyplot") == ("ps", [])


def test_with_a_display_matplotlib_chooses():
    # derivkit selects nothing; matplotlib picks an interactive backend where it can
    # open a window (here there is no X server behind DISPLAY, so it falls back to Agg itself)
    backend, calls = _backend_after_plot("", DISPLAY=":99")
    assert calls == [] and backend


def test_has_display(monkeypatch):
    from derivkit.training import plot

    for var in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert not plot._has_display()
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert plot._has_display()
    monkeypatch.delenv("WAYLAND_DISPLAY")
    monkeypatch.setattr(sys, "platform", "darwin")
    assert plot._has_display()


def test_saved_png_has_the_stated_resolution(tmp_path):
    pytest.importorskip("PIL")
    from PIL import Image

    path = tmp_path / "loss.png"
    plot_history(History(losses=(1.0, 0.5, 0.2)), path)
    with Image.open(path) as im:
        dpi = im.info["dpi"]
        width, _ = im.size
    assert DPI >= 150 and round(dpi[0]) == DPI
    assert width == round(5.5 * DPI)  # figsize 5.5 inches wide


def test_figure_html_svg_and_png():
    d = descend("5*b**2 - 3*b + 2", "b", start=4, lr=0.05, steps=3)
    tag = figure_html(plot_descent(d), 'iterates "on" the curve', width="32%")
    assert tag.startswith('<img alt="iterates &quot;on&quot; the curve" src="data:image/svg+xml;base64,')
    assert tag.endswith('style="max-width: 32%">')
    svg = base64.b64decode(tag.split("base64,")[1].split('"')[0])
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg
    png_tag = figure_html(plot_descent(d), "png", format="png")
    png = base64.b64decode(png_tag.split("base64,")[1].split('"')[0])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InputError, match="svg or png"):
        figure_html(plot_descent(d), "x", format="gif")


NOTEBOOK_CELLS = [
    "from derivkit import descend, nn, train\n"
    "from derivkit.optim import Adam\n"
    "from derivkit.training.datasets import xor\n"
    "from derivkit.training.plot import plot_descent",
    "net = nn.mlp([2, 4, 1], activation='sigmoid', output='sigmoid', loss='mse').compile()\n"
    "hist = train(net, xor(), Adam(0.1), epochs=50, seed=1)\n"
    "hist",
    "hist.plot();",
    "plot_descent(descend('x**2 + 5*y**2', 'x,y', start=(4, 1), lr=0.09, steps=5))",
]


def test_plots_show_inline_in_a_notebook(monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # let the kernel choose its inline backend
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in NOTEBOOK_CELLS])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = [c.outputs for c in nb.cells]
    assert not any(o.output_type == "error" for out in outputs for o in out)

    def images(cell_outputs):
        return [o for o in cell_outputs if "image/png" in o.get("data", {})]

    # the History shows as one short line, and no picture
    reprs = [o.data["text/plain"] for o in outputs[1] if o.output_type == "execute_result"]
    assert len(reprs) == 1 and reprs[0].startswith("History(epochs=50") and "\n" not in reprs[0]
    assert not images(outputs[1])
    for cell in (2, 3):  # hist.plot(); and plot_descent(...)
        pngs = images(outputs[cell])
        assert pngs, f"cell {cell} showed no image: {outputs[cell]}"
        assert base64.b64decode(pngs[0].data["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(images(outputs[2])) == 1  # drawn once, by the inline backend
