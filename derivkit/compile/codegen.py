"""Source code from graph nodes, with common subexpressions computed once.

Each node becomes one expression, written by its operation's record
(``Op.lower``); nodes that are named, used more than once, or need several
statements (softmax) get their own variable, the rest are written inline.
Identical subexpressions are found by structure (the operation, its parameter,
its shape and its operands, names aside), so ``O_out - Y`` in the MSE and in
``G_O`` is computed once. The derivative of an elementwise function reuses the
forward value: ``σ'(A)`` is written ``S*(1 - S)`` with ``S = σ(A)``,
``tanh'(A)`` as ``1 - T**2``. The sigmoid is the helper ``_sigmoid`` that each
backend's module defines (:mod:`derivkit.compile.backends`).

The emitter writes NumPy by default; a backend is the module name its code
calls (``xp``) and a table of lowerings that replace the records' own for some
operations (see :data:`LOWERINGS`). The emitter's work is linear in the number
of nodes: each node's structure key is a small tuple of ints computed once, and
each elementwise function's code is printed once and reused with other names.

>>> from derivkit.nn.networks import mlp
>>> g = mlp([2, 3, 1], bias=False)
>>> bp = g.backprop()
>>> em = Emitter()
>>> em.assign("d_W2", bp.gradients["W2"])
'd_W2'
>>> print("\\n".join(em.lines))
H_in = X @ W1
H_out = _sigmoid(H_in)
O_in = H_out @ W2
O_out = _sigmoid(O_in)
G_O = ((O_out - Y) * (2/N)) * (O_out*(1 - O_out))
d_W2 = H_out.T @ G_O
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping

import sympy
from sympy.printing.numpy import NumPyPrinter

from derivkit.graph.node import U, Node
from derivkit.graph.shapes import Shape

__all__ = ["Emitter", "NumpyCodePrinter", "LOWERINGS"]

#: Per backend, the operations whose code differs from their record's NumPy lowering:
#: ``{backend: {op name: lower(node, emitter) -> code}}``.
LOWERINGS: dict[str, dict[str, Callable[[Node, "Emitter"], str]]] = {"numpy": {}}


class NumpyCodePrinter(NumPyPrinter):
    """SymPy's NumPy printer with fast, stable forms of the activations.

    The sigmoid calls the generated module's helper ``_sigmoid`` (NumPy:
    ``1/(1 + e^(-x))`` with the harmless overflow silenced, about 25 % faster
    than ``0.5 + 0.5*tanh(x/2)`` and ten times faster than
    ``exp(-logaddexp(0, -x))``).
    Comparisons keep the array's dtype, so float32 code stays float32.
    """

    def __init__(self, settings: Any = None) -> None:
        super().__init__(settings)
        self.printmethod = "_derivkit_numpycode"  # use the methods below, not the functions' own _numpycode

    def _arg(self, expr: Any) -> str:
        return self.parenthesize(expr, 60)

    def _print_sigmoid(self, expr: Any) -> str:
        return f"_sigmoid({self._print(expr.args[0])})"

    def _print_relu(self, expr: Any) -> str:
        return f"{self._module}.maximum({self._print(expr.args[0])}, 0)"

    def _print_leaky_relu(self, expr: Any) -> str:
        x = self._arg(expr.args[0])
        return f"{self._module}.where({x} >= 0, {x}, ({self._print(expr.slope)})*{x})"

    def _print_step(self, expr: Any) -> str:
        x = self._arg(expr.args[0])
        t = self._print(expr.threshold)
        if expr.args[0].is_Symbol:
            return f"({x} >= {t}).astype({x}.dtype)"
        return f"{self._module}.where({x} >= {t}, 1.0, 0.0)"

    def _print_Heaviside(self, expr: Any) -> str:  # pragma: no cover - derivkit writes step
        return f"{self._module}.heaviside({self._print(expr.args[0])}, 0.5)"


_PRINTER = NumpyCodePrinter({"fully_qualified_modules": True, "allow_unknown_functions": False})
#: A name no generated code uses, standing for the variable while a function's code is printed once.
_SLOT = sympy.Symbol("_derivkit_slot_")
_PRINTED: dict[tuple, str] = {}


@lru_cache(maxsize=1024)
def _scalar_code(c: sympy.Basic) -> str:
    return sympy.pycode(c)


def _param_key(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_param_key(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted(value.items()))
    return value


class Emitter:
    """Turn nodes into lines of code, sharing common subexpressions.

    Records call back into it: :meth:`ref` (code for an operand), :meth:`ref_name`
    (a variable holding it), :meth:`fresh`, :meth:`line`, :meth:`memo`,
    :meth:`scalar`, :meth:`function`, :meth:`dim`, :meth:`shape_code` and ``xp``
    (the array module the code calls).
    """

    def __init__(self, reserved: Iterable[str] = (), backend: str = "numpy", xp: str = "numpy",
                 printer: NumpyCodePrinter | None = None) -> None:
        self.lines: list[str] = []
        self.xp = xp
        self.backend = backend
        self._lowerings: Mapping[str, Callable[[Node, "Emitter"], str]] = LOWERINGS.get(backend, {})
        self._printer = printer or _PRINTER
        self._var: dict[int, str] = {}
        self._canon: dict[int, int] = {}
        self._structures: dict[tuple, int] = {}
        self._uses: dict[int, int] = {}
        self._memo: dict[Any, Any] = {}
        self._expanded: dict[int, Node] = {}
        self._taken: set[str] = set(reserved)
        self._count = 0
        #: The shape and kind (``"f"`` float, ``"i"`` integer) of each variable assigned from a node.
        self.values: dict[str, tuple] = {}

    # -- structure ---------------------------------------------------------------
    def _expand(self, n: Node) -> Node:
        """A composite operation (a loss) is written with its primitive operations."""
        if n.uid not in self._expanded:
            self._expanded[n.uid] = n.record.expansion(n) or n
        return self._expanded[n.uid]

    def children(self, n: Node) -> tuple:
        if n.record.leaf:
            return ()
        expanded = self._expand(n)
        if expanded is not n:
            return (expanded,)
        return n.args

    def key(self, n: Node) -> int:
        """A number naming the structure of ``n`` (the same for equal subexpressions, whatever their names)."""
        k = self._canon.get(n.uid)
        if k is None:
            if n.record.leaf:
                structure: tuple = ("leaf", n.op, n.name)
            else:
                structure = (n.op, _param_key(n.param), tuple(n.shape), n.dtype,
                             tuple(self.key(c) for c in self.children(n)))
            k = self._structures.setdefault(structure, len(self._structures))
            self._canon[n.uid] = k
        return k

    def count_uses(self, roots: Iterable[Node]) -> None:
        """Count how often each distinct subexpression is used (to decide what to inline)."""
        roots = list(roots)
        seen: set[int] = set()
        stack = list(roots)
        for r in roots:
            self._uses[self.key(r)] = self._uses.get(self.key(r), 0) + 1
        while stack:
            n = stack.pop()
            k = self.key(n)
            if k in seen:
                continue
            seen.add(k)
            for c in self.children(n):
                ck = self.key(c)
                self._uses[ck] = self._uses.get(ck, 0) + 1
                stack.append(c)

    # -- helpers for the records ----------------------------------------------------
    def fresh(self, hint: str = "t") -> str:
        """A new variable name."""
        while True:
            self._count += 1
            name = f"_{hint}{self._count}"
            if name not in self._taken:
                self._taken.add(name)
                return name

    def line(self, code: str) -> None:
        """Emit a statement."""
        self.lines.append(code)

    def memo(self, key: Any, emit: Callable[[], Any]) -> Any:
        """``emit()`` once per ``key`` (shared helper values, such as a softmax's row sums)."""
        if key not in self._memo:
            self._memo[key] = emit()
        return self._memo[key]

    def scalar(self, c: Any) -> str:
        """A number or a formula in the sizes (``2/N``) as code."""
        return _scalar_code(sympy.sympify(c))

    def function(self, body: sympy.Basic, var: str | None) -> str:
        """A scalar expression as array code, with ``u`` replaced by the variable ``var``.

        The code of a body is printed once (SymPy's printer is slow) and reused for
        every variable: the variable is a placeholder that no generated name contains.
        """
        key = (body, self._printer is _PRINTER)
        code = _PRINTED.get(key) if key[1] else None
        if code is None:
            code = self._printer.doprint(body.xreplace({U: _SLOT}))
            if key[1] and len(_PRINTED) < 4096:
                _PRINTED[key] = code
        if var is not None:
            code = code.replace(_SLOT.name, var)
        return code if self.xp == "numpy" else code.replace("numpy.", f"{self.xp}.")

    def dim(self, d: Any) -> str:
        """A size as code: an int, or the name bound from the data (``N``)."""
        if isinstance(d, int):
            return str(d)
        return d.name if isinstance(d, sympy.Symbol) else _scalar_code(d)

    def shape_code(self, shape: Shape) -> str:
        """A shape as a tuple literal."""
        dims = [self.dim(d) for d in shape]
        return f"({dims[0]},)" if len(dims) == 1 else f"({', '.join(dims)})"

    # -- emission ------------------------------------------------------------------
    def assign(self, name: str, n: Node) -> str:
        """Emit ``name = <n>`` (or reuse an existing variable) and return ``name``."""
        k = self.key(n)
        if k in self._var:
            if self._var[k] != name:
                self.lines.append(f"{name} = {self._var[k]}")
                self.values[name] = (tuple(n.shape), "i" if n.dtype == "int" else "f")
            return name
        self._var[k] = name
        self._taken.add(name)
        self.lines.append(f"{name} = {self.code(n)}")
        self.values[name] = (tuple(n.shape), "i" if n.dtype == "int" else "f")
        return name

    def existing(self, n: Node) -> str | None:
        """The variable already holding ``n`` (a leaf's name, or an emitted value), if any."""
        if n.record.leaf:
            return n.name
        return self._var.get(self.key(n))

    def ref(self, n: Node) -> str:
        """Code for ``n``: a variable, or an inline expression in parentheses."""
        known = self.existing(n)
        if known is not None:
            return known
        if n.op == "const":
            return self.scalar(n.param)
        if n.name is not None:
            return self.assign(n.name, n)
        if self._uses.get(self.key(n), 0) > 1 or self._expand(n).record.needs_variable:
            return self.assign(self.fresh(), n)
        code = self.code(n)
        return code if code.isidentifier() or (code.endswith(".T") and code[:-2].isidentifier()) else f"({code})"

    def ref_name(self, n: Node) -> str:
        """A variable holding ``n`` (so a scalar function can be printed around a name)."""
        known = self.existing(n)
        if known is not None:
            return known
        return self.assign(n.name if n.name is not None else self.fresh(), n)

    def code(self, n: Node) -> str:
        """The expression for ``n`` itself (its operands by :meth:`ref`)."""
        expanded = self._expand(n)
        if expanded is not n:
            return self.code(expanded)
        lower = self._lowerings.get(n.op)
        if lower is not None:
            return lower(n, self)
        return n.record.lower(n, self)
