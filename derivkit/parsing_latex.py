r"""Reading LaTeX formulas: ``parse(r"\frac{1}{1+e^{-x}}", latex=True)``.

The LaTeX is translated, token by token, into the plain notation of
:mod:`derivkit.parsing` (``\frac{a}{b}`` becomes ``((a)/(b))``, ``x^{2}``
becomes ``x^(2)``, ``\sin^{-1}`` becomes ``sin^(-1)``, ...), which the safe
parser then reads with all its limits. Errors point at the place in the LaTeX.
Only the commands of a formula are known (fractions, roots, powers,
subscripts, the functions of the rule table, Greek letters, ``\left``/``\right``
delimiters, spacing); anything else (``\int``, ``\sum``, ``\lim``, macros) is
refused with a :class:`~derivkit.errors.ParseError`.

As in LaTeX, letters written together are separate symbols multiplied
(``xy`` is ``x*y``), a power or subscript without braces takes one character
(``x^23`` is ``3*x**2``), and ``e`` is Euler's number.

>>> parse_latex(r"\frac{1}{1+e^{-x}}")
1/(1 + exp(-x))
>>> parse_latex(r"\sigma(x)\left(1 - \sigma(x)\right)")
(1 - sigmoid(x))*sigmoid(x)
>>> parse_latex(r"\sin^{-1} x + \ln x + \sqrt{x} + x^{2}")
sqrt(x) + x**2 + log(x) + asin(x)
>>> parse_latex(r"\int x dx")
Traceback (most recent call last):
...
derivkit.errors.ParseError: the LaTeX command \int is not supported in a formula
  \int x dx
  ^
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy

from derivkit import budget
from derivkit.errors import ParseError, ParseLimitError
from derivkit.parsing import (
    FUNCTIONS,
    _build,
    _check_length,
    _GREEK,
    _tokenize,
)

__all__ = ["parse_latex", "latex_to_plain"]

#: LaTeX commands that name a function of the rule table (``\sigma`` is the sigmoid when called).
_FUNCTION_COMMANDS = {
    name: name
    for name in (
        "sin cos tan csc sec cot sinh cosh tanh csch sech coth "
        "arcsin arccos arctan arccot arcsec arccsc arsinh arcosh artanh arcoth arsech arcsch "
        "arcsinh arccosh arctanh exp ln log max min"
    ).split()
}
_FUNCTION_COMMANDS.update({"lg": "log10", "erf": "erf"})

_GREEK_COMMANDS = {name: name for name in _GREEK if name != "omicron"}
_GREEK_COMMANDS.update(
    {"varepsilon": "epsilon", "varphi": "phi", "vartheta": "theta", "varsigma": "sigma", "varrho": "rho"}
)
_GREEK_COMMANDS.update(
    {n.capitalize(): n.capitalize() for n in "delta theta lambda xi pi sigma upsilon phi psi omega".split()}
)
_GREEK_COMMANDS["Gamma"] = "gamma"  # \Gamma(x) is the gamma function; \Gamma alone the symbol gamma

_TIMES = {"cdot", "times", "ast"}
_DIVIDE = {"div"}
_SPACING = {",", ";", ":", "!", " ", "quad", "qquad", "displaystyle", "textstyle"}
_SIZING = {"left", "right", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr", "big", "Big", "bigg", "Bigg"}
_BARS = {"vert", "lvert", "rvert", "mid", "|"}
_NAMED_GROUP = {"operatorname", "mathrm", "text", "mathit", "textrm", "operatorname*"}
_OPEN = {"(": "(", "[": "(", "\\{": "(", "\\lbrace": "(", "\\langle": "("}
_CLOSE = {")": ")", "]": ")", "\\}": ")", "\\rbrace": ")", "\\rangle": ")"}

_LEIBNIZ = re.compile(r"\{\s*(d|\\mathrm\{d\}|\\partial)[^}]*\}\s*\{\s*(d|\\mathrm\{d\}|\\partial)\s*[A-Za-z\\]")
_TOKEN = re.compile(r"\\([A-Za-z]+\*?|.)|([0-9]+(?:\.[0-9]+)?)|(\s+)|(.)", re.DOTALL)


@dataclass
class _Tok:
    kind: str  # "cmd", "num", "char", "end"
    text: str
    pos: int


def _lex(text: str) -> list[_Tok]:
    toks = []
    for m in _TOKEN.finditer(text):
        if m.group(1) is not None:
            toks.append(_Tok("cmd", m.group(1), m.start()))
        elif m.group(2) is not None:
            toks.append(_Tok("num", m.group(2), m.start()))
        elif m.group(4) is not None:
            toks.append(_Tok("char", m.group(4), m.start()))
    toks.append(_Tok("end", "", len(text)))
    return toks


class _Translator:
    """LaTeX tokens -> plain text, remembering where each output character came from."""

    def __init__(self, text: str):
        self.text = text
        self.toks = _lex(text)
        self.i = 0
        self.out: list[str] = []
        self.where: list[int] = []
        self.depth = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def error(self, message: str, pos: int | None = None) -> ParseError:
        return ParseError(message, self.text, self.tok.pos if pos is None else pos)

    def emit(self, s: str, pos: int, glue: bool = False) -> None:
        if not glue:
            s = " " + s
        self.out.append(s)
        self.where.extend([pos] * len(s))

    def enter(self) -> None:
        self.depth += 1
        most = budget.current().depth
        if self.depth > most:
            raise ParseLimitError(f"formula nested too deeply (more than {most} levels)", self.text, self.tok.pos,
                                  limit="depth", value=most)

    # -- the translation ------------------------------------------------------
    def run(self) -> tuple[str, list[int]]:
        self.sequence(stop=None)
        if self.tok.kind != "end":
            raise self.error(f"unmatched {self.tok.text!r}")
        return "".join(self.out), self.where

    def sequence(self, stop: str | None) -> None:
        while True:
            tok = self.tok
            if tok.kind == "end" or (tok.kind == "char" and tok.text == stop):
                return
            if tok.kind == "char" and tok.text == "}":
                raise self.error("'}' closes nothing")
            self.item()

    def group(self) -> None:
        """``{...}`` as a parenthesised formula."""
        open_tok = self.tok
        self.i += 1
        self.enter()
        self.emit("(", open_tok.pos)
        self.sequence(stop="}")
        if self.tok.kind == "end":
            raise self.error("'{' opened here is never closed", open_tok.pos)
        self.emit(")", self.tok.pos)
        self.i += 1
        self.depth -= 1

    def argument(self, what: str) -> None:
        """One argument of ``\\frac``, ``\\sqrt`` or ``^``: a ``{group}`` or a single character."""
        tok = self.tok
        if tok.kind == "char" and tok.text == "{":
            self.group()
            return
        if tok.kind == "end" or (tok.kind == "char" and tok.text in "}^_"):
            raise self.error(f"{what} is missing its argument")
        if tok.kind == "num" and len(tok.text) > 1:
            # x^23 is x^2 * 3: a brace-less argument is one character
            self.emit(tok.text[0], tok.pos)
            self.toks[self.i] = _Tok("num", tok.text[1:], tok.pos + 1)
            return
        self.emit("(", tok.pos)
        self.enter()
        self.item()
        self.depth -= 1
        self.emit(")", tok.pos)

    def raw_group(self, what: str) -> tuple[str, int]:
        """The raw text of a ``{...}`` group holding a name (``\\operatorname{ReLU}``)."""
        tok = self.tok
        if not (tok.kind == "char" and tok.text == "{"):
            raise self.error(f"{what} needs a name in braces")
        start = tok.pos + 1
        end = self.text.find("}", start)
        if end < 0:
            raise self.error("'{' opened here is never closed", tok.pos)
        while self.tok.kind != "end" and self.tok.pos < end:
            self.i += 1
        self.i += 1  # the closing brace
        return self.text[start:end].strip(), start

    def item(self) -> None:
        tok = self.tok
        if tok.kind == "num":
            self.i += 1
            self.emit(tok.text, tok.pos)
            return
        if tok.kind == "cmd":
            self.command()
            return
        c = tok.text
        if c == "{":
            self.group()
            return
        if c == "^":
            self.i += 1
            self.emit("^", tok.pos)
            self.argument("'^'")
            return
        if c == "_":
            raise self.error("a subscript must follow a letter, as in x_1")
        if c == "'":
            raise self.error("primes (f') are not supported: give the formula itself")
        if c == "&" or c == "#" or c == "%" or c == "~":
            raise self.error(f"{c!r} is not allowed in a LaTeX formula")
        self.i += 1
        if c.isascii() and c.isalpha():
            self.letter(tok)
            return
        if c in _OPEN:
            self.emit("(", tok.pos)
        elif c in _CLOSE:
            self.emit(")", tok.pos)
        else:
            self.emit(c, tok.pos)  # operators, '|', ',', '=', unicode: the plain parser judges

    def letter(self, tok: _Tok) -> None:
        name = tok.text
        if self.tok.kind == "char" and self.tok.text == "_":
            name += "_" + self.subscript()
        self.emit(name, tok.pos)

    def subscript(self) -> str:
        """The text of a subscript: ``_1``, ``_{12}``, ``_{jk}``."""
        self.i += 1
        tok = self.tok
        if tok.kind == "char" and tok.text == "{":
            sub, pos = self.raw_group("a subscript")
        elif tok.kind in ("num", "char"):
            self.i += 1
            sub, pos = (tok.text[0], tok.pos)
            if tok.kind == "num" and len(tok.text) > 1:
                self.i -= 1
                self.toks[self.i] = _Tok("num", tok.text[1:], tok.pos + 1)
        else:
            raise self.error("a subscript must be letters or digits")
        sub = sub.replace(" ", "").replace(",", "")
        if not re.fullmatch(r"[A-Za-z0-9]+", sub):
            raise self.error("a subscript must be letters or digits", pos)
        return sub

    def command(self) -> None:
        tok = self.tok
        name = tok.text
        self.i += 1
        if name in ("frac", "dfrac", "tfrac") and _LEIBNIZ.match(self.text, self.tok.pos):
            raise ParseError(
                "derivative notation (d/dx) is not a formula: give the function and use derive()",
                self.text,
                tok.pos,
            )
        if name in ("frac", "dfrac", "tfrac"):
            self.emit("((", tok.pos)
            self.argument(f"\\{name}")
            self.emit(")/(", tok.pos)
            self.argument(f"\\{name}")
            self.emit("))", tok.pos)
        elif name == "sqrt":
            self.sqrt(tok)
        elif name in _SIZING:
            self.delimiter(tok)
        elif name in _TIMES:
            self.emit("*", tok.pos)
        elif name in _DIVIDE:
            self.emit("/", tok.pos)
        elif name in _SPACING:
            pass
        elif name in _BARS:
            self.emit("|", tok.pos)
        elif name in ("{", "lbrace", "langle"):
            self.emit("(", tok.pos)
        elif name in ("}", "rbrace", "rangle"):
            self.emit(")", tok.pos)
        elif name == "log" and self.tok.kind == "char" and self.tok.text == "_":
            self.i += 1
            # log_b(x) = log(x)/log(b): emitted as (1/log(b))*log, which takes the argument after it
            self.emit("(1/log(", tok.pos)
            self.argument("the base of \\log")
            self.emit("))*log", tok.pos)
        elif name in _FUNCTION_COMMANDS:
            self.emit(_FUNCTION_COMMANDS[name], tok.pos)
        elif name in _GREEK_COMMANDS:
            greek = _GREEK_COMMANDS[name]
            if self.tok.kind == "char" and self.tok.text == "_":
                greek += "_" + self.subscript()
            self.emit(greek, tok.pos)
        elif name in _NAMED_GROUP:
            self.named(tok)
        else:
            raise ParseError(f"the LaTeX command \\{name} is not supported in a formula", self.text, tok.pos)

    def sqrt(self, tok: _Tok) -> None:
        if self.tok.kind == "char" and self.tok.text == "[":
            self.i += 1
            self.emit("((", tok.pos)
            start = self.tok.pos
            body_out, body_where = self.out, self.where
            # translate the index first, then the radicand, and emit radicand^(1/index)
            self.out, self.where = [], []
            self.enter()
            self.sequence(stop="]")
            self.depth -= 1
            if self.tok.kind == "end":
                raise self.error("'[' opened here is never closed", start)
            self.i += 1
            index_out, index_where = self.out, self.where
            self.out, self.where = body_out, body_where
            self.argument("\\sqrt")
            self.emit(")^(1/(", tok.pos)
            self.out.extend(index_out)
            self.where.extend(index_where)
            self.emit(")))", tok.pos)
            return
        self.emit("sqrt", tok.pos)
        self.argument("\\sqrt")

    def delimiter(self, tok: _Tok) -> None:
        """``\\left(``, ``\\right|``, ``\\left.``: the delimiter after a sizing command."""
        d = self.tok
        if d.kind == "end":
            raise self.error(f"\\{tok.text} needs a delimiter after it")
        self.i += 1
        key = d.text if d.kind == "char" else "\\" + d.text
        if key in _OPEN:
            self.emit("(", d.pos)
        elif key in _CLOSE:
            self.emit(")", d.pos)
        elif key in ("|", "\\|", "\\vert", "\\lvert", "\\rvert"):
            self.emit("|", d.pos)
        elif key == ".":
            pass
        else:
            raise ParseError(f"unknown delimiter {key!r} after \\{tok.text}", self.text, d.pos)

    def named(self, tok: _Tok) -> None:
        """``\\operatorname{ReLU}``, ``\\mathrm{e}``, ``\\text{sigmoid}``."""
        word, pos = self.raw_group(f"\\{tok.text}")
        key = word.replace("\\_", "_").replace(" ", "")
        for candidate in (key, key.lower()):
            if candidate in FUNCTIONS or candidate in ("e", "pi"):
                self.emit(candidate, pos)
                return
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key):
            self.emit(key, pos)  # a multi-letter name: the plain parser decides (symbol or unknown call)
            return
        raise ParseError(f"cannot read {word!r} as a name", self.text, pos)


def latex_to_plain(text: str) -> tuple[str, list[int]]:
    r"""Translate LaTeX to the plain notation; returns the text and, per character, its LaTeX position.

    >>> latex_to_plain(r"\frac{1}{x^2}")[0]
    ' (( ( 1 ) )/( ( x ^ ( 2 ) ) ))'
    """
    _check_length(text)
    return _Translator(text).run()


def _remapped(err: ParseError, text: str, where: list[int]) -> ParseError:
    """The error of the plain translation, pointing into the LaTeX text (a limit stays a limit)."""
    pos = err.position
    if pos is not None:
        pos = where[pos] if pos < len(where) else len(text)
    if isinstance(err, ParseLimitError):
        return ParseLimitError(err.reason, text, pos, limit=err.limit, value=err.value, part=err.part)
    return ParseError(err.reason, text, pos)


def parse_latex(text: str, decimals: bool = False) -> sympy.Basic:
    r"""Read a LaTeX formula, safely (see the module docstring).

    >>> parse_latex(r"\operatorname{ReLU}(x) + \tanh(x)")
    tanh(x) + relu(x)
    """
    plain, where = latex_to_plain(text)
    try:
        return _build(plain, _tokenize(plain), numbers_juxtapose=True, decimals=decimals)
    except ParseError as err:
        raise _remapped(err, text, where) from None
