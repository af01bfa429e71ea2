"""The derivative from first principles: the limit of the difference quotient, worked.

    f'(x) = lim_{h -> 0} (f(x + h) - f(x))/h

:func:`first_principles` writes the difference quotient for ``f``, does the
algebra a teacher does on the board, each move a step, and takes the limit:

* a rational function (polynomials included): multiply out the numerator, cancel
  the factor ``h``, and the quotient is continuous at ``h = 0``;
* ``√x``: multiply by the conjugate, then cancel ``h``;
* ``sin x``, ``cos x``: the angle-sum identity, then the standard limits
  ``sin(h)/h -> 1`` and ``(cos(h) - 1)/h -> 0``;
* ``e^x``: ``e^(x + h) = e^x e^h`` and ``(e^h - 1)/h -> 1``;
* ``ln x``: ``ln(x + h) - ln(x) = ln(1 + h/x)`` and ``ln(1 + t)/t -> 1``;
* a sum of constant multiples of these: term by term.

Anything else is refused with an :class:`~derivkit.errors.InputError` that says
which forms are worked (``derive`` differentiates everything else). Every
algebra step is an equality the tests check, and the result equals ``sympy.diff``.

>>> d = first_principles("x^2", "x")
>>> d.result, d.rules
(2*x, ('limit', 'difference_quotient', 'simplify', 'simplify', 'limit'))
>>> first_principles("x^2", "x", at=3).result
6
>>> first_principles("sin(x)", "x").result
cos(x)
"""

from __future__ import annotations

from typing import Any

import sympy

from derivkit.calculus.derivation import Derivation, Math, Step, math, sentence
from derivkit.calculus.simplify import cost, same_value, tidy
from derivkit.decimals import snap_floats
from derivkit.errors import InputError
from derivkit.inputs import ExprLike, SymbolLike, as_number, as_symbol
from derivkit.teaching.function import scalar
from derivkit.notation import expr_latex, expr_text

__all__ = ["first_principles", "MAX_DEGREE"]

#: Polynomials and rational functions up to this degree are worked by hand.
MAX_DEGREE = 12


def _t(e) -> str:
    return expr_text(e)


def _quotient(num: sympy.Basic, h: sympy.Symbol) -> sympy.Basic:
    """``num/h`` kept as a quotient (SymPy would distribute ``1/h`` over a sum)."""
    return sympy.Mul(num, sympy.Pow(h, -1), evaluate=False)


def _limit_math(q: sympy.Basic, h: sympy.Symbol, value: sympy.Basic) -> Math:
    body_t = _t(q)
    if q.is_Add or q.is_Mul:
        body_t = f"({body_t})"
    return Math(f"lim_({_t(h)}→0) {body_t} = {_t(value)}",
                rf"\lim_{{{expr_latex(h)} \to 0}} \left({expr_latex(q)}\right) = {expr_latex(value)}")


def _dq_math(f_name: str, x0: sympy.Basic, h: sympy.Symbol, q: sympy.Basic) -> Math:
    a, ht = _t(x0), _t(h)
    la, lh = expr_latex(x0), expr_latex(h)
    return Math(f"({f_name}({a} + {ht}) - {f_name}({a}))/{ht} = {_t(q)}",
                rf"\frac{{{f_name}({la} + {lh}) - {f_name}({la})}}{{{lh}}} = {expr_latex(q)}")


class Increment(sympy.Symbol):
    """The ``h`` of a difference quotient: it sorts after the variable, so ``x + h`` prints as a teacher writes it."""

    def sort_key(self, order=None):
        return sympy.Symbol("~" + self.name).sort_key(order)


def _rational(f: sympy.Basic, x: sympy.Symbol) -> bool:
    if not f.is_rational_function(x) or f.has(sympy.Float):
        return False
    num, den = sympy.fraction(sympy.together(f))
    try:
        return sympy.degree(num, x) <= MAX_DEGREE and sympy.degree(den, x) <= MAX_DEGREE
    except sympy.PolynomialError:
        return False


_FUNCTIONS = {"sin": sympy.sin, "cos": sympy.cos, "exp": sympy.exp, "log": sympy.log, "sqrt": sympy.sqrt}


def _special(term: sympy.Basic, x: sympy.Symbol) -> tuple[sympy.Basic, str] | None:
    """``(c, kind)`` for a term ``c·sin(x)``, ``c·cos(x)``, ``c·e^x``, ``c·ln(x)``, ``c·√x``; else None."""
    c, rest = term.as_independent(x, as_Add=False)
    kind = next((k for k, fn in _FUNCTIONS.items() if rest == fn(x)), None)
    return (c, kind) if kind is not None else None


def _m(text: str, latex: str) -> Math:
    return Math(text, latex)


def _identity(kind: str, a: sympy.Basic, h: sympy.Symbol) -> tuple[sympy.Basic, Math, Math, sympy.Basic]:
    """For ``(s(a + h) - s(a))/h``: the quotient rewritten, the identity used, the standard limit, the limit."""
    at, ht, al, hl = _t(a), _t(h), expr_latex(a), expr_latex(h)
    trig_limits = _m(f"sin({ht})/{ht} → 1 and (cos({ht}) - 1)/{ht} → 0",
                     rf"\frac{{\sin {hl}}}{{{hl}}} \to 1 \text{{ and }} \frac{{\cos {hl} - 1}}{{{hl}}} \to 0")
    if kind == "sin":
        q = sympy.sin(a) * _quotient(sympy.cos(h) - 1, h) + sympy.cos(a) * _quotient(sympy.sin(h), h)
        return (q, _m(f"sin({at} + {ht}) = sin({at})·cos({ht}) + cos({at})·sin({ht})",
                      rf"\sin({al} + {hl}) = \sin {al} \cos {hl} + \cos {al} \sin {hl}"), trig_limits, sympy.cos(a))
    if kind == "cos":
        q = sympy.cos(a) * _quotient(sympy.cos(h) - 1, h) - sympy.sin(a) * _quotient(sympy.sin(h), h)
        return (q, _m(f"cos({at} + {ht}) = cos({at})·cos({ht}) - sin({at})·sin({ht})",
                      rf"\cos({al} + {hl}) = \cos {al} \cos {hl} - \sin {al} \sin {hl}"), trig_limits, -sympy.sin(a))
    if kind == "exp":
        return (sympy.exp(a) * _quotient(sympy.exp(h) - 1, h),
                _m(f"e^({at} + {ht}) = e^({at})·e^{ht}", rf"e^{{{al} + {hl}}} = e^{{{al}}} e^{{{hl}}}"),
                _m(f"(e^{ht} - 1)/{ht} → 1", rf"\frac{{e^{{{hl}}} - 1}}{{{hl}}} \to 1"), sympy.exp(a))
    if kind == "log":
        t = sympy.Mul(h, sympy.Pow(a, -1), evaluate=False)
        return (_quotient(sympy.log(1 + t), h),
                _m(f"ln({at} + {ht}) - ln({at}) = ln(1 + {_t(t)})",
                   rf"\ln({al} + {hl}) - \ln {al} = \ln\left(1 + {expr_latex(t)}\right)"),
                _m(f"ln(1 + t)/t → 1 with t = {_t(t)}", rf"\frac{{\ln(1 + t)}}{{t}} \to 1 \text{{ with }} t = {expr_latex(t)}"),
                1 / a)
    return (1 / (sympy.sqrt(a + h) + sympy.sqrt(a)),
            _m(f"the conjugate √({at} + {ht}) + √{at} above and below, then cancel {ht}",
               rf"\text{{the conjugate }} \sqrt{{{al} + {hl}}} + \sqrt{{{al}}} \text{{ above and below, then cancel }} {hl}"),
            _continuous(h), 1 / (2 * sympy.sqrt(a)))


def _continuous(h: sympy.Symbol) -> Math:
    return _m(f"the quotient is continuous at {_t(h)} = 0",
              rf"\text{{the quotient is continuous at }} {expr_latex(h)} = 0")


def _rational_part(r: sympy.Basic, x: sympy.Symbol, a: sympy.Basic, h: sympy.Symbol):
    """For a rational ``r``: its quotient multiplied out, then with ``h`` cancelled."""
    n, d = sympy.fraction(sympy.together(r.subs(x, a + h) - r.subs(x, a)))
    n = sympy.expand(n)
    den = d * h if d != 1 else h
    written = sympy.Mul(n, sympy.Pow(den, -1), evaluate=False) if d != 1 else _quotient(n, h)
    cancelled = sympy.cancel(n / den)
    num2, den2 = sympy.fraction(cancelled)
    cancelled = sympy.factor_terms(num2) / sympy.factor_terms(den2) if den2 != 1 else sympy.expand(cancelled)
    return written, cancelled


def first_principles(
    expr: ExprLike, wrt: SymbolLike, at: Any = None, *, decimals: bool = False
) -> Derivation:
    """The derivative of ``expr`` as the limit of its difference quotient, step by step.

    ``at`` gives the point ``x0``: the derivation is then of the number
    ``f'(x0) = lim_{h -> 0} (f(x0 + h) - f(x0))/h``. The steps have the rule ids
    ``difference_quotient`` (writing the quotient), ``simplify``/``rewrite`` (the
    algebra) and ``limit`` (the root, and the limit taken at the end).

    >>> d = first_principles("3x^2 - 4x + 1", "x", at=2)
    >>> d.result, d.point
    (8, ((x, 2),))
    >>> first_principles("1/x", "x").result
    -1/x**2
    >>> first_principles("e^x + sqrt(x)", "x").result
    exp(x) + 1/(2*sqrt(x))
    """
    f = scalar(expr, "first_principles", decimals=decimals)
    x = as_symbol(wrt, f)
    taken = {s.name for s in f.free_symbols} | {x.name}
    h = Increment(next(n for n in ("h", "k", "delta", "h_1") if n not in taken))
    a = x if at is None else as_number(at, what=f"point {x.name}")
    rational, specials = sympy.S.Zero, []
    for term in sympy.Add.make_args(f):
        s = _special(term, x)
        if s is not None:
            specials.append(s)
        elif not term.has(x) or _rational(term, x):
            rational += term
        else:
            raise InputError(
                "derivkit works first principles for rational functions (polynomials included), sin, cos, "
                f"e^x, ln x, √x and sums of their multiples; {_t(term)} is none of these (derive differentiates it)")
    name = "f"
    dq = _quotient(_difference(f, x, a, h), h)
    dq_said = sentence("Write the difference quotient of ", Math(f"f({_t(x)}) = {_t(f)}",
                       f"f({expr_latex(x)}) = {expr_latex(f)}"),
                       *(("." ,) if at is None else (" at ", math(sympy.Eq(x, a, evaluate=False)), ".")))
    steps = [Step("difference_quotient", f, h, dq, text=dq_said[0], pieces=dq_said[1], equation=_dq_math(name, a, h, dq))]
    board = dq

    def move(rule: str, new: sympy.Basic, *pieces) -> None:
        nonlocal board
        if new == board:
            return
        said = sentence(*pieces)
        steps.append(Step(rule, board, h, new, text=said[0], pieces=said[1] if any(isinstance(p, Math) for p in pieces)
                          else ()))
        board = new

    # the parts: (quotient of the part, the part worked, limit, standard limit, identity)
    parts: list[tuple[Any, Any, Any, Any, Math, Math | None]] = []
    if rational.has(x):
        written, cancelled = _rational_part(rational, x, a, h)
        parts.append((_quotient(_difference(rational, x, a, h), h),
                      written, cancelled, cancelled.subs(h, 0), _continuous(h), None))
    for c, kind in specials:
        q, identity, standard, lim = _identity(kind, a, h)
        fn = _FUNCTIONS[kind]
        single = sympy.Add(fn(a + h), -fn(a), evaluate=False)
        parts.append((c * _quotient(single, h), c * q, c * q, c * lim, standard, identity))
    if len(parts) > 1:
        move("rewrite", _flat(p[0] for p in parts),
             "Split the quotient term by term (the sum rule for limits).")
    identities = [p[5] for p in parts if p[5] is not None]
    if rational.has(x):
        move("simplify", _flat(p[1] if p[5] is None else p[0] for p in parts),
             "Multiply out the numerator.")
    if identities:
        move("rewrite", _flat(p[1] for p in parts), "Use ", *_and(identities), ".")
    if rational.has(x):
        move("simplify", _flat(p[2] for p in parts),
             "Cancel the common factor ", math(h), " (", math(sympy.Ne(h, 0)), " inside the limit).")
    value = sympy.Add(*[p[3] for p in parts])
    value = snap_floats(_tidy(value)) if value.free_symbols else snap_floats(sympy.nsimplify(value) if value.has(
        sympy.Float) else sympy.simplify(value))
    limits = list(dict.fromkeys(p[4] for p in parts))
    said = sentence("Let ", Math(f"{_t(h)} → 0", rf"{expr_latex(h)} \to 0"), ": ", *_and(limits, "; "), ".")
    steps.append(Step("limit", board, h, value, text=said[0], pieces=said[1], equation=_limit_math(board, h, value)))
    lhs_t, lhs_l = f"{name}'({_t(a)})", f"{name}'({expr_latex(a)})"
    root_said = sentence("By the definition of the derivative, ", Math(
        f"{lhs_t} = lim_({_t(h)}→0) ({name}({_t(a)} + {_t(h)}) - {name}({_t(a)}))/{_t(h)}",
        rf"{lhs_l} = \lim_{{{expr_latex(h)} \to 0}} \frac{{{name}({expr_latex(a)} + {expr_latex(h)})"
        rf" - {name}({expr_latex(a)})}}{{{expr_latex(h)}}}"), ".")
    root = Step("limit", f, x, value, text=root_said[0], substeps=tuple(steps), pieces=root_said[1],
                equation=Math(f"{lhs_t} = {_t(value)}", f"{lhs_l} = {expr_latex(value)}"))
    if not same_value(value, sympy.diff(f, x).subs(x, a), tries=6):  # pragma: no cover - a defect, never an answer
        raise AssertionError(f"first principles gave {value} for {f}, but the derivative is {sympy.diff(f, x)}")
    point = () if at is None else ((x, a),)
    return Derivation(expr=f, wrt=x, order=1, result=value, steps=root, stages=(root,), method="first_principles",
                      point=point)


def _difference(f: sympy.Basic, x: sympy.Symbol, a: sympy.Basic, h: sympy.Symbol) -> sympy.Basic:
    """``f(a + h) - f(a)`` as written, before any algebra."""
    return sympy.Add(*sympy.Add.make_args(f.subs(x, a + h)), *[-t for t in sympy.Add.make_args(f.subs(x, a))],
                     evaluate=False)


def _flat(items) -> sympy.Basic:
    """A sum of the items, unevaluated (the board keeps each term as written), one level deep."""
    terms = [t for item in items for t in sympy.Add.make_args(item)]
    return terms[0] if len(terms) == 1 else sympy.Add(*terms, evaluate=False)


def _and(items: list, sep: str = " and ") -> list:
    out: list = []
    for i, item in enumerate(items):
        if i:
            out.append(sep)
        out.append(item)
    return out


def _tidy(e: sympy.Basic) -> sympy.Basic:
    """The limit in the form a teacher writes: the shorter of the tidied and the factored form."""
    forms = [tidy(e)]
    if e.is_rational_function():
        forms.append(tidy(sympy.factor(e)))
    return min(forms, key=cost)
