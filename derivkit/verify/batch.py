"""Grading many answers at once: :func:`check_many`, and batch files for autograders (:func:`check_file`).

An **item** is one problem: a mapping with the fields

* ``expr`` (the function; a list of functions for a Jacobian), ``claimed`` (the
  answer) and ``wrt`` (the variable or variables), all required;
* optionally ``at`` (a mapping of values by name: the answer is then a value),
  ``id`` (how the item is named in the report; else its line or position),
  ``kind``, ``order`` and ``latex`` as for :func:`derivkit.check`, or ``start``,
  ``lr`` and ``momentum`` for a table of descent iterates
  (:func:`derivkit.check_descent`).

Every item gets its own verdict; one malformed item (a missing field, an
answer that cannot be read, a point outside the domain, work past a budget)
is reported as malformed, **named** by its id or line, and the others are
still graded. The report's :attr:`BatchReport.exit_code` is what
``derivkit check --file`` exits with: 0 when every answer is right, 1 when one
is wrong (or could not be decided), 2 when an item is malformed.

A batch file is **JSON lines** (one JSON object per line; blank lines and lines
starting with ``#`` are skipped), a **JSON** array, or a **YAML** list of
mappings (read with PyYAML's safe loader: ``pip install 'derivkit[yaml]'``).
The format follows the file's extension (``.jsonl``/``.ndjson``, ``.json``,
``.yaml``/``.yml``); otherwise, and for standard input, it is recognised from
the first character (``{`` JSON lines, ``[`` JSON, else YAML).

>>> r = check_many([{"id": "q1", "expr": "x^2", "claimed": "2x", "wrt": "x"},
...                 {"id": "q2", "expr": "sin(x^2)", "claimed": "cos(x^2)", "wrt": "x"},
...                 {"id": "q3", "expr": "x^3", "wrt": "x"}])
>>> [(i.id, i.status) for i in r.items]
[('q1', 'right'), ('q2', 'wrong'), ('q3', 'malformed')]
>>> r.exit_code, r.items[2].error
(2, "missing field 'claimed' (every item needs expr, claimed and wrt)")
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from derivkit.errors import DerivkitError, InputError, LimitError, MissingDependencyError
from derivkit.renderable import Renderable, brief_repr

__all__ = ["check_many", "check_file", "read_items", "BatchReport", "BatchItem", "FIELDS", "MAX_ITEMS",
           "MAX_FILE_BYTES"]

#: The fields an item may have (``expr``, ``claimed`` and ``wrt`` are required).
FIELDS = ("id", "expr", "claimed", "wrt", "at", "kind", "order", "latex", "start", "lr", "momentum")
_REQUIRED = ("expr", "claimed", "wrt")
#: The most items one batch may hold.
MAX_ITEMS = 10_000
#: The largest batch file read, in bytes.
MAX_FILE_BYTES = 8 * 1024 * 1024
#: Statuses an item can have.
STATUSES = ("right", "wrong", "undecided", "malformed")


@dataclass(frozen=True)
class BatchItem:
    """One graded item: ``id`` (its own, or ``line N`` / ``item N``), ``index`` (0-based position),
    ``line`` (in the file, where known), ``status`` (one of ``right``, ``wrong``, ``undecided``,
    ``malformed``), the ``verdict`` (None when malformed) and the ``error`` (why it is malformed)."""

    id: str
    index: int
    status: str
    verdict: Any = None
    error: str | None = None
    line: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "right"

    @property
    def message(self) -> str:
        return self.verdict.message if self.verdict is not None else f"Malformed: {self.error}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "index": self.index, "line": self.line, "status": self.status,
                               "ok": self.ok, "message": self.message, "error": self.error}
        if self.verdict is not None:
            v = self.verdict.to_dict()
            v.pop("derivation", None)
            out["diagnosis"] = v["diagnosis"]
            out["verdict"] = v
        else:
            out["diagnosis"] = []
            out["verdict"] = None
        return out


@dataclass(frozen=True)
class BatchReport(Renderable):
    """The verdicts of a batch: ``items`` (one :class:`BatchItem` each, in order), the counts
    (``right``, ``wrong``, ``undecided``, ``malformed``), ``ok`` (every answer right), ``exit_code``
    and a one-line ``message``."""

    items: tuple[BatchItem, ...]
    source: str | None = None

    def __repr__(self) -> str:
        return brief_repr(self, items=len(self.items), right=self.right, wrong=self.wrong,
                          undecided=self.undecided, malformed=self.malformed)

    def count(self, status: str) -> int:
        return sum(1 for i in self.items if i.status == status)

    def check_printable(self, fmt: str = "json") -> None:
        """A report is as long as its items: the printing limit applies to each item's verdict."""
        for item in self.items:
            if isinstance(item.verdict, Renderable):
                item.verdict.check_printable(fmt)

    @property
    def right(self) -> int:
        return self.count("right")

    @property
    def wrong(self) -> int:
        return self.count("wrong")

    @property
    def undecided(self) -> int:
        return self.count("undecided")

    @property
    def malformed(self) -> int:
        return self.count("malformed")

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.items)

    def __bool__(self) -> bool:
        return self.ok

    @property
    def exit_code(self) -> int:
        """0 every answer right, 1 some answer wrong or undecided, 2 some item malformed."""
        if self.malformed:
            return 2
        return 0 if self.ok else 1

    @property
    def message(self) -> str:
        n = len(self.items)
        parts = [f"{self.count(s)} {s}" for s in STATUSES if self.count(s) or s in ("right", "wrong")]
        where = f" from {self.source}" if self.source else ""
        return f"Graded {n} item{'s' if n != 1 else ''}{where}: {', '.join(parts)}."

    def to_dict(self) -> dict[str, Any]:
        return {"summary": {"items": len(self.items), **{s: self.count(s) for s in STATUSES}, "ok": self.ok,
                            "exit_code": self.exit_code, "message": self.message, "source": self.source},
                "items": [i.to_dict() for i in self.items]}


# ---------------------------------------------------------------- grading

@dataclass(frozen=True)
class _Unreadable:
    """A line that could not be read: graded as a malformed item with this reason."""

    reason: str


def _label(item: Any, index: int, line: int | None) -> str:
    if isinstance(item, Mapping) and isinstance(item.get("id"), (str, int)) and not isinstance(item.get("id"), bool):
        return str(item["id"])
    return f"line {line}" if line is not None else f"item {index + 1}"


def _fields(item: Any) -> dict[str, Any]:
    """The item's fields, checked (an :class:`InputError` names what is wrong)."""
    if not isinstance(item, Mapping):
        raise InputError(f"an item must be a mapping with the fields expr, claimed and wrt, not {type(item).__name__}")
    unknown = [str(k) for k in item if k not in FIELDS]
    if unknown:
        raise InputError(f"unknown field {unknown[0]!r} (the fields are {', '.join(FIELDS)})")
    for f in _REQUIRED:
        if item.get(f) is None:
            raise InputError(f"missing field {f!r} (every item needs expr, claimed and wrt)")
    if "at" in item and item["at"] is not None and not isinstance(item["at"], Mapping):
        raise InputError("the field 'at' must be a mapping of values by name, such as {\"x\": 2}")
    if "id" in item and (isinstance(item["id"], bool) or not isinstance(item["id"], (str, int))):
        raise InputError("the field 'id' must be a string or a whole number")
    return dict(item)


def _grade(fields: dict[str, Any]) -> Any:
    if fields.get("start") is not None or fields.get("lr") is not None:
        from derivkit.verify.descent import check_descent

        if fields.get("start") is None or fields.get("lr") is None:
            raise InputError("a descent table needs both start and lr")
        return check_descent(fields["expr"], fields["wrt"], fields["start"], fields["lr"], fields["claimed"],
                             fields.get("momentum") or 0)
    from derivkit.verify.check import check

    return check(fields["expr"], fields["claimed"], fields["wrt"], at=fields.get("at"),
                 latex=bool(fields.get("latex", False)), kind=fields.get("kind"), order=fields.get("order") or 1)


def _status(verdict: Any) -> str:
    if verdict.ok:
        return "right"
    return "undecided" if verdict.method == "undecided" else "wrong"


def _one(item: Any, index: int, line: int | None, seen: dict[str, str]) -> BatchItem:
    label = _label(item, index, line)
    where = f"line {line}" if line is not None else f"item {index + 1}"
    if isinstance(item, _Unreadable):
        return BatchItem(label, index, "malformed", error=item.reason, line=line)
    try:
        fields = _fields(item)
        if "id" in fields:
            if label in seen:
                raise InputError(f"the id {label!r} is used twice (first at {seen[label]})")
            seen[label] = where
        verdict = _grade(fields)
    except DerivkitError as err:
        return BatchItem(label, index, "malformed", error=str(err), line=line)
    except (ValueError, TypeError, ArithmeticError, RecursionError, NotImplementedError, AttributeError) as err:
        # SymPy can fail on inputs derivkit accepted; the item is reported, the batch goes on.
        return BatchItem(label, index, "malformed", error=f"derivkit could not check this item ({type(err).__name__}: {err})",
                         line=line)
    return BatchItem(label, index, _status(verdict), verdict=verdict, line=line)


def _graded(entries: Sequence[tuple[int | None, Any]], source: str | None) -> BatchReport:
    if len(entries) > MAX_ITEMS:
        raise LimitError(f"the batch has {len(entries)} items; the limit is {MAX_ITEMS} (split it into smaller files)",
                         limit="size", value=MAX_ITEMS)
    seen: dict[str, str] = {}
    return BatchReport(tuple(_one(item, k, line, seen) for k, (line, item) in enumerate(entries)), source)


def check_many(items: Iterable[Mapping[str, Any]]) -> BatchReport:
    """Check many answers, one :func:`derivkit.check` (or :func:`derivkit.check_descent`) per item.

    ``items`` is an iterable of mappings (see the module notes for the fields).
    A malformed item is reported and named; the others are still graded.

    >>> r = check_many([{"expr": "x^2", "claimed": "2x", "wrt": "x"}, {"expr": "x^2", "claimed": 5, "wrt": "x", "at": {"x": 2}}])
    >>> r.message, r.exit_code
    ('Graded 2 items: 1 right, 1 wrong.', 1)
    """
    if isinstance(items, (str, bytes, Mapping)):
        raise InputError("check_many takes a list of items (mappings with expr, claimed and wrt); "
                         "to read a batch file use check_file(path)")
    return _graded([(None, item) for item in items], None)


# ---------------------------------------------------------------- reading files

def _json_lines(text: str) -> list[tuple[int | None, Any]]:
    out: list[tuple[int | None, Any]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            out.append((number, json.loads(line)))
        except json.JSONDecodeError as err:
            out.append((number, _Unreadable(f"line {number} is not valid JSON: {err.msg} (column {err.colno})")))
    return out


def _yaml(text: str) -> list[tuple[int | None, Any]]:
    try:
        import yaml
    except ImportError:
        raise MissingDependencyError("pyyaml", "yaml", "reading a YAML batch file") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"the YAML batch file cannot be read{where}: {getattr(err, 'problem', None) or err}") from None
    if data is None:
        return []
    if not isinstance(data, list):
        raise InputError("a YAML batch file is a list of items (each line starting with '- '), "
                         f"not a {type(data).__name__}")
    lines = [n.start_mark.line + 1 for n in node.value] if isinstance(node, yaml.SequenceNode) else [None] * len(data)
    return list(zip(lines, data))


def _json_array(text: str) -> list[tuple[int | None, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"the JSON batch file cannot be read: {err.msg} at line {err.lineno}, column {err.colno}") from None
    if not isinstance(data, list):
        raise InputError(f"a JSON batch file is a list of items, not a {type(data).__name__}")
    return [(None, item) for item in data]


def read_items(text: str, format: str | None = None) -> list[tuple[int | None, Any]]:
    """The items of a batch file's text as ``(line, item)`` pairs (``format``: ``jsonl``, ``json``, ``yaml``, or None to recognise it).

    >>> read_items('{"expr": "x^2", "claimed": "2x", "wrt": "x"}\\n\\n{"expr": "x^3", "claimed": "3x^2", "wrt": "x"}')
    [(1, {'expr': 'x^2', 'claimed': '2x', 'wrt': 'x'}), (3, {'expr': 'x^3', 'claimed': '3x^2', 'wrt': 'x'})]
    """
    if format is None:
        first = text.lstrip()[:1]
        format = "jsonl" if first == "{" else "json" if first == "[" else "yaml"
    readers = {"jsonl": _json_lines, "json": _json_array, "yaml": _yaml}
    if format not in readers:
        raise InputError(f"unknown batch format {format!r}; choose one of jsonl, json, yaml")
    return readers[format](text)


_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}


def _text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LimitError(f"the batch file {path} has {size} bytes; the limit is {MAX_FILE_BYTES}",
                             limit="size", value=MAX_FILE_BYTES, part=str(path))
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"no such batch file: {path}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"the batch file {path} cannot be read: {err}") from None


def check_file(path: str | Path, format: str | None = None, text: str | None = None) -> BatchReport:
    """Grade a batch file (JSON lines, JSON or YAML; see the module notes).

    ``text`` gives the file's content directly (standard input), ``path`` then only names it.
    """
    p = Path(path)
    if text is None:
        text = _text(p)
    elif len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise LimitError(f"the batch has more than {MAX_FILE_BYTES} bytes, the limit", limit="size", value=MAX_FILE_BYTES)
    if format is None:
        format = _EXTENSIONS.get(p.suffix.lower())
    if format == "json" and text.lstrip()[:1] == "{":
        format = "jsonl"  # one object per line, named .json
    return _graded(read_items(text, format), str(path))
