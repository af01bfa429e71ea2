"""The endpoints of the JSON API: one record each, the fields it takes and the work it does.

An :class:`Endpoint` is everything the app knows about ``POST /api/<name>``: its
fields (:mod:`derivkit.web.fields`, checked before any work starts, and the
source of the page's form and of the OpenAPI description), example bodies, and
``run``, which a worker process calls with the checked body. ``run`` calls the
public library exactly as a user would and answers the result's ``to_dict()``,
plus a ``rendered`` object with what the page shows (the text and LaTeX
renderings, the derivation's steps laid out, the generated code, the plot).

The library is imported inside ``run``, so the server's main process, which
only checks bodies and routes replies, never loads SymPy.

>>> sorted(ENDPOINTS)
['backprop', 'chain', 'check', 'derive', 'descend', 'exercises']
>>> reply = ENDPOINTS["derive"].run(ENDPOINTS["derive"].read({"expr": "(3*x - 2)^2", "at": "x=2"}))
>>> reply["result"], reply["value"], [row["rule_name"] for row in reply["rendered"]["outline"]][:2]
('18*x - 12', '24', ['chain rule', 'power rule'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from derivkit.budget import DEFAULTS
from derivkit.errors import DerivkitError, InputError
from derivkit.web.fields import Field, read_body

__all__ = ["Endpoint", "ENDPOINTS", "NotAvailable", "TOPICS", "ACTIVATIONS", "LOSSES"]

#: The topics of :func:`derivkit.exercises` (API.md).
TOPICS = ("power", "product", "quotient", "chain", "exp_log", "trig", "activations", "losses",
          "gradient", "jacobian", "hessian", "chain_table", "descent", "backprop")
#: The activations and losses :func:`derivkit.nn.mlp` takes.
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "step", "identity")
LOSSES = ("mse", "sse", "l1", "bce", "cross_entropy", "nll", "softmax_cross_entropy", "hinge")


class NotAvailable(DerivkitError):
    """A feature this version of derivkit (or this installation) does not have."""


@dataclass(frozen=True)
class Endpoint:
    """``POST /api/<name>``: its fields, what it answers, and the work."""

    name: str
    title: str
    summary: str
    fields: tuple[Field, ...]
    run: Callable[[dict[str, Any]], dict[str, Any]]
    examples: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    library: str = ""  # the library function it mirrors, for the docs
    reply: str = ""  # what the reply holds, in words
    extra: Mapping[str, Any] = field(default_factory=dict)

    def read(self, body: Any) -> dict[str, Any]:
        """The body checked against the fields (an :class:`~derivkit.errors.InputError` if not)."""
        return read_body(body, self.fields)


# --- shared pieces -------------------------------------------------------------------


def _from_cli(err: InputError, option: str, field: str) -> InputError:
    """The command line's message, naming the body's field instead of its option."""
    return InputError(str(err).replace(f"--{option}", f"'{field}'"))


def _values(given: Any, field: str = "at") -> dict[str, Any]:
    """``"x=2, y=1/3"`` or ``{"x": 2}`` -> a dict of names to values (parsed later, safely)."""
    from derivkit.cli.common import parse_values

    if isinstance(given, dict):
        return dict(given)
    try:
        return parse_values(given)
    except InputError as err:
        raise _from_cli(err, "at", field) from None


def _only_variable(expr: Any, wrt: str | None) -> str:
    from derivkit.cli.derive import choose_variable

    try:
        return choose_variable(expr, wrt)
    except InputError as err:
        raise _from_cli(err, "wrt", "wrt") from None


def _rendered(obj: Any, **more: Any) -> dict[str, Any]:
    return {"text": obj.to_text(), "latex": obj.to_latex(), **more}


def _latex_of(value: Any) -> str | None:
    import sympy

    from derivkit.render.common import expr_latex

    return expr_latex(value) if isinstance(value, (sympy.Basic, sympy.MatrixBase)) else None


# --- the endpoints --------------------------------------------------------------------------

_LATEX = Field("latex", "boolean", default=False, label="LaTeX input",
               help="read the expressions as LaTeX (\\frac{1}{1+e^{-x}}, \\sigma(x), \\ln x)", advanced=True)


def _derive(body: dict[str, Any]) -> dict[str, Any]:
    from derivkit.calculus.steps import derive
    from derivkit.inputs import as_expr
    from derivkit.render.derivation import evaluate_at, outline

    expr = as_expr(body["expr"], latex=body["latex"])
    d = derive(expr, _only_variable(expr, body["wrt"]), order=body["order"])
    at = _values(body["at"])
    shown = evaluate_at(d, **at) if at else d
    return {**shown.to_dict(), "rendered": _rendered(shown, outline=outline(d))}


def _check(body: dict[str, Any]) -> dict[str, Any]:
    from derivkit.calculus.derivation import Derivation
    from derivkit.render.derivation import outline

    if body["start"] is not None or body["lr"] is not None:
        if body["start"] is None or body["lr"] is None:
            raise InputError("a descent table needs both 'start' and 'lr'")
        if body["at"] or body["kind"] != "auto":
            raise InputError("'at' and 'kind' do not apply to a descent table")
        from derivkit.verify.descent import check_descent

        verdict = check_descent(body["expr"], body["wrt"], _start(body["start"]), body["lr"], body["claimed"],
                                body["momentum"])
    else:
        from derivkit.verify.check import check

        at = _values(body["at"]) or None
        kind = None if body["kind"] == "auto" else body["kind"]
        verdict = check(body["expr"], body["claimed"], body["wrt"], at=at, latex=body["latex"], kind=kind,
                        order=body["order"])
    more: dict[str, Any] = {
        "expected_latex": _latex_of(verdict.expected),
        "claimed_latex": _latex_of(verdict.claimed),
    }
    if isinstance(verdict.derivation, Derivation):
        more["outline"] = outline(verdict.derivation)
    return {**verdict.to_dict(), "rendered": _rendered(verdict, **more)}


def _chain(body: dict[str, Any]) -> dict[str, Any]:
    from derivkit.calculus.chains import chain

    c = chain(body["equations"], body["wrt"], body["output"] or None, inputs=body["inputs"] or None,
              latex=body["latex"])
    at = _values(body["at"])
    shown = c.at(at) if at else c
    return {**shown.to_dict(), "rendered": _rendered(shown)}


def _start(start: Any) -> Any:
    """A descent's start as the library takes it: ``"4"``, ``"1, 2"``, ``"x1=1, x2=2"``, a list, a map."""
    if isinstance(start, str):
        if "=" in start:
            return _values(start, "start")
        if "," in start:
            return [v.strip() for v in start.split(",")]
    return tuple(start) if isinstance(start, list) else start


def _descent_plot(d: Any) -> dict[str, Any]:
    """The plot of the descent as SVG text (one or two variables), or why there is none."""
    import io

    from derivkit.training.plot import _pyplot, plot_descent

    if len(d.wrt) > 2:
        return {"plot": None, "plot_note": f"a descent in {len(d.wrt)} variables has no picture (one or two only)"}
    fig = plot_descent(d)
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    _pyplot().close(fig)
    return {"plot": buf.getvalue()}


def _descend(body: dict[str, Any]) -> dict[str, Any]:
    from derivkit.errors import MissingDependencyError
    from derivkit.inputs import as_expr
    from derivkit.training.descend import descend

    f = as_expr(body["f"], latex=body["latex"], what="function")
    d = descend(f, body["wrt"], start=_start(body["start"]), lr=body["lr"], steps=body["steps"],
                momentum=body["momentum"])
    more: dict[str, Any] = {}
    if body["plot"]:
        try:
            more = _descent_plot(d)
        except MissingDependencyError as err:
            more = {"plot": None, "plot_note": str(err)}
    return {**d.to_dict(), "rendered": _rendered(d, **more)}


def _backprop(body: dict[str, Any]) -> dict[str, Any]:
    from derivkit.nn import mlp

    g = mlp(body["layers"], activation=body["activation"], output=body["output"] or None, loss=body["loss"],
            bias=body["bias"])
    bp = g.backprop()
    more = {"code": g.compile(dtype=body["dtype"]).source} if body["code"] else {}
    return {**bp.to_dict(), "rendered": _rendered(bp, **more)}


def _exercises(body: dict[str, Any]) -> dict[str, Any]:
    from derivkit.teaching.exercises import exercises

    sheet = exercises(body["topic"], count=body["count"], seed=body["seed"], level=body["level"] or None)
    # the exercise's LaTeX is a document's text (\textbf, $...$); the page renders the solution's math
    items = [{**ex.to_dict(), "rendered": {"text": ex.to_text(), "latex": ex.solution.to_latex()}} for ex in sheet]
    return {"topic": body["topic"], "count": body["count"], "seed": body["seed"], "level": body["level"],
            "exercises": items}


ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        Endpoint(
            "derive", "Derive", "A derivative step by step, each step naming its rule.",
            (
                Field("expr", "expr", required=True, label="f", placeholder="(3x - 2)^2", example="(3*x - 2)^2",
                      help="the expression, e.g. (3x - 2)^2, sigmoid(x), x^2 sin(x)"),
                Field("wrt", "text", label="with respect to", placeholder="x", example="x",
                      help="the variable (optional when the expression has only one)"),
                Field("order", "integer", default=1, minimum=1, maximum=DEFAULTS.order, label="order",
                      help="how many times to differentiate"),
                Field("at", "values", label="at", placeholder="x=2",
                      help='evaluate the derivative at a point: {"x": 2} or "x=2, y=1/3"'),
                _LATEX,
            ),
            _derive,
            examples=(("the chain rule", {"expr": "(3x - 2)^2", "at": "x=2"}),
                      ("the sigmoid", {"expr": "sigmoid(x)"}),
                      ("a product", {"expr": "x^2 sin(x)"}),
                      ("a quotient", {"expr": "(x + 1)/(x^2 + 1)"}),
                      ("LaTeX input", {"expr": "\\frac{1}{1+e^{-x}}", "latex": True})),
            library="derivkit.derive(expr, wrt, order).to_dict(); with at, evaluate_at(derivation, **at)",
            reply="the derivation's to_dict() (expr, wrt, order, result, result_latex, rules, notes, steps; "
                  "with at: at, value, value_latex, value_float), and rendered: text, latex, outline",
        ),
        Endpoint(
            "check", "Check", "Is a hand-computed derivative, gradient, Jacobian, Hessian or descent table right?",
            (
                Field("expr", "expr", required=True, label="f", placeholder="sin(x^2)", example="sin(x^2)",
                      help="the function; several as a list [f1, f2]"),
                Field("claimed", "claim", required=True, label="your answer", placeholder="2x cos(x^2)",
                      example="cos(x^2)",
                      help="your derivative (a formula), a matrix [[...], [...]], a number with 'at', "
                           "or the iterates b1, b2, ... with 'start' and 'lr'"),
                Field("wrt", "names", required=True, label="with respect to", placeholder="x", example="x",
                      help='the variable(s): "x", "x1,x2" or ["x1", "x2"]'),
                Field("at", "values", label="at", placeholder="x=2",
                      help="check the value of the derivative at this point"),
                Field("kind", "choice", default="auto", choices=("auto", "derivative", "gradient", "jacobian",
                                                                  "hessian"),
                      label="kind", help="what the answer is (auto: decided from the shapes)", advanced=True),
                Field("order", "integer", default=1, minimum=1, maximum=DEFAULTS.order, label="order",
                      help="check the order-th derivative", advanced=True),
                Field("start", "point", label="descent start", placeholder="4",
                      help="check a gradient-descent table starting here", advanced=True),
                Field("lr", "expr", label="learning rate", placeholder="0.01",
                      help="the learning rate of the descent table", advanced=True),
                Field("momentum", "expr", default=0, label="momentum", help="the momentum of the descent table",
                      advanced=True),
                _LATEX,
            ),
            _check,
            examples=(("a missing chain factor", {"expr": "sin(x^2)", "claimed": "cos(x^2)", "wrt": "x"}),
                      ("a sign error", {"expr": "cos(3x)", "claimed": "3 sin(3x)", "wrt": "x"}),
                      ("right, in another form", {"expr": "sigmoid(x)", "claimed": "e^(-x)/(1+e^(-x))^2",
                                                  "wrt": "x"}),
                      ("a gradient", {"expr": "x1^2*x2", "claimed": "[2*x1*x2, x1]", "wrt": "x1,x2"}),
                      ("a descent table", {"expr": "5b^2 - 3b + 2", "claimed": "3.63, 3.297, 2.9973", "wrt": "b",
                                           "start": "4", "lr": "0.01"})),
            library="derivkit.check(expr, claimed, wrt, at=at, kind=kind, order=order); with start and lr, "
                    "derivkit.check_descent(expr, wrt, start, lr, claimed, momentum)",
            reply="the verdict's to_dict() (ok, expected, claimed, counterexample, diagnosis, findings, message, "
                  "derivation, ...), and rendered: text, latex, expected_latex, claimed_latex, outline",
        ),
        Endpoint(
            "chain", "Chain rule", "The chain rule through named variables, with the worked table at a point.",
            (
                Field("equations", "equations", required=True, label="equations",
                      placeholder="y = 3x - 2\nz = y^2", example={"y": "3*x - 2", "z": "y^2"},
                      help='in order: {"y": "3*x - 2", "z": "y^2"} or ["y = 3x - 2", "z = y^2"]'),
                Field("wrt", "text", required=True, label="with respect to", placeholder="x", example="x",
                      help="the input variable"),
                Field("at", "values", label="at", placeholder="x=2", example="x=2",
                      help="work the chain at this point: forward values and factor values"),
                Field("output", "text", label="output", placeholder="z",
                      help="the name to differentiate (default: the last)", advanced=True),
                Field("inputs", "names", label="other inputs", placeholder="h",
                      help="declare the other inputs; any other undefined name is then an error", advanced=True),
                _LATEX,
            ),
            _chain,
            examples=(("the course's chain", {"equations": ["y = 3x - 2", "z = y^2"], "wrt": "x", "at": "x=2"}),
                      ("three links", {"equations": ["x = 5v - 2", "y = 3x - 2", "z = y^2"], "wrt": "v",
                                       "at": "v=1"}),
                      ("two paths", {"equations": ["q = relu(z) + z*x", "y = h + q + q*x"], "wrt": "x",
                                     "at": "x=2, z=3, h=1"})),
            library="derivkit.chain(equations, wrt, output, inputs=inputs); with at, chain(...).at(at)",
            reply="the chain's to_dict() (equations, factors, paths, result, ...; with at: chain, values, factors, "
                  "paths, result), and rendered: text, latex",
        ),
        Endpoint(
            "descend", "Descent", "Gradient descent by hand: the table of iterates, exact where the inputs are.",
            (
                Field("f", "expr", required=True, label="f", placeholder="5b^2 - 3b + 2", example="5*b^2 - 3*b + 2",
                      help="the function to minimise"),
                Field("wrt", "names", required=True, label="variables", placeholder="b", example="b",
                      help='the variable(s): "b" or "x1,x2"'),
                Field("start", "point", required=True, label="start", placeholder="4", example=4,
                      help='the starting point: 4, [1, 2] in the order of wrt, or {"x1": 1, "x2": 2}'),
                Field("lr", "expr", required=True, label="learning rate", placeholder="0.01", example="0.01",
                      help="the learning rate alpha"),
                Field("steps", "integer", default=3, minimum=0, maximum=DEFAULTS.steps, label="steps",
                      help="the number of iterations"),
                Field("momentum", "expr", default=0, label="momentum", placeholder="0",
                      help="the momentum eta (b(r+1) = b(r) - alpha f'(b(r)) + eta (b(r) - b(r-1)))"),
                Field("plot", "boolean", default=False, label="plot",
                      help="also answer the plot (SVG) of the descent, for one or two variables", advanced=True),
                _LATEX,
            ),
            _descend,
            examples=(("the course's exercise", {"f": "5b^2 - 3b + 2", "wrt": "b", "start": "4", "lr": "0.01"}),
                      ("too large a step", {"f": "5b^2 - 3b + 2", "wrt": "b", "start": "4", "lr": "1"}),
                      ("with momentum", {"f": "5b^2 - 3b + 2", "wrt": "b", "start": "4", "lr": "0.05", "steps": 8,
                                         "momentum": "0.5"}),
                      ("two variables", {"f": "x^2 + 5y^2", "wrt": "x,y", "start": "4, 1", "lr": "0.09",
                                         "steps": 8})),
            library="derivkit.descend(f, wrt, start, lr, steps, momentum)",
            reply="the descent's to_dict() (f, wrt, derivatives, start, lr, momentum, rows, final, diverged, reason, "
                  "exact, notes), and rendered: text, latex, and with plot: plot (SVG text) or plot_note",
        ),
        Endpoint(
            "backprop", "Backprop", "Backpropagation through an MLP at the matrix level, and the generated NumPy code.",
            (
                Field("layers", "sizes", default=[2, 3, 1], maximum=12, label="layers", placeholder="2,3,1",
                      example=[2, 3, 1], help="the layer sizes from input to output"),
                Field("activation", "choice", default="sigmoid", choices=ACTIVATIONS, label="activation",
                      help="the hidden layers' activation"),
                Field("loss", "choice", default="mse", choices=LOSSES, label="loss", help="the loss"),
                Field("output", "choice", default="", choices=("", *ACTIVATIONS, "softmax"), label="output",
                      help="the output activation (empty: sigmoid for mse/bce, softmax for "
                           "softmax_cross_entropy and nll, identity for hinge)", advanced=True),
                Field("bias", "boolean", default=True, label="biases", help="give every layer a bias b1, b2, ..."),
                Field("code", "boolean", default=True, label="generated code",
                      help="also answer the generated NumPy source", advanced=True),
                Field("dtype", "choice", default="float64", choices=("float64", "float32"), label="dtype",
                      help="the floating-point type of the generated code", advanced=True),
            ),
            _backprop,
            examples=(("the course's network", {"layers": "2,3,1"}),
                      ("a step activation", {"layers": "2,3,1", "activation": "step", "bias": False}),
                      ("softmax and cross-entropy", {"layers": "4,8,3", "activation": "relu",
                                                     "loss": "softmax_cross_entropy"})),
            library="derivkit.nn.mlp(layers, activation, output, loss, bias).backprop().to_dict(); "
                    "the code is mlp(...).compile(dtype=dtype).source",
            reply="the backprop's to_dict() (loss, graph, definitions, gradients, chains), and rendered: text, latex, "
                  "code",
        ),
        Endpoint(
            "exercises", "Exercises", "A sheet of exercises with worked solutions.",
            (
                Field("topic", "choice", required=True, choices=TOPICS, label="topic", example="chain",
                      help="what to practise"),
                Field("count", "integer", default=5, minimum=1, maximum=50, label="how many"),
                Field("seed", "integer", default=0, minimum=0, maximum=2**31 - 1, label="seed",
                      help="the same seed gives the same sheet"),
                Field("level", "text", label="level", placeholder="", help="the difficulty, if the topic has levels",
                      advanced=True),
            ),
            _exercises,
            examples=(("the chain rule", {"topic": "chain", "count": 3}),
                      ("activations", {"topic": "activations", "count": 3})),
            library="derivkit.exercises(topic, count, seed, level)",
            reply="topic, count, seed, level, and exercises: each exercise's to_dict() with rendered: text, latex",
        ),
    )
}
