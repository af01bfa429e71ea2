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

# arithmatex (generic mode) writes inline maths as \( ... \); a title may also keep $ ... $
MATH = re.compile(r"\\\((.+?)\\\)|(?<![\\$])\$(?!\$)(.+?)(?<!\\)\$")
# a control word eats the space after it in TeX ("\alpha = 1" is "α= 1"); keep the space
CONTROL_WORD_SPACE = re.compile(r"(\\[A-Za-z]+) ")

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
        tex = m.group(1) if m.group(1) is not None else m.group(2)
        out = _to_text.latex_to_text(CONTROL_WORD_SPACE.sub(r"\1{} ", tex))
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
