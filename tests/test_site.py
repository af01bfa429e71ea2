"""The documentation site: built offline-ready, with the API reference, readable titles.

The site is built once for this module (``mkdocs build --strict``, which also runs
every generated example), then its pages are read as a browser would read them.
"""

from __future__ import annotations

import html
import html.parser
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings")



def _load(name: str):
    """A module of ``docs_theme/`` (MkDocs loads these by path; they are not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"docs_theme_{name}", ROOT / "docs_theme" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


readable = _load("hooks").readable
to_markdown = _load("griffe_doctests").to_markdown

EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)  # http://, https://, //host (not data:, not relative)
REPO = "https://github.com/derivkit/derivkit"


class _Resources(html.parser.HTMLParser):
    """Every URL a page makes the browser fetch: scripts, stylesheets, icons, fonts, images, frames."""

    FETCHED = {
        "script": ("src",), "img": ("src", "srcset"), "iframe": ("src",), "source": ("src", "srcset"),
        "video": ("src", "poster"), "audio": ("src",), "embed": ("src",), "object": ("data",),
        "input": ("src",), "track": ("src",),
    }

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self.ids: set[str] = set()
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "link" and a.get("rel", "") not in ("canonical", ""):
            self.urls.append((f"link rel={a.get('rel')}", a.get("href", "")))
        for name in self.FETCHED.get(tag, ()):
            if name == "srcset" and name in a:
                self.urls.extend((tag, u.strip().split(" ")[0]) for u in a[name].split(","))
            elif name in a:
                self.urls.append((tag, a[name].strip()))
        for u in re.findall(r"url\(\s*['\"]?([^'\")]+)", a.get("style", "")):
            self.urls.append((f"{tag} style", u))
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def _read(path: Path) -> _Resources:
    parser = _Resources()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_no_page_requests_anything_from_another_host(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 30
    offending = [(p.relative_to(site), what, url) for p in pages for what, url in _read(p).urls
                 if EXTERNAL.match(url)]
    assert offending == []
    for css in site.rglob("*.css"):
        text = css.read_text(encoding="utf-8", errors="replace")
        remote = [u for u in re.findall(r"url\(\s*['\"]?([^'\")]+)", text) if EXTERNAL.match(u)]
        remote += re.findall(r"@import\s+(?:url\()?['\"]?((?:https?:)?//[^'\")\s]+)", text)
        assert remote == [], css.relative_to(site)


def test_every_local_resource_exists(site: Path) -> None:
    missing = []
    for page in site.rglob("*.html"):
        for what, url in _read(page).urls:
            if url.startswith(("data:", "#")) or EXTERNAL.match(url):
                continue
            local = url.split("#")[0].split("?")[0]
            target = (site / local.lstrip("/") if local.startswith("/") else page.parent / local).resolve()
            if not target.exists():
                missing.append((page.relative_to(site), what, url))
    assert missing == []


def test_mathjax_is_shipped_with_its_licence_and_fonts(site: Path) -> None:
    mj = site / "javascripts" / "mathjax"
    assert (mj / "tex-mml-chtml.js").stat().st_size > 500_000
    assert "Apache License" in (mj / "LICENSE").read_text()
    assert len(list((mj / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))) >= 20
    assert (mj / "input" / "tex" / "extensions" / "cancel.js").exists()
    scripts = [u for _, u in _read(site / "backprop" / "index.html").urls if u.endswith(".js")]
    assert "../javascripts/mathjax/tex-mml-chtml.js" in scripts
    assert scripts.index("../javascripts/mathjax.js") < scripts.index("../javascripts/mathjax/tex-mml-chtml.js")


def test_no_google_fonts_and_no_github_api(site: Path) -> None:
    page = (site / "index.html").read_text(encoding="utf-8")
    assert "fonts.googleapis" not in page and "fonts.gstatic" not in page
    # Material's "source facts" component would fetch stars and forks from api.github.com
    assert 'data-md-component="source"' not in page
    assert f'href="{REPO}"' in page


def test_table_of_contents_and_titles_without_raw_latex(site: Path) -> None:
    text = (site / "backprop" / "index.html").read_text(encoding="utf-8")
    nav = re.findall(r'<a href="#[^"]*" class="md-nav__link">\s*<span class="md-ellipsis">\s*(.*?)\s*</span>', text, re.S)
    assert "G_O and G_H" in nav and "The chain for W_2 and for W_1" in nav
    descent = (site / "descent" / "index.html").read_text(encoding="utf-8")
    assert "Just right: α = 0.1" in descent
    for page in site.rglob("*.html"):
        parsed = _read(page)
        assert "\\(" not in parsed.title and "$" not in parsed.title, page
        toc = re.findall(r'class="md-nav__link">\s*<span class="md-ellipsis">\s*(.*?)\s*</span>', page.read_text("utf-8"), re.S)
        assert not [t for t in toc if "\\(" in t or "\\)" in t], page


def test_plots_are_embedded_as_svg(site: Path) -> None:
    text = (site / "descent" / "index.html").read_text(encoding="utf-8")
    assert text.count('src="data:image/svg+xml;base64,') >= 4
    assert 'src="data:image/png' not in text


def _public_objects() -> list[tuple[str, object]]:
    import derivkit

    out = []
    for name in derivkit.__all__:
        obj = getattr(derivkit, name)
        if callable(obj) and hasattr(obj, "__qualname__") and not isinstance(obj, type(derivkit)):
            out.append((name, obj))
    return out


def test_api_reference_documents_every_public_name(site: Path) -> None:
    api = sorted((site / "api").rglob("index.html"))
    assert len(api) >= 9
    ids = set().union(*(_read(p).ids for p in api))
    missing = []
    for name, obj in _public_objects():
        module = importlib.import_module(obj.__module__)
        anchors = {f"{obj.__module__}.{obj.__qualname__}", f"derivkit.{name}"}
        if not anchors & ids:
            missing.append((name, module.__name__))
    assert missing == []
    for module in ("derivkit.nn.activations", "derivkit.nn.losses", "derivkit.training.optim", "derivkit.rules",
                   "derivkit.errors", "derivkit.training.datasets"):
        assert module in ids, module


def test_api_reference_shows_the_doctested_examples(site: Path) -> None:
    text = (site / "api" / "derivatives" / "index.html").read_text(encoding="utf-8")
    examples = re.findall(r'<div class="highlight"><pre>.*?</pre>', text, re.S)
    assert len([e for e in examples if '<span class="gp">&gt;&gt;&gt; </span>' in e]) >= 2
    plain = html.unescape(re.sub(r"<[^>]+>", "", text))
    # derive's docstring example, as the doctest runs it
    assert '>>> derive("1/(1 + exp(-x))", "x").result\n(1 - sigmoid(x))*sigmoid(x)' in plain
    optim = html.unescape(re.sub(r"<[^>]+>", "", (site / "api" / "optim" / "index.html").read_text(encoding="utf-8")))
    assert "SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.0001)" in optim


def test_readable_titles() -> None:
    assert readable(r"\(G_O\) and \(G_H\)") == "G_O and G_H"
    assert readable(r"Too large: \(\alpha = 1\)") == "Too large: α = 1"
    assert readable(r"Linear scores \(s = W x + b\)") == "Linear scores s = W x + b"
    assert readable(r"\(\partial L/\partial W_1\)") == "∂L/∂W_1"
    assert readable("Costs $5 and $6") == "Costs $5 and $6"  # dollars are arithmatex's business, not the title's
    assert readable("plain") == "plain"


def test_docstrings_to_markdown() -> None:
    doc = "Intro.\n\n>>> x = 1\n>>> x + 1\n2\n\nThen :class:`~derivkit.Derivation` and :func:`derivkit.derive`."
    assert to_markdown(doc) == ("Intro.\n\n```pycon\n>>> x = 1\n>>> x + 1\n2\n```\n\n"
                                "Then ``Derivation`` and ``derivkit.derive``.")
    literal = "The update::\n\n    b = b - alpha g\n    c = 2\n\nAfter."
    assert to_markdown(literal) == "The update:\n\n```text\nb = b - alpha g\nc = 2\n```\n\nAfter."


# --- in a real browser -----------------------------------------------------------------------
# Chromium from the system (CI installs Debian's package); Playwright drives it. Nothing may
# be fetched from another host, every formula must be typeset with its glyphs, and no page
# may be wider than the window (wide equations and tables scroll inside the column).

BROWSER_PAGES = ["", "backprop/", "descent/", "training/", "gradient-jacobian-hessian/", "api/derivatives/"]


def _chromium() -> str:
    import shutil

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no Chromium on this machine (CI installs Debian's chromium package)")
    return path


@pytest.fixture(scope="module")
def served(site: Path):
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None  # type: ignore[assignment]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = _chromium()
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


RENDERED = """() => {
  const all = [...document.querySelectorAll('mjx-container')];
  const blank = all.filter(c => c.getBoundingClientRect().width === 0 && c.offsetParent !== null);
  return {formulas: all.length, blank: blank.length, errors: document.querySelectorAll('mjx-merror').length,
          raw: document.querySelectorAll('.arithmatex:not(:has(mjx-container))').length,
          tooWide: document.documentElement.scrollWidth > window.innerWidth};
}"""


@pytest.mark.parametrize("width", [1280, 420])
def test_pages_render_offline_in_a_browser(served: str, browser, width: int) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})
    elsewhere: list[str] = []

    def only_local(route, request):
        if request.url.startswith(served) or request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            elsewhere.append(request.url)
            route.abort()

    page.route("**/*", only_local)
    for path in BROWSER_PAGES:
        page.goto(served + path)
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000)
        page.evaluate("MathJax.startup.promise")
        page.wait_for_timeout(200)
        state = page.evaluate(RENDERED)
        if path in ("backprop/", "descent/", "gradient-jacobian-hessian/"):
            assert state["formulas"] > 20, (path, state)
        assert state["blank"] == 0 and state["errors"] == 0 and state["raw"] == 0, (path, state)
        assert not state["tooWide"], (path, width)
    page.close()
    assert elsewhere == []
