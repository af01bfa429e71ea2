"""The operations of a graph: one module per family, one record per operation.

Importing this package registers every record in :data:`derivkit.graph.node.OPS`
and gives the builders (``matmul``, ``softmax``, ``loss``, ...), which apply
each record's shape rule and simplifications. A new operation is a new module
here (its record and builder) plus its tests; nothing else names it.
"""

from derivkit.graph.ops.leaves import const, eye, is_const, is_zero, leaf, zeros
from derivkit.graph.ops.arith import add, divide, hadamard, scale, sub, times, unbroadcast
from derivkit.graph.ops.linalg import inv, logdet, matmul, trace, transpose
from derivkit.graph.ops.reduce import amax, amin, argmax_mask, expand, mean, total, var
from derivkit.graph.ops.elementwise import FUNCTIONS, apply, derivative_of, fprime, function_body, single
from derivkit.graph.ops.softmax import logsoftmax, softmax, softplus
from derivkit.graph.ops.index import gather, onehot, pick, scatter_add
from derivkit.graph.ops.reshape import concat, flatten, reshape, take_slice
from derivkit.graph.ops.dropout import dropout
from derivkit.graph.ops.conv import conv2d, conv2d_bias_grad, conv2d_input_grad, conv2d_kernel_grad
from derivkit.graph.ops.pool import avgpool2d, avgpool2d_grad, maxpool2d, maxpool2d_grad
from derivkit.graph.ops.losses import LABEL_LOSSES, LOSS_ALIASES, LOSSES, PENALTIES, fused_input, loss, penalty

__all__ = [
    "const", "eye", "is_const", "is_zero", "leaf", "zeros",
    "add", "divide", "hadamard", "scale", "sub", "times", "unbroadcast",
    "inv", "logdet", "matmul", "trace", "transpose",
    "amax", "amin", "argmax_mask", "expand", "mean", "total", "var",
    "FUNCTIONS", "apply", "derivative_of", "fprime", "function_body", "single",
    "logsoftmax", "softmax", "softplus",
    "gather", "onehot", "pick", "scatter_add",
    "concat", "flatten", "reshape", "take_slice",
    "dropout",
    "conv2d", "conv2d_bias_grad", "conv2d_input_grad", "conv2d_kernel_grad",
    "avgpool2d", "avgpool2d_grad", "maxpool2d", "maxpool2d_grad",
    "LABEL_LOSSES", "LOSS_ALIASES", "LOSSES", "PENALTIES", "fused_input", "loss", "penalty",
]
