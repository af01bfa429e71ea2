"""derivkit: the calculus of deep learning.

Worked derivations with the rule behind every step, checks of hand-computed
gradients, and symbolic gradients compiled into fast NumPy training code.

>>> import derivkit
>>> derivkit.derive("x**2", "x").result
2*x

Names are imported on first use, so ``import derivkit`` stays quick.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    # input and errors
    "parse": "derivkit.parsing",
    "parse_equation": "derivkit.parsing",
    "DerivkitError": "derivkit.errors",
    "ParseError": "derivkit.errors",
    "InputError": "derivkit.errors",
    "ShapeError": "derivkit.errors",
    "DomainError": "derivkit.errors",
    "LimitError": "derivkit.errors",
    "MissingDependencyError": "derivkit.errors",
    # the rule table and the step engine
    "RULES": "derivkit.rules",
    "derive": "derivkit.calculus.steps",
    "Derivation": "derivkit.calculus.derivation",
    "Step": "derivkit.calculus.derivation",
    # several variables and chains
    "gradient": "derivkit.calculus.several",
    "jacobian": "derivkit.calculus.several",
    "hessian": "derivkit.calculus.several",
    "MatrixDerivation": "derivkit.calculus.several",
    "chain": "derivkit.calculus.chains",
    "Chain": "derivkit.calculus.chains",
    # checking hand-computed work
    "check": "derivkit.verify.check",
    "Verdict": "derivkit.verify.check",
    "check_descent": "derivkit.verify.descent",
    "gradcheck": "derivkit.verify.gradcheck",
    "GradcheckReport": "derivkit.verify.gradcheck",
    # networks
    "Graph": "derivkit.graph",
    "Backprop": "derivkit.graph",
    "CompiledGraph": "derivkit.compile.compiled",
    # descent and training
    "descend": "derivkit.training.descend",
    "Descent": "derivkit.training.descend",
    "compare_momentum": "derivkit.training.momentum",
    "MomentumComparison": "derivkit.training.momentum",
    # teaching: first principles, tangent lines, critical points, exercise sheets
    "first_principles": "derivkit.teaching.first_principles",
    "tangent_line": "derivkit.teaching.tangent",
    "TangentLine": "derivkit.teaching.tangent",
    "critical_points": "derivkit.teaching.critical",
    "CriticalPoints": "derivkit.teaching.critical",
    "exercises": "derivkit.teaching.exercises",
    "sheet": "derivkit.teaching.exercises",
    "Exercise": "derivkit.teaching.exercises",
    "ExerciseSheet": "derivkit.teaching.exercises",
    "train": "derivkit.training.loop",
    "History": "derivkit.training.loop",
}
_SUBMODULES = {"graph", "nn", "optim", "rules", "functions", "errors", "render", "calculus", "verify", "compile", "training", "teaching"}

__all__ = sorted(_EXPORTS) + sorted(_SUBMODULES)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"derivkit.{name}")
    raise AttributeError(f"module 'derivkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
