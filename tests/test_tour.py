"""derivkit tour: every stop runs and shows the course's numbers, in seconds."""

from __future__ import annotations

import time

from derivkit.cli import main


def test_tour_text(capsys):
    t0 = time.perf_counter()
    assert main(["tour", "--epochs", "600"]) == 0
    took = time.perf_counter() - t0
    out = capsys.readouterr().out
    assert "1. A derivation" in out and "5. Training a network: XOR" in out
    assert "σ(x)·(1 - σ(x))" in out                      # sigmoid' = σ(1 - σ)
    assert "8 · 3 = 24" in out                           # the chain at x = 2
    assert "b1 = 4 - 0.01·37 = 3.63" in out and "2.9973" in out
    assert "Diverged after 3 steps" in out               # alpha = 1
    assert "Tour finished" in out
    assert took < 60


def test_tour_stops_all_available(capsys):
    assert main(["tour", "--epochs", "600"]) == 0
    out = capsys.readouterr().out
    # once every part of derivkit is installed, no stop is skipped
    missing = [line for line in out.splitlines() if "not available" in line]
    assert not missing, missing


def test_tour_markdown(capsys):
    assert main(["tour", "--format", "markdown", "--epochs", "300"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# derivkit tour") and "## 4. Gradient descent by hand" in out
    assert "| 1 | $4$ | $37$ |" in out
