"""Matrix-level backpropagation: the course's section 7, chains, factors, fusion, the step activation."""

import json

import pytest
import sympy

from derivkit.errors import InputError
from derivkit.nn.graph import Graph, node_latex, node_text
from derivkit.nn.networks import mlp


@pytest.fixture(scope="module")
def course():
    """The network of worked-examples section 7 (no biases, sigmoid, MSE)."""
    return mlp([2, 3, 1], bias=False).backprop()


def test_course_gradients(course):
    assert node_text(course.gradients["W2"]) == "H_out^T G_O"
    assert node_text(course.gradients["W1"]) == "X^T G_H"
    assert course.gradients["W1"].shape == (2, 3)
    assert course.gradients["W2"].shape == (3, 1)


def test_course_named_adjoints(course):
    assert list(course.definitions) == ["G_O", "G_H"]
    assert node_text(course.definitions["G_O"], top=True) == "(2/N)(O_out - Y) ∘ σ'(O_in)"
    assert node_text(course.definitions["G_H"], top=True) == "(G_O W2^T) ∘ σ'(H_in)"
    assert node_latex(course.definitions["G_H"], top=True) == (
        r"\left(G_{O} W_{2}^{T}\right) \circ \sigma'\left(H_{in}\right)")


def test_chain_for_W1_is_the_course_order(course):
    chain = course.chain("W1")
    assert [f.label for f in chain] == ["∂MSE/∂O_out", "∂O_out/∂O_in", "∂O_in/∂H_out", "∂H_out/∂H_in", "∂H_in/∂W1"]
    assert [node_text(f.local, top=True) for f in chain] == [
        "(2/N)(O_out - Y)", "σ'(O_in)", "W2^T", "σ'(H_in)", "X^T"]
    assert [f.how for f in chain] == ["loss", "hadamard", "right", "hadamard", "left"]
    assert chain[2].shape == (1, 3) and chain[4].shape == (2, sympy.Symbol("N"))


def test_chain_for_W2(course):
    assert [f.label for f in course.chain("W2")] == ["∂MSE/∂O_out", "∂O_out/∂O_in", "∂O_in/∂W2"]


def test_chain_errors(course):
    with pytest.raises(InputError, match="no node named"):
        course.chain("W9")
    g = Graph()
    g.input("X", (2, 2))
    W = g.param("W", (2, 2))
    g.param("V", (2, 2))
    g.define("L", "sum(W * W)")
    with pytest.raises(InputError, match="does not depend on V"):
        g.backprop().chain("V")


def test_biases_sum_over_the_examples():
    bp = mlp([2, 3, 1]).backprop()
    assert node_text(bp.gradients["b2"]) == "Σ_e G_O"
    assert node_text(bp.gradients["b1"]) == "Σ_e G_H"
    assert bp.gradients["b1"].shape == (1, 3)


def test_step_activation_blocks_the_gradient():
    bp = mlp([2, 3, 1], activation="step", bias=False).backprop()
    assert bp.gradients["W1"].op == "zeros"
    assert node_text(bp.gradients["W2"]) == "H_out^T G_O"
    step_factor = bp.chain("W1")[3]
    assert step_factor.label == "∂H_out/∂H_in" and step_factor.zero
    assert node_text(step_factor.local, top=True) == "step'(H_in)"
    assert any("step'(H_in) is 0" in n and "∂MSE/∂W1 = 0" in n for n in bp.notes)
    assert "this factor is 0" in bp.to_text()


def test_softmax_cross_entropy_is_fused():
    bp = mlp([4, 5, 3], loss="softmax_cross_entropy").backprop()
    assert node_text(bp.definitions["G_O"], top=True) == "(1/N)(O_out - Y)"
    chain = bp.chain("W1")
    assert chain[0].label == "∂CE/∂O_in" and chain[0].fused
    assert any("fused" in n for n in bp.notes)


def test_sigmoid_bce_is_fused():
    bp = mlp([2, 3, 1], loss="bce").backprop()
    assert node_text(bp.definitions["G_O"], top=True) == "(1/N)(O_out - Y)"


@pytest.mark.parametrize("activation, derivative", [
    ("tanh", "tanh'(H_in)"), ("relu", "ReLU'(H_in)"), ("leaky_relu", "LeakyReLU'(H_in)")])
def test_hidden_activation_derivatives_come_from_the_rule_table(activation, derivative):
    bp = mlp([2, 3, 1], activation=activation).backprop()
    assert node_text(bp.definitions["G_H"], top=True) == f"(G_O W2^T) ∘ {derivative}"


def test_renderers(course):
    text = course.to_text()
    assert "∂MSE/∂W1 = ∂MSE/∂O_out · ∂O_out/∂O_in · ∂O_in/∂H_out · ∂H_out/∂H_in · ∂H_in/∂W1" in text
    assert "so ∂MSE/∂W1 = X^T G_H   (2 x 3)" in text
    latex = course.to_latex()
    assert r"\frac{\partial \mathrm{MSE}}{\partial W_{1}} &= X^{T} G_{H}" in latex
    md = course.to_markdown()
    assert "$$" in md and r"G_{O} &= \frac{2}{N}" in md
    data = json.loads(course.to_json())
    assert data["gradients"]["W2"]["expr"] == "H_out^T G_O"
    assert [f["label"] for f in data["chains"]["W2"]] == ["∂MSE/∂O_out", "∂O_out/∂O_in", "∂O_in/∂W2"]


def test_only_restricts_the_display(course):
    assert list(course.only("W1").gradients) == ["W1"]
    with pytest.raises(InputError):
        course.only("H_in")


def test_regularised_loss_adds_the_penalty_gradient():
    g = mlp([2, 2, 1], bias=False)
    W1 = g["W1"]
    from derivkit.nn.graph import penalty

    g.define("R", g["MSE"] + 0.5 * penalty("l2", W1))
    bp = g.backprop("R")
    assert node_text(bp.gradients["W1"]) == "W1 + X^T G_H"
    assert node_text(bp.gradients["W2"]) == "H_out^T G_O"


def test_gradients_as_sympy_matrix_expressions(course):
    N = sympy.Symbol("N")
    H_out, G_O = sympy.MatrixSymbol("H_out", N, 3), sympy.MatrixSymbol("G_O", N, 1)
    assert course.gradients["W2"].to_sympy() == H_out.T * G_O
    assert course.gradients["W1"].to_sympy() == sympy.MatrixSymbol("X", N, 2).T * sympy.MatrixSymbol("G_H", N, 3)
    G_H = course.definitions["G_H"].to_sympy()
    assert isinstance(G_H, sympy.HadamardProduct) and G_H.shape == (N, 3)
    with pytest.raises(InputError, match="no SymPy"):
        mlp([2, 3, 2], loss="softmax_cross_entropy").backprop().graph["O_out"].to_sympy()


def test_step_in_both_layers_blames_each_layer_for_its_own_weights():
    from derivkit.nn.networks import course_network

    bp = course_network("step").backprop()
    by_layer = {n.split(" = ")[0]: n for n in bp.notes if " = step(" in n}
    assert "∂MSE/∂W1 = 0" in by_layer["H_out"] and "W2" not in by_layer["H_out"]
    assert "∂MSE/∂W2 = 0" in by_layer["O_out"]
    assert any("replaces the step by the sigmoid" in n for n in bp.notes)


def test_sigma_prime_is_written_with_the_forward_values(course):
    assert [(node_text(a), node_text(b)) for a, b in course.derivatives] == [
        ("σ'(O_in)", "O_out ∘ (1 - O_out)"), ("σ'(H_in)", "H_out ∘ (1 - H_out)")]
    assert node_text(course.assembled("W2")) == "H_out^T ((2/N)(O_out - Y) ∘ O_out ∘ (1 - O_out))"
    assert "where σ'(H_in) = H_out ∘ (1 - H_out)" in course.to_text()


def test_backprop_latex_is_plain_ascii_latex():
    from derivkit.nn.networks import course_network

    for graph in (course_network("step"), mlp([2, 3, 3], loss="softmax_cross_entropy")):
        latex = graph.backprop().to_latex()
        assert latex.isascii(), [ch for ch in latex if not ch.isascii()][:5]
