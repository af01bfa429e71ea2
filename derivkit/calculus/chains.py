"""The chain rule with named intermediate variables, worked symbolically and at a point.

A chain is a list of equations ``y = 3x - 2``, ``z = y^2``, each naming an
intermediate value. :func:`chain` finds the local derivative of every link
(``dz/dy = 2y``, ``dy/dx = 3``), multiplies them in chain order, and states the
result in the input variables (``dz/dx = 18x - 12``). When the variable reaches
the output along several paths (``q = relu(z) + z x``, ``y = h + q + q x``: ``x``
enters ``y`` through ``q`` and directly) the result is the total derivative, the
sum over the paths of the product of the factors on each path.

:meth:`Chain.at` works the chain at a point the way the course does: first the
forward values of every name, then the value of every local derivative, then
their product (:class:`ChainAt`). :attr:`Chain.substituted` is the other route:
substitute first, then differentiate once.

**Which names are inputs.** Every name on the left of an equation is defined
by it, once. Any other symbol is an *input*: the variable ``wrt`` and the
constants or parameters of the equations (``h`` above, a weight, a target).
Pass ``inputs=`` to declare the inputs besides ``wrt``; a symbol that is then
neither defined nor declared is refused as undefined. Without ``inputs=`` the
undeclared symbols are accepted as constants, except when the output does not
depend on ``wrt`` at all: that chain is broken (``z = yy**2`` for ``z = y**2``),
and the undefined names are reported. Equations may come in any order; they
are put in dependency order, and a cycle is refused with the names on it.

>>> c = chain({"y": "3*x - 2", "z": "y**2"}, "x")
>>> c.factors
(('dz/dy', 2*y), ('dy/dx', 3))
>>> c.result
18*x - 12
>>> c.substituted
9*x**2 - 12*x + 4
>>> w = c.at(x=2)
>>> w.values
{'x': 2, 'y': 4, 'z': 16}
>>> w.factors, w.result
((('dz/dy', 8), ('dy/dx', 3)), 24)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Union

import sympy

from derivkit import budget
from derivkit.notation import expr_latex
from derivkit.calculus.derivation import Derivation
from derivkit.calculus.several import MAX_EXPANDED_TERMS, compact, terms_bound
from derivkit.calculus.steps import derive
from derivkit.errors import InputError
from derivkit.inputs import as_expr, as_number, as_symbol, as_symbols
from derivkit.magnitude import value_at
from derivkit.parsing import parse_equation
from derivkit.renderable import Renderable, brief_repr

__all__ = ["chain", "Chain", "ChainAt", "MAX_PATHS"]

#: More paths than this from the variable to the output are refused (the working would be unreadable).
MAX_PATHS = 1000

Equations = Union[Mapping[Any, Any], Iterable[Any], str]
Equation = tuple[sympy.Symbol, sympy.Basic]


def _name(sym: sympy.Symbol) -> str:
    """A name inside a label: ``y``, ``x1``, ``(loss)``."""
    return sym.name if re.fullmatch(r"[A-Za-z][0-9]*", sym.name) else f"({sym.name})"


def _label(head: sympy.Symbol, tail: sympy.Symbol, partial: bool) -> str:
    d = "∂" if partial else "d"
    return f"{d}{_name(head)}/{d}{_name(tail)}"


def _pairs(equations: Equations, latex: bool = False, decimals: bool = False) -> list[tuple[Any, Any]]:
    """The equations as ``(name, expression)`` pairs, as given."""
    if isinstance(equations, str):
        equations = [equations]
    if isinstance(equations, Mapping):
        return list(equations.items())
    try:
        items = list(equations)
    except TypeError:
        raise InputError(
            f"the equations must be a dict name -> expression or a list like ['y = 3*x - 2'], "
            f"not {type(equations).__name__}"
        ) from None
    pairs = []
    separators = r"\n" if latex else r"[;\n]"  # LaTeX uses ';' in spacing commands
    for item in items:
        if isinstance(item, str):
            pairs += [parse_equation(e, latex=latex, decimals=decimals) for e in re.split(separators, item)
                      if e.strip()]
        elif isinstance(item, sympy.Equality):
            pairs.append((item.lhs, item.rhs))
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            pairs.append((item[0], item[1]))
        else:
            raise InputError(f"cannot read {item!r} as an equation; write it as 'y = 3*x - 2'")
    return pairs


def _read(equations: Equations, latex: bool = False, decimals: bool = False) -> list[tuple[sympy.Symbol, sympy.Basic]]:
    pairs = _pairs(equations, latex, decimals)
    if not pairs:
        raise InputError("no equations given for the chain")
    out: list[tuple[sympy.Symbol, sympy.Basic]] = []
    seen: dict[str, sympy.Basic] = {}
    for left, right in pairs:
        if isinstance(left, sympy.Basic) and not isinstance(left, sympy.Symbol):
            raise InputError(f"the left side of an equation must be a name, not {left}")
        name = as_symbol(left)
        expr = as_expr(right, latex=latex, what=f"expression of {name}", decimals=decimals)
        if name.name in seen:
            raise InputError(f"'{name}' is defined twice: {name} = {seen[name.name]} and {name} = {expr}")
        seen[name.name] = expr
        out.append((name, expr))
    # One Symbol per name, so that 'y' on a left side is the 'y' used on the right sides.
    by_name = {s.name: s for _, e in out for s in e.free_symbols if isinstance(s, sympy.Symbol)}
    return [(by_name.get(n.name, n), e) for n, e in out]


def _cycle(deps: dict[sympy.Symbol, list[sympy.Symbol]], start: sympy.Symbol) -> list[sympy.Symbol] | None:
    """A cycle through defined names reachable from ``start`` (depth-first), or None."""
    path: list[sympy.Symbol] = []
    state: dict[sympy.Symbol, int] = {}

    def visit(n: sympy.Symbol) -> list[sympy.Symbol] | None:
        state[n] = 1
        path.append(n)
        for m in deps.get(n, ()):
            if state.get(m) == 1:
                return path[path.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        path.pop()
        state[n] = 2
        return None

    return visit(start)


def _order(eqs: list[tuple[sympy.Symbol, sympy.Basic]]) -> list[tuple[sympy.Symbol, sympy.Basic]]:
    """The equations in dependency order, keeping the given order where it is free."""
    defined = {n for n, _ in eqs}
    deps = {n: sorted((s for s in e.free_symbols if s in defined), key=lambda s: s.name) for n, e in eqs}
    done: set[sympy.Symbol] = set()
    ordered: list[tuple[sympy.Symbol, sympy.Basic]] = []
    pending = list(eqs)
    while pending:
        for k, (n, e) in enumerate(pending):
            if all(d in done for d in deps[n]):
                ordered.append((n, e))
                done.add(n)
                del pending[k]
                break
        else:
            cycle = _cycle(deps, pending[0][0]) or [pending[0][0]]
            raise InputError(f"the chain is cyclic: {' -> '.join(s.name for s in cycle)}")
    return ordered


@dataclass(frozen=True)
class ChainAt(Renderable):
    """A chain worked at a point: forward values, the value of each factor, their product.

    ``values`` maps every name (inputs first, then the intermediates in order) to
    its value; ``factors`` holds ``(label, value)`` in chain order; ``paths`` one
    ``(labels, value)`` pair per path; ``result`` the total derivative's value.
    """

    chain: "Chain"
    values: dict[str, sympy.Basic]
    factors: tuple[tuple[str, sympy.Basic], ...]
    paths: tuple[tuple[tuple[str, ...], sympy.Basic], ...]
    result: sympy.Basic
    substituted_value: sympy.Basic | None

    def __repr__(self) -> str:
        return brief_repr(self, values=self.values, factors=self.factors, result=self.result)

    def to_dict(self) -> dict[str, Any]:
        return {
            "chain": self.chain.to_dict(),
            "values": {k: str(v) for k, v in self.values.items()},
            "factors": [[label, str(v)] for label, v in self.factors],
            "paths": [{"factors": list(labels), "value": str(v)} for labels, v in self.paths],
            "result": str(self.result),
            "substituted_value": str(self.substituted_value) if self.substituted_value is not None else None,
        }


@dataclass(frozen=True)
class Chain(Renderable):
    """The chain rule through named intermediate variables (see the module docstring).

    ``equations``: ``(name, expression)`` in dependency order; ``inputs``: the
    symbols no equation defines (``wrt`` first); ``edges``: ``(head, tail)`` for
    each factor ``d head / d tail``, in chain order (from the output back to
    ``wrt``), aligned with ``factors`` (``(label, expression)``) and
    ``derivations``; ``path_index``: each path as indices into ``factors``;
    ``chained``: the sum over paths of the product of factors, in the names;
    ``result``: the same in the input variables; ``substituted``: the output
    written in the inputs (expanded when it is a polynomial of few terms), and
    ``substituted_derivation`` its derivative (None when it is too large to work out).
    """

    equations: tuple[tuple[sympy.Symbol, sympy.Basic], ...]
    wrt: sympy.Symbol
    output: sympy.Symbol
    inputs: tuple[sympy.Symbol, ...]
    edges: tuple[tuple[sympy.Symbol, sympy.Symbol], ...]
    factors: tuple[tuple[str, sympy.Basic], ...]
    derivations: tuple[Derivation, ...]
    path_index: tuple[tuple[int, ...], ...]
    chained: sympy.Basic
    result: sympy.Basic
    substituted: sympy.Basic
    substituted_derivation: Derivation | None
    label: str = ""
    notes: tuple[str, ...] = field(default=())

    def __repr__(self) -> str:
        return brief_repr(self, equations=dict(self.equations), wrt=self.wrt, output=self.output, result=self.result)

    @property
    def paths(self) -> tuple[tuple[tuple[str, ...], sympy.Basic], ...]:
        """Each path from ``wrt`` to the output: ``(labels of its factors, their product)``."""
        return tuple(
            (tuple(self.factors[k][0] for k in p), sympy.Mul(*(self.factors[k][1] for k in p)))
            for p in self.path_index
        )

    @property
    def names(self) -> tuple[sympy.Symbol, ...]:
        """The defined names, in dependency order."""
        return tuple(n for n, _ in self.equations)

    def at(self, point: Mapping[str, Any] | None = None, /, **kwargs: Any) -> ChainAt:
        """Work the chain at a point: forward values, factor values, and the result.

        Every input needs a value (``wrt`` and any constants of the equations), given
        as keywords or as a dict (``c.at({"x": 2})``).

        >>> c = chain(["x = 5*v - 2", "y = 3*x - 2", "z = y**2"], "v")
        >>> c.at(v=1).values, c.at(v=1).result
        ({'v': 1, 'x': 3, 'y': 7, 'z': 49}, 210)
        """
        given = {**(point or {}), **kwargs}
        names = {n.name for n in self.names}
        inputs = {s.name: s for s in self.inputs}
        exact: dict[sympy.Symbol, sympy.Basic] = {}
        for key, val in given.items():
            name = key.name if isinstance(key, sympy.Symbol) else str(key)
            if name in names:
                raise InputError(
                    f"'{name}' is computed by the chain; give values for its inputs only "
                    f"({', '.join(inputs)})"
                )
            if name not in inputs:
                raise InputError(f"'{name}' is not an input of this chain (inputs: {', '.join(inputs)})")
            exact[inputs[name]] = as_number(val, what=f"value of {name}")
        missing = [n for n in inputs if inputs[n] not in exact]
        if missing:
            raise InputError(f"no value given for {', '.join(missing)} (the chain's inputs: {', '.join(inputs)})")
        known = {s: exact[s] for s in self.inputs}
        for n, e in self.equations:
            known[n] = _value(e, known)
        factors = tuple((label, _value(expr, known)) for label, expr in self.factors)
        paths = tuple(
            (tuple(factors[k][0] for k in p), compact(sympy.Mul(*(factors[k][1] for k in p))))
            for p in self.path_index
        )
        result = compact(sympy.Add(*(v for _, v in paths)))
        route = self.substituted_derivation
        check = _value(route.result, known) if route is not None else None
        values = {s.name: v for s, v in known.items()}
        return ChainAt(self, values, factors, paths, result, check)

    def to_dict(self) -> dict[str, Any]:
        return {
            "equations": [[str(n), str(e)] for n, e in self.equations],
            "wrt": str(self.wrt),
            "output": str(self.output),
            "inputs": [str(s) for s in self.inputs],
            "label": self.label,
            "factors": [
                {"label": label, "of": str(h), "wrt": str(t), "expr": str(e), "derivation": d.to_dict()}
                for (label, e), (h, t), d in zip(self.factors, self.edges, self.derivations)
            ],
            "paths": [list(labels) for labels, _ in self.paths],
            "chained": str(self.chained),
            "result": str(self.result),
            "result_latex": expr_latex(self.result),
            "substituted": str(self.substituted),
            "substituted_derivative": (
                str(self.substituted_derivation.result) if self.substituted_derivation is not None else None
            ),
            "notes": list(self.notes),
        }


def _value(expr: sympy.Basic, known: Mapping[sympy.Symbol, sympy.Basic]) -> sympy.Basic:
    """``expr`` at the point, exact (numbers combine on their own; no slow simplification)."""
    return compact(value_at(expr, {s: known[s] for s in expr.free_symbols if s in known}))


def _undefined_symbols(eqs: list[Equation], defined: Mapping[str, sympy.Symbol]) -> list[sympy.Symbol]:
    """The symbols no equation defines, in order of appearance (by name within an equation)."""
    free: list[sympy.Symbol] = []
    for _, e in eqs:
        for s in sorted(e.free_symbols, key=lambda s: s.name):
            if s.name not in defined and s not in free:
                free.append(s)
    return free


def _variable(wrt, eqs: list[Equation], defined: Mapping[str, sympy.Symbol], free: list[sympy.Symbol]) -> sympy.Symbol:
    """The one input variable to differentiate by, matched by name to the equations' symbol."""
    syms = as_symbols(wrt, [e for _, e in eqs])
    if len(syms) != 1:
        raise InputError(
            f"a chain is differentiated with respect to one variable, got {', '.join(map(str, syms))}; "
            "for a gradient use gradient(chain(...).substituted, ...)"
        )
    x = next((s for s in free if s.name == syms[0].name), syms[0])
    if x.name in defined:
        expr = dict(eqs)[defined[x.name]]
        hint = ", ".join(s.name for s in free) or "none"
        raise InputError(
            f"'{x}' is defined by the equation {x} = {expr}; differentiate with respect to an input ({hint})"
        )
    if x not in free:
        raise InputError(f"'{x}' does not appear in the equations of the chain")
    return x


def _output(output, defined: Mapping[str, sympy.Symbol]) -> sympy.Symbol:
    name = output.name if isinstance(output, sympy.Symbol) else str(output).strip()
    if name not in defined:
        raise InputError(f"the output '{name}' is not defined by any equation (names: {', '.join(defined)})")
    return defined[name]


def _check_declared(inputs, x: sympy.Symbol, eqs: list[Equation], defined: Mapping[str, sympy.Symbol]) -> None:
    """With declared inputs, every symbol must be defined by an equation or declared."""
    empty = inputs in ("", ()) or (isinstance(inputs, list) and not inputs)
    declared = ({s.name for s in as_symbols(inputs)} if not empty else set()) | {x.name}
    clash = sorted(declared & set(defined))
    if clash:
        raise InputError(f"'{clash[0]}' is declared as an input but is defined by an equation")
    for n, e in eqs:
        for s in sorted(e.free_symbols, key=lambda s: s.name):
            if s.name not in defined and s.name not in declared:
                raise InputError(
                    f"the equation {n} = {e} refers to '{s}', which is not defined "
                    f"(define it in an equation, or declare it as an input)"
                )


def _paths(
    eqs: list[Equation], x: sympy.Symbol, out: sympy.Symbol, free: list[sympy.Symbol]
) -> tuple[list[tuple[sympy.Symbol, sympy.Symbol]], list[tuple[int, ...]]]:
    """The edges ``(head, tail)`` from ``out`` back to ``x`` in chain order, and each path as edge indices."""
    index = {n: k for k, (n, _) in enumerate(eqs)}
    expr_of = dict(eqs)
    depends: set[sympy.Symbol] = {x}
    for n, e in eqs:
        if any(s in depends for s in e.free_symbols):
            depends.add(n)
    if out not in depends:
        undefined = [s.name for s in free if s != x]
        if undefined:
            raise InputError(
                f"'{out}' does not depend on {x}: the chain is broken; "
                f"{', '.join(repr(u) for u in undefined)} {'is' if len(undefined) == 1 else 'are'} "
                "not defined by any equation"
            )
        return [], []

    def tails(n: sympy.Symbol) -> list[sympy.Symbol]:
        found = [s for s in expr_of[n].free_symbols if s in depends]
        return sorted(found, key=lambda s: (-index.get(s, -1), s.name))

    # Count the paths first, so that an exponential blow-up is refused rather than enumerated.
    count: dict[sympy.Symbol, int] = {x: 1}
    for n, _ in eqs:
        if n in depends:
            count[n] = sum(count[t] for t in tails(n))
    if count[out] > MAX_PATHS:
        raise InputError(f"{x} reaches {out} along {count[out]} paths; derivkit works at most {MAX_PATHS}")

    edges: list[tuple[sympy.Symbol, sympy.Symbol]] = []
    paths: list[tuple[int, ...]] = []

    def walk(n: sympy.Symbol, prefix: tuple[int, ...]) -> None:
        if n == x:
            paths.append(prefix)
            return
        for t in tails(n):
            if (n, t) not in edges:
                edges.append((n, t))
            walk(t, prefix + (edges.index((n, t)),))

    walk(out, ())
    return edges, paths


@budget.guarded
def chain(
    equations: Equations,
    wrt,
    output=None,
    *,
    inputs=None,
    latex: bool = False,
    decimals: bool = False,
) -> Chain:
    """The chain rule through named intermediates: ``d(output)/d(wrt)`` with its factors.

    ``equations`` is a dict name -> expression (``{"y": "3*x - 2", "z": "y**2"}``),
    a list of equations (``["y = 3*x - 2", "z = y**2"]``, or ``(name, expr)``
    pairs, or ``sympy.Eq``), or one string with equations separated by ``;``.
    ``output`` defaults to the last name; ``wrt`` is one input variable;
    ``inputs`` optionally declares the other inputs (see the module docstring);
    ``latex=True`` reads the equations as LaTeX (``z = \\sigma(y)``); ``decimals=True``
    keeps decimals as written.

    >>> c = chain({"q": "relu(z) + z*x", "y": "h + q + q*x"}, "x")
    >>> [labels for labels, _ in c.paths]
    [('∂y/∂q', '∂q/∂x'), ('∂y/∂x',)]
    >>> c.result
    2*x*z + z + relu(z)
    >>> c.label
    'dy/dx'
    """
    given = _read(equations, latex, decimals)
    eqs = _order(given)
    defined = {n.name: n for n, _ in eqs}
    free = _undefined_symbols(eqs, defined)
    x = _variable(wrt, eqs, defined, free)
    out = given[-1][0] if output is None else _output(output, defined)
    if inputs is not None:
        _check_declared(inputs, x, eqs, defined)
    expr_of = dict(eqs)
    edges, paths = _paths(eqs, x, out, free)

    derivations = tuple(derive(expr_of[h], t) for h, t in edges)
    factors = tuple(
        (_label(h, t, partial=len(expr_of[h].free_symbols) > 1), d.result)
        for (h, t), d in zip(edges, derivations)
    )
    chained = sympy.Add(*(sympy.Mul(*(factors[k][1] for k in p)) for p in paths))

    composed: dict[sympy.Symbol, sympy.Basic] = {}
    for n, e in eqs:
        composed[n] = e.xreplace(composed)
    result = compact(chained.xreplace(composed))
    sub = composed[out]
    if sub.free_symbols and sub.is_polynomial(*sub.free_symbols) and terms_bound(sub) <= MAX_EXPANDED_TERMS:
        sub = sympy.expand(sub)  # 9x^2 - 12x + 4, as the course writes it
    label = _label(out, x, partial=False)  # the total derivative
    notes: tuple[str, ...] = ()
    if len(paths) > 1:
        notes += (
            f"{x} reaches {out} along {len(paths)} paths: {label} is the total derivative, "
            "the sum over the paths of the product of the factors on each path.",
        )
    try:
        sub_derivation: Derivation | None = derive(sub, x)
    except InputError as err:  # the composed expression is too large for a worked derivation
        sub_derivation = None
        notes += (f"Substituting first is not worked out here: {err}.",)
    ordered_inputs = (x,) + tuple(s for s in free if s != x)
    return Chain(
        equations=tuple(eqs),
        wrt=x,
        output=out,
        inputs=ordered_inputs,
        edges=tuple(edges),
        factors=factors,
        derivations=derivations,
        path_index=tuple(paths),
        chained=chained,
        result=result,
        substituted=sub,
        substituted_derivation=sub_derivation,
        label=label,
        notes=notes,
    )
