r"""Batch normalisation and layer normalisation as named steps of a graph.

:func:`batchnorm` and :func:`layernorm` add their steps (mean, centred,
variance, normalised, scaled) as definitions of the graph, so their backward
pass is derived like any other, not hand-coded, and each step's gradient can be
read and checked. The batch size stays symbolic (``N``): the same graph
normalises a batch of any size.

>>> from derivkit.graph import Graph
>>> g = Graph()
>>> H = g.input("H", ("N", 4)); gain = g.param("gain", (1, 4), init="ones"); bias = g.param("bias", (1, 4))
>>> out = batchnorm(g, "bn", H, gain, bias)
>>> for name in ("bn_mean", "bn_centred", "bn_var", "bn_norm", "bn"):
...     print(name, "=", g.definitions[name])
bn_mean = (1/N) Σ_e H
bn_centred = H - bn_mean
bn_var = (1/N) Σ_e bn_centred^2
bn_norm = bn_centred / √(bn_var + 1e-05)
bn = gain ∘ bn_norm + bias
"""

from __future__ import annotations

from typing import Any

from derivkit.errors import InputError
from derivkit.graph import Graph, Node
import sympy

from derivkit.graph.node import number
from derivkit.graph.ops import apply, mean, scale, total
from derivkit.graph.ops.reduce import axis_count
from derivkit.graph.shapes import shape_text

__all__ = ["batchnorm", "layernorm"]


def _node(g: Graph, x: Any, what: str) -> Node:
    if isinstance(x, str):
        return g[x]
    if isinstance(x, Node):
        return x
    raise InputError(f"{what} must be a node of the graph or its name, got {x!r}")


def _affine(g: Graph, name: str, A: Node, gain: Any, bias: Any) -> tuple[Node, Node]:
    shape = (1, A.shape[1])  # one gain and one bias per feature
    gain = g.param(f"{name}_gain", shape, init="ones") if gain is None else _node(g, gain, "gain")
    bias = g.param(f"{name}_bias", shape, init="zeros") if bias is None else _node(g, bias, "bias")
    return gain, bias


def _normalise(g: Graph, name: str, A: Any, gain: Any, bias: Any, eps: Any, ddof: int, axis: int,
               what: str) -> Node:
    A = _node(g, A, "the input")
    if A.rank != 2:
        raise InputError(f"{what} takes a matrix N x H; {A.name or 'the input'} has shape {shape_text(A.shape)}")
    if isinstance(ddof, bool) or not isinstance(ddof, int) or ddof < 0:
        raise InputError(f"{what}: ddof must be 0 (the population variance) or 1 (Bessel's correction), got {ddof!r}")
    steps = [f"{name}_{part}" for part in ("mean", "centred", "var", "norm")] + [name]
    steps += [f"{name}_{part}" for part, given in (("gain", gain), ("bias", bias)) if given is None]
    for step in steps:  # every name free before anything is defined: a refusal leaves the graph as it was
        g._check_name(step)
    gain, bias = _affine(g, name, A, gain, bias)
    mu = g.define(f"{name}_mean", mean(A, axis))
    centred = g.define(f"{name}_centred", A - mu)
    count = axis_count(A.shape, axis)
    variance = total(centred ** 2, axis)
    var = g.define(f"{name}_var", scale(1 / (count - ddof), variance))
    eps = sympy.Float(eps) if isinstance(eps, float) else number(eps)  # printed as written: 1e-05
    norm = g.define(f"{name}_norm", centred / apply("sqrt", var + eps))
    return g.define(name, gain * norm + bias)


def batchnorm(g: Graph, name: str, A: Any, gain: Any = None, bias: Any = None, eps: Any = 1e-5,
              ddof: int = 0) -> Node:
    """Batch normalisation of ``A`` (N x H) over the examples, as named steps of ``g``.

    Adds ``{name}_mean`` (each column's mean over the batch), ``{name}_centred``,
    ``{name}_var`` (divided by ``N - ddof``), ``{name}_norm`` and ``name``
    (``gain ∘ norm + bias``). ``gain`` and ``bias`` are nodes or names of
    ``g``; left out, they are new parameters ``{name}_gain`` (ones) and
    ``{name}_bias`` (zeros) of shape 1 x H. Returns the last node.
    """
    return _normalise(g, name, A, gain, bias, eps, ddof, 0, "batchnorm")


def layernorm(g: Graph, name: str, A: Any, gain: Any = None, bias: Any = None, eps: Any = 1e-5,
              ddof: int = 0) -> Node:
    """Layer normalisation of ``A`` (N x H) over each example's features, as named steps of ``g``.

    The same steps as :func:`batchnorm`, with the mean and variance taken
    along each row (each example normalised on its own, so the result does not
    depend on the batch); ``gain`` and ``bias`` are per feature, 1 x H.
    """
    return _normalise(g, name, A, gain, bias, eps, ddof, 1, "layernorm")
