"""The HTML pages: one per endpoint, each a form made from the endpoint's fields.

A page is static HTML (no template engine): the header and navigation, the form
(one input per field of the endpoint record, the advanced ones under "More
options"), example links, and an empty result area that ``static/app.js``
fills from the JSON API. The inputs travel in the query string, so a page with
its inputs is a link to share: ``/derive?expr=sigmoid(x)`` opens with that
derivation worked.

>>> html = page("derive")
>>> '<form id="form" data-endpoint="derive"' in html and 'name="expr"' in html
True
>>> example_url("derive", {"expr": "(3x - 2)^2", "at": "x=2"})
'/derive?expr=%283x+-+2%29%5E2&at=x%3D2'
"""

from __future__ import annotations

from html import escape
from typing import Any, Mapping
from urllib.parse import urlencode

from derivkit import __version__
from derivkit.web.endpoints import ENDPOINTS, Endpoint
from derivkit.web.fields import KINDS, Field

__all__ = ["page", "index", "example_url", "PAGE_DEFAULTS"]

#: Where a page's form starts differently from the API's defaults.
PAGE_DEFAULTS: dict[str, dict[str, Any]] = {"descend": {"plot": True}}

_BUTTONS = {"derive": "Derive", "check": "Check my answer", "chain": "Work the chain", "descend": "Descend",
            "backprop": "Backpropagate", "exercises": "Make the sheet"}


def example_url(name: str, body: Mapping[str, Any]) -> str:
    """The page's URL with ``body`` in its query string (lists one item per line, booleans 1/0)."""
    query = {}
    for key, value in body.items():
        if isinstance(value, bool):
            value = "1" if value else "0"
        elif isinstance(value, list):
            value = "\n".join(map(str, value))
        query[key] = str(value)
    return f"/{name}?{urlencode(query)}"


def _input(f: Field, default: Any) -> str:
    widget = KINDS[f.kind].widget
    attrs = f'name="{escape(f.name)}" id="f-{escape(f.name)}"'
    title = f' title="{escape(f.help)}"' if f.help else ""
    if widget == "checkbox":
        checked = " checked" if default else ""
        return f'<label class="check"{title}><input type="checkbox" {attrs}{checked}> {escape(f.label or f.name)}</label>'
    label = f'<label for="f-{escape(f.name)}"{title}>{escape(f.label or f.name)}</label>'
    placeholder = f' placeholder="{escape(f.placeholder)}"' if f.placeholder else ""
    required = " required" if f.required else ""
    if widget == "select":
        options = "".join(
            f'<option value="{escape(str(c))}"{" selected" if c == default else ""}>{escape(str(c) or "default")}</option>'
            for c in f.choices
        )
        control = f"<select {attrs}>{options}</select>"
    elif widget == "textarea":
        control = f'<textarea {attrs} rows="4" spellcheck="false"{placeholder}{required}></textarea>'
    elif widget == "number":
        bounds = "".join(f' {k}="{v}"' for k, v in (("min", f.minimum), ("max", f.maximum)) if v is not None)
        value = f' value="{default}"' if default is not None else ""
        control = f'<input type="number" {attrs}{bounds}{value}{required}>'
    else:
        value = default if isinstance(default, str) else ",".join(map(str, default)) if isinstance(default, list) else ""
        value_attr = f' value="{escape(value)}"' if value else ""
        control = (f'<input type="text" {attrs} autocomplete="off" autocapitalize="off" spellcheck="false"'
                   f'{placeholder}{value_attr}{required}>')
    return f'<div class="field field-{widget}">{label}{control}</div>'


def _form(e: Endpoint) -> str:
    defaults = {f.name: f.default for f in e.fields} | PAGE_DEFAULTS.get(e.name, {})
    main = "".join(_input(f, defaults[f.name]) for f in e.fields if not f.advanced)
    more = "".join(_input(f, defaults[f.name]) for f in e.fields if f.advanced)
    details = f'<details class="more"><summary>More options</summary><div class="fields">{more}</div></details>' if more else ""
    return (
        f'<form id="form" data-endpoint="{e.name}" autocomplete="off">'
        f'<div class="fields">{main}</div>{details}'
        f'<div class="actions"><button type="submit" id="submit">{_BUTTONS[e.name]}</button>'
        f'<span class="status" id="status" role="status"></span></div></form>'
    )


def _examples(e: Endpoint) -> str:
    links = " · ".join(f'<a href="{escape(example_url(e.name, body))}">{escape(label)}</a>' for label, body in e.examples)
    return f'<p class="examples">Try: {links}</p>' if links else ""


def _layout(title: str, current: str, content: str) -> str:
    here = ' aria-current="page"'
    nav = "".join(
        f'<a href="/{n}"{here if n == current else ""}>{escape(e.title)}</a>' for n, e in ENDPOINTS.items()
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · derivkit</title>
<link rel="stylesheet" href="/static/katex/katex.min.css">
<link rel="stylesheet" href="/static/app.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<script defer src="/static/katex/katex.min.js"></script>
<script defer src="/static/app.js"></script>
</head>
<body>
<header><a class="brand" href="/">derivkit</a><nav>{nav}</nav></header>
<main>
{content}
</main>
<footer>derivkit {escape(__version__)} · the calculus of deep learning, worked step by step ·
<a href="/api/openapi.json">JSON API (OpenAPI)</a></footer>
</body>
</html>
"""


def page(name: str) -> str:
    """The HTML of the page for endpoint ``name``."""
    e = ENDPOINTS[name]
    content = (
        f"<h1>{escape(e.title)}</h1><p class=\"summary\">{escape(e.summary)}</p>"
        f"{_form(e)}{_examples(e)}"
        f'<section id="result" aria-live="polite"></section>'
    )
    return _layout(e.title, name, content)


def index() -> str:
    """The start page: what each page does, with an example link."""
    cards = "".join(
        f'<li><a class="card" href="/{n}"><strong>{escape(e.title)}</strong><span>{escape(e.summary)}</span></a>'
        + (f' <a class="try" href="{escape(example_url(n, e.examples[0][1]))}">example: {escape(e.examples[0][0])}</a>'
           if e.examples else "")
        + "</li>"
        for n, e in ENDPOINTS.items()
    )
    content = (
        "<h1>The calculus of deep learning, worked step by step</h1>"
        "<p class=\"summary\">Every step names its rule; wrong answers are diagnosed; networks are "
        "backpropagated at the matrix level and compiled to NumPy. Everything runs on this machine.</p>"
        f'<ul class="cards">{cards}</ul>'
    )
    return _layout("derivkit", "", content)
