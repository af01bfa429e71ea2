"""The backends derivkit generates code for: one module each, in one registry.

A backend is

- ``xp``, the array module its code calls (``numpy``, ``jnp``), and its lowering
  table :data:`derivkit.compile.codegen.LOWERINGS` ``[name]``: the operations whose
  code differs from their record's own (NumPy) lowering;
- the module text around the generated functions: imports, ``DTYPE``, helpers,
  and (JAX) the ``jax.jit`` wrappers (:meth:`Backend.imports`, ...);
- ``finish``, the last pass over a function's statements (NumPy: free and reuse
  memory, :mod:`derivkit.compile.inplace`);
- ``runtime``, how a :class:`~derivkit.compile.compiled.CompiledGraph` calls the
  generated functions (JAX: float64 for the call only, the batch sharded over
  devices).

Adding a backend is one module here that registers a :class:`Backend`.

>>> sorted(BACKENDS)
['jax', 'numpy']
>>> get_backend("torch")
Traceback (most recent call last):
...
derivkit.errors.InputError: unknown backend 'torch'; derivkit generates code for: numpy, jax
"""

from __future__ import annotations

from typing import Any, Callable, Collection, Mapping

import numpy

from derivkit.errors import InputError

__all__ = ["Backend", "Runtime", "BACKENDS", "register_backend", "get_backend", "float_dtype", "DTYPES"]

#: The float types generated code computes in.
DTYPES = {"float64": numpy.float64, "float32": numpy.float32}


def float_dtype(dtype: Any) -> numpy.dtype:
    """``"float64"``, ``numpy.float32``, ... as a NumPy dtype; anything else is refused."""
    try:
        key = dtype if isinstance(dtype, str) else numpy.dtype(dtype).name
    except TypeError:
        key = None
    if key not in DTYPES:
        raise InputError(f"dtype must be float64 or float32, got {dtype!r}")
    return numpy.dtype(DTYPES[key])


class Runtime:
    """The generated functions of one compiled graph, ready to call (``loss_and_grads``, ``forward``, ``predict``)."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]]) -> None:
        self.functions = dict(functions)

    def call(self, name: str, params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
        return self.functions[name](params, data)


class Backend:
    """What derivkit needs to know to generate and run code for one array library."""

    #: The backend's name (``compile(backend=...)``).
    name: str = ""
    #: The array module as the generated code names it.
    xp: str = ""
    #: The package the generated code imports, and the derivkit extra that installs it.
    package: str = ""
    extra: str = ""
    #: Names the module defines at its top level (the emitter avoids them).
    reserved: frozenset[str] = frozenset()
    #: How the module's docstring says what it needs ("Needs only NumPy").
    usage: str = ""
    #: The module's imports.
    imports: str = ""
    #: The module's helpers (``_sigmoid``, ``_shape_error``).
    helpers: str = ""
    #: Whether ``devices=k`` (the batch split over devices) is possible.
    devices: bool = False

    def require(self) -> None:
        """Raise :class:`~derivkit.errors.MissingDependencyError` when the package is not installed."""

    def dtype_code(self, dtype: numpy.dtype) -> str:
        return f"{self.xp}.{dtype.name}"

    def fetch(self, arrays: list[tuple[str, str, bool]]) -> list[str]:
        """Statements binding each ``(name, "params" or "data", is_int)`` to an array of the code's type."""
        out = []
        for name, source, is_int in arrays:
            dtype = "" if is_int else ", dtype=DTYPE"
            out.append(f'{name} = {self.xp}.asarray({source}["{name}"]{dtype})')
        return out

    def function_name(self, name: str) -> str:
        """The name under which the module defines the function ``name`` (JAX: the traced function)."""
        return name

    def number(self, var: str) -> str:
        """Code for a 1 x 1 value as the function returns it (NumPy: a Python float)."""
        return var

    def finish(self, lines: list[str], values: Mapping[str, Any], live_out: Collection[str],
               reserved: Collection[str], fresh_out: Collection[str] = ()) -> list[str]:
        """The last pass over a function's statements (``fresh_out``: returned names that must not be shared)."""
        return list(lines)

    def epilogue(self, functions: tuple[str, ...], numbers: tuple[str, ...]) -> str:
        """Module code after the generated functions."""
        return ""

    def runtime(self, namespace: dict[str, Any], compiled: Any) -> Runtime:
        """The callable functions of an executed module."""
        from derivkit.compile.module import FUNCTIONS

        return Runtime({name: namespace[name] for name in FUNCTIONS if name in namespace})

    def __repr__(self) -> str:
        return f"<backend {self.name}>"


#: Every backend, by name, in the order they were registered.
BACKENDS: dict[str, Backend] = {}


def register_backend(backend: Backend) -> Backend:
    if not backend.name or backend.name in BACKENDS:
        raise RuntimeError(f"backend {backend.name!r} is registered twice")  # pragma: no cover
    BACKENDS[backend.name] = backend
    return backend


def get_backend(name: Any) -> Backend:
    """The backend called ``name``; an unknown name is refused with the names there are."""
    if isinstance(name, str) and name in BACKENDS:
        return BACKENDS[name]
    raise InputError(f"unknown backend {name!r}; derivkit generates code for: {', '.join(BACKENDS)}")


from derivkit.compile.backends import numpy_backend  # noqa: E402,F401
from derivkit.compile.backends import jax_backend  # noqa: E402,F401
