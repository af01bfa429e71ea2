"""Graphs for networks: the names of :mod:`derivkit.graph`, where the engine lives.

``from derivkit.nn.graph import Graph`` keeps working; new code imports from
:mod:`derivkit.graph` (the engine) or :mod:`derivkit.nn` (the networks).
"""

from derivkit.graph import Backprop, Factor, Graph, Node, node_latex, node_text, shape_text
from derivkit.graph.node import U
from derivkit.graph.ops import (
    LOSSES, PENALTIES, add, apply, const, divide, expand, fprime, hadamard, logsoftmax, loss, matmul, mean,
    penalty, scale, softmax, softplus, sub, total, transpose, zeros,
)
from derivkit.graph.sympy_form import to_sympy

__all__ = [
    "Node", "Graph", "Backprop", "Factor", "LOSSES", "PENALTIES", "U",
    "matmul", "transpose", "add", "sub", "hadamard", "divide", "scale", "const", "zeros",
    "apply", "fprime", "softmax", "logsoftmax", "softplus", "total", "mean", "expand",
    "loss", "penalty", "node_text", "node_latex", "shape_text", "to_sympy",
]
