"""How derivkit writes expressions: one-line plain text and LaTeX.

Plain text is meant for a terminal: one line per expression, ``^`` for powers,
``·`` between factors (a number coefficient is written against a variable or a
bracket: ``2x``, ``6(3x - 2)``, but ``2·sin(x)``), ``σ`` for the sigmoid, ``√`` for square roots, ``e^x``,
``ln``, ``|x|``. LaTeX follows SymPy's printer with ``\\ln`` and ``\\arcsin``.
The step engine writes its sentences with these printers and the renderers
(:mod:`derivkit.render`) lay them out, so every output uses one notation.

>>> import sympy
>>> from derivkit.functions import sigmoid
>>> x = sympy.Symbol("x")
>>> expr_text(sympy.Mul(6, 3*x - 2, evaluate=False))
'6(3x - 2)'
>>> expr_text(sigmoid(x)*(1 - sigmoid(x)))
'σ(x)·(1 - σ(x))'
>>> expr_text(sympy.exp(-x) / (1 + sympy.exp(-x))**2)
'e^(-x)/(1 + e^(-x))^2'
>>> expr_text(1/sympy.sqrt(1 - x**2))
'1/√(1 - x^2)'
>>> expr_latex(sympy.log(x) + sympy.asin(x))
'\\\\ln{\\\\left(x \\\\right)} + \\\\arcsin{\\\\left(x \\\\right)}'
"""

from __future__ import annotations

import re
from typing import Any

import sympy
from sympy import S
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

__all__ = ["expr_text", "expr_latex", "derivative_text", "derivative_latex"]

# A number coefficient written against the factor after it: "2·x" -> "2x", "6·(" -> "6(".
# Not before a function name: "2·sin(x)" stays, "2·x", "2·e^x", "2·σ(x)" join.
_COEFF = re.compile(r"(?<![\w.·^√])(\d+(?:\.\d+)?)·(?=[(|√σ\u0370-\u03ff]|[A-Za-z_]\w*(?![\w(]))")


def _factor_rank(factor: sympy.Basic) -> int:
    if factor.is_Number:
        return 0
    base = factor.base if factor.is_Pow else factor
    return 2 if isinstance(base, sympy.Add) else 1


def _log_base(expr: sympy.Basic) -> tuple[sympy.Basic, sympy.Basic] | None:
    """``(u, b)`` when ``expr`` is ``ln(u)/ln(b)`` for a number ``b`` (SymPy's ``log(u, b)``)."""
    if not isinstance(expr, sympy.Mul) or len(expr.args) != 2:
        return None
    a, b = expr.args
    for num, den in ((a, b), (b, a)):
        if (
            isinstance(num, sympy.log)
            and den.is_Pow
            and den.exp == -1
            and isinstance(den.base, sympy.log)
            and den.base.args[0].is_number
        ):
            return num.args[0], den.base.args[0]
    return None


def _prime_form(subs: sympy.Subs) -> tuple[Any, str, sympy.Basic] | None:
    """``(f, "'", g)`` when ``subs`` is ``f'(u)`` at ``u = g`` for an unknown function ``f``: write ``f'(g)``."""
    inner, old, new = subs.args
    if (
        isinstance(inner, sympy.Derivative)
        and isinstance(inner.expr, sympy.core.function.AppliedUndef)
        and len(old) == 1
        and len(inner.variable_count) == 1
        and inner.expr.args == (old[0],)
    ):
        return inner.expr.func, "'" * inner.variable_count[0][1], new[0]
    return None


def _float_text(value: float) -> str:
    text = format(value, ".12g")
    return text.replace("e+", "e") if "e" in text else text


def _teacher_order(expr: sympy.Basic, terms: list) -> list:
    """A sum of functions starts with a positive term, as teachers write it: ``cos(x)^2 - sin(x)^2``.

    Polynomials keep SymPy's order (by degree: ``-x^2 + 2x``).
    """
    if len(terms) < 2 or not terms[0].could_extract_minus_sign() or expr.is_polynomial():
        return terms
    for i, term in enumerate(terms):
        if not term.could_extract_minus_sign():
            return [term] + terms[:i] + terms[i + 1:]
    return terms


class _TeacherOrder:
    """Printer mixin: the term order of :func:`_teacher_order`."""

    def _as_ordered_terms(self, expr, order=None):
        terms = super()._as_ordered_terms(expr, order=order)
        return _teacher_order(expr, list(terms)) if isinstance(expr, sympy.Add) else terms


class _TextPrinter(_TeacherOrder, StrPrinter):
    """SymPy's str printer with the conventions of this module."""

    def _wrap(self, expr: sympy.Basic) -> str:
        """``expr`` as a unit: bare for atoms and function calls, else in parentheses."""
        text = self._print(expr)
        if (expr.is_Atom and not (expr.is_Number and (expr.is_negative or not expr.is_Integer))) or (
            isinstance(expr, sympy.Function) and not isinstance(expr, sympy.Abs)
        ):
            return text
        if isinstance(expr, sympy.Abs):
            return text
        return f"({text})"

    def _print_Mul(self, expr) -> str:
        log_base = _log_base(expr)
        if log_base is not None:
            return f"log_{self._print(log_base[1])}({self._print(log_base[0])})"
        if not expr.is_commutative:
            return _COEFF.sub(r"\1", super()._print_Mul(expr).replace("*", "·"))
        coeff, _ = expr.as_coeff_Mul()
        sign = ""
        if coeff.is_negative:
            sign, expr = "-", -expr
            coeff = -coeff
        num: list[sympy.Basic] = []
        den: list[sympy.Basic] = []
        for factor in expr.as_ordered_factors():
            if factor.is_Rational:
                if factor.p != 1:
                    num.append(sympy.Integer(factor.p))
                if factor.q != 1:
                    den.append(sympy.Integer(factor.q))
            elif factor.is_Number:
                num.append(factor)
            elif factor.is_Pow and factor.exp.is_Number and factor.exp.is_negative:
                den.append(factor.base if factor.exp == -1 else sympy.Pow(factor.base, -factor.exp, evaluate=False))
            else:
                num.append(factor)
        # Teachers write the single terms first and the bracketed sums last: σ(x)(1 - σ(x)).
        num.sort(key=_factor_rank)
        den.sort(key=_factor_rank)
        prec = PRECEDENCE["Mul"]
        num_text = "·".join(self.parenthesize(f, prec, strict=False) for f in num) or "1"
        if not den:
            text = num_text
        elif len(den) == 1:
            text = num_text + "/" + self.parenthesize(den[0], prec, strict=True)
        else:
            text = num_text + "/(" + "·".join(self.parenthesize(f, prec, strict=False) for f in den) + ")"
        return _COEFF.sub(r"\1", sign + text)

    def _print_Pow(self, expr, rational: bool = False) -> str:
        base, exp = expr.as_base_exp()
        if base is S.Exp1:
            return self._print_exp(sympy.exp(exp, evaluate=False))
        if exp is S.Half:
            return "√" + self._wrap(base)
        if exp.is_Number and exp.is_negative:
            inverse = sympy.Pow(base, -exp, evaluate=False) if exp != -1 else base
            inner = self._print(inverse)
            if precedence(inverse) < PRECEDENCE["Pow"] and not (exp != -1 and exp != -S.Half):
                inner = f"({inner})"
            elif exp == -1 and precedence(inverse) < PRECEDENCE["Atom"] and not isinstance(inverse, sympy.Function):
                inner = f"({inner})"
            return f"1/{inner}"
        base_text = self._print(base)
        if not (base.is_Symbol or (base.is_Integer and base.is_nonnegative)
                or (isinstance(base, sympy.Function) and not isinstance(base, sympy.exp))
                or isinstance(base, sympy.Abs)):
            base_text = f"({base_text})"
        exp_text = self._print(exp)
        if not (exp.is_Symbol or (exp.is_Integer and exp.is_nonnegative)):
            exp_text = f"({exp_text})"
        return f"{base_text}^{exp_text}"

    def _print_exp(self, expr) -> str:
        arg = expr.args[0]
        if arg is S.One:
            return "e"
        text = self._print(arg)
        if not (arg.is_Symbol or (arg.is_Integer and arg.is_nonnegative)):
            text = f"({text})"
        return f"e^{text}"

    def _print_Float(self, expr) -> str:
        return _float_text(float(expr))

    def _print_log(self, expr) -> str:
        return "ln(%s)" % ", ".join(self._print(a) for a in expr.args)

    def _print_Abs(self, expr) -> str:
        return "|%s|" % self._print(expr.args[0])

    def _print_sigmoid(self, expr) -> str:
        return "σ(%s)" % self._print(expr.args[0])

    def _print_Max(self, expr) -> str:
        return "max(%s)" % ", ".join(self._print(a) for a in expr.args)

    def _print_Min(self, expr) -> str:
        return "min(%s)" % ", ".join(self._print(a) for a in expr.args)

    def _print_Piecewise(self, expr) -> str:
        parts = []
        for value, cond in expr.args:
            when = "otherwise" if cond is S.true else f"if {self._print(cond)}"
            parts.append(f"{self._print(value)} {when}")
        return "{" + "; ".join(parts) + "}"

    def _print_Derivative(self, expr) -> str:
        func = expr.expr
        vars_ = expr.variable_count
        if (
            isinstance(func, sympy.core.function.AppliedUndef)
            and len(vars_) == 1
            and len(func.args) == 1
            and func.args[0] == vars_[0][0]
        ):
            return f"{func.func.__name__}{chr(39) * vars_[0][1]}({self._print(func.args[0])})"
        den = "".join(f"d{self._print(v)}" + (f"^{n}" if n != 1 else "") for v, n in vars_)
        order = sum(n for _, n in vars_)
        num = "d" if order == 1 else f"d^{order}"
        return f"{num}/{den} {self._wrap(func)}"

    def _print_Subs(self, expr) -> str:
        prime = _prime_form(expr)
        if prime is not None:
            func, primes, point = prime
            return f"{func.__name__}{primes}({self._print(point)})"
        inner, old, new = expr.args
        subs = ", ".join(f"{self._print(o)} = {self._print(n)}" for o, n in zip(old, new))
        return f"[{self._print(inner)}]_({subs})"

    def _print_And(self, expr) -> str:
        return " and ".join(self._print(a) for a in expr.args)

    def _print_Or(self, expr) -> str:
        return " or ".join(self._print(a) for a in expr.args)

    def _print_Relational(self, expr) -> str:
        ops = {"==": "=", "!=": "≠", ">=": "≥", "<=": "≤"}
        op = ops.get(expr.rel_op, expr.rel_op)
        return f"{self._print(expr.lhs)} {op} {self._print(expr.rhs)}"

    def _print_MatrixBase(self, expr) -> str:
        return "[" + ", ".join("[" + ", ".join(self._print(v) for v in row) + "]" for row in expr.tolist()) + "]"

    _print_ImmutableDenseMatrix = _print_MutableDenseMatrix = _print_Matrix = _print_MatrixBase


class _LatexPrinter(_TeacherOrder, LatexPrinter):
    """SymPy's LaTeX printer, writing single factors before bracketed sums: σ(x)(1 - σ(x))."""

    def _print_Mul(self, expr) -> str:
        log_base = _log_base(expr)
        if log_base is not None:
            arg, base = log_base
            return rf"\log_{{{self._print(base)}}}\left({self._print(arg)}\right)"
        if not expr.is_commutative:
            return super()._print_Mul(expr)
        coeff, rest = expr.as_coeff_Mul()
        factors = rest.as_ordered_factors() if isinstance(rest, sympy.Mul) else [rest]
        sums = [f for f in factors if _factor_rank(f) == 2]
        if not sums or len(sums) == len(factors) or any(
            f.is_Pow and f.exp.is_Number and f.exp.is_negative for f in factors
        ) or not coeff.is_Integer:
            return super()._print_Mul(expr)
        singles = [f for f in factors if _factor_rank(f) != 2]
        head = self._print(sympy.Mul(abs(coeff), *singles))
        tail = " ".join(self.parenthesize(f, PRECEDENCE["Mul"], strict=False) for f in sums)
        sign = "- " if coeff.is_negative else ""
        return f"{sign}{head} {tail}"

    def _print_Subs(self, expr) -> str:
        prime = _prime_form(expr)
        if prime is not None:
            func, primes, point = prime
            return rf"{self._print(func)}{primes}\left({self._print(point)}\right)"
        return super()._print_Subs(expr)


# Constants printed as one symbol.
for _name, _symbol in {"Exp1": "e", "Pi": "π", "Infinity": "∞", "NegativeInfinity": "-∞",
                       "ComplexInfinity": "zoo", "ImaginaryUnit": "i"}.items():
    setattr(_TextPrinter, f"_print_{_name}", lambda self, expr, _symbol=_symbol: _symbol)

_TEXT = _TextPrinter({"order": None})
_LATEX = _LatexPrinter({"ln_notation": True, "inv_trig_style": "full"})


def expr_text(expr: Any) -> str:
    """One line of readable plain text for an expression (or a number, or a string).

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> expr_text(2*x**3 - sympy.Rational(21, 5)*x + sympy.sqrt(x))
    '√x + 2x^3 - 21x/5'
    >>> expr_text(sympy.Abs(x) + sympy.Max(0, x) + sympy.log(x))
    'ln(x) + |x| + max(0, x)'
    >>> expr_text(sympy.Float(8.4))
    '8.4'
    """
    if isinstance(expr, str):
        return expr
    if not isinstance(expr, sympy.Basic):
        expr = sympy.sympify(expr)
    return _TEXT.doprint(expr)


def expr_latex(expr: Any) -> str:
    r"""LaTeX for an expression (strings are returned unchanged, assumed LaTeX already).

    >>> import sympy
    >>> expr_latex(sympy.Symbol("x")**2 / 2)
    '\\frac{x^{2}}{2}'
    """
    if isinstance(expr, str):
        return expr
    if not isinstance(expr, sympy.Basic):
        expr = sympy.sympify(expr)
    return _LATEX.doprint(expr)


def _order_text(order: int) -> str:
    return "" if order == 1 else f"^{order}"


def _needs_brackets(expr: Any) -> bool:
    """Whether ``d/dx`` needs brackets around ``expr`` (a sum, a product, a negative number)."""
    if not isinstance(expr, sympy.Basic):
        return True
    if _log_base(expr) is not None:
        return False
    return isinstance(expr, (sympy.Add, sympy.Mul, sympy.Piecewise)) or bool(expr.is_Number and expr.is_negative)


def derivative_text(expr: Any, wrt: Any, order: int = 1) -> str:
    """``d/dx [expr]`` in text; brackets only when ``expr`` is not a single term.

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> derivative_text(sympy.sin(x), x), derivative_text(3*x - 2, x), derivative_text(x**2, x, 2)
    ('d/dx sin(x)', 'd/dx [3x - 2]', 'd^2/dx^2 x^2')
    """
    body = expr_text(expr)
    if _needs_brackets(expr):
        body = f"[{body}]"
    w = expr_text(wrt)
    sep = "" if len(w) == 1 else " "
    return f"d{_order_text(order)}/d{sep}{w}{_order_text(order)} {body}"


def derivative_latex(expr: Any, wrt: Any, order: int = 1) -> str:
    r"""``\frac{d}{dx}\left[expr\right]`` in LaTeX.

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> derivative_latex(x**2, x, 2), derivative_latex(3*x - 2, x)
    ('\\frac{d^{2}}{dx^{2}} x^{2}', '\\frac{d}{dx}\\left[3 x - 2\\right]')
    """
    w = expr_latex(wrt)
    if order == 1:
        frac = rf"\frac{{d}}{{d{w}}}" if len(w) == 1 else rf"\frac{{d}}{{d {w}}}"
    else:
        frac = rf"\frac{{d^{{{order}}}}}{{d{w}^{{{order}}}}}" if len(w) == 1 else rf"\frac{{d^{{{order}}}}}{{d {w}^{{{order}}}}}"
    if _needs_brackets(expr):
        return rf"{frac}\left[{expr_latex(expr)}\right]"
    return f"{frac} {expr_latex(expr)}"
