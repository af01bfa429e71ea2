"""Graphs: building, string definitions, shapes and printing in the course's notation."""

import pytest
import sympy

from derivkit.errors import InputError, ParseError, ShapeError
from derivkit.nn.graph import Graph, node_latex, node_text
from derivkit.nn.networks import mlp


def course_graph(activation="sigmoid"):
    g = Graph()
    X = g.input("X", ("N", 2))
    g.input("Y", ("N", 1))
    W1 = g.param("W1", (2, 3))
    g.param("W2", (3, 1))
    g.define("H_in", X @ W1)
    g.define("H_out", f"{activation}(H_in)")
    g.define("O_in", "H_out @ W2")
    g.define("O_out", "sigmoid(O_in)")
    g.define("MSE", "mse(O_out, Y)")
    return g


def test_definitions_print_as_the_course_writes_them():
    g = course_graph()
    assert g.definitions == {
        "H_in": "X W1", "H_out": "σ(H_in)", "O_in": "H_out W2", "O_out": "σ(O_in)",
        "MSE": "(1/N) Σ (O_out - Y)^2",
    }
    assert node_latex(g["O_out"], top=True) == r"\sigma\left(O_{in}\right)"


def test_shapes_follow_the_operations():
    g = course_graph()
    N = sympy.Symbol("N")
    assert g["H_in"].shape == (N, 3)
    assert g["O_out"].shape == (N, 1)
    assert g["MSE"].shape == (1, 1)


def test_bias_broadcasts_a_row_over_the_batch():
    g = Graph()
    X = g.input("X", ("N", 2))
    W = g.param("W", (2, 3))
    b = g.param("b", (1, 3))
    S = g.define("S", X @ W + b)
    assert S.shape == (sympy.Symbol("N"), 3)
    assert node_text(S, top=True) == "X W + b"


def test_matmul_shape_error_names_node_and_shapes():
    g = Graph()
    g.input("X", ("N", 2))
    g.param("W", (3, 1))
    with pytest.raises(ShapeError) as err:
        g.define("H_in", "X @ W")
    msg = str(err.value)
    assert "H_in" in msg and "N x 2" in msg and "3 x 1" in msg


def test_broadcast_shape_error():
    g = Graph()
    g.input("X", ("N", 2))
    g.param("b", (1, 3))
    with pytest.raises(ShapeError, match=r"X \(N x 2\).*b \(1 x 3\)"):
        g.define("S", "X + b")


def test_loss_needs_matching_shapes():
    g = Graph()
    g.input("P", ("N", 2))
    g.input("Y", ("N", 3))
    with pytest.raises(ShapeError, match="N x 2.*N x 3"):
        g.define("L", "mse(P, Y)")


@pytest.mark.parametrize("text, message", [
    ("X @", "cannot read"),
    ("__import__('os')", "names, numbers"),
    ("open(X)", "unknown function"),
    ("X.__class__", "names, numbers"),
    ("foo(X)", "unknown function"),
    ("Z @ X", "unknown name 'Z'"),
    ("[X]", "names, numbers"),
])
def test_string_definitions_are_parsed_safely(text, message):
    g = Graph()
    g.input("X", (2, 2))
    with pytest.raises(ParseError, match=message):
        g.define("A", text)


def test_string_operators():
    g = Graph()
    A = g.input("A", (2, 2))
    g.input("B", (2, 2))
    assert node_text(g.define("C", "A * B - 2 * A.T"), top=True) == "A ∘ B - 2 A^T"
    assert node_text(g.define("D", "step(A, 2) / 4"), top=True) == "(1/4) step(A, 2)"
    assert g.define("E", "sum(A, 0)").shape == (1, 2)
    assert g.define("F", "mean(A)").shape == (1, 1)
    assert node_text(A ** 2) == "A^2"


@pytest.mark.parametrize("name", ["1x", "_t", "for", "numpy", "sigmoid", "mse"])
def test_bad_names_are_refused(name):
    g = Graph()
    with pytest.raises(InputError):
        g.input(name, (2, 2))


def test_duplicate_name_and_unknown_node():
    g = Graph()
    g.input("X", (2, 2))
    with pytest.raises(InputError, match="already"):
        g.param("X", (2, 2))
    with pytest.raises(InputError, match="no node named 'Q'"):
        g["Q"]


def test_param_needs_fixed_shape():
    with pytest.raises(ShapeError, match="fixed shape"):
        Graph().param("W", ("N", 2))


def test_default_loss_is_the_last_scalar():
    assert course_graph().default_loss() == "MSE"
    g = Graph()
    g.input("X", (2, 2))
    with pytest.raises(InputError, match="no scalar"):
        g.default_loss()


def test_mlp_names_and_shapes():
    g = mlp([2, 3, 1])
    assert g.inputs == ("X", "Y")
    assert g.params == ("W1", "b1", "W2", "b2")
    assert [n for n in g.names if n not in g.inputs + g.params] == ["H_in", "H_out", "O_in", "O_out", "MSE"]
    assert g["b1"].shape == (1, 3) and g["W2"].shape == (3, 1)
    assert g.definitions["H_in"] == "X W1 + b1"


def test_deeper_mlp_numbers_hidden_layers():
    g = mlp([4, 5, 6, 3], activation="relu", loss="softmax_cross_entropy", bias=False)
    defined = [n for n in g.names if n not in g.inputs + g.params]
    assert defined == ["H1_in", "H1_out", "H2_in", "H2_out", "O_in", "O_out", "CE"]
    assert g.definitions["O_out"] == "softmax(O_in)"
    assert g.init["W1"] == "he"


def test_mlp_without_hidden_layer_and_defaults():
    g = mlp([4, 1], output="identity")
    assert g.definitions["O_in"] == "X W1 + b1"
    assert mlp([2, 2], loss="bce").definitions["O_out"] == "σ(O_in)"
    assert mlp([2, 2], loss="hinge").definitions["HINGE"].startswith("(1/N) Σ max(0, 1 - Y ∘ O_out)")


@pytest.mark.parametrize("sizes", [[2], [2, 0], [2, "a"], "x,y"])
def test_mlp_bad_sizes(sizes):
    with pytest.raises(InputError):
        mlp(sizes)


def test_graph_renders():
    g = course_graph()
    assert "H_in   =  X W1" in g.to_text()
    assert r"H_{in} &= X W_{1}" in g.to_latex()
    assert g.to_dict()["params"] == {"W1": "2 x 3", "W2": "3 x 1"}
