r"""The character-level MLP of "makemore" (embedding, batchnorm, tanh, cross-entropy), step by step.

This is the network of the well-known "become a backprop ninja" exercise: each
example is ``context`` characters (integers below ``vocab``), embedded by rows
of ``C``, concatenated, passed through a linear layer, batch normalisation and
tanh, then a linear layer to the scores of the next character. With
``steps=True`` every small step of the forward pass is a named node, with the
exercise's names (``emb``, ``embcat``, ``hprebn``, ``bnmeani``, ...,
``logprobs``, ``loss``), so that the gradient of each one (``dlogprobs``,
``dprobs``, ..., ``demb``, ``dC``) can be derived, printed and checked one by
one. With ``steps=False`` the same network is written with
:func:`derivkit.nn.batchnorm` and the fused softmax cross-entropy.

>>> g = makemore()
>>> print(g.definitions["emb"], "|", g.definitions["bnvar"], "|", g.definitions["loss"])
C[Xb] | (1/(N - 1)) Σ_e bndiff2 | -(1/N) Σ logprobs[i, Yb_i]
>>> [name for name, _, _ in g.backprop().backward()][:4]
['dlogprobs', 'dprobs', 'dcounts_sum_inv', 'dcounts_sum']
"""

from __future__ import annotations

from derivkit.errors import InputError
from derivkit.graph import Graph

__all__ = ["makemore", "MAKEMORE_STEPS"]

#: The forward pass of the exercise, one named step each.
MAKEMORE_STEPS = (
    ("emb", "C[Xb]"),
    ("embcat", "flatten(emb)"),
    ("hprebn", "embcat @ W1 + b1"),
    ("bnmeani", "mean(hprebn, 0)"),
    ("bndiff", "hprebn - bnmeani"),
    ("bndiff2", "bndiff ** 2"),
    ("bnvar", "1/(N - 1) * sum(bndiff2, 0)"),
    ("bnvar_inv", "(bnvar + 1e-5) ** -0.5"),
    ("bnraw", "bndiff * bnvar_inv"),
    ("hpreact", "bngain * bnraw + bnbias"),
    ("h", "tanh(hpreact)"),
    ("logits", "h @ W2 + b2"),
    ("logit_maxes", "max(logits, 1)"),
    ("norm_logits", "logits - logit_maxes"),
    ("counts", "exp(norm_logits)"),
    ("counts_sum", "sum(counts, 1)"),
    ("counts_sum_inv", "counts_sum ** -1"),
    ("probs", "counts * counts_sum_inv"),
    ("logprobs", "log(probs)"),
    ("loss", "-mean(pick(logprobs, Yb))"),
)


def makemore(context: int = 3, vocab: int = 27, embedding: int = 10, hidden: int = 64, steps: bool = True) -> Graph:
    """The makemore MLP as a graph: inputs ``Xb`` (N x context integers) and ``Yb`` (N labels).

    Parameters: ``C`` (vocab x embedding), ``W1``, ``b1``, ``bngain``,
    ``bnbias``, ``W2``, ``b2``. With ``steps`` the forward pass is the
    exercise's twenty named steps; without, ``emb``, ``embcat``, ``hprebn``,
    the ``bn`` steps of :func:`~derivkit.nn.batchnorm` (Bessel's correction, as
    the exercise), ``h``, ``logits`` and the fused ``loss``.
    """
    for name, value in (("context", context), ("vocab", vocab), ("embedding", embedding), ("hidden", hidden)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"makemore: {name} must be a positive integer, got {value!r}")
    if vocab < 2:
        raise InputError("makemore: the vocabulary needs at least two characters")
    g = Graph()
    g.input("Xb", ("N", context), dtype="int")
    g.input("Yb", ("N",), dtype="int")
    g.param("C", (vocab, embedding), init="normal")
    g.param("W1", (context * embedding, hidden), init="xavier")
    g.param("b1", (1, hidden), init="zeros")
    g.param("bngain", (1, hidden), init="ones")
    g.param("bnbias", (1, hidden), init="zeros")
    g.param("W2", (hidden, vocab), init="xavier")
    g.param("b2", (1, vocab), init="zeros")
    if steps:
        for name, expr in MAKEMORE_STEPS:
            g.define(name, expr)
    else:
        from derivkit.nn.norms import batchnorm

        g.define("emb", "C[Xb]")
        g.define("embcat", "flatten(emb)")
        g.define("hprebn", "embcat @ W1 + b1")
        batchnorm(g, "hpreact", "hprebn", "bngain", "bnbias", ddof=1)
        g.define("h", "tanh(hpreact)")
        g.define("logits", "h @ W2 + b2")
        g.define("loss", "softmax_cross_entropy(logits, Yb)")
    g.output_name = "logits"
    return g
