"""Safe reading of formulas typed as text: ``parse("1/(1+e^(-x))")``.

Nothing here ever evaluates Python. The text is split into tokens by a small
tokenizer of our own and read by a recursive-descent parser that knows only
numbers, names, ``+ - * / ^ **``, parentheses, ``|x|`` and calls of a fixed
list of functions; every other character is refused with a
:class:`~derivkit.errors.ParseError` that points at it. SymPy objects are built
directly from the parse, never from strings, and sizes are bounded before SymPy
sees them (input length, nesting depth, digits of a number, constant powers such
as ``10^10^10``), so a hostile string can neither run code nor exhaust memory.

Numbers are exact: ``0.01`` is the rational ``1/100`` (the decimal typed), so a
descent step ``4 - 0.01*37`` is exactly ``363/100``.

>>> parse("x^2 + 2x + 1")
x**2 + 2*x + 1
>>> parse("1/(1+e^(-x))")
1/(1 + exp(-x))
>>> parse("4 - 0.01*37")
363/100
>>> parse("log(x, 2)")
log(x)/log(2)
>>> parse_equation("y = 3x - 2")
(y, 3*x - 2)
>>> parse("x.__class__")
Traceback (most recent call last):
...
derivkit.errors.ParseError: attribute access ('.') is not allowed: derivkit reads formulas, not code
  x.__class__
   ^
"""

from __future__ import annotations

import difflib
import keyword
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, cast

import sympy
from sympy.core.parameters import distribute

from derivkit import budget
from derivkit.errors import LimitError, ParseError, ParseLimitError
from derivkit.functions import leaky_relu, relu, sigmoid, softplus, step
from derivkit.magnitude import hazard, probe

__all__ = [
    "parse",
    "parse_equation",
    "FUNCTIONS",
    "CONSTANTS",
    "MAX_LENGTH",
    "MAX_DEPTH",
    "MAX_DIGITS",
    "MAX_MINMAX_ARGS",
    "MAX_TOWER",
    "MAX_ARGUMENTS",
]

# The configurable limits are those of derivkit.budget (change them with derivkit.limits);
# these names give their defaults.

#: Longest input accepted, in characters (the ``length`` limit).
MAX_LENGTH = budget.DEFAULTS.length
#: Deepest nesting of parentheses, signs, powers and calls (the ``depth`` limit).
MAX_DEPTH = budget.DEFAULTS.depth
#: Most digits of a number, typed or computed (the ``digits`` limit; Python prints at most 4300).
MAX_DIGITS = budget.DEFAULTS.digits
#: Most arguments of an unknown function ``f(x, y, ...)`` (the ``arguments`` limit).
MAX_ARGUMENTS = budget.DEFAULTS.arguments
#: Highest power tower with variable exponents (``x^x^x^x`` is 3 levels; the ``tower`` limit).
MAX_TOWER = budget.DEFAULTS.tower

# Fixed rules (guards against SymPy's own costs, not budgets):
#: Most digits of one typed number literal.
MAX_LITERAL_DIGITS = 1_000
#: ``gamma`` of a number above this (a factorial) is refused.
MAX_GAMMA_ARG = 1_000
#: Largest integer power ``x^n`` allowed inside an exponent (``2^(x^64)``).
MAX_EXPONENT_IN_EXPONENT = 64
#: Largest integer power ``x^n`` allowed inside a hyperbolic function (``tanh(x^32)``): SymPy
#: expands ``(re + i im)^n`` to decide whether ``tanh(x^n)`` is real, which takes minutes at n = 200.
MAX_POWER_IN_HYPERBOLIC = 32
#: Most arguments of one ``max``/``min`` (nested ones count too): SymPy compares every pair.
MAX_MINMAX_ARGS = 10


@dataclass(frozen=True)
class _Function:
    """A whitelisted function: how to build it and how many arguments it takes."""

    build: Callable[..., sympy.Basic]
    min_args: int = 1
    max_args: int | None = 1


def _log(x, base=None):
    return sympy.log(x) if base is None else sympy.log(x, base)


def _bad_log_base(base: sympy.Basic) -> bool:
    """A number that cannot be the base of a logarithm: 1, 0, or not positive."""
    return bool(base.is_number and (base.is_positive is False or base == 1 or base.is_zero))


def _undefined(name: str) -> Callable[..., sympy.Basic]:
    return lambda *args: sympy.Function(name)(*args)


_ONE_ARG = {
    name: getattr(sympy, name)
    for name in (
        "sin cos tan csc sec cot asin acos atan acot asec acsc "
        "sinh cosh tanh csch sech coth asinh acosh atanh acsch asech acoth "
        "exp sqrt erf gamma Abs sign"
    ).split()
}

#: Every function name the parser accepts, with its SymPy builder and arity.
FUNCTIONS: dict[str, _Function] = {name: _Function(f) for name, f in _ONE_ARG.items()}
FUNCTIONS.update(
    {
        # textbook spellings of the inverse functions
        **{f"arc{n}": _Function(_ONE_ARG[f"a{n}"]) for n in "sin cos tan cot sec csc".split()},
        **{f"arc{n}": _Function(_ONE_ARG[f"a{n}"]) for n in "sinh cosh tanh coth sech csch".split()},
        **{f"ar{n}": _Function(_ONE_ARG[f"a{n}"]) for n in "sinh cosh tanh coth sech csch".split()},
        "abs": _Function(sympy.Abs),
        "ln": _Function(sympy.log),
        "log": _Function(_log, 1, 2),
        "log2": _Function(lambda x: sympy.log(x, 2)),
        "log10": _Function(lambda x: sympy.log(x, 10)),
        "Max": _Function(sympy.Max, 1, None),
        "max": _Function(sympy.Max, 1, None),
        "Min": _Function(sympy.Min, 1, None),
        "min": _Function(sympy.Min, 1, None),
        "sigmoid": _Function(sigmoid),
        "sigma": _Function(sigmoid),  # sigma(x) is the sigmoid; sigma alone is a symbol
        "softplus": _Function(softplus),
        "relu": _Function(relu),
        "ReLU": _Function(relu),
        "leaky_relu": _Function(leaky_relu, 1, 2),
        "step": _Function(step, 1, 2),
        # undefined functions, for the chain rule f(g(x))
        **{name: _Function(_undefined(name), 1, None) for name in ("f", "g", "h")},
    }
)

#: The unknown functions (for the chain rule): their arguments count against the ``arguments`` limit.
_UNDEFINED = {"f", "g", "h"}

#: Names that are symbols unless called: ``gamma`` is a Greek letter, ``gamma(x)`` the function.
_SYMBOL_UNLESS_CALLED = {"sigma", "gamma", "f", "g", "h"}

#: Inverses for ``sin^-1(x)`` (= asin) and friends.
_INVERSES = {
    n: f"a{n}"
    for n in "sin cos tan cot sec csc sinh cosh tanh coth sech csch".split()
}

#: Named constants.
CONSTANTS: dict[str, sympy.Basic] = {"e": sympy.E, "E": sympy.E, "pi": sympy.pi}

_GREEK = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron "
    "pi rho sigma tau upsilon phi chi psi omega"
).split()
_GREEK_LETTERS = dict(zip("αβγδεζηθικλμνξοπρστυφχψω", _GREEK))
_GREEK_LETTERS.update({"ς": "sigma", "ϕ": "phi", "ϵ": "epsilon", "ϑ": "theta"})
_UNICODE_OPERATORS = {"−": "-", "–": "-", "×": "*", "·": "*", "⋅": "*", "∗": "*", "÷": "/"}
_SUPERSCRIPTS = {"²": "2", "³": "3"}

_DIGITS = "0123456789"
_NUMBER = re.compile(r"([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LOG_BASE = re.compile(r"log_(\d+)$")

#: Characters refused with a reason (anything else unknown is "unexpected").
_REFUSED_CHARS = {
    ".": "attribute access ('.') is not allowed: derivkit reads formulas, not code",
    "'": "strings are not allowed in a formula",
    '"': "strings are not allowed in a formula",
    "[": "square brackets (subscripts, lists) are not allowed: use parentheses",
    "]": "square brackets (subscripts, lists) are not allowed: use parentheses",
    "{": "braces are not allowed in plain input (for LaTeX, use latex=True)",
    "}": "braces are not allowed in plain input (for LaTeX, use latex=True)",
    "\\": "a backslash looks like LaTeX: read LaTeX with latex=True",
    ":": "':' is not allowed (lambdas, slices and ':=' are code, not formulas)",
    ";": "';' is not allowed: give one formula, not statements",
    "!": "'!' (factorial) is not supported",
    "\n": "line breaks are not allowed: give one formula on one line",
    "\r": "line breaks are not allowed: give one formula on one line",
    "#": "'#' (comments) is not allowed",
    "<": "comparisons are not formulas",
    ">": "comparisons are not formulas",
    "@": "'@' (matrix product) is not supported in formulas",
    "%": "'%' is not an operator here",
    "&": "'&' is not an operator here",
    "~": "'~' is not an operator here",
}


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "name", "op", "end"
    text: str
    pos: int
    value: object = None


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t":
            i += 1
            continue
        if c in _DIGITS or (c == "." and i + 1 < n and text[i + 1] in _DIGITS):
            m = cast(re.Match[str], _NUMBER.match(text, i))  # a digit starts a number
            if m.group(2) and m.end() < n and (text[m.end()].isalpha() or text[m.end()] in _DIGITS + "_."):
                raise ParseError(
                    f"'{m.group(0)}' is a number in scientific notation and must not run into what follows "
                    f"(a number has one exponent): put '*' or a space after {m.group(0)}",
                    text, m.end(),
                )
            tokens.append(_Token("num", m.group(0), i, _number(m, text, i)))
            i = m.end()
            continue
        if c.isascii() and (c.isalpha() or c == "_"):
            m = cast(re.Match[str], _NAME.match(text, i))  # a letter starts a name
            name = m.group(0)
            if name.startswith("_"):
                raise ParseError(
                    f"names starting with '_' (like {name!r}) are not allowed", text, i
                )
            if keyword.iskeyword(name) and name != "lambda":
                raise ParseError(
                    f"'{name}' is a Python keyword: derivkit reads formulas, not code", text, i
                )
            tokens.append(_Token("name", name, i))
            i = m.end()
            continue
        if c in _GREEK_LETTERS:
            tokens.append(_Token("name", _GREEK_LETTERS[c], i))
            i += 1
            continue
        if c in _SUPERSCRIPTS:
            tokens.append(_Token("op", "^", i))
            tokens.append(_Token("num", _SUPERSCRIPTS[c], i, sympy.Integer(_SUPERSCRIPTS[c])))
            i += 1
            continue
        if c in _UNICODE_OPERATORS:
            tokens.append(_Token("op", _UNICODE_OPERATORS[c], i))
            i += 1
            continue
        if text.startswith("**", i):
            tokens.append(_Token("op", "^", i))
            i += 2
            continue
        if text.startswith("==", i) or text.startswith("!=", i):
            raise ParseError("comparisons are not formulas", text, i)
        if c in "+-*/^(),|=":
            tokens.append(_Token("op", c, i))
            i += 1
            continue
        if c == "'" and _prime_follows(tokens, i):
            tokens.append(_Token("prime", c, i))
            i += 1
            continue
        if c in _REFUSED_CHARS:
            raise ParseError(_REFUSED_CHARS[c], text, i)
        raise ParseError(f"unexpected character {c!r}", text, i)
    tokens.append(_Token("end", "", n))
    return tokens


def _number(m: re.Match, text: str, pos: int) -> sympy.Rational:
    """The exact value of a number literal: ``0.01`` -> ``1/100``, ``2e3`` -> ``2000``."""
    mantissa, exponent = m.group(1), m.group(2)
    whole, _, frac = mantissa.partition(".")
    frac = frac.rstrip("0")  # 2.500 is 2.5
    digits = (whole + frac).lstrip("0") or "0"
    max_digits = budget.current().digits
    if len(digits) > MAX_LITERAL_DIGITS:
        raise ParseLimitError(
            f"number too long ({len(digits)} digits; at most {MAX_LITERAL_DIGITS})", text, pos,
            limit="digits", value=MAX_LITERAL_DIGITS, part=m.group(0)[:20],
        )
    power = -len(frac)
    if exponent:
        e = int(exponent[1:]) if len(exponent.lstrip("eE+-0")) <= 8 else None
        if e is None or abs(e) > max_digits:
            raise ParseLimitError("number too large (exponent out of range)", text, pos,
                                  limit="digits", value=max_digits, part=m.group(0)[:20])
        power += e
    if len(digits) + power > max_digits or -power > max_digits:
        what = "large" if power > 0 else "small (too many decimal places)"
        raise ParseLimitError(f"number too {what}: over {max_digits} digits", text, pos,
                              limit="digits", value=max_digits, part=m.group(0)[:20])
    value = int(digits)  # leading zeros stripped: Python refuses to read over 4300 digits
    return sympy.Integer(value * 10**power) if power >= 0 else sympy.Rational(value, 10**-power)


def _astronomical(number: sympy.Basic) -> bool:
    """Whether a constant is beyond 10^300 in size (or too large to estimate): SymPy cannot simplify with it."""
    p = probe(number, {})
    return p.hazard or p.log10 is None or p.log10 > 300


def _digits(q: sympy.Rational) -> float:
    """Decimal digits in the numerator and denominator of a rational."""
    p, q = abs(int(q.p)), int(q.q)
    return (math.log10(p) if p else 0.0) + math.log10(q)


_BIG_EXPONENT_MESSAGE = (
    "power too large inside an exponent (x^n within an exponent takes |n| <= 64): "
    "SymPy would expand it"
)


def _big_integer_power(expr: sympy.Basic, most: int = MAX_EXPONENT_IN_EXPONENT) -> bool:
    """Whether ``expr`` holds ``u^n`` of a variable ``u`` with an integer ``|n| > most``.

    Inside an exponent (or a hyperbolic function) such a power makes SymPy expand
    ``(re + i im)^n`` when it looks at the sign of the result (``Abs(2^(x^1024))``
    takes minutes).
    """
    return any(
        p.exp.is_Integer and abs(p.exp) > most and not p.base.is_number for p in expr.atoms(sympy.Pow)
    )


_HYPERBOLIC = (sympy.sinh, sympy.cosh, sympy.tanh, sympy.coth, sympy.sech, sympy.csch)


def _tower_message(levels: int) -> str:
    return f"power tower too high (at most {levels} levels of variable exponents)"


def _tower_height(expr: sympy.Basic) -> int:
    """Levels of variable exponents: ``x^2`` is 0, ``2^x`` is 1, ``x^(x^x)`` is 2."""
    if expr.is_Atom:
        return 0
    if isinstance(expr, sympy.Pow):
        lift = 0 if expr.exp.is_number else 1 + _tower_height(expr.exp)
        return max(_tower_height(expr.base), lift)
    if isinstance(expr, sympy.exp):
        return 0 if expr.args[0].is_number else 1 + _tower_height(expr.args[0])
    return max((_tower_height(a) for a in expr.args), default=0)


def _starts_operand(tok: _Token) -> bool:
    return tok.kind in ("num", "name") or tok.text == "("


class _Parser:
    """Recursive descent over the token list; builds SymPy objects directly."""

    def __init__(self, text: str, tokens: list[_Token], *, numbers_juxtapose: bool = False):
        self.text = text
        self.tokens = tokens
        self.i = 0
        self.depth = 0
        self.abs_depth = 0
        self.numbers_juxtapose = numbers_juxtapose
        self.lim = budget.current()

    # -- helpers -----------------------------------------------------------------
    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def advance(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, message: str, pos: int | None = None) -> ParseError:
        return ParseError(message, self.text, self.tok.pos if pos is None else pos)

    def limit_error(self, message: str, limit: str, pos: int | None = None) -> ParseLimitError:
        """A refusal by the ``limit`` of :class:`derivkit.budget.Limits` (its value is the one in force)."""
        at = self.tok.pos if pos is None else pos
        return ParseLimitError(message, self.text, at, limit=limit, value=getattr(self.lim, limit),
                               part=budget.shorten(self.text[at:at + 30], 30))

    def expect_operand(self) -> None:
        tok = self.tok
        if tok.kind == "end":
            prev = self.tokens[self.i - 1].text if self.i else ""
            if prev:
                return_msg = f"the formula ends after '{prev}': something is missing"
            else:
                return_msg = "empty formula"
            raise self.error(return_msg)
        if tok.text == ")":
            raise self.error("')' here closes nothing: an operand is missing before it")
        if tok.text in ("*", "/", "^", ","):
            raise self.error(f"'{tok.text}' needs something before it")
        if tok.text == "=":
            raise self.error("'=' needs something before it")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > self.lim.depth:
            raise self.limit_error(f"formula nested too deeply (more than {self.lim.depth} levels)", "depth")
        self.on_time()

    def on_time(self) -> None:
        try:
            budget.checkpoint()
        except LimitError as err:
            raise ParseLimitError(f"formula too costly to read: {err}", self.text, self.tok.pos,
                                  limit=err.limit, value=err.value, part=err.part) from None

    # -- grammar -----------------------------------------------------------------
    def parse_all(self) -> sympy.Basic:
        if self.tok.kind == "end":
            raise self.error("empty formula")
        result = self.expr()
        tok = self.tok
        if tok.kind != "end":
            if tok.text == ")":
                raise self.error("unmatched ')'")
            if tok.text == "=":
                raise self.error(
                    "'=' makes an equation; give one expression "
                    "(equations like 'y = 3x - 2' are read by parse_equation)"
                )
            if tok.text == ",":
                raise self.error("',' outside a function call")
            if tok.text == "|":
                raise self.error("'|' closes nothing")
            raise self.error(f"unexpected {tok.text!r}")
        return result

    def expr(self) -> sympy.Basic:
        # n-ary: one Add of all terms (adding one at a time is quadratic in SymPy)
        terms = [self.term()]
        first_op = None
        while self.tok.text in ("+", "-") and self.tok.kind == "op":
            op = self.advance()
            first_op = op.pos if first_op is None else first_op
            self.expect_operand()
            right = self.term()
            terms.append(right if op.text == "+" else -right)
        if first_op is None:
            return terms[0]
        return self.checked(sympy.Add(*terms), first_op)

    def term(self) -> sympy.Basic:
        # n-ary like expr(): one Mul of all factors, a/b being a*b^-1 as in SymPy
        factors = [self.unary()]
        first_op = None
        while True:
            tok = self.tok
            if tok.kind == "op" and tok.text in ("*", "/"):
                self.advance()
                self.expect_operand()
                right = self.unary()
                if tok.text == "/":
                    if right.is_zero:
                        raise self.error("division by zero", tok.pos)
                    right = sympy.Pow(right, -1)
                factors.append(right)
            elif self.juxtaposed(tok):
                factors.append(self.power())
            else:
                break
            first_op = tok.pos if first_op is None else first_op
        if first_op is None:
            return factors[0]
        coeffs = (f.as_coeff_Mul()[0] for f in factors)
        if sum(_digits(c) for c in coeffs if isinstance(c, sympy.Rational)) > self.lim.digits:
            raise self.limit_error(f"number too large (over {self.lim.digits} digits)", "digits", first_op)
        return self.checked(sympy.Mul(*factors), first_op)

    def juxtaposed(self, tok: _Token) -> bool:
        """Implicit multiplication: ``2x``, ``x y``, ``2(x+1)``, ``(x+1)(x-1)``, ``2|x|``."""
        if tok.kind == "num":
            if self.numbers_juxtapose:
                return True
            raise self.error(f"missing operator before the number {tok.text}")
        if tok.kind == "name" or tok.text == "(":
            return True
        return tok.text == "|" and self.abs_depth == 0

    def unary(self) -> sympy.Basic:
        self.enter()
        tok = self.tok
        if tok.kind == "op" and tok.text in ("+", "-"):
            self.advance()
            self.expect_operand()
            operand = self.unary()
            result = -operand if tok.text == "-" else operand
        else:
            self.expect_operand()
            result = self.power()
        self.depth -= 1
        return result

    def power(self) -> sympy.Basic:
        base = self.atom()
        if self.tok.text == "^" and self.tok.kind == "op":
            op = self.advance()
            self.expect_operand()
            exponent = self.unary()  # right-associative; allows x^-2
            return self.pow(base, exponent, op.pos)
        return base

    def pow(self, base: sympy.Basic, exponent: sympy.Basic, pos: int) -> sympy.Basic:
        if base.is_zero and exponent.is_extended_negative:
            raise self.error("division by zero (0 to a negative power)", pos)
        if isinstance(exponent, sympy.Rational) and abs(exponent) > 1:
            cost = sum(_digits(q) for q in base.atoms(sympy.Rational) if abs(q) != 1)
            if float(abs(exponent)) * cost > self.lim.digits:
                raise self.limit_error(
                    f"power too large: the result would have over {self.lim.digits} digits", "digits", pos
                )
        if not exponent.is_number:
            if _big_integer_power(exponent):
                raise self.error(_BIG_EXPONENT_MESSAGE, pos)
            if max(_tower_height(base), 1 + _tower_height(exponent)) > self.lim.tower:
                raise self.limit_error(_tower_message(self.lim.tower), "tower", pos)
        elif not isinstance(exponent, sympy.Rational) and _astronomical(exponent):
            # 2^(e^(e^(e^99))) is a number, but SymPy would evaluate the exponent's sign to
            # unbounded precision to simplify it: it is kept as written
            return self.checked(sympy.Pow(base, exponent, evaluate=False), pos)
        return self.checked(base**exponent, pos)

    def checked(self, value: sympy.Basic, pos: int) -> sympy.Basic:
        """Refuse numbers grown past the digits limit and undefined values like 1/0."""
        self.on_time()
        coeff = value
        if isinstance(value, sympy.Mul):
            coeff = value.as_coeff_Mul()[0]
        elif isinstance(value, sympy.Add):
            coeff = value.as_coeff_Add()[0]
        if isinstance(coeff, sympy.Rational) and _digits(coeff) > self.lim.digits:
            raise self.limit_error(f"number too large (over {self.lim.digits} digits)", "digits", pos)
        if value.has(sympy.zoo, sympy.nan):
            raise self.error("undefined value (division by zero)", pos)
        return value

    def atom(self) -> sympy.Basic:
        tok = self.tok
        if tok.kind == "num":
            self.advance()
            return tok.value
        if tok.kind == "name":
            return self.name()
        if tok.text == "(":
            self.advance()
            self.expect_operand()
            inner = self.expr()
            self.close("(", tok.pos)
            return inner
        if tok.text == "|":
            self.advance()
            self.expect_operand()
            self.abs_depth += 1
            inner = self.expr()
            self.abs_depth -= 1
            if self.tok.text != "|":
                raise self.error("'|' opened here is never closed", tok.pos)
            self.advance()
            return self.checked(sympy.Abs(inner), tok.pos)
        self.expect_operand()
        raise self.error(f"unexpected {tok.text!r}")

    def close(self, opener: str, pos: int) -> None:
        if self.tok.text == ")":
            self.advance()
            return
        if self.tok.kind == "end":
            raise self.error(f"'{opener}' opened here is never closed", pos)
        if self.tok.text == "=":
            raise self.error("'=' is not allowed here (keyword arguments and equations are not formulas)")
        raise self.error(f"expected ')' to close the '{opener}' at position {pos}")

    def name(self) -> sympy.Basic:
        tok = self.advance()
        name = tok.text
        if self.tok.kind == "prime":
            return self.primed(tok)
        called = self.tok.text == "(" or self.called_after_power()
        m = _LOG_BASE.match(name)
        if m:
            base = sympy.Integer(m.group(1))
            if _bad_log_base(base):
                raise ParseError(_LOG_BASE_MESSAGE.format(base=base), self.text, tok.pos)
            return self.call(tok, _Function(lambda x: sympy.log(x, base)))
        if name in FUNCTIONS and (called or name not in _SYMBOL_UNLESS_CALLED):
            return self.call(tok, FUNCTIONS[name])
        if name in CONSTANTS:
            return CONSTANTS[name]
        if called and not _is_symbol_name(name):
            close = difflib.get_close_matches(name, FUNCTIONS, n=1)
            hint = _TOOL_HINTS.get(name) or (f"; did you mean {close[0]}?" if close else "")
            raise ParseError(f"unknown function '{name}'{hint}", self.text, tok.pos)
        glued = _glued_call(name)
        if glued:
            raise ParseError(
                f"'{name}' reads as one name; write {glued} (or put a space or '*' between)",
                self.text,
                tok.pos,
            )
        return sympy.Symbol(name)

    def called_after_power(self) -> bool:
        """``sigma^2(x)``: a power between the name and its parenthesis."""
        i = self.i
        if self.tokens[i].text != "^":
            return False
        i += 1
        if self.tokens[i].text == "-":
            i += 1
        if self.tokens[i].kind == "num":
            return self.tokens[i + 1].text == "("
        if self.tokens[i].text != "(":
            return False
        level = 0
        for j in range(i, len(self.tokens)):
            level += {"(": 1, ")": -1}.get(self.tokens[j].text, 0)
            if level == 0:
                return self.tokens[j + 1].text == "("
        return False

    def primed(self, tok: _Token) -> sympy.Basic:
        """Prime notation: ``f'(x)``, ``g''(2x)`` for an unknown function ``f``, ``g``, ..."""
        order = 0
        while self.tok.kind == "prime":
            self.advance()
            order += 1
        if not _primeable(tok.text):
            raise ParseError(
                f"prime notation is for unknown functions like f'(x); '{tok.text}' is not one",
                self.text,
                tok.pos,
            )
        if self.tok.text != "(":
            raise ParseError(
                "prime notation needs an unknown function and its argument in parentheses, like f'(x)",
                self.text,
                tok.pos,
            )
        args = self.arguments(tok)
        if len(args) != 1:
            raise ParseError(
                f"prime notation is for functions of one variable; {tok.text} has {len(args)} arguments here",
                self.text,
                tok.pos,
            )
        return self.checked(prime_derivative(tok.text, args[0], order), tok.pos)

    def call(self, tok: _Token, fn: _Function) -> sympy.Basic:
        power = None
        if self.tok.text == "^":  # sin^2(x), sin^-1(x)
            self.advance()
            power = self.exponent_prefix()
        if self.tok.text == "(":
            args = self.arguments(tok)
        elif _starts_operand(self.tok) or self.tok.text == "|":
            args = [self.bare_argument()]
        else:
            raise ParseError(f"'{tok.text}' needs an argument, e.g. {tok.text}(x)", self.text, tok.pos)
        n = len(args)
        if n < fn.min_args or (fn.max_args is not None and n > fn.max_args):
            if fn.max_args is None:
                wanted = f"at least {fn.min_args}"
            elif fn.min_args == fn.max_args:
                wanted = str(fn.min_args)
            else:
                wanted = f"{fn.min_args} or {fn.max_args}"
            plural = "" if wanted == "1" else "s"
            raise ParseError(
                f"{tok.text} takes {wanted} argument{plural}, got {n}", self.text, tok.pos
            )
        if tok.text in _UNDEFINED and n > self.lim.arguments:
            raise self.limit_error(
                f"{tok.text} has {n} arguments; an unknown function takes at most {self.lim.arguments}",
                "arguments", tok.pos)
        if fn.build is _log and n == 2 and _bad_log_base(args[1]):
            raise ParseError(_LOG_BASE_MESSAGE.format(base=args[1]), self.text, tok.pos)
        if power is not None and power.is_number and power.is_negative and not (
                power == -1 and tok.text in _INVERSES):
            raise ParseError(_inverse_message(tok.text, power), self.text, tok.pos)
        if fn.build in (sympy.Max, sympy.Min):
            flat = sum(len(a.args) if isinstance(a, (sympy.Max, sympy.Min)) else 1 for a in args)
            if flat > MAX_MINMAX_ARGS:
                raise ParseError(
                    f"{tok.text} of more than {MAX_MINMAX_ARGS} terms is not supported",
                    self.text,
                    tok.pos,
                )
        if fn.build is sympy.exp and _big_integer_power(args[0]):
            raise ParseError(_BIG_EXPONENT_MESSAGE, self.text, tok.pos)
        if fn.build in _HYPERBOLIC and _big_integer_power(args[0], MAX_POWER_IN_HYPERBOLIC):
            raise ParseError(
                f"power too large inside {tok.text} (x^n within a hyperbolic function takes |n| <= "
                f"{MAX_POWER_IN_HYPERBOLIC}): SymPy would expand it", self.text, tok.pos)
        if any(a.is_number for a in args) and any(a.is_number and hazard(a, {}) for a in args):
            raise self.limit_error(f"the number in {tok.text}(...) is too large to compute with", "digits",
                                   tok.pos)
        if fn.build is sympy.exp and 1 + _tower_height(args[0]) > self.lim.tower:
            raise self.limit_error(_tower_message(self.lim.tower), "tower", tok.pos)
        if fn.build is sympy.gamma and args[0].is_number and abs(args[0]) > MAX_GAMMA_ARG:
            raise ParseError(
                f"gamma of a number above {MAX_GAMMA_ARG} is too large to evaluate",
                self.text,
                tok.pos,
            )
        if power is not None and power == -1 and tok.text in _INVERSES:
            return self.checked(FUNCTIONS[_INVERSES[tok.text]].build(*args), tok.pos)
        value = self.checked(fn.build(*args), tok.pos)
        if value.is_number and hazard(value, {}):  # SymPy's questions about it (is it 0?) would not return
            raise self.limit_error(f"the number {tok.text}(...) is too large to compute with", "digits", tok.pos)
        return value if power is None else self.pow(value, power, tok.pos)

    def exponent_prefix(self) -> sympy.Basic:
        """The power in ``sin^2(x)``: a number, ``-1``, or a parenthesised formula."""
        tok = self.tok
        sign = 1
        if tok.text == "-":
            self.advance()
            sign = -1
        tok = self.tok
        if tok.kind == "num":
            self.advance()
            return sign * cast(Any, tok.value)
        if tok.text == "(":
            self.advance()
            self.expect_operand()
            inner = self.expr()
            self.close("(", tok.pos)
            return sign * inner
        raise self.error("expected a number after '^', as in sin^2(x)")

    def bare_argument(self) -> sympy.Basic:
        """``sin x``, ``ln 2x``, ``sin x^2``: the implicit product after the name."""
        self.enter()
        if self.tok.text in ("-", "+"):
            result = self.unary()
        else:
            result = self.power()
            while (
                self.tok.kind in ("num", "name")
                and self.tok.text not in FUNCTIONS
                and not (self.tok.kind == "num" and not self.numbers_juxtapose)
            ):
                result = self.checked(result * self.power(), self.tok.pos)
        self.depth -= 1
        return result

    def arguments(self, tok: _Token) -> list[sympy.Basic]:
        open_tok = self.advance()
        args = []
        if self.tok.text == ")":
            raise ParseError(f"'{tok.text}' needs an argument, e.g. {tok.text}(x)", self.text, tok.pos)
        while True:
            if self.tok.text == "*":
                raise self.error("starred arguments are not allowed")
            self.expect_operand()
            if self.tok.kind == "name" and self.tokens[self.i + 1].text == "=":
                raise self.error("keyword arguments are not allowed")
            args.append(self.expr())
            if self.tok.text == ",":
                self.advance()
                continue
            self.close("(", open_tok.pos)
            return args


_LOG_BASE_MESSAGE = "the base of a logarithm must be a positive number other than 1, not {base}"


def _inverse_message(name: str, power: sympy.Basic) -> str:
    """Why ``f^(-1)(x)`` is refused: it reads as the inverse function, which derivkit does not build."""
    p = f"({power})"
    if name in _UNDEFINED:
        return (f"{name}^{p}(x) reads as the inverse function of {name}, which derivkit cannot differentiate "
                f"for an unknown {name}; for the reciprocal write 1/{name}(x) or {name}(x)^{p}")
    return (f"{name}^{p}(x) is ambiguous (the inverse function of {name}, or a power of {name}(x)?): "
            f"write {name}(x)^{p} for the power")


def _is_symbol_name(name: str) -> bool:
    """Names that may stand before '(' as a factor: ``x(x+1)``, ``x1(...)``, ``alpha(...)``."""
    base = name.split("_", 1)[0].rstrip("0123456789")
    return len(base) == 1 or base in _GREEK or name in _SYMBOL_UNLESS_CALLED


def _glued_call(name: str) -> str | None:
    """``sinx`` -> ``sin(x)``: a function name glued to a one-letter variable."""
    if name in FUNCTIONS or name in _GREEK:
        return None
    for fn in sorted(FUNCTIONS, key=len, reverse=True):
        rest = name[len(fn):]
        if len(fn) > 1 and name.startswith(fn) and re.fullmatch(r"[A-Za-z]\d*", rest or "-"):
            return f"{fn}({rest})"
    return None


#: Names of operations, not functions, and the derivkit tool that does them.
_TOOL_HINTS = {
    name: "; a limit is not a formula: for the derivative from its definition, lim (f(x + h) - f(x))/h, "
          "use derivkit.first_principles (derivkit first-principles)"
    for name in ("lim", "limit", "Limit")
} | {
    name: "; to differentiate, use derivkit.derive (derivkit derive); write the derivative of an unknown "
          "function as f'(x)"
    for name in ("diff", "Derivative", "derivative")
}


def _prime_follows(tokens: list[_Token], i: int) -> bool:
    """Whether the ``'`` at ``i`` is a prime: written right after a name or another prime."""
    if not tokens:
        return False
    last = tokens[-1]
    return last.kind == "prime" and last.pos == i - 1 or last.kind == "name" and last.pos + len(last.text) == i


def _primeable(name: str) -> bool:
    """Names that may carry primes: the unknown functions and other one-letter names (``u'(x)``)."""
    if name in FUNCTIONS:
        return name in _SYMBOL_UNLESS_CALLED and name not in ("sigma", "gamma")
    return len(name) == 1 and name not in CONSTANTS


def prime_derivative(name: str, arg: sympy.Basic, order: int = 1) -> sympy.Basic:
    """``f'(arg)`` (``order`` primes) for the unknown function ``name``, as SymPy writes it.

    At a symbol it is ``Derivative(f(x), x)``; at any other argument the derivative
    taken at that argument, ``Subs(Derivative(f(u), u), u, arg)``.

    >>> prime_derivative("f", sympy.Symbol("x"))
    Derivative(f(x), x)
    >>> prime_derivative("g", 2*sympy.Symbol("x"), 2)
    Subs(Derivative(g(_u), (_u, 2)), _u, 2*x)
    """
    fn = sympy.Function(name)
    if isinstance(arg, sympy.Symbol):
        return sympy.Derivative(fn(arg), (arg, order))
    u = sympy.Dummy("u")
    return sympy.Subs(sympy.Derivative(fn(u), (u, order)), u, arg)


def _keep_decimals(tokens: list[_Token]) -> list[_Token]:
    """Number tokens written with a decimal point as SymPy Floats (``decimals=True``): ``2.1`` stays ``2.1``."""
    out = []
    for tok in tokens:
        if tok.kind == "num" and "." in tok.text:
            tok = _Token(tok.kind, tok.text, tok.pos, sympy.Float(tok.text))
        out.append(tok)
    return out


def _check_length(text: str) -> None:
    if not isinstance(text, str):
        raise ParseError(f"a formula must be a string, not {type(text).__name__}")
    most = budget.current().length
    if len(text) > most:
        raise ParseLimitError(f"formula too long ({len(text)} characters; at most {most})",
                              limit="length", value=most, part=budget.shorten(text, 30))


def _build(
    text: str, tokens: list[_Token], *, numbers_juxtapose: bool = False, decimals: bool = False
) -> sympy.Basic:
    if decimals:
        tokens = _keep_decimals(tokens)
    parser = _Parser(text, tokens, numbers_juxtapose=numbers_juxtapose)
    try:
        # The user's structure: a number times a sum stays a product, -2(2x^2 - 1) is not -4x^2 + 2.
        try:
            with distribute(False):
                return parser.parse_all()
        except RecursionError:
            # SymPy can loop on an undistributed sign (tanh(x - 1) against -tanh(1 - x)): build it as SymPy does.
            parser = _Parser(text, tokens, numbers_juxtapose=numbers_juxtapose)
            return parser.parse_all()
    except ParseError:
        raise
    except RecursionError:
        depth = budget.current().depth
        raise ParseLimitError(f"formula nested too deeply (more than {depth} levels)", limit="depth",
                              value=depth) from None
    except (TypeError, ValueError, ArithmeticError, AttributeError, NotImplementedError) as exc:
        pos = parser.tokens[min(parser.i, len(parser.tokens) - 1)].pos
        raise ParseError(f"cannot build this formula ({exc})", text, pos) from None


@budget.guarded
def parse(text: str, latex: bool = False, decimals: bool = False) -> sympy.Basic:
    """Read a formula from text, safely; never evaluates Python.

    Accepts ``^`` and ``**`` for powers, implicit products (``2x``, ``x y``,
    ``2(x+1)``, ``(x+1)(x-1)``, ``2sin(x)``), ``e``, ``pi``, ``|x|``, exact
    decimals (``0.01`` is ``1/100``), prime notation for unknown functions
    (``f'(x)``, ``g''(2x)``) and the functions in :data:`FUNCTIONS`.
    ``latex=True`` reads LaTeX instead (see :mod:`derivkit.parsing_latex`).

    The formula keeps the structure it was typed with: a number times a sum stays
    a product (``-2(2x^2 - 1)``, not ``2 - 4x^2``), so the chain rule still sees
    the inner function. ``decimals=True`` keeps decimals as written (SymPy Floats,
    ``2.1`` rather than ``21/10``), so results show ``25.2`` where a slide does.

    >>> parse("2x + 3")
    2*x + 3
    >>> parse("3(2x^2 - 1)^2 - 2(2x^2 - 1) + 5")
    3*(2*x**2 - 1)**2 - 2*(2*x**2 - 1) + 5
    >>> parse("x^3 f'(x)")
    x**3*Derivative(f(x), x)
    >>> parse("2.1x^2", decimals=True)
    2.1*x**2
    >>> parse("sigma(x) * (1 - sigma(x))")
    (1 - sigmoid(x))*sigmoid(x)
    >>> parse("arcsin(x) + |x| + max(0, x)")
    Abs(x) + asin(x) + Max(0, x)
    >>> parse("sin(x, y)")
    Traceback (most recent call last):
    ...
    derivkit.errors.ParseError: sin takes 1 argument, got 2
      sin(x, y)
      ^
    """
    if latex:
        from derivkit.parsing_latex import parse_latex

        return parse_latex(text, decimals=decimals)
    _check_length(text)
    return _build(text, _tokenize(text), decimals=decimals)


@budget.guarded
def parse_equation(text: str, latex: bool = False, decimals: bool = False) -> tuple[sympy.Symbol, sympy.Basic]:
    """Read ``name = formula`` (as in a chain ``y = 3x - 2``); returns ``(Symbol, expr)``.

    >>> parse_equation("z = y^2")
    (z, y**2)
    >>> parse_equation("2y = x")
    Traceback (most recent call last):
    ...
    derivkit.errors.ParseError: the left side of an equation must be a single name, like 'y = 3*x - 2'
      2y = x
      ^
    """
    if latex:
        from derivkit.parsing_latex import latex_to_plain, _remapped

        plain, where = latex_to_plain(text)
        try:
            return _equation(plain, numbers_juxtapose=True, decimals=decimals)
        except ParseError as err:
            raise _remapped(err, text, where) from None
    _check_length(text)
    return _equation(text, decimals=decimals)


def _equation(
    text: str, *, numbers_juxtapose: bool = False, decimals: bool = False
) -> tuple[sympy.Symbol, sympy.Basic]:
    tokens = _tokenize(text)
    eq = [t for t in tokens if t.text == "=" and t.kind == "op"]
    if not eq:
        raise ParseError("an equation needs '=', like 'y = 3*x - 2'", text, len(text))
    if len(eq) > 1:
        raise ParseError("an equation has exactly one '='", text, eq[1].pos)
    head = tokens[0]
    if (
        tokens[1] is not eq[0]
        or head.kind != "name"
        or head.text in FUNCTIONS and head.text not in _SYMBOL_UNLESS_CALLED
        or head.text in CONSTANTS
    ):
        raise ParseError(
            "the left side of an equation must be a single name, like 'y = 3*x - 2'", text, head.pos
        )
    rhs = tokens[2:]
    if rhs[0].kind == "end":
        raise ParseError("the right side of the equation is missing", text, len(text))
    return sympy.Symbol(head.text), _build(text, rhs, numbers_juxtapose=numbers_juxtapose, decimals=decimals)
