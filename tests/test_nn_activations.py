"""Activations and softmax: course §5 formulas, derivatives, and numerics at large inputs."""

import math
import warnings

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from derivkit.errors import InputError, ShapeError
from derivkit.nn import activations as A
from derivkit.nn.activations import (
    logsumexp, relu, sigmoid, sigmoid_jacobian, softmax, softmax_entry, softmax_jacobian, step, tanh,
)

x = sympy.Symbol("x")
S3 = sympy.symbols("s_0 s_1 s_2")


def central_difference(f, x0, h=1e-6):
    return (f(x0 + h) - f(x0 - h)) / (2 * h)


def lambdify_quiet(args, expr):
    """Lambdify to NumPy; the compiled code must run without any floating-point warning."""
    f = sympy.lambdify(args, expr, "numpy")

    def call(*values):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with np.errstate(over="raise", invalid="raise", divide="raise"):
                return f(*values)

    return call


# ---------------------------------------------------------------- scalar activations

def test_reexports_are_the_functions_classes():
    from derivkit import functions

    assert A.sigmoid is functions.sigmoid and A.relu is functions.relu and A.step is functions.step
    assert A.tanh is sympy.tanh
    from derivkit import nn

    assert nn.softmax is softmax and nn.tanh is sympy.tanh


def test_sigmoid_derivative_is_teaching_form_and_equals_explicit_formula():
    d = sympy.diff(sigmoid(x), x)
    assert d == sigmoid(x) * (1 - sigmoid(x))
    explicit = 1 / (1 + sympy.exp(-x))
    assert sympy.simplify(d.rewrite(sympy.exp) - sympy.diff(explicit, x)) == 0
    # the course's intermediate form e^-x / (1 + e^-x)^2
    assert sympy.simplify(d.rewrite(sympy.exp) - sympy.exp(-x) / (1 + sympy.exp(-x)) ** 2) == 0


def test_derivation_of_the_explicit_sigmoid_ends_in_one_minus_sigma_times_sigma():
    from derivkit import derive

    d = derive(1 / (1 + sympy.exp(-x)), x)
    assert d.result == (1 - sigmoid(x)) * sigmoid(x)
    assert d.rules[0] == "chain" and d.rules[-1] == "rewrite"


def test_tanh_derivative_is_one_minus_tanh_squared():
    assert sympy.diff(tanh(x), x) == 1 - tanh(x) ** 2


def test_relu_and_step_derivatives():
    assert sympy.diff(relu(x), x) == step(x)
    assert sympy.diff(step(x), x) == 0
    assert sympy.diff(step(x, 2), x) == 0
    assert (relu(-3), relu(2)) == (0, 2)


@pytest.mark.parametrize("t", [0, 2])
def test_step_thresholds_used_by_the_course(t):
    assert step(t - 1, t) == 0
    assert step(t, t) == 1
    assert step(t + sympy.Rational(1, 2), t) == 1


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "leaky_relu", "identity"])
def test_activation_derivatives_match_central_differences(name):
    f_sym = A.as_activation(name)(x)
    f = sympy.lambdify(x, f_sym, "numpy")
    df = sympy.lambdify(x, sympy.diff(f_sym, x), "numpy")
    for x0 in (-3.1, -0.7, 0.4, 2.5):  # away from the kink of relu / leaky_relu at 0
        assert float(df(x0)) == pytest.approx(central_difference(f, x0), rel=1e-6, abs=1e-9)


def test_sigmoid_large_inputs_sympy_and_numpy():
    assert float(sigmoid(1000).evalf()) == 1.0
    small = sigmoid(-1000).evalf(20)
    assert small > 0 and math.isclose(float(sympy.log(small)), -1000.0, rel_tol=1e-12)
    assert float(sigmoid(1000)) == 1.0
    f = lambdify_quiet(x, sigmoid(x))
    np.testing.assert_allclose(f(np.array([-1000.0, 0.0, 1000.0])), [0.0, 0.5, 1.0], atol=0)


# ---------------------------------------------------------------- softmax

def test_softmax_worked_example_section_5():
    s = [3.2, 5.1, -1.7]
    exps = [float(sympy.exp(sympy.nsimplify(v))) for v in s]
    assert [round(e, 1) for e in exps[:2]] == [24.5, 164.0] and round(exps[2], 2) == 0.18
    p = [float(v) for v in softmax(s)]
    assert [round(v, 2) for v in p] == [0.13, 0.87, 0.00]
    assert sum(p) == pytest.approx(1.0)
    assert p[0] == pytest.approx(exps[0] / sum(exps))


def test_softmax_textbook_form_and_sum():
    p = softmax(S3)
    assert p.shape == (3, 1)
    assert p[1].rewrite(sympy.exp) == sympy.exp(S3[1]) / sum(sympy.exp(v) for v in S3)
    assert sympy.simplify(sum(v.rewrite(sympy.exp) for v in p)) == 1


def test_softmax_of_large_scores_sympy_and_numpy():
    p = softmax([1000, 0])
    assert float(p[0]) == 1.0
    assert math.isclose(float(sympy.log(p[1].evalf(30))), -1000.0, rel_tol=1e-12)
    f = lambdify_quiet([], softmax([1000, 0]))  # numbers inside the expression
    np.testing.assert_array_equal(np.ravel(f()), [1.0, 0.0])
    g = lambdify_quiet(list(S3), softmax(S3))  # symbols, values given at run time
    np.testing.assert_allclose(np.ravel(g(1000.0, 0.0, -1000.0)), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(np.ravel(g(-1000.0, -1000.0, -1000.0)), [1 / 3] * 3)


@settings(max_examples=40)
@given(st.lists(st.floats(-5000, 5000), min_size=3, max_size=3))
def test_softmax_numpy_is_a_probability_vector(values):
    p = np.ravel(lambdify_quiet(list(S3), softmax(S3))(*values))
    assert np.all(np.isfinite(p)) and np.all(p >= 0)
    assert p.sum() == pytest.approx(1.0)
    shifted = np.exp(np.array(values) - max(values))  # the textbook formula, shifted by the max
    np.testing.assert_allclose(p, shifted / shifted.sum(), rtol=1e-12, atol=1e-300)


def test_softmax_jacobian_formula_and_textbook_derivative():
    D = softmax_jacobian(S3)
    p = softmax(S3)
    for a in range(3):
        for b in range(3):
            assert D[a, b] == p[a] * ((1 if a == b else 0) - p[b])
    assert D == p.jacobian(S3)
    textbook = sympy.Matrix([v.rewrite(sympy.exp) for v in p]).jacobian(S3)
    point = {S3[0]: sympy.Rational(32, 10), S3[1]: sympy.Rational(51, 10), S3[2]: sympy.Rational(-17, 10)}
    diff = (D.applyfunc(lambda e: e.rewrite(sympy.exp)) - textbook).subs(point)
    assert max(abs(float(v)) for v in diff) < 1e-14
    assert sympy.simplify(D[0, 1].rewrite(sympy.exp) - textbook[0, 1]) == 0


def test_softmax_jacobian_matches_central_differences():
    f = sympy.lambdify(list(S3), softmax(S3), "numpy")
    J = sympy.lambdify(list(S3), softmax_jacobian(S3), "numpy")
    s0 = np.array([3.2, 5.1, -1.7])
    h = 1e-6
    numeric = np.column_stack([
        (np.ravel(f(*(s0 + h * e))) - np.ravel(f(*(s0 - h * e)))) / (2 * h) for e in np.eye(3)])
    np.testing.assert_allclose(J(*s0), numeric, atol=1e-8)


def test_logsumexp_derivative_is_softmax_and_it_is_stable():
    assert [sympy.diff(logsumexp(*S3), v) for v in S3] == list(softmax(S3))
    explicit = sympy.log(sum(sympy.exp(v) for v in S3))
    assert sympy.simplify(sympy.diff(explicit, S3[0]) - sympy.diff(logsumexp(*S3), S3[0]).rewrite(sympy.exp)) == 0
    assert logsumexp(1000, 0).evalf(20) == pytest.approx(1000.0)
    assert float(lambdify_quiet(list(S3), logsumexp(*S3))(1000.0, 0.0, -3.0)) == pytest.approx(1000.0)


def test_vector_sigmoid_derivative_is_diagonal():
    J = sigmoid_jacobian(S3)
    vec = sympy.Matrix([sigmoid(v) for v in S3])
    assert J == vec.jacobian(S3)
    assert J == sympy.diag(*[(1 - sigmoid(v)) * sigmoid(v) for v in S3])
    assert J[0, 1] == 0


def test_softmax_entry_second_derivatives_match_textbook():
    a, b = sympy.symbols("a b")
    p = softmax_entry(0, a, b)
    d2 = sympy.diff(p, a, b).rewrite(sympy.exp)
    textbook = sympy.diff(p.rewrite(sympy.exp), a, b)
    val = (d2 - textbook).subs({a: sympy.Rational(1, 3), b: -2})
    assert abs(float(val)) < 1e-14


# ---------------------------------------------------------------- bad input

def test_bad_activation_inputs():
    with pytest.raises(InputError, match="unknown activation 'softplus'"):
        A.as_activation("softplus")
    with pytest.raises(ShapeError, match="must be a vector"):
        softmax([[1, 2], [3, 4]])
    with pytest.raises(ShapeError, match="single value"):
        softmax(3)
    with pytest.raises(InputError, match="class index"):
        softmax_entry(3, 1, 2)


# ---------------------------------------------------------------- every lambdify path

@pytest.mark.parametrize("module", ["numpy", "math", "mpmath"])
def test_large_inputs_are_finite_in_every_lambdify_module(module):
    f = sympy.lambdify(x, sigmoid(x), module)
    assert [float(f(v)) for v in (-1000.0, 0.0, 1000.0)] == [0.0, 0.5, 1.0]
    g = sympy.lambdify(list(S3), list(softmax(S3)) + [logsumexp(*S3)], module)
    values = [float(v) for v in np.ravel(g(1000.0, 0.0, -1000.0))]
    assert values == [1.0, 0.0, 0.0, 1000.0]
    expected = np.exp([3.2, 5.1, -1.7]) / np.exp([3.2, 5.1, -1.7]).sum()
    np.testing.assert_allclose([float(v) for v in np.ravel(g(3.2, 5.1, -1.7))][:3], expected, rtol=1e-13)


@pytest.mark.parametrize("module", ["numpy", "math", "mpmath"])
def test_piecewise_activations_in_every_lambdify_module(module):
    exprs = [step(x), step(x, 2), relu(x), A.leaky_relu(x), A.leaky_relu(x, sympy.Rational(1, 10))]
    f = sympy.lambdify(x, exprs, module)
    rows = [[float(v) for v in np.ravel(f(x0))] for x0 in (-1.0, 0.0, 2.0)]
    assert rows == [[0, 0, 0, -0.01, -0.1], [1, 0, 0, 0, 0], [1, 1, 2, 2, 2]]
