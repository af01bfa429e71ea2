"""check_backprop: a hand-written backward pass checked node by node, the first wrong node named."""

import json

import numpy as np
import pytest

import derivkit
from derivkit import nn
from derivkit.errors import InputError, ShapeError


@pytest.fixture(scope="module")
def ninja():
    g = nn.makemore()
    names = [n for n in g.names if g[n].dtype == "float" and n != "loss"]
    net = g.compile(wrt=names)
    rng = np.random.default_rng(3)
    params = net.init_params(seed=3)
    data = {"Xb": rng.integers(0, 27, (32, 3)), "Yb": rng.integers(0, 27, 32)}
    _, grads = net(params, data)
    values = net.forward(params, data)
    return g, params, data, grads, values


def planted(grads, values, data):
    """Five classic mistakes of the exercise, one per node (each applied alone)."""
    n = data["Xb"].shape[0]
    wrong_dcounts = grads["probs"] * values["counts_sum_inv"]  # forgot that counts is used twice
    wrong_dC = np.zeros_like(grads["C"])
    wrong_dC[data["Xb"]] = grads["emb"]  # assignment, not +=: a row picked twice keeps one contribution
    return {
        "logprobs": (grads["logprobs"] * n, "constant_factor"),        # the mean's 1/N forgotten
        "counts": (wrong_dcounts, None),
        "h": (-grads["h"], "sign_error"),
        "hpreact": ((1 - values["h"]) * grads["h"], None),            # tanh' written 1 - h
        "C": (wrong_dC, None),
    }


@pytest.mark.parametrize("node", ["logprobs", "counts", "h", "hpreact", "C"])
def test_the_first_wrong_node_is_found_for_each_planted_mistake(ninja, node):
    g, params, data, grads, values = ninja
    mistake, diagnosis = planted(grads, values, data)[node]
    claimed = {name: value.copy() for name, value in grads.items()}
    claimed[node] = mistake
    v = derivkit.check_backprop(g, params, data, claimed)
    assert not v.ok and v.first_wrong == node
    assert [r.name for r in v.rows if not r.ok] == [node]
    if diagnosis is not None:
        assert diagnosis in v.row(node).diagnosis
    assert f"d{node} is the first that is wrong" in v.message
    assert any(line.startswith(f"d{node} = ") for line in v.rule)


def test_a_mistake_propagates_but_only_the_first_is_blamed(ninja):
    g, params, data, grads, values = ninja
    claimed = {name: value.copy() for name, value in grads.items()}
    for below in ("hpreact", "bnraw", "hprebn", "W1", "C"):  # computed from a wrong dh
        claimed[below] = -claimed[below]
    claimed["h"] = -grads["h"]
    v = derivkit.check_backprop(g, params, data, claimed)
    assert v.first_wrong == "h" and "sign_error" in v.row("h").diagnosis
    assert "fix dh first" in v.message


def test_every_gradient_right(ninja):
    g, params, data, grads, _ = ninja
    v = derivkit.check_backprop(g, params, data, {f"d{k}": v for k, v in grads.items()})  # dlogits-style keys
    assert v.ok and bool(v) and v.first_wrong is None and len(v.rows) == len(grads)
    assert v.message.startswith(f"All {len(grads)} gradients are right")
    assert [r.name for r in v.rows][:3] == ["logprobs", "probs", "counts_sum_inv"]  # backward order


def test_the_course_network_by_hand():
    """The two-layer network of the course: the student's G_H misses σ'(H_in)."""
    g = nn.mlp([2, 3, 1], bias=False)
    net = g.compile(wrt=("O_in", "W2", "H_in", "W1"))
    params = net.init_params(seed=1)
    data = {"X": np.array([[1.0, 2.0], [0.5, -1.0], [-1.0, 0.0]]), "Y": np.array([[1.0], [0.0], [1.0]])}
    _, right = net(params, data)
    v = net.forward(params, data)
    G_O = right["O_in"]
    G_H_wrong = G_O @ params["W2"].T  # the factor σ'(H_in) = H_out(1 - H_out) left out
    claimed = {"O_in": G_O, "W2": v["H_out"].T @ G_O, "H_in": G_H_wrong, "W1": data["X"].T @ G_H_wrong}
    verdict = derivkit.check_backprop(g, params, data, claimed)
    assert verdict.first_wrong == "H_in"
    assert "dH_in = G_H" not in verdict.message and "σ'(H_in) = H_out ∘ (1 - H_out)" in verdict.message
    assert "H_out = σ(H_in)" in verdict.rule
    text = verdict.to_text()
    assert "WRONG, first" in text and "The step at H_in:" in text
    assert json.loads(verdict.to_json())["first_wrong"] == "H_in"
    assert r"H_{in} = \sigma\left(H_{in}\right)" not in verdict.to_markdown()
    assert r"H_{out} = \sigma\left(H_{in}\right)" in verdict.to_markdown()
    assert r"\mathrm{dH\_in} &:" in verdict.to_latex()


def test_bad_claims_are_named():
    g = nn.mlp([2, 3, 1], bias=False)
    params = g.compile().init_params(seed=0)
    data = {"X": np.ones((2, 2)), "Y": np.ones((2, 1))}
    with pytest.raises(InputError, match="not a node"):
        derivkit.check_backprop(g, params, data, {"Q": np.zeros(1)})
    with pytest.raises(ShapeError, match="H_in has shape"):
        derivkit.check_backprop(g, params, data, {"H_in": np.zeros((5, 5))})
    with pytest.raises(InputError, match="claimed twice"):
        derivkit.check_backprop(g, params, data, {"W1": np.zeros((2, 3)), "dW1": np.zeros((2, 3))})
    b = nn.mlp([2, 3, 1])
    bias_grad = b.compile()(b.compile().init_params(0), data)[1]["b1"]
    assert derivkit.check_backprop(b, b.compile().init_params(0), data, {"b1": bias_grad.ravel()}).ok  # (3,) for 1 x 3
    right = g.compile()(params, data)[1]["W1"]
    v = derivkit.check_backprop(g, params, data, {"W1": right.T})  # the transposed shape
    assert not v.ok and v.row("W1").diagnosis == ("transposed",)
