"""The safe parser: what it accepts, exactly, and how it explains what it refuses."""

from __future__ import annotations

import sympy
import pytest
from hypothesis import given, settings, strategies as st
from sympy import E, Abs, Max, Min, Rational, Symbol, exp, log, pi, sqrt

import derivkit
from derivkit import ParseError, parse
from derivkit.functions import leaky_relu, relu, sigmoid, step
from derivkit.inputs import as_expr
from derivkit.parsing import FUNCTIONS, MAX_DEPTH, parse_equation

x, y, z, a, b = sympy.symbols("x y z a b")
f, g = sympy.Function("f"), sympy.Function("g")

ACCEPTED = [
    # powers and implicit products
    ("x^2", x**2),
    ("x**2", x**2),
    ("x^-2", x**-2),
    ("-x^2", -(x**2)),
    ("x^2^3", x**8),  # right-associative: x^(2^3)
    ("2x", 2 * x),
    ("2 x", 2 * x),
    ("x y", x * y),
    ("2(x+1)", sympy.Mul(2, x + 1, evaluate=False)),
    ("(x+1)(x-1)", (x + 1) * (x - 1)),
    ("x(x+1)", x * (x + 1)),
    ("2sin(x)", 2 * sympy.sin(x)),
    ("2|x|", 2 * Abs(x)),
    ("3x^2 - 2x + 1", 3 * x**2 - 2 * x + 1),
    ("1/2x", x / 2),  # implicit products bind like '*': (1/2)*x
    ("x²", x**2),
    ("2×x − 1", 2 * x - 1),
    # constants and exponentials
    ("e", E),
    ("e^x", exp(x)),
    ("E**x", exp(x)),
    ("2e^x", 2 * exp(x)),
    ("pi", pi),
    ("1/(1+e^(-x))", 1 / (1 + exp(-x))),
    ("exp(-x)", exp(-x)),
    ("2^x", 2**x),
    # logarithms
    ("ln(x)", log(x)),
    ("log(x)", log(x)),
    ("log(x, 2)", log(x) / log(2)),
    ("log2(x)", log(x, 2)),
    ("log10(x)", log(x, 10)),
    ("log_2(x)", log(x, 2)),
    ("ln x", log(x)),
    ("ln 2x", log(2 * x)),
    # trig, inverse trig, hyperbolic
    ("sin x^2", sympy.sin(x**2)),
    ("sin^2(x)", sympy.sin(x) ** 2),
    ("sin^-1(x)", sympy.asin(x)),
    ("tanh^(-1) x", sympy.atanh(x)),
    ("arcsin(x)", sympy.asin(x)),
    ("arctan(x) + acot(x)", sympy.atan(x) + sympy.acot(x)),
    ("arsinh(x)", sympy.asinh(x)),
    ("sech(x)^2", sympy.sech(x) ** 2),
    # non-smooth and activations
    ("|x|", Abs(x)),
    ("||x| - 1|", Abs(Abs(x) - 1)),
    ("abs(x)", Abs(x)),
    ("Abs(x)", Abs(x)),
    ("max(0, x)", Max(0, x)),
    ("Max(x, y, z)", Max(x, y, z)),
    ("min(x, 1)", Min(x, 1)),
    ("sqrt(x)", sqrt(x)),
    ("sigmoid(x)", sigmoid(x)),
    ("sigma(x)", sigmoid(x)),
    ("σ(x)", sigmoid(x)),
    ("relu(x)", relu(x)),
    ("ReLU(x)", relu(x)),
    ("leaky_relu(x, 0.1)", leaky_relu(x, Rational(1, 10))),
    ("step(x)", step(x)),
    ("step(x, 2)", step(x, 2)),
    ("erf(x)/x", sympy.erf(x) / x),
    ("gamma(x)", sympy.gamma(x)),
    # undefined functions and names
    ("f(x**2)", f(x**2)),
    ("f(g(x))", f(g(x))),
    ("f", Symbol("f")),
    ("sigma", Symbol("sigma")),
    ("gamma x", Symbol("gamma") * x),
    ("lambda x", Symbol("lambda") * x),
    ("alpha", Symbol("alpha")),
    ("α x", Symbol("alpha") * x),
    ("x1 + x_1", Symbol("x1") + Symbol("x_1")),
    ("H_in + O_out", Symbol("H_in") + Symbol("O_out")),
    ("a(x + 1)", a * (x + 1)),
]


@pytest.mark.parametrize("text, expected", ACCEPTED, ids=[t for t, _ in ACCEPTED])
def test_accepted_forms_give_exact_sympy(text, expected):
    assert parse(text) == expected


def test_public_name_and_as_expr_use_this_parser():
    assert derivkit.parse("x^2") == x**2
    assert as_expr("2x + 1") == 2 * x + 1


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0.01", Rational(1, 100)),
        ("2.1", Rational(21, 10)),
        (".5", Rational(1, 2)),
        ("2.0", sympy.Integer(2)),
        ("1e3", sympy.Integer(1000)),
        ("2.5e-2", Rational(1, 40)),
        ("4 - 0.01*37", Rational(363, 100)),  # the course's descent step, exactly
        ("0.1 + 0.2", Rational(3, 10)),
    ],
)
def test_decimals_are_the_exact_rational_typed(text, expected):
    value = parse(text)
    assert value == expected
    assert isinstance(value, sympy.Rational)


def test_descent_exercise_is_exact():
    # f(b) = 5b^2 - 3b + 2, b = 4, alpha = 0.01: 363/100, 3297/1000, 29973/10000
    b_ = parse("4")
    alpha = parse("0.01")
    fprime = parse("10b - 3")
    values = []
    for _ in range(3):
        b_ = b_ - alpha * fprime.subs(Symbol("b"), b_)
        values.append(b_)
    assert values == [Rational(363, 100), Rational(3297, 1000), Rational(29973, 10000)]


def test_every_rule_table_function_can_be_typed_by_its_name():
    rules = pytest.importorskip("derivkit.rules")
    for rule in rules.RULES.values():
        fn = rule.function
        if fn is None or fn is sympy.Piecewise:
            continue
        name = fn.__name__
        args = "x, y" if fn in (sympy.Max, sympy.Min) else "x + y"
        assert parse(f"{name}({args})").func == fn, name


def test_function_names_all_build():
    for name, spec in FUNCTIONS.items():
        value = parse(f"{name}(" + ", ".join(["x"] * spec.min_args) + ")")
        assert isinstance(value, sympy.Basic), name


# -- friendly errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, message, position",
    [
        ("", "empty formula", 0),
        ("   ", "empty formula", 3),
        ("(x+1", "never closed", 0),
        ("sin(x", "never closed", 3),
        ("x+1)", "unmatched ')'", 3),
        ("x +", "ends after '+'", 3),
        ("2**", "ends after '^'", 3),
        ("*x", "'*' needs something before it", 0),
        ("()", "closes nothing", 1),
        ("foo(x)", "unknown function 'foo'", 0),
        ("sin(x, y)", "sin takes 1 argument, got 2", 0),
        ("log(x, 2, 3)", "log takes 1 or 2 arguments, got 3", 0),
        ("sin()", "'sin' needs an argument", 0),
        ("x + sin", "'sin' needs an argument", 4),
        ("sinx", "write sin(x)", 0),
        ("2 3", "missing operator before the number 3", 2),
        ("1/(x-x)", "division by zero", 1),
        ("log(0)", "undefined value", 0),
        ("y = 3x", "parse_equation", 2),
        ("|x", "never closed", 0),
        ("x $ y", "unexpected character '$'", 2),
        (r"\frac{1}{x}", "latex=True", 0),
    ],
)
def test_errors_name_the_problem_and_point_at_it(text, message, position):
    with pytest.raises(ParseError) as info:
        parse(text)
    assert message in str(info.value)
    assert info.value.position == position
    assert info.value.text == text


def test_unknown_function_suggests_the_nearest_name():
    with pytest.raises(ParseError, match="did you mean sin"):
        parse("sinn(x)")
    with pytest.raises(ParseError, match="did you mean sigmoid"):
        parse("sigmod(x)")


def test_error_message_shows_a_caret_under_the_place():
    with pytest.raises(ParseError) as info:
        parse("x + y.z")
    lines = str(info.value).splitlines()
    assert lines[1].strip() == "x + y.z"
    assert lines[2].index("^") == lines[1].index(".")


def test_parse_error_is_a_value_error():
    with pytest.raises(ValueError):
        parse("(")


def test_nesting_up_to_the_limit_is_fine_and_beyond_is_refused():
    ok = "(" * (MAX_DEPTH // 2) + "x" + ")" * (MAX_DEPTH // 2)
    assert parse(ok) == x
    with pytest.raises(ParseError, match="nested too deeply"):
        parse("(" * (MAX_DEPTH + 5) + "x" + ")" * (MAX_DEPTH + 5))


def test_non_string_is_refused():
    with pytest.raises(ParseError, match="must be a string"):
        parse(42)  # type: ignore[arg-type]


# -- equations ------------------------------------------------------------------------


def test_parse_equation_reads_a_chain_link():
    assert parse_equation("y = 3*x - 2") == (y, 3 * x - 2)
    assert parse_equation("z = y^2") == (z, y**2)
    assert parse_equation(r"y = \frac{x}{2}", latex=True) == (y, x / 2)


@pytest.mark.parametrize(
    "text, message",
    [
        ("3x - 2", "needs '='"),
        ("2y = x", "single name"),
        ("sin = x", "single name"),
        ("y = x = 2", "exactly one '='"),
        ("y =", "right side"),
        ("y = (x", "never closed"),
    ],
)
def test_parse_equation_errors(text, message):
    with pytest.raises(ParseError, match=message):
        parse_equation(text)


# -- LaTeX ----------------------------------------------------------------------------

LATEX = [
    (r"\frac{1}{1+e^{-x}}", 1 / (1 + exp(-x))),
    (r"\sigma(x)", sigmoid(x)),
    (r"\sigma(x)\left(1-\sigma(x)\right)", sigmoid(x) * (1 - sigmoid(x))),
    (r"\ln x", log(x)),
    (r"\sin^{-1} x", sympy.asin(x)),
    (r"\cos^2 x", sympy.cos(x) ** 2),
    (r"x^{2}", x**2),
    (r"x^23", 3 * x**2),  # as in LaTeX: a brace-less power is one character
    (r"\sqrt{x}", sqrt(x)),
    (r"\sqrt[3]{x}", x ** Rational(1, 3)),
    (r"\frac12", Rational(1, 2)),
    (r"\log_2 x", log(x, 2)),
    (r"\log_{b}(x+1)", log(x + 1) / log(b)),
    (r"\operatorname{ReLU}(x)", relu(x)),
    (r"\mathrm{e}^{x}", exp(x)),
    (r"e^x", exp(x)),
    (r"\tanh(x)", sympy.tanh(x)),
    (r"\left|x\right|", Abs(x)),
    (r"\max(0, x)", Max(0, x)),
    (r"\arcsin x", sympy.asin(x)),
    (r"2x \cdot y", 2 * x * y),
    (r"xy", x * y),
    (r"\sin 2x", sympy.sin(2 * x)),
    (r"\alpha x_1 + w_{jk}", Symbol("alpha") * Symbol("x_1") + Symbol("w_jk")),
    (r"0.01", Rational(1, 100)),
]


@pytest.mark.parametrize("text, expected", LATEX, ids=[t for t, _ in LATEX])
def test_latex_forms(text, expected):
    assert parse(text, latex=True) == expected


@pytest.mark.parametrize(
    "text, message, position",
    [
        (r"\int x\,dx", r"\int is not supported", 0),
        (r"x + \sum_{i} x", r"\sum is not supported", 4),
        (r"\frac{d}{dx} x^2", "derivative notation", 0),
        (r"\frac{1}{x", "never closed", 8),
        (r"x}", "closes nothing", 1),
        (r"x^", "missing its argument", 2),
        (r"\frac{1}{0}", "division by zero", 0),
        (r"x + \foo", r"\foo is not supported", 4),
        (r"2^{10^{10^{10}}}", "power too large", 5),
        (r"\operatorname{eval}(x)", "unknown function 'eval'", 14),
    ],
)
def test_latex_errors_point_into_the_latex(text, message, position):
    with pytest.raises(ParseError) as info:
        parse(text, latex=True)
    assert message in str(info.value)
    assert info.value.text == text
    assert info.value.position == position


# -- properties -----------------------------------------------------------------------

_SYMBOLS = [x, y, Symbol("alpha"), Symbol("x1"), Symbol("w_1")]
_UNARY = [
    getattr(sympy, n)
    for n in (
        "sin cos tan csc sec cot asin acos atan acot asec acsc sinh cosh tanh "
        "csch sech coth asinh acosh atanh acsch asech acoth exp log sqrt Abs erf"
    ).split()
] + [sigmoid, relu, step]
_numbers = st.builds(Rational, st.integers(-9, 9), st.integers(1, 5))
_leaves = st.one_of(st.sampled_from(_SYMBOLS), _numbers, st.sampled_from([E, pi]))


def _safely(build):
    """Build a SymPy expression, or None where SymPy itself refuses (``Max(zoo, x)``)."""

    def make(*args):
        try:
            return build(*args)
        except (TypeError, ValueError, ArithmeticError):
            return None

    return make


def _grow(children):
    return st.one_of(
        st.builds(_safely(lambda fn, u: fn(u)), st.sampled_from(_UNARY), children),
        st.builds(_safely(lambda u, v: u + v), children, children),
        st.builds(_safely(lambda u, v: u - v), children, children),
        st.builds(_safely(lambda u, v: u * v), children, children),
        st.builds(_safely(lambda u, v: u / v), children, children),
        st.builds(
            _safely(lambda u, n: u**n),
            children,
            st.sampled_from([2, 3, -1, -2, Rational(1, 2), Rational(3, 2)]),
        ),
        st.builds(_safely(lambda u, v: u**v), _leaves, st.sampled_from(_SYMBOLS)),
        st.builds(_safely(Max), _leaves, _leaves),
        st.builds(_safely(Min), children, st.sampled_from(_SYMBOLS)),
        st.builds(_safely(lambda u: f(u)), children),
        st.builds(_safely(lambda u, t: step(u, t)), children, _numbers),
    ).filter(lambda e: e is not None)


_exprs = st.recursive(_leaves, _grow, max_leaves=6).filter(
    lambda e: not e.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I)
)


@settings(max_examples=300)
@given(_exprs)
def test_printed_sympy_parses_back_to_itself(e):
    text = str(e)
    result = parse(text)
    if result != e:
        # SymPy's printing is not always a fixed point of its own evaluation:
        # str(3*(a - 8)) re-evaluates to 3*a - 24. Then we must read what SymPy reads
        # (sympify is safe here: the text is SymPy's own printing of a trusted object).
        oracle = sympy.sympify(text, locals={"sigmoid": sigmoid, "relu": relu, "step": step, "f": f})
        assert result == oracle


_JUNK = st.text(alphabet="xy2.0e()+-*/^|, =sinlogab_[]'\":;\\{}!σ²", max_size=40)


@settings(max_examples=400)
@given(_JUNK)
def test_junk_parses_or_raises_parse_error(text):
    try:
        result = parse(text)
    except ParseError as err:
        assert err.text is None or err.position is None or 0 <= err.position <= len(err.text)
    else:
        assert isinstance(result, sympy.Basic)


_LATEX_JUNK = st.lists(
    st.sampled_from(
        [r"\frac", r"\sqrt", r"\sin", r"\ln", r"\left(", r"\right)", r"\sigma", "{", "}", "^", "_",
         "x", "2", "e", "(", ")", "+", "-", "[", "]", r"\cdot", "|", r"\log", r"\int", " "]
    ),
    max_size=25,
).map("".join)


@settings(max_examples=300)
@given(_LATEX_JUNK)
def test_latex_junk_parses_or_raises_parse_error(text):
    try:
        result = parse(text, latex=True)
    except ParseError as err:
        assert err.text == text
        assert err.position is None or 0 <= err.position <= len(text)
    else:
        assert isinstance(result, sympy.Basic)




@settings(max_examples=200)
@given(_exprs.filter(lambda e: not e.free_symbols & {Symbol("x1")}))
def test_sympy_latex_parses_back_with_latex_true(e):
    text = sympy.latex(e)
    result = parse(text, latex=True)
    if result != e:
        # as for str(): SymPy's own reading of its printing may re-evaluate
        oracle = sympy.sympify(str(e), locals={"sigmoid": sigmoid, "relu": relu, "step": step, "f": f})
        # LaTeX is not str(): -2(x+y)/x may come back as -(2x+2y)/x, equal after expanding
        assert result == oracle or sympy.expand(result - oracle) == 0, text
