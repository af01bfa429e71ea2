"""The rule table: every derivative derivkit states comes from here.

Each :class:`Rule` records a rule's id (the ids of API.md), its textbook name,
its family (one docs page per family), a one-line statement in text and LaTeX,
and, for function rules, the SymPy function class and its derivative in the
form a teacher writes. Domain conditions and non-differentiable points are part
of the rule, as text (``domain``, ``nondifferentiable``) and as conditions on
the argument (``condition``, ``kink``) that the step engine states for the
argument it meets.

Three parts of derivkit read this table and nothing else: the step engine
(:mod:`derivkit.calculus.steps`), matrix backpropagation and the checker.

>>> import sympy
>>> from derivkit.functions import sigmoid
>>> u = sympy.Symbol("u")
>>> RULES["asin"].text
'd/dx asin(x) = 1/sqrt(1 - x^2)'
>>> RULES["acosh"].domain
'x > 1'
>>> rule_for(sympy.sin(u)).id, rule_for(sigmoid).id
('sin', 'sigmoid')
>>> local_derivative(sigmoid, (u,))
(1 - sigmoid(u))*sigmoid(u)
>>> local_derivative(sympy.tanh, (u,))
1 - tanh(u)**2
>>> RULES["step"].nondifferentiable
'x = t'
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Mapping

import sympy
from sympy import Abs, Eq, S, sqrt

from derivkit.functions import leaky_relu, relu, sigmoid, softplus, step
from derivkit.renderable import brief_repr

__all__ = ["Rule", "RULES", "FAMILIES", "rule_for", "local_derivative", "function_rules"]

#: Families in the order of the docs pages.
FAMILIES = (
    "basic",
    "exponential",
    "logarithmic",
    "trigonometric",
    "inverse_trigonometric",
    "hyperbolic",
    "inverse_hyperbolic",
    "activation",
    "non_smooth",
    "fallback",
)


@dataclass(frozen=True)
class Rule:
    """One rule of the table.

    ``derivative`` gives ``f'`` at the function's arguments (for structural
    rules with a formula, at their operands: ``power`` takes ``(u, n)``,
    ``exponential`` ``(a, u)``, ``log_base`` ``(u, b)``). ``condition`` gives
    the domain condition for an argument (``lambda u: u > 0``) and ``kink`` the
    condition naming the non-differentiable points (``lambda u: Eq(u, 0)``).
    """

    id: str
    name: str
    family: str
    text: str
    latex: str
    function: type[Any] | None = None
    derivative: Callable[..., sympy.Basic] | None = None
    domain: str | None = None
    nondifferentiable: str | None = None
    condition: Callable[..., sympy.Basic] | None = None
    kink: Callable[..., sympy.Basic] | None = None

    def __repr__(self) -> str:
        return brief_repr(self, id=self.id, name=self.name, text=self.text)

    def d(self, *args: Any) -> sympy.Basic:
        """``derivative(*args)``, for a rule that has a formula.

        >>> import sympy
        >>> RULES["power"].d(sympy.Symbol("u"), 3)
        3*u**2
        """
        if self.derivative is None:
            raise TypeError(f"the {self.name} has no formula to apply")
        return self.derivative(*args)

    def to_dict(self) -> dict:
        """The rule as JSON-serialisable data (no callables)."""
        return {
            "id": self.id,
            "name": self.name,
            "family": self.family,
            "text": self.text,
            "latex": self.latex,
            "function": self.function.__name__ if self.function is not None else None,
            "domain": self.domain,
            "nondifferentiable": self.nondifferentiable,
        }


def _R(*args, **kwargs) -> Rule:
    return Rule(*args, **kwargs)


_TABLE: tuple[Rule, ...] = (
    # ---- basic (structural) rules
    _R("constant", "constant rule", "basic", "d/dx c = 0", r"\frac{d}{dx} c = 0"),
    _R("variable", "variable rule", "basic", "d/dx x = 1", r"\frac{d}{dx} x = 1"),
    _R("constant_multiple", "constant multiple rule", "basic", "d/dx [c f] = c f'",
       r"\frac{d}{dx}\left[c f\right] = c f'"),
    _R("sum", "sum rule", "basic", "d/dx [f + g] = f' + g'", r"\frac{d}{dx}\left[f + g\right] = f' + g'"),
    _R("difference", "difference rule", "basic", "d/dx [f - g] = f' - g'",
       r"\frac{d}{dx}\left[f - g\right] = f' - g'"),
    _R("product", "product rule", "basic", "(f g)' = f g' + g f'", r"\left(f g\right)' = f g' + g f'"),
    _R("quotient", "quotient rule", "basic", "(f/g)' = (g f' - f g')/g^2",
       r"\left(\frac{f}{g}\right)' = \frac{g f' - f g'}{g^2}"),
    _R("power", "power rule", "basic", "d/dx x^n = n x^(n-1)", r"\frac{d}{dx} x^n = n x^{n-1}",
       derivative=lambda u, n: n * u ** (n - 1)),
    _R("chain", "chain rule", "basic", "d/dx f(g(x)) = f'(g(x)) g'(x)",
       r"\frac{d}{dx} f(g(x)) = f'(g(x))\, g'(x)"),
    _R("sqrt", "square root rule", "basic", "d/dx sqrt(x) = 1/(2 sqrt(x))",
       r"\frac{d}{dx}\sqrt{x} = \frac{1}{2\sqrt{x}}",
       derivative=lambda u: 1 / (2 * sqrt(u)), domain="x > 0", condition=lambda u: u > 0),
    _R("higher_order", "higher-order derivative", "basic", "f'' = (f')'",
       r"f'' = \left(f'\right)'"),
    _R("undefined_function", "derivative of an unknown function", "basic",
       "d/dx f(g(x)) = f'(g(x)) g'(x) for an unknown f",
       r"\frac{d}{dx} f(g(x)) = f'(g(x))\, g'(x)"),
    _R("rewrite", "rewrite", "basic", "replace an expression by an equal one",
       r"\text{replace an expression by an equal one}"),
    _R("simplify", "simplify", "basic", "tidy the result into an equal, simpler form",
       r"\text{tidy the result into an equal, simpler form}"),
    # ---- exponential
    _R("exp", "exponential rule", "exponential", "d/dx e^x = e^x", r"\frac{d}{dx} e^x = e^x",
       function=sympy.exp, derivative=lambda u: sympy.exp(u)),
    _R("exponential", "exponential rule for base a", "exponential", "d/dx a^x = a^x ln a",
       r"\frac{d}{dx} a^x = a^x \ln a", derivative=lambda a, u: a**u * sympy.log(a),
       domain="a > 0", condition=lambda a: a > 0),
    _R("general_power", "logarithmic differentiation", "exponential",
       "d/dx f^g = f^g (g' ln f + g f'/f)",
       r"\frac{d}{dx} f^g = f^g\left(g' \ln f + \frac{g f'}{f}\right)",
       domain="f > 0", condition=lambda f: f > 0),
    # ---- logarithmic
    _R("log", "natural logarithm rule", "logarithmic", "d/dx ln(x) = 1/x", r"\frac{d}{dx}\ln x = \frac{1}{x}",
       function=sympy.log, derivative=lambda u: 1 / u, domain="x > 0", condition=lambda u: u > 0),
    _R("log_base", "logarithm rule for base a", "logarithmic", "d/dx log_a(x) = 1/(x ln a)",
       r"\frac{d}{dx}\log_a x = \frac{1}{x \ln a}", derivative=lambda u, a: 1 / (u * sympy.log(a)),
       domain="x > 0", condition=lambda u: u > 0),
    # ---- trigonometric
    _R("sin", "sine rule", "trigonometric", "d/dx sin(x) = cos(x)", r"\frac{d}{dx}\sin x = \cos x",
       function=sympy.sin, derivative=lambda u: sympy.cos(u)),
    _R("cos", "cosine rule", "trigonometric", "d/dx cos(x) = -sin(x)", r"\frac{d}{dx}\cos x = -\sin x",
       function=sympy.cos, derivative=lambda u: -sympy.sin(u)),
    _R("tan", "tangent rule", "trigonometric", "d/dx tan(x) = sec(x)^2", r"\frac{d}{dx}\tan x = \sec^2 x",
       function=sympy.tan, derivative=lambda u: sympy.sec(u) ** 2),
    _R("csc", "cosecant rule", "trigonometric", "d/dx csc(x) = -csc(x) cot(x)",
       r"\frac{d}{dx}\csc x = -\csc x \cot x",
       function=sympy.csc, derivative=lambda u: -sympy.csc(u) * sympy.cot(u)),
    _R("sec", "secant rule", "trigonometric", "d/dx sec(x) = sec(x) tan(x)",
       r"\frac{d}{dx}\sec x = \sec x \tan x",
       function=sympy.sec, derivative=lambda u: sympy.sec(u) * sympy.tan(u)),
    _R("cot", "cotangent rule", "trigonometric", "d/dx cot(x) = -csc(x)^2", r"\frac{d}{dx}\cot x = -\csc^2 x",
       function=sympy.cot, derivative=lambda u: -sympy.csc(u) ** 2),
    # ---- inverse trigonometric
    _R("asin", "arcsine rule", "inverse_trigonometric", "d/dx asin(x) = 1/sqrt(1 - x^2)",
       r"\frac{d}{dx}\sin^{-1} x = \frac{1}{\sqrt{1 - x^2}}",
       function=sympy.asin, derivative=lambda u: 1 / sqrt(1 - u**2), domain="|x| < 1",
       condition=lambda u: Abs(u) < 1),
    _R("acos", "arccosine rule", "inverse_trigonometric", "d/dx acos(x) = -1/sqrt(1 - x^2)",
       r"\frac{d}{dx}\cos^{-1} x = -\frac{1}{\sqrt{1 - x^2}}",
       function=sympy.acos, derivative=lambda u: -1 / sqrt(1 - u**2), domain="|x| < 1",
       condition=lambda u: Abs(u) < 1),
    _R("atan", "arctangent rule", "inverse_trigonometric", "d/dx atan(x) = 1/(1 + x^2)",
       r"\frac{d}{dx}\tan^{-1} x = \frac{1}{1 + x^2}",
       function=sympy.atan, derivative=lambda u: 1 / (1 + u**2)),
    _R("acot", "arccotangent rule", "inverse_trigonometric", "d/dx acot(x) = -1/(1 + x^2)",
       r"\frac{d}{dx}\cot^{-1} x = -\frac{1}{1 + x^2}",
       function=sympy.acot, derivative=lambda u: -1 / (1 + u**2)),
    _R("asec", "arcsecant rule", "inverse_trigonometric",
       "d/dx asec(x) = 1/(|x| sqrt(x^2 - 1)) (1/(x sqrt(x^2 - 1)) for x > 1)",
       r"\frac{d}{dx}\sec^{-1} x = \frac{1}{|x|\sqrt{x^2 - 1}}",
       function=sympy.asec, derivative=lambda u: 1 / (Abs(u) * sqrt(u**2 - 1)), domain="|x| > 1",
       condition=lambda u: Abs(u) > 1),
    _R("acsc", "arccosecant rule", "inverse_trigonometric",
       "d/dx acsc(x) = -1/(|x| sqrt(x^2 - 1)) (-1/(x sqrt(x^2 - 1)) for x > 1)",
       r"\frac{d}{dx}\csc^{-1} x = -\frac{1}{|x|\sqrt{x^2 - 1}}",
       function=sympy.acsc, derivative=lambda u: -1 / (Abs(u) * sqrt(u**2 - 1)), domain="|x| > 1",
       condition=lambda u: Abs(u) > 1),
    # ---- hyperbolic
    _R("sinh", "hyperbolic sine rule", "hyperbolic", "d/dx sinh(x) = cosh(x)",
       r"\frac{d}{dx}\sinh x = \cosh x", function=sympy.sinh, derivative=lambda u: sympy.cosh(u)),
    _R("cosh", "hyperbolic cosine rule", "hyperbolic", "d/dx cosh(x) = sinh(x)",
       r"\frac{d}{dx}\cosh x = \sinh x", function=sympy.cosh, derivative=lambda u: sympy.sinh(u)),
    _R("tanh", "hyperbolic tangent rule", "hyperbolic", "d/dx tanh(x) = sech(x)^2 = 1 - tanh(x)^2",
       r"\frac{d}{dx}\tanh x = \operatorname{sech}^2 x = 1 - \tanh^2 x",
       function=sympy.tanh, derivative=lambda u: 1 - sympy.tanh(u) ** 2),
    _R("csch", "hyperbolic cosecant rule", "hyperbolic", "d/dx csch(x) = -csch(x) coth(x)",
       r"\frac{d}{dx}\operatorname{csch} x = -\operatorname{csch} x \coth x",
       function=sympy.csch, derivative=lambda u: -sympy.csch(u) * sympy.coth(u)),
    _R("sech", "hyperbolic secant rule", "hyperbolic", "d/dx sech(x) = -sech(x) tanh(x)",
       r"\frac{d}{dx}\operatorname{sech} x = -\operatorname{sech} x \tanh x",
       function=sympy.sech, derivative=lambda u: -sympy.sech(u) * sympy.tanh(u)),
    _R("coth", "hyperbolic cotangent rule", "hyperbolic", "d/dx coth(x) = -csch(x)^2",
       r"\frac{d}{dx}\coth x = -\operatorname{csch}^2 x",
       function=sympy.coth, derivative=lambda u: -sympy.csch(u) ** 2),
    # ---- inverse hyperbolic
    _R("asinh", "inverse hyperbolic sine rule", "inverse_hyperbolic", "d/dx asinh(x) = 1/sqrt(1 + x^2)",
       r"\frac{d}{dx}\sinh^{-1} x = \frac{1}{\sqrt{1 + x^2}}",
       function=sympy.asinh, derivative=lambda u: 1 / sqrt(1 + u**2)),
    _R("acosh", "inverse hyperbolic cosine rule", "inverse_hyperbolic", "d/dx acosh(x) = 1/sqrt(x^2 - 1)",
       r"\frac{d}{dx}\cosh^{-1} x = \frac{1}{\sqrt{x^2 - 1}}",
       function=sympy.acosh, derivative=lambda u: 1 / sqrt(u**2 - 1), domain="x > 1",
       condition=lambda u: u > 1),
    _R("atanh", "inverse hyperbolic tangent rule", "inverse_hyperbolic", "d/dx atanh(x) = 1/(1 - x^2)",
       r"\frac{d}{dx}\tanh^{-1} x = \frac{1}{1 - x^2}",
       function=sympy.atanh, derivative=lambda u: 1 / (1 - u**2), domain="|x| < 1",
       condition=lambda u: Abs(u) < 1),
    _R("acsch", "inverse hyperbolic cosecant rule", "inverse_hyperbolic",
       "d/dx acsch(x) = -1/(|x| sqrt(1 + x^2))",
       r"\frac{d}{dx}\operatorname{csch}^{-1} x = -\frac{1}{|x|\sqrt{1 + x^2}}",
       function=sympy.acsch, derivative=lambda u: -1 / (Abs(u) * sqrt(1 + u**2)), domain="x != 0",
       condition=lambda u: sympy.Ne(u, 0)),
    _R("asech", "inverse hyperbolic secant rule", "inverse_hyperbolic",
       "d/dx asech(x) = -1/(x sqrt(1 - x^2))",
       r"\frac{d}{dx}\operatorname{sech}^{-1} x = -\frac{1}{x\sqrt{1 - x^2}}",
       function=sympy.asech, derivative=lambda u: -1 / (u * sqrt(1 - u**2)), domain="0 < x < 1",
       condition=lambda u: sympy.And(u > 0, u < 1)),
    _R("acoth", "inverse hyperbolic cotangent rule", "inverse_hyperbolic", "d/dx acoth(x) = 1/(1 - x^2)",
       r"\frac{d}{dx}\coth^{-1} x = \frac{1}{1 - x^2}",
       function=sympy.acoth, derivative=lambda u: 1 / (1 - u**2), domain="|x| > 1",
       condition=lambda u: Abs(u) > 1),
    # ---- activations
    _R("sigmoid", "sigmoid rule", "activation", "d/dx sigmoid(x) = sigmoid(x) (1 - sigmoid(x))",
       r"\frac{d}{dx}\sigma(x) = \sigma(x)\left(1 - \sigma(x)\right)",
       function=sigmoid, derivative=lambda u: sigmoid(u) * (1 - sigmoid(u))),
    _R("softplus", "softplus rule", "activation", "d/dx softplus(x) = sigmoid(x), where softplus(x) = ln(1 + e^x)",
       r"\frac{d}{dx}\operatorname{softplus}(x) = \sigma(x)",
       function=softplus, derivative=lambda u: sigmoid(u)),
    _R("relu", "ReLU rule", "activation", "d/dx relu(x) = step(x): 1 for x > 0, 0 for x < 0",
       r"\frac{d}{dx}\operatorname{ReLU}(x) = \operatorname{step}(x) = "
       r"\begin{cases} 1 & x > 0 \\ 0 & x < 0 \end{cases}",
       function=relu, derivative=lambda u: step(u), nondifferentiable="x = 0", kink=lambda u: Eq(u, 0)),
    _R("leaky_relu", "leaky ReLU rule", "activation",
       "d/dx leaky_relu(x, a) = 1 for x > 0, a for x < 0",
       r"\frac{d}{dx}\operatorname{LeakyReLU}(x) = \begin{cases} 1 & x > 0 \\ a & x < 0 \end{cases}",
       function=leaky_relu,
       derivative=lambda u, a=leaky_relu.default_slope: a + (1 - a) * step(u),
       nondifferentiable="x = 0", kink=lambda u, a=None: Eq(u, 0)),
    _R("step", "step rule", "activation",
       "d/dx step(x, t) = 0 wherever it exists (x != t), so gradient descent cannot move weights behind it",
       r"\frac{d}{dx}\operatorname{step}(x) = 0 \quad (x \neq t)",
       function=step, derivative=lambda u, t=S.Zero: S.Zero, nondifferentiable="x = t",
       kink=lambda u, t=S.Zero: Eq(u, t)),
    # ---- non-smooth
    _R("abs", "absolute value rule", "non_smooth", "d/dx |x| = sign(x) = x/|x| (x != 0)",
       r"\frac{d}{dx}|x| = \operatorname{sign}(x) = \frac{x}{|x|} \quad (x \neq 0)",
       function=Abs, derivative=lambda u: sympy.sign(u), nondifferentiable="x = 0",
       kink=lambda u: Eq(u, 0)),
    _R("sign", "sign rule", "non_smooth", "d/dx sign(x) = 0 for x != 0 (sign jumps at x = 0)",
       r"\frac{d}{dx}\operatorname{sign}(x) = 0 \quad (x \neq 0)",
       function=sympy.sign, derivative=lambda u: S.Zero, nondifferentiable="x = 0",
       kink=lambda u: Eq(u, 0)),
    _R("max", "maximum rule", "non_smooth", "d/dx max(f, g) = f' where f > g, g' where g > f",
       r"\frac{d}{dx}\max(f, g) = \begin{cases} f' & f > g \\ g' & g > f \end{cases}",
       function=sympy.Max, nondifferentiable="f = g"),
    _R("min", "minimum rule", "non_smooth", "d/dx min(f, g) = f' where f < g, g' where g < f",
       r"\frac{d}{dx}\min(f, g) = \begin{cases} f' & f < g \\ g' & g < f \end{cases}",
       function=sympy.Min, nondifferentiable="f = g"),
    _R("piecewise", "piecewise rule", "non_smooth",
       "differentiate each piece on its interval; the pieces' boundaries may be non-differentiable",
       r"\frac{d}{dx}\begin{cases} f_1 & c_1 \\ f_2 & c_2 \end{cases} = "
       r"\begin{cases} f_1' & c_1 \\ f_2' & c_2 \end{cases}",
       function=sympy.Piecewise, nondifferentiable="where the pieces meet"),
    # ---- fallback
    _R("sympy", "SymPy's derivative", "fallback",
       "a function outside derivkit's rule table, differentiated by SymPy",
       r"\text{differentiated by SymPy (not in the rule table)}"),
)

#: The rule table, by rule id.
RULES: Mapping[str, Rule] = MappingProxyType({r.id: r for r in _TABLE})

_BY_FUNCTION: dict[type, Rule] = {r.function: r for r in _TABLE if r.function is not None}


def function_rules() -> tuple[Rule, ...]:
    """The rules of functions (``sin``, ``sigmoid``, ...), in table order.

    >>> [r.id for r in function_rules()][:3]
    ['exp', 'log', 'sin']
    """
    return tuple(r for r in _TABLE if r.function is not None)


def rule_for(func) -> Rule | None:
    """The rule of a function class or application (``sympy.sin`` or ``sin(x)``), else ``None``.

    >>> import sympy
    >>> rule_for(sympy.cos).id
    'cos'
    >>> rule_for(sympy.erf) is None
    True
    """
    cls = func if isinstance(func, type) else getattr(func, "func", None)
    if cls is None:
        return None
    rule = _BY_FUNCTION.get(cls)
    if rule is None and isinstance(cls, type):
        for base in cls.__mro__[1:]:
            if base in _BY_FUNCTION and base not in (sympy.Function,):
                return _BY_FUNCTION[base]
    return rule


def local_derivative(func, args) -> sympy.Basic:
    """``f'(args)`` (with respect to the first argument) in teaching form, from the table.

    ``func`` is a function class or application; ``args`` its arguments.

    >>> import sympy
    >>> u = sympy.Symbol("u")
    >>> local_derivative(sympy.tan, (u,))
    sec(u)**2
    >>> local_derivative(sympy.acosh, [u])
    1/sqrt(u**2 - 1)
    >>> from derivkit.functions import relu
    >>> local_derivative(relu, (u,))
    step(u)
    """
    rule = rule_for(func)
    if rule is None or rule.derivative is None:
        name = getattr(func, "__name__", None) or getattr(getattr(func, "func", None), "__name__", str(func))
        raise KeyError(f"the rule table has no derivative for {name}")
    return rule.derivative(*tuple(args))
