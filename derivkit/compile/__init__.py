"""Code generation: a graph's loss and gradients as fast NumPy code.

:mod:`derivkit.compile.codegen` prints nodes as NumPy (with common
subexpressions shared), :mod:`derivkit.compile.compiled` wraps the generated
functions as a :class:`~derivkit.compile.compiled.CompiledGraph`, and
:mod:`derivkit.compile.scalar` expands a small graph into scalar SymPy symbols
(the cross-check of the matrix-level derivation).
"""
