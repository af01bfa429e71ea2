"""The pages of ``derivkit serve`` in a real browser: Debian's Chromium, driven by Playwright.

A person's view of each page: type an expression and see the rendered steps, submit a
wrong answer and see the diagnosis, run a descent and see its plot, and so on. Every test
also checks that the page asked nothing of any host but the server on 127.0.0.1 (KaTeX and
its fonts ship with derivkit) and that the page raised no script error.

Needs ``pip install playwright`` and Chromium (``apt-get install chromium``); Playwright's own
browser download is not used. ``DERIVKIT_SCREENSHOTS=DIR`` saves a screenshot of each page
there (the documentation's pictures are made so).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import derivkit
from derivkit.web.local import local_server

playwright_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need: pip install playwright")
CHROMIUM = os.environ.get("DERIVKIT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("the browser tests need Chromium: apt-get install chromium", allow_module_level=True)

#: The flags of a headless Chromium that makes no connection of its own (updates, sync, ...).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = os.environ.get("DERIVKIT_SCREENSHOTS")


@pytest.fixture(scope="module")
def server():
    with local_server("--workers", "2", "--time-limit", "2") as s:
        yield s.url


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, base_url=server)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    requests: list[str] = []
    errors: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    pg = context.new_page()
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" and not _api_status(m) else None)
    pg.set_default_timeout(20_000)
    yield pg
    context.close()
    away = [u for u in requests if not u.startswith("data:") and urlsplit(u).hostname != "127.0.0.1"]
    assert away == [], f"the page asked other hosts: {away}"
    assert errors == [], f"the page reported errors: {errors}"
    assert any(u.endswith("/static/katex/katex.min.js") for u in requests)


def _api_status(message) -> bool:
    """Chromium's console note on an API reply with an error status: the page shows those itself."""
    return message.text.startswith("Failed to load resource") and "/api/" in message.location.get("url", "")


def shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_type_an_expression_and_see_the_steps(page):
    page.goto("/derive")
    page.fill("#f-expr", "(3x - 2)^2")
    page.fill("#f-at", "x=2")
    page.click("#submit")
    steps = page.locator(".step")
    steps.first.wait_for()
    assert steps.count() == 6
    assert steps.nth(0).locator(".rule").inner_text() == "chain rule"
    assert steps.nth(1).locator(".num").inner_text() == "1.1."
    assert steps.nth(1).locator(".rule").inner_text() == "power rule"
    assert "Let" in steps.nth(0).locator(".let").inner_text()
    assert steps.nth(0).locator(".katex").count() >= 2  # typeset by KaTeX, not left as source
    assert page.locator(".value-line .math").get_attribute("data-latex") == "24"
    # indented as the text renderer indents: a sub-step sits to the right of its step
    assert steps.nth(1).bounding_box()["x"] > steps.nth(0).bounding_box()["x"]
    assert "expr=%283x+-+2%29%5E2" in page.url and "at=x%3D2" in page.url
    shot(page, "derive")


def test_a_shared_link_opens_worked(page):
    page.goto("/derive?expr=sigmoid(x)")
    page.locator(".step").first.wait_for()
    assert page.input_value("#f-expr") == "sigmoid(x)"
    assert page.locator(".step .rule").first.inner_text() == "sigmoid rule"


def test_copy_as_latex(page):
    page.goto("/derive?expr=x^3")
    page.locator(".step").first.wait_for()
    page.get_by_role("button", name="Copy as LaTeX").click()
    page.locator("#status", has_text="Copied the LaTeX").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == derivkit.derive("x^3", "x").to_latex()


def test_back_and_forward_between_inputs(page):
    page.goto("/derive?expr=x^2")
    page.locator(".step").first.wait_for()
    page.fill("#f-expr", "sin(x)")
    page.click("#submit")
    page.locator(".step .rule", has_text="sine rule").wait_for()
    page.go_back()
    page.locator(".step .rule", has_text="power rule").wait_for()
    assert page.input_value("#f-expr") == "x^2"


def test_a_parse_error_is_shown_with_its_place(page):
    page.goto("/derive")
    page.fill("#f-expr", "x^^2")
    page.click("#submit")
    box = page.locator(".error")
    box.wait_for()
    assert "That input could not be read" in box.inner_text()
    assert "x^^2\n    ^" in page.locator(".error pre").inner_text()


def test_work_past_the_time_limit_says_which_limit(page):
    page.goto("/derive")
    page.fill("#f-expr", "tan(tan(tan(x)))")
    page.fill("#f-order", "14")
    page.click("#submit")
    page.locator(".error").wait_for(timeout=30_000)
    assert "Stopped at a limit of this server (time)" in page.locator(".error h2").inner_text()
    assert "2 s" in page.locator(".error pre").inner_text()


def test_submit_a_wrong_answer_and_see_the_diagnosis(page):
    page.goto("/check")
    page.fill("#f-expr", "sin(x^2)")
    page.fill("#f-claimed", "cos(x^2)")
    page.fill("#f-wrt", "x")
    page.click("#submit")
    page.locator(".verdict").wait_for()
    assert page.locator(".verdict .banner").inner_text() == "Not right."
    assert "missing_chain_factor" in page.locator(".diagnosis").inner_text()
    assert "the chain rule's inner factor is missing" in page.locator(".diagnosis").inner_text()
    assert page.locator(".compare .katex").count() == 2
    assert page.locator(".verdict .step .rule").first.inner_text() == "chain rule"
    shot(page, "check")
    page.fill("#f-claimed", "2x cos(x^2)")
    page.click("#submit")
    page.locator(".verdict.ok").wait_for()
    assert page.locator(".verdict .banner").inner_text() == "Right."


def test_check_a_descent_table(page):
    page.goto("/check?expr=5b%5E2+-+3b+%2B+2&claimed=3.63%2C+3.297%2C+2.9&wrt=b&start=4&lr=0.01")
    page.locator(".verdict").wait_for()
    assert "iteration 3 should be 2.9973, not 2.9" in page.locator(".verdict .message").inner_text()
    assert page.locator("details.more").get_attribute("open") is not None  # the descent options are shown


def test_the_chain_table(page):
    page.goto("/chain")
    page.fill("#f-equations", "y = 3x - 2\nz = y^2")
    page.fill("#f-wrt", "x")
    page.fill("#f-at", "x=2")
    page.click("#submit")
    page.locator("table.factors").wait_for()
    rows = [r.inner_text().split("\t") for r in page.locator("table.factors tr").all()[1:]]
    assert [(r[0], r[-1]) for r in rows] == [("dz/dy", "8"), ("dy/dx", "3")]
    forward = page.locator("table.grid").first.inner_text()
    assert "z\t16" in forward
    assert page.locator(".blocks .math").last.get_attribute("data-latex").endswith("= 8 \\cdot 3 = 24\n\\end{align*}")
    shot(page, "chain")


def test_run_a_descent_and_see_the_plot(page):
    page.goto("/descend")
    page.fill("#f-f", "5b^2 - 3b + 2")
    page.fill("#f-wrt", "b")
    page.fill("#f-start", "4")
    page.fill("#f-lr", "0.01")
    page.click("#submit")
    img = page.locator("img.plot")
    img.wait_for()
    page.wait_for_function("document.querySelector('img.plot').complete")
    assert page.evaluate("document.querySelector('img.plot').naturalWidth") > 300
    assert img.is_visible()
    table = page.locator(".descent .blocks .math").first.text_content()
    assert "3.63" in table and "2.9973" in table
    shot(page, "descend")
    page.fill("#f-lr", "1")
    page.click("#submit")
    page.locator(".banner.warn", has_text="Diverged").wait_for()


def test_backprop_shows_the_chain_of_factors_and_the_code(page):
    page.goto("/backprop")  # every field has a default: the course's network is worked at once
    page.locator("section.param").first.wait_for()
    assert [s.get_attribute("data-param") for s in page.locator("section.param").all()] == ["W1", "b1", "W2", "b2"]
    chain = page.locator("section.param[data-param=W1] .chainline").inner_text()
    assert chain == "∂MSE/∂W1 = ∂MSE/∂O_out · ∂O_out/∂O_in · ∂O_in/∂H_out · ∂H_out/∂H_in · ∂H_in/∂W1"
    assert "def loss_and_grads(params, data):" in page.locator("pre.code").inner_text()
    page.select_option("#f-activation", "relu")
    page.select_option("#f-loss", "softmax_cross_entropy")
    page.fill("#f-layers", "4,8,3")
    page.click("#submit")
    page.locator("section.param[data-param=W1] .chainline", has_text="∂CE/∂W1").wait_for()
    assert "ReLU" in page.locator("table.defs").first.inner_text()
    assert "activation=relu" in page.url and "loss=softmax_cross_entropy" in page.url
    shot(page, "backprop")


def test_the_exercises_page(page):
    page.goto("/exercises")
    page.select_option("#f-topic", "chain")
    page.fill("#f-count", "2")
    page.click("#submit")
    playwright_api.expect(page.locator("section.exercise")).to_have_count(2)  # waits for this answer, not an earlier one
    first = page.locator("section.exercise").first
    assert first.locator("pre.problem").inner_text().startswith("Exercise 1")
    first.locator("summary").click()
    assert first.locator(".katex-display").count() >= 1 and first.locator(".katex-error").count() == 0
    shot(page, "exercises")


def test_the_start_page_links_every_page(page):
    page.goto("/")
    hrefs = {a.get_attribute("href") for a in page.locator("a.card").all()}
    assert hrefs == {"/derive", "/check", "/chain", "/descend", "/backprop", "/exercises"}
    shot(page, "index")
