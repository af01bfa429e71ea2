r"""Nodes in the course's notation, as text or LaTeX.

The printer walks a node; each operation's record says how it reads
(``Op.print``), and this module supplies what every record needs: names
(``H_in`` -> ``H_{in}``), numbers, scalar function bodies, and brackets by
precedence. Precedence levels: 10 sums, 15 scaled terms and ``Σ``, 20 products
(matrix, Hadamard, division), 90 function applications and transposes, 100
names and numbers.

>>> from derivkit.graph import Graph
>>> g = Graph()
>>> X = g.input("X", ("N", 2)); W1 = g.param("W1", (2, 3))
>>> H_in = g.define("H_in", X @ W1)
>>> node_text(g.define("H_out", "sigmoid(H_in)"), top=True), node_latex(H_in, top=True)
('σ(H_in)', 'X W_{1}')
"""

from __future__ import annotations

import re
from typing import Any

import sympy

from derivkit.graph.node import U, Node
from derivkit.notation import expr_latex, expr_text

__all__ = ["Printer", "node_text", "node_latex", "name_latex", "scalar_text", "function_name"]


def name_latex(name: str) -> str:
    r"""``H_in`` -> ``H_{in}``, ``W1`` -> ``W_{1}``, ``MSE`` -> ``\\mathrm{MSE}``.

    >>> name_latex("H_in"), name_latex("W1"), name_latex("MSE"), name_latex("H1_in")
    ('H_{in}', 'W_{1}', '\\mathrm{MSE}', 'H_{1,in}')
    >>> print(name_latex("counts_sum_inv"))
    \mathrm{counts\_sum\_inv}
    """
    base, _, sub = name.partition("_")
    if (len(base) > 1 and base.isalpha()) or "_" in sub:  # a word: logit_maxes, counts_sum_inv
        return r"\mathrm{" + name.replace("_", r"\_") + "}"
    letters = base.rstrip("0123456789")
    if sub and letters and letters != base and "_" not in sub:  # H1_in -> H_{1,in}
        return f"{letters}_{{{base[len(letters):]},{sub}}}"
    return sympy.latex(sympy.Symbol(name))


def scalar_text(c: Any) -> str:
    """A number or a formula in the sizes (``2/N``) as plain text."""
    return expr_text(c)


_NAMES = {"relu": "ReLU", "leaky_relu": "LeakyReLU"}
_LATEX_OPERATORS = ("tanh", "exp", "log", "sin", "cos", "sinh", "cosh")


def function_name(app: sympy.Basic, latex: bool) -> str:
    """How a scalar function's name prints: ``σ``, ``ReLU``, ``tanh``."""
    from derivkit.functions import sigmoid

    func = app.func
    if func is sigmoid:
        return r"\sigma" if latex else "σ"
    name = _NAMES.get(func.__name__, func.__name__)
    if latex:
        return "\\" + name if name in _LATEX_OPERATORS else rf"\operatorname{{{name}}}"
    return name


class Printer:
    """Text or LaTeX for nodes; records call :meth:`sub`, :meth:`name` and friends."""

    def __init__(self, latex: bool) -> None:
        self.latex = latex

    def fmt(self, n: Node, top: bool = False) -> tuple[str, int]:
        """``(text, precedence)``; a named node prints its name unless ``top``."""
        if n.name is not None and (not top or n.record.leaf):
            return self.name(n.name), 100
        return n.record.print(n, self)

    def text(self, n: Node, top: bool = False) -> str:
        return self.fmt(n, top)[0]

    def sub(self, child: Node, level: int, like: str | tuple[str, ...] | None = None) -> str:
        """``child`` inside an operation of precedence ``level``, bracketed when it binds less tightly.

        At the same level, a child of operation ``like`` (one name or several) needs no brackets (``A B C``).
        """
        text, prec = self.fmt(child)
        alike = child.op in like if isinstance(like, tuple) else child.op == like
        if prec < level or (prec == level and not alike):
            return self.paren(text)
        return text

    def paren(self, text: str) -> str:
        return (r"\left(" + text + r"\right)") if self.latex else f"({text})"

    def name(self, name: str) -> str:
        return name_latex(name) if self.latex else name

    def scalar(self, c: Any) -> str:
        return sympy.latex(c) if self.latex else scalar_text(c)

    def body(self, expr: sympy.Basic, arg: str) -> str:
        """A scalar body in ``u`` with the node's text in place of ``u`` (``σ(H_in)``)."""
        mark = sympy.Symbol("ZZARGZZ")
        text = (expr_latex if self.latex else expr_text)(expr.subs(U, mark))
        if not self.latex:  # 2ZZARGZZ: keep a number apart from a name (2 bndiff, not 2bndiff)
            text = re.sub(r"(?<=[0-9])ZZARGZZ", " ZZARGZZ", text)
        return text.replace("ZZARGZZ", arg)

    def call(self, fname: str, *args: str, operator: bool = True) -> str:
        """``fname(args)``: ``\\operatorname{fname}\\left(...\\right)`` in LaTeX."""
        inner = ", ".join(args)
        if self.latex:
            head = rf"\operatorname{{{fname}}}" if operator else fname
            return rf"{head}\left({inner}\right)"
        return f"{fname}({inner})"


_TEXT = Printer(latex=False)
_LATEX = Printer(latex=True)


def node_text(n: Node, top: bool = False) -> str:
    """The node in plain text; with ``top`` a named node prints its definition."""
    return _TEXT.text(n, top)


def node_latex(n: Node, top: bool = False) -> str:
    """The node in LaTeX; with ``top`` a named node prints its definition."""
    return _LATEX.text(n, top)
