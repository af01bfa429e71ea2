"""The tangent line to ``y = f(x)`` at ``x = x0``: slope ``f'(x0)``, line ``y = f(x0) + f'(x0)(x - x0)``.

>>> slope, line = tangent_line("x^2", "x", at=3)
>>> slope, line
(6, 6*x - 9)
>>> t = tangent_line("sin(x)", "x", at=0)
>>> t.point, t.value, t.line
(0, 0, x)
"""

from __future__ import annotations

from typing import Any, Mapping

import sympy

from derivkit.calculus import kinks
from derivkit.calculus.derivation import Derivation
from derivkit.calculus.steps import derive
from derivkit.decimals import snap_floats
from derivkit.errors import DomainError, InputError
from derivkit.inputs import ExprLike, SymbolLike, as_number
from derivkit.teaching.function import one_variable
from derivkit.notation import expr_latex
from derivkit.renderable import Renderable

__all__ = ["tangent_line", "TangentLine"]


def _finite(v: sympy.Basic) -> bool:
    return bool(v.is_number) and not v.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo) and v.is_real is not False


class TangentLine(tuple, Renderable):
    """``(slope, line)``, the tangent to ``y = expr`` at ``x = point``; also ``.point``, ``.value``
    (``f(x0)``), ``.expr``, ``.wrt`` and ``.derivation`` (the working of ``f'``), with renderers.

    ``line`` is the expression ``m x + c`` of the line ``y = m x + c``.
    """

    slope: sympy.Basic
    line: sympy.Basic
    expr: sympy.Basic
    wrt: sympy.Symbol
    point: sympy.Basic
    value: sympy.Basic
    derivation: Derivation

    def __new__(cls, slope, line, *, expr, wrt, point, value, derivation):
        obj = super().__new__(cls, (slope, line))
        obj.slope, obj.line, obj.expr, obj.wrt = slope, line, expr, wrt
        obj.point, obj.value, obj.derivation = point, value, derivation
        return obj

    def __getnewargs_ex__(self):
        return (self.slope, self.line), {"expr": self.expr, "wrt": self.wrt, "point": self.point,
                                         "value": self.value, "derivation": self.derivation}

    @property
    def point_slope(self) -> tuple[str, str]:
        """The line in point-slope form ``y = f(x0) + f'(x0)(x - x0)``, as written: ``(text, latex)``."""
        from derivkit.notation import expr_text

        x, a, m, v = self.wrt, self.point, self.slope, self.value
        shift = sympy.Add(x, -a, evaluate=False) if a != 0 else x
        if m == 0:
            return expr_text(v), expr_latex(v)
        sign = " - " if m.could_extract_minus_sign() else " + "
        mag = -m if m.could_extract_minus_sign() else m
        coeff_t = "" if mag == 1 else expr_text(mag)
        coeff_l = "" if mag == 1 else expr_latex(mag) + " "
        shift_t = expr_text(shift) if a == 0 else f"({expr_text(shift)})"
        shift_l = expr_latex(shift) if a == 0 else rf"\left({expr_latex(shift)}\right)"
        if v == 0:
            return (f"{'-' if sign == ' - ' else ''}{coeff_t}{shift_t}",
                    f"{'-' if sign == ' - ' else ''}{coeff_l}{shift_l}")
        return f"{expr_text(v)}{sign}{coeff_t}{shift_t}", f"{expr_latex(v)}{sign}{coeff_l}{shift_l}"

    def __repr__(self) -> str:
        return f"TangentLine(slope={self.slope}, line={self.line})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "expr": str(self.expr),
            "wrt": str(self.wrt),
            "at": str(self.point),
            "value": str(self.value),
            "derivative": str(self.derivation.result),
            "slope": str(self.slope),
            "line": str(self.line),
            "line_latex": expr_latex(self.line),
            "equation": f"y = {self.line}",
        }


def _point(at: Any, x: sympy.Symbol) -> sympy.Basic:
    if isinstance(at, Mapping):
        if len(at) != 1:
            raise InputError(f"give the point as one value for {x.name}, like at={{'{x.name}': 3}}")
        (name, value), = at.items()
        name = name.name if isinstance(name, sympy.Symbol) else str(name)
        if name != x.name:
            raise InputError(f"the point names {name!r}, but the variable is {x.name}")
        at = value
    return as_number(at, what=f"point {x.name}")


def tangent_line(expr: ExprLike, wrt: SymbolLike, at: Any, *, decimals: bool = False) -> TangentLine:
    """The tangent line to ``y = expr`` at ``wrt = at``: ``(slope, line)``.

    ``at`` is a number (or ``{"x": x0}``). Raises :class:`~derivkit.errors.DomainError`
    where f is undefined, or not differentiable (a corner; a vertical tangent).

    >>> tangent_line("x^3 - 2x", "x", at=1)
    TangentLine(slope=1, line=x - 2)
    >>> tangent_line("abs(x)", "x", at=0)
    Traceback (most recent call last):
    ...
    derivkit.errors.DomainError: |x| is not differentiable at x = 0 (a corner), so it has no tangent line there
    """
    f, x = one_variable(expr, wrt, "a tangent line", decimals=decimals)
    a = _point(at, x)
    from derivkit.notation import expr_text

    value = sympy.simplify(f.subs(x, a)) if not f.has(sympy.Float) else snap_floats(f.subs(x, a).evalf(15))
    where = f"{x.name} = {expr_text(a)}"
    if not _finite(value):
        raise DomainError(f"{expr_text(f)} is not defined at {where}, so it has no tangent line there")
    for c, kind in kinks.kink_points(f, x):
        if sympy.simplify(c - a) == 0:
            raise DomainError(f"{expr_text(f)} is not differentiable at {where} (a {kind}), so it has no tangent line "
                              "there")
    d = derive(f, x)
    slope = d.result.subs(x, a)
    slope = sympy.simplify(slope) if not slope.has(sympy.Float) else snap_floats(slope.evalf(15))
    if slope.has(sympy.zoo, sympy.oo, -sympy.oo):
        raise DomainError(f"the tangent to {expr_text(f)} at {where} is vertical (the line {where}): its slope is "
                          "not a number")
    if not _finite(slope):
        raise DomainError(f"{expr_text(f)} is not differentiable at {where}, so it has no tangent line there")
    line = snap_floats(sympy.expand(value + slope * (x - a)))
    return TangentLine(slope, line, expr=f, wrt=x, point=a, value=value, derivation=d)
