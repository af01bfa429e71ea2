"""Decimals kept as written (``decimals=True``): ``25.2``, not ``126/5``.

By default derivkit reads ``2.1`` as the exact fraction ``21/10``, so worked
examples stay exact. With ``decimals=True`` a decimal stays a decimal (a SymPy
``Float``) and arithmetic on it gives decimals, as on a slide: ``3·8.4 = 25.2``.
Floating point leaves traces in the last binary digits (``2.1·12`` is
``25.200000000000003`` in double precision); :func:`snap_floats` rounds every
Float of a result to the 12 significant digits a person would write, and
writes whole numbers as integers.

>>> import sympy
>>> x = sympy.Symbol("x")
>>> snap_floats(sympy.Float(2.1) * 12 * x**2 + sympy.Float(2.0) * x)
25.2*x**2 + 2*x
>>> snap_floats(sympy.Float(2.1) * 12) == 25.2
True
"""

from __future__ import annotations

import sympy

__all__ = ["snap_floats", "DIGITS"]

#: Significant digits a decimal result keeps.
DIGITS = 12


def _snapped(f: sympy.Float, digits: int) -> sympy.Basic:
    value = float(f)
    if value != value or value in (float("inf"), float("-inf")):
        return f
    text = format(value, f".{digits}g")
    if "e" not in text and "." not in text:
        return sympy.Integer(int(text))
    number = float(text)
    if number == int(number) and abs(number) < 1e15:
        return sympy.Integer(int(number))
    return sympy.Float(text)


def snap_floats(expr: sympy.Basic, digits: int = DIGITS) -> sympy.Basic:
    """``expr`` with every Float rounded to ``digits`` significant digits (whole ones as integers)."""
    if not isinstance(expr, sympy.Basic):
        return expr
    floats = expr.atoms(sympy.Float)
    if not floats:
        return expr
    return expr.xreplace({f: _snapped(f, digits) for f in floats})
