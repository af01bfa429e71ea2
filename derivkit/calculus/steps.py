"""The step engine: derivatives worked step by step, each step naming its rule.

:func:`derive` walks an expression tree the way a textbook does (difference
rule for ``a - b``, quotient rule for ``f/g``, constant multiple rule for
``c f``, chain rule written "let u = g(x)", ...) and records a
:class:`~derivkit.calculus.derivation.Step` for every rule that fires. Every
derivative comes from the rule table (:mod:`derivkit.rules`); functions the
table lacks get a labelled ``sympy`` step, never a crash. The assembled result
is tidied into the form teachers write, each rewrite shown as a step.

>>> from derivkit.calculus.steps import derive
>>> d = derive("sin(x^2)", "x")
>>> d.result
2*x*cos(x**2)
>>> d.rules
('chain', 'sin', 'power')
>>> d.steps.let
((u, x**2),)
>>> derive("x^3", "x", order=2).result
6*x
"""

from __future__ import annotations

import dataclasses
from typing import Iterator

import sympy
from sympy.core.function import AppliedUndef

from derivkit import budget
from derivkit.calculus import kinks
from derivkit.calculus.derivation import Derivation, Math, Step, math, note, sentence
from derivkit.calculus.simplify import teacher_rewrites
from derivkit.decimals import snap_floats
from derivkit.errors import DomainError, InputError, LimitError
from derivkit.inputs import ExprLike, SymbolLike, as_expr, as_symbol
from derivkit.notation import derivative_latex, derivative_text, expr_latex, expr_text
from derivkit.rules import RULES, Rule, rule_for

__all__ = ["derive", "MAX_NODES", "MAX_DEPTH", "MAX_ORDER"]

# The limits are those of derivkit.budget (change them with derivkit.limits); these names give
# their defaults.

#: Largest expression (nodes of its tree) the engine accepts, and the largest derivative it builds.
MAX_NODES = budget.DEFAULTS.nodes
MAX_RESULT_NODES = budget.DEFAULTS.result_nodes
#: Largest (factors x nodes) of a product the product rule writes out (it writes factors^2 terms).
MAX_PRODUCT_WORK = 1_000_000
#: Deepest expression tree accepted (``sin(sin(sin(...)))``): 1.5 times the nesting limit of a formula.
MAX_DEPTH = 3 * budget.DEFAULTS.depth // 2
#: Highest order accepted.
MAX_ORDER = budget.DEFAULTS.order

_LETTERS = ("u", "v", "w")


def _t(expr) -> str:
    """Expressions in step sentences use the same notation as the renderers."""
    return expr_text(expr)


def _tree_depth() -> int:
    return 3 * budget.current().depth // 2


def _measure(expr: sympy.Basic, max_nodes: int) -> tuple[int, int]:
    """(number of nodes, depth) of ``expr``; stops counting once either limit is passed."""
    nodes, deepest, stack = 0, 0, [(expr, 1)]
    most = _tree_depth()
    while stack:
        node, d = stack.pop()
        nodes += 1
        deepest = max(deepest, d)
        if deepest > most or nodes > max_nodes:
            break
        stack.extend((a, d + 1) for a in node.args)
    return nodes, deepest


def _check_size(expr: sympy.Basic, what: str) -> None:
    lim = budget.current()
    name = "nodes" if what == "expression" else "result_nodes"
    limit = getattr(lim, name)
    nodes, depth = _measure(expr, limit)
    if depth > _tree_depth():
        raise LimitError(f"the {what} is nested more than {_tree_depth()} levels deep; derivkit refuses it",
                         limit="depth", value=lim.depth, part=budget.shorten(expr))
    if nodes > limit:
        raise LimitError(
            f"the {what} is too large to derive step by step (more than {limit:,} nodes in its tree; "
            f"the {budget.DESCRIPTIONS[name]})", limit=name, value=limit, part=budget.shorten(expr)
        )
    for f in expr.atoms(AppliedUndef):
        if len(f.args) > lim.arguments:
            raise LimitError(
                f"the unknown function {type(f).__name__} has {len(f.args)} arguments; derivkit derives "
                f"unknown functions of at most {lim.arguments} (the argument limit)",
                limit="arguments", value=lim.arguments, part=budget.shorten(f))


class _Engine:
    """Derives one expression; hands out let-letters that do not clash with the user's names."""

    def __init__(self, wrt: sympy.Symbol, expr: sympy.Basic):
        self.wrt = wrt
        self.used = {s.name for s in expr.free_symbols} | {wrt.name}
        self.used |= {type(f).__name__ for f in expr.atoms(AppliedUndef)}

    def _letter_names(self) -> Iterator[str]:
        yield from _LETTERS
        k = 1
        while True:
            yield f"u_{k}"
            k += 1

    def fresh(self) -> sympy.Symbol:
        for name in self._letter_names():
            if name not in self.used:
                self.used.add(name)
                return sympy.Symbol(name)
        raise AssertionError("unreachable")  # pragma: no cover

    # ---------------------------------------------------------------- dispatch
    def d(self, e: sympy.Basic, x: sympy.Symbol) -> Step:
        budget.checkpoint()
        if not e.has(x):
            return _step("constant", e, x, sympy.S.Zero, _said("constant", e, x, sympy.S.Zero))
        if e == x:
            return _step("variable", e, x, sympy.S.One, _said("variable", e, x, sympy.S.One))
        if e.is_Add:
            return self._add(e, x)
        if e.is_Mul:
            return self._mul(e, x)
        if e.is_Pow:
            return self._pow(e, x)
        if isinstance(e, AppliedUndef):
            return self._undefined(e, x)
        if isinstance(e, (sympy.Derivative, sympy.Subs)) and _prime(e) is not None:
            return self._primed(e, x)
        rule = rule_for(e)
        if rule is not None and rule.id in ("max", "min"):
            return self._maxmin(e, x, rule)
        if rule is not None and rule.id == "piecewise":
            return self._piecewise(e, x)
        if rule is not None and rule.id == "step":
            return self._step_fn(e, x)
        if rule is not None and rule.derivative is not None and not any(a.has(x) for a in e.args[1:]):
            return self._function(e, x, rule)
        return self._fallback(e, x)

    # ---------------------------------------------------------------- basic rules
    def _add(self, e, x) -> Step:
        inner = _common_inner(e, x)
        if inner is not None:
            return self._composite(e, inner, x)
        terms = e.as_ordered_terms()
        subs, parts, minus = [], [], False
        for term in terms:
            if term.could_extract_minus_sign() and len(terms) > 1:
                s = self.d(-term, x)
                parts.append(-s.result)
                minus = True
            else:
                s = self.d(term, x)
                parts.append(s.result)
            subs.append(s)
        total = sympy.Add(*parts)
        if minus:
            said = sentence("By the sum and difference rules, differentiate term by term, keeping the minus signs.")
            return _step("difference", e, x, total, said, subs)
        return _step("sum", e, x, total, sentence("By the sum rule, differentiate term by term."), subs)

    def _composite(self, e, h, x) -> Step:
        """``e = g(h(x))`` for a sum ``e`` in which ``x`` appears only inside ``h``: one chain rule for all of it."""
        u = self.fresh()
        g = e.xreplace({h: u})
        outer = self.d(g, u)
        said = sentence("By the chain rule, ", math(e), " = g(h(x)) with ", Math(f"g({_t(u)}) = {_t(g)}",
                        f"g({expr_latex(u)}) = {expr_latex(g)}"), " and ", Math(f"h(x) = {_t(h)}".replace("(x)", f"({_t(x)})"),
                        f"h({expr_latex(x)}) = {expr_latex(h)}"), ", so its derivative is g'(h(x)) h'(x).")
        return self._chain_with(e, h, x, outer, u, said=said)

    def _mul(self, e, x) -> Step:
        factors = e.as_ordered_factors()
        const = [f for f in factors if not f.has(x)]
        var = [f for f in factors if f.has(x)]
        # log_a(g) arrives from SymPy as log(g)/log(a).
        if len(var) == 1 and isinstance(var[0], sympy.log) and len(var[0].args) == 1:
            for i, c in enumerate(const):
                if c.is_Pow and c.exp == -1 and isinstance(c.base, sympy.log) and c.base.args[0] != sympy.E:
                    inner = self._log_base(var[0] * c, var[0].args[0], c.base.args[0], x)
                    rest = sympy.Mul(*(const[:i] + const[i + 1:]))
                    return inner if rest == 1 else self._constant_multiple(e, rest, inner, x)
        coeff = sympy.Mul(*const)
        if coeff != 1:
            inner = self.d(sympy.Mul(*var), x)
            return self._constant_multiple(e, coeff, inner, x)
        den = [f for f in var if f.is_Pow and f.exp.is_number and f.exp.is_negative]
        num = [f for f in var if f not in den]
        if den:
            return self._quotient(e, sympy.Mul(*num), sympy.Mul(*[1 / f for f in den]), x)
        return self._product(e, var, x)

    def _constant_multiple(self, e, c, inner: Step, x) -> Step:
        said = sentence("By the constant multiple rule, keep the constant ", math(c), " and differentiate ",
                        math(inner.expr), ".")
        return _step("constant_multiple", e, x, c * inner.result, said, [inner])

    def _product(self, e, factors, x) -> Step:
        work = len(factors) * _measure(e, MAX_PRODUCT_WORK)[0]
        if work > MAX_PRODUCT_WORK:
            raise LimitError(
                f"a product of {len(factors)} factors is too large to derive step by step: the product rule "
                f"would write {len(factors)} terms of {len(factors)} factors each",
                limit="nodes", value=budget.current().nodes, part=budget.shorten(e),
            )
        subs = [self.d(f, x) for f in factors]
        total = sympy.Add(*[sympy.Mul(*(factors[:i] + [s.result] + factors[i + 1:])) for i, s in enumerate(subs)])
        if len(factors) == 2:
            said = sentence("By the product rule with ", Math(f"f = {_t(factors[0])}", f"f = {expr_latex(factors[0])}"),
                            " and ", Math(f"g = {_t(factors[1])}", f"g = {expr_latex(factors[1])}"), ": ",
                            Math("(f g)' = f' g + f g'", "(f g)' = f' g + f g'"), ".")
        else:
            said = sentence(f"By the product rule for {len(factors)} factors: differentiate one factor at a time "
                            "and keep the others.")
        return _step("product", e, x, total, said, subs)

    def _quotient(self, e, f, g, x) -> Step:
        sf, sg = self.d(f, x), self.d(g, x)
        result = (g * sf.result - f * sg.result) / g**2
        said = sentence("By the quotient rule with ", Math(f"f = {_t(f)}", f"f = {expr_latex(f)}"), " and ",
                        Math(f"g = {_t(g)}", f"g = {expr_latex(g)}"), ": ",
                        Math("(f/g)' = (g f' - f g')/g^2", r"\left(\frac{f}{g}\right)' = \frac{g f' - f g'}{g^2}"), ".")
        return _step("quotient", e, x, result, said, [sf, sg])

    def _pow(self, e, x) -> Step:
        base, n = e.base, e.exp
        if not n.has(x):
            if n == sympy.S.Half:
                rule = RULES["sqrt"]
                outer = lambda u: _step(
                    "sqrt", sympy.sqrt(u), u, rule.d(u), _said("sqrt", sympy.sqrt(u), u, rule.d(u)),
                    notes=_conditions(rule, (u,), sympy.sqrt(u)))
            else:
                rule = RULES["power"]
                outer = lambda u: _step(
                    "power", u**n, u, rule.d(u, n),
                    sentence("By the power rule with ", math(sympy.Eq(sympy.Symbol("n"), n, evaluate=False)), ": ",
                             Math(f"d/d{_t(u)} {_t(u)}^n = n {_t(u)}^(n-1)",
                                  rf"\frac{{d}}{{d{expr_latex(u)}}} {expr_latex(u)}^{{n}} = n {expr_latex(u)}^{{n-1}}"),
                             "."))
            return self._maybe_chain(e, base, x, outer, rule)
        if base.is_zero:
            return _zero_power(e, n, x)
        if not base.has(x):
            rule = RULES["exponential"]
            outer = lambda u: _step(
                "exponential", base**u, u, rule.d(base, u),
                _said("exponential", base**u, u, rule.d(base, u)),
                notes=_conditions(rule, (base,), base**u))
            return self._maybe_chain(e, n, x, outer, rule)
        return self._general_power(e, base, n, x)

    def _general_power(self, e, f, g, x) -> Step:
        exponent = g * sympy.log(f)
        rewrite = _step("rewrite", e, x, sympy.exp(exponent),
                        sentence("Rewrite ", math(e), " as ", math(sympy.exp(exponent, evaluate=False)), ", since ",
                                 Math("f^g = e^(g ln f)", r"f^{g} = e^{g \ln f}"), "."))
        inner = self.d(exponent, x)
        result = e * inner.result
        y = sympy.Symbol("y")
        said = sentence("By logarithmic differentiation: ", math(sympy.Eq(sympy.log(y), exponent, evaluate=False)),
                        ", so ", Math(f"y'/y = d/d{_t(x)} [{_t(exponent)}]",
                                      rf"\frac{{y'}}{{y}} = {derivative_latex(exponent, x)}"),
                        " and y' is ", math(e), " times that derivative.")
        notes = _conditions(RULES["general_power"], (f,), e)
        return _step("general_power", e, x, result, said, [rewrite, inner], notes=notes)

    def _log_base(self, e, g, a, x) -> Step:
        rule = RULES["log_base"]
        outer = lambda u: _step(
            "log_base", sympy.log(u) / sympy.log(a), u, rule.d(u, a),
            _said("log_base", sympy.log(u) / sympy.log(a), u, rule.d(u, a)),
            notes=_conditions(rule, (u,), sympy.log(u) / sympy.log(a)))
        return self._maybe_chain(e, g, x, outer, rule)

    # ---------------------------------------------------------------- functions
    def _function(self, e, x, rule: Rule) -> Step:
        head, rest = e.func, e.args[1:]

        def outer(u):
            fu = head(u, *rest)
            d = rule.d(u, *rest)
            return _step(rule.id, fu, u, d, _said(rule.id, fu, u, d), notes=_conditions(rule, (u, *rest), fu))

        return self._maybe_chain(e, e.args[0], x, outer, rule)

    def _maybe_chain(self, e, inner_expr, x, outer, rule: Rule) -> Step:
        """``outer(u)`` is the step for the outer function at a symbol; chain it with ``inner_expr``."""
        if inner_expr == x:
            return outer(x)
        u = self.fresh()
        if rule.id == "exponential":
            o = outer(u)
            notes = o.notes
        else:
            notes = _conditions(rule, (inner_expr, *_extra_args(e, rule)), e) if rule.id != "power" else ()
        return self._chain_with(e, inner_expr, x, outer(u), u, notes)

    def _step_fn(self, e, x) -> Step:
        rule = RULES["step"]
        if any(a.has(x) for a in e.args[1:]):
            return self._fallback(e, x)
        said = sentence("By the step rule, the derivative of a step function is 0 wherever it exists, "
                        "so gradient descent cannot move the weights behind it.")
        return _step("step", e, x, sympy.S.Zero, said, notes=_conditions(rule, e.args, e))

    def _maxmin(self, e, x, rule: Rule) -> Step:
        args = list(e.args)
        subs = [self.d(a, x) for a in args]
        better = (lambda a, b: a > b) if rule.id == "max" else (lambda a, b: a < b)
        # Every piece is strict: where arguments tie the derivative is undefined, not that of the last one.
        pieces = []
        for i in range(len(args)):
            cond = sympy.And(*[better(args[i], args[j]) for j in range(len(args)) if j != i])
            pieces.append((subs[i].result, cond))
        result = sympy.Piecewise(*pieces)
        word = "largest" if rule.id == "max" else "smallest"
        said = sentence(f"By the {rule.name}, the derivative of ", math(e), " is the derivative of whichever "
                        f"argument is the {word}; where they tie it is undefined.")
        pairs = [(args[i], args[j]) for i in range(len(args)) for j in range(i + 1, len(args))]
        ties = [sympy.Eq(a, b, evaluate=False) if a.has(x) or not b.has(x) else sympy.Eq(b, a, evaluate=False)
                for a, b in pairs]
        ties = [t for t in ties if _can_hold(t)]
        notes = (note(math(e), " is not differentiable where its arguments tie: ", *_joined(ties), "."),) if ties else ()
        return _step(rule.id, e, x, result, said, subs, notes=notes)

    def _piecewise(self, e, x) -> Step:
        subs = [self.d(piece.expr, x) for piece in e.args]
        conds, bad = kinks.piecewise_conditions(e, [s.result for s in subs], x)
        result = sympy.Piecewise(*[(s.result, c) for s, c in zip(subs, conds) if c is not sympy.false])
        said = sentence("By the piecewise rule, differentiate each piece on its own interval.")
        if bad is None:
            bounds = []
            for piece in e.args:
                if piece.cond is sympy.true or piece.cond is True:
                    continue
                for rel in piece.cond.atoms(sympy.core.relational.Relational):
                    b = _t(sympy.Eq(rel.lhs, rel.rhs, evaluate=False))
                    if b not in bounds:
                        bounds.append(b)
            notes = (note(math(e), " may not be differentiable where the pieces meet: ", *_joined(bounds), "."),) \
                if bounds else ()
        elif bad:
            where = _joined([sympy.Eq(x, b, evaluate=False) for b in bad])
            notes = (note(math(e), " is not differentiable at ", *where, ", where the pieces meet with a corner or "
                          "a jump; the derivative is undefined there."),)
        else:
            meet = _joined([sympy.Eq(x, b, evaluate=False) for b in _meeting_points(e, x)])
            notes = (note(math(e), " is differentiable at ", *meet, ", where the pieces meet smoothly."),) if meet else ()
        return _step("piecewise", e, x, result, said, subs, notes=notes)

    def _undefined(self, e, x) -> Step:
        name = type(e).__name__
        if len(e.args) == 1:
            def outer(u):
                fu = e.func(u)
                said = sentence(f"{name} is an unknown function, so its derivative stays ",
                                math(sympy.Derivative(fu, u)), ".")
                return _step("undefined_function", fu, u, sympy.Derivative(fu, u), said)
            return self._maybe_chain(e, e.args[0], x, outer, RULES["undefined_function"])
        result = sympy.diff(e, x)
        said = sentence(f"{name} is an unknown function of several arguments; by the multivariable chain rule its "
                        "derivative keeps a partial derivative for each argument.")
        return _step("undefined_function", e, x, result, said)

    def _primed(self, e, x) -> Step:
        """``f'(g)``, the derivative of an unknown function (prime notation): its derivative is ``f''(g) g'``."""
        primed = _prime(e)
        assert primed is not None  # the caller dispatched here because e is in prime notation
        name, order, arg = primed

        def outer(u):
            fu = sympy.Derivative(sympy.Function(name)(u), (u, order))
            d = sympy.Derivative(sympy.Function(name)(u), (u, order + 1))
            said = sentence(math(fu), f" is the derivative of the unknown function {name}, so its derivative is ",
                            math(d), ".")
            return _step("undefined_function", fu, u, d, said)

        return self._maybe_chain(e, arg, x, outer, RULES["undefined_function"])

    def _fallback(self, e, x) -> Step:
        head = e.func
        if isinstance(e, sympy.Function) and len(e.args) == 1 and e.args[0] != x:
            u = self.fresh()
            local = sympy.diff(head(u), u)
            if not local.has(sympy.Derivative, sympy.Subs):
                def outer(v):
                    return _step("sympy", head(v), v, local.xreplace({u: v}), _fallback_text(head(v), v))
                return self._chain_with(e, e.args[0], x, outer(u), u)
            self.used.discard(u.name)
        result = sympy.diff(e, x)
        if e.atoms(AppliedUndef):
            return _step("undefined_function", e, x, result, _fallback_text(e, x))
        notes: tuple[str, ...] = ()
        if result.has(sympy.Derivative):
            # re, im, sign, ... of a symbol without assumptions: differentiate for real x, as the course does
            real = sympy.Dummy(x.name, real=True)
            as_real = sympy.diff(e.xreplace({x: real}), real)
            if not as_real.has(sympy.Derivative):
                result = as_real.xreplace({real: x})
                notes = (note("SymPy differentiates ", math(e), " treating ", math(x), " as real."),)
        return _step("sympy", e, x, result, _fallback_text(e, x), notes=notes)

    def _chain_with(self, e, inner_expr, x, o: Step, u, notes=(), said=None) -> Step:
        i = self.d(inner_expr, x)
        result = _substitute(o.result, u, inner_expr) * i.result
        if said is None:
            said = sentence("By the chain rule, ", *_let_pieces(u, inner_expr), Math(
                f"{derivative_text(e, x)} = (d/d{_t(u)} {_t(o.expr)})·(d{_t(u)}/d{_t(x)})",
                rf"{derivative_latex(e, x)} = {derivative_latex(o.expr, u)} \cdot \frac{{d{expr_latex(u)}}}{{d{expr_latex(x)}}}"),
                ".")
        # The chain step states the outer rule's conditions for the inner function, in x.
        o = dataclasses.replace(o, notes=())
        return _step("chain", e, x, result, said, [o, i], let=((u, inner_expr),), notes=notes)


# -------------------------------------------------------------------- helpers
def _zero_power(e, g, x) -> Step:
    """``0^g``: 0 where ``g > 0`` and undefined elsewhere, so its derivative is 0 where it exists.

    (The exponential rule would give ``0^g ln 0``, which is undefined everywhere.)
    """
    text = (f"{_t(e)} is 0 wherever it is defined (where {_t(g)} > 0), so it is constant there and its "
            "derivative is 0 (constant rule); the exponential rule a^u ln(a) needs a > 0.")
    notes = (f"{_t(e)} is undefined where {_t(g)} <= 0.",)
    return _step("constant", e, x, sympy.S.Zero, text, notes=notes)


def _step(rule: str, expr, wrt, result, said, substeps=(), let=(), notes=()) -> Step:
    assert rule in RULES, rule
    text, pieces = said if isinstance(said, tuple) else (said, ())
    if result.has(sympy.Float):
        result = snap_floats(result)
    return Step(rule=rule, expr=expr, wrt=wrt, result=result, substeps=tuple(substeps), text=text,
                let=tuple(let), notes=tuple(notes), pieces=pieces if any(isinstance(p, Math) for p in pieces) else ())


def _said(rule_id: str, fu, u, d) -> tuple[str, tuple]:
    """"By the sine rule, d/du sin(u) = cos(u)." for a rule applied at a symbol (the tanh rule adds sech)."""
    rule = RULES[rule_id]
    name = rule.name if rule.name.endswith("rule") else f"{rule.name} rule"
    also_t = f" = sech({_t(u)})^2" if rule_id == "tanh" else ""
    also_l = rf" = \operatorname{{sech}}^{{2}}{{\left({expr_latex(u)}\right)}}" if rule_id == "tanh" else ""
    return sentence(f"By the {name}, ", Math(f"{derivative_text(fu, u)} = {_t(d)}{also_t}",
                                             f"{derivative_latex(fu, u)} = {expr_latex(d)}{also_l}"), ".")


def _let_pieces(u, g) -> tuple:
    """"let u = g; then " as sentence pieces (a renderer that shows the Let line drops them)."""
    return ("let ", Math(f"{_t(u)} = {_t(g)}", f"{expr_latex(u)} = {expr_latex(g)}"), "; then ")


def _prime(e) -> tuple[str, int, sympy.Basic] | None:
    """``(name, order, argument)`` of ``f'(g)`` (a Derivative of an unknown function at a symbol, or a Subs)."""
    if isinstance(e, sympy.Subs):
        inner, old, new = e.args
        if len(old) == 1 and isinstance(inner, sympy.Derivative) and _prime(inner) is not None:
            name, order, arg = _prime(inner)  # type: ignore[misc]
            if arg == old[0]:
                return name, order, new[0]
        return None
    f = e.expr
    if isinstance(f, AppliedUndef) and len(f.args) == 1 and len(e.variable_count) == 1:
        var, n = e.variable_count[0]
        if f.args[0] == var:
            return type(f).__name__, int(n), var
    return None


def _common_inner(e: sympy.Basic, x: sympy.Symbol) -> sympy.Basic | None:
    """The largest sum or function application ``h`` through which alone ``x`` enters two or more terms of ``e``.

    ``3(2x^2 - 1)^2 - 2(2x^2 - 1) + 5`` gives ``2x^2 - 1``; ``x^2 + x`` gives None.
    """
    terms = [t for t in e.args if t.has(x)]
    if len(terms) < 2:
        return None
    best = None
    seen = set()
    for node in sympy.preorder_traversal(e):
        if node is e or node in seen or not node.has(x):
            continue
        seen.add(node)
        if not (node.is_Add or (isinstance(node, sympy.Function) and not isinstance(node, AppliedUndef))):
            continue
        if sum(1 for t in terms if t.has(node)) < 2 or e.xreplace({node: sympy.Dummy()}).has(x):
            continue
        if best is None or _measure(node, MAX_NODES)[0] > _measure(best, MAX_NODES)[0]:
            best = node
    return best


def _substitute(local, u, g):
    """``local`` with ``u = g`` put back; ``|u|`` stays ``|g|`` (SymPy would write ``|2^x|`` as ``2^re(x)``)."""
    if local.has(sympy.Derivative):
        return local.subs(u, g)
    mapping = {a: sympy.Abs(g, evaluate=False) for a in local.atoms(sympy.Abs) if a.args[0] == u}
    mapping[u] = g
    return local.xreplace(mapping)


def _extra_args(e, rule: Rule) -> tuple:
    if rule.function is not None and isinstance(e, rule.function):
        return tuple(e.args[1:])
    return ()


def _fallback_text(e, x) -> tuple[str, tuple]:
    return sentence("derivkit's rule table has no rule for ", math(e), ", so SymPy differentiates it "
                    "(labelled fallback).")


def _meeting_points(e, x) -> list:
    """The finite points where the pieces of a piecewise function of ``x`` meet."""
    points: set = set()
    for piece in e.args:
        cond = piece.cond
        if cond is sympy.true or cond is True:
            continue
        try:
            points |= {p for p in cond.as_set().boundary if p.is_finite}
        except (NotImplementedError, TypeError, ValueError, AttributeError):
            return []
    return sorted(points, key=float)


def _joined(items) -> list:
    """Expressions (or strings) as pieces separated by commas."""
    out: list = []
    for i, item in enumerate(items):
        if i:
            out.append(", ")
        out.append(item if isinstance(item, str) else math(item))
    return out


def _can_hold(eq) -> bool:
    return kinks.can_hold(eq)


def _conditions(rule: Rule, args: tuple, e) -> tuple[str, ...]:
    """The rule's domain condition and non-differentiable points, stated for these arguments."""
    notes = []
    if rule.condition is not None:
        try:
            cond = rule.condition(*args)
        except TypeError:
            cond = None
        if cond is not None and cond.has(sympy.Abs):
            # |g^2| < 1 reads g^2 < 1 for real g
            cond = cond.replace(lambda n: isinstance(n, sympy.Abs) and n.args[0].is_Pow and n.args[0].exp.is_even,
                                lambda n: n.args[0])
        name = f"the {rule.name}" if rule.name.endswith("rule") else rule.name
        name = name[0].upper() + name[1:]
        if cond is sympy.false:
            notes.append(note(f"{name} needs {rule.domain}, which fails for ", math(e), "."))
        elif cond is not None and not kinks.always_true(cond):
            notes.append(note(f"{name} holds for ", math(cond), "."))
    if rule.kink is not None:
        try:
            k = rule.kink(*args)
        except TypeError:
            k = None
        if k is not None and kinks.can_hold(k):
            extra = " (its derivative is 0 everywhere else)" if rule.id == "step" else ""
            notes.append(note(math(e), " is not differentiable where ", math(k), f"{extra}."))
    return tuple(notes)


def _with_rewrites(root: Step, expr, x) -> Step:
    rewrites = teacher_rewrites(root.result, expr, x)
    if not rewrites:
        return root
    extra = tuple(_step(r.rule, r.before, x, r.after, r.text) for r in rewrites)
    return dataclasses.replace(root, result=rewrites[-1].after, substeps=root.substeps + extra)


def _derive_once(expr, x) -> Step:
    root = _Engine(x, expr).d(expr, x)
    return _with_rewrites(root, expr, x)


def _notes(root: Step, x) -> tuple[str, ...]:
    seen: list[str] = []
    for s in root.walk():
        if s.wrt == x:
            for n in s.notes:
                if n not in seen:
                    seen.append(n)
    return tuple(seen)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@budget.guarded
def derive(expr: ExprLike, wrt: SymbolLike, order: int = 1) -> Derivation:
    """Differentiate ``expr`` with respect to ``wrt`` (``order`` times), step by step.

    Returns a :class:`~derivkit.calculus.derivation.Derivation` whose ``result``
    equals ``sympy.diff`` (on each rule's domain) in the form a teacher writes,
    and whose ``steps`` name the rule behind every step.

    >>> d = derive("(3*x - 2)^2", "x")
    >>> d.rules[:2], d.at(x=2)
    (('chain', 'power'), 24)
    >>> derive("1/(1 + exp(-x))", "x").result
    (1 - sigmoid(x))*sigmoid(x)
    >>> derive("asin(x)", "x").notes
    ('The arcsine rule holds for |x| < 1.',)
    >>> derive("x", "x", order=0)
    Traceback (most recent call last):
    ...
    derivkit.errors.InputError: the order must be a positive whole number, not 0
    """
    e = as_expr(expr)
    if not isinstance(e, sympy.Expr) or isinstance(e, sympy.MatrixBase):
        raise InputError(f"derive needs a scalar expression, not {type(e).__name__} {e}")
    x = as_symbol(wrt, e)
    if x not in e.free_symbols:
        # a Symbol("x", real=True) given for the x of a parsed string means that x
        x = next((s for s in e.free_symbols if isinstance(s, sympy.Symbol) and s.name == x.name), x)
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise InputError(f"the order must be a positive whole number, not {order!r}")
    most = budget.current().order
    if order > most:
        raise LimitError(f"the order {order} is too high; derivkit derives at most order {most} (the order limit)",
                         limit="order", value=most, part=str(order))
    _check_size(e, "expression")
    stages: list[Step] = []
    current = e
    for k in range(order):
        stage = _derive_once(current, x)
        stages.append(stage)
        current = stage.result
        if k + 1 < order:
            _check_size(current, f"{_ordinal(k + 1)} derivative")
    if order == 1:
        root = stages[0]
    else:
        text = (f"The {_ordinal(order)} derivative: differentiate {order} times, each time the result of "
                "the previous stage.")
        root = _step("higher_order", e, x, current, text, stages)
    notes: list[str] = []
    for stage in stages:
        for n in _notes(stage, x):
            if n not in notes:
                notes.append(n)
    if current.has(sympy.zoo, sympy.nan):
        raise DomainError(f"the derivative of {_t(e)} is undefined everywhere ({_t(current)})")
    return Derivation(expr=e, wrt=x, order=order, result=current, steps=root, stages=tuple(stages),
                      notes=tuple(notes))
