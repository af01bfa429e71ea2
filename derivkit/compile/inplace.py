"""NumPy code at the hardware's pace: each array freed after its last use, computed in place where it can be.

The emitter writes the body of a generated function as readable statements
(``G_H = (G_O @ W2.T) * (H_out*(1 - H_out))``). Written that way, every
intermediate stays alive until the function returns and every operation
allocates a new array, which costs memory, page faults and time once the
arrays are large. :func:`optimize` rewrites the body (read with :mod:`ast`,
never evaluated) the way a careful person writes NumPy by hand:

1. nested elementwise expressions become one operation per statement; a
   product of several factors is multiplied in an order that lets the factors
   be computed in memory that is no longer needed (``G ∘ S ∘ (1 - S)``: first
   ``G ∘ S`` into ``G``'s memory, then ``1 - S`` into ``S``'s);
2. an elementwise operation whose operand dies there writes into that
   operand's memory (``H_in += b1``, ``numpy.subtract(1, S, out=S)``), when the
   operand is an array the function made itself (never an input, a parameter
   or a view) and has the result's shape and type;
3. ReLU and step derivatives multiply by boolean masks (``G * (A >= 0)``)
   instead of float copies of them;
4. ``Σ (A ∘ B)`` and ``Σ A^2`` over all entries are ``numpy.vdot(A, B)`` and
   ``numpy.vdot(A, A)`` (no product array);
5. every name is deleted right after its last use (``del H_in``), so its memory
   goes back before the next allocation.

The operations stay those of the plain code, in the same order, except that a
product of several factors may be multiplied in another order (its result can
differ in the last bit) and a full sum of a product is a dot product.

>>> import sympy
>>> N = sympy.Symbol("N")
>>> arrays = {"G": ((N, 3), "f"), "S": ((N, 3), "f"), "W": ((3, 3), "f")}
>>> body = ["T = G @ W", "D = T * (S*(1 - S))", "L = (D * D).sum(keepdims=True)"]
>>> print("\\n".join(optimize(body, arrays, owned={"S"}, live_out={"L"})))
T = G @ W
T *= S
_f2 = numpy.subtract(1, S, out=S)
del S
T *= _f2
D = T
del T, _f2
L = numpy.vdot(D, D).reshape(1, 1)
del D
"""

from __future__ import annotations

import ast
import itertools
import re
from dataclasses import dataclass
from typing import Any, Collection, Iterator, Mapping

import numpy
import sympy

from derivkit.graph.shapes import Shape

__all__ = ["optimize", "Value"]

#: NumPy's ufuncs by name (``numpy.exp``): they take ``out=``.
UFUNCS = frozenset(name for name in dir(numpy) if isinstance(getattr(numpy, name, None), numpy.ufunc))
#: Helpers of the generated code that take ``out=`` like a ufunc.
HELPERS = frozenset({"_sigmoid"})
_BINARY = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "divide"}
#: ``a ** c`` for these exponents is NumPy's own fast path (``square``, ``sqrt``, ...), so the ufunc is the same.
_REDUCTIONS = frozenset({"sum", "max", "min", "mean", "var"})


@dataclass(frozen=True)
class Value:
    """What the pass knows of a value: its shape (None when unknown) and kind.

    ``kind`` is ``"f"`` (an array of the code's float type), ``"b"`` (booleans),
    ``"i"`` (integers), ``"s"`` (a Python number) or ``None`` (unknown).
    """

    shape: Shape | None
    kind: str | None

    @property
    def array(self) -> bool:
        return self.shape is not None and len(self.shape) > 0


_UNKNOWN = Value(None, None)
_NUMBER = Value((), "s")


class _Unsupported(Exception):
    """A statement the pass does not understand: the body is left as written."""


def optimize(body: list[str], arrays: Mapping[str, tuple[Shape, str]], owned: Collection[str] = (),
             live_out: Collection[str] = (), reserved: Collection[str] = (), fresh_out: Collection[str] = ()) -> list[str]:
    """The statements ``body`` rewritten to free and reuse memory (see the module docstring).

    ``arrays`` gives the shape and kind of the names the pass cannot infer
    (inputs, parameters, values written by an operation's own code);
    ``owned`` names values known to be fresh arrays of the function itself
    (any name the body assigns from an arithmetic operation is); ``live_out``
    names what the function returns; ``fresh_out`` the returned names that must
    be arrays of their own (gradients): one that would be an input, a parameter
    or a view of one is returned as a copy. A body the pass does not understand
    is returned unchanged.
    """
    try:
        tree = ast.parse("\n".join(body))
    except SyntaxError:  # pragma: no cover - derivkit's own code parses
        return list(body)
    try:
        return _Pass(tree.body, arrays, set(owned), set(live_out), set(reserved), body, set(fresh_out)).run()
    except _Unsupported:
        return list(body)


_DIM_TEXT: dict[Any, str] = {}


def _dims(shape: Shape) -> tuple:
    """A shape with each size an int or its text (``"N"``): compared without SymPy."""
    out = []
    for d in shape:
        if type(d) is int or type(d) is str:
            out.append(d)
        else:
            text = _DIM_TEXT.get(d)
            if text is None:
                text = _DIM_TEXT[d] = str(d)
            out.append(text)
    return tuple(out)


def _broadcast(a: tuple, b: tuple) -> tuple | None:
    """NumPy's broadcast of two shapes of ints and size names, or None when they do not fit."""
    if a == b:
        return a
    rank = max(len(a), len(b))
    a = (1,) * (rank - len(a)) + a
    b = (1,) * (rank - len(b)) + b
    out = []
    for x, y in zip(a, b):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            return None
    return tuple(out)


def _name_nodes(node: ast.AST, out: list[ast.Name]) -> list[ast.Name]:
    """Every ``Name`` under ``node`` (a faster walk than ``ast.walk`` over the forms generated code has)."""
    stack = [node]
    while stack:
        n = stack.pop()
        t = type(n)
        if t is ast.Name:
            out.append(n)  # type: ignore[arg-type]
        elif t is ast.BinOp:
            stack += (n.left, n.right)  # type: ignore[attr-defined]
        elif t is ast.Call:
            stack.append(n.func)  # type: ignore[attr-defined]
            stack += n.args  # type: ignore[attr-defined]
            stack += [k.value for k in n.keywords]  # type: ignore[attr-defined]
        elif t is ast.Attribute or t is ast.Expr or t is ast.Return or t is ast.Starred:
            if n.value is not None:  # type: ignore[attr-defined]
                stack.append(n.value)  # type: ignore[attr-defined]
        elif t is ast.Assign:
            stack += n.targets  # type: ignore[attr-defined]
            stack.append(n.value)  # type: ignore[attr-defined]
        elif t is ast.AugAssign:
            stack += (n.target, n.value)  # type: ignore[attr-defined]
        elif t is ast.UnaryOp:
            stack.append(n.operand)  # type: ignore[attr-defined]
        elif t is ast.Constant:
            pass
        elif t is ast.Compare:
            stack.append(n.left)  # type: ignore[attr-defined]
            stack += n.comparators  # type: ignore[attr-defined]
        elif t is ast.Subscript:
            stack += (n.value, n.slice)  # type: ignore[attr-defined]
        elif t is ast.Tuple or t is ast.List or t is ast.Delete:
            stack += n.elts if t is not ast.Delete else n.targets  # type: ignore[attr-defined]
        else:
            stack += ast.iter_child_nodes(n)
    return out


def _names(node: ast.AST) -> Iterator[str]:
    """The names ``node`` reads."""
    return (n.id for n in _name_nodes(node, []) if type(n.ctx) is ast.Load)


def _call_name(node: ast.AST) -> str | None:
    """``numpy.exp`` -> ``"exp"`` for a ufunc, ``_sigmoid`` -> ``"_sigmoid"``; else None."""
    if not isinstance(node, ast.Call) or node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        return None
    f = node.func
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "numpy" and f.attr in UFUNCS:
        return f.attr
    if isinstance(f, ast.Name) and f.id in HELPERS:
        return f.id
    return None


def _number(node: ast.AST) -> float | None:
    """The value of a constant expression such as ``(-1/2)``, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _number(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Div, ast.Mult, ast.Add, ast.Sub)):
        a, b = _number(node.left), _number(node.right)
        if a is None or b is None or (isinstance(node.op, ast.Div) and b == 0):
            return None
        return {ast.Div: a / b if b else 0.0, ast.Mult: a * b, ast.Add: a + b, ast.Sub: a - b}[type(node.op)]
    return None


def _elementwise(node: ast.AST) -> bool:
    """An operation that makes a new array entry by entry (so it can write into an operand's memory)."""
    if isinstance(node, ast.BinOp):
        return type(node.op) in _BINARY or (isinstance(node.op, ast.Pow) and _number(node.right) is not None)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.USub)
    return _call_name(node) is not None


def _fresh_result(node: ast.AST) -> bool:
    """An expression whose value is a new array, shared with nothing (an operation, not a view or a name)."""
    if _elementwise(node) or isinstance(node, (ast.BinOp, ast.Compare)):
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr in _REDUCTIONS and isinstance(node.func.value, (ast.Name, ast.BinOp)):
            return any(k.arg == "keepdims" for k in node.keywords)
        if node.func.attr == "astype":
            return True
    return False


def _item_only(stmts: list[ast.stmt], nodes_of: Mapping[int, list[ast.Name]]) -> set[str]:
    """The names read only as ``name.item()`` where the function returns (a loss): they may be NumPy scalars."""
    items: dict[str, int] = {}
    for stmt in stmts:
        if isinstance(stmt, ast.Return):
            for n in ast.walk(stmt):
                if (isinstance(n, ast.Call) and not n.args and isinstance(n.func, ast.Attribute)
                        and n.func.attr == "item" and isinstance(n.func.value, ast.Name)):
                    items[n.func.value.id] = items.get(n.func.value.id, 0) + 1
    if not items:
        return set()
    loads: dict[str, int] = {}
    for stmt in stmts:
        for n in nodes_of[id(stmt)]:
            if n.id in items and type(n.ctx) is ast.Load:
                loads[n.id] = loads.get(n.id, 0) + 1
    return {name for name, count in items.items() if loads.get(name) == count}


def _unshape(expr: ast.expr) -> ast.expr:
    """``expr`` with ``numpy.vdot(...).reshape(...)`` as the bare dot product (a NumPy scalar); new nodes where it changes."""
    f = getattr(expr, "func", None)
    if (isinstance(expr, ast.Call) and isinstance(f, ast.Attribute) and f.attr == "reshape"
            and isinstance(f.value, ast.Call) and isinstance(f.value.func, ast.Attribute) and f.value.func.attr == "vdot"):
        return f.value
    if isinstance(expr, ast.BinOp):
        left, right = _unshape(expr.left), _unshape(expr.right)
        return expr if left is expr.left and right is expr.right else ast.BinOp(left, expr.op, right)
    return expr


_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.MatMult: "@",
        ast.FloorDiv: "//", ast.Mod: "%"}
_COMPARE = {ast.GtE: ">=", ast.Gt: ">", ast.LtE: "<=", ast.Lt: "<", ast.Eq: "==", ast.NotEq: "!="}
_COMPOUND = (ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.IfExp, ast.Lambda, ast.NamedExpr)


def _source(node: ast.AST, lines: list[str], segments: bool) -> str:
    """Python text for ``node``: an unchanged piece keeps its own text (``segments``), the rest is put together.

    Faster than ``ast.unparse`` for the forms generated code has (it falls back to it for others).
    """
    t = type(node)
    if t is ast.Name:
        return node.id  # type: ignore[attr-defined]
    line = getattr(node, "lineno", 0)
    if segments and line and line == getattr(node, "end_lineno", None) and t is not ast.Constant:
        return lines[line - 1][node.col_offset:node.end_col_offset]  # type: ignore[attr-defined]

    def part(n: ast.AST) -> str:
        text = _source(n, lines, segments)
        return f"({text})" if isinstance(n, _COMPOUND) else text

    if t is ast.Constant:
        return repr(node.value)  # type: ignore[attr-defined]
    if t is ast.BinOp and type(node.op) in _OPS:  # type: ignore[attr-defined]
        return f"{part(node.left)} {_OPS[type(node.op)]} {part(node.right)}"  # type: ignore[attr-defined]
    if t is ast.UnaryOp and isinstance(node.op, ast.USub):  # type: ignore[attr-defined]
        return "-" + part(node.operand)  # type: ignore[attr-defined]
    if t is ast.Call:
        args = [_source(a, lines, segments) for a in node.args]  # type: ignore[attr-defined]
        args += [f"{k.arg}={_source(k.value, lines, segments)}" for k in node.keywords]  # type: ignore[attr-defined]
        return f"{part(node.func)}({', '.join(args)})"  # type: ignore[attr-defined]
    if t is ast.Attribute:
        return f"{part(node.value)}.{node.attr}"  # type: ignore[attr-defined]
    if t is ast.Compare and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:  # type: ignore[attr-defined]
        op = _COMPARE[type(node.ops[0])]  # type: ignore[attr-defined]
        return f"{part(node.left)} {op} {part(node.comparators[0])}"  # type: ignore[attr-defined]
    if t is ast.Assign and len(node.targets) == 1:  # type: ignore[attr-defined]
        return f"{_source(node.targets[0], lines, segments)} = {_source(node.value, lines, segments)}"  # type: ignore
    if t is ast.AugAssign and type(node.op) in _OPS:  # type: ignore[attr-defined]
        op = _OPS[type(node.op)]  # type: ignore[attr-defined]
        value = _source(node.value, lines, segments)  # type: ignore[attr-defined]
        value = f"({value})" if isinstance(node.value, ast.Compare) else value  # type: ignore[attr-defined]
        return f"{_source(node.target, lines, segments)} {op}= {value}"  # type: ignore[attr-defined]
    if t is ast.Expr:
        return _source(node.value, lines, segments)  # type: ignore[attr-defined]
    if t is ast.Return:
        return "return" + (" " + _source(node.value, lines, segments) if node.value is not None else "")  # type: ignore
    if t is ast.Tuple:
        elts = [_source(e, lines, segments) for e in node.elts]  # type: ignore[attr-defined]
        return ", ".join(elts) if len(elts) > 1 else f"({elts[0]},)" if elts else "()"
    if t is ast.Dict:
        items = (f"{_source(k, lines, segments)}: {_source(v, lines, segments)}"  # type: ignore[arg-type]
                 for k, v in zip(node.keys, node.values))  # type: ignore[attr-defined]
        return "{" + ", ".join(items) + "}"
    return ast.unparse(node)


def _copy_names(stmt: ast.Return, names: set[str]) -> bool:
    """Return copies of ``names`` where they are values of the returned tuple or dict (``"W": d_W.copy()``)."""
    changed = False

    def fix(node: ast.expr) -> ast.expr:
        nonlocal changed
        if isinstance(node, ast.Name) and node.id in names:
            changed = True
            return ast.Call(ast.Attribute(ast.Name(node.id, ast.Load()), "copy", ast.Load()), [], [])
        if isinstance(node, ast.Dict):
            node.values = [fix(v) for v in node.values]  # type: ignore[misc]
        elif isinstance(node, ast.Tuple):
            node.elts = [fix(e) for e in node.elts]
        return node

    if stmt.value is not None:
        stmt.value = fix(stmt.value)
    return changed


def _rename_all(stmt: ast.stmt, names: Mapping[str, str]) -> ast.stmt:
    """``stmt`` with the names renamed, in place."""
    for node in _name_nodes(stmt, []):
        if node.id in names:
            node.id = names[node.id]
    return stmt


def _mask(node: ast.AST) -> ast.AST | None:
    """``(A >= 0).astype(A.dtype)`` -> the comparison itself (a boolean mask)."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "astype"
            and isinstance(node.func.value, ast.Compare) and len(node.args) == 1 and not node.keywords):
        return node.func.value
    return None


class _Pass:
    def __init__(self, stmts: list[ast.stmt], arrays: Mapping[str, tuple[Shape, str]], owned: set[str],
                 live_out: set[str], reserved: set[str], lines: list[str], fresh_out: set[str] = set()) -> None:
        self.stmts = stmts
        self.fresh_out = fresh_out
        self.lines = lines
        #: Statements passed through unchanged keep their own text (one statement per line).
        self.text: dict[int, str] = {}
        self.info: dict[str, Value] = {name: Value(_dims(shape), kind) for name, (shape, kind) in arrays.items()}
        self.memo: dict[int, tuple[ast.AST, Value]] = {}
        self.owned = owned
        self.live_out = live_out
        # the pass names its temporaries _f1, _f2, ...: only names of that form can collide
        self.taken = set(re.findall(r"\b_f\d+\b", "\n".join(lines))) | {r for r in reserved if r.startswith("_f")}
        self.counter = itertools.count(1)
        self.temps: set[str] = set()
        self.out: list[ast.stmt] = []

    # -- what a value is --------------------------------------------------------------
    def value(self, node: ast.AST) -> Value:
        if isinstance(node, ast.Name):
            return self.info.get(node.id, _UNKNOWN)
        found = self.memo.get(id(node))
        if found is not None and found[0] is node:
            return found[1]
        v = self._value(node)
        self.memo[id(node)] = (node, v)
        return v

    def _value(self, node: ast.AST) -> Value:
        if isinstance(node, ast.Constant):
            return _NUMBER if isinstance(node.value, (int, float)) else _UNKNOWN
        if isinstance(node, ast.Name):
            return self.info.get(node.id, _UNKNOWN)
        if _number(node) is not None:
            return _NUMBER
        if isinstance(node, ast.BinOp):
            a, b = self.value(node.left), self.value(node.right)
            if isinstance(node.op, ast.MatMult):
                if a.array and b.array and len(a.shape) == 2 and len(b.shape) == 2:  # type: ignore[arg-type]
                    return Value((a.shape[0], b.shape[1]), "f")  # type: ignore[index]
                return _UNKNOWN
            return self._combine([a, b], "f" if isinstance(node.op, ast.Div) else None)
        if isinstance(node, ast.UnaryOp):
            return self.value(node.operand)
        if isinstance(node, ast.Compare) and len(node.comparators) == 1:
            v = self._combine([self.value(node.left), self.value(node.comparators[0])], "b")
            return v
        if _call_name(node) is not None:
            return self._combine([self.value(a) for a in node.args], "f")  # type: ignore[attr-defined]
        if isinstance(node, ast.Attribute) and node.attr == "T":
            v = self.value(node.value)
            return Value(tuple(reversed(v.shape)), v.kind) if v.shape is not None and len(v.shape) == 2 else _UNKNOWN
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            return self._method(node)
        return _UNKNOWN

    def _combine(self, values: list[Value], kind: str | None) -> Value:
        if any(v.shape is None for v in values):
            return _UNKNOWN
        shape: Shape | None = ()
        for v in values:
            shape = _broadcast(shape, v.shape)  # type: ignore[arg-type]
            if shape is None:
                return _UNKNOWN
        kinds = {v.kind for v in values if v.array}
        if kind is None:
            kind = "f" if "f" in kinds else ("i" if "i" in kinds else "b" if kinds == {"b"} else None)
        elif kind == "f" and not shape:
            kind = "s"
        return Value(shape, kind)

    def _method(self, node: ast.Call) -> Value:
        base = self.value(node.func.value)  # type: ignore[attr-defined]
        attr = node.func.attr  # type: ignore[attr-defined]
        if base.shape is None:
            return _UNKNOWN
        if attr == "astype":
            return Value(base.shape, "f")
        if attr in _REDUCTIONS:
            keywords = {k.arg: k.value for k in node.keywords}
            keep = keywords.get("keepdims")
            if node.args or not (isinstance(keep, ast.Constant) and keep.value is True):
                return _UNKNOWN
            axis = keywords.get("axis")
            if axis is None:
                return Value((1,) * len(base.shape), base.kind)
            a = _number(axis)
            if a is None or not base.shape:
                return _UNKNOWN
            k = int(a) % len(base.shape)
            return Value(tuple(1 if i == k else d for i, d in enumerate(base.shape)), base.kind)
        return _UNKNOWN

    # -- step 1: one operation per statement ------------------------------------------
    def fresh(self) -> str:
        while True:
            name = f"_f{next(self.counter)}"
            if name not in self.taken:
                self.taken.add(name)
                self.temps.add(name)
                return name

    def emit(self, target: str, expr: ast.expr, info: Value | None = None) -> None:
        self.out.append(ast.Assign(targets=[ast.Name(target, ast.Store())], value=expr, lineno=0))
        self.info[target] = info if info is not None else self.value(expr)
        self.owned_now[target] = _fresh_result(expr)

    def atom(self, node: ast.expr) -> ast.expr:
        """An operand for the statement being written: a name, a number, or an expression that stays inline."""
        if not _elementwise(node) and not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult)):
            dot = self.vdot(node)
            return dot if dot is not None else node
        expr = self.split(node)
        if self.value(expr).kind == "s":
            return expr
        name = self.fresh()
        self.emit(name, expr)
        return ast.Name(name, ast.Load())

    def split(self, node: ast.expr) -> ast.expr:
        """``node`` with its operands made atoms; products and sums of all entries rewritten."""
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult) and self.value(node).kind != "s":
            return self.product(node)
        if isinstance(node, ast.BinOp):
            left, right = self.atom(node.left), self.atom(node.right)
            return node if left is node.left and right is node.right else ast.BinOp(left, node.op, right)
        if isinstance(node, ast.UnaryOp):
            operand = self.atom(node.operand)
            return node if operand is node.operand else ast.UnaryOp(node.op, operand)
        if _call_name(node) is not None:
            args = [self.atom(a) for a in node.args]  # type: ignore[attr-defined]
            unchanged = all(a is b for a, b in zip(args, node.args))  # type: ignore[attr-defined]
            return node if unchanged else ast.Call(node.func, args, [])  # type: ignore[attr-defined]
        dot = self.vdot(node)
        return dot if dot is not None else node

    def factors(self, node: ast.expr) -> list[ast.expr]:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            return self.factors(node.left) + self.factors(node.right)
        return [node]

    def product(self, node: ast.BinOp) -> ast.expr:
        """A product of factors: names and numbers first, then the factors that are computed (and may reuse memory)."""
        factors = self.factors(node)
        values = [self.value(f) for f in factors]
        if all(v.shape is not None for v in values):
            floats = [v.kind == "f" and v.array for v in values]
            for i, f in enumerate(factors):
                mask = _mask(f)
                if mask is not None and any(floats[:i] + floats[i + 1:]):
                    factors[i] = mask
        simple = [f for f in factors if isinstance(f, (ast.Name, ast.Constant)) or self.value(f).kind == "s"]
        factors = simple + [f for f in factors if not any(f is s for s in simple)]
        if len(factors) == 2 and factors[0] is node.left and factors[1] is node.right:
            left, right = self.atom(node.left), self.atom(node.right)
            return node if left is node.left and right is node.right else ast.BinOp(left, ast.Mult(), right)
        acc = self.atom(factors[0])
        for f in factors[1:-1]:
            acc = self.atom(ast.BinOp(acc, ast.Mult(), self.atom(f)))
        return ast.BinOp(acc, ast.Mult(), self.atom(factors[-1]))

    def vdot(self, node: ast.expr) -> ast.expr | None:
        """``(A * B).sum(keepdims=True)`` with A and B of one shape -> ``numpy.vdot(A, B)`` reshaped."""
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "sum"
                and not node.args and len(node.keywords) == 1 and node.keywords[0].arg == "keepdims"
                and isinstance(node.keywords[0].value, ast.Constant) and node.keywords[0].value.value is True):
            return None
        inner = node.func.value
        if isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.Pow) and _number(inner.right) == 2.0:
            factors = [inner.left, inner.left]  # Σ A^2 = A · A
        elif isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.Mult):
            factors = self.factors(inner)
        else:
            return None
        values = [self.value(f) for f in factors]
        if len(factors) != 2 or not all(v.kind == "f" and v.array for v in values) or values[0].shape != values[1].shape:
            return None
        a = self.atom(factors[0])
        b = a if factors[1] is factors[0] else self.atom(factors[1])
        ones = [ast.Constant(1) for _ in values[0].shape]  # type: ignore[union-attr]
        call = ast.Call(ast.Attribute(ast.Name("numpy", ast.Load()), "vdot", ast.Load()), [a, b], [])
        return ast.Call(ast.Attribute(call, "reshape", ast.Load()), ones, [])

    # -- the pass ---------------------------------------------------------------------
    def run(self) -> list[str]:
        self.owned_now: dict[str, bool] = {}
        assigned: set[str] = set()
        for stmt in self.stmts:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                target = stmt.targets[0].id
                if target in assigned:  # each name is assigned once in derivkit's code
                    raise _Unsupported(target)
                assigned.add(target)
                known = self.info.get(target)
                value = stmt.value
                self.memo.clear()
                expr = self.split(value) if isinstance(value, (ast.BinOp, ast.UnaryOp, ast.Call)) else value
                self.emit(target, expr, known if known is not None and known.shape is not None else None)
                if expr is value and stmt.lineno == stmt.end_lineno and len(self.lines) == len(self.stmts):
                    self.out[-1] = stmt  # unchanged: it keeps its own text
                    self.text[id(stmt)] = self.lines[stmt.lineno - 1]
            elif isinstance(stmt, (ast.Expr, ast.Assign, ast.AugAssign, ast.Return)):
                if stmt.lineno == stmt.end_lineno and len(self.lines) == len(self.stmts):
                    self.text[id(stmt)] = self.lines[stmt.lineno - 1]
                self.out.append(stmt)
            else:
                raise _Unsupported(type(stmt).__name__)
        return self.rewrite()

    def rewrite(self) -> list[str]:
        stmts = self.out
        last: dict[str, int] = {}
        nodes_of: dict[int, list[ast.Name]] = {}
        for i, stmt in enumerate(stmts):
            nodes_of[id(stmt)] = found = _name_nodes(stmt, [])
            for n in found:
                if type(n.ctx) is ast.Load:
                    last[n.id] = i
        end = len(stmts)
        for name in self.live_out:
            last[name] = end
        items = _item_only(stmts, nodes_of)
        # buffers: the names that share one array (an operation's result written into an operand's memory,
        # a view, an alias); a buffer is written in place only if it is the function's own and every name
        # of it is dead.
        buffer: dict[str, int] = {}
        members: dict[int, set[str]] = {}
        own: dict[int, bool] = {}
        ids = itertools.count()

        def new_buffer(name: str, owned: bool) -> None:
            b = next(ids)
            buffer[name] = b
            members[b] = {name}
            own[b] = owned

        def join(name: str, others: list[str]) -> None:
            """``name`` may share memory with each of ``others`` (a view, an alias): one buffer, not writable."""
            bs = {buffer[o] for o in others if o in buffer}
            if not bs:
                new_buffer(name, False)
                return
            b = min(bs)
            for other in bs - {b}:
                for m in members.pop(other):
                    buffer[m] = b
                    members[b].add(m)
                own.pop(other, None)
            members[b].add(name)
            buffer[name] = b
            own[b] = False

        def dead_after(name: str, i: int) -> bool:
            b = buffer.get(name)
            return b is not None and own[b] and all(last.get(m, -1) <= i for m in members[b])

        for name in self.owned:
            new_buffer(name, True)
        result: list[ast.stmt | str] = []
        dirty: set[int] = set()  # statements with renamed names: their text is put together anew
        deletable = set(self.owned_now) | set(self.owned)
        renamed: dict[str, str] = {}  # a temporary of this pass -> the name whose memory holds it
        mentions: dict[str, list[ast.stmt]] = {}  # a temporary of this pass -> the statements written with it
        for i, stmt in enumerate(stmts):
            found = nodes_of[id(stmt)]
            if renamed and any(n.id in renamed for n in found):
                for n in found:
                    n.id = renamed.get(n.id, n.id)
                self.text.pop(id(stmt), None)
                dirty.add(id(stmt))
            out: list[ast.stmt] = [stmt]
            into, coalesce, target = None, False, ""
            if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name) and len(stmt.targets) == 1:
                target = stmt.targets[0].id
                expr = stmt.value
                if target in items:
                    expr = _unshape(expr)
                into = self.into(expr, target, i, dead_after) if _elementwise(expr) else None
                if into is not None:
                    # an anonymous temporary of this pass takes the name of the result (``G_H = G_O @ W2.T;
                    # G_H *= H_out``), or the anonymous result keeps the operand's name (``_t1 *= O_out``)
                    coalesce = into in self.temps
                    out = self.inplace(target, expr, into, coalesce)
                    if coalesce:
                        earlier = mentions.pop(into, [])
                        for e in earlier:
                            _rename_all(e, {into: target})
                            self.text.pop(id(e), None)
                            dirty.add(id(e))
                        mentions.setdefault(target, []).extend(earlier)
                        dirty.update(id(e) for e in out)
                        deletable.add(target)
                    elif target in self.temps and target not in self.live_out and isinstance(out[0], ast.AugAssign):
                        out = out[:1]
                        renamed[target] = into
                        last[into] = last.get(target, i)
                    b = buffer[into]
                    members[b].add(target)
                    buffer[target] = b
                else:
                    out = [stmt if expr is stmt.value else ast.Assign(targets=stmt.targets, value=expr, lineno=0)]
                    if self.owned_now.get(target, False) or target in self.owned:
                        new_buffer(target, True)
                    else:
                        join(target, list(_names(expr)))
            if isinstance(stmt, ast.Return) and self.fresh_out:
                shared = {n for n in self.fresh_out if not own.get(buffer.get(n, -1), False)}
                if shared and _copy_names(stmt, shared):
                    self.text.pop(id(stmt), None)
                    dirty.add(id(stmt))
            result += out
            # the statements written for ``stmt`` name what it names, less a name renamed away
            names = {n.id for n in found}
            if out[0] is not stmt and into is not None:
                names.discard(into if coalesce else target if renamed.get(target) == into else "")
            for n in names & self.temps:
                mentions.setdefault(n, []).extend(out)
            dead = sorted(n for n in names if last.get(n, i) <= i and n in deletable and n not in self.live_out)
            if dead and not isinstance(stmt, ast.Return):
                result.append("del " + ", ".join(dead))
        return [s if isinstance(s, str) else self.text.get(id(s)) or _source(s, self.lines, id(s) not in dirty)
                for s in result]

    def into(self, expr: ast.expr, target: str, i: int, dead_after) -> str | None:
        """The operand whose memory the result can be written into, if any."""
        result = self.info.get(target, _UNKNOWN)
        if not result.array or result.kind != "f":
            return None
        if isinstance(expr, ast.BinOp):
            operands = [expr.left, expr.right]
        elif isinstance(expr, ast.UnaryOp):
            operands = [expr.operand]
        else:
            operands = list(expr.args)  # type: ignore[attr-defined]
        for op in operands:
            if isinstance(op, ast.Name) and dead_after(op.id, i):
                v = self.info.get(op.id, _UNKNOWN)
                if v.kind == "f" and v.shape == result.shape:
                    return op.id
        return None

    @staticmethod
    def inplace(target: str, expr: ast.expr, into: str, coalesce: bool) -> list[ast.stmt]:
        """Statements computing ``target = expr`` in the memory of ``into``.

        ``a + b`` into ``a`` is ``a += b`` (faster than the ufunc with ``out=``), then ``target = a``, or,
        when ``a`` is a temporary used only here (``coalesce``), ``a`` takes the name ``target`` at its
        definition: ``H_in = X @ W1; H_in += b1``. Into ``b``: ``b += a`` where the operation commutes,
        ``numpy.subtract(a, b, out=b)`` where it does not; a function: its ``out=``.
        """
        if coalesce:  # ``into`` is renamed ``target`` at its definition
            _rename_all(expr, {into: target})
            into = target
        name = into

        def ref(n: str) -> ast.Name:
            return ast.Name(n, ast.Load())

        def assign(value: ast.expr) -> ast.stmt:
            return ast.Assign(targets=[ast.Name(target, ast.Store())], value=value, lineno=0)

        if isinstance(expr, ast.BinOp):
            left, right = expr.left, expr.right
            operand = right if isinstance(left, ast.Name) and left.id == into else (
                left if isinstance(expr.op, (ast.Add, ast.Mult)) else None)
            if operand is not None:
                aug = ast.AugAssign(target=ast.Name(name, ast.Store()), op=expr.op, value=operand, lineno=0)
                return [aug] if coalesce else [aug, assign(ref(into))]
            call = ast.Call(ast.Attribute(ref("numpy"), _BINARY[type(expr.op)], ast.Load()), [left, right],
                            [ast.keyword("out", ref(into))])
            return [assign(call)]
        out = [ast.keyword("out", ref(into))]
        if isinstance(expr, ast.UnaryOp):
            return [assign(ast.Call(ast.Attribute(ref("numpy"), "negative", ast.Load()), [expr.operand], out))]
        return [assign(ast.Call(expr.func, expr.args, out))]  # type: ignore[attr-defined]
