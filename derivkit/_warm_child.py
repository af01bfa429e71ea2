"""Imported by the fork server of :func:`derivkit.budget.run_isolated` (and nowhere else).

``simplify`` imports much of SymPy on its first call; doing that once here, in the fork
server, saves it in every child process the server starts.
"""

from __future__ import annotations

import sympy

_x = sympy.Symbol("x")
sympy.simplify(sympy.sin(_x) ** 2 + sympy.cos(_x) ** 2 - sympy.tan(_x) * sympy.cos(_x) / sympy.sin(_x))
sympy.cancel((_x**2 - 1) / (_x - 1))
