"""Losses as SymPy expressions, and the gradients the course derives by hand.

Argument order is always **prediction first, target second**:
``mse(O, Y)``, ``bce(p, y)``, ``nll(p, label)``, ``hinge(s, y)``.
Vectors are SymPy matrices (or lists); class labels are **zero-based** integers,
so ``label=0`` is the first entry of the score or probability vector.

>>> import sympy
>>> s, y = sympy.symbols("s y")
>>> sse(s, y)
(s - y)**2
>>> nll([0.1, 0.7, 0.2], 1)
-log(7/10)
>>> multiclass_hinge([3.2, 5.1, -1.7], 0)
29/10
>>> squared_error_gradient(s, y).result[0]
-2*(-s + y)
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Iterable, Sequence, Union

import sympy
from sympy import S

from derivkit.errors import DomainError, InputError, ShapeError
from derivkit.functions import step
from derivkit.inputs import ExprLike, as_expr, as_matrix, as_symbols, substitute
from derivkit.nn.activations import VectorLike, as_vector, logsumexp
from derivkit.renderable import Renderable, brief_repr

__all__ = [
    "mse", "sse", "l1", "bce", "nll", "cross_entropy", "softmax_cross_entropy",
    "hinge", "multiclass_hinge", "total_loss",
    "LossGradient", "squared_error_gradient", "nll_gradient", "cross_entropy_gradient",
    "softmax_cross_entropy_gradient", "hinge_gradient", "multiclass_hinge_gradient",
]


# ---------------------------------------------------------------------------
# argument conversion
# ---------------------------------------------------------------------------

#: A scalar (expression or number) or a vector/matrix of them.
Values = Union[ExprLike, VectorLike]
#: A zero-based class label.
Label = Union[int, sympy.Integer]
#: A count of classes (symbols ``p_0, p_1, ...`` are made) or the symbols themselves.
SymbolsLike = Union[int, str, Sequence[Any], sympy.MatrixBase]


def _is_array_like(obj) -> bool:
    return isinstance(obj, (list, tuple, sympy.MatrixBase)) or (
        hasattr(obj, "shape") and getattr(obj, "shape", ()) != () and not isinstance(obj, sympy.Basic))


def _pair(pred, target) -> tuple[sympy.Matrix, sympy.Matrix]:
    """Prediction and target as matrices of one shape (scalars become 1x1)."""
    P = as_matrix(pred, what="prediction") if _is_array_like(pred) else sympy.Matrix([[as_expr(pred, what="prediction")]])
    T = as_matrix(target, what="target") if _is_array_like(target) else sympy.Matrix([[as_expr(target, what="target")]])
    if P.shape != T.shape and 1 in P.shape and 1 in T.shape and len(P) == len(T):
        T = T.reshape(*P.shape)  # a row and a column of the same length: the same vector
    if P.shape != T.shape:
        raise ShapeError(
            f"the prediction is {P.rows}x{P.cols} but the target is {T.rows}x{T.cols}; they must have the same shape")
    return P, T


def _label(label, n: int) -> int:
    """Check a zero-based class label against ``n`` classes."""
    if isinstance(label, bool):
        raise InputError(f"a class label must be a whole number, not {label!r}")
    if isinstance(label, sympy.Basic):
        if not label.is_Integer:
            raise InputError(f"a class label must be a whole number, not {label}")
        label = int(label)
    elif hasattr(label, "__index__"):
        label = operator.index(label)
    else:
        raise InputError(f"a class label must be a whole number, not {label!r}")
    if not 0 <= label < n:
        raise InputError(
            f"label {label} is outside the {n} classes 0..{n - 1} (labels are zero-based: "
            f"class 1 of the course is label 0)")
    return label


def _check_unit_interval(values: Iterable[sympy.Basic], what: str) -> None:
    for v in values:
        if v.is_number and v.is_real is not False and (v.is_negative or (v - 1).is_positive):
            raise DomainError(f"the {what} must lie between 0 and 1, got {v}")
        if v.is_number and v.is_real is False:
            raise DomainError(f"the {what} must be real numbers between 0 and 1, got {v}")


def _binary_log_likelihood(q: sympy.Basic, t: sympy.Basic) -> sympy.Basic:
    """``t log q + (1 - t) log(1 - q)``, leaving out a term whose weight is exactly 0.

    So ``0 log 0`` never appears: a probability of exactly 0 or 1 on the side the
    target rules out contributes nothing, as in the limit.
    """
    out = S.Zero
    if not t.is_zero:
        out += t * sympy.log(q)
    if not (1 - t).is_zero:
        out += (1 - t) * sympy.log(1 - q)
    return out


# ---------------------------------------------------------------------------
# regression losses
# ---------------------------------------------------------------------------

def sse(pred: Values, target: Values) -> sympy.Basic:
    r"""Sum of squared errors ``Σ (O - Y)^2`` over every entry.

    >>> sse([1, 2], [0, 4])
    5
    """
    P, T = _pair(pred, target)
    return sympy.Add(*[(o - y) ** 2 for o, y in zip(P, T)])


def mse(pred: Values, target: Values) -> sympy.Basic:
    r"""Mean squared error of the course: ``1/N Σ_e Σ_n (O_en - Y_en)^2``.

    For a matrix the rows are the ``N`` examples and the columns the outputs, so
    the sum runs over every entry and is divided by the number of rows. For a
    vector (one row or one column) ``N`` is its length; for scalars ``N = 1``.

    >>> mse([1, 2, 3], [1, 2, 5])
    4/3
    >>> mse([[1, 0], [0, 1]], [[0, 0], [0, 0]])
    1
    """
    P, T = _pair(pred, target)
    n = P.rows * P.cols if (P.rows == 1 or P.cols == 1) else P.rows
    return sse(P, T) / n


def l1(pred: Values, target: Values) -> sympy.Basic:
    r"""L1 loss ``Σ |O - Y|`` (for one value: ``|y - s|``).

    >>> l1([1, 2], [3, 1])
    3
    """
    P, T = _pair(pred, target)
    return sympy.Add(*[sympy.Abs(o - y) for o, y in zip(P, T)])


# ---------------------------------------------------------------------------
# probability losses
# ---------------------------------------------------------------------------

def bce(p: Values, y: Values) -> sympy.Basic:
    r"""Binary cross-entropy ``-Σ_i [y_i log p_i + (1 - y_i) log(1 - p_i)]``.

    ``p`` holds predicted probabilities of class 1 and ``y`` the labels (0 or 1,
    or any target in [0, 1]). With numeric labels the terms that vanish are
    dropped exactly, so ``bce(p, 1)`` is ``-log(p)`` and stays finite and correct
    as ``p`` approaches 1, in SymPy and in lambdified NumPy code. (With a
    symbolic label both logarithms stay, and compiled code gives ``nan`` for
    ``0 * log(0)`` at ``p = 0`` or ``p = 1``: give data labels as numbers.)

    >>> import sympy
    >>> bce(sympy.Symbol("p"), 1)
    -log(p)
    >>> bce(1 - sympy.Rational(1, 10**17), 0).evalf(6)
    39.1439
    """
    P, Y = _pair(p, y)
    _check_unit_interval(P, "probabilities")
    _check_unit_interval(Y, "targets")
    return -sympy.Add(*[_binary_log_likelihood(q, t) for q, t in zip(P, Y)])


def nll(p: VectorLike, label: Label) -> sympy.Basic:
    r"""Negative log-likelihood ``-log p_y`` of the class ``label`` (zero-based).

    >>> nll([0.1, 0.7, 0.2], 1)
    -log(7/10)
    """
    P = as_vector(p, what="probabilities")
    _check_unit_interval(P, "probabilities")
    return -sympy.log(P[_label(label, P.rows)])


def _one_hot(label, n: int) -> sympy.Matrix:
    y = _label(label, n)
    return sympy.Matrix([1 if j == y else 0 for j in range(n)])


def cross_entropy(p: VectorLike, label: Union[Label, VectorLike]) -> sympy.Basic:
    r"""Cross-entropy over a one-hot target ``z`` (§6 of the course):

    ``L = -Σ_j [z_j log p_j + (1 - z_j) log(1 - p_j)]``, so
    ``L = -log p_y - Σ_{j≠y} log(1 - p_j)``. ``label`` is the zero-based class
    or a target vector ``z`` of the same length as ``p``.

    >>> import sympy
    >>> cross_entropy(sympy.symbols("p_0 p_1 p_2"), 1)
    -log(p_1) - log(1 - p_0) - log(1 - p_2)
    """
    P = as_vector(p, what="probabilities")
    _check_unit_interval(P, "probabilities")
    if _is_array_like(label):
        Z = as_vector(label, what="target")
        if Z.rows != P.rows:
            raise ShapeError(f"the probabilities have {P.rows} entries but the target has {Z.rows}")
        _check_unit_interval(Z, "targets")
    else:
        Z = _one_hot(label, P.rows)
    return -sympy.Add(*[_binary_log_likelihood(q, z) for q, z in zip(P, Z)])


def softmax_cross_entropy(s: VectorLike, label: Label) -> sympy.Basic:
    r"""The softmax classifier's loss ``-log(e^{s_y} / Σ_j e^{s_j})`` from scores ``s``.

    Written stably as ``logsumexp(s) - s_y`` (the same number), which never
    overflows: the loss of scores (1000, 0) with label 1 is 1000.

    >>> import sympy
    >>> s = sympy.symbols("s_0 s_1 s_2")
    >>> softmax_cross_entropy(s, 0)
    -s_0 + logsumexp(s_0, s_1, s_2)
    >>> softmax_cross_entropy([1000, 0], 1).evalf(6)
    1000.00
    """
    S_ = as_vector(s, what="scores")
    y = _label(label, S_.rows)
    return logsumexp(*S_) - S_[y]


def _check_sign_label(y: sympy.Basic) -> None:
    if y.is_number and y not in (S.One, S.NegativeOne):
        raise InputError(f"the binary hinge loss needs labels y = +1 or -1, got {y}")


def hinge(s: Values, y: Values) -> sympy.Basic:
    r"""Binary hinge loss ``max(0, 1 - y s)`` with ``y = ±1`` (summed over a vector).

    >>> hinge(0.5, 1), hinge(2, 1), hinge(2, -1)
    (1/2, 0, 3)
    """
    S_, Y = _pair(s, y)
    for t in Y:
        _check_sign_label(t)
    return sympy.Add(*[sympy.Max(0, 1 - t * v) for v, t in zip(S_, Y)])


def multiclass_hinge(s: VectorLike, label: Label, margin: ExprLike = 1) -> sympy.Basic:
    r"""Multiclass hinge (SVM) loss ``Σ_{j≠y} max(0, s_j - s_y + 1)``; ``label`` zero-based.

    >>> multiclass_hinge([3.2, 5.1, -1.7], 0), multiclass_hinge([1.3, 4.9, 2.0], 1)
    (29/10, 0)
    """
    S_ = as_vector(s, what="scores")
    y = _label(label, S_.rows)
    delta = as_expr(margin, what="margin")
    return sympy.Add(*[sympy.Max(0, S_[j] - S_[y] + delta) for j in range(S_.rows) if j != y])


def total_loss(losses: Values, reg: ExprLike | None = None, lam: ExprLike = "lambda") -> sympy.Basic:
    r"""The training objective ``L = 1/N Σ_i L_i + λ R(W)``.

    ``losses`` are the per-example losses ``L_i``; ``reg`` the regulariser
    ``R(W)`` (e.g. :func:`~derivkit.nn.regularizers.l2_penalty`), left out when
    ``None``; ``lam`` the strength ``λ`` (a number or a symbol name).

    >>> import sympy
    >>> total_loss([2.9, 0, 12.9])
    79/15
    >>> w = sympy.Symbol("w")
    >>> total_loss([1, 3], reg=w**2, lam=0.5)
    w**2/2 + 2
    """
    if _is_array_like(losses):
        items = list(as_matrix(losses, what="losses"))
    else:
        items = [as_expr(losses, what="loss")]
    if not items:
        raise InputError("total_loss needs at least one per-example loss")
    out = sympy.Add(*items) / len(items)
    if reg is not None:
        if isinstance(lam, str) and lam.strip().isidentifier():
            lam_ = sympy.Symbol(lam.strip())
        else:
            lam_ = as_expr(lam, what="regularisation strength")
        out = out + lam_ * as_expr(reg, what="regulariser")
    return out


# ---------------------------------------------------------------------------
# gradients in the form the course writes them
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class LossGradient(Renderable):
    """The gradient of a loss with respect to its scores or probabilities.

    ``result`` is a column Matrix (entry ``j`` is ``dL/d wrt[j]``) in the form the
    course writes it; it equals ``sympy.diff`` of ``loss`` (indicators are
    written with :class:`~derivkit.functions.step`, which is 1 at the kink).
    ``formula`` is the textbook statement; ``notes`` the non-differentiable
    points and conventions.
    """

    name: str
    loss: sympy.Basic
    wrt: tuple[sympy.Symbol, ...]
    result: sympy.ImmutableMatrix
    formula: str
    notes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return brief_repr(self, name=self.name, wrt=self.wrt, result=self.result)

    def at(self, **values) -> sympy.Matrix:
        """The gradient at a point, e.g. ``g.at(p_0=0.1, p_1=0.7, p_2=0.2)``."""
        return substitute(sympy.Matrix(self.result), values, variables=self.loss.free_symbols | set(self.wrt))

    @property
    def derivation(self):
        """The step-by-step derivation of every entry (:func:`derivkit.gradient`)."""
        from derivkit.calculus.several import gradient

        return gradient(self.loss, list(self.wrt))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "loss": str(self.loss),
            "loss_latex": sympy.latex(self.loss),
            "wrt": [str(v) for v in self.wrt],
            "result": [str(v) for v in self.result],
            "result_latex": [sympy.latex(v) for v in self.result],
            "formula": self.formula,
            "notes": list(self.notes),
        }


def _symbol_vector(obj, prefix: str, what: str) -> tuple[sympy.Symbol, ...]:
    """Symbols for a vector given as a count (``3`` -> ``p_0, p_1, p_2``), names or Symbols."""
    if isinstance(obj, int) and not isinstance(obj, bool):
        if obj < 1:
            raise InputError(f"the number of {what} must be at least 1, got {obj}")
        return tuple(sympy.Symbol(f"{prefix}_{j}") for j in range(obj))
    if isinstance(obj, sympy.MatrixBase):
        obj = list(obj)
    syms = as_symbols(obj)
    return syms


def _indicators(expr: sympy.Basic) -> sympy.Basic:
    """Write SymPy's Heaviside indicators as the course's ``step`` (``1(z > 0)``)."""
    return expr.replace(sympy.Heaviside, lambda z, *rest: step(z))


def squared_error_gradient(s: ExprLike = "s", y: ExprLike = "y") -> LossGradient:
    """``L = (y - s)^2`` has ``dL/ds = -2(y - s)``.

    >>> g = squared_error_gradient()
    >>> g.result[0], g.at(s=3, y=5)[0]
    (-2*(-s + y), -4)
    """
    s_, y_ = (sympy.Symbol(v) if isinstance(v, str) else as_expr(v) for v in (s, y))
    if not isinstance(s_, sympy.Symbol):
        raise InputError(f"the score must be a symbol to differentiate by, not {s_}")
    loss = (y_ - s_) ** 2
    teaching = sympy.Mul(-2, y_ - s_, evaluate=False)
    return LossGradient("squared error", loss, (s_,), sympy.ImmutableMatrix([teaching]), "dL/ds = -2(y - s)")


def _vector_gradient(name: str, loss_of, vec, prefix: str, formula: str, notes: tuple[str, ...] = ()) -> LossGradient:
    """Differentiate ``loss_of(symbols)`` by each symbol of a vector; indicators as ``step``."""
    V = _symbol_vector(vec, prefix, "classes")
    loss = loss_of(V)
    grad = sympy.ImmutableMatrix([_indicators(sympy.diff(loss, v)) for v in V])
    return LossGradient(name, loss, V, grad, formula, notes)


def nll_gradient(p: SymbolsLike = 3, label: Label = 0) -> LossGradient:
    """``L = -log p_y``: ``dL/dp`` is ``-1/p_y`` at row ``y`` and 0 elsewhere.

    ``p`` is the number of classes or the probability symbols.

    >>> nll_gradient(3, 1).result.T
    Matrix([[0, -1/p_1, 0]])
    """
    return _vector_gradient("negative log-likelihood", lambda P: nll(P, label), p, "p",
                            "dL/dp_y = -1/p_y, dL/dp_j = 0 for j != y")


def cross_entropy_gradient(p: SymbolsLike = 3, label: Label = 0) -> LossGradient:
    """One-hot cross-entropy: ``dL/dp_y = -1/p_y`` and ``dL/dp_j = 1/(1 - p_j)`` for ``j ≠ y``.

    >>> cross_entropy_gradient(3, 1).result.T
    Matrix([[1/(1 - p_0), -1/p_1, 1/(1 - p_2)]])
    """
    return _vector_gradient("cross-entropy", lambda P: cross_entropy(P, label), p, "p",
                            "dL/dp_y = -1/p_y, dL/dp_j = 1/(1 - p_j) for j != y")


def softmax_cross_entropy_gradient(s: SymbolsLike = 3, label: Label = 0) -> LossGradient:
    """Softmax + NLL: ``dL/ds_j = p_j - 1(j = y)`` with ``p = softmax(s)``.

    >>> softmax_cross_entropy_gradient(2, 0).result.T
    Matrix([[softmax(s_0, s_1)[0] - 1, softmax(s_0, s_1)[1]]])
    """
    return _vector_gradient("softmax cross-entropy", lambda S_: softmax_cross_entropy(S_, label), s, "s",
                            "dL/ds_j = p_j - 1(j = y), p = softmax(s)")


def hinge_gradient(s: ExprLike = "s", y: ExprLike = "y") -> LossGradient:
    """Binary hinge ``max(0, 1 - y s)``: ``dL/ds = -y`` where ``1 - y s > 0``, else 0.

    >>> g = hinge_gradient()
    >>> g.result[0]
    -y*step(-s*y + 1)
    >>> g.at(s=0.5, y=1)[0], g.at(s=2, y=1)[0]
    (-1, 0)
    """
    s_, y_ = (sympy.Symbol(v) if isinstance(v, str) else as_expr(v) for v in (s, y))
    if not isinstance(s_, sympy.Symbol):
        raise InputError(f"the score must be a symbol to differentiate by, not {s_}")
    loss = hinge(s_, y_)
    grad = sympy.ImmutableMatrix([_indicators(sympy.diff(loss, s_))])
    notes = ("The hinge has a kink at 1 - y s = 0, where it has no derivative; "
             "step(0) = 1 picks the subgradient -y there.",)
    return LossGradient("hinge", loss, (s_,), grad, "dL/ds = -y 1(1 - y s > 0)", notes)


def multiclass_hinge_gradient(s: SymbolsLike = 3, label: Label = 0, margin: ExprLike = 1) -> LossGradient:
    """Multiclass hinge: ``dL/ds_j = 1(s_j - s_y + 1 > 0)`` for ``j ≠ y`` and
    ``dL/ds_y = -Σ_{j≠y} 1(s_j - s_y + 1 > 0)``, indicators written with ``step``.

    >>> multiclass_hinge_gradient(2, 0).result.T
    Matrix([[-step(-s_0 + s_1 + 1), step(-s_0 + s_1 + 1)]])
    """
    notes = ("Each term max(0, s_j - s_y + 1) has a kink where s_j - s_y + 1 = 0; "
             "there step(0) = 1 picks one subgradient.",)
    return _vector_gradient(
        "multiclass hinge", lambda S_: multiclass_hinge(S_, label, margin), s, "s",
        "dL/ds_j = 1(s_j - s_y + 1 > 0) for j != y, dL/ds_y = -sum_{j != y} 1(s_j - s_y + 1 > 0)", notes)
