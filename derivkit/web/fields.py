"""The fields of a request body: one record per kind of value, used three ways.

A :class:`Field` says what one key of a JSON body holds. Its kind (one record of
:data:`KINDS`) knows how to check a value (a wrong type is refused with a
message naming the field), its JSON Schema (for the OpenAPI description) and how
the page asks for it (an ``<input>``, a checkbox, a list, a text area). Values
are only checked for their *shape* here; expressions stay strings until
derivkit's safe parser reads them inside a worker.

>>> f = Field("order", "integer", default=1, minimum=1, maximum=50)
>>> f.check(3), f.check(None)
(3, 1)
>>> f.check("three")
Traceback (most recent call last):
...
derivkit.errors.InputError: 'order' must be a whole number, not 'three'
>>> read_body({"expr": "x^2"}, (Field("expr", "expr", required=True), f))
{'expr': 'x^2', 'order': 1}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from derivkit.errors import InputError, LimitError

__all__ = ["Field", "Kind", "KINDS", "read_body"]

_SCALAR = {"type": ["string", "number"]}


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_scalar(v: Any) -> bool:
    return isinstance(v, str) or _is_number(v)


def _text(f: "Field", v: Any) -> Any:
    if not isinstance(v, str):
        raise f.error(f"must be a string, not {_json_type(v)}")
    return v


def _expr(f: "Field", v: Any) -> Any:
    if not _is_scalar(v):
        raise f.error(f"must be a formula (a string) or a number, not {_json_type(v)}")
    return v


def _integer(f: "Field", v: Any) -> Any:
    if isinstance(v, str) and v.strip().lstrip("-").isdigit():
        v = int(v.strip())
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, int) or isinstance(v, bool):
        raise f.error(f"must be a whole number, not {v!r}")
    if f.minimum is not None and v < f.minimum:
        raise f.error(f"must be at least {f.minimum}, not {v}")
    if f.maximum is not None and v > f.maximum:
        raise f.over(f"must be at most {f.maximum}, not {v}")
    return v


def _boolean(f: "Field", v: Any) -> Any:
    if not isinstance(v, bool):
        raise f.error(f"must be true or false, not {v!r}")
    return v


def _choice(f: "Field", v: Any) -> Any:
    if v not in f.choices:
        raise f.error(f"must be one of {', '.join(map(str, f.choices))}, not {v!r}")
    return v


def _names(f: "Field", v: Any) -> Any:
    if isinstance(v, str):
        return v
    if isinstance(v, list) and v and all(isinstance(s, str) for s in v):
        return v
    raise f.error(f'must be a variable name, names separated by commas ("x1,x2") or a list of names, not {v!r}')


def _values(f: "Field", v: Any) -> Any:
    if isinstance(v, str):
        return v
    if isinstance(v, dict) and all(_is_scalar(x) for x in v.values()):
        return v
    raise f.error('must map variable names to numbers, e.g. {"x": 2, "y": "1/3"}, or be a string "x=2, y=1/3"')


def _claim(f: "Field", v: Any) -> Any:
    def ok(x: Any, depth: int) -> bool:
        if _is_scalar(x):
            return True
        return isinstance(x, list) and depth < 2 and bool(x) and all(ok(y, depth + 1) for y in x)

    if not ok(v, 0):
        raise f.error("must be a formula, a number, or a list (or list of lists) of them")
    return v


def _point(f: "Field", v: Any) -> Any:
    if _is_scalar(v):
        return v
    if isinstance(v, list) and v and all(_is_scalar(x) for x in v):
        return v
    if isinstance(v, dict) and v and all(_is_scalar(x) for x in v.values()):
        return v
    raise f.error('must be a number, a list of numbers in the order of wrt, or a map such as {"x1": 1, "x2": 2}')


def _equations(f: "Field", v: Any) -> Any:
    if isinstance(v, dict) and v and all(isinstance(k, str) and _is_scalar(x) for k, x in v.items()):
        return v
    if isinstance(v, list) and v and all(isinstance(x, str) for x in v):
        return v
    raise f.error('must map names to formulas in order ({"y": "3*x - 2", "z": "y^2"}) '
                  'or list equations (["y = 3*x - 2", "z = y^2"])')


def _sizes(f: "Field", v: Any) -> Any:
    if isinstance(v, str):
        parts = [p.strip() for p in v.split(",")]
        if not all(p.isdigit() for p in parts):
            raise f.error(f"must list layer sizes such as 2,3,1, not {v!r}")
        v = [int(p) for p in parts]
    if not isinstance(v, list) or not all(isinstance(s, int) and not isinstance(s, bool) for s in v):
        raise f.error(f"must list layer sizes such as [2, 3, 1], not {v!r}")
    if f.maximum is not None and len(v) > f.maximum:
        raise f.over(f"may list at most {f.maximum} layer sizes, not {len(v)}")
    return v


@dataclass(frozen=True)
class Kind:
    """A kind of value: how to check it, its JSON Schema, and its form widget."""

    check: Callable[["Field", Any], Any]
    schema: Mapping[str, Any]
    widget: str  # "text", "textarea", "number", "checkbox", "select"


KINDS: dict[str, Kind] = {
    "text": Kind(_text, {"type": "string"}, "text"),
    "expr": Kind(_expr, _SCALAR, "text"),
    "integer": Kind(_integer, {"type": "integer"}, "number"),
    "boolean": Kind(_boolean, {"type": "boolean"}, "checkbox"),
    "choice": Kind(_choice, {"type": "string"}, "select"),
    "names": Kind(_names, {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}, "text"),
    "values": Kind(
        _values,
        {"oneOf": [{"type": "string"}, {"type": "object", "additionalProperties": _SCALAR}]},
        "text",
    ),
    "claim": Kind(
        _claim,
        {"oneOf": [_SCALAR, {"type": "array", "items": {"oneOf": [_SCALAR, {"type": "array", "items": _SCALAR}]}}]},
        "text",
    ),
    "point": Kind(
        _point,
        {"oneOf": [_SCALAR, {"type": "array", "items": _SCALAR}, {"type": "object", "additionalProperties": _SCALAR}]},
        "text",
    ),
    "equations": Kind(
        _equations,
        {"oneOf": [{"type": "object", "additionalProperties": _SCALAR}, {"type": "array", "items": {"type": "string"}}]},
        "textarea",
    ),
    "sizes": Kind(
        _sizes, {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "integer", "minimum": 1}}]}, "text"
    ),
}


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    return {bool: "true/false", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(v), type(v).__name__)


@dataclass(frozen=True)
class Field:
    """One key of a request body.

    ``label`` and ``placeholder`` are what the page shows; ``help`` is the
    description in the OpenAPI document and the page's tooltip; ``example`` is
    the value of the endpoint's example body.
    """

    name: str
    kind: str
    required: bool = False
    default: Any = None
    help: str = ""
    label: str = ""
    placeholder: str = ""
    example: Any = None
    choices: tuple[Any, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    advanced: bool = False  # shown in the page's "more options" part

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown field kind {self.kind!r}")

    def error(self, what: str) -> InputError:
        return InputError(f"'{self.name}' {what}")

    def over(self, what: str) -> LimitError:
        """A value past the server's bound for this field (HTTP 422, the limit named after the field)."""
        return LimitError(f"'{self.name}' {what} (a limit of this server)", limit=self.name, value=self.maximum)

    def check(self, value: Any) -> Any:
        """The value after checking its shape; a missing (or null) value gets the default."""
        if value is None:
            if self.required:
                raise self.error("is required")
            return self.default
        return KINDS[self.kind].check(self, value)

    def schema(self) -> dict[str, Any]:
        """The field's JSON Schema (with its description, default, bounds, choices)."""
        out = dict(KINDS[self.kind].schema)
        if self.help:
            out["description"] = self.help
        if self.choices:
            out["enum"] = list(self.choices)
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None and self.kind == "integer":
            out["maximum"] = self.maximum
        if self.default is not None:
            out["default"] = self.default
        if self.example is not None:
            out["example"] = self.example
        return out


def read_body(body: Any, fields: Sequence[Field]) -> dict[str, Any]:
    """Check a decoded JSON body against ``fields``: every known key checked, no unknown key.

    >>> read_body({"expr": "x", "oops": 1}, (Field("expr", "expr"),))
    Traceback (most recent call last):
    ...
    derivkit.errors.InputError: unknown field 'oops' (this endpoint takes: expr)
    """
    if not isinstance(body, dict):
        raise InputError(f"the request body must be a JSON object, not {_json_type(body)}")
    known = {f.name for f in fields}
    for key in body:
        if key not in known:
            raise InputError(f"unknown field {key!r} (this endpoint takes: {', '.join(f.name for f in fields)})")
    return {f.name: f.check(body.get(f.name)) for f in fields}
