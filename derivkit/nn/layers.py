"""Neurons, layers and linear scores with the course's names.

* a neuron ``y = f(b1 x1 + b2 x2 + b0)``: weights ``b1, b2, ...``, bias ``b0``;
* a layer of ``m`` units ``y_j = f(Σ_k w_jk x_k + b_j)`` (``j, k`` from 1);
* linear scores ``s = W x + b`` with ``ds/db = I``, ``ds_j/dw_j = x`` and
  ``ds/dx = W^T`` (denominator layout: entry ``(k, j)`` is ``ds_j/dx_k``).

>>> neuron(2, "sigmoid")
sigmoid(b0 + b1*x1 + b2*x2)
>>> decision_boundary(neuron(2, "step"))
Eq(b0 + b1*x1 + b2*x2, 0)
>>> layer(2, 2, "relu")
Matrix([
[relu(b_1 + w_11*x1 + w_12*x2)],
[relu(b_2 + w_21*x1 + w_22*x2)]])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence, Union

import sympy
from sympy import S

from derivkit.errors import InputError, ShapeError
from derivkit.functions import step
from derivkit.inputs import as_matrix, as_symbols
from derivkit.nn.activations import ActivationLike, VectorLike, as_activation, as_vector
from derivkit.renderable import Renderable, brief_repr

__all__ = ["neuron", "layer", "decision_boundary", "layer_symbols", "linear_scores", "LinearScores", "DENOMINATOR_LAYOUT"]

#: Inputs: a count (``2`` -> ``x1, x2``), names (``"x1, x2"``) or Symbols.
InputsLike = Union[int, str, Sequence[Any], sympy.MatrixBase]

#: The layout the course uses for ``ds/dx``, stated wherever it is shown.
DENOMINATOR_LAYOUT = "denominator layout: entry (k, j) is ds_j/dx_k, so ds/dx = W^T (n x d)"


def _inputs(inputs: InputsLike) -> tuple[sympy.Symbol, ...]:
    """Input symbols from a count (``2`` -> ``x1, x2``), names (``"x1,x2"``) or Symbols."""
    if isinstance(inputs, bool):
        raise InputError(f"inputs must be a count, names or symbols, not {inputs!r}")
    if isinstance(inputs, int):
        if inputs < 1:
            raise InputError(f"a neuron needs at least one input, got {inputs}")
        return tuple(sympy.Symbol(f"x{k}") for k in range(1, inputs + 1))
    if isinstance(inputs, sympy.MatrixBase):
        inputs = list(inputs)
    return as_symbols(inputs)


def _index_name(prefix: str, *idx: int) -> str:
    joined = "".join(str(i) for i in idx) if all(i < 10 for i in idx) else "_".join(str(i) for i in idx)
    return f"{prefix}_{joined}"


def neuron(inputs: InputsLike = 2, activation: ActivationLike = "sigmoid", *, weight: str = "b") -> sympy.Basic:
    """A single neuron ``f(b1 x1 + ... + bn xn + b0)`` with the course's weight names.

    ``inputs`` is a count (``x1 .. xn``), names or Symbols; ``activation`` a name
    of :data:`~derivkit.nn.activations.ACTIVATIONS`, a SymPy function class, or
    any one-argument function (``lambda z: step(z, 2)`` for a threshold of 2).

    >>> neuron(["h", "w"], "tanh")
    tanh(b0 + b1*h + b2*w)
    """
    xs = _inputs(inputs)
    f = as_activation(activation)
    z = sympy.Symbol(f"{weight}0") + sympy.Add(*[sympy.Symbol(f"{weight}{k}") * x for k, x in enumerate(xs, 1)])
    return f(z)


def decision_boundary(expr: sympy.Basic) -> sympy.Eq:
    """The decision boundary of a neuron: its weighted sum equals the activation's threshold.

    For ``sigmoid``, ``tanh``, ``relu``, ``step`` (threshold 0) and ``identity``
    that is ``b1 x1 + b2 x2 + b0 = 0``; for ``step(z, t)`` it is ``z = t``.

    >>> from derivkit.functions import step
    >>> decision_boundary(neuron(2, lambda z: step(z, 2)))
    Eq(b0 + b1*x1 + b2*x2, 2)
    """
    if isinstance(expr, step):
        return sympy.Eq(expr.args[0], expr.threshold)
    if isinstance(expr, sympy.Function) and len(expr.args) >= 1 and not isinstance(expr, sympy.Piecewise):
        return sympy.Eq(expr.args[0], S.Zero)
    return sympy.Eq(expr, S.Zero)


def layer_symbols(units: int, inputs: InputsLike = 2) -> tuple[sympy.Matrix, sympy.Matrix, sympy.Matrix]:
    """Symbolic ``(W, x, b)`` of a layer: ``W`` is ``units x n`` with entries ``w_jk``.

    >>> W, x, b = layer_symbols(2, 3)
    >>> W.shape, list(x), list(b)
    ((2, 3), [x1, x2, x3], [b_1, b_2])
    """
    if isinstance(units, bool) or not isinstance(units, int) or units < 1:
        raise InputError(f"a layer needs a whole number of units of at least 1, got {units!r}")
    xs = _inputs(inputs)
    W = sympy.Matrix(units, len(xs), lambda j, k: sympy.Symbol(_index_name("w", j + 1, k + 1)))
    b = sympy.Matrix([sympy.Symbol(_index_name("b", j + 1)) for j in range(units)])
    return W, sympy.Matrix(xs), b


def layer(inputs: InputsLike = 2, units: int = 2, activation: ActivationLike = "sigmoid") -> sympy.Matrix:
    """A layer of ``units`` neurons: ``y_j = f(Σ_k w_jk x_k + b_j)`` as a column Matrix.

    >>> layer(["x1"], 1, "identity")
    Matrix([[b_1 + w_11*x1]])
    """
    W, x, b = layer_symbols(units, inputs)
    f = as_activation(activation)
    return (W * x + b).applyfunc(f)


@dataclass(frozen=True)
class LinearScores(Renderable):
    """The linear scores ``s = W x + b`` and their derivatives (course §5).

    ``ds_db`` is ``ds/db = I``; ``ds_dw[j]`` is ``ds_j/dw_j = x`` (``w_j`` is row
    ``j`` of ``W``, as a column); ``ds_dx`` is ``ds/dx = W^T`` in the denominator
    layout (entry ``(k, j)`` is ``ds_j/dx_k``). Each is found by differentiating
    ``W x + b`` entry by entry, so it holds for symbolic and numeric ``W, x, b``.
    """

    W: sympy.ImmutableMatrix
    x: sympy.ImmutableMatrix
    b: sympy.ImmutableMatrix
    s: sympy.ImmutableMatrix
    ds_db: sympy.ImmutableMatrix
    ds_dx: sympy.ImmutableMatrix
    ds_dw: tuple[sympy.ImmutableMatrix, ...]
    layout: str = DENOMINATOR_LAYOUT

    def __repr__(self) -> str:
        return brief_repr(self, s=self.s, ds_db=self.ds_db, ds_dx=self.ds_dx)

    def to_dict(self) -> dict[str, Any]:
        def m(M):
            return [[str(v) for v in M.row(i)] for i in range(M.rows)]

        return {
            "W": m(self.W), "x": m(self.x), "b": m(self.b), "s": m(self.s),
            "ds_db": m(self.ds_db), "ds_dx": m(self.ds_dx),
            "ds_dw": [m(g) for g in self.ds_dw], "layout": self.layout,
        }


def _placeholders(prefix: str, rows: int, cols: int) -> sympy.Matrix:
    return sympy.Matrix(rows, cols, lambda i, j: sympy.Dummy(f"{prefix}{i}{j}"))


def linear_scores(W: VectorLike, x: VectorLike, b: VectorLike) -> LinearScores:
    """The scores ``s = W x + b`` (``W`` is ``d x n``, ``x`` has ``n`` entries, ``b`` has ``d``).

    >>> r = linear_scores([[0.2, -0.5, 0.1, 2.0], [1.5, 1.3, 2.1, 0.0], [0, 0.25, 0.2, -0.3]],
    ...                   [56, 231, 24, 2], [1.1, 3.2, -1.2])
    >>> [float(v) for v in r.s]
    [-96.8, 437.9, 60.75]
    >>> r.ds_dx == r.W.T, r.ds_db == sympy.eye(3), r.ds_dw[1] == r.x
    (True, True, True)
    """
    W_ = as_matrix(W, what="weight matrix W")
    x_ = as_vector(x, what="input x")
    b_ = as_vector(b, what="bias b")
    d, n = W_.shape
    if x_.rows != n:
        raise ShapeError(f"W is {d}x{n}, so x needs {n} entries, but it has {x_.rows}")
    if b_.rows != d:
        raise ShapeError(f"W is {d}x{n}, so b needs {d} entries (one per score), but it has {b_.rows}")
    s = W_ * x_ + b_
    # Differentiate W x + b with placeholders in place of the values, then put the values back.
    Wp, xp, bp = _placeholders("W", d, n), _placeholders("x", n, 1), _placeholders("b", d, 1)
    sp = Wp * xp + bp
    back = {**dict(zip(Wp, W_)), **dict(zip(xp, x_)), **dict(zip(bp, b_))}
    ds_db = sp.jacobian(bp).xreplace(back)
    ds_dx = sp.jacobian(xp).T.xreplace(back)  # denominator layout
    ds_dw = tuple(
        sympy.ImmutableMatrix([sympy.diff(sp[j], Wp[j, k]) for k in range(n)]).xreplace(back) for j in range(d))
    return LinearScores(
        sympy.ImmutableMatrix(W_), sympy.ImmutableMatrix(x_), sympy.ImmutableMatrix(b_), sympy.ImmutableMatrix(s),
        sympy.ImmutableMatrix(ds_db), sympy.ImmutableMatrix(ds_dx), ds_dw)
