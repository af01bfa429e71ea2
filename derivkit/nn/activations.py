"""Activations: the scalar ones of :mod:`derivkit.functions`, ``tanh``, and vector softmax.

The scalar activations (``sigmoid``, ``tanh``, ``relu``, ``leaky_relu``, ``step``,
``identity``) are SymPy functions with exact derivatives in teaching form.
Softmax works on a score vector ``s`` (zero-based: class 0 is ``s[0]``):

.. math:: p_k = \\frac{e^{s_k}}{\\sum_j e^{s_j}}

Each entry is a :class:`softmax_entry`, a SymPy function that prints
compactly (``softmax(s_0, s_1)[0]``, LaTeX ``softmax_0(s_0, s_1)``), rewrites to
the textbook quotient with ``.rewrite(sympy.exp)``, differentiates to the Jacobian ``D_ab = p_a (δ_ab - p_b)``,
and evaluates without overflow both in SymPy (``evalf``) and in NumPy code made
by ``sympy.lambdify`` (it is computed as ``exp(s_k - logsumexp(s))``).

>>> import sympy
>>> s = sympy.Matrix(sympy.symbols("s_0 s_1"))
>>> p = softmax(s)
>>> p[0].rewrite(sympy.exp)
exp(s_0)/(exp(s_0) + exp(s_1))
>>> sympy.diff(p[0], s[1])
-softmax(s_0, s_1)[0]*softmax(s_0, s_1)[1]
>>> f = sympy.lambdify(list(s), p)
>>> f(1000.0, 0.0).ravel().tolist()
[1.0, 0.0]
"""

from __future__ import annotations

from typing import Any, Callable, Sequence, Union

import sympy
from mpmath.libmp import prec_to_dps
from sympy import S
from sympy.core.logic import fuzzy_and

from derivkit.errors import InputError, ShapeError
from derivkit.functions import ACTIVATIONS, identity, leaky_relu, relu, sigmoid, step
from derivkit.inputs import as_matrix

__all__ = [
    "sigmoid", "tanh", "relu", "leaky_relu", "step", "identity", "ACTIVATIONS",
    "softmax", "softmax_entry", "logsumexp", "softmax_jacobian", "sigmoid_jacobian",
    "as_activation", "as_vector", "VectorLike", "ActivationLike",
]

#: A vector: a SymPy Matrix with one row or one column, a list or tuple, or a NumPy array.
VectorLike = Union[sympy.MatrixBase, Sequence[Any]]
#: An activation: a name of :data:`ACTIVATIONS`, a SymPy function class, or a one-argument function.
ActivationLike = Union[str, Callable[[sympy.Basic], sympy.Basic], None]

#: The hyperbolic tangent, SymPy's own (``tanh' = 1 - tanh^2``).
tanh = sympy.tanh


def _np(printer, name: str) -> str:
    return printer._module_format(f"numpy.{name}")


def _py_shifted(printer, args: Sequence[sympy.Basic], body: str) -> str:
    """Plain-float code: ``body`` evaluated with ``_v`` the scores and ``_m`` their maximum."""
    scores = ", ".join(printer._print(a) for a in args)
    return f"(lambda _v: (lambda _m: {body})(max(_v)))(({scores},))"


def _mp_sum_exp(printer, args: Sequence[sympy.Basic]) -> str:
    exp = printer._module_format("mpmath.exp")
    return " + ".join(f"{exp}({printer._print(a)})" for a in args)


def _np_logsumexp(printer, args: Sequence[sympy.Basic]) -> str:
    """NumPy code for ``log(sum(exp(args)))`` that never overflows (nested ``logaddexp``)."""
    code = [printer._print(a) for a in args]
    out = f"({code[0]})"
    for c in code[1:]:
        out = f"{_np(printer, 'logaddexp')}({out}, ({c}))"
    return out


class _ExpOfScores(sympy.Function):
    """Shared numerics of functions of a score vector: the scores are ``self.scores``."""

    @property
    def scores(self) -> tuple[sympy.Basic, ...]:
        return self.args

    def _eval_evalf(self, prec):
        if not all(a.is_number for a in self.scores):
            return None
        # mpmath has no overflow, so the textbook formula is safe at any size.
        return self._eval_rewrite_as_exp(*self.args).evalf(prec_to_dps(prec))

    def _eval_is_extended_real(self):
        return fuzzy_and(a.is_extended_real for a in self.scores)


class logsumexp(_ExpOfScores):
    r"""``log(e^{s_0} + e^{s_1} + ...)``, written and evaluated stably.

    Its partial derivatives are the softmax probabilities:
    ``d/ds_k logsumexp(s) = softmax(s)[k]``.

    >>> import sympy
    >>> a, b = sympy.symbols("a b")
    >>> sympy.diff(logsumexp(a, b), a)
    softmax(a, b)[0]
    >>> logsumexp(1000, 0).evalf(6)
    1000.00
    >>> float(sympy.lambdify([a, b], logsumexp(a, b))(1000.0, 0.0))
    1000.0
    """

    @classmethod
    def eval(cls, *args):
        if len(args) == 0:
            raise InputError("logsumexp needs at least one score")
        if len(args) == 1:
            return args[0]
        return None

    def fdiff(self, argindex=1):
        return softmax_entry(argindex - 1, *self.args)

    def _eval_rewrite_as_exp(self, *args, **kwargs):
        return sympy.log(sympy.Add(*[sympy.exp(a) for a in args]))

    _eval_rewrite_as_log = _eval_rewrite_as_exp

    def _eval_is_finite(self):
        return fuzzy_and(a.is_finite for a in self.args)

    def _latex(self, printer, exp=None):
        inner = " + ".join(r"e^{%s}" % printer._print(a) for a in self.args)
        base = r"\log\left(%s\right)" % inner
        return base if exp is None else r"\left(%s\right)^{%s}" % (base, exp)

    def _numpycode(self, printer):
        return _np_logsumexp(printer, self.args)

    def _pythoncode(self, printer):
        exp, log, fsum = (printer._module_format(f"math.{n}") for n in ("exp", "log", "fsum"))
        return _py_shifted(printer, self.args, f"_m + {log}({fsum}({exp}(_u - _m) for _u in _v))")

    def _mpmathcode(self, printer):
        # mpmath numbers do not overflow: the textbook formula is safe.
        return f"{printer._module_format('mpmath.log')}({_mp_sum_exp(printer, self.args)})"


class softmax_entry(_ExpOfScores):
    r"""Entry ``k`` of the softmax of the scores: ``softmax_entry(k, s_0, ..., s_{n-1})``.

    ``p_k = e^{s_k} / sum_j e^{s_j}``, with ``k`` zero-based. The derivative
    with respect to ``s_b`` is ``p_k (δ_kb - p_b)``. Numerically it is
    ``exp(s_k - logsumexp(s))``, so large scores do not overflow.

    >>> import sympy
    >>> softmax_entry(0, 1000, 0).evalf(5), softmax_entry(1, 1000, 0).evalf(5)
    (1.0000, 5.0760e-435)
    >>> a, b = sympy.symbols("a b")
    >>> sympy.diff(softmax_entry(0, a, b), a)
    (1 - softmax(a, b)[0])*softmax(a, b)[0]
    """

    @classmethod
    def eval(cls, k, *scores):
        if not scores:
            raise InputError("softmax needs at least one score")
        if not (k.is_Integer and 0 <= int(k) < len(scores)):
            raise InputError(f"softmax entry {k} is not a class index in 0..{len(scores) - 1}")
        if len(scores) == 1:
            return S.One
        return None

    @property
    def index(self) -> int:
        return int(self.args[0])

    @property
    def scores(self) -> tuple[sympy.Basic, ...]:
        return self.args[1:]

    def fdiff(self, argindex=1):
        if argindex == 1:  # the class index is a constant
            return S.Zero
        b = argindex - 2
        p_k = self
        if b == self.index:
            return p_k * (1 - p_k)
        return -p_k * softmax_entry(b, *self.scores)

    def _eval_rewrite_as_exp(self, k, *scores, **kwargs):
        return sympy.exp(scores[int(k)]) / sympy.Add(*[sympy.exp(s) for s in scores])

    def _eval_is_finite(self):
        return True  # a probability, in [0, 1]

    def _eval_is_positive(self):
        if all(s.is_extended_real and s.is_finite for s in self.scores):
            return True
        return None

    def _sympystr(self, printer):
        return "softmax(%s)[%d]" % (", ".join(printer._print(s) for s in self.scores), self.index)

    def _latex(self, printer, exp=None):
        args = ", ".join(printer._print(s) for s in self.scores)
        base = r"\operatorname{softmax}_{%d}\left(%s\right)" % (self.index, args)
        return base if exp is None else r"%s^{%s}" % (base, exp)

    def _numpycode(self, printer):
        lse = _np_logsumexp(printer, self.scores)
        return f"{_np(printer, 'exp')}(({printer._print(self.scores[self.index])}) - {lse})"

    def _pythoncode(self, printer):
        exp, fsum = (printer._module_format(f"math.{n}") for n in ("exp", "fsum"))
        body = f"{exp}(_v[{self.index}] - _m)/{fsum}({exp}(_u - _m) for _u in _v)"
        return _py_shifted(printer, self.scores, body)

    def _mpmathcode(self, printer):
        exp = printer._module_format("mpmath.exp")
        return f"{exp}({printer._print(self.scores[self.index])})/({_mp_sum_exp(printer, self.scores)})"


def as_vector(obj: VectorLike, *, what: str = "vector") -> sympy.Matrix:
    """Return ``obj`` (a Matrix with one column or one row, a list, a tuple) as a column Matrix.

    >>> as_vector([1, 2, 3]).shape
    (3, 1)
    >>> as_vector([[1, 2], [3, 4]], what="probabilities")
    Traceback (most recent call last):
    ...
    derivkit.errors.ShapeError: the probabilities must be a vector (one row or one column), not a 2x2 matrix
    """
    if isinstance(obj, (str, int, float)) or (isinstance(obj, sympy.Basic) and not isinstance(obj, sympy.MatrixBase)):
        raise ShapeError(f"the {what} must be a vector (a list or a one-column Matrix), not the single value {obj}")
    m = as_matrix(obj, what=what)
    rows, cols = m.shape
    if rows != 1 and cols != 1:
        raise ShapeError(f"the {what} must be a vector (one row or one column), not a {rows}x{cols} matrix")
    return m.reshape(rows * cols, 1)


def softmax(s: VectorLike) -> sympy.Matrix:
    r"""The softmax of a score vector: ``p_k = e^{s_k} / Σ_j e^{s_j}``, as a column Matrix.

    Classes are zero-based. The entries are :class:`softmax_entry` objects:
    exact, stable in ``evalf`` and in lambdified NumPy code.

    >>> p = softmax([3.2, 5.1, -1.7])
    >>> [round(float(v), 2) for v in p]
    [0.13, 0.87, 0.0]
    >>> [float(v) for v in softmax([1000, 0])]
    [1.0, 0.0]
    """
    s = as_vector(s, what="scores")
    scores = tuple(s)
    return sympy.Matrix([softmax_entry(k, *scores) for k in range(len(scores))])


def softmax_jacobian(s: VectorLike) -> sympy.Matrix:
    r"""The softmax Jacobian ``D_ab = dp_a/ds_b = p_a (δ_ab - p_b)``.

    Symmetric, so numerator and denominator layouts agree.

    >>> import sympy
    >>> s = sympy.symbols("s_0 s_1")
    >>> D = softmax_jacobian(s)
    >>> D[0, 1]
    -softmax(s_0, s_1)[0]*softmax(s_0, s_1)[1]
    >>> D == softmax(s).jacobian(s)
    True
    """
    p = softmax(s)
    n = p.rows
    return sympy.Matrix(n, n, lambda a, b: p[a] * ((1 if a == b else 0) - p[b]))


def sigmoid_jacobian(s: VectorLike) -> sympy.Matrix:
    r"""The derivative of the elementwise sigmoid of a vector: ``diag((1 - σ(s_j)) σ(s_j))``.

    >>> import sympy
    >>> s = sympy.symbols("s_0 s_1")
    >>> sigmoid_jacobian(s)
    Matrix([
    [(1 - sigmoid(s_0))*sigmoid(s_0),                               0],
    [                              0, (1 - sigmoid(s_1))*sigmoid(s_1)]])
    """
    v = as_vector(s, what="scores")
    return sympy.diag(*[sigmoid(x) * (1 - sigmoid(x)) for x in v])


def as_activation(activation: ActivationLike) -> Callable[[sympy.Basic], sympy.Basic]:
    """Return a one-argument function ``z -> f(z)`` for an activation name, class or callable.

    Names are those of :data:`ACTIVATIONS` (``"sigmoid"``, ``"tanh"``, ``"relu"``,
    ``"leaky_relu"``, ``"step"``, ``"identity"``).

    >>> import sympy
    >>> as_activation("relu")(sympy.Symbol("z"))
    relu(z)
    >>> as_activation("softplus")
    Traceback (most recent call last):
    ...
    derivkit.errors.InputError: unknown activation 'softplus'; choose one of sigmoid, tanh, relu, leaky_relu, step, identity
    """
    if isinstance(activation, str):
        key = activation.strip().lower()
        if key not in ACTIVATIONS:
            raise InputError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        return ACTIVATIONS[key]
    if activation is None:
        return identity
    if callable(activation):
        return activation
    raise InputError(f"an activation must be a name or a function, not {activation!r}")
