r"""A graph: inputs, parameters and named definitions over tensors with shapes.

Shapes have rank 1 to 4; each size is an int or a name such as ``N`` (the
batch size stays symbolic, so the code derivkit generates works for any
batch). Definitions are nodes built with Python operators or strings read
safely (:mod:`derivkit.graph.parse`); a definition that does not fit is
refused with the node and the shapes named, and leaves the graph unchanged.

>>> g = Graph()
>>> X = g.input("X", ("N", 2)); W = g.param("W", (2, 1)); b = g.param("b", (1, 1))
>>> S = g.define("S", X @ W + b)
>>> print(g.definitions["S"], S.shape)
X W + b (N, 1)
>>> g.define("bad", "W @ X")
Traceback (most recent call last):
...
derivkit.errors.ShapeError: in the definition of bad: cannot multiply W (2 x 1) by X (N x 2): a matrix product needs the columns of the first (1) to equal the rows of the second (N)
"""

from __future__ import annotations

import keyword
from typing import Any, Sequence

import sympy

from derivkit.errors import DerivkitError, InputError, ParseError, ShapeError
from derivkit.graph.node import DEFINITION_FUNCTIONS, Node, make
from derivkit.graph.ops import LOSSES, leaf, scale
from derivkit.graph.parse import parse_definition
from derivkit.graph.printing import node_latex, node_text
from derivkit.graph.shapes import as_shape, dims_of, fixed, is_scalar_shape, shape_text
from derivkit.renderable import Renderable

__all__ = ["Graph", "RESERVED", "INITS"]

#: Names that cannot name a node: they mean something in the generated code.
RESERVED = {"numpy", "jnp", "jax", "params", "data", "DTYPE", "G", "N_", "range"}
#: Initialisation hints for parameters.
INITS = ("xavier", "he", "zeros", "ones", "normal")


class Graph(Renderable):
    """Inputs, parameters and named definitions over tensors with shapes.

    ``input(name, shape, dtype="float")`` declares data (``dtype="int"`` for
    indices and class labels), ``param(name, shape, init=None)`` a trainable
    parameter, ``define(name, expr)`` a named node. ``backprop(loss)`` derives
    the gradients, ``compile(...)`` turns them into code.
    """

    def __init__(self) -> None:
        self._nodes: dict[str, Node] = {}
        self._inputs: list[str] = []
        self._params: list[str] = []
        self._defined: list[str] = []
        self.init: dict[str, str] = {}
        self.output_name: str | None = None
        self._sizes: set[str] = set()

    # -- building -----------------------------------------------------------
    def _check_name(self, name: str) -> None:
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
            raise InputError(f"{name!r} is not a valid node name (letters, digits and _, not starting with _ or a digit)")
        if name in RESERVED or name in DEFINITION_FUNCTIONS or name in LOSSES:
            raise InputError(f"{name!r} is a reserved word and cannot name a node")
        if name in self._nodes:
            raise InputError(f"the graph already has a node named {name!r}")
        if name in self.sizes:
            raise InputError(f"{name!r} is already a size (dimension) name of the graph")

    def _leaf(self, kind: str, name: str, shape: Any, dtype: str = "float") -> Node:
        self._check_name(name)
        shape = as_shape(shape, name)
        for d in dims_of([shape]):
            if d in self._nodes or d in RESERVED or d in DEFINITION_FUNCTIONS:
                raise InputError(f"the size name {d} of {name} is already a node name or a reserved word")
        node = leaf(kind, name, shape, dtype)
        self._nodes[name] = node
        self._sizes |= dims_of([shape])
        return node

    def input(self, name: str, shape: Any, dtype: str = "float") -> Node:
        """Declare data (``X``, ``Y``); sizes may be names such as ``"N"``; ``dtype="int"`` for indices and labels."""
        if dtype not in ("float", "int"):
            raise InputError(f"the dtype of the input {name} must be 'float' or 'int', got {dtype!r}")
        node = self._leaf("input", name, shape, dtype)
        self._inputs.append(name)
        return node

    def param(self, name: str, shape: Any, init: str | None = None) -> Node:
        """Declare a trainable parameter; ``init`` is a hint: ``"xavier"``, ``"he"``, ``"zeros"``, ``"ones"``, ``"normal"``."""
        self._check_name(name)
        shape = as_shape(shape, name)
        if not fixed(shape):
            raise ShapeError(f"the parameter {name} needs a fixed shape, got {shape_text(shape)}")
        if init is not None and init not in INITS:
            raise InputError(f"unknown init {init!r} for {name}; choose one of {', '.join(INITS)}")
        node = self._leaf("param", name, shape)
        self._params.append(name)
        self.init[name] = init or ("zeros" if shape[0] == 1 or len(shape) == 1 else "xavier")
        return node

    def define(self, name: str, expr: Node | str) -> Node:
        """Name an expression (a :class:`Node` or a string such as ``"sigmoid(H_in)"``)."""
        self._check_name(name)
        try:
            node = parse_definition(expr, self._nodes, self.sizes) if isinstance(expr, str) else expr
        except ParseError:
            raise
        except RecursionError:
            raise ParseError(f"the definition of {name} is too deeply nested", None, None) from None
        except DerivkitError as err:
            raise type(err)(f"in the definition of {name}: {err}") from None
        if not isinstance(node, Node):
            raise InputError(f"the definition of {name} must be an expression of the graph's nodes, got {expr!r}")
        if node.name is not None:  # another name for an existing node
            node = make("scale", (node,), node.shape, param=sympy.S.One)
        named = node.renamed(name)
        self._nodes[name] = named
        self._defined.append(name)
        if named.op == "loss" and self.output_name is None:
            self.output_name = named.args[0].name
        return named

    # -- reading ------------------------------------------------------------
    def __getitem__(self, name: str) -> Node:
        try:
            return self._nodes[name]
        except (KeyError, TypeError):
            known = ", ".join(self._nodes)
            raise InputError(f"the graph has no node named {name!r}; it has {known}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._nodes

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(self._inputs)

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(self._params)

    @property
    def defined(self) -> tuple[str, ...]:
        """The names of the definitions, in order."""
        return tuple(self._defined)

    @property
    def definitions(self) -> dict[str, str]:
        """Each defined name and its definition in text."""
        return {n: node_text(self._nodes[n], top=True) for n in self._defined}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._nodes)

    @property
    def sizes(self) -> set[str]:
        """The size names (``N``) of the graph's shapes (those of its inputs and parameters)."""
        return set(self._sizes)

    def node(self, name: str) -> Node:
        return self[name]

    def default_loss(self) -> str:
        """The last scalar (1 x 1) definition: the loss."""
        for name in reversed(self._defined):
            if is_scalar_shape(self._nodes[name].shape):
                return name
        raise InputError("the graph defines no scalar (1 x 1) loss; define one, e.g. g.define('MSE', 'mse(O_out, Y)')")

    def backprop(self, loss: str | None = None) -> Any:
        """Reverse mode: the gradients of ``loss`` (a :class:`~derivkit.graph.backprop.Backprop`)."""
        from derivkit.graph.backprop import backprop

        return backprop(self, loss)

    def compile(self, backend: str = "numpy", dtype: Any = "float64", loss: str | None = None,
                wrt: Sequence[str] | None = None, devices: int | None = None) -> Any:
        """Generate and compile code for the loss and its gradients (see :class:`~derivkit.compile.CompiledGraph`).

        ``wrt`` names what the gradients dict holds (default: every parameter);
        it may name intermediate nodes and float inputs.
        """
        from derivkit.compile.compiled import CompiledGraph
        from derivkit.graph.backprop import backprop

        return CompiledGraph(backprop(self, loss, chains=False), backend=backend, dtype=dtype, wrt=wrt,
                             devices=devices)

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": {n: shape_text(self._nodes[n].shape) for n in self._inputs},
            "params": {n: shape_text(self._nodes[n].shape) for n in self._params},
            "definitions": [{"name": n, "expr": node_text(self._nodes[n], top=True),
                             "latex": node_latex(self._nodes[n], top=True),
                             "shape": shape_text(self._nodes[n].shape)} for n in self._defined],
        }

    def __repr__(self) -> str:
        return (f"Graph(inputs={list(self._inputs)}, params={list(self._params)}, "
                f"{len(self._defined)} definitions)")
