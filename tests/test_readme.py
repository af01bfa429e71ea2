"""The README's figures are true: each comes from a command it shows or a benchmark it names."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _figures_section() -> str:
    start = README.index("**Training with what it derived.**")
    return README[start:README.index("## Safety", start)]


def test_the_digits_command_reaches_the_quoted_accuracy(capsys):
    pytest.importorskip("sklearn")
    from derivkit.cli import main

    section = _figures_section()
    command = next(line for line in section.splitlines() if line.startswith("$ derivkit train"))
    quoted = float(re.search(r"prints a test accuracy of ([\d.]+) %", section).group(1))
    argv = shlex.split(command.split("#")[0])[2:]  # drop "$ derivkit"
    assert main(argv) == 0
    printed = float(re.search(r"test accuracy ([\d.]+)%", capsys.readouterr().out.splitlines()[-1]).group(1))
    # 359 test images: one image is 0.28 points, the most a different BLAS may change
    assert abs(printed - quoted) <= 0.3, (command, printed, quoted)


def test_every_benchmark_figure_is_in_the_results_it_names():
    bullets = re.findall(r"^- (.*?)(?=^- |\Z)", _figures_section(), re.S | re.M)
    named = 0
    for bullet in bullets:
        m = re.search(r"python benchmarks/bench_(\w+)\.py", bullet)
        if not m:
            continue
        named += 1
        results = (ROOT / "benchmarks" / "results" / f"{m.group(1)}.md").read_text(encoding="utf-8")
        text = bullet.replace("bench_" + m.group(1), "")
        numbers = re.findall(r"(?<![\w.-])(\d+\.\d+|\d+)\s*(?=x\b|ms\b|s\b|µs\b|%)", text)
        assert numbers, bullet
        for number in numbers:
            assert re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", results), (number, m.group(1))
    assert named == 4
