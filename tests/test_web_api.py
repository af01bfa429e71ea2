"""The JSON API of ``derivkit serve``, over real HTTP: every endpoint with good input, bad
input and input past a limit, and the guarantees that hold for all of them (JSON errors,
no traceback, size-limited bodies, security headers, an OpenAPI description that matches).

The values asserted are the course's worked examples, checkable by hand.
"""

from __future__ import annotations

import concurrent.futures
import json
import time

import httpx
import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import derivkit
from derivkit.web import ServerLimits
from derivkit.web.endpoints import ACTIVATIONS, ENDPOINTS, LOSSES
from derivkit.web.openapi import openapi
from derivkit.web.local import local_server

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

TIME_LIMIT = 3.0

#: Inputs that take far longer than the time limit (each is seconds to minutes of work).
SLOW = {
    "derive": {"expr": "tan(tan(tan(x)))", "order": 14},
    "check": {"expr": "tan(tan(tan(x)))", "claimed": "0", "wrt": "x", "order": 14},
    "chain": {"equations": [f"y{i} = " + ("tan(x)^3" if i == 1 else f"tan(y{i - 1})^3 + y{i - 1}^3")
                            for i in range(1, 13)], "wrt": "x"},
    # 100 terms in 8 variables at the most steps the server takes (about 2 ms a step in floats: 20 s)
    "descend": {"f": "+".join(f"tan(tan(x{i % 8 + 1}/{i + 2}))^2" for i in range(100)),
                "wrt": ",".join(f"x{i}" for i in range(1, 9)), "start": ",".join(["1/3"] * 8), "lr": "1/7",
                "steps": 10000},
}
#: Inputs past a bound of one field (refused before any work).
OVER_BOUND = {
    "derive": ({"expr": "x^2", "order": 51}, "order"),
    "check": ({"expr": "x^2", "claimed": "0", "wrt": "x", "order": 51}, "order"),
    "descend": ({"f": "x^2", "wrt": "x", "start": 1, "lr": "0.1", "steps": 10001}, "steps"),
    "backprop": ({"layers": [2] * 13}, "layers"),
    "exercises": ({"topic": "chain", "count": 51}, "count"),
}


@pytest.fixture(scope="module")
def server():
    with local_server("--workers", "2", "--time-limit", str(TIME_LIMIT)) as s:
        yield s.url


def post(server, name, body, **kw):
    return httpx.post(f"{server}/api/{name}", json=body, timeout=60, **kw)


# --- good input -----------------------------------------------------------------------------


def test_derive_the_chain_rule_at_a_point(server):
    r = post(server, "derive", {"expr": "(3x - 2)^2", "at": "x=2"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    d = r.json()
    assert d["result"] == "18*x - 12" and d["value"] == "24" and d["at"] == {"x": "2"}
    assert d["rules"][:2] == ["chain", "power"]
    outline = d["rendered"]["outline"]
    assert [(row["number"], row["depth"], row["rule_name"]) for row in outline[:3]] == [
        ("1", 0, "chain rule"), ("1.1", 1, "power rule"), ("1.2", 1, "difference rule")]
    assert outline[0]["let"] == [["u", "3 x - 2"]]
    assert d["rendered"]["latex"].startswith("\\begin{align*}")
    assert "1. chain rule: d/dx (3x - 2)^2 = 18x - 12" in d["rendered"]["text"]


def test_derive_mirrors_the_library(server):
    body = {"expr": "x^2 sin(x)", "wrt": "x", "order": 2}
    d = derivkit.derive("x^2 sin(x)", "x", order=2)
    reply = post(server, "derive", body).json()
    assert {k: v for k, v in reply.items() if k != "rendered"} == json.loads(json.dumps(d.to_dict()))


def test_derive_latex_input_and_the_only_variable(server):
    d = post(server, "derive", {"expr": "\\frac{1}{1+e^{-t}}", "latex": True}).json()
    assert d["wrt"] == "t" and d["result"] == "(1 - sigmoid(t))*sigmoid(t)"


def test_check_names_the_missing_chain_factor(server):
    r = post(server, "check", {"expr": "sin(x^2)", "claimed": "cos(x^2)", "wrt": "x"})
    v = r.json()
    assert r.status_code == 200  # a wrong answer is a good request
    assert v["ok"] is False and v["diagnosis"] == ["missing_chain_factor"]
    assert v["expected"] == "2*x*cos(x**2)" and v["rendered"]["claimed_latex"] == "\\cos{\\left(x^{2} \\right)}"
    assert v["rendered"]["outline"][0]["rule"] == "chain"


def test_check_a_right_answer_in_another_form_a_value_and_a_gradient(server):
    assert post(server, "check", {"expr": "sigmoid(x)", "claimed": "e^(-x)/(1+e^(-x))^2", "wrt": "x"}).json()["ok"]
    assert post(server, "check", {"expr": "x^3", "claimed": 12, "wrt": "x", "at": {"x": 2}}).json()["ok"]
    v = post(server, "check", {"expr": "x1^2*x2", "claimed": ["2*x1*x2", "x1"], "wrt": ["x1", "x2"]}).json()
    assert v["ok"] is False and v["kind"] == "gradient"


def test_check_a_descent_table(server):
    v = post(server, "check", {"expr": "5b^2 - 3b + 2", "claimed": "3.63, 3.297, 2.9", "wrt": "b", "start": "4",
                               "lr": "0.01"}).json()
    assert v["ok"] is False and v["kind"] == "descent" and v["counterexample"]["iteration"] == 3
    assert v["counterexample"]["expected"] == 2.9973 and v["counterexample"]["expected_exact"] == "29973/10000"


def test_chain_the_worked_table(server):
    c = post(server, "chain", {"equations": ["y = 3x - 2", "z = y^2"], "wrt": "x", "at": "x=2"}).json()
    assert c["values"] == {"x": "2", "y": "4", "z": "16"}
    assert c["factors"] == [["dz/dy", "8"], ["dy/dx", "3"]] and c["result"] == "24"
    symbolic = post(server, "chain", {"equations": {"y": "3*x - 2", "z": "y^2"}, "wrt": "x"}).json()
    assert symbolic["result"] == "18*x - 12" and [f["expr"] for f in symbolic["factors"]] == ["2*y", "3"]


def test_descend_the_course_exercise_with_its_plot(server):
    d = post(server, "descend", {"f": "5b^2 - 3b + 2", "wrt": "b", "start": 4, "lr": "0.01", "plot": True}).json()
    assert [row["point"] for row in d["rows"]] == ["363/100", "3297/1000", "29973/10000"]
    assert d["diverged"] is False
    assert d["rendered"]["plot"].lstrip().startswith("<?xml") and "</svg>" in d["rendered"]["plot"]
    two = post(server, "descend", {"f": "x^2 + 2y^2", "wrt": "x,y", "start": {"x": 1, "y": 1}, "lr": "0.25",
                                   "steps": 1}).json()
    assert two["final"] == ["1/2", 0] and "plot" not in two["rendered"]


def test_descend_diverges_with_too_large_a_step(server):
    d = post(server, "descend", {"f": "5b^2 - 3b + 2", "wrt": "b", "start": "4", "lr": "1"}).json()
    assert d["diverged"] is True and d["reason"]


def test_backprop_the_course_network_and_its_code(server):
    bp = post(server, "backprop", {"layers": "2,3,1"}).json()
    assert bp["loss"] == "MSE" and bp["gradients"]["W1"]["expr"] == "X^T G_H"
    assert [f["label"] for f in bp["chains"]["W1"]] == [
        "∂MSE/∂O_out", "∂O_out/∂O_in", "∂O_in/∂H_out", "∂H_out/∂H_in", "∂H_in/∂W1"]
    assert bp["rendered"]["code"] == derivkit.nn.mlp([2, 3, 1]).compile().source
    bare = post(server, "backprop", {"layers": [2, 3, 1], "bias": False, "code": False}).json()
    assert set(bare["gradients"]) == {"W1", "W2"} and "code" not in bare["rendered"]


def test_exercises_are_the_library_s(server):
    r = post(server, "exercises", {"topic": "chain", "count": 2, "seed": 1})
    assert r.status_code == 200 and len(r.json()["exercises"]) == 2
    sheet = derivkit.exercises("chain", count=2, seed=1)
    assert [e["problem"] for e in r.json()["exercises"]] == [e.to_dict()["problem"] for e in sheet]


def test_the_web_choices_are_the_library_s():
    from derivkit.nn import ACTIVATIONS as LIBRARY_ACTIVATIONS
    from derivkit.nn.networks import OUTPUT_FOR_LOSS

    assert ACTIVATIONS == tuple(LIBRARY_ACTIVATIONS) and LOSSES == tuple(OUTPUT_FOR_LOSS)


# --- bad input --------------------------------------------------------------------------------

BAD = {
    "derive": ({"expr": "x^^2"}, "'^' needs something before it"),
    "check": ({"expr": "sin(x)", "claimed": "cos(x", "wrt": "x"}, "("),
    "chain": ({"equations": ["y = 3x - 2", "y = x"], "wrt": "x"}, "y"),
    "descend": ({"f": "x^2", "wrt": "x", "start": "1", "lr": "zero"}, ""),
    "backprop": ({"activation": "sinus"}, "'activation' must be one of"),
    "exercises": ({"topic": "algebra"}, "'topic' must be one of"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_is_400_with_a_message(server, name):
    body, words = BAD[name]
    r = post(server, name, body)
    assert r.status_code == 400, r.text
    assert set(r.json()) <= {"error", "position"} and words in r.json()["error"]
    assert "Traceback" not in r.text


def test_a_parse_error_points_at_its_column(server):
    r = post(server, "derive", {"expr": "x^^2"})
    assert r.json()["position"] == 2 and "x^^2\n    ^" in r.json()["error"]


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_fields_are_checked_before_any_work(server, name):
    r = post(server, name, {"no_such_field": 1})
    assert r.status_code == 400 and "unknown field 'no_such_field'" in r.json()["error"]
    required = [f.name for f in ENDPOINTS[name].fields if f.required]
    if required:
        r = post(server, name, {})
        assert r.status_code == 400 and r.json()["error"] == f"'{required[0]}' is required"


@pytest.mark.parametrize("payload, words", [
    (b"{not json", "not valid JSON (line 1, column 2)"),
    (b"[1, 2]", "must be a JSON object, not a list"),
    (b'{"expr": ["x"]}', "'expr' must be a formula (a string) or a number, not a list"),
    (b'{"expr": "x", "order": "two"}', "'order' must be a whole number, not 'two'"),
    (b'{"expr": "x", "latex": "yes"}', "'latex' must be true or false"),
    (b"[" * 5000 + b"]" * 5000, "not valid JSON"),
])
def test_malformed_bodies_are_400(server, payload, words):
    r = httpx.post(f"{server}/api/derive", content=payload, headers={"content-type": "application/json"})
    assert r.status_code == 400 and words in r.json()["error"]


def test_nothing_is_evaluated(server, tmp_path):
    marker = tmp_path / "ran"
    for text in (f"__import__('os').system('touch {marker}')", "().__class__.__bases__[0].__subclasses__()",
                 "lambda: 1", "exec('1')", "x.__class__"):
        r = post(server, "derive", {"expr": text})
        assert r.status_code == 400, (text, r.text)
    assert not marker.exists()


def test_wrong_methods_and_paths(server):
    r = httpx.get(f"{server}/api/derive")
    assert r.status_code == 405 and r.headers["allow"] == "POST" and "POST" in r.json()["error"]
    r = post(server, "integrate", {"expr": "x"})
    assert r.status_code == 404 and "derive, check" in r.json()["error"]
    assert httpx.get(f"{server}/api/nothing/here").status_code == 404


# --- past a limit -----------------------------------------------------------------------------------


def timed(server, name, body):
    start = time.monotonic()
    r = post(server, name, body)
    return r, time.monotonic() - start


def test_slow_work_is_stopped_at_the_time_limit(server):
    with concurrent.futures.ThreadPoolExecutor(len(SLOW)) as pool:
        slow = {name: pool.submit(timed, server, name, body) for name, body in SLOW.items()}
        for name, future in slow.items():
            r, seconds = future.result()
            assert r.status_code == 422, (name, r.text)
            assert r.json()["limit"] == "seconds" and r.json()["value"] == TIME_LIMIT
            assert f"{TIME_LIMIT:g} s" in r.json()["error"] and "derivkit.limits" not in r.json()["error"]
            assert seconds >= TIME_LIMIT  # stopped by the library's budget or, failing that, by the pool


def test_quick_requests_do_not_wait_for_slow_ones(server):
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        slow = [pool.submit(timed, server, "derive", SLOW["derive"]) for _ in range(2)]  # one per worker
        while httpx.get(f"{server}/api/health").json()["pool"]["long"] < 2:  # both now count as long
            assert not any(f.done() for f in slow), "the slow requests were stopped before they counted as long"
            time.sleep(0.05)
        quick = [timed(server, "derive", {"expr": f"x^{n}"}) for n in range(3, 8)]
        assert all(f.result()[0].status_code == 422 for f in slow)
    for n, (r, seconds) in zip(range(3, 8), quick):
        assert r.status_code == 200 and r.json()["result"] == f"{n}*x**{n - 1}"
        assert seconds < 1.0, "a quick request waited behind the slow ones"


@pytest.mark.parametrize("name", sorted(OVER_BOUND))
def test_a_field_past_its_bound_is_422_naming_it(server, name):
    body, limit = OVER_BOUND[name]
    r = post(server, name, body)
    assert r.status_code == 422 and r.json()["limit"] == limit and "a limit of this server" in r.json()["error"]


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_a_body_past_the_size_limit_is_422(server, name):
    r = post(server, name, {"expr": "x+" * 40000 + "x"})
    assert r.status_code == 422 and r.json() == {
        "error": "the request body is larger than this server accepts (64 KiB)", "limit": "size", "value": 65536}


# --- properties of every reply ---------------------------------------------------------------------


def test_security_headers_on_pages_and_replies(server):
    for r in (httpx.get(f"{server}/derive"), post(server, "derive", {"expr": "x"}), httpx.get(f"{server}/nowhere")):
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"


def test_the_openapi_description_is_served_and_matches_the_fields(server):
    doc = httpx.get(f"{server}/api/openapi.json").json()
    assert doc == json.loads(json.dumps(openapi(ServerLimits(time=TIME_LIMIT, workers=2))))
    for name, endpoint in ENDPOINTS.items():
        op = doc["paths"][f"/api/{name}"]["post"]
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        assert list(schema["properties"]) == [f.name for f in endpoint.fields]
        assert {"200", "400", "422", "500"} <= set(op["responses"])
        for example in op["requestBody"]["content"]["application/json"]["examples"].values():
            endpoint.read(example["value"])  # every documented example is a valid body


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_every_documented_example_works(server, name):
    for label, body in ENDPOINTS[name].examples:
        r = post(server, name, dict(body))
        assert r.status_code == 200, (label, r.text)


def test_health_reports_the_limits(server):
    h = httpx.get(f"{server}/api/health").json()
    assert h["status"] == "ok" and h["limits"]["time"] == TIME_LIMIT and h["limits"]["workers"] == 2


# --- derivatives through the API equal sympy.diff -----------------------------------------------------

_UNARY = ["sin", "cos", "exp", "tanh", "sigmoid", "atan", "sqrt", "log"]


@st.composite
def formulas(draw, depth=3):
    """Formulas as a student types them: implicit products, ^, the course's functions."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(["x", "2x", "x + 1", "3x - 2", "x^2", "1 - x", "x/2"]))
    sub = formulas(depth - 1)
    kind = draw(st.sampled_from(["unary", "unary", "add", "sub", "mul", "div", "pow"]))
    if kind == "unary":
        f = draw(st.sampled_from(_UNARY))
        inner = draw(sub)
        return f"{f}(x^2 + {inner})" if f in ("sqrt", "log") else f"{f}({inner})"
    a, b = draw(sub), draw(sub)
    op = {"add": "+", "sub": "-", "mul": "*", "div": "/"}.get(kind)
    if op:
        return f"({a}) {op} ({b})" if op != "/" else f"({a}) / (2 + ({b})^2)"
    return f"({a})^{draw(st.sampled_from(['2', '3', '(-1)', '(1/2)']))}"


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server, timeout=30) as c:
        yield c


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=formulas())
def test_api_derivatives_equal_sympy_diff(client, text):
    r = client.post("/api/derive", json={"expr": text, "wrt": "x"})
    if r.status_code == 400:  # refused as the library refuses it, e.g. (x - x)^(-1)
        with pytest.raises(derivkit.DerivkitError) as err:
            derivkit.derive(text, "x")
        assert str(err.value) == r.json()["error"]
        return
    assert r.status_code == 200, r.text
    x = sympy.Symbol("x")
    expected = sympy.diff(derivkit.parse(text), x)
    got = derivkit.parse(r.json()["result"])
    for p in (sympy.Rational(1, 3), sympy.Rational(7, 5), sympy.Rational(-3, 7)):
        want, have = expected.subs(x, p).evalf(30), got.subs(x, p).evalf(30)
        if want.is_finite:  # both sides at points where the derivative is defined
            assert abs(have - want) <= 1e-12 * (1 + abs(want)), (p, have, want)
