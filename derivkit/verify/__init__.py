"""Checking hand-computed work: derivatives, matrices, descent tables and NumPy backprop.

* :func:`~derivkit.verify.check.check`: a claimed derivative, gradient, Jacobian or
  Hessian (or its value at a point) against the derived one, with a diagnosis;
* :func:`~derivkit.verify.descent.check_descent`: a hand-computed table of
  gradient-descent iterates;
* :func:`~derivkit.verify.gradcheck.gradcheck`: a NumPy gradient (or a whole
  hand-written backprop) against central differences or the derived gradients,
  with the mistake named (:mod:`~derivkit.verify.array_diagnosis`);
* :func:`~derivkit.verify.batch.check_many` and :func:`~derivkit.verify.batch.check_file`:
  a batch of problems, for autograders.

>>> from derivkit.verify import check
>>> check("x^2", "2x", "x").ok
True
"""

from __future__ import annotations

# Imported eagerly: the functions ``check`` and ``gradcheck`` share their names
# with their modules, and must win over the submodule attributes.
from derivkit.verify.batch import BatchReport, check_file, check_many
from derivkit.verify.check import Counterexample, Verdict, check
from derivkit.verify.descent import check_descent
from derivkit.verify.diagnosis import DIAGNOSES
from derivkit.verify.equivalence import compare
from derivkit.verify.gradcheck import GradcheckReport, gradcheck, gradcheck_graph

__all__ = ["check", "Verdict", "Counterexample", "check_descent", "gradcheck", "gradcheck_graph",
           "GradcheckReport", "DIAGNOSES", "compare", "check_many", "check_file", "BatchReport"]
