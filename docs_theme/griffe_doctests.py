"""A griffe extension: derivkit's reST-flavoured docstrings as Markdown for the API reference.

derivkit's docstrings are written for ``help()`` and doctest: examples as
``>>>`` blocks, ``::`` literal blocks and roles such as ``:func:`descend```.
Markdown would read a ``>>>`` block as nested quotes, so this extension turns

* each doctest block (``>>>`` and ``...`` lines with the output below them, up
  to a blank line) into a fenced ``pycon`` block, which the site highlights,
* each ``::`` literal block into a fenced block,
* each role into inline code (``:class:`~derivkit.Derivation``` -> ``Derivation``).

Nothing else changes; the doctests themselves run in the test suite.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:func|class|mod|meth|data|attr|exc|obj|const):`(~?)([^`]+)`")


def _role(m: re.Match[str]) -> str:
    target = m.group(2)
    return f"``{target.rsplit('.', 1)[-1] if m.group(1) else target}``"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def to_markdown(text: str) -> str:
    """The docstring ``text`` with doctest and literal blocks fenced and roles as code.

    >>> print(to_markdown("Example::\\n\\n    a = 1\\n\\n>>> 1 + 1\\n2\\n\\nSee :func:`~derivkit.descend`."))
    Example:
    <BLANKLINE>
    ```text
    a = 1
    ```
    <BLANKLINE>
    ```pycon
    >>> 1 + 1
    2
    ```
    <BLANKLINE>
    See ``descend``.
    """
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if stripped.startswith(">>>"):
            pad = line[: _indent(line)]
            out.append(pad + "```pycon")
            while i < len(lines) and lines[i].strip():
                out.append(pad + lines[i][len(pad):])
                i += 1
            out.append(pad + "```")
            continue
        if stripped.endswith("::") and not stripped.startswith(".."):
            # a literal block: the indented lines after a blank line
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            base = _indent(line)
            if j < len(lines) and _indent(lines[j]) > base:
                head = ROLE.sub(_role, line[:-1])
                out.append(head if not head.endswith(" :") else head[:-2] + ":")
                out.append("")
                inner = _indent(lines[j])
                block: list[str] = []
                k = j
                while k < len(lines) and (not lines[k].strip() or _indent(lines[k]) >= inner):
                    block.append(lines[k][inner:])
                    k += 1
                while block and not block[-1].strip():
                    block.pop()
                pad = " " * base
                out.extend([pad + "```text", *(pad + b if b else "" for b in block), pad + "```", ""])
                i = k
                continue
        out.append(ROLE.sub(_role, line))
        i += 1
    return "\n".join(out)


class DoctestBlocks(griffe.Extension):
    """Rewrite every docstring with :func:`to_markdown` as the objects are loaded."""

    def on_instance(self, *, node: Any, obj: griffe.Object, agent: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
