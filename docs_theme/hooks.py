"""MkDocs hooks of derivkit's documentation.

Headings may hold inline maths (``## $G_O$ and $G_H$``). In the page MathJax
typesets it, but the table of contents, the page title (the browser tab) and
the search index take the heading as plain text, where it would read
``\\(G_O\\) and \\(G_H\\)``. This hook writes those titles as readable text
instead (``G_O and G_H``, ``Just right: α = 0.1``), with pylatexenc's
LaTeX-to-Unicode translation.
"""

from __future__ import annotations

import re
from typing import Any

from pylatexenc.latex2text import LatexNodes2Text

# arithmatex (generic mode) writes inline maths as \( ... \)
MATH = re.compile(r"\\\((.+?)\\\)")
# TeX spaces relations itself, so "\alpha = 1" comes back as "α= 1": space them again
RELATION = re.compile(r"\s*([=<>≤≥≈≠→])\s*")

_to_text = LatexNodes2Text(math_mode="text")


def readable(title: str) -> str:
    r"""``title`` with each inline formula written as plain text.

    >>> readable(r"\(G_O\) and \(G_H\)")
    'G_O and G_H'
    >>> readable(r"Just right: \(\alpha = 0.1\)")
    'Just right: α = 0.1'
    >>> readable("No maths")
    'No maths'
    """

    def text(m: re.Match[str]) -> str:
        out = RELATION.sub(r" \1 ", _to_text.latex_to_text(m.group(1)))
        return " ".join(out.split())

    return MATH.sub(text, title)


def _fix_toc(items: Any) -> None:
    for item in items:
        item.title = readable(item.title)
        _fix_toc(item.children)


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    _fix_toc(page.toc)
    if page.title:
        page.title = readable(page.title)
    return html
