"""Chains through named variables: worked-examples.md §2, total derivatives, bad input."""

from __future__ import annotations

import json

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from derivkit import Chain, InputError, chain
from derivkit.calculus.chains import ChainAt
from derivkit.functions import relu, sigmoid

v, x, y, z, h, q, w, t = sympy.symbols("v x y z h q w t")


def _equal(a: sympy.Basic, b: sympy.Basic) -> bool:
    return sympy.simplify(a - b) == 0


# --- §2: y = 3x - 2, z = y^2 ------------------------------------------------------------


def test_course_chain_factors_and_result():
    c = chain({"y": "3*x - 2", "z": "y**2"}, "x")
    assert isinstance(c, Chain)
    assert c.factors == (("dz/dy", 2 * y), ("dy/dx", 3))
    assert c.result == 18 * x - 12
    assert c.label == "dz/dx"
    assert c.output == z and c.wrt == x


def test_course_chain_at_2_is_24():
    w2 = chain({"y": "3*x - 2", "z": "y**2"}, "x").at(x=2)
    assert isinstance(w2, ChainAt)
    assert w2.values == {"x": 2, "y": 4, "z": 16}
    assert w2.factors == (("dz/dy", 8), ("dy/dx", 3))
    assert w2.result == 24
    assert w2.substituted_value == 24


def test_course_chain_expand_first():
    c = chain(["y = 3*x - 2", "z = y**2"], "x")
    assert c.substituted == 9 * x**2 - 12 * x + 4
    assert c.substituted_derivation.result == 18 * x - 12
    assert c.substituted_derivation.at(x=2) == 24


def test_three_link_chain_through_v():
    c = chain(["x = 5*v - 2", "y = 3*x - 2", "z = y^2"], "v")
    assert [label for label, _ in c.factors] == ["dz/dy", "dy/dx", "dx/dv"]
    assert [e for _, e in c.factors] == [2 * y, 3, 5]
    assert c.paths == ((("dz/dy", "dy/dx", "dx/dv"), 30 * y),)
    assert _equal(c.result, sympy.diff((3 * (5 * v - 2) - 2) ** 2, v))
    assert c.result == 450 * v - 240
    worked = c.at(v=1)
    assert worked.values == {"v": 1, "x": 3, "y": 7, "z": 49}
    assert worked.factors == (("dz/dy", 14), ("dy/dx", 3), ("dx/dv", 5))
    assert worked.result == 210 == 14 * 3 * 5


def test_loss_chain_with_parameters():
    c = chain({"error": "w*x - t", "loss": "error^2"}, "w", inputs="x, t")
    assert c.factors == (("d(loss)/d(error)", 2 * sympy.Symbol("error")), ("∂(error)/∂w", x))
    assert _equal(c.result, 2 * x * (w * x - t))
    worked = c.at(w=1, x=2, t=3)
    assert worked.values["error"] == -1 and worked.values["loss"] == 1
    assert worked.result == -4  # d(loss)/d(error) = -2 times d(error)/dw = 2


# --- several paths: the total derivative --------------------------------------------------


def test_two_paths_give_the_total_derivative():
    c = chain({"q": "relu(z) + z*x", "y": "h + q + q*x"}, "x")
    substituted = h + (relu(z) + z * x) + (relu(z) + z * x) * x
    assert _equal(c.result, sympy.diff(substituted, x))
    assert _equal(c.substituted - substituted, 0)
    assert [labels for labels, _ in c.paths] == [("∂y/∂q", "∂q/∂x"), ("∂y/∂x",)]
    assert c.label == "dy/dx"  # total, not the partial ∂y/∂x of the direct path
    assert any("2 paths" in n for n in c.notes)
    worked = c.at(x=2, z=3, h=1)
    assert worked.values == {"x": 2, "z": 3, "h": 1, "q": 9, "y": 28}
    assert [value for _, value in worked.paths] == [9, 9]  # (1 + x)·z and q
    assert worked.result == 18 == sympy.diff(substituted, x).subs({x: 2, z: 3})


def test_diamond_through_two_intermediates():
    c = chain({"a": "sin(x)", "b": "x^2", "f": "a*b"}, "x")
    assert len(c.paths) == 2
    assert _equal(c.result, sympy.diff(sympy.sin(x) * x**2, x))


@settings(max_examples=15, deadline=None)
@given(
    st.integers(-4, 4), st.integers(-4, 4), st.integers(1, 3),
    st.sampled_from(["sin", "exp", "sigmoid", "tanh"]),
)
def test_random_chains_match_diff_of_the_substituted_output(a, b, n, fn):
    eqs = {"u": f"{a}*x + {b}", "p": f"{fn}(u)", "o": f"p^{n} + u*p + x"}
    c = chain(eqs, "x")
    fns = {"sin": sympy.sin, "exp": sympy.exp, "sigmoid": sigmoid, "tanh": sympy.tanh}
    u_ = a * x + b
    p_ = fns[fn](u_)
    expected = sympy.diff(p_**n + u_ * p_ + x, x)
    for point in (sympy.Rational(1, 2), sympy.Rational(-1, 3), 2):
        exact = expected.subs(x, point)
        assert abs(sympy.N(c.result.subs(x, point) - exact, 30)) < 1e-20
        assert abs(sympy.N(c.at(x=point).result - exact, 30)) < 1e-20


def test_each_factor_derivation_equals_diff():
    c = chain({"q": "relu(z) + z*x", "y": "h + q + q*x"}, "x")
    for (head, tail), (_, expr), d in zip(c.edges, c.factors, c.derivations):
        definition = dict(c.equations)[head]
        assert d.expr == definition and d.wrt == tail
        assert _equal(d.result, sympy.diff(definition, tail)) and d.result == expr


# --- input forms and declarations -----------------------------------------------------------


def test_equation_forms_agree():
    forms = [
        {"y": "3*x - 2", "z": "y**2"},
        {y: 3 * x - 2, z: y**2},
        ["y = 3*x - 2", "z = y^2"],
        [("y", "3*x - 2"), ("z", "y**2")],
        [sympy.Eq(y, 3 * x - 2), sympy.Eq(z, y**2)],
        "y = 3*x - 2; z = y^2",
    ]
    results = {chain(f, "x").result for f in forms}
    assert results == {18 * x - 12}


def test_equations_in_any_order_are_put_in_dependency_order():
    c = chain(["z = y^2", "y = 3*x - 2"], "x", output="z")
    assert [n.name for n in c.names] == ["y", "z"]
    assert c.result == 18 * x - 12


def test_output_defaults_to_the_last_name_and_can_be_chosen():
    c = chain({"y": "3*x - 2", "z": "y**2"}, "x", output="y")
    assert c.result == 3 and c.factors == (("dy/dx", 3),)


def test_output_independent_of_wrt_without_undefined_names_is_zero():
    c = chain({"y": "3*x - 2", "z": "7"}, "x")
    assert c.result == 0 and c.paths == ()


# --- bad input ---------------------------------------------------------------------------


def test_undefined_name_breaking_the_chain_is_refused():
    with pytest.raises(InputError, match="'w' is not defined"):
        chain({"y": "3*x - 2", "z": "w**2"}, "x")


def test_undefined_name_is_refused_when_inputs_are_declared():
    with pytest.raises(InputError, match="refers to 'w'"):
        chain({"y": "3*x - 2", "z": "y**2 + w"}, "x", inputs=())
    with pytest.raises(InputError, match="refers to 't'"):
        chain({"error": "w*x - t", "loss": "error^2"}, "w", inputs="x")


def test_name_defined_twice_is_refused():
    with pytest.raises(InputError, match="'y' is defined twice"):
        chain(["y = 3*x - 2", "y = x^2", "z = y^2"], "x")


@pytest.mark.parametrize(
    "equations, cycle",
    [
        (["y = z + x", "z = y^2"], "y -> z -> y"),
        (["y = y + x"], "y -> y"),
        (["a = x + c", "b = a^2", "c = b + 1", "d = a"], "a -> c -> b -> a"),
    ],
)
def test_cyclic_chain_is_refused_with_the_cycle(equations, cycle):
    with pytest.raises(InputError, match=f"cyclic: {cycle}"):
        chain(equations, "x")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"equations": {"y": "3*x - 2", "z": "y**2"}, "wrt": "y"}, "'y' is defined by the equation"),
        ({"equations": {"y": "3*x - 2", "z": "y**2"}, "wrt": "v"}, "'v' does not appear"),
        ({"equations": {"y": "3*x - 2", "z": "y**2"}, "wrt": "x,y"}, "one variable"),
        ({"equations": {"y": "3*x - 2", "z": "y**2"}, "wrt": "x", "output": "q"}, "output 'q' is not defined"),
        ({"equations": {"y": "3*x - 2", "z": "y**2"}, "wrt": "x", "inputs": "y"}, "'y' is declared as an input"),
        ({"equations": {}, "wrt": "x"}, "no equations"),
        ({"equations": ["3*y = x"], "wrt": "x"}, "single name"),
        ({"equations": [("3*y", "x")], "wrt": "x"}, "not a valid variable name"),
        ({"equations": [(3 * y, "x")], "wrt": "x"}, "must be a name"),
        ({"equations": [42], "wrt": "x"}, "cannot read 42"),
        ({"equations": 42, "wrt": "x"}, "must be a dict"),
    ],
)
def test_bad_chains_are_refused(kwargs, message):
    with pytest.raises(InputError, match=message):
        chain(**kwargs)


def test_at_names_the_missing_variable():
    c = chain({"q": "relu(z) + z*x", "y": "h + q + q*x"}, "x")
    with pytest.raises(InputError, match="no value given for h"):
        c.at(x=1, z=2)
    with pytest.raises(InputError, match="'q' is computed by the chain"):
        c.at(x=1, z=2, h=0, q=5)
    with pytest.raises(InputError, match="'p' is not an input"):
        c.at(x=1, z=2, h=0, p=5)


# --- rendering ----------------------------------------------------------------------------


def test_text_rendering_shows_the_factors_and_both_routes():
    c = chain({"y": "3*x - 2", "z": "y**2"}, "x")
    text = c.to_text()
    assert "dz/dx = dz/dy · dy/dx" in text and "2y · 3" in text and "18x - 12" in text
    assert "Substituting first: z = 9x^2 - 12x + 4" in text
    worked = c.at(x=2).to_text()
    assert "y = 3x - 2 = 4" in worked and "z = y^2 = 16" in worked
    assert "dz/dx = dz/dy · dy/dx = 8 · 3 = 24" in worked


def test_latex_and_markdown_rendering():
    c = chain({"q": "relu(z) + z*x", "y": "h + q + q*x"}, "x")
    latex = c.to_latex()
    assert r"\frac{dy}{dx} &= \frac{\partial y}{\partial q} \cdot \frac{\partial q}{\partial x} + \frac{\partial y}{\partial x}" in latex
    md = c.at(x=2, z=3, h=1).to_markdown()
    assert "| $q$ | $x z + \\operatorname{ReLU}\\left(z\\right)$ | $9$ |" in md  # forward pass row
    assert "= 3 \\cdot 3 + 9 = 18" in md


def test_to_dict_is_json():
    c = chain({"y": "3*x - 2", "z": "y**2"}, "x")
    data = json.loads(c.to_json())
    assert data["result"] == "18*x - 12" and data["paths"] == [["dz/dy", "dy/dx"]]
    worked = json.loads(c.at(x=2).to_json())
    assert worked["values"] == {"x": "2", "y": "4", "z": "16"}
    assert worked["factors"] == [["dz/dy", "8"], ["dy/dx", "3"]] and worked["result"] == "24"


def test_wrt_symbol_with_assumptions_matches_by_name():
    assert chain("y = 3*x - 2; z = y^2", sympy.Symbol("x", positive=True)).result == 18 * x - 12


def test_negative_values_are_bracketed_in_the_worked_product():
    text = chain({"q": "relu(z) + z*x", "y": "h + q + q*x"}, "x").at(x=2, z=-3, h=1).to_text()
    assert "= 3 · (-3) + (-6) = -15" in text


def test_latex_equations():
    c = chain([r"y = \sigma(x)", r"z = \ln y"], "x", latex=True)
    assert c.factors[0] == ("dz/dy", 1 / y)
    assert _equal(c.result, 1 - sigmoid(x))


def test_too_many_paths_are_refused_before_any_work():
    equations = []
    previous = "x"
    for k in range(1, 12):  # each layer doubles the number of paths: 2^11 = 2048
        equations += [f"b{k} = {previous}^2", f"c{k} = sin({previous})", f"a{k} = b{k} + c{k}"]
        previous = f"a{k}"
    with pytest.raises(InputError, match="2048 paths"):
        chain(equations, "x")
    assert len(chain(equations[:6], "x").paths) == 4


def test_at_takes_a_dict_too():
    c = chain({"y": "3*x - 2", "z": "y**2"}, "x")
    assert c.at({"x": 2}).result == c.at(x="2").result == 24


def test_deep_polynomial_chain_is_not_expanded_into_thousands_of_terms():
    equations = [f"a{k} = (a{k - 1} - 1)^2" for k in range(2, 13)]
    c = chain(["a1 = (x - 1)^2", *equations], "x")  # degree 4096 when written in x
    assert len(c.factors) == 12
    assert c.at(x=3).result == sympy.diff(c.substituted, x).subs(x, 3)
