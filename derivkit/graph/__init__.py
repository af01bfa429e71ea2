"""Graphs of tensor operations and reverse mode over them (the graph engine).

- :mod:`~derivkit.graph.shapes`: shapes (rank 1 to 4, sizes ints or names) and broadcasting;
- :mod:`~derivkit.graph.node`: the node type and the operation record (:class:`~derivkit.graph.node.Op`);
- :mod:`~derivkit.graph.ops`: one record per operation (shape rule, backward rule, printing, lowering);
- :mod:`~derivkit.graph.reverse`: the reverse walk, which never names an operation;
- :mod:`~derivkit.graph.parse`: definition strings, read safely;
- :mod:`~derivkit.graph.graph`: :class:`Graph`;
- :mod:`~derivkit.graph.backprop`: :class:`Backprop`, its factors and chains;
- :mod:`~derivkit.graph.printing`: nodes in the course's notation.

``derivkit.nn`` builds networks from it; ``derivkit.compile`` reads its records.
"""

from derivkit.graph.node import OPS, Node, Op
from derivkit.graph import ops
from derivkit.graph.graph import Graph
from derivkit.graph.backprop import Backprop, Factor, backprop
from derivkit.graph.printing import node_latex, node_text
from derivkit.graph.shapes import shape_text

__all__ = ["OPS", "Node", "Op", "ops", "Graph", "Backprop", "Factor", "backprop", "node_latex", "node_text",
           "shape_text"]
