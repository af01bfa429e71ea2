"""Describe the machine a benchmark ran on, and write a result table."""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path

import numpy
import sympy

RESULTS = Path(__file__).resolve().parent / "results"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe() -> str:
    """One line: CPU, cores, Python, NumPy, SymPy, date."""
    return (
        f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"NumPy {numpy.__version__}, SymPy {sympy.__version__}, "
        f"{datetime.date.today().isoformat()}"
    )


def write_result(topic: str, markdown: str) -> Path:
    """Write ``markdown`` (a table and notes) with the machine line to ``results/<topic>.md``."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{topic}.md"
    path.write_text(markdown.rstrip() + f"\n\n*Machine: {describe()}.*\n")
    return path
