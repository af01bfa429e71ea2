"""The "backprop ninja" network: every gradient, intermediate ones included, equals a NumPy backprop by hand.

The reference below is the exercise's forward pass and its backward pass
written out by hand, line by line, in NumPy. derivkit derives the same
network's gradients symbolically and compiles them; the two must agree to
1e-10 for the loss, every parameter and every intermediate node.
"""

import numpy as np
import pytest

from derivkit import nn
from derivkit.errors import InputError

CONTEXT, VOCAB, EMB, HIDDEN, BATCH = 3, 27, 10, 64, 32


def reference(p, Xb, Yb):
    """Forward and backward by hand (float64)."""
    C, W1, b1, bngain, bnbias, W2, b2 = (p[k] for k in ("C", "W1", "b1", "bngain", "bnbias", "W2", "b2"))
    n = Xb.shape[0]
    emb = C[Xb]
    embcat = emb.reshape(n, -1)
    hprebn = embcat @ W1 + b1
    bnmeani = hprebn.sum(0, keepdims=True) / n
    bndiff = hprebn - bnmeani
    bndiff2 = bndiff ** 2
    bnvar = bndiff2.sum(0, keepdims=True) / (n - 1)
    bnvar_inv = (bnvar + 1e-5) ** -0.5
    bnraw = bndiff * bnvar_inv
    hpreact = bngain * bnraw + bnbias
    h = np.tanh(hpreact)
    logits = h @ W2 + b2
    logit_maxes = logits.max(1, keepdims=True)
    norm_logits = logits - logit_maxes
    counts = np.exp(norm_logits)
    counts_sum = counts.sum(1, keepdims=True)
    counts_sum_inv = counts_sum ** -1
    probs = counts * counts_sum_inv
    logprobs = np.log(probs)
    loss = -logprobs[np.arange(n), Yb].mean()
    d = {}
    d["logprobs"] = np.zeros_like(logprobs)
    d["logprobs"][np.arange(n), Yb] = -1.0 / n
    d["probs"] = d["logprobs"] / probs
    d["counts_sum_inv"] = (counts * d["probs"]).sum(1, keepdims=True)
    d["counts_sum"] = -counts_sum ** -2 * d["counts_sum_inv"]
    d["counts"] = counts_sum_inv * d["probs"] + np.ones_like(counts) * d["counts_sum"]
    d["norm_logits"] = counts * d["counts"]
    d["logit_maxes"] = -d["norm_logits"].sum(1, keepdims=True)
    d["logits"] = d["norm_logits"] + np.eye(logits.shape[1])[logits.argmax(1)] * d["logit_maxes"]
    d["h"] = d["logits"] @ W2.T
    d["W2"] = h.T @ d["logits"]
    d["b2"] = d["logits"].sum(0, keepdims=True)
    d["hpreact"] = (1 - h ** 2) * d["h"]
    d["bngain"] = (bnraw * d["hpreact"]).sum(0, keepdims=True)
    d["bnraw"] = bngain * d["hpreact"]
    d["bnbias"] = d["hpreact"].sum(0, keepdims=True)
    d["bnvar_inv"] = (bndiff * d["bnraw"]).sum(0, keepdims=True)
    d["bnvar"] = -0.5 * (bnvar + 1e-5) ** -1.5 * d["bnvar_inv"]
    d["bndiff2"] = np.ones_like(bndiff2) / (n - 1) * d["bnvar"]
    d["bndiff"] = bnvar_inv * d["bnraw"] + 2 * bndiff * d["bndiff2"]
    d["bnmeani"] = -d["bndiff"].sum(0, keepdims=True)
    d["hprebn"] = d["bndiff"] + np.ones_like(hprebn) * d["bnmeani"] / n
    d["embcat"] = d["hprebn"] @ W1.T
    d["W1"] = embcat.T @ d["hprebn"]
    d["b1"] = d["hprebn"].sum(0, keepdims=True)
    d["emb"] = d["embcat"].reshape(emb.shape)
    d["C"] = np.zeros_like(C)
    for k in range(Xb.shape[0]):
        for j in range(Xb.shape[1]):
            d["C"][Xb[k, j]] += d["emb"][k, j]
    return loss, d


@pytest.fixture(scope="module")
def setting():
    rng = np.random.default_rng(42)
    p = {"C": rng.normal(size=(VOCAB, EMB)), "W1": rng.normal(size=(CONTEXT * EMB, HIDDEN)) * 0.2,
         "b1": rng.normal(size=(1, HIDDEN)) * 0.1, "bngain": 1 + rng.normal(size=(1, HIDDEN)) * 0.1,
         "bnbias": rng.normal(size=(1, HIDDEN)) * 0.1, "W2": rng.normal(size=(HIDDEN, VOCAB)) * 0.1,
         "b2": rng.normal(size=(1, VOCAB)) * 0.1}
    data = {"Xb": rng.integers(0, VOCAB, (BATCH, CONTEXT)), "Yb": rng.integers(0, VOCAB, BATCH)}
    return p, data


def test_every_gradient_equals_the_hand_written_backprop(setting):
    p, data = setting
    g = nn.makemore()
    names = [n for n in g.names if g[n].dtype == "float" and n != "loss"]
    net = g.compile(wrt=names)
    loss, grads = net(p, data)
    ref_loss, ref = reference(p, data["Xb"], data["Yb"])
    assert loss == pytest.approx(ref_loss, abs=1e-12)
    assert set(ref) <= set(grads)
    for name in ref:
        np.testing.assert_allclose(grads[name], ref[name], rtol=1e-10, atol=1e-12, err_msg=f"d{name}")


def test_compact_network_has_the_same_loss_and_parameter_gradients(setting):
    p, data = setting
    loss, grads = nn.makemore(steps=False).compile()(p, data)
    ref_loss, ref = reference(p, data["Xb"], data["Yb"])
    assert loss == pytest.approx(ref_loss, abs=1e-12)
    for name in ("C", "W1", "b1", "bngain", "bnbias", "W2", "b2"):
        np.testing.assert_allclose(grads[name], ref[name], rtol=1e-9, atol=1e-12, err_msg=f"d{name}")


def test_backward_pass_reads_as_written_by_hand():
    from derivkit.graph import node_text

    rows = {d: node_text(e, top=True) for d, _, e in nn.makemore().backprop().backward()}
    assert rows["dlogprobs"] == "-(1/N) onehot(Yb)"
    assert rows["dprobs"] == "dlogprobs / probs"
    assert rows["dcounts_sum_inv"] == "Σ_n (dprobs ∘ counts)"
    assert rows["dh"] == "dlogits W2^T"
    assert rows["dhpreact"] == "dh ∘ tanh'(hpreact)"
    assert rows["dembcat"] == "dhprebn W1^T"
    assert rows["dC"] == "scatter_add(demb, Xb)"


def test_integer_inputs_have_no_gradient():
    g = nn.makemore()
    with pytest.raises(InputError, match="integer input"):
        g.compile(wrt=("Xb",))
    with pytest.raises(InputError, match="no gradient"):
        g.backprop().gradient("Yb")


@pytest.mark.parametrize("bad", [{"context": 0}, {"vocab": 1}, {"hidden": 2.5}])
def test_bad_sizes_are_refused(bad):
    with pytest.raises(InputError):
        nn.makemore(**bad)
