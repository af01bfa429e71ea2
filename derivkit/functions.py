"""The activation functions of the course as SymPy functions.

Each class is an ordinary :class:`sympy.Function`: it differentiates with
``sympy.diff`` in the form a teacher writes (``sigmoid' = sigmoid (1 - sigmoid)``),
evaluates exactly where it can, evaluates numerically without overflow, and
prints to stable NumPy code through ``lambdify``.

>>> import sympy
>>> x = sympy.Symbol("x")
>>> sympy.diff(sigmoid(x), x)
(1 - sigmoid(x))*sigmoid(x)
>>> sigmoid(0), relu(-3), relu(2), step(1, 2), step(2, 2)
(1/2, 0, 2, 0, 1)
>>> sigmoid(1000).evalf(5)
1.0000
>>> f = sympy.lambdify(x, sigmoid(x))
>>> float(f(-1000.0)), float(f(0.0))
(0.0, 0.5)
>>> g = sympy.lambdify(x, sigmoid(x), "math")   # plain floats: no overflow either
>>> g(-1000.0), g(1000.0)
(0.0, 1.0)
"""

from __future__ import annotations

import sympy
from sympy import S

__all__ = ["sigmoid", "softplus", "relu", "step", "leaky_relu", "identity", "ACTIVATIONS"]


def _np(printer, name: str) -> str:
    return printer._module_format(f"numpy.{name}")


def _mod(printer, module: str, name: str) -> str:
    return printer._module_format(f"{module}.{name}")


def _evalf_by(formula, x, prec):
    """``formula(x)`` in arbitrary precision (mpmath has no overflow), or None when ``x`` is not a number."""
    x = x._eval_evalf(prec)
    if x is None or not x.is_number:
        return None
    return formula(x)._eval_evalf(prec)


def _positive_if_real(x):
    """True for a real finite argument (sigmoid and softplus are positive there), else unknown."""
    return True if x.is_extended_real and x.is_finite else None


class sigmoid(sympy.Function):
    r"""The logistic sigmoid :math:`\sigma(x) = 1/(1 + e^{-x})`."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return S.Half
        if x is S.Infinity:
            return S.One
        if x is S.NegativeInfinity:
            return S.Zero
        return None

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sympy.exp(-x))

    _eval_rewrite_as_tractable = _eval_rewrite_as_exp

    def _eval_evalf(self, prec):
        # mpmath has no overflow, so the textbook formula is safe at any |x|.
        return _evalf_by(lambda v: 1 / (1 + sympy.exp(-v)), self.args[0], prec)

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_is_positive(self):
        return _positive_if_real(self.args[0])

    def _latex(self, printer, exp=None):
        base = r"\sigma\left(%s\right)" % printer._print(self.args[0])
        return base if exp is None else r"\sigma^{%s}\left(%s\right)" % (exp, printer._print(self.args[0]))

    def _numpycode(self, printer):
        # exp(-log(1 + e^-x)) never overflows: logaddexp is stable at both ends.
        x = printer._print(self.args[0])
        return f"{_np(printer, 'exp')}(-{_np(printer, 'logaddexp')}(0, -({x})))"

    def _pythoncode(self, printer):
        # Plain floats (lambdify with "math"): exp of a non-positive number only, never overflows.
        x = printer._print(self.args[0])
        exp = _mod(printer, "math", "exp")
        return f"(1/(1 + {exp}(-({x}))) if ({x}) >= 0 else {exp}({x})/(1 + {exp}({x})))"

    def _mpmathcode(self, printer):
        x = printer._print(self.args[0])
        return f"1/(1 + {_mod(printer, 'mpmath', 'exp')}(-({x})))"


class softplus(sympy.Function):
    r"""The softplus :math:`\ln(1 + e^{x})`, a smooth ReLU whose derivative is the sigmoid.

    >>> x = sympy.Symbol("x")
    >>> sympy.diff(softplus(x), x), softplus(0)
    (sigmoid(x), log(2))
    >>> softplus(x).rewrite(sympy.log)
    log(exp(x) + 1)
    """

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sympy.log(2)
        return None

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sympy.log(1 + sympy.exp(x))

    _eval_rewrite_as_exp = _eval_rewrite_as_tractable = _eval_rewrite_as_log

    def _eval_evalf(self, prec):
        return _evalf_by(lambda v: sympy.log(1 + sympy.exp(v)), self.args[0], prec)

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_is_positive(self):
        return _positive_if_real(self.args[0])

    def _latex(self, printer, exp=None):
        base = r"\operatorname{softplus}\left(%s\right)" % printer._print(self.args[0])
        return base if exp is None else r"\operatorname{softplus}^{%s}\left(%s\right)" % (
            exp, printer._print(self.args[0]))

    def _numpycode(self, printer):
        # logaddexp(0, x) = ln(e^0 + e^x), stable at both ends
        return f"{_np(printer, 'logaddexp')}(0, {printer._print(self.args[0])})"

    def _pythoncode(self, printer):
        x = printer._print(self.args[0])
        log1p, exp = _mod(printer, "math", "log1p"), _mod(printer, "math", "exp")
        return f"(({x}) + {log1p}({exp}(-({x}))) if ({x}) >= 0 else {log1p}({exp}({x})))"

    def _mpmathcode(self, printer):
        x = printer._print(self.args[0])
        return f"{_mod(printer, 'mpmath', 'log')}(1 + {_mod(printer, 'mpmath', 'exp')}({x}))"


class step(sympy.Function):
    r"""The step (threshold) activation: ``0`` if ``x < t`` else ``1``; ``t`` defaults to 0.

    Its derivative is 0 wherever it exists (everywhere but ``x = t``), which is
    why gradient descent cannot train a network of step units.
    """

    nargs = (1, 2)

    @classmethod
    def eval(cls, x, t=None):
        t = S.Zero if t is None else t
        d = x - t
        if d.is_extended_nonnegative:
            return S.One
        if d.is_extended_negative:
            return S.Zero
        return None

    @property
    def threshold(self):
        return self.args[1] if len(self.args) > 1 else S.Zero

    def fdiff(self, argindex=1):
        return S.Zero

    def _eval_rewrite_as_Piecewise(self, x, t=S.Zero, **kwargs):
        return sympy.Piecewise((S.Zero, x < t), (S.One, True))

    def _eval_is_extended_real(self):
        return True

    def _eval_is_nonnegative(self):
        return True

    def _latex(self, printer, exp=None):
        args = printer._print(self.args[0])
        if len(self.args) > 1:
            args += ", " + printer._print(self.args[1])
        base = r"\operatorname{step}\left(%s\right)" % args
        return base if exp is None else r"\operatorname{step}^{%s}\left(%s\right)" % (exp, args)

    def _numpycode(self, printer):
        x = printer._print(self.args[0])
        t = printer._print(self.threshold)
        return f"{_np(printer, 'where')}(({x}) >= ({t}), 1.0, 0.0)"

    def _pythoncode(self, printer):
        x = printer._print(self.args[0])
        t = printer._print(self.threshold)
        return f"(1.0 if ({x}) >= ({t}) else 0.0)"

    _mpmathcode = _pythoncode


class relu(sympy.Function):
    r"""The rectified linear unit ``max(0, x)``; not differentiable at ``x = 0``.

    Its derivative is written ``step(x)`` (1 for x > 0, 0 for x < 0); the value
    1 at ``x = 0`` is a convention, stated wherever a derivation uses it.
    """

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_extended_nonnegative:
            return x
        if x.is_extended_nonpositive:
            return S.Zero
        return None

    def fdiff(self, argindex=1):
        return step(self.args[0])

    def _eval_rewrite_as_Max(self, x, **kwargs):
        return sympy.Max(0, x)

    def _eval_rewrite_as_Piecewise(self, x, **kwargs):
        return sympy.Piecewise((S.Zero, x < 0), (x, True))

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_is_nonnegative(self):
        if self.args[0].is_extended_real:
            return True
        return None

    def _latex(self, printer, exp=None):
        base = r"\operatorname{ReLU}\left(%s\right)" % printer._print(self.args[0])
        return base if exp is None else r"\operatorname{ReLU}^{%s}\left(%s\right)" % (exp, printer._print(self.args[0]))

    def _numpycode(self, printer):
        x = printer._print(self.args[0])
        return f"{_np(printer, 'maximum')}(0, {x})"

    def _pythoncode(self, printer):
        x = printer._print(self.args[0])
        return f"(({x}) if ({x}) >= 0 else 0.0)"

    _mpmathcode = _pythoncode


class leaky_relu(sympy.Function):
    r"""Leaky ReLU: ``x`` for ``x >= 0`` and ``a x`` below; ``a`` defaults to 1/100."""

    nargs = (1, 2)
    default_slope = sympy.Rational(1, 100)

    @classmethod
    def eval(cls, x, a=None):
        a = cls.default_slope if a is None else a
        if x.is_extended_nonnegative:
            return x
        if x.is_extended_negative:
            return a * x
        return None

    @property
    def slope(self):
        return self.args[1] if len(self.args) > 1 else self.default_slope

    def fdiff(self, argindex=1):
        x, a = self.args[0], self.slope
        if argindex == 1:
            return a + (1 - a) * step(x)
        return x * (1 - step(x))

    def _eval_rewrite_as_Piecewise(self, x, a=None, **kwargs):
        a = self.default_slope if a is None else a
        return sympy.Piecewise((a * x, x < 0), (x, True))

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _latex(self, printer, exp=None):
        args = printer._print(self.args[0])
        if len(self.args) > 1:
            args += ", " + printer._print(self.args[1])
        return r"\operatorname{LeakyReLU}\left(%s\right)" % args

    def _numpycode(self, printer):
        x = printer._print(self.args[0])
        a = printer._print(self.slope)
        return f"{_np(printer, 'where')}(({x}) >= 0, {x}, ({a})*({x}))"

    def _pythoncode(self, printer):
        x = printer._print(self.args[0])
        a = printer._print(self.slope)
        return f"(({x}) if ({x}) >= 0 else ({a})*({x}))"

    _mpmathcode = _pythoncode


class identity(sympy.Function):
    """The identity activation: ``identity(x)`` is ``x`` itself."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        return x


#: The scalar activations by the names the course (and the CLI) uses.
ACTIVATIONS = {
    "sigmoid": sigmoid,
    "tanh": sympy.tanh,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "step": step,
    "identity": identity,
}
