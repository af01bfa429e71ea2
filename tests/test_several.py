"""Gradient, Jacobian and Hessian: the values of worked-examples.md §3, and properties."""

from __future__ import annotations

import json

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from derivkit import InputError, MatrixDerivation, gradient, hessian, jacobian
from derivkit.calculus.derivation import Derivation
from derivkit.functions import relu, sigmoid

x, y, x1, x2, x3 = sympy.symbols("x y x1 x2 x3")

# worked-examples.md §3, the six-hump-camel-like function
CAMEL = "(4 - 2.1*x1^2 + x1^4/3)*x1^2 + x1*x2 + (-4 + 4*x2^2)*x2^2"
CAMEL_SYMPY = (4 - sympy.Rational(21, 10) * x1**2 + x1**4 / 3) * x1**2 + x1 * x2 + (-4 + 4 * x2**2) * x2**2
JAC_FS = ["2*x1 + x2^2", "-x1^2 + 3*x2", "4*x1*x2"]


def _equal(a: sympy.Basic, b: sympy.Basic) -> bool:
    return sympy.simplify(a - b) == 0


# --- §3: gradient, Hessian, Jacobian ---------------------------------------------------


def test_camel_gradient_is_the_course_formula():
    g = gradient(CAMEL, "x1,x2")
    expected = sympy.Matrix([
        2 * x1**5 - sympy.Rational(42, 5) * x1**3 + 8 * x1 + x2,  # 8.4 = 42/5
        16 * x2**3 - 8 * x2 + x1,
    ])
    assert g.result.shape == (2, 1)  # a column
    assert (sympy.Matrix(g.result) - expected).expand() == sympy.zeros(2, 1)


def test_camel_hessian_and_its_value_at_0_1():
    h = hessian(CAMEL, "x1,x2")
    expected = sympy.Matrix([[10 * x1**4 - sympy.Rational(126, 5) * x1**2 + 8, 1], [1, 48 * x2**2 - 8]])
    assert (sympy.Matrix(h.result) - expected).expand() == sympy.zeros(2, 2)
    assert h.at(x1=0, x2=1) == sympy.Matrix([[8, 1], [1, 40]])


def test_hessian_entries_are_shown_in_expanded_form():
    h = hessian(CAMEL_SYMPY, [x1, x2])
    assert h.result[0, 0] == 10 * x1**4 - sympy.Rational(126, 5) * x1**2 + 8


def test_jacobian_numerator_layout_and_value_at_2_1():
    j = jacobian(JAC_FS, "x1,x2")
    assert j.result == sympy.Matrix([[2, 2 * x2], [-2 * x1, 3], [4 * x2, 4 * x1]])
    assert j.result.shape == (3, 2)  # row i is output i
    assert j.at(x1=2, x2=1) == sympy.Matrix([[2, 2], [-4, 3], [4, 8]])
    assert "row i is output f_i" in j.layout


def test_jacobian_accepts_a_sympy_matrix():
    fs = sympy.Matrix([2 * x1 + x2**2, -x1**2 + 3 * x2, 4 * x1 * x2])
    assert jacobian(fs, [x1, x2]).result == jacobian(JAC_FS, "x1,x2").result
    assert jacobian(fs.T, [x1, x2]).result.shape == (3, 2)


def test_one_variable_gradient_is_the_derivative():
    g = gradient("x^2 - 4*x + 3", "x")
    assert g.result == sympy.Matrix([2 * x - 4])
    assert g.at(x=2) == sympy.Matrix([0])


# --- each entry is a derivation equal to sympy.diff ---------------------------------------


def test_each_gradient_entry_is_a_derivation_equal_to_diff():
    g = gradient(CAMEL_SYMPY, [x1, x2])
    assert len(g.derivations) == 2
    for k, (d, s) in enumerate(zip(g.derivations, (x1, x2))):
        assert isinstance(d, Derivation)
        assert d.wrt == s
        assert _equal(d.result, sympy.diff(CAMEL_SYMPY, s))
        assert _equal(g.result[k, 0], d.result)


def test_each_jacobian_entry_is_a_derivation_equal_to_diff():
    fs = [sympy.sin(x1 * x2), sigmoid(x1 + x2**2), sympy.exp(x1) * sympy.log(x2)]
    j = jacobian(fs, [x1, x2])
    for i, f in enumerate(fs):
        for k, s in enumerate((x1, x2)):
            d = j.derivations[i][k]
            assert d.expr == f and d.wrt == s
            assert _equal(d.result, sympy.diff(f, s))
            assert j.entry(i, k) is d


def test_hessian_entries_equal_second_partials_and_the_matrix_is_symmetric():
    f = sympy.sin(x1 * x2) + x1**3 * x3 + sympy.exp(x2 * x3)
    h = hessian(f, [x1, x2, x3])
    assert h.result == h.result.T
    for i, a in enumerate((x1, x2, x3)):
        assert _equal(h.first[i].result, sympy.diff(f, a))
        for k, b in enumerate((x1, x2, x3)):
            assert _equal(h.result[i, k], sympy.diff(f, a, b))
            assert _equal(h.derivations[i][k].result, sympy.diff(f, a, b))


def test_hessian_derives_each_mixed_partial_once_and_says_so():
    h = hessian(x1**2 * x2**3, [x1, x2])
    # H_12 = d/dx2 (df/dx1) is derived; H_21 reuses it.
    assert h.derivations[0][1].expr == 2 * x1 * x2**3 and h.derivations[0][1].wrt == x2
    assert h.derivations[1][0] is h.derivations[0][1]
    assert h.is_reused(1, 0) and not h.is_reused(0, 1)
    distinct = {id(d) for row in h.derivations for d in row}
    assert len(distinct) == 3  # n(n+1)/2
    assert any("once" in n for n in h.notes)
    assert "derived once" in h.to_text()


@settings(max_examples=15, deadline=None)
@given(
    st.lists(st.integers(-3, 3), min_size=6, max_size=6),
    st.sampled_from([sympy.sin, sympy.exp, sympy.cos]),
)
def test_hessian_is_symmetric_and_matches_diff(coeffs, fn):
    a, b, c, d, e, k = coeffs
    f = a * x1**3 + b * x1 * x2**2 + c * x2**3 + d * x1 * x2 + e + k * fn(x1 - x2)
    h = hessian(f, [x1, x2])
    assert h.result == h.result.T
    expected = sympy.hessian(f, (x1, x2))
    assert (sympy.Matrix(h.result) - expected).applyfunc(sympy.simplify) == sympy.zeros(2, 2)


def test_gradient_of_activations():
    f = relu(x1 * x2) + sigmoid(x1)
    g = gradient(f, "x1,x2")
    for k, s in enumerate((x1, x2)):
        assert _equal(g.result[k, 0], sympy.diff(f, s))


# --- inputs, results, rendering -------------------------------------------------------


def test_variables_as_symbols_names_or_string():
    f = x1**2 * x2
    assert gradient(f, [x1, x2]).result == gradient(f, ["x1", "x2"]).result == gradient(f, "x1, x2").result
    assert gradient(f, "x2,x1").result == sympy.Matrix([x1**2, 2 * x1 * x2])  # the order given


def test_variable_not_in_the_expression_gives_zero():
    assert gradient("x^2", "x,y").result == sympy.Matrix([2 * x, 0])


def test_result_is_a_frozen_dataclass_holding_a_sympy_matrix():
    g = gradient("x*y", "x,y")
    assert isinstance(g, MatrixDerivation)
    assert isinstance(g.result, sympy.Matrix) and isinstance(g.at(x=1, y=2), sympy.Matrix)
    with pytest.raises(AttributeError):
        g.kind = "hessian"  # type: ignore[misc]


def test_at_is_exact_and_names_missing_or_unknown_variables():
    h = hessian("x^3*y/3", "x,y")
    assert h.at(x="1/2", y=3) == sympy.Matrix([[3, sympy.Rational(1, 4)], [sympy.Rational(1, 4), 0]])
    with pytest.raises(InputError, match="no value given for y"):
        h.at(x=1)
    with pytest.raises(InputError, match="'z' is not a variable"):
        h.at(x=1, y=2, z=3)


def test_at_accepts_variables_absent_from_the_result():
    # d/dx and d/dy of x + y are constants, but both are variables of the problem.
    assert gradient("x + y", "x,y").at(x=1, y=2) == sympy.Matrix([1, 1])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: gradient("x^2", ""), "no variables"),
        (lambda: gradient("x^2", "x,x"), "given twice"),
        (lambda: jacobian([], "x"), "no functions"),
        (lambda: jacobian(sympy.Matrix([[x, y], [y, x]]), "x,y"), "vector"),
        (lambda: gradient(sympy.Matrix([x, y]), "x,y"), "one expression"),
        (lambda: hessian("x^2 +", "x"), "x\\^2 \\+"),
        (lambda: hessian(["x^2", "x"], "x"), "one expression"),
        (lambda: jacobian(3, "x"), "list"),
    ],
)
def test_bad_input_is_refused(call, message):
    with pytest.raises(InputError, match=message):
        call()


def test_renderers_state_the_layout_and_show_the_matrix():
    j = jacobian(JAC_FS, "x1,x2")
    text = j.to_text()
    assert "numerator layout" in text and "row i is output f_i" in text
    assert "[    2  2x2 ]" in text  # the aligned matrix
    assert "∂f2/∂x1 = -2x1" in text
    latex = j.to_latex()
    assert r"\begin{bmatrix} 2 & 2 x_{2}" in latex and r"\begin{align*}" in latex
    md = j.to_markdown()
    assert "bmatrix" in md and "$$" in md
    h = hessian(CAMEL, "x1,x2").worked_at(x1=0, x2=1)
    assert r"\begin{bmatrix} 8 & 1 \\ 1 & 40 \end{bmatrix}" in h.to_latex()
    assert "[ 8   1 ]" in h.to_text()


def test_to_dict_is_json():
    h = hessian("x^2*y", "x,y")
    data = json.loads(h.to_json())
    assert data["kind"] == "hessian"
    assert data["result"] == [["2*y", "2*x"], ["2*x", "0"]]
    assert [e["reused"] for e in data["entries"]] == [False, False, True, False]
    at = json.loads(h.worked_at(x=1, y=2).to_json())
    assert at["value"] == [["4", "2"], ["2", "0"]] and at["at"] == {"x": "1", "y": "2"}


def test_a_symbol_with_assumptions_matches_the_name_in_a_parsed_expression():
    g = gradient("x^2*y", [sympy.Symbol("x", real=True), "y"])
    assert g.result == sympy.Matrix([2 * x * y, x**2])


def test_value_at_a_point_of_a_transcendental_hessian_matches_sympy():
    f = sympy.tanh(x * y) ** 2 + sigmoid(x - y) * sympy.sin(x)
    value = hessian(f, "x,y").at(x="1/2", y="1/3")
    point = {x: sympy.Rational(1, 2), y: sympy.Rational(1, 3)}
    expected = sympy.hessian(f.rewrite(sympy.exp), (x, y)).subs(point)
    assert (value - expected).evalf(30).norm() < 1e-25


def test_hessian_diagonal_agrees_with_second_derivatives_from_derive():
    from derivkit import derive

    f = sympy.exp(x * y) + x**3 * sympy.sin(y)
    h = hessian(f, [x, y])
    for k, s in enumerate((x, y)):
        assert _equal(h.result[k, k], derive(f, s, order=2).result)


def test_feature_transform_of_the_course_moves_the_unit_square():
    # worked-examples §8: x' = (x1/(2 x1 x2 + 0.5), x2/(2 x1 x2 + 0.5))
    from derivkit.inputs import substitute

    t = jacobian(["x1/(2*x1*x2 + 0.5)", "x2/(2*x1*x2 + 0.5)"], "x1, x2")
    images = {
        (0, 0): (0, 0),
        (1, 0): (2, 0),
        (0, 1): (0, 2),
        (1, 1): (sympy.Rational(2, 5), sympy.Rational(2, 5)),
    }
    for (p1, p2), image in images.items():
        assert tuple(substitute(f, {"x1": p1, "x2": p2}) for f in t.exprs) == image
    # near the origin the transform doubles every direction
    assert t.at(x1=0, x2=0) == sympy.Matrix([[2, 0], [0, 2]])
