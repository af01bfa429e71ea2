"""Every command that prints LaTeX prints LaTeX that compiles with pdflatex and amsmath.

One case per (command, arguments). A fragment (an ``align*`` block, display math,
a tabular) is put in the body of a minimal ``article`` with amsmath and nothing
else; a whole document (an exercise sheet) is compiled as it is. The test runs
pdflatex when it is on the machine (CI installs texlive-latex-base) and skips,
saying so, where it is not.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess

import pytest

from derivkit.cli import main

PDFLATEX = shutil.which("pdflatex")

pytestmark = pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed (apt-get install texlive-latex-base)")

DOCUMENT = "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n%s\n\\end{document}\n"

CASES = [
    ("derive", ["sin(x^2)"]),
    ("derive", ["(3*x - 2)^2", "--at", "x=2"]),
    ("derive", ["max(0, x) + abs(x - 1)"]),
    ("derive", ["1/(1 + e^(-x))"]),
    ("derive", ["x^3 f'(x) + sqrt(x^2 - 1)"]),
    ("derive", ["softplus(2x) + tanh(x)", "--order", "2"]),
    ("derive", ["3(2x^2 - 1)^2 - 2(2x^2 - 1) + 5"]),
    ("derive", ["x^x + log(x, 2)"]),
    ("first-principles", ["x^3 + 2cos(x)"]),
    ("first-principles", ["sqrt(x)", "--at", "4"]),
    ("tangent", ["x^2", "--at", "3"]),
    ("critical", ["x^3 - 3x"]),
    ("critical", ["sin(x)"]),
    ("grad", ["(4 - 2.1 x1^2 + x1^4/3) x1^2 + x1 x2 + (-4 + 4 x2^2) x2^2", "--wrt", "x1,x2", "--decimals"]),
    ("jacobian", ["2*x1 + x2^2", "-x1^2 + 3*x2", "4*x1*x2", "--wrt", "x1,x2", "--at", "x1=2,x2=1"]),
    ("hessian", ["(4 - 2.1 x1^2 + x1^4/3) x1^2 + x1 x2 + (-4 + 4 x2^2) x2^2", "--wrt", "x1,x2", "--at",
                 "x1=0,x2=1", "--decimals"]),
    ("chain", ["y = 3x - 2", "z = y^2", "--wrt", "x", "--at", "x=2"]),
    ("check", ["sin(x^2)", "--claimed", "cos(x^2)", "--wrt", "x"]),
    ("check", ["x^2 sin(x)", "--claimed", "2x sin(x) + x^2 cos(x)", "--wrt", "x"]),
    ("descend", ["5*b**2 - 3*b + 2", "--wrt", "b", "--start", "4", "--lr", "0.1"]),
    ("descend", ["5*b**2 - 3*b + 2", "--wrt", "b", "--start", "4", "--lr", "0.01", "--compare-momentum"]),
    ("descend", ["x^2 + 5y^2", "--wrt", "x,y", "--start", "x=4,y=1", "--lr", "0.09", "--momentum", "0.5"]),
    ("rules", []),
    ("rules", ["--family", "trig"]),
    ("exercises", ["--topic", "chain", "--count", "3", "--seed", "1"]),
    ("exercises", ["--topic", "gradient", "--count", "3"]),
    ("exercises", ["--topic", "hessian", "--count", "3"]),
    ("exercises", ["--topic", "descent", "--count", "3"]),
    ("exercises", ["--topic", "losses", "--count", "3"]),
    ("exercises", ["--topic", "backprop", "--count", "2"]),
    ("backprop", ["--layers", "2,3,1", "--activation", "sigmoid", "--loss", "mse"]),
]


def _latex(command: str, args: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([command, *args, "--format", "latex"])
    assert code in (0, 1), (command, args, code)  # 1: a check that finds the claim wrong
    return out.getvalue()


def _compiles(source: str, tmp_path) -> tuple[bool, list[str]]:
    (tmp_path / "out.tex").write_text(source, encoding="utf-8")
    run = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "out.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    errors = [line for line in run.stdout.splitlines() if line.startswith("!")]
    return run.returncode == 0 and (tmp_path / "out.pdf").exists(), errors


def test_the_check_itself_catches_what_pdflatex_refuses(tmp_path):
    # the faults of earlier versions: a Unicode partial sign in text, a bare array outside math
    assert not _compiles(DOCUMENT % "\\text{∂MSE/∂W2}", tmp_path)[0]
    assert not _compiles(DOCUMENT % "\\begin{array}{l} x \\end{array}", tmp_path)[0]


@pytest.mark.parametrize("command,args", CASES, ids=[f"{c} {' '.join(a)}"[:60] for c, a in CASES])
def test_latex_output_compiles_with_pdflatex(command, args, tmp_path):
    latex = _latex(command, args)
    source = latex if "\\documentclass" in latex else DOCUMENT % latex
    ok, errors = _compiles(source, tmp_path)
    assert ok, (errors, latex[:2000])
