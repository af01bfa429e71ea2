"""The node type of a graph, and the record every operation is.

A :class:`Node` is one tensor-valued operation (or a leaf) with its shape. It
knows nothing about what its operation means: that is the operation's record,
an :class:`Op` registered under the node's ``op`` name in :data:`OPS`. A record
holds everything derivkit knows about one operation, side by side:

- ``shape``: the shape rule (raising :class:`~derivkit.errors.ShapeError` for
  operands that do not fit),
- ``simplify``: the simplifications a teacher does silently (``0 · A = 0``),
- ``vjp``: the local backward rule, ``G ↦`` the adjoint of each operand,
- ``print``: how it reads in the course's notation (text and LaTeX),
- ``lower``: the NumPy code it becomes (a backend may override it),
- ``scalar``: its value on arrays of SymPy scalars (the slow, obvious
  cross-check), and ``to_sympy``: its SymPy matrix-expression form.

Nodes are hash-consed: building the same operation on the same operands gives
the same object, so a subexpression that appears twice is one node, which the
code generator computes once.

>>> import sympy
>>> from derivkit.graph import ops
>>> N = sympy.Symbol("N")
>>> A = make("input", (), (N, 2), name="A"); B = make("param", (), (2, 3), name="B")
>>> print(A @ B, (A @ B).shape)
A B (N, 3)
>>> (A @ B) is (A @ B)
True
"""

from __future__ import annotations

import atexit
import itertools
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

import sympy

from derivkit import budget
from derivkit.errors import InputError, ShapeError
from derivkit.graph.shapes import Shape, shape_text

if TYPE_CHECKING:  # pragma: no cover
    from derivkit.graph.printing import Printer

__all__ = ["U", "Node", "Op", "OPS", "register", "make", "build", "number", "as_node", "short", "require", "LEAVES",
           "DEFINITION_FUNCTIONS", "in_definitions"]

#: The variable of the scalar function an elementwise node applies.
U = sympy.Symbol("u")

#: Operations without operands.
LEAVES = ("input", "param", "const", "zeros", "adjoint", "eye")

_uids = itertools.count(1)
_INTERN: "weakref.WeakValueDictionary[tuple, Node]" = weakref.WeakValueDictionary()
atexit.register(_INTERN.clear)  # before SymPy is torn down: a dying node's key is hashed no more


@dataclass(frozen=True, eq=False)
class Node:
    """One tensor-valued operation (or a leaf) with its shape.

    ``op`` names the operation (its record is ``OPS[op]``), ``args`` are the
    operand nodes, ``shape`` a tuple of sizes (ints or symbols such as ``N``),
    ``name`` the graph name of a named node, ``param`` the operation's
    parameter (the scalar function of an elementwise node, a constant, an
    axis, a loss kind) and ``dtype`` ``"float"`` or ``"int"`` (indices and
    labels). Python operators build new nodes with shape checks:
    ``@`` (matrix product), ``*`` (Hadamard product, or a number times a
    node), ``/``, ``+``, ``-`` (NumPy broadcasting), ``**`` (a number power),
    ``.T`` and ``C[ix]`` (rows of ``C`` picked by an integer node).
    """

    op: str
    args: tuple = ()
    shape: Shape = (1, 1)
    name: str | None = None
    param: Any = None
    dtype: str = "float"
    uid: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if not self.uid:
            object.__setattr__(self, "uid", next(_uids))

    # -- the record --------------------------------------------------------------
    @property
    def record(self) -> "Op":
        """The operation's :class:`Op`."""
        return OPS[self.op]

    @property
    def rank(self) -> int:
        return len(self.shape)

    def renamed(self, name: str | None) -> "Node":
        """The same operation under a graph name."""
        return make(self.op, self.args, self.shape, name=name, param=self.param, dtype=self.dtype)

    # -- operators -----------------------------------------------------------------
    def __matmul__(self, other: Any) -> "Node":
        return _builder("matmul")(self, as_node(other))

    def __rmatmul__(self, other: Any) -> "Node":
        return _builder("matmul")(as_node(other), self)

    def __add__(self, other: Any) -> "Node":
        return _builder("add")(self, as_node(other))

    def __radd__(self, other: Any) -> "Node":
        return _builder("add")(as_node(other), self)

    def __sub__(self, other: Any) -> "Node":
        return _builder("sub")(self, as_node(other))

    def __rsub__(self, other: Any) -> "Node":
        return _builder("sub")(as_node(other), self)

    def __mul__(self, other: Any) -> "Node":
        if isinstance(other, Node):
            return _builder("hadamard")(self, other)
        return _builder("scale")(number(other), self)

    def __rmul__(self, other: Any) -> "Node":
        return _builder("scale")(number(other), self)

    def __truediv__(self, other: Any) -> "Node":
        if isinstance(other, Node):
            return _builder("divide")(self, other)
        return _builder("scale")(1 / number(other), self)

    def __rtruediv__(self, other: Any) -> "Node":
        return _builder("apply")(number(other) / U, self)

    def __neg__(self) -> "Node":
        return _builder("scale")(sympy.S.NegativeOne, self)

    def __pow__(self, power: Any) -> "Node":
        return _builder("apply")(U ** number(power), self)

    def __getitem__(self, index: Any) -> "Node":
        if not isinstance(index, Node):
            raise InputError(f"{short(self)}[...] takes an integer node (indices), got {index!r}")
        return _builder("gather")(self, index)

    @property
    def T(self) -> "Node":
        return _builder("transpose")(self)

    # -- printing ------------------------------------------------------------------
    def __str__(self) -> str:
        from derivkit.graph.printing import node_text

        return node_text(self, top=True)

    def __repr__(self) -> str:
        return f"Node({self.op}, {str(self)!r}, shape={shape_text(self.shape)})"

    def _repr_latex_(self) -> str:
        from derivkit.graph.printing import node_latex

        return "$" + node_latex(self, top=True) + "$"

    def to_sympy(self) -> Any:
        """This expression as a SymPy matrix expression (rank 2; see :func:`derivkit.graph.sympy_form.to_sympy`)."""
        from derivkit.graph.sympy_form import to_sympy

        return to_sympy(self)


def _builder(op: str) -> Callable[..., Node]:
    from derivkit.graph import ops

    return getattr(ops, op)


def _key(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_key(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _key(v)) for k, v in value.items()))
    return value


def make(op: str, args: tuple = (), shape: Shape = (1, 1), *, name: str | None = None, param: Any = None,
         dtype: str = "float") -> Node:
    """The node ``op(args)`` with this shape: the existing one if it was built before (hash-consing)."""
    key = (op, _key(param), tuple(shape), name, dtype, tuple(a.uid for a in args))
    try:
        found = _INTERN.get(key)
    except TypeError:  # an unhashable parameter: no sharing
        return Node(op, tuple(args), tuple(shape), name, param, dtype)
    if found is None:
        _refuse_huge(op, tuple(shape), name)
        found = Node(op, tuple(args), tuple(shape), name, param, dtype)
        _INTERN[key] = found
    return found


def _refuse_huge(op: str, shape: tuple, name: str | None) -> None:
    """A node whose value (per example, when the batch size is a name) would not fit the memory limit is refused."""
    entries = 1
    for d in shape:
        if isinstance(d, int):
            entries *= d
    size = entries * 8  # float64
    if size > budget.current().memory:
        per = " per example" if any(not isinstance(d, int) for d in shape) else ""
        budget.refuse_above("memory", size, f"the node {name or op} of shape {shape_text(shape)} would hold "
                            f"{entries:.3g} numbers ({size / 2**30:.3g} GiB{per})", part=name or op)


# ---------------------------------------------------------------------------
# operation records
# ---------------------------------------------------------------------------

class Op:
    """Everything derivkit knows about one operation (see the module docstring).

    Subclasses set ``name`` and override the methods they need; an operation
    without a backward rule, a lowering or a scalar form says so when asked.
    ``names_adjoint`` marks the operations whose named nodes get a named
    adjoint (``O_in`` -> ``G_O``): the linear layers of the course.
    ``int_operands`` lists the operand positions that may be integer nodes.
    """

    name: str = ""
    names_adjoint: bool = False
    int_operands: tuple[int, ...] = ()
    #: Named nodes of this operation print their definition with ``top``; a leaf prints its name.
    leaf: bool = False
    #: The generated code keeps the value in a variable even when it is used once (several statements).
    needs_variable: bool = False
    #: A big operator such as ``Σ_e A``: a number in front of it needs no brackets (``(1/N) Σ_e A``).
    big_operator: bool = False

    def expansion(self, n: Node) -> Node | None:
        """For a composite operation (a loss), the same value written with primitive operations."""
        return None

    def check(self, n: Node, values: dict[str, Any]) -> None:
        """At run time, after NumPy refused the data: raise an error that names what is wrong (indices, labels)."""

    def shape(self, args: tuple, param: Any) -> Shape:
        return args[0].shape

    def simplify(self, args: tuple, param: Any, shape: Shape) -> Node | None:
        """A simpler equal node, or None."""
        return None

    def dtype(self, args: tuple, param: Any) -> str:
        return "float"

    def vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        """The contributions ``(operand, adjoint)`` of ``n`` given its adjoint ``G``."""
        raise InputError(f"derivkit cannot differentiate the operation {self.name!r}")

    def plain_vjp(self, n: Node, G: Node) -> list[tuple[Node, Node]]:
        """The backward rule without fusing with an operand (for a rule that skips one, see ``reverse``)."""
        return self.vjp(n, G)

    def print(self, n: Node, p: "Printer") -> tuple[str, int]:
        """Text (or LaTeX, as ``p.latex`` says) and precedence of ``n``."""
        inner = ", ".join(p.sub(a, 0) for a in n.args)
        return (rf"\operatorname{{{self.name}}}\left({inner}\right)" if p.latex else f"{self.name}({inner})"), 90

    def lower(self, n: Node, em: Any) -> str:
        """NumPy code for ``n`` (``em`` is the emitter: ``em.ref(child)``, ``em.xp``, ...)."""
        raise InputError(f"derivkit cannot compile the operation {self.name!r}")

    def scalar(self, n: Node, vals: list, ctx: Any) -> Any:
        """The value on object arrays of SymPy scalars (the cross-check)."""
        raise InputError(f"the scalar expansion does not know the operation {self.name!r}")

    def to_sympy(self, n: Node, args: list) -> Any:
        raise InputError(f"{self.name} has no SymPy matrix-expression form; use the text or LaTeX rendering")

    def __repr__(self) -> str:
        return f"<operation {self.name}>"


#: Every operation's record, by name.
OPS: dict[str, Op] = {}

#: The functions a definition string may call (``"softmax(O_in)"``), by name: builders taking nodes,
#: numbers, tuples of sizes and keyword options.
DEFINITION_FUNCTIONS: dict[str, Callable[..., Node]] = {}


def in_definitions(*names: str) -> Callable[[Callable[..., Node]], Callable[..., Node]]:
    """Decorator: make a builder callable by these names in definition strings."""

    def decorate(fn: Callable[..., Node]) -> Callable[..., Node]:
        for name in names:
            DEFINITION_FUNCTIONS[name] = fn
        return fn

    return decorate


def register(cls: type[Op]) -> type[Op]:
    """Class decorator: create the record and add it to :data:`OPS`."""
    record = cls()
    if not record.name or record.name in OPS:
        raise RuntimeError(f"operation {record.name!r} is registered twice")  # pragma: no cover
    OPS[record.name] = record
    return cls


def build(op: str, args: Sequence[Node], param: Any = None) -> Node:
    """The node ``op(args)`` after its record's shape rule and simplifications."""
    record = OPS[op]
    args = tuple(args)
    for i, a in enumerate(args):
        if not isinstance(a, Node):
            raise InputError(f"{op} takes nodes as operands, got {a!r}")
        if a.dtype == "int" and i not in record.int_operands:
            raise InputError(
                f"{short(a)} holds integers (indices or labels): it can pick rows (C[{short(a)}]) or be a loss's "
                f"labels, not be an operand of {op}")
    shape = record.shape(args, param)
    simpler = record.simplify(args, param, shape)
    if simpler is not None:
        return simpler
    return make(op, args, shape, param=param, dtype=record.dtype(args, param))


def number(obj: Any) -> sympy.Basic:
    """A Python or SymPy number as an exact SymPy number (0.1 -> 1/10)."""
    if isinstance(obj, bool) or not isinstance(obj, (int, float, sympy.Basic)):
        raise InputError(f"expected a number or a node, got {obj!r}")
    if isinstance(obj, float):
        if obj != obj or obj in (float("inf"), float("-inf")):
            raise InputError(f"expected a finite number, got {obj!r}")
        return sympy.Rational(repr(obj))
    return sympy.sympify(obj)


def as_node(obj: Any) -> Node:
    """A node, or a number as a constant node."""
    if isinstance(obj, Node):
        return obj
    return _builder("const")(number(obj))


def short(node: Node) -> str:
    """The node's text, cut to 40 characters (for messages)."""
    text = str(node) if node.name is None else node.name
    return text if len(text) <= 40 else text[:37] + "..."


def require(ok: bool, message: Callable[[], str]) -> None:
    """Raise a :class:`~derivkit.errors.ShapeError` with ``message()`` unless ``ok`` (the message is built only then)."""
    if not ok:
        raise ShapeError(message())
