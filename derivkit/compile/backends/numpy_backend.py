"""The NumPy backend: plain functions over NumPy arrays, memory freed and reused as a careful person would.

The module's helpers: ``_sigmoid(x, out=None)``, ``1/(1 + e^(-x))`` computed in
one array (``out`` may be ``x`` itself), and ``_shape_error``, which says which
array does not have the shape the code was generated for. Each function's
statements go through :func:`derivkit.compile.inplace.optimize`.

>>> import numpy, warnings
>>> ns = {"__name__": "demo"}
>>> exec(IMPORTS + "\\nDTYPE = numpy.float64\\n" + NumpyBackend.helpers, ns)
>>> x = numpy.array([-800.0, 0.0, 2.0])
>>> with warnings.catch_warnings(record=True) as caught:  # e^800 = inf is not reported
...     ns["_sigmoid"](x).round(4).tolist()
[0.0, 0.5, 0.8808]
>>> caught
[]
>>> y = x.copy(); ns["_sigmoid"](y, out=y) is y, bool((y == ns["_sigmoid"](x)).all())
(True, True)
"""

from __future__ import annotations

from typing import Any, Collection, Mapping

from derivkit.compile.backends import Backend, register_backend
from derivkit.compile.inplace import optimize

__all__ = ["NumpyBackend", "SIGMOID_SOURCE", "SHAPE_ERROR_SOURCE"]

#: The sigmoid as generated NumPy code calls it: ``1/(1 + e^(-x))``, the fastest form
#: in NumPy, in one array (``out``, or a new one). For x below about -709 (-88 in
#: float32) ``e^(-x)`` overflows to ``inf`` and the quotient is exactly 0, the right
#: limit: the module ignores that one warning from its own code (a filter on its
#: module name, which costs nothing per call, where ``numpy.errstate`` would cost a
#: few microseconds a call).
SIGMOID_SOURCE = '''def _sigmoid(x, out=None):
    out = numpy.negative(x, out=out)
    numpy.exp(out, out=out)
    out += 1.0
    return numpy.reciprocal(out, out=out)
'''

#: The module's imports, and the one warning it ignores (from its own code only).
IMPORTS = '''import re
import warnings

import numpy

# e^(-x) overflows to inf in _sigmoid for x below about -709, where the sigmoid is exactly 0: not an error.
warnings.filterwarnings("ignore", "overflow encountered in exp", RuntimeWarning, re.escape(__name__))'''

#: Called when an array does not have the shape (or, for labels, the type) the code was generated for.
SHAPE_ERROR_SOURCE = '''def _shape_error(params, data):
    sizes = {}
    for name, (where, shape, kind) in _SHAPES.items():
        given = params if where == "params" else data
        if name not in given:
            raise KeyError(f"{where} has no entry {name!r}")
        array = numpy.asarray(given[name])
        fits = array.ndim == len(shape) and all(
            sizes.setdefault(d, n) == n if isinstance(d, str) else d == n for d, n in zip(shape, array.shape))
        if not fits:
            raise ValueError(f"{where}[{name!r}] has shape {array.shape}; this code was generated for {shape}")
        if kind == "int" and array.dtype.kind not in "iu":
            raise ValueError(f"{where}[{name!r}] holds indices or labels, so it must be an integer array")
    raise ValueError("the arrays do not have the shapes this code was generated for")
'''


class NumpyBackend(Backend):
    name = "numpy"
    xp = "numpy"
    package = "numpy"
    reserved = frozenset({"numpy", "re", "warnings", "DTYPE", "_DTYPE", "_ndarray", "_SHAPES", "_sigmoid",
                          "_shape_error", "params", "data"})
    usage = "Needs only NumPy"
    imports = IMPORTS
    helpers = "_DTYPE = numpy.dtype(DTYPE)\n_ndarray = numpy.ndarray\n\n\n" + SIGMOID_SOURCE + "\n\n" + SHAPE_ERROR_SOURCE

    def number(self, var: str) -> str:
        return f"{var}.item()"

    def fetch(self, arrays: list[tuple[str, str, bool]]) -> list[str]:
        """Each array taken as it is when it already is an ndarray of the code's type, else converted."""
        if not arrays:
            return []
        out = [f'{name} = {source}["{name}"]' for name, source, _ in arrays]
        types = " is ".join(f"type({name})" for name, _, _ in arrays) + " is _ndarray"
        floats = [name for name, _, is_int in arrays if not is_int]
        dtypes = " and " + " is ".join(f"{name}.dtype" for name in floats) + " is _DTYPE" if floats else ""
        out.append(f"if not ({types}{dtypes}):")
        out += [f"    {name} = numpy.asarray({name}{'' if is_int else ', dtype=DTYPE'})" for name, _, is_int in arrays]
        return out

    def finish(self, lines: list[str], values: Mapping[str, Any], live_out: Collection[str],
               reserved: Collection[str], fresh_out: Collection[str] = ()) -> list[str]:
        return optimize(lines, values, live_out=live_out, reserved=reserved, fresh_out=fresh_out)


register_backend(NumpyBackend())
