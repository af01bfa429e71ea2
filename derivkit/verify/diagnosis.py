"""Naming the likely mistake behind a wrong derivative.

Each detector rebuilds the derivative **with one typical mistake made on
purpose** and asks whether that reproduces the claimed answer (at the same
random points :class:`~derivkit.verify.equivalence.Sampler` uses to compare).
The mistakes, by diagnosis id:

* ``sign_error``: the whole answer is negated, or one function's derivative has
  the wrong sign (``d/dx cos x = sin x``);
* ``constant_factor``: the answer is a constant times the right one;
* ``missing_chain_factor``: the chain rule applied without the inner factor
  (the derivative recomputed with ``g'`` replaced by 1 at one composition ``f(g(x))``);
* ``missing_term``: one term of a product-rule or sum dropped (the derivative
  recomputed with one factor or summand held constant, or the right answer minus
  one term of its expanded form);
* ``log_base``: ``ln`` confused with ``log10``/``log2`` (a factor ``ln 10`` or
  ``ln 2`` too many or too few);
* ``power_rule_exponent``: ``d/dx u^n`` written ``n u^n`` or ``n u^(n+1)``;
* ``quotient_order``: the quotient rule's numerator in the wrong order,
  ``u·v' - u'·v`` instead of ``u'·v - u·v'`` (named before ``sign_error`` and
  ``product_of_derivatives``, which give the same answer for a plain quotient);
* ``quotient_sign``: the quotient rule with ``+`` instead of ``-``;
* ``product_of_derivatives``: ``(f g)'`` written as ``f' g'``;
* ``exponential_rule``: ``d/dx a^x`` written without its factor ``ln a``;
* ``activation_derivative``: an activation's derivative misremembered, such as
  ``σ' = σ²`` or ``σ(1 + σ)`` for ``σ(1 - σ)``, or ``tanh' = 1 + tanh²`` (also
  for the sigmoid written out as ``1/(1 + e^(-x))``); ``wrong_rule``: the same
  for another function, such as ``tan' = sec`` or ``atan' = 1/(1 - x²)``;
* ``quotient_denominator`` and ``quotient_of_derivatives``: the quotient rule
  divided by ``v`` instead of ``v²``, or written ``u'/v'``;
* ``missing_delta`` (Jacobians): the softmax Jacobian ``p_a(δ_ab - p_b)``
  written without its Kronecker delta (see :func:`softmax_delta`).

Local derivatives come from the rule table (:func:`derivkit.rules.local_derivative`),
so every function the table knows can be diagnosed.

>>> import sympy
>>> x = sympy.Symbol("x")
>>> [f.id for f in diagnose(sympy.sin(x**2), x, 2*x*sympy.cos(x**2), sympy.cos(x**2))]
['missing_chain_factor']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import sympy

from derivkit.functions import relu, sigmoid, step
from derivkit.render.common import expr_text
from derivkit.calculus.several import terms_bound
from derivkit.rules import local_derivative
from derivkit.verify.equivalence import Sampler, close, matches_written, real_value
from derivkit.verify.finding import Finding

__all__ = ["Finding", "Variant", "variants", "diagnose", "diagnose_value", "softmax_delta", "DIAGNOSES"]

#: Every diagnosis id, with a short description.
DIAGNOSES = {
    "sign_error": "the sign is wrong (of the whole answer, of some entries, or of one function's derivative)",
    "constant_factor": "the answer is a constant multiple of the right one",
    "missing_chain_factor": "the chain rule's inner factor g'(x) is missing",
    "missing_term": "a term is missing: of the product rule, of a sum, or of a gradient (such as a regularisation term c·W)",
    "extra_term": "a term too many: the gradient has a term (such as c·W) that the function does not give",
    "log_base": "ln is confused with log10 or log2 (a factor ln 10 or ln 2)",
    "power_rule_exponent": "the power rule misapplied: the exponent not lowered by one, or used with a variable exponent",
    "quotient_sign": "the quotient rule's minus sign is wrong",
    "quotient_order": "the quotient rule's numerator in the wrong order: u·v' - u'·v instead of u'·v - u·v'",
    "quotient_denominator": "the quotient rule's denominator is v^2: divided by v instead",
    "quotient_of_derivatives": "(u/v)' was written as u'/v' instead of (u'·v - u·v')/v^2",
    "product_of_derivatives": "(f g)' was written as f' g' instead of f' g + f g'",
    "exponential_rule": "d/dx a^x = a^x ln a: the factor ln a is missing",
    "activation_derivative": "an activation's derivative misremembered: σ' = σ(1 - σ), tanh' = 1 - tanh², relu' = step",
    "wrong_rule": "a function's derivative misremembered: tan' = sec² (not sec), atan' = 1/(1 + x²) (not 1/(1 - x²)), ...",
    "missing_delta": "the softmax Jacobian without its δ: ∂p_a/∂s_b = p_a(δ_ab - p_b)",
    "transposed": "the matrix is transposed (rows and columns swapped)",
    "wrong_entry": "some entries of the matrix are wrong (in a NumPy gradient: only one row, column or entry)",
    "swapped_parameters": "the gradients of two parameters are swapped (each returned under the other's name)",
    "wrong_loss": "the loss a hand-written backprop returns is not the function's value",
    "arithmetic_slip": "an arithmetic slip in one iteration of a descent table",
    "missing_learning_rate": "a descent step without the learning rate: b - f'(b)",
    "missing_momentum": "a descent step without the momentum term eta Δb",
}

_MAX_VARIANTS = 60
_LOG_CONSTANTS = {
    "ln 10": sympy.log(10),
    "1/ln 10": 1 / sympy.log(10),
    "ln 2": sympy.log(2),
    "1/ln 2": 1 / sympy.log(2),
}


@dataclass(frozen=True)
class Variant:
    """The derivative as it comes out with one mistake made: ``expr``, and the finding's ``message``.

    ``said`` is the message, or a :class:`_Say` that prints it only when it is read
    (most variants are tried and dropped, and printing is the larger part of making one).
    """

    id: str
    expr: sympy.Basic
    said: Any

    @property
    def message(self) -> str:
        return str(self.said)


def _t(e) -> str:
    return expr_text(e)


class _Times:
    """``a·b`` for a message, printed as :func:`_times` does."""

    def __init__(self, a: sympy.Basic, b: sympy.Basic):
        self.a, self.b = a, b

    def __str__(self) -> str:
        return _times(self.a, self.b)


class _Say:
    """A message made when it is read: ``fmt`` with its expressions printed by :func:`expr_text`."""

    def __init__(self, fmt: str, *args: Any):
        self.fmt, self.args = fmt, args

    def __str__(self) -> str:
        return self.fmt.format(*(_t(a) if isinstance(a, sympy.Basic) else str(a) for a in self.args))


def _times(a: sympy.Basic, b: sympy.Basic) -> str:
    """``a·b`` as written by hand, each factor in parentheses when it is a sum or negative."""
    def f(e):
        text = _t(e)
        return f"({text})" if e.is_Add or text.startswith("-") or (e.is_Pow and e.exp.is_negative) else text
    return f"{f(a)}·{f(b)}"


def _local(node: sympy.Basic, u: sympy.Basic) -> sympy.Basic:
    """``f'(u)`` for a one-argument function application ``node = f(u)`` (table first)."""
    try:
        return local_derivative(node.func, (u,))
    except KeyError:
        d = sympy.Dummy("u")
        return sympy.diff(node.func(d), d).xreplace({d: u})


def _with_local(expr: sympy.Basic, x: sympy.Symbol, node: sympy.Basic, local: sympy.Basic) -> sympy.Basic:
    """d/dx ``expr`` with the derivative of every occurrence of ``node`` replaced by ``local``."""
    w = sympy.Function("_mistake")(x)
    d = sympy.diff(expr.xreplace({node: w}), x)
    return d.xreplace({sympy.Derivative(w, x): local}).xreplace({w: node})


def _held(expr: sympy.Basic, x: sympy.Symbol, node: sympy.Basic, part: sympy.Basic) -> sympy.Basic:
    """d/dx ``expr`` with ``part`` held constant inside ``node`` (its term dropped)."""
    frozen = sympy.Dummy("held")
    held = node.func(*[frozen if a == part else a for a in node.args])
    d = sympy.diff(expr.xreplace({node: held}), x)
    return d.xreplace({frozen: part})


def _nodes(expr: sympy.Basic, x: sympy.Symbol) -> list[sympy.Basic]:
    seen: dict[sympy.Basic, None] = {}
    for node in sympy.preorder_traversal(expr):
        if node.has(x) and node != x and not node.is_Symbol:
            seen.setdefault(node, None)
    return list(seen)


def _misremembered_node(node: sympy.Basic) -> tuple[sympy.FunctionClass, sympy.Basic] | None:
    """``(f, g)`` when ``node`` is ``f(g)`` for a function of :data:`_MISREMEMBERED` (σ also written ``1/(1 + e^(-g))``)."""
    if type(node) in _MISREMEMBERED:
        return node.func, node.args[0]
    if isinstance(node, sympy.Pow) and node.exp == -1 and node.base.is_Add and len(node.base.args) == 2:
        one, e = sorted(node.base.args, key=lambda a: a != 1)
        if one == 1 and isinstance(e, sympy.exp):
            return sigmoid, -e.args[0]
    return None


#: Derivatives students misremember: f -> the wrong f'(u), as functions of a = f(u) and u. The
#: activations' mistakes are ``activation_derivative``, the others ``wrong_rule``.
_MISREMEMBERED: dict[Any, tuple[Callable[[Any, Any], Any], ...]] = {
    sigmoid: (lambda a, u: a**2, lambda a, u: a * (1 + a), lambda a, u: 1 - a, lambda a, u: a,
              lambda a, u: a * (1 - a) ** 2),
    sympy.tanh: (lambda a, u: 1 + a**2, lambda a, u: a**2, lambda a, u: 1 - a, lambda a, u: a * (1 - a),
                 lambda a, u: sympy.sech(u)),
    relu: (lambda a, u: a, lambda a, u: step(-u), lambda a, u: sympy.Integer(1)),
    sympy.tan: (lambda a, u: sympy.sec(u), lambda a, u: sympy.sec(u) * sympy.tan(u)),
    sympy.sec: (lambda a, u: sympy.tan(u), lambda a, u: sympy.sec(u) ** 2),
    sympy.csc: (lambda a, u: sympy.cot(u), lambda a, u: -sympy.csc(u) ** 2),
    sympy.cot: (lambda a, u: -sympy.csc(u), lambda a, u: sympy.sec(u) ** 2),
    sympy.asin: (lambda a, u: 1 / sympy.sqrt(1 + u**2), lambda a, u: 1 / (1 + u**2)),
    sympy.acos: (lambda a, u: -1 / sympy.sqrt(1 + u**2), lambda a, u: -1 / (1 + u**2)),
    sympy.atan: (lambda a, u: 1 / (1 - u**2), lambda a, u: 1 / sympy.sqrt(1 + u**2), lambda a, u: 1 / sympy.sqrt(1 - u**2)),
    sympy.exp: (lambda a, u: u * sympy.exp(u - 1),),
}
_ACTIVATIONS = (sigmoid, sympy.tanh, relu)
_NAMES = {sigmoid: "σ", sympy.tanh: "tanh", relu: "relu"}


def _misremembered_variants(expr, x, node) -> Iterator[Variant]:
    """A derivative misremembered: σ' = σ², σ(1 + σ); tanh' = 1 + tanh²; relu' = 1; tan' = sec; atan' = 1/(1 - x²); ..."""
    found = _misremembered_node(node)
    if found is None:
        return
    func, g = found
    u = sympy.Symbol("u")
    a = func(u)
    right = _local(a, u)
    inner = sympy.diff(g, x)
    name = _NAMES.get(func, _t(a))
    written = _Say(" ({} is {})", node, func(g)) if not isinstance(node, func) else ""
    if func is sympy.exp:
        ident, why = "power_rule_exponent", " (the power rule is for a constant exponent; e^u is its own derivative)"
    else:
        ident, why = ("activation_derivative" if func in _ACTIVATIONS else "wrong_rule"), ""
    # e^(x^2) -> x^2·e^(x^2 - 1): the power rule and no chain rule either
    inners = (inner, sympy.Integer(1)) if func is sympy.exp and inner != 1 else (inner,)
    for wrong in _MISREMEMBERED[func]:
        for chained in inners:
            yield Variant(ident, _with_local(expr, x, node, wrong(func(g), g) * chained),
                          _Say("the derivative of {} is misremembered: d/du {} = {}, not {}{}{}", name, a, right,
                               wrong(a, u), written, why))


def _chain_variants(expr, x, node) -> Iterator[Variant]:
    """Outer derivative without the inner factor; a wrong sign; the power rule's exponent."""
    if isinstance(node, sympy.Pow):
        base, n = node.args
        if n.has(x):
            if not base.has(x):  # a^g
                outer = node * sympy.log(base)
                inner = sympy.diff(n, x)
                if n != x:
                    yield Variant("missing_chain_factor", _with_local(expr, x, node, outer),
                                  _Say("the chain rule's inner factor is missing: d/dx {} = {}, the inner factor being "
                                       "the derivative of the exponent {}", node, _Times(outer, inner), n))
                if base != sympy.E:
                    yield Variant("exponential_rule", _with_local(expr, x, node, node * inner),
                                  _Say("d/dx a^x = a^x·ln(a): the factor ln({}) is missing", base))
                for chained in (inner, sympy.Integer(1)):
                    yield Variant("power_rule_exponent", _with_local(expr, x, node, n * base ** (n - 1) * chained),
                                  _Say("the power rule d/du u^n = n·u^(n-1) is for a constant exponent; "
                                       "for the exponential {} the rule is d/du a^u = a^u·ln(a)", node))
            else:  # u^v, both depending on x
                yield Variant("power_rule_exponent", _with_local(expr, x, node, n * base ** (n - 1) * sympy.diff(base, x)),
                              _Say("the power rule d/dx u^n = n·u^(n-1) needs a constant exponent; for {} write it as "
                                   "e^({}) and use the chain rule", node, n * sympy.log(base)))
            return
        outer = n * base ** (n - 1)
        inner = sympy.diff(base, x)
        if base != x and inner != 1:
            yield Variant("missing_chain_factor", _with_local(expr, x, node, outer),
                          _Say("the chain rule's inner factor is missing: d/dx {} = {}, where {} is the derivative of "
                               "the inner function {}", node, _Times(outer, inner), inner, base))
        if n.is_number and n not in (0, 1):
            for wrong in (n * base ** n, n * base ** (n + 1)):
                yield Variant("power_rule_exponent", _with_local(expr, x, node, wrong * inner),
                              _Say("the power rule lowers the exponent by one: d/du u^n = n·u^(n-1), so d/du {} = {}, "
                                   "not {}", base ** n, outer, wrong))
        return
    if not (isinstance(node, sympy.Function) and len(node.args) == 1):
        return
    (g,) = node.args
    outer = _local(node, g)
    inner = sympy.diff(g, x)
    if g != x and inner != 1:
        yield Variant("missing_chain_factor", _with_local(expr, x, node, outer),
                      _Say("the chain rule's inner factor is missing: d/dx {} = {}, where {} is the derivative of the "
                           "inner function {}", node, _Times(outer, inner), inner, g))
    u = sympy.Symbol("u")
    fu = node.func(u)
    yield Variant("sign_error", _with_local(expr, x, node, -outer * inner),
                  _Say("the derivative of {} has the wrong sign: d/du {} = {}", fu, fu, _local(fu, u)))
    if node.func == sympy.log:
        for b in (10, 2):
            wrong = outer / sympy.log(b)
            yield Variant("log_base", _with_local(expr, x, node, wrong * inner),
                          f"ln was differentiated as log{b}: d/du ln u = 1/u, while d/du log{b} u = 1/(u ln {b})")


def _quotient(node: sympy.Basic, x: sympy.Symbol) -> tuple[sympy.Basic, sympy.Basic] | None:
    """``(u, v)`` when ``node`` is a quotient ``u/v`` with both parts depending on ``x``."""
    if not isinstance(node, sympy.Mul):
        return None
    num, den = [], []
    for a in node.args:
        if isinstance(a, sympy.Pow) and a.exp.is_number and a.exp.is_negative and a.has(x):
            den.append(a.base ** -a.exp)
        else:
            num.append(a)
    u, v = sympy.Mul(*num), sympy.Mul(*den)
    return (u, v) if den and u.has(x) else None


def _quotient_variants(expr, x, node) -> Iterator[Variant]:
    """The quotient rule's numerator in the wrong order, and with + for -."""
    parts = _quotient(node, x)
    if parts is None:
        return
    u, v = parts
    du, dv = sympy.diff(u, x), sympy.diff(v, x)
    rule = "(u/v)' = (u'·v - u·v')/v^2"
    yield Variant("quotient_order", _with_local(expr, x, node, (u * dv - du * v) / v**2),
                  _Say("the numerator of the quotient rule is in the wrong order: {}, u' times v first (with u = {} "
                       "and v = {}: {} - {})", rule, u, v, _Times(du, v), _Times(u, dv)))
    yield Variant("quotient_sign", _with_local(expr, x, node, (du * v + u * dv) / v**2),
                  _Say("the quotient rule has a minus sign: {} (with u = {} and v = {})", rule, u, v))
    yield Variant("quotient_denominator", _with_local(expr, x, node, (du * v - u * dv) / v),
                  _Say("the quotient rule divides by v^2, not by v: {} (with v = {}, so the denominator is {})",
                       rule, v, v**2))
    if dv != 0:
        yield Variant("quotient_of_derivatives", _with_local(expr, x, node, du / dv),
                      _Say("the derivative of a quotient is not the quotient of the derivatives: {} (with u = {} "
                           "and v = {}), not u'/v' = {}", rule, u, v, du / dv))


def _product_variants(expr, x, node) -> Iterator[Variant]:
    """Missing terms (sum, product), f' g'."""
    parts = [a for a in node.args if a.has(x)]
    if len(parts) < 2:
        return
    for part in parts:
        if isinstance(node, sympy.Add):
            msg = _Say("the derivative of the term {} is missing (sum rule: differentiate every term)", part)
        else:
            msg = _Say("a term of the product rule is missing, (f·g)' = f'·g + f·g': the term with the derivative "
                       "of {} is dropped", part)
        yield Variant("missing_term", _held(expr, x, node, part), msg)
        if isinstance(node, sympy.Add):
            yield Variant("sign_error", _with_local(expr, x, part, -sympy.diff(part, x)),
                          _Say("the derivative of the term {} has the wrong sign", part))
    if isinstance(node, sympy.Mul) and len(parts) == 2:
        const = sympy.Mul(*[a for a in node.args if not a.has(x)])
        u, v = parts
        wrong = const * sympy.diff(u, x) * sympy.diff(v, x)
        yield Variant("product_of_derivatives", _with_local(expr, x, node, wrong),
                      _Say("the derivative of a product is not the product of the derivatives: d/dx [{}·{}] = {} + {}",
                           u, v, _Times(sympy.diff(u, x), v), _Times(u, sympy.diff(v, x))))


#: SymPy differentiates |u| through re(u) and im(u): for u holding x^n it expands (re + i im)^n.
_MAX_POWER_UNDER_ABS = 32
_TAKES_REAL_PARTS = (sympy.Abs, sympy.sign, sympy.re, sympy.im, sympy.arg, sympy.sinh, sympy.cosh, sympy.tanh,
                     sympy.coth, sympy.sech, sympy.csch)


def _real_parts_too_costly(expr: sympy.Basic) -> bool:
    """Whether ``sympy.diff`` of ``expr`` would expand a large power into real and imaginary parts
    (``|x^100000|``): then no mistake is redone (each redo calls ``sympy.diff``)."""
    for node in expr.atoms(*_TAKES_REAL_PARTS):
        for p in node.atoms(sympy.Pow):
            if p.exp.is_Integer and abs(p.exp) > _MAX_POWER_UNDER_ABS and not p.base.is_number:
                return True
    return False


def variants(expr: sympy.Basic, x: sympy.Symbol) -> list[Variant]:
    """The derivative of ``expr`` as it comes out with each typical mistake (at most 60).

    >>> x = sympy.Symbol("x")
    >>> [(v.id, v.expr) for v in variants(sympy.exp(3*x), x)][:2]
    [('missing_chain_factor', exp(3*x)), ('sign_error', -3*exp(3*x))]
    """
    out: list[Variant] = []
    if _real_parts_too_costly(expr):
        return out
    for node in _nodes(expr, x):
        for gen in (_quotient_variants, _chain_variants, _misremembered_variants, _product_variants):
            try:
                found = list(gen(expr, x, node))
            except (TypeError, ValueError, NotImplementedError, AttributeError, KeyError):
                continue  # a function this detector cannot take apart: no diagnosis from it
            for v in found:
                out.append(v)
                if len(out) >= _MAX_VARIANTS:
                    return out
    for b in (10, 2):
        if expr.has(sympy.log(b)):
            wrong = sympy.diff(expr.xreplace({sympy.log(b): sympy.Integer(1)}), x)
            out.append(Variant("log_base", wrong,
                               f"log{b} was differentiated as ln: d/dx log{b}(u) = u'/(u·ln {b}), the factor 1/ln {b} is missing"))
    raw = sympy.diff(expr, x)
    terms = sympy.Add.make_args(sympy.expand(raw) if terms_bound(raw, 10**4) <= 100 else raw)
    if 1 < len(terms) <= 12:
        for t in terms:
            out.append(Variant("missing_term", raw - t, _Say("the term {} of the derivative is missing", t)))
    return out


def _term_variants(expected: sympy.Basic) -> list[Variant]:
    """The correct answer, as written, with one of its terms dropped or negated."""
    terms = sympy.Add.make_args(expected)
    if not 1 < len(terms) <= 12:
        return []
    out = []
    for t in terms:
        out.append(Variant("missing_term", expected - t, _Say("the term {} of the derivative is missing", t)))
        out.append(Variant("sign_error", expected - 2 * t, _Say("the term {} of the derivative has the wrong sign", t)))
    return out


def _ratio(sampler: Sampler, claimed: sympy.Basic) -> sympy.Basic | None:
    """The constant ``claimed / expected`` if it is one at every sample point, else None."""
    k = None
    for v, ref in zip(sampler.values(claimed), sampler.reference_values):
        if v is None:
            return None
        if close(ref, 0):
            if not close(v, 0):
                return None
            continue
        r = v / ref
        if k is None:
            k = r
        elif not close(k, r):
            return None
    return k


def _whole(sampler: Sampler, claimed: sympy.Basic, has_log: bool = True) -> list[Finding]:
    k = _ratio(sampler, claimed)
    if k is None or close(k, 1):
        return []
    if close(k, -1):
        return [Finding("sign_error", "your answer is the negative of the correct derivative: the sign is wrong")]
    for name, c in _LOG_CONSTANTS.items() if has_log else ():
        if close(k, sympy.N(c, 40)):
            return [Finding("log_base", f"your answer is {name} times the correct one: ln is confused with log10 or log2")]
    if close(k, 0):
        return []
    if not 1e-12 < abs(k) < 1e12:  # nsimplify of a float far from 1 would build huge fractions
        return [Finding("constant_factor", f"your answer is {sympy.Float(k, 6)} times the correct derivative: "
                                           "a constant factor is wrong")]
    exact = sympy.nsimplify(sympy.Float(k, 15), rational=True, tolerance=1e-12)
    shown = _t(exact) if exact.is_Rational and exact.q < 1000 else f"{float(k):.6g}"
    return [Finding("constant_factor", f"your answer is {shown} times the correct derivative: a constant factor is wrong")]


def diagnose(expr: sympy.Basic, wrt: sympy.Symbol, expected: sympy.Basic, claimed: sympy.Basic,
             sampler: Sampler | None = None) -> tuple[Finding, ...]:
    """Findings that explain why ``claimed`` is not ``expected = d/dwrt expr`` (may be empty).

    >>> x = sympy.Symbol("x")
    >>> [f.id for f in diagnose(x**2 * sympy.sin(x), x, 2*x*sympy.sin(x) + x**2*sympy.cos(x), 2*x*sympy.sin(x))]
    ['missing_term']
    """
    if sampler is None:
        sampler = Sampler(expected, (expected.free_symbols | claimed.free_symbols | {wrt}), domain=(expr,))
    if not sampler.points:
        return ()
    found: list[Finding] = []
    target = sampler.values(claimed)
    if all(t is not None for t in target):  # the claim is defined at every point: try each mistake
        for v in variants(expr, wrt) + _term_variants(expected):
            if all(f.id != v.id for f in found) and _agrees_with(sampler, v.expr, target):
                found.append(Finding(v.id, v.message))
    for f in _whole(sampler, claimed, expr.has(sympy.log)):
        if all(g.id != f.id for g in found):
            found.append(f)
    return tuple(sorted(found, key=lambda f: _FIRST.get(f.id, 1)))


#: Mistakes named before others that give the same answer: a quotient's numerator swapped negates
#: the whole derivative, and looks like a sign error or f'·g' too.
_FIRST = {"quotient_order": 0}


def _agrees_with(sampler: Sampler, expr: sympy.Basic, target: list) -> bool:
    """Whether ``expr`` takes the values ``target`` at the sample points (stops at the first miss)."""
    for p, t in zip(sampler.points, target):
        v = real_value(expr, p)
        if v is None or not close(v, t):
            return False
    return True


def diagnose_value(expr: sympy.Basic, wrt: sympy.Symbol, point: dict, expected: sympy.Basic,
                   claimed: sympy.Basic, claimed_raw=None) -> tuple[Finding, ...]:
    """Likely mistakes behind a wrong value of the derivative at ``point`` (Symbols to numbers).

    With one number to go on, a mistake is named when redoing the derivative with
    it gives the claimed value (to the decimals written).

    >>> x = sympy.Symbol("x")
    >>> [f.id for f in diagnose_value(sympy.sin(x**2), x, {x: 1}, 2*sympy.cos(1), sympy.cos(1))]
    ['missing_chain_factor']
    """
    raw = claimed if claimed_raw is None else claimed_raw
    found: list[Finding] = []
    for v in variants(expr, wrt):
        if any(f.id == v.id for f in found):
            continue
        val = real_value(v.expr, point)
        if val is not None and matches_written(raw, claimed, val):
            found.append(Finding(v.id, v.message))
    e = real_value(expected, point)
    if e is not None and not close(e, 0) and matches_written(raw, claimed, -e) and all(f.id != "sign_error" for f in found):
        found.append(Finding("sign_error", "your value is the negative of the correct one: the sign is wrong"))
    return tuple(found)


def softmax_delta(functions: Sequence[sympy.Basic], wrt: Sequence[sympy.Symbol], expected: sympy.MatrixBase,
                  claimed: sympy.MatrixBase, same: Callable[[sympy.Basic, sympy.Basic], bool],
                  base: int = 1) -> Finding | None:
    """``missing_delta`` when ``claimed`` is a softmax Jacobian written without its Kronecker delta.

    The Jacobian of ``p = softmax(s)`` is ``∂p_a/∂s_b = p_a(δ_ab - p_b)``. Two
    ways of losing the δ are recognised: ``-p_a·p_b`` in every entry (δ taken
    as 0) and ``p_a(1 - p_b)`` in every entry (δ taken as 1). ``functions`` are
    the ``p_a`` (or their values at a point), ``expected`` the correct Jacobian,
    ``same(e, c)`` decides whether two entries agree, ``base`` numbers ``a`` and
    ``b`` from 0 or 1 (as the rows are numbered in the message).

    >>> from derivkit.nn import softmax
    >>> s = sympy.symbols("s_0 s_1")
    >>> p = list(softmax(s))
    >>> J = sympy.Matrix(2, 2, lambda a, b: p[a] * (int(a == b) - p[b]))
    >>> f = softmax_delta(p, s, J, sympy.Matrix(2, 2, lambda a, b: -p[a] * p[b]), lambda e, c: sympy.simplify(e - c) == 0, 0)
    >>> print(f.message)
    your Jacobian leaves out the δ in ∂p_a/∂s_b = p_a(δ_ab - p_b) (δ_ab is 1 when a = b, else 0): you have -p_a·p_b
    in every entry, but on the diagonal it is p_a(1 - p_a), e.g. ∂p_0/∂s_0 = p_0·(1 - p_0) (here p_a = softmax(s_0, s_1)[a];
    rows and columns are numbered from 0, as s_0, s_1 are)
    """
    n = len(functions)
    if n < 2 or len(wrt) != n or expected.shape != (n, n) or claimed.shape != (n, n):
        return None
    p = list(functions)
    if not all(same(expected[a, b], p[a] * (int(a == b) - p[b])) for a in range(n) for b in range(n)):
        return None
    s = [w.name for w in wrt]
    i, j = base, base + 1
    if hasattr(p[0], "scores") and base == 0:  # softmax entries, numbered as derivkit prints them
        what = f"p_a = softmax({', '.join(_t(e) for e in p[0].scores)})[a]"
    else:
        what = f"p_a is the function of row a, p_{i} = {_t(p[0])}"
    numbered = f"; rows and columns are numbered from 0, as {', '.join(s)} are" if base == 0 else ""
    rule = f"∂p_a/∂{_stem(s)}_b = p_a(δ_ab - p_b) (δ_ab is 1 when a = b, else 0)"
    where = f" (here {what}{numbered})"
    if all(same(-p[a] * p[b], claimed[a, b]) for a in range(n) for b in range(n)):
        return Finding("missing_delta", f"your Jacobian leaves out the δ in {rule}: you have -p_a·p_b in every entry, "
                                        f"but on the diagonal it is p_a(1 - p_a), e.g. ∂p_{i}/∂{s[0]} = "
                                        f"p_{i}·(1 - p_{i}){where}")
    if all(same(p[a] * (1 - p[b]), claimed[a, b]) for a in range(n) for b in range(n)):
        return Finding("missing_delta", f"your Jacobian takes the δ in {rule} as 1 everywhere: you have p_a(1 - p_b) "
                                        f"in every entry, but off the diagonal it is -p_a·p_b, e.g. ∂p_{i}/∂{s[1]} = "
                                        f"-p_{i}·p_{j}{where}")
    return None


def _stem(names: Sequence[str]) -> str:
    """``s`` for the variables ``s_0, s_1, ...`` (the name without its number), else ``x``."""
    m = re.match(r"^(.*?)_?\{?\d+\}?$", names[0])
    return m.group(1) if m and m.group(1) else "x"
