"""Several variables: the gradient, the Jacobian and the Hessian, each entry derived.

Every entry of the matrix is a :class:`~derivkit.calculus.derivation.Derivation`
from the step engine, so a reader can follow how each partial derivative was
found. The layouts are the course's:

* the **gradient** of ``f(x1, ..., xn)`` is a column: entry ``i`` is ``df/dx_i``;
* the **Jacobian** of ``(f1, ..., fm)`` uses the numerator layout: row ``i`` is
  output ``f_i``, column ``j`` is variable ``x_j`` (an ``m x n`` matrix);
* the **Hessian** has ``H_ij = d/dx_j (df/dx_i)``. Each mixed partial is derived
  once: for ``j < i`` the entry ``H_ij`` reuses the derivation of ``H_ji``
  (the mixed partials of a twice continuously differentiable function agree,
  Schwarz's theorem), and the result says so in its notes.

>>> import sympy
>>> x1, x2 = sympy.symbols("x1 x2")
>>> h = hessian(x1**3 * x2 + x2**2, [x1, x2])
>>> h.result
Matrix([
[6*x1*x2, 3*x1**2],
[3*x1**2,       2]])
>>> h.at(x1=1, x2=2)
Matrix([
[12, 3],
[ 3, 2]])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Union

import sympy

from derivkit import budget
from derivkit.notation import expr_latex
from derivkit.calculus.derivation import Derivation
from derivkit.calculus.steps import derive
from derivkit.errors import InputError
from derivkit.inputs import as_expr, as_number, as_symbols, substitute
from derivkit.renderable import Renderable, brief_repr

__all__ = ["MatrixDerivation", "MatrixAt", "gradient", "jacobian", "hessian", "compact", "terms_bound", "LAYOUTS"]

ExprOrStr = Union[str, sympy.Basic]

#: How each kind of matrix is laid out, stated in every rendering.
LAYOUTS = {
    "gradient": "a column: entry i is ∂f/∂x_i",
    "jacobian": "numerator layout: row i is output f_i, column j is variable x_j",
    "hessian": "H_ij = ∂/∂x_j (∂f/∂x_i); the matrix is symmetric",
}

SYMMETRY_NOTE = (
    "Each mixed partial is derived once: H_ij for i > j reuses H_ji, because the mixed "
    "partial derivatives of a twice continuously differentiable function agree (Schwarz's theorem)."
)


#: Expressions larger than this (in ``count_ops``) are shown as the step engine wrote them.
COMPACT_LIMIT = 250


#: Expressions are expanded only when the expansion has at most this many terms (see :func:`terms_bound`).
MAX_EXPANDED_TERMS = 200


def terms_bound(expr: sympy.Basic, cap: int = 10**6) -> int:
    """An upper bound on the number of terms of ``sympy.expand(expr)``, found without expanding.

    A sum adds the bounds of its terms, a product multiplies them, an integer power
    ``b^n`` counts like ``n`` copies of ``b`` multiplied; a polynomial of degree
    ``d`` in ``k`` variables has at most ``C(d + k, k)`` terms. Capped at ``cap``.

    >>> import sympy
    >>> x, y = sympy.symbols("x y")
    >>> terms_bound((3*x - 2)**2), terms_bound((((x - 1)**2 - 1)**2 - 1)**2), terms_bound((x + y)**3)
    (3, 9, 8)
    """
    return _bounds(expr, cap)[0]


def _bounds(expr: sympy.Basic, cap: int) -> tuple[int, int | None]:
    """``(terms, degree)``: bounds on the expansion's number of terms and total degree (None: not a polynomial)."""
    if expr.is_Number:
        return 1, 0
    if expr.is_Symbol:
        return 1, 1
    if expr.is_Add or expr.is_Mul:
        parts = [_bounds(a, cap) for a in expr.args]
        degrees = [d for _, d in parts]
        if expr.is_Add:
            terms = sum(t for t, _ in parts)
            degree = None if None in degrees else max(degrees)  # type: ignore[type-var]
        else:
            terms = 1
            for t, _ in parts:
                terms = min(cap, terms * t)
            degree = None if None in degrees else sum(degrees)  # type: ignore[arg-type]
    elif expr.is_Pow and expr.exp.is_Integer and expr.exp > 1:
        t, d = _bounds(expr.base, cap)
        n = int(expr.exp)
        terms = 1 if t == 1 else min(cap, t ** min(n, 64))
        degree = None if d is None else d * n
    else:
        return 1, None
    if degree is not None:
        terms = min(terms, math.comb(degree + len(expr.free_symbols), degree))
    return min(cap, terms), degree


def compact(expr: sympy.Basic) -> sympy.Basic:
    """The shortest of ``expr``, its expansion and its common factors pulled out; expansion on ties.

    Cheap rewrites only (``sympy.simplify`` can take many seconds on ``tanh`` chains),
    and no expansion that would produce more than :data:`MAX_EXPANDED_TERMS` terms.

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> compact((50*x**4 + 5*x**2*(20*x**2 - 63) + 120) / 15)
    10*x**4 - 21*x**2 + 8
    >>> compact(sympy.sin(x)*(1 + x))
    (x + 1)*sin(x)
    """
    if expr.is_Atom or sympy.count_ops(expr) > COMPACT_LIMIT:
        return expr
    candidates = [expr, sympy.factor_terms(expr)]
    if terms_bound(expr) <= MAX_EXPANDED_TERMS:
        candidates.insert(0, sympy.expand(expr))
    return min(candidates, key=sympy.count_ops)


@dataclass(frozen=True)
class MatrixDerivation(Renderable):
    """A gradient, Jacobian or Hessian with the derivation of every entry.

    ``kind`` is ``"gradient"``, ``"jacobian"`` or ``"hessian"``; ``exprs`` the
    function(s) (one for a gradient or Hessian); ``wrt`` the variables;
    ``result`` the matrix (a SymPy ``Matrix``, each entry the derivation's
result or its expansion where that is shorter). ``derivations`` has the
    shape of the matrix: a flat tuple for the gradient (entry ``i``), a tuple of
    rows for the Jacobian and the Hessian (entry ``[i][j]``). For the Hessian,
    ``first`` holds the derivations of the first partials ``df/dx_i`` whose
    derivatives are the rows, and the entries below the diagonal are the very
    same objects as the ones above it.
    """

    kind: str
    exprs: tuple[sympy.Basic, ...]
    wrt: tuple[sympy.Symbol, ...]
    result: sympy.Matrix
    derivations: tuple[Any, ...]
    first: tuple[Derivation, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def __repr__(self) -> str:
        return brief_repr(self, kind=self.kind, exprs=self.exprs, wrt=self.wrt, result=self.result)

    @property
    def expr(self) -> sympy.Basic:
        """The function (the first one, for a Jacobian)."""
        return self.exprs[0]

    @property
    def layout(self) -> str:
        """The layout of :attr:`result` in words."""
        return LAYOUTS[self.kind]

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.result.shape)

    def entry(self, i: int, j: int = 0) -> Derivation:
        """The derivation of entry ``(i, j)`` of :attr:`result`."""
        if self.kind == "gradient":
            if j != 0:
                raise InputError("a gradient is a column: its entries are (i, 0)")
            return self.derivations[i]
        return self.derivations[i][j]

    def entries(self) -> Iterator[tuple[int, int, Derivation]]:
        """Yield ``(i, j, derivation)`` for every entry, row by row."""
        rows, cols = self.shape
        for i in range(rows):
            for j in range(cols):
                yield i, j, self.entry(i, j)

    def is_reused(self, i: int, j: int) -> bool:
        """True for a Hessian entry below the diagonal (taken from its mirror entry)."""
        return self.kind == "hessian" and i > j

    def at(self, **values) -> sympy.Matrix:
        """The matrix at a point, exact where the inputs are exact.

        >>> import sympy
        >>> x, y = sympy.symbols("x y")
        >>> gradient(x**2 * y, [x, y]).at(x=3, y=1)
        Matrix([
        [6],
        [9]])
        """
        variables = set(self.wrt).union(*(e.free_symbols for e in self.exprs))
        value = substitute(sympy.Matrix(self.result), values, variables=variables, exact=False)
        return sympy.Matrix(value).applyfunc(compact)  # exact, without slow simplification

    def worked_at(self, **values) -> "MatrixAt":
        """The matrix at a point, as a renderable result (used by the command line)."""
        value = self.at(**values)
        point = tuple((name, as_number(v, what=f"value of {name}")) for name, v in values.items())
        return MatrixAt(self, point, sympy.Matrix(value))

    def to_dict(self) -> dict[str, Any]:
        rows, cols = self.shape
        return {
            "kind": self.kind,
            "exprs": [str(e) for e in self.exprs],
            "wrt": [str(s) for s in self.wrt],
            "layout": self.layout,
            "shape": [rows, cols],
            "result": [[str(self.result[i, j]) for j in range(cols)] for i in range(rows)],
            "result_latex": expr_latex(sympy.Matrix(self.result)),
            "first": [d.to_dict() for d in self.first],
            "entries": [
                {"i": i, "j": j, "reused": self.is_reused(i, j), "derivation": d.to_dict()}
                for i, j, d in self.entries()
            ],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class MatrixAt(Renderable):
    """A gradient, Jacobian or Hessian evaluated at a point (``point``: (name, value) pairs)."""

    derivation: MatrixDerivation
    point: tuple[tuple[str, sympy.Basic], ...]
    value: sympy.Matrix

    def __repr__(self) -> str:
        return brief_repr(self, kind=self.derivation.kind, at=dict(self.point), value=self.value)

    def to_dict(self) -> dict[str, Any]:
        rows, cols = self.value.shape
        return {
            **self.derivation.to_dict(),
            "at": {name: str(v) for name, v in self.point},
            "value": [[str(self.value[i, j]) for j in range(cols)] for i in range(rows)],
            "value_latex": expr_latex(sympy.Matrix(self.value)),
        }


def _function(f: ExprOrStr, what: str = "function") -> sympy.Basic:
    if isinstance(f, (sympy.MatrixBase, list, tuple)):
        raise InputError(f"the {what} must be one expression, not several (use jacobian for several functions)")
    return as_expr(f, what=what)


def _variables(wrt, exprs: Iterable[sympy.Basic]) -> tuple[sympy.Symbol, ...]:
    """The variables as Symbols; a Symbol matches the expression's symbol of the same name."""
    exprs = list(exprs)
    free = {s.name: s for e in exprs for s in e.free_symbols if isinstance(s, sympy.Symbol)}
    return tuple(free.get(s.name, s) for s in as_symbols(wrt, exprs))


def _refuse_entries(kind: str, count: int, shape: str) -> None:
    """Refuse a matrix whose entries would take too long to derive (the ``entries`` limit)."""
    budget.refuse_above("entries", count, f"the {kind} ({shape}) derives {count:,} entries, which")


def _derived(expr: sympy.Basic, x: sympy.Symbol) -> Derivation:
    budget.checkpoint()
    return derive(expr, x)


@budget.guarded
def gradient(f: ExprOrStr, wrt) -> MatrixDerivation:
    """The gradient of ``f`` as a column, each partial derivative derived step by step.

    >>> g = gradient("x1**2*x2 + x2", "x1, x2")
    >>> g.result
    Matrix([
    [ 2*x1*x2],
    [x1**2 + 1]])
    >>> g.derivations[1].expr, g.derivations[1].wrt, g.derivations[1].result
    (x1**2*x2 + x2, x2, x1**2 + 1)
    """
    expr = _function(f)
    syms = _variables(wrt, [expr])
    _refuse_entries("gradient", len(syms), f"in {len(syms)} variables")
    derivs = tuple(_derived(expr, s) for s in syms)
    result = sympy.Matrix([[compact(d.result)] for d in derivs])
    return MatrixDerivation("gradient", (expr,), syms, result, derivs)


@budget.guarded
def jacobian(fs, wrt) -> MatrixDerivation:
    """The Jacobian of the functions ``fs`` (numerator layout: row i is ``f_i``).

    ``fs`` is a list of expressions (or strings) or a SymPy Matrix.

    >>> j = jacobian(["2*x1 + x2^2", "-x1^2 + 3*x2", "4*x1*x2"], "x1,x2")
    >>> j.result
    Matrix([
    [    2, 2*x2],
    [-2*x1,    3],
    [ 4*x2, 4*x1]])
    >>> j.at(x1=2, x2=1)
    Matrix([
    [ 2, 2],
    [-4, 3],
    [ 4, 8]])
    """
    if isinstance(fs, sympy.MatrixBase):
        if min(fs.shape) != 1:
            raise InputError(f"the functions must form a vector, not a {fs.shape[0]}x{fs.shape[1]} matrix")
        items = list(fs)
    elif isinstance(fs, (str, sympy.Basic)):
        items = [fs]
    else:
        try:
            items = list(fs)
        except TypeError:
            raise InputError(f"the functions must be a list of expressions, not {type(fs).__name__}") from None
    if not items:
        raise InputError("no functions given for the Jacobian")
    exprs = tuple(_function(f, what=f"function {k + 1}") for k, f in enumerate(items))
    syms = _variables(wrt, exprs)
    _refuse_entries("Jacobian", len(exprs) * len(syms), f"{len(exprs)} x {len(syms)}")
    derivs = tuple(tuple(_derived(e, s) for s in syms) for e in exprs)
    result = sympy.Matrix([[compact(d.result) for d in row] for row in derivs])
    return MatrixDerivation("jacobian", exprs, syms, result, derivs)


@budget.guarded
def hessian(f: ExprOrStr, wrt) -> MatrixDerivation:
    """The Hessian ``H_ij = d/dx_j (df/dx_i)`` of ``f``, each mixed partial derived once.

    >>> h = hessian("x^2*y + y^3", "x, y")
    >>> h.result
    Matrix([
    [2*y,  2*x],
    [2*x, 6*y]])
    >>> h.derivations[1][0] is h.derivations[0][1]
    True
    """
    expr = _function(f)
    syms = _variables(wrt, [expr])
    n = len(syms)
    _refuse_entries("Hessian", n * (n + 1) // 2 + n, f"in {n} variables: {n} first partials and {n * (n + 1) // 2} second")
    first = tuple(_derived(expr, s) for s in syms)
    upper: dict[tuple[int, int], Derivation] = {}
    for i in range(n):
        for j in range(i, n):
            upper[i, j] = _derived(first[i].result, syms[j])
    derivs = tuple(tuple(upper[min(i, j), max(i, j)] for j in range(n)) for i in range(n))
    result = sympy.Matrix([[compact(d.result) for d in row] for row in derivs])
    notes = (SYMMETRY_NOTE,) if n > 1 else ()
    return MatrixDerivation("hessian", (expr,), syms, result, derivs, first=first, notes=notes)
