"""Turning what users pass (strings, names, numbers, SymPy objects) into SymPy.

Every public function that takes an expression or variables goes through these
helpers, so strings are always read by the safe parser (:func:`derivkit.parse`)
and a variable given by name is matched to the symbol of that name in the
expression. Numbers are exact: a Python float or a decimal in a string stands for
the decimal that was typed, so ``0.01`` becomes ``1/100`` and worked examples
(a descent step ``4 - 0.01*37 = 363/100``) come out exact.

>>> import sympy
>>> as_expr("x^2 + 1")
x**2 + 1
>>> as_expr(0.01)
1/100
>>> as_symbols("x1, x2")
(x1, x2)
>>> as_symbol("x", sympy.Symbol("x", positive=True) + 1).is_positive
True
"""

from __future__ import annotations

from fractions import Fraction
from numbers import Number
from typing import Any, Iterable, Union, cast

import sympy

from derivkit.errors import InputError, LimitError

__all__ = ["as_expr", "as_symbol", "as_symbols", "as_matrix", "as_number", "substitute", "ExprLike", "SymbolLike"]

ExprLike = Union[str, sympy.Basic, int, float, Fraction]
SymbolLike = Union[str, sympy.Symbol]


def as_expr(obj: ExprLike, *, latex: bool = False, what: str = "expression") -> sympy.Basic:
    """Return ``obj`` as a SymPy expression; strings go through the safe parser."""
    if isinstance(obj, str):
        from derivkit.parsing import parse

        return parse(obj, latex=latex)
    if isinstance(obj, sympy.Basic):
        return obj
    if isinstance(obj, Fraction):
        return sympy.Rational(obj.numerator, obj.denominator)
    if isinstance(obj, bool):
        raise InputError(f"the {what} must be a formula or a number, not {obj!r}")
    if isinstance(obj, float):
        # The decimal the user typed, exactly: 0.01 -> 1/100 (see module docstring).
        return sympy.Rational(repr(obj)) if obj == obj and abs(obj) != float("inf") else sympy.Float(obj)
    if isinstance(obj, Number):
        return sympy.sympify(obj)
    if hasattr(obj, "dtype") and getattr(obj, "shape", None) == ():  # NumPy scalars
        return sympy.sympify(cast(Any, obj).item())
    raise InputError(f"the {what} must be a string or a SymPy expression, not {type(obj).__name__}")


def as_symbol(var: SymbolLike, expr: sympy.Basic | Iterable[sympy.Basic] | None = None) -> sympy.Symbol:
    """Return the variable ``var`` as a Symbol.

    A name is matched to the symbol of that name in ``expr`` (so assumptions the
    user put on their symbols are kept); otherwise a plain ``Symbol`` is made.
    """
    if isinstance(var, sympy.Symbol):
        return var
    if isinstance(var, sympy.Basic):
        raise InputError(f"a variable must be a symbol or a name, not the expression {var}")
    if not isinstance(var, str):
        raise InputError(f"a variable must be a symbol or a name, not {var!r}")
    name = var.strip()
    if not name.isidentifier() or name.startswith("_"):
        raise InputError(f"'{var}' is not a valid variable name")
    if expr is not None:
        exprs = [expr] if isinstance(expr, sympy.Basic) else list(expr)
        for e in exprs:
            for s in getattr(e, "free_symbols", ()):
                if isinstance(s, sympy.Symbol) and s.name == name:
                    return s
    return sympy.Symbol(name)


def as_symbols(wrt, expr: sympy.Basic | Iterable[sympy.Basic] | None = None) -> tuple[sympy.Symbol, ...]:
    """Return variables as a tuple of Symbols; accepts ``"x1,x2"``, names, Symbols."""
    if isinstance(wrt, str):
        parts = [p for p in wrt.replace(" ", ",").split(",") if p]
    elif isinstance(wrt, sympy.Symbol):
        parts = [wrt]
    else:
        parts = list(wrt)
    if not parts:
        raise InputError("no variables given")
    syms = tuple(as_symbol(p, expr) for p in parts)
    names = [s.name for s in syms]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"variable {dup[0]!r} is given twice")
    return syms


def as_matrix(obj, *, latex: bool = False, what: str = "matrix") -> sympy.Matrix:
    """Return ``obj`` (a Matrix, nested lists/tuples of expressions, or a NumPy array) as a Matrix."""
    if isinstance(obj, sympy.MatrixBase):
        return sympy.Matrix(obj)
    if hasattr(obj, "tolist") and not isinstance(obj, sympy.Basic):
        obj = obj.tolist()
    if isinstance(obj, (list, tuple)):
        if not obj:
            raise InputError(f"the {what} is empty")
        if all(isinstance(r, (list, tuple)) for r in obj):
            widths = {len(r) for r in obj}
            if len(widths) != 1:
                raise InputError(f"the rows of the {what} have different lengths {sorted(widths)}")
            return sympy.Matrix([[as_expr(v, latex=latex, what=what) for v in r] for r in obj])
        return sympy.Matrix([as_expr(v, latex=latex, what=what) for v in obj])
    raise InputError(f"the {what} must be a Matrix or nested lists, not {type(obj).__name__}")


def as_number(obj, *, what: str = "value") -> sympy.Basic:
    """Return a number as an exact SymPy number (``0.01`` becomes ``1/100``).

    Not-a-number and infinities are refused (they are no point to evaluate at,
    and no step size), naming the value:

    >>> as_number(0.01), as_number("2/3")
    (1/100, 2/3)
    >>> as_number("nan", what="value of x")
    Traceback (most recent call last):
    ...
    derivkit.errors.InputError: the value of x must be a finite number, not nan
    """
    if isinstance(obj, str) and obj.strip().lower().lstrip("+-") in _NOT_FINITE:
        raise InputError(f"the {what} must be a finite number, not {obj.strip()}")
    e = as_expr(obj, what=what)
    if e.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        raise InputError(f"the {what} must be a finite number, not {e}")
    if e.free_symbols:
        raise InputError(f"the {what} must be a number, not {e}")
    return e


_NOT_FINITE = {"nan", "inf", "infinity", "oo"}


def substitute(expr, values: dict, *, variables: Iterable[sympy.Symbol] = (), exact: bool = True):
    """Evaluate ``expr`` (an expression or Matrix) at ``values`` given by name or Symbol.

    Every free symbol of ``expr`` must get a value. Names that are neither a free
    symbol of ``expr`` nor one of ``variables`` (the other variables of the
    problem, which may have dropped out of this expression) are refused, so typos
    are caught. Exact inputs give exact results (``x=2`` stays the integer 2).

    >>> import sympy
    >>> x, y = sympy.symbols("x y")
    >>> substitute(x**2 + y, {"x": 2, "y": "1/3"})
    13/3
    >>> substitute(sympy.Integer(3), {"x": 2}, variables=[x])
    3
    >>> substitute(x + y, {"x": 1})
    Traceback (most recent call last):
    ...
    derivkit.errors.InputError: no value given for y
    """
    free = {s.name: s for s in getattr(expr, "free_symbols", ()) if isinstance(s, sympy.Symbol)}
    allowed = dict(free)
    for s in variables:
        allowed.setdefault(s.name, s)
    mapping = {}
    for key, val in values.items():
        name = key.name if isinstance(key, sympy.Symbol) else str(key)
        if name not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise InputError(f"'{name}' is not a variable here (variables: {known})")
        mapping[allowed[name]] = as_number(val, what=f"value of {name}")
    missing = sorted(n for n, s in free.items() if s not in mapping)
    if missing:
        raise InputError(f"no value given for {', '.join(missing)}")
    from derivkit.magnitude import value_at

    if isinstance(expr, sympy.MatrixBase):
        out = expr.applyfunc(lambda e: value_at(e, mapping))
        return out.applyfunc(_tidy_value) if exact else out
    out = value_at(expr, mapping)
    return _tidy_value(out) if exact else out


#: Values up to this many nodes are simplified in this process; larger ones in a child process.
SIMPLIFY_IN_PROCESS = 30


def _simplified(v: sympy.Basic) -> sympy.Basic:
    return sympy.simplify(v)


def _tidy_value(v: sympy.Basic) -> sympy.Basic:
    """``simplify`` of a value at a point, within the budget (the value as it is when that fails)."""
    if v.is_Number or v.is_Atom:
        return v
    from derivkit import budget
    from derivkit.calculus.simplify import size
    from derivkit.magnitude import tame

    if not tame(v):
        return v
    try:
        if size(v) <= SIMPLIFY_IN_PROCESS:
            return sympy.simplify(v)
        return budget.run_isolated(_simplified, v)
    except LimitError as err:
        if err.limit == "seconds":
            raise
        return v
    except (budget.Isolated, TypeError, ValueError, NotImplementedError, AttributeError, RecursionError):
        return v
