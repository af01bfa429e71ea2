"""Regression tests: each input that once hung, crashed or was silently wrong, and what it gives now.

A hang would show as this module's timeout (a guard, not a speed test: each case
returns in well under a second on a laptop).
"""

from __future__ import annotations

import json
import math
import zipfile

import numpy as np
import pytest
import sympy

from derivkit import check, derive, descend, hessian, limits, parse
from derivkit.errors import DerivkitError, DomainError, InputError, LimitError, ParseError, ParseLimitError
from derivkit.training.loop import Divergence, History, load_params, train

pytestmark = pytest.mark.timeout(120)

x = sympy.Symbol("x")

HUGE = ["x^(10^10)", "x^x^x^x", "(x+1)^100000", "E^E^E^E^E", "exp(exp(exp(exp(x))))"]


# ---------------------------------------------------------------- check used to hang

@pytest.mark.parametrize("text", HUGE)
def test_check_of_a_huge_function_answers(text):
    v = check(text, "2x", "x")
    assert v.ok is False and v.counterexample is not None
    assert v.expected == derive(text, "x").result


@pytest.mark.parametrize("text", HUGE)
def test_check_of_a_huge_claim_answers(text):
    v = check("x^2", text, "x")
    assert v.ok is False and v.counterexample is not None
    assert abs(v.counterexample.expected - 2 * sympy.Rational(v.counterexample.point["x"])) < 1e-30


def test_huge_values_are_shown_with_their_exponent():
    from derivkit.verify.check import _num

    # 10^10 (-1/19)^(10^10 - 1) is about -5.6 10^(-12787535999): not "-0"; 2^(10^10) is not "inf"
    assert _num(sympy.Float("-5.62942e-12787535999", 40)) == "-5.62942e-12787535999"
    assert _num(sympy.N(sympy.Pow(2, 10**10, evaluate=False), 40)) == "4.36327e+3010299956"
    v = check("x^(10^10)", "2x", "x")
    assert "-0," not in v.message and "inf" not in v.message


def test_claim_too_large_to_evaluate_says_so():
    v = check("x^2", "E^E^E^E^E", "x")
    assert not v.ok and "too large to evaluate" in v.message


def test_correct_answer_for_a_huge_function():
    # e^(e^(e^(e^x))) is out of reach at most test points; the ones in reach decide
    f = "exp(exp(exp(exp(x))))"
    v = check(f, "exp(x) exp(exp(x)) exp(exp(exp(x))) exp(exp(exp(exp(x))))", "x")
    assert v.ok


def test_descend_of_a_huge_power_stops():
    d = descend("x^(10^10)", "x", 1, 0.1, 10)
    assert d.diverged and len(d.rows) == 1 and not d.exact
    d = descend("x^(10^10)", "x", sympy.Rational(1, 2), sympy.Rational(1, 10), 10)
    assert not d.diverged and d.final == sympy.Rational(1, 2) or not d.exact  # (1/2)^(10^10) is ~0


def test_memory_error_of_a_power_tower():
    tower = "^".join(["1.5"] * 15)  # 1.5^1.5^...: a constant beyond any memory
    v = check(tower, "1", "x")
    assert v.ok is False and v.expected == 0 and float(v.counterexample.claimed) == 1
    assert check(tower, "0", "x").ok


def test_descend_steps_refused_by_a_budget():
    with pytest.raises(LimitError) as err:
        descend("x^2", "x", 1, 0.1, 10**9)
    assert err.value.limit == "steps" and err.value.value == 10_000
    assert len(descend("x^2", "x", 1, 0.1, 10_000).rows) > 0


# ---------------------------------------------------------------- raw exceptions

def test_number_with_leading_zeros_past_pythons_digit_limit():
    assert parse("0" * 4301 + "1") == 1
    assert parse("0" * 5000 + "1.5") == sympy.Rational(3, 2)
    with pytest.raises(ParseLimitError) as err:
        parse("0." + "0" * 4301 + "1")
    assert err.value.limit == "digits"


@pytest.mark.parametrize("text, inner", [("|f(-x-1)|", -x - 1), ("||f(2-x, x)||", 2 - x)])
def test_absolute_value_of_an_unknown_function(text, inner):
    d = derive(text, "x")
    assert d.result.has(sympy.sign) and d.result.has(sympy.Subs)
    assert "abs" in d.rules and "chain" in d.rules


def test_save_to_an_unwritable_path(tmp_path):
    h = History(losses=(1.0,), params={"w": np.ones((1, 1))})
    with pytest.raises(InputError, match="cannot save the training run to /proc/version"):
        h.save("/proc/version")
    blocked = tmp_path / "file"
    blocked.write_text("a file, not a folder")
    with pytest.raises(InputError, match="cannot save"):
        h.save(blocked / "run.npz")
    assert blocked.read_text() == "a file, not a folder"


def test_negative_seed_refused():
    from derivkit import nn
    from derivkit.training.datasets import xor

    net = nn.mlp([2, 2, 1]).compile()
    with pytest.raises(InputError, match="seed must be a whole number of 0 or more"):
        train(net, xor(), "adam", epochs=1, seed=-1)


# ---------------------------------------------------------------- accepted but slow without limit

def test_unknown_function_with_many_arguments():
    with pytest.raises(ParseLimitError) as err:
        parse("f(" + ",".join(["x"] * 1000) + ")")
    assert err.value.limit == "arguments" and "1000 arguments" in str(err.value)
    f = sympy.Function("f")
    with pytest.raises(LimitError) as err:
        derive(f(*([x] * 1000)), "x")
    assert err.value.limit == "arguments"
    assert len(derive("f(" + ",".join(["x"] * 32) + ")", "x").result.args) == 32


def test_hessian_of_a_product_of_80_variables():
    names = [f"x{i}" for i in range(80)]
    with pytest.raises(LimitError) as err:
        hessian("*".join(names), ",".join(names))
    assert err.value.limit == "entries" and "3,320 entries" in str(err.value)
    assert hessian("*".join(names[:5]), ",".join(names[:5])).result[0, 1] == sympy.Mul(
        *sympy.symbols(names[2:5]))


def test_high_order_derivative_and_its_printing():
    # the result of order 20 has ~15,000 nodes and its steps would print over 10 MB
    with limits(result_nodes=2000):
        with pytest.raises(LimitError) as err:
            derive("exp(x^2) sin(x)", "x", order=20)
    assert err.value.limit == "result_nodes"
    d = derive("exp(x^2) sin(x)", "x", order=6)  # prints about 60,000 characters
    with limits(printed=20_000):
        with pytest.raises(LimitError) as err:
            d.to_text()
    assert err.value.limit == "printed"
    with pytest.raises(LimitError) as err:
        derive("x", "x", order=51)
    assert err.value.limit == "order"


# ---------------------------------------------------------------- wrong or silent

@pytest.mark.parametrize("text", ["log(x, 0)", "log(x, 1)", "log(x, -2)", "log_0(x)", "log_1(x)"])
def test_logarithm_bases_refused(text):
    with pytest.raises(ParseError, match="base of a logarithm must be a positive number other than 1"):
        parse(text)


def test_logarithm_bases_accepted():
    assert parse("log(x, 2)") == sympy.log(x) / sympy.log(2)
    assert parse("log(x, 1/2)") == sympy.log(x) / sympy.log(sympy.Rational(1, 2))


def test_zero_to_a_variable_power():
    d = derive("0^x", "x")
    assert d.result == 0 and not d.result.has(sympy.zoo)
    assert d.notes == ("0^x is undefined where x <= 0.",)


def test_derivative_undefined_everywhere_is_an_error():
    with pytest.raises(DomainError, match="undefined everywhere"):
        derive(sympy.zoo * x, "x")


@pytest.mark.parametrize("f, wrong, right", [
    ("asec(x)", "1/(x*sqrt(x^2-1))", "1/(|x|*sqrt(x^2-1))"),
    ("acsc(x)", "-1/(x*sqrt(x^2-1))", "-1/(|x|*sqrt(x^2-1))"),
    ("acsch(x)", "-1/(x*sqrt(1+x^2))", "-1/(|x|*sqrt(1+x^2))"),
    ("ln(|x|)", "1/|x|", "1/x"),
])
def test_both_branches_are_checked(f, wrong, right):
    v = check(f, wrong, "x")
    assert not v.ok and sympy.Rational(v.counterexample.point["x"]) < 0
    assert check(f, right, "x").ok


def test_acosh_is_checked_on_its_domain():
    assert check("acosh(x)", "1/sqrt(x^2-1)", "x").ok
    assert check("acosh(x)", "1/(sqrt(x-1) sqrt(x+1))", "x").ok
    assert not check("acosh(x)", "1/sqrt(x^2+1)", "x").ok


def test_asec_at_a_negative_point():
    v = check("asec(x)", "1/(x*sqrt(x^2-1))", "x", at={"x": -2})
    assert not v.ok


def test_scientific_notation_runs_into_a_name():
    with pytest.raises(ParseError, match="a number has one exponent"):
        parse("1e5e5")
    with pytest.raises(ParseError, match="put '\\*' or a space after 1e5"):
        parse("1e5x")
    assert parse("1e5 x") == 100000 * x and parse("2e") == 2 * sympy.E


@pytest.mark.parametrize("text", ["f^(-1)(x)", "f^-1(x)", "g^(-1)(x^2)"])
def test_inverse_of_an_unknown_function_refused(text):
    with pytest.raises(ParseError, match="inverse function of [fg]"):
        parse(text)
    assert parse("1/f(x)") == 1 / sympy.Function("f")(x)


def test_inverse_notation_of_known_functions():
    assert parse("sin^-1(x)") == sympy.asin(x)
    assert parse("sin^2(x)") == sympy.sin(x) ** 2
    with pytest.raises(ParseError, match="ambiguous"):
        parse("sin^(-2)(x)")
    with pytest.raises(ParseError, match="ambiguous"):
        parse("exp^(-1)(x)")


@pytest.mark.parametrize("value", ["nan", "NaN", float("nan"), "inf", "-inf", float("inf"), "oo"])
def test_point_that_is_not_a_number(value):
    with pytest.raises(InputError, match="value of x must be a finite number"):
        check("x^2", "2x", "x", at={"x": value})
    with pytest.raises(InputError, match="finite number"):
        derive("x^2", "x").at(x=value)


def test_point_that_is_a_name():
    with pytest.raises(InputError, match="value of x must be a number, not y"):
        check("x^2", "2x", "x", at={"x": "y"})


def test_exact_value_too_long_becomes_a_float():
    v = derive("x^(10^10)", "x").at(x=2)
    assert isinstance(v, sympy.Float)
    assert sympy.N(sympy.log(v, 10), 15) == pytest.approx(10 + (10**10 - 1) * math.log10(2))


# ---------------------------------------------------------------- saved training files

@pytest.fixture
def saved(tmp_path):
    h = History(losses=(1.0, 0.5), val_losses=(1.1, 0.6), params={"W1": np.ones((2, 1))},
                best_params={"W1": np.ones((2, 1))}, best_epoch=2,
                optimizer_state={"kind": "Adam", "t": 2, "epoch": 1, "state": {"m": {"W1": np.zeros((2, 1))}}})
    return h.save(tmp_path / "run.npz")


def _both_refuse(path, words):
    for read in (History.load, load_params):
        with pytest.raises(InputError, match=words):
            read(path)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.npz"
    p.write_bytes(b"")
    _both_refuse(p, "the file is empty")


def test_missing_file(tmp_path):
    _both_refuse(tmp_path / "none.npz", "no such file")
    _both_refuse(tmp_path, "it is a folder")


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.99])
def test_truncated_file(saved, keep):
    data = saved.read_bytes()
    saved.write_bytes(data[: int(len(data) * keep)])
    _both_refuse(saved, "not an .npz file|truncated or damaged")


def test_every_byte_flipped(saved, tmp_path):
    """A byte flipped anywhere: a clean error, or (in bytes the reader ignores) the same run."""
    data = saved.read_bytes()
    good = History.load(saved)
    for i in range(0, len(data), 7):
        flipped = bytearray(data)
        flipped[i] ^= 0xFF
        p = tmp_path / f"flip{i}.npz"
        p.write_bytes(bytes(flipped))
        for read in (History.load, load_params):
            try:
                out = read(p)
            except InputError:
                continue
            params = out if isinstance(out, dict) else out.params
            assert np.array_equal(params["W1"], good.params["W1"])


@pytest.mark.parametrize("meta", [
    "not json",
    json.dumps([1, 2, 3]),
    json.dumps({"best_epoch": 0}),
    json.dumps({"best_epoch": "two", "diverged": False, "reason": "", "stopped_early": False, "interrupted": False,
                "optimizer": "", "batch_size": None, "seed": 0, "seconds": 0.0}),
    json.dumps({"best_epoch": 0, "diverged": "no", "reason": "", "stopped_early": False, "interrupted": False,
                "optimizer": "", "batch_size": None, "seed": 0, "seconds": 0.0}),
    json.dumps({"best_epoch": 0, "diverged": False, "reason": "", "stopped_early": False, "interrupted": False,
                "optimizer": "", "batch_size": 0, "seed": -3, "seconds": 0.0}),
    json.dumps({"best_epoch": 9, "diverged": False, "reason": "", "stopped_early": False, "interrupted": False,
                "optimizer": "", "batch_size": None, "seed": 0, "seconds": 0.0}),
    json.dumps({"best_epoch": 0, "diverged": False, "reason": "", "stopped_early": False, "interrupted": False,
                "optimizer": "", "batch_size": None, "seed": 0, "seconds": 0.0, "optimizer_meta": {"t": "x"}}),
])
def test_garbage_metadata(tmp_path, meta):
    p = tmp_path / "bad.npz"
    np.savez(p, meta=np.array(meta), losses=np.ones(2), **{"param/W1": np.ones((2, 1))})
    _both_refuse(p, "is damaged")


def test_garbage_arrays(tmp_path):
    p = tmp_path / "bad.npz"
    good_meta = json.dumps({"best_epoch": 0, "diverged": False, "reason": "", "stopped_early": False,
                            "interrupted": False, "optimizer": "", "batch_size": None, "seed": 0, "seconds": 0.0})
    np.savez(p, meta=np.array(good_meta), losses=np.ones(2), **{"param/W1": np.array(["a", "b"])})
    _both_refuse(p, "not an array of numbers")
    np.savez(p, meta=np.array(good_meta), losses=np.ones((2, 2)), **{"param/W1": np.ones(2)})
    _both_refuse(p, "'losses' is not a list of numbers")
    np.savez(p, plain=np.array(["text"]))
    with pytest.raises(InputError, match="not an array of numbers"):
        load_params(p)


def test_pickles_stay_refused(tmp_path):
    p = tmp_path / "pickled.npz"
    np.savez(p, **{"param/W1": np.array([object()], dtype=object)})
    _both_refuse(p, "pickled Python objects")


def test_not_an_npz(tmp_path):
    p = tmp_path / "one.npy"
    np.save(p, np.ones(3))
    _both_refuse(p, "not an .npz file")
    p = tmp_path / "text.npz"
    p.write_text("hello\n" * 100)
    _both_refuse(p, "not an .npz file")


def test_zip_bomb_refused(tmp_path):
    p = tmp_path / "bomb.npz"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("big.npy", "w", force_zip64=True) as fh:
            chunk = b"\0" * 2**20
            for _ in range(64):
                fh.write(chunk)
    with limits(memory=16 * 2**20):
        with pytest.raises(LimitError) as err:
            load_params(p)
    assert err.value.limit == "memory"


def test_a_good_file_still_loads(saved):
    h = History.load(saved)
    assert h.losses == (1.0, 0.5) and h.best_epoch == 2 and h.optimizer_state["kind"] == "Adam"
    assert math.isnan(h.start_loss)
    assert load_params(saved)["W1"].shape == (2, 1)


def test_interrupted_save_leaves_no_partial_file(tmp_path, monkeypatch):
    h = History(losses=(1.0,), params={"w": np.ones(3)})
    target = h.save(tmp_path / "run.npz")
    before = target.read_bytes()

    def broken(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(KeyboardInterrupt):
        History(losses=(2.0,), params={"w": np.zeros(3)}).save(target)
    assert target.read_bytes() == before
    assert sorted(q.name for q in tmp_path.iterdir()) == ["run.npz"]


# ---------------------------------------------------------------- divergence without overflow

@pytest.fixture(scope="module")
def digits_split():
    from derivkit.training.datasets import load, train_test_split

    return train_test_split(load("digits"), test=0.2, seed=0)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("optimizer", ["gd", "adam"])
def test_learning_rate_100_stops_as_diverged(digits_split, activation, optimizer):
    from derivkit import nn
    from derivkit.training.optim import make_optimizer

    tr, te = digits_split
    net = nn.mlp([64, 32, 10], activation=activation, loss="softmax_cross_entropy").compile()
    h = train(net, tr, make_optimizer(optimizer, lr=100), epochs=50, validation=te)
    assert h.diverged and h.epochs < 50
    assert "the training loss" in h.reason and "learning rate (100)" in h.reason
    assert len(h.losses) == len(h.val_losses) == h.epochs and all(math.isfinite(v) for v in h.losses)
    assert max(h.losses) >= 10 * h.start_loss


def test_ordinary_training_is_not_flagged(digits_split):
    from derivkit import nn
    from derivkit.training.optim import Adam

    tr, te = digits_split
    net = nn.mlp([64, 32, 10], activation="relu", loss="softmax_cross_entropy").compile()
    h = train(net, tr, Adam(0.1), epochs=30, batch_size=32, validation=te)  # noisy, but learning
    assert not h.diverged and h.epochs == 30


def test_divergence_rule():
    rule = Divergence(factor=10, window=3)
    assert rule.reason(1.0, [0.5, 0.4, 0.3]) is None
    assert rule.reason(1.0, [0.5, 0.4, 4.5]) is not None  # grew 11-fold from 0.4 within the window
    assert rule.reason(1.0, [0.01, 0.5, 0.9]) is None  # grew 90-fold, but still below the start
    assert rule.reason(1.0, [0.1, 0.5, 0.6, 1.2, 1.3]) is None  # over the start, not 10x the window's low
    slow = [0.1, 0.3, 0.9, 1.1, 1.2, 1.3]  # creeps up: 11x its best for 3 epochs running
    assert "stayed over 10 times its best" in rule.reason(1.0, slow)
    assert rule.reason(1.0, [0.1, 0.5, 0.6, 1.1, 1.2]) is None  # 11x best and over the start: only 2 epochs
    with pytest.raises(InputError):
        Divergence(factor=1)
    with pytest.raises(InputError):
        Divergence(window=0)


def test_divergence_can_be_turned_off():
    from derivkit import nn
    from derivkit.training.datasets import regression

    net = nn.mlp([1, 1], activation="identity", output="identity", loss="mse").compile()
    params = {"W1": [[0.0]], "b1": [[0.0]]}
    on = train(net, regression(), "gd", lr=0.2, epochs=100, params=params)
    off = train(net, regression(), "gd", lr=0.2, epochs=100, params=params, divergence=None)
    assert on.diverged and on.epochs < 5
    assert off.diverged and off.epochs > on.epochs and "infinite" in off.reason or off.epochs == 100


def test_resumed_run_keeps_its_start_loss(tmp_path):
    from derivkit import nn
    from derivkit.training.datasets import regression

    net = nn.mlp([1, 1], activation="identity", output="identity", loss="mse").compile()
    h = train(net, regression(), "gd", lr=0.01, epochs=3, params={"W1": [[0.0]], "b1": [[0.0]]})
    again = History.load(h.save(tmp_path / "r.npz"))
    assert again.start_loss == h.start_loss == pytest.approx(sum((y) ** 2 for y in (3, 4, 5, 6)) / 4)
    more = train(net, regression(), "gd", lr=0.01, epochs=2, resume=again)
    assert more.start_loss == h.start_loss and more.epochs == 5


# ---------------------------------------------------------------- every error is derivkit's

@pytest.mark.parametrize("call", [
    lambda: check("x^2", "2x", "x", at={"x": "nan"}),
    lambda: parse("1e5e5"),
    lambda: parse("log(x, 0)"),
    lambda: descend("x^2", "x", 1, 0.1, 10**9),
    lambda: hessian("*".join(f"x{i}" for i in range(80)), ",".join(f"x{i}" for i in range(80))),
    lambda: History.load("/proc/version"),
])
def test_refusals_are_derivkit_errors(call):
    with pytest.raises(DerivkitError):
        call()


# ---------------------------------------------------------------- found by the hostile campaign

@pytest.mark.parametrize("text", ["|(tanh((b)^100000))+((0.5) (x))|", "abs(tanh(b^100000))", "sinh(x^1000) + 1"])
def test_large_power_inside_a_hyperbolic_function_refused(text):
    # SymPy expands (re + i im)^n to decide whether tanh(b^n) is real: minutes at n = 200
    with pytest.raises(ParseError, match="x\\^n within a hyperbolic function takes \\|n\\| <= 32"):
        parse(text)
    assert parse("tanh(x^32)") == sympy.tanh(x**32)


@pytest.mark.parametrize("text", ["tan(sinh(e^(10^10)))", "gamma(tan(sinh^2((e)^(10^10))))"])
def test_function_of_a_number_out_of_reach_refused(text):
    # tan(c) checks whether c is a multiple of pi, numerically: with c = sinh(e^(10^10)), forever
    with pytest.raises(ParseLimitError) as err:
        parse(text)
    assert err.value.limit == "digits" and "too large to compute with" in str(err.value)


@pytest.mark.parametrize("claim", [
    "max((e)^(10^10), (x)/(1), x)x",  # the ratio to the right answer is 10^4342944818
    "(y)+(gamma(777777777777777777777777777777777777777log27777777777))",  # gamma of a 40-digit integer
    "asin(ln((f(b))^(10^10)))",  # no number at any point: an unknown f
    "((y)^(x))^(10^10)",  # y^(10^10 x): a power of billions of digits at every point
])
def test_claims_found_by_the_campaign_answer(claim):
    v = check("x^2", claim, "x")
    assert v.ok is False


def test_value_of_an_unknown_function_is_no_point():
    with pytest.raises(InputError, match="value of x must be a number, not f\\(1\\)"):
        hessian("x*y", "x, y").at(x="f(1)", y=-1)
    with pytest.raises(InputError, match="must be a number"):
        check("x^2", "2x", "x", at={"x": "g(pi)/3"})


def test_gamma_at_a_point_is_evaluated_in_reach():
    from derivkit.magnitude import how_to_evaluate

    assert how_to_evaluate(sympy.gamma(x), {x: sympy.Integer(20)}) == "exact"
    assert how_to_evaluate(sympy.gamma(x), {x: sympy.Integer(10**6)}) == "float"  # 5.5 million digits
    assert how_to_evaluate(sympy.gamma(x), {x: sympy.Integer(10**30)}) is None


@pytest.mark.parametrize("f", ["|x^100000|", "|sqrt(3x(sigma)^100000)|"])
def test_check_of_a_large_power_under_an_absolute_value(f):
    # redoing a mistake differentiates |u| through re(u) and im(u): (re + i im)^100000, expanded
    v = check(f, "0", "x")
    assert v.ok is False and v.counterexample is not None


# ---------------------------------------------------------------- found by the hostile campaign


def test_a_tower_of_constants_parses_at_once():
    # SymPy would evaluate the sign of e^(e^(e^99)) to unbounded precision to simplify the power
    for text in ("e**e**-2**e**e**e**99", "-2^e^e^e^99", "(1/3)^e^e^e^99"):
        with limits(seconds=5):
            value = parse(text)
        assert value.is_number and not value.free_symbols


def test_check_with_a_variable_exponent_of_many_digits_at_the_test_points_answers():
    # (1/x1)^(3 x10^10) at x10 = p/q is a root of order q^10: evaluated in floating point
    with limits(seconds=20):
        v = check("x^2", "((x1)^-1)^(3x10^10)", "x")
    assert v.ok is False
