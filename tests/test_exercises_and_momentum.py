"""Exercise sheets, the descent exercise's minimum and question 4 (where momentum helps), and the CLI."""

from __future__ import annotations

import contextlib
import io
import json

import sympy
import pytest

from derivkit import compare_momentum, descend, exercises, sheet
from derivkit.calculus.chains import ChainAt
from derivkit.calculus.derivation import Derivation
from derivkit.calculus.several import MatrixAt, MatrixDerivation
from derivkit.cli import main
from derivkit.errors import InputError
from derivkit.teaching.exercises import TOPICS
from derivkit.training.descend import Descent

F = "5*b**2 - 3*b + 2"


# ---------------------------------------------------------------- descent


def test_the_minimum_b_is_stated_and_f_prime_zero_is_noticed():
    d = descend(F, "b", start=4, lr="0.1", steps=3)
    assert [r.point for r in d.rows] == [sympy.Rational(3, 10)] * 3
    assert d.stationary_at == 1 and d.minimum == sympy.Rational(3, 10)
    text = d.to_text()
    assert "The minimum of f is at b = 0.3" in text and "f' = 0 at b1 = 0.3: the minimum" in text
    slow = descend(F, "b", start=4, lr="0.01", steps=3)
    assert slow.stationary_at is None and slow.minimum == sympy.Rational(3, 10)


def test_question_4_momentum_helps_only_where_the_steps_are_small_and_alike():
    verdicts = {lr: compare_momentum(F, "b", start=4, lr=lr, steps=3, momentum="0.9").verdict
                for lr in ("1", "0.01", "0.1")}
    assert verdicts == {"1": "no_help", "0.01": "accelerated", "0.1": "no_help"}
    c = compare_momentum(F, "b", start=4, lr="0.01", steps=3, momentum="0.9")
    # b2 = 3.63 - 0.01·33.3 + 0.9·(-0.37) = 2.964, b3 = 2.964 - 0.01·26.64 + 0.9·(-0.666) = 2.0982
    assert [r.point for r in c.momentum.rows] == [sympy.Rational(363, 100), sympy.Rational(2964, 1000),
                                                 sympy.Rational(20982, 10000)]
    assert "Momentum helped" in c.sentence and "same way" in c.sentence
    assert "diverge" in compare_momentum(F, "b", start=4, lr=1, steps=3).sentence
    assert "reaches the minimum" in compare_momentum(F, "b", start=4, lr="0.1", steps=3).sentence


def test_momentum_damps_an_oscillation():
    c = compare_momentum(F, "b", start=4, lr="0.19", steps=10, momentum="0.5")
    steps = [float(r.step) for r in c.plain.rows]
    assert all(a * b < 0 for a, b in zip(steps, steps[1:]))  # plain descent swings across b = 0.3
    assert c.verdict == "damped" and "damps the oscillation" in c.sentence
    assert abs(float(c.momentum.final) - 0.3) < abs(float(c.plain.final) - 0.3)


# ---------------------------------------------------------------- exercises

SOLUTION_TYPES = {
    "gradient": (MatrixDerivation, MatrixAt), "jacobian": (MatrixDerivation, MatrixAt),
    "hessian": (MatrixDerivation, MatrixAt), "chain_table": (ChainAt,), "descent": (Descent,),
}


@pytest.mark.parametrize("topic", TOPICS)
def test_every_topic_gives_graded_seeded_solved_exercises(topic):
    ex = exercises(topic, count=6, seed=3)
    assert [e.level for e in ex] == [1, 1, 2, 2, 3, 3]
    assert [e.prompt for e in ex] == [e.prompt for e in exercises(topic, count=6, seed=3)]
    assert len({e.prompt for e in ex}) >= 4
    if topic == "backprop":
        assert all(set(e.answer) == {"W1", "W2"} or set(e.answer) >= {"W1", "W2", "b1", "b2"} for e in ex)
    else:
        kinds = SOLUTION_TYPES.get(topic, (Derivation,))
        assert all(isinstance(e.solution, kinds) for e in ex)
    json.dumps([e.to_dict() for e in ex])


def test_derivation_exercises_are_right():
    for topic in ("power", "product", "quotient", "chain", "exp_log", "trig", "activations", "losses"):
        for e in exercises(topic, count=6, seed=5):
            d = e.solution
            assert sympy.simplify(sympy.diff(d.expr, d.wrt) - d.result).is_zero is not False, e.prompt


def test_levels_and_bad_requests():
    assert {e.level for e in exercises("power", count=4, level=3)} == {3}
    with pytest.raises(InputError, match="unknown topic"):
        exercises("integrals")
    with pytest.raises(InputError, match="1 to 100"):
        exercises("power", count=0)
    with pytest.raises(InputError, match="level"):
        exercises("power", level=4)


def test_a_sheet_has_the_problems_first_then_the_solutions():
    s = sheet(exercises("chain", count=3, seed=1))
    text = s.to_text()
    assert text.index("Problems") < text.index("Solutions")
    assert text.count("Differentiate f(x) = sin(2x)") == 2
    latex = s.to_latex()
    assert latex.startswith("\\documentclass") and "\\usepackage{amsmath}" in latex and latex.count("\\item") == 3
    md = s.to_markdown()
    assert md.index("**Problems**") < md.index("**Solutions**")


# ---------------------------------------------------------------- the command line


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(list(argv))
    return code, out.getvalue()


def test_cli_commands_of_the_teaching_features(tmp_path):
    assert _run("exercises", "--topic", "chain", "--count", "2", "--seed", "1")[0] == 0
    code, out = _run("rules", "--family", "activation")
    assert code == 0 and "softplus" in out
    code, out = _run("first-principles", "x^2", "--at", "x=3")
    assert code == 0 and "lim_(h→0) (h + 6) = 6" in out
    code, out = _run("tangent", "x^2", "--at", "3")
    assert code == 0 and "y = 6x - 9" in out
    code, out = _run("critical", "5b^2 - 3b + 2")
    assert code == 0 and "local minimum" in out and "3/10 = 0.3" in out
    code, out = _run("descend", F, "--wrt", "b", "--start", "4", "--lr", "0.01", "--compare-momentum", "0.9")
    assert code == 0 and "Momentum helped" in out
    code, out = _run("hessian", "(4 - 2.1 x1^2 + x1^4/3) x1^2 + x1 x2 + (-4 + 4 x2^2) x2^2", "--wrt", "x1,x2",
                     "--decimals")
    assert code == 0 and "25.2x1^2" in out
    assert _run("tangent", "abs(x)", "--at", "0")[0] == 2
    assert _run("rules", "--family", "nope")[0] == 2
    assert _run("first-principles", "tan(x)")[0] == 2
    pytest.importorskip("matplotlib")
    code, out = _run("plot", "x^3 - 3x", "--at", "x=2", "-o", str(tmp_path / "p.png"))
    assert code == 0 and (tmp_path / "p.png").exists()
