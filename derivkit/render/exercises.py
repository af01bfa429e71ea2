r"""Exercises and exercise sheets as text, LaTeX and Markdown.

A sheet is laid out as a teacher hands it out: the problems, numbered, then the
worked solutions in the same order. The LaTeX of a sheet is a whole document
(``\documentclass{article}`` with amsmath only) that compiles with pdflatex;
the LaTeX of one exercise is a fragment (the question, then the solution).

>>> from derivkit.teaching.exercises import exercises, sheet
>>> print(sheet(exercises("power", count=1)).to_text().splitlines()[0])
The power rule: exercises
"""

from __future__ import annotations

from derivkit.render import renderer
from derivkit.render.common import escape_latex_text, escape_markdown, indent
from derivkit.teaching.exercises import Exercise, ExerciseSheet

__all__ = ["LATEX_PREAMBLE"]

#: The preamble of a sheet: amsmath is the only package.
LATEX_PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage{amsmath}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
\setlength{\parskip}{4pt}
\addtolength{\textwidth}{3cm}
\addtolength{\oddsidemargin}{-1.5cm}
\addtolength{\textheight}{3cm}
\addtolength{\topmargin}{-1.5cm}
"""

_LEVEL = {1: "level 1", 2: "level 2", 3: "level 3"}


def _head(e: Exercise) -> str:
    return f"Exercise {e.number} ({_LEVEL[e.level]})"


@renderer(Exercise, "text")
def exercise_text(e: Exercise) -> str:
    return "\n".join([f"{_head(e)}: {e.prompt}", "", "Solution:", indent(e.solution.to_text(), "  ")])


@renderer(Exercise, "markdown")
def exercise_markdown(e: Exercise) -> str:
    return "\n".join([f"**{_head(e)}.** {_prompt_markdown(e)}", "", "*Solution.*", "", e.solution.to_markdown()])


@renderer(Exercise, "latex")
def exercise_latex(e: Exercise) -> str:
    return "\n".join([rf"\textbf{{{escape_latex_text(_head(e))}.}} {e.prompt_latex}", "", r"\textit{Solution.}",
                      _solution_latex(e)])


def _prompt_markdown(e: Exercise) -> str:
    """The LaTeX prompt, whose math is already ``$...$``, with the prose escaped for Markdown."""
    out, parts = [], e.prompt_latex.split("$")
    for i, part in enumerate(parts):
        out.append(f"${part}$" if i % 2 else escape_markdown(part))
    return "".join(out)


def _solution_latex(e: Exercise) -> str:
    latex = e.solution.to_latex().strip()
    if latex.startswith(("\\begin{align", "\\begin{gather", "\\[", "\\begin{tabular")):
        return latex
    return f"\\[\n{latex}\n\\]"


@renderer(ExerciseSheet, "text")
def sheet_text(s: ExerciseSheet) -> str:
    lines = [s.title, "=" * len(s.title), "", "Problems", ""]
    lines += [f"{e.number}. ({_LEVEL[e.level]}) {e.prompt}" for e in s.exercises]
    lines += ["", "Solutions", ""]
    for e in s.exercises:
        lines += [f"{e.number}. {e.prompt}", "", indent(e.solution.to_text(), "   "), ""]
    return "\n".join(lines).rstrip()


@renderer(ExerciseSheet, "markdown")
def sheet_markdown(s: ExerciseSheet) -> str:
    parts = ["**Problems**", ""]
    parts += [f"{e.number}. ({_LEVEL[e.level]}) {_prompt_markdown(e)}" for e in s.exercises]
    parts += ["", "**Solutions**", ""]
    for e in s.exercises:
        parts += [f"**{e.number}.** {_prompt_markdown(e)}", "", e.solution.to_markdown(), ""]
    return "\n".join(parts).rstrip()


@renderer(ExerciseSheet, "latex")
def sheet_latex(s: ExerciseSheet) -> str:
    body = [LATEX_PREAMBLE, r"\begin{document}", rf"\section*{{{escape_latex_text(s.title)}}}",
            r"\subsection*{Problems}", r"\begin{enumerate}"]
    body += [rf"\item ({escape_latex_text(_LEVEL[e.level])}) {e.prompt_latex}" for e in s.exercises]
    body += [r"\end{enumerate}", r"\newpage", r"\subsection*{Solutions}"]
    for e in s.exercises:
        body += [rf"\paragraph{{{e.number}.}} {e.prompt_latex}", "", _solution_latex(e), ""]
    body.append(r"\end{document}")
    return "\n".join(body) + "\n"
