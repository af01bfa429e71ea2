"""The input of the teaching functions: one expression, differentiated with respect to one variable.

>>> one_variable("x^2 + 1", "x", "a tangent line")
(x**2 + 1, x)
>>> one_variable("a x^2", "x", "a tangent line")
Traceback (most recent call last):
...
derivkit.errors.InputError: f also depends on a: give it a value for a tangent line in x alone
"""

from __future__ import annotations

import sympy

from derivkit.errors import InputError
from derivkit.inputs import ExprLike, SymbolLike, as_expr, as_symbol

__all__ = ["one_variable", "scalar"]


def scalar(expr: ExprLike, purpose: str, *, decimals: bool = False) -> sympy.Expr:
    """``expr`` as one SymPy expression (not a matrix), for ``purpose`` (named in the error)."""
    f = as_expr(expr, decimals=decimals)
    if not isinstance(f, sympy.Expr) or isinstance(f, sympy.MatrixBase):
        raise InputError(f"{purpose} needs one expression, not {type(f).__name__}")
    return f


def one_variable(expr: ExprLike, wrt: SymbolLike, purpose: str, *, decimals: bool = False
                 ) -> tuple[sympy.Expr, sympy.Symbol]:
    """``(f, x)`` for a function ``f`` of ``x`` alone; any other symbol is refused, naming it."""
    f = scalar(expr, purpose, decimals=decimals)
    x = as_symbol(wrt, f)
    others = sorted(s.name for s in f.free_symbols if s != x)
    if others:
        them = "it a value" if len(others) == 1 else "them values"
        raise InputError(f"f also depends on {', '.join(others)}: give {them} for {purpose} in {x.name} alone")
    return f, x
