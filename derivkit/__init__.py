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
from typing import TYPE_CHECKING, Any

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
    "check_many": "derivkit.verify.batch",
    "check_backprop": "derivkit.verify.backprop",
    "BackpropVerdict": "derivkit.verify.backprop",
    "BatchReport": "derivkit.verify.batch",
    "gradcheck": "derivkit.verify.gradcheck",
    "GradcheckReport": "derivkit.verify.gradcheck",
    # networks
    "Graph": "derivkit.graph",
    "Backprop": "derivkit.graph",
    "CompiledGraph": "derivkit.compile.compiled",
    # descent and training
    "descend": "derivkit.training.descend",
    "Descent": "derivkit.training.descend",
    "train": "derivkit.training.loop",
    "History": "derivkit.training.loop",
}
_SUBMODULES = {"graph", "nn", "optim", "rules", "functions", "errors", "render", "calculus", "verify", "compile", "training"}

__all__ = sorted(_EXPORTS) + sorted(_SUBMODULES)


if TYPE_CHECKING:  # the lazy names as type checkers and the API reference see them (keep in step with _EXPORTS)
    from derivkit import (
        calculus as calculus, compile as compile, errors as errors, functions as functions, graph as graph, nn as nn,
        optim as optim, render as render, rules as rules, training as training, verify as verify,
    )
    from derivkit.calculus.chains import Chain as Chain, chain as chain
    from derivkit.calculus.derivation import Derivation as Derivation, Step as Step
    from derivkit.calculus.several import (
        MatrixDerivation as MatrixDerivation, gradient as gradient, hessian as hessian, jacobian as jacobian,
    )
    from derivkit.calculus.steps import derive as derive
    from derivkit.compile.compiled import CompiledGraph as CompiledGraph
    from derivkit.errors import (
        DerivkitError as DerivkitError, DomainError as DomainError, InputError as InputError,
        LimitError as LimitError, MissingDependencyError as MissingDependencyError, ParseError as ParseError,
        ShapeError as ShapeError,
    )
    from derivkit.graph import Backprop as Backprop, Graph as Graph
    from derivkit.parsing import parse as parse, parse_equation as parse_equation
    from derivkit.rules import RULES as RULES
    from derivkit.training.descend import Descent as Descent, descend as descend
    from derivkit.training.loop import History as History, train as train
    from derivkit.verify.backprop import BackpropVerdict as BackpropVerdict, check_backprop as check_backprop
    from derivkit.verify.batch import BatchReport as BatchReport, check_many as check_many
    from derivkit.verify.check import Verdict as Verdict, check as check
    from derivkit.verify.descent import check_descent as check_descent
    from derivkit.verify.gradcheck import GradcheckReport as GradcheckReport, gradcheck as gradcheck


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
