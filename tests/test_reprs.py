"""One-line reprs of the result objects, like SymPy's; the rich displays stay the renderers'."""

from __future__ import annotations

import numpy as np
import pytest

import derivkit as dk
from derivkit.render.derivation import evaluate_at
from derivkit.renderable import Count, Renderable, brief_repr, short
from derivkit.training.loop import History


def _examples():
    return {
        "derivation": dk.derive("sin(x^2)", "x"),
        "third derivative": dk.derive("x^5*exp(x)", "x", order=3),
        "step": dk.derive("sin(x^2)", "x").steps,
        "derivation at": evaluate_at(dk.derive("sin(x^2)", "x"), x=1),
        "hessian": dk.hessian("x1^2*x2 + x2^3", "x1, x2"),
        "hessian at": dk.hessian("x1^2*x2 + x2^3", "x1, x2").worked_at(x1=1, x2=2),
        "jacobian": dk.jacobian(["x*y", "x + y", "sin(x)*y"], "x, y"),
        "chain": dk.chain({"y": "3*x - 2", "z": "y^2"}, "x"),
        "chain at": dk.chain({"y": "3*x - 2", "z": "y^2"}, "x").at(x=2),
        "verdict": dk.check("sin(x^2)", "cos(x^2)", "x"),
        "counterexample": dk.check("sin(x^2)", "cos(x^2)", "x").counterexample,
        "descent verdict": dk.check_descent("5*b**2 - 3*b + 2", "b", 4, 0.01, [3.63, 3.2]),
        "descent": dk.descend("5*b**2 - 3*b + 2", "b", start=4, lr=0.01, steps=3),
        "gradcheck": dk.gradcheck(lambda x: (x**2).sum(), lambda x: 3 * x, np.ones(3)),
        "history": History(
            losses=tuple(np.linspace(1, 0.01, 1000)), val_losses=tuple(np.linspace(1, 0.02, 1000)),
            metrics={"accuracy": tuple(np.linspace(0.1, 0.97, 1000))},
            params={"W1": np.ones((64, 32)), "b1": np.ones((1, 32))}, optimizer="Adam(lr=0.01)",
            optimizer_state={"kind": "Adam", "state": {"m": {"W1": np.ones((64, 32))}}},
        ),
        "rule": dk.RULES["sin"],
    }


EXAMPLES = _examples()


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_repr_is_one_short_line(name):
    text = repr(EXAMPLES[name])
    assert "\n" not in text and len(text) <= 200, text
    assert text.startswith(type(EXAMPLES[name]).__name__ + "(") and text.endswith(")")


@pytest.mark.parametrize("name", sorted(k for k, v in EXAMPLES.items() if isinstance(v, Renderable)))
def test_rich_displays_are_the_renderers(name):
    obj = EXAMPLES[name]
    assert obj._repr_markdown_() == obj.to_markdown()
    assert obj._repr_latex_() == "$$" + obj.to_latex() + "$$"
    assert str(obj) == obj.to_text() != repr(obj)


def test_reprs_by_hand():
    e = EXAMPLES
    assert repr(e["derivation"]) == "Derivation(expr=sin(x**2), wrt=x, result=2*x*cos(x**2), rules=('chain', 'sin', 'power'))"
    assert repr(e["step"]) == "Step(rule='chain', expr=sin(x**2), wrt=x, result=2*x*cos(x**2), substeps=<2 steps>)"
    assert repr(e["derivation at"]).endswith("at={x: 1}, value=2*cos(1))")
    assert repr(e["hessian"]) == ("MatrixDerivation(kind='hessian', exprs=(x1**2*x2 + x2**3,), wrt=(x1, x2), "
                                  "result=Matrix([[2*x2, 2*x1], [2*x1, 6*x2]]))")
    assert repr(e["hessian at"]) == "MatrixAt(kind='hessian', at={'x1': 1, 'x2': 2}, value=Matrix([[4, 2], [2, 12]]))"
    assert repr(e["chain"]) == "Chain(equations={y: 3*x - 2, z: y**2}, wrt=x, output=z, result=18*x - 12)"
    assert repr(e["chain at"]) == "ChainAt(values={'x': 2, 'y': 4, 'z': 16}, factors=(('dz/dy', 8), ('dy/dx', 3)), result=24)"
    assert repr(e["verdict"]) == ("Verdict(ok=False, kind='derivative', expected=2*x*cos(x**2), claimed=cos(x**2), "
                                  "diagnosis=('missing_chain_factor',))")
    assert repr(e["counterexample"]) == "Counterexample(point={'x': 0}, expected=0, claimed=1.0)"
    assert repr(e["descent"]) == ("Descent(f=5*b**2 - 3*b + 2, wrt=(b,), start=4, lr=1/100, momentum=0, steps=3, "
                                  "final=29973/10000)")
    assert repr(e["gradcheck"]) == ("GradcheckReport(ok=False, failed=3, total=3, reference='central differences', "
                                    "bad_params=('x',))")
    assert repr(e["history"]) == ("History(epochs=1000, final_loss=0.01, val_loss=0.02, accuracy=0.97, "
                                  "optimizer=Adam(lr=0.01), seconds=0.0)")
    assert repr(e["rule"]) == "Rule(id='sin', name='sine rule', text='d/dx sin(x) = cos(x)')"


def test_flags_appear_only_when_set():
    d = dk.descend("5*b**2 - 3*b + 2", "b", start=4, lr=1, steps=3)
    assert repr(d).endswith("diverged=True)")
    h = History(losses=(1.0, float("nan")), diverged=True, stopped_early=False)
    assert repr(h) == "History(epochs=2, final_loss=nan, optimizer=None, diverged=True, seconds=0.0)"
    assert "order=2" in repr(dk.derive("x^3", "x", order=2)) and "order" not in repr(EXAMPLES["derivation"])


def test_short_values():
    import sympy

    assert short(sympy.Matrix([[1, 2], [3, 4]])) == "Matrix([[1, 2], [3, 4]])"
    assert short(np.arange(3.0)) == "array([0.0, 1.0, 2.0])"
    assert short(np.ones((64, 32))) == "<array 64x32>"
    assert short(np.float64(0.5)) == "0.5"
    assert short(tuple(f"rule{i}" for i in range(40))).endswith(", ...)")
    assert len(short("y" * 500)) == 60
    assert short(sympy.Float("0.1052627540339216834771158159153206251425")) == "0.105263"
    assert short((1,)) == "(1,)" and short({"a": [1, 2]}) == "{'a': [1, 2]}"
    assert brief_repr(object(), n=Count.of(2, "row")) == "object(n=<2 rows>)"


def _renderable_classes():
    import importlib
    import pkgutil

    import derivkit

    for info in pkgutil.walk_packages(derivkit.__path__, "derivkit."):
        if info.name.startswith(("derivkit.cli", "derivkit.web", "derivkit.__main__")):
            continue
        try:
            importlib.import_module(info.name)
        except ImportError:  # an optional dependency that is not installed
            continue
    seen, stack = set(), [Renderable]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
    return sorted(seen, key=lambda c: c.__qualname__)


# The graph engine's objects print through its own renderers.
GRAPH_ENGINE = {"Graph", "Backprop", "CompiledGraph", "Node"}


def test_every_result_class_has_a_brief_repr():
    classes = [c for c in _renderable_classes() if c.__name__ not in GRAPH_ENGINE and c.__module__.startswith("derivkit")]
    assert len(classes) >= 12
    generated = [c.__qualname__ for c in classes if hasattr(c.__repr__, "__wrapped__")]  # dataclass's own repr
    assert generated == [], "give these a one-line __repr__ with derivkit.renderable.brief_repr"
