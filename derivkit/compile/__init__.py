"""Code generation: a graph's loss and gradients as fast array code.

:mod:`derivkit.compile.codegen` writes each node with its operation's
lowering (common subexpressions shared), :mod:`derivkit.compile.compiled`
wraps the generated functions as a :class:`~derivkit.compile.compiled.CompiledGraph`,
and :mod:`derivkit.compile.scalar` expands a small graph into scalar SymPy
symbols (the cross-check of the matrix-level derivation). This package reads
the graph engine (:mod:`derivkit.graph`) and nothing above it.
"""
