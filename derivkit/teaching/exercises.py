"""Exercise sheets: seeded problems for every topic of the course, each solved by derivkit.

:func:`exercises` draws ``count`` problems of one topic; with ``level=None`` the
sheet is graded, from level 1 (one rule, small numbers) through level 2 (two
rules together) to level 3 (what a test's last question asks). The same
``seed`` gives the same sheet. Every solution is derivkit's own working: a
:class:`~derivkit.calculus.derivation.Derivation` (step by step, each rule
named), a gradient, Jacobian or Hessian, a chain worked at a point, a descent
table, or the backpropagation of a small network (``nn.mlp(...).backprop()``).

:func:`sheet` lays the exercises out as a teacher hands them out: the problems
first, then the worked solutions; its LaTeX is a whole document that compiles
with pdflatex.

>>> ex = exercises("chain", count=3, seed=1)
>>> [e.level for e in ex]
[1, 2, 3]
>>> ex[0].prompt
'Differentiate f(x) = sin(2x) with respect to x.'
>>> ex[0].answer
2*cos(2*x)
>>> exercises("chain", count=3, seed=1)[2].problem == ex[2].problem
True
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable

import sympy

from derivkit.errors import InputError
from derivkit.notation import expr_latex, expr_text
from derivkit.parsing import parse
from derivkit.renderable import Count, Renderable, brief_repr

__all__ = ["exercises", "sheet", "Exercise", "ExerciseSheet", "TOPICS", "LEVELS", "MAX_COUNT"]

from derivkit.teaching.topics import LEVELS, TOPICS  # noqa: E402  (re-exported)
#: Most exercises in one call.
MAX_COUNT = 100

_TITLES = {
    "power": "The power rule", "product": "The product rule", "quotient": "The quotient rule",
    "chain": "The chain rule", "exp_log": "Exponentials and logarithms", "trig": "Trigonometric functions",
    "activations": "Activation functions", "losses": "Loss functions", "gradient": "Gradients",
    "jacobian": "Jacobians", "hessian": "Hessians", "chain_table": "The chain rule at a point",
    "descent": "Gradient descent by hand", "backprop": "Backpropagation",
}


@dataclass(frozen=True)
class Exercise(Renderable):
    """One problem and its worked solution.

    ``problem`` is what is given (an expression, the functions of a Jacobian, the
    equations of a chain, a descent's function, or a network); ``prompt`` and
    ``prompt_latex`` the question in words; ``solution`` derivkit's working; ``answer``
    the short answer (an expression, a matrix, a number, a point, or the gradients).
    """

    topic: str
    level: int
    number: int
    prompt: str
    prompt_latex: str
    problem: Any
    solution: Any
    answer: Any

    def __repr__(self) -> str:
        return brief_repr(self, topic=self.topic, level=self.level, number=self.number, prompt=self.prompt)

    def to_dict(self) -> dict[str, Any]:
        answer = self.answer
        if isinstance(answer, dict):
            answer = {str(k): str(v) for k, v in answer.items()}
        elif isinstance(answer, tuple):
            answer = [str(a) for a in answer]
        else:
            answer = str(answer)
        return {"topic": self.topic, "level": self.level, "number": self.number, "prompt": self.prompt,
                "prompt_latex": self.prompt_latex, "problem": str(self.problem), "answer": answer,
                "solution": self.solution.to_dict()}


@dataclass(frozen=True)
class ExerciseSheet(Renderable):
    """Exercises laid out as a sheet: problems first, then the worked solutions."""

    exercises: tuple[Exercise, ...]
    title: str

    def __repr__(self) -> str:
        return brief_repr(self, title=self.title, exercises=Count.of(len(self.exercises), "exercise"))

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "exercises": [e.to_dict() for e in self.exercises]}


# ------------------------------------------------------------------ drawing numbers


class _Draw:
    """The random choices of one exercise (a seeded :class:`random.Random`)."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def int(self, lo: int, hi: int, *, nonzero: bool = True) -> int:
        while True:
            v = self.rng.randint(lo, hi)
            if v or not nonzero:
                return v

    def pick(self, items):
        return self.rng.choice(list(items))

    def sign(self) -> str:
        return self.pick(["+", "-"])


def _poly(d: _Draw, degree: int, var: str = "x", terms: int = 3) -> str:
    powers = sorted(d.rng.sample(range(0, degree + 1), k=min(terms, degree + 1)), reverse=True)
    if powers[0] != degree:
        powers[0] = degree
    parts = []
    for p in powers:
        c = d.int(-9, 9)
        parts.append(f"{c}" if p == 0 else f"{c}{var}" if p == 1 else f"{c}{var}^{p}")
    return " + ".join(parts).replace("+ -", "- ")


# ------------------------------------------------------------------ the topics: (prompt, problem, solve)

Made = tuple[str, str, Any, Callable[[], Any], Callable[[Any], Any]]


def _derivative(text: str, var: str = "x") -> Made:
    from derivkit.calculus.steps import derive

    expr = parse(text)
    x = next((s for s in expr.free_symbols if s.name == var), sympy.Symbol(var))
    f = f"f({var})" if len(expr.free_symbols - {x}) == 0 else "L"
    prompt = f"Differentiate {f} = {expr_text(expr)} with respect to {var}."
    prompt_latex = rf"Differentiate ${f} = {expr_latex(expr)}$ with respect to ${expr_latex(x)}$."
    return prompt, prompt_latex, expr, lambda: derive(expr, x), lambda s: s.result


def _power(d: _Draw, level: int) -> Made:
    if level == 1:
        return _derivative(_poly(d, d.int(2, 5), terms=3))
    if level == 2:
        a, k, c = d.int(2, 9), d.int(1, 3), d.int(2, 8)
        return _derivative(f"{d.int(1, 6)}x^{d.int(2, 5)} {d.sign()} {a}/x^{k} + {c}sqrt(x)")
    p, q = d.pick([(1, 3), (2, 3), (3, 2), (5, 2), (1, 4)])
    return _derivative(f"{d.int(2, 9)}x^({p}/{q}) - {d.int(1, 9)}/x^({d.int(1, 3)}/2) + {d.int(1, 5)}x^{d.int(2, 4)}")


def _product(d: _Draw, level: int) -> Made:
    n = d.int(2, 4)
    if level == 1:
        return _derivative(d.pick([f"x^{n} sin(x)", f"x^{n} e^x", f"x^{n} cos(x)", f"({d.int(1, 5)}x + {d.int(1, 9)})(x^2 - {d.int(1, 9)})"]))
    if level == 2:
        k = d.int(2, 5)
        return _derivative(d.pick([f"(x^2 + {d.int(1, 9)}) ln(x)", f"x^{n} cos({k}x)", f"x e^({k}x)", "sqrt(x) sin(x)"]))
    return _derivative(d.pick(["x e^x sin(x)", f"x^{n} e^x ln(x)", f"(x + {d.int(1, 5)}) e^x cos(x)"]))


def _quotient(d: _Draw, level: int) -> Made:
    a, b, c, e = (d.int(1, 9) for _ in range(4))
    if level == 1:
        return _derivative(f"({a}x + {b})/({c}x - {e})")
    if level == 2:
        return _derivative(d.pick([f"(x^2 + {a})/(x - {b})", "sin(x)/x", f"x/(x^2 + {a})", "cos(x)/(1 + sin(x))"]))
    return _derivative(d.pick(["e^x/(1 + x^2)", f"ln(x)/x^{d.int(2, 3)}", f"(x^2 - {a})/(x^2 + {b})"]))


def _chain(d: _Draw, level: int) -> Made:
    a, b, n = d.int(2, 6), d.int(1, 9), d.int(2, 5)
    if level == 1:
        return _derivative(d.pick([f"({a}x - {b})^{n}", f"sin({a}x)", f"({a}x + {b})^{n}"]))
    if level == 2:
        return _derivative(d.pick([f"e^({a}x^2 + {b})", f"sqrt({a}x^2 + {b})", f"ln({a}x^2 + {b})", f"cos(x^{n})"]))
    c, e = d.int(2, 4), d.int(1, 3)
    return _derivative(d.pick([f"{c}({a}x^2 - {e})^2 - {b}({a}x^2 - {e}) + {d.int(1, 9)}", f"sin(e^({a}x))",
                               f"(x^2 + {b})^{n} e^(-x)"]))


def _exp_log(d: _Draw, level: int) -> Made:
    a, k = d.int(2, 9), d.int(2, 5)
    if level == 1:
        return _derivative(d.pick([f"{a}e^({k}x)", f"ln({k}x)", f"{a}e^x - ln(x)"]))
    if level == 2:
        return _derivative(d.pick(["x ln(x)", f"{k}^x", f"log(x, {k})", f"x^2 e^(-{k}x)"]))
    return _derivative(d.pick(["e^x ln(x^2 + 1)", "x^x", f"ln(ln({k}x))"]))


def _trig(d: _Draw, level: int) -> Made:
    a, b, k = d.int(2, 9), d.int(2, 9), d.int(2, 5)
    if level == 1:
        return _derivative(f"{a}sin(x) {d.sign()} {b}cos(x)")
    if level == 2:
        return _derivative(d.pick([f"tan({k}x)", "sin(x) cos(x)", f"sec(x) + {a}csc(x)", f"sin(x)^{k}"]))
    return _derivative(d.pick(["cos(x)/(1 + sin(x))", f"asin({k}x)", "atan(x^2)", "x^2 sin(x)"]))


def _activations(d: _Draw, level: int) -> Made:
    a, b = d.int(2, 5), d.int(1, 5)
    if level == 1:
        return _derivative(d.pick(["sigmoid(x)", "tanh(x)", "softplus(x)", "relu(x)"]))
    if level == 2:
        return _derivative(d.pick([f"sigmoid({a}x + {b})", f"tanh({a}x)^2", f"softplus({a}x)", "1/(1 + e^(-x))"]))
    return _derivative(d.pick(["ln(sigmoid(x))", "log(1 + e^x)", f"x sigmoid({a}x)", f"max(0, {a}x - {b})"]))


def _losses(d: _Draw, level: int) -> Made:
    if level == 1:
        return _derivative(d.pick(["(y - s)^2", "abs(y - s)"]), "s")
    if level == 2:
        return _derivative(d.pick(["(y - (w x + b))^2", "(w x + b - y)^2"]), d.pick(["w", "b"]))
    text, var = d.pick([("-y ln(sigmoid(z)) - (1 - y) ln(1 - sigmoid(z))", "z"), ("max(0, 1 - y s)", "s")])
    return _derivative(text, var)


def _several(kind: str, texts: list[str], names: str, point: dict | None) -> Made:
    from derivkit.calculus.several import gradient, hessian, jacobian

    exprs = [parse(t) for t in texts]
    syms = ", ".join(names.split(","))
    fn = {"gradient": gradient, "hessian": hessian, "jacobian": jacobian}[kind]
    arg = exprs if kind == "jacobian" else exprs[0]
    where = ""
    where_l = ""
    if point:
        where = " and evaluate it at " + ", ".join(f"{k} = {v}" for k, v in point.items())
        where_l = " and evaluate it at $" + ", ".join(f"{expr_latex(sympy.Symbol(k))} = {v}" for k, v in point.items()) + "$"
    if kind == "jacobian":
        shown = "(" + ", ".join(expr_text(e) for e in exprs) + ")"
        shown_l = r"\left(" + ", ".join(expr_latex(e) for e in exprs) + r"\right)"
        prompt = f"Find the Jacobian of f({syms}) = {shown}{where}."
        prompt_l = rf"Find the Jacobian of $f = {shown_l}$ with respect to $({syms})${where_l}."
    else:
        word = "gradient" if kind == "gradient" else "Hessian"
        prompt = f"Find the {word} of f({syms}) = {expr_text(exprs[0])}{where}."
        prompt_l = rf"Find the {word} of $f({syms}) = {expr_latex(exprs[0])}${where_l}."

    def solve():
        m = fn(arg, names)
        return m.worked_at(**point) if point else m

    return prompt, prompt_l, tuple(exprs) if kind == "jacobian" else exprs[0], solve, \
        lambda s: getattr(s, "value", None) if point else s.result


def _gradient(d: _Draw, level: int) -> Made:
    a, b, c = d.int(2, 6), d.int(1, 5), d.int(1, 9)
    if level == 1:
        return _several("gradient", [f"{a}x1^2 + {b}x1 x2 - {c}x2^2"], "x1,x2", None)
    if level == 2:
        return _several("gradient", [f"x1^{d.int(2, 3)} x2 + {a}sin(x2)"], "x1,x2", {"x1": d.int(-2, 2, nonzero=False), "x2": 0})
    return _several("gradient", [f"e^(x1 x2) + {a}x1 x3^2 - x2 x3"], "x1,x2,x3", {"x1": 0, "x2": d.int(1, 3), "x3": 1})


def _jacobian(d: _Draw, level: int) -> Made:
    a, b, c = d.int(2, 5), d.int(1, 5), d.int(1, 5)
    if level == 1:
        return _several("jacobian", [f"{a}x1 + x2^2", f"-x1^2 + {b}x2"], "x1,x2", None)
    if level == 2:
        return _several("jacobian", [f"{a}x1 + x2^2", f"-x1^2 + {b}x2", f"{c}x1 x2"], "x1,x2", {"x1": 2, "x2": 1})
    return _several("jacobian", [f"x1/({a}x1 x2 + 1)", f"x2/({a}x1 x2 + 1)"], "x1,x2", {"x1": 1, "x2": 1})


def _hessian(d: _Draw, level: int) -> Made:
    a, b, c = d.int(2, 6), d.int(1, 5), d.int(1, 9)
    if level == 1:
        return _several("hessian", [f"{a}x1^2 + {b}x1 x2 + {c}x2^2"], "x1,x2", None)
    if level == 2:
        return _several("hessian", [f"x1^3 x2 - {a}x1 x2^2 + x2^{d.int(3, 4)}"], "x1,x2", {"x1": 1, "x2": d.int(-2, 2)})
    return _several("hessian", ["(4 - 2.1x1^2 + x1^4/3)x1^2 + x1 x2 + (-4 + 4x2^2)x2^2"], "x1,x2", {"x1": 0, "x2": 1}) \
        if d.rng.random() < 0.5 else _several("hessian", [f"e^(x1) sin(x2) + {a}x1^2 x2"], "x1,x2", {"x1": 0, "x2": 0})


def _chain_table(d: _Draw, level: int) -> Made:
    from derivkit.calculus.chains import chain

    a, b, k, n = d.int(2, 5), d.int(1, 4), d.int(1, 3), d.int(2, 3)
    if level == 1:
        eqs = {"y": f"{a}x - {b}", "z": f"y^{n}"}
    elif level == 2:
        eqs = {"x": f"{a}v - {b}", "y": f"{d.int(2, 4)}x - {d.int(1, 3)}", "z": "y^2"}
    else:
        eqs = {"error": f"{a}w - {b}", "loss": "error^2"}
    var = {1: "x", 2: "v", 3: "w"}[level]
    names = list(eqs)
    shown = ", ".join(f"{n_} = {expr_text(parse(t))}" for n_, t in eqs.items())
    shown_l = r",\ ".join(f"{expr_latex(sympy.Symbol(n_))} = {expr_latex(parse(t))}" for n_, t in eqs.items())
    prompt = f"With {shown}, find d{names[-1]}/d{var} by the chain rule and work it at {var} = {k}."
    prompt_l = (rf"With ${shown_l}$, find $\frac{{d\,{expr_latex(sympy.Symbol(names[-1]))}}}{{d{var}}}$ by the "
                rf"chain rule and work it at ${var} = {k}$.")
    return prompt, prompt_l, eqs, lambda: chain(eqs, var).at(**{var: k}), lambda s: s.result


def _descent(d: _Draw, level: int) -> Made:
    from derivkit.training.descend import descend

    a, b, c = d.int(2, 6), d.int(1, 5), d.int(1, 5)
    start = d.int(2, 5)
    start_v: Any
    if level == 3:
        f, wrt, start_v, lr, mom = f"x^2 + {a}y^2", "x,y", {"x": start, "y": 1}, "0.1", "0"
    else:
        f, wrt, start_v = f"{a}b^2 - {b}b + {c}", "b", start
        lr = d.pick(["0.01", "0.05", "0.1"])
        mom = "0.5" if level == 2 else "0"
    expr = parse(f)
    extra = f" and momentum eta = {mom}" if mom != "0" else ""
    extra_l = rf" and momentum $\eta = {mom}$" if mom != "0" else ""
    st = ", ".join(f"{k} = {v}" for k, v in start_v.items()) if isinstance(start_v, dict) else f"b = {start_v}"
    prompt = f"Minimise f({wrt}) = {expr_text(expr)} by gradient descent from {st} with alpha = {lr}{extra}: three steps."
    prompt_l = (rf"Minimise $f({wrt}) = {expr_latex(expr)}$ by gradient descent from ${st}$ with "
                rf"$\alpha = {lr}${extra_l}: three steps.")
    return prompt, prompt_l, expr, lambda: descend(expr, wrt, start_v, lr, 3, momentum=mom), lambda s: s.final


def _backprop(d: _Draw, level: int) -> Made:
    from derivkit import nn

    hidden = d.int(2, 3)
    activation = {1: "sigmoid", 2: d.pick(["sigmoid", "tanh"]), 3: d.pick(["relu", "tanh", "sigmoid"])}[level]
    bias = level == 3
    loss = "mse" if level < 3 else d.pick(["mse", "bce"])
    sizes = [2, hidden, 1]
    with_bias = "with biases" if bias else "without biases"
    prompt = (f"A network {'-'.join(map(str, sizes))} ({activation} hidden layer, {with_bias}, loss {loss.upper()}): "
              f"derive the gradients of the loss for every weight matrix.")
    prompt_l = (rf"A network ${'-'.join(map(str, sizes))}$ ({activation} hidden layer, {with_bias}, loss "
                rf"{loss.upper()}): derive the gradients of the loss for every weight matrix.")
    graph = nn.mlp(sizes, activation=activation, loss=loss, bias=bias)
    return prompt, prompt_l, graph, graph.backprop, lambda s: dict(s.gradients)


_MAKERS: dict[str, Callable[[_Draw, int], Made]] = {
    "power": _power, "product": _product, "quotient": _quotient, "chain": _chain, "exp_log": _exp_log,
    "trig": _trig, "activations": _activations, "losses": _losses, "gradient": _gradient, "jacobian": _jacobian,
    "hessian": _hessian, "chain_table": _chain_table, "descent": _descent, "backprop": _backprop,
}


def _levels(count: int, level: int | None) -> list[int]:
    if level is not None:
        return [level] * count
    return [1 + (3 * i) // count for i in range(count)]


def exercises(topic: str, count: int = 10, seed: int = 0, level: int | None = None) -> tuple[Exercise, ...]:
    """``count`` exercises on ``topic`` (one of :data:`TOPICS`), graded by level unless ``level`` is given.

    The same ``seed`` gives the same exercises; problems do not repeat within a sheet
    when the topic has enough of them.

    >>> [e.topic for e in exercises("descent", count=2)]
    ['descent', 'descent']
    >>> exercises("calculus")
    Traceback (most recent call last):
    ...
    derivkit.errors.InputError: unknown topic 'calculus'; choose one of power, product, quotient, chain, exp_log, trig, activations, losses, gradient, jacobian, hessian, chain_table, descent, backprop
    """
    key = topic.strip().lower().replace("-", "_") if isinstance(topic, str) else topic
    if key not in _MAKERS:
        raise InputError(f"unknown topic {topic!r}; choose one of {', '.join(TOPICS)}")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise InputError(f"the number of exercises must be a whole number from 1 to {MAX_COUNT}, not {count!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(f"the seed must be a whole number, not {seed!r}")
    if level is not None and level not in LEVELS:
        raise InputError(f"the level must be 1, 2 or 3, not {level!r}")
    out: list[Exercise] = []
    seen: set = set()
    for i, lv in enumerate(_levels(count, level)):
        for attempt in range(12):
            rng = random.Random(f"{key}:{seed}:{i}:{attempt}")
            prompt, prompt_l, problem, solve, answer = _MAKERS[key](_Draw(rng), lv)
            if prompt not in seen:
                break
        seen.add(prompt)
        solution = solve()
        out.append(Exercise(topic=key, level=lv, number=i + 1, prompt=prompt, prompt_latex=prompt_l,
                            problem=problem, solution=solution, answer=answer(solution)))
    return tuple(out)


def sheet(items: Any, title: str | None = None) -> ExerciseSheet:
    """The exercises as a sheet (problems first, then worked solutions); ``items`` from :func:`exercises`.

    >>> s = sheet(exercises("power", count=2))
    >>> s.title, len(s.exercises)
    ('The power rule: exercises', 2)
    """
    items = tuple(items)
    if not items or not all(isinstance(e, Exercise) for e in items):
        raise InputError("a sheet needs exercises (from derivkit.exercises)")
    if title is None:
        topics = list(dict.fromkeys(e.topic for e in items))
        title = (_TITLES[topics[0]] if len(topics) == 1 else "Derivatives") + ": exercises"
    return ExerciseSheet(exercises=items, title=title)
