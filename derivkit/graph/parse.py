r"""Definition strings (``"sigmoid(H_in)"``, ``"C[ix]"``) read safely with :mod:`ast`: nothing is evaluated.

The string is parsed as a Python expression and walked: names are the graph's
nodes or its size names (``N``, a number in formulas such as ``1/(N - 1)``),
numbers are exact (``0.1`` is ``1/10``), operators are the node operators
(``@``, ``*``, ``/``, ``+``, ``-``, ``**``, ``.T``, ``C[ix]``) and calls name
the functions registered for definitions (``softmax``, ``sum(A, axis=0)``,
``mse(O_out, Y)``, ``reshape(emb, (N, 30))``...). Anything else (attributes,
lambdas, comprehensions, strings) is refused.

>>> from derivkit.graph.ops import leaf
>>> names = {"X": leaf("input", "X", ("N", 2)), "W": leaf("param", "W", (2, 3))}
>>> print(parse_definition("sum(sigmoid(X @ W), axis=0) / N", names, {"N"}))
(1/N) Σ_e σ(X W)
"""

from __future__ import annotations

import ast
import difflib
from typing import Any, Collection, Mapping

import sympy

from derivkit.errors import DerivkitError, InputError, ParseError
from derivkit.graph.node import DEFINITION_FUNCTIONS, Node, number

__all__ = ["parse_definition", "MAX_DEFINITION"]

#: The longest definition string accepted.
MAX_DEFINITION = 2000

_BINOPS = {ast.MatMult: "@", ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


def parse_definition(text: str, names: Mapping[str, Node], sizes: Collection[str] = ()) -> Any:
    """The node (or number) that ``text`` describes, over the nodes ``names`` and the size names ``sizes``."""
    if len(text) > MAX_DEFINITION:
        raise ParseError(f"the definition is too long ({MAX_DEFINITION} characters at most)", text, None)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise ParseError(f"cannot read the definition: {err.msg}", text, (err.offset or 1) - 1) from None
    except (ValueError, MemoryError, RecursionError):
        raise ParseError("cannot read the definition", text, None) from None
    return _Reader(text, names, sizes).read(tree.body)


class _Reader:
    def __init__(self, text: str, names: Mapping[str, Node], sizes: Collection[str]) -> None:
        self.text = text
        self.names = names
        self.sizes = set(sizes)

    def fail(self, message: str, node: ast.AST) -> ParseError:
        return ParseError(message, self.text, getattr(node, "col_offset", None))

    def read(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Name):
            if node.id in self.names:
                return self.names[node.id]
            if node.id in self.sizes:
                return sympy.Symbol(node.id)
            known = ", ".join(self.names) or "none"
            raise self.fail(f"unknown name {node.id!r}: define it first (known: {known})", node)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            try:
                return number(node.value)
            except InputError as err:
                raise self.fail(str(err), node) from None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self.read(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.Attribute) and node.attr == "T":
            value = self.read(node.value)
            if not isinstance(value, Node):
                raise self.fail("only a matrix can be transposed", node)
            return self.apply(lambda: value.T, node)
        if isinstance(node, ast.Subscript):
            base, index = self.read(node.value), self.read(node.slice)
            if not isinstance(base, Node) or not isinstance(index, Node):
                raise self.fail("A[ix] picks rows of a node A with an integer input ix", node)
            return self.apply(lambda: base[index], node)
        if isinstance(node, ast.Tuple):
            return tuple(self.read(e) for e in node.elts)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return self.binop(_BINOPS[type(node.op)], self.read(node.left), self.read(node.right), node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self.call(node)
        raise self.fail("a definition may use names, numbers, @ * + - / **, .T, C[ix] and function calls only", node)

    def apply(self, build: Any, node: ast.AST) -> Any:
        """Run a builder, turning its errors into errors that point at ``node``."""
        try:
            return build()
        except DerivkitError:
            raise
        except (TypeError, ValueError, ZeroDivisionError) as err:
            raise self.fail(f"cannot build this part of the definition ({err})", node) from None

    def binop(self, sym: str, a: Any, b: Any, node: ast.AST) -> Any:
        if not isinstance(a, Node) and not isinstance(b, Node):
            if isinstance(a, tuple) or isinstance(b, tuple):
                raise self.fail("sizes in brackets are only for reshape(A, (N, 30))", node)
            if sym == "/" and b == 0:
                raise self.fail("division by zero", node)
            if sym == "**" and (not getattr(b, "is_number", True) or abs(b) > 64
                                or (isinstance(a, sympy.Expr) and not a.is_number)):
                raise self.fail("a power of numbers needs a small exponent", node)
            if sym == "@":
                raise self.fail("@ multiplies two matrices", node)
            return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b,
                    "**": lambda: a ** b}[sym]()
        if sym == "@" and not (isinstance(a, Node) and isinstance(b, Node)):
            raise self.fail("@ multiplies two matrices", node)
        if sym == "**" and isinstance(b, Node):
            raise self.fail("a power needs a number exponent", node)
        operations = {"@": lambda: a @ b, "+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
                      "/": lambda: a / b, "**": lambda: a ** b}
        return self.apply(operations[sym], node)

    def call(self, node: ast.Call) -> Any:
        fname = node.func.id  # type: ignore[attr-defined]
        if any(isinstance(a, ast.Starred) for a in node.args) or any(kw.arg is None for kw in node.keywords):
            raise self.fail("* and ** arguments are not allowed", node)
        args = [self.read(a) for a in node.args]
        kwargs = {kw.arg: self.read(kw.value) for kw in node.keywords if kw.arg is not None}
        fn = DEFINITION_FUNCTIONS.get(fname)
        if fn is None:
            close = difflib.get_close_matches(fname, DEFINITION_FUNCTIONS, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise self.fail(f"unknown function {fname!r}{hint}", node)
        if not any(isinstance(a, Node) for a in args):
            raise self.fail(f"{fname}(...) takes a node first (then numbers)", node)
        return self.apply(lambda: fn(*[_plain(a) for a in args], **{k: _plain(v) for k, v in kwargs.items()}), node)


def _plain(value: Any) -> Any:
    """An integer SymPy number as a Python int (axes, sizes, ddof); everything else unchanged."""
    if isinstance(value, sympy.Integer):
        return int(value)
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value
