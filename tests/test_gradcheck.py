"""gradcheck(): NumPy gradients against central differences, hand-written backprop against the graph."""

from __future__ import annotations

import numpy as np
import pytest

from derivkit import gradcheck, GradcheckReport
from derivkit.errors import InputError, ShapeError
from derivkit.nn import mlp


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


# The course's two-layer network: H_in = X W1, H_out = σ(H_in), O_in = H_out W2,
# O_out = σ(O_in), MSE = 1/N Σ (O_out - Y)^2.
def forward(p, d):
    H_in = d["X"] @ p["W1"]
    H_out = sigmoid(H_in)
    O_in = H_out @ p["W2"]
    O_out = sigmoid(O_in)
    return H_in, H_out, O_in, O_out


def loss(p, d):
    *_, O_out = forward(p, d)
    return np.sum((O_out - d["Y"]) ** 2) / d["X"].shape[0]


def backprop(p, d, forget_hidden_derivative=False):
    H_in, H_out, O_in, O_out = forward(p, d)
    N = d["X"].shape[0]
    G_O = (2 / N) * (O_out - d["Y"]) * O_out * (1 - O_out)
    G_H = G_O @ p["W2"].T
    if not forget_hidden_derivative:
        G_H = G_H * H_out * (1 - H_out)          # ∘ σ'(H_in)
    return {"W1": d["X"].T @ G_H, "W2": H_out.T @ G_O}


@pytest.fixture
def net():
    rng = np.random.default_rng(0)
    data = {"X": rng.normal(size=(5, 2)), "Y": rng.uniform(size=(5, 1))}
    params = {"W1": rng.normal(size=(2, 3)), "W2": rng.normal(size=(3, 1))}
    return params, data


def test_right_gradient_of_one_array_passes():
    r = gradcheck(lambda x: np.sum(np.sin(x) * x), lambda x: np.cos(x) * x + np.sin(x), np.array([0.5, -1.0, 2.0]))
    assert isinstance(r, GradcheckReport)
    assert r.ok and r.failed == 0 and r.total == 3
    assert r.entries[0].abs_error < 1e-8
    assert "passed" in r.message


def test_wrong_entry_is_named_with_both_values():
    def grad(x):
        g = 3 * x**2
        g[1] += 0.5
        return g
    r = gradcheck(lambda x: np.sum(x**3), grad, np.array([1.0, 2.0, 3.0]))
    assert not r.ok and r.failed == 1
    worst = r.entries[0]
    assert worst.index == (1,) and not worst.ok
    assert worst.numerical == pytest.approx(12.0, abs=1e-5) and worst.analytical == 12.5
    assert "x[1]" in r.message and "numerical" in r.message and "analytical" in r.message


def test_tolerances_like_torch():
    # fails when |analytical - numerical| > atol + rtol*|numerical|
    f, x = (lambda x: np.sum(x**2)), np.array([0.0])             # numerical 0: only atol = 1e-5 counts
    assert gradcheck(f, lambda x: 2 * x + 5e-6, x).ok
    assert not gradcheck(f, lambda x: 2 * x + 5e-5, x).ok
    assert gradcheck(f, lambda x: 2 * x + 5e-5, x, atol=1e-4).ok
    x = np.array([1000.0])                                       # numerical 2000: rtol*2000 = 2 counts
    assert gradcheck(f, lambda x: 2 * x + 1.5, x, eps=1e-3).ok
    assert not gradcheck(f, lambda x: 2 * x + 2.5, x, eps=1e-3).ok


def test_the_input_is_not_modified():
    x = np.array([1.0, 2.0])
    gradcheck(lambda v: np.sum(v**2), lambda v: 2 * v, x)
    assert x.tolist() == [1.0, 2.0]


def test_numpy_backprop_right_passes(net):
    params, data = net
    r = gradcheck(lambda p: loss(p, data), lambda p: backprop(p, data), params)
    assert r.ok, r.message
    assert r.total == 6 + 3


def test_numpy_backprop_forgetting_the_activation_derivative_fails_and_names_w1(net):
    params, data = net
    r = gradcheck(lambda p: loss(p, data), lambda p: backprop(p, data, forget_hidden_derivative=True), params)
    assert not r.ok
    assert r.bad_params == ("W1",)                  # W2's gradient does not use σ'(H_in)
    assert all(e.param == "W1" for e in r.entries if not e.ok)
    assert "W1" in r.message


def test_graph_form_compares_with_the_derived_gradients(net):
    params, data = net
    g = mlp([2, 3, 1], activation="sigmoid", bias=False)
    assert gradcheck(g, lambda p, d: backprop(p, d), params, data=data).ok
    r = gradcheck(g, lambda p, d: backprop(p, d, forget_hidden_derivative=True), params, data=data)
    assert not r.ok and r.bad_params == ("W1",)
    assert r.reference == "derived gradient"
    r2 = gradcheck(g.compile(), lambda p, d: (loss(p, d), backprop(p, d, True)), params, data=data)
    assert r2.bad_params == ("W1",)


def test_bad_input():
    with pytest.raises(ShapeError):
        gradcheck(lambda x: np.sum(x**2), lambda x: np.ones(3), np.array([1.0, 2.0]))
    with pytest.raises(ShapeError):
        gradcheck(lambda x: x**2, lambda x: 2 * x, np.array([1.0, 2.0]))          # f is not a scalar
    with pytest.raises(InputError):
        gradcheck(lambda p: np.sum(p["a"]), lambda p: {}, {"a": np.array([1.0])})
    with pytest.raises(InputError):
        gradcheck(mlp([2, 1], bias=False), lambda p, d: {}, {"W1": np.zeros((2, 1))})  # no data


def test_report_renders_the_worst_entries(net):
    params, data = net
    r = gradcheck(lambda p: loss(p, data), lambda p: backprop(p, data, True), params)
    text = r.to_text()
    assert text.startswith("Gradient mismatch with respect to W1") and "W1[" in text
    assert r.to_markdown().startswith("**Failed:**")
    assert r"\begin{array}" in r.to_latex()
    assert '"bad_params": [\n    "W1"\n  ]' in r.to_json()
