"""Exceptions raised by derivkit.

Every error derivkit raises on purpose is a :class:`DerivkitError`, so a caller
(or the command line) can catch them all at once. Messages are written for a
student: they name the problem and, where there is one, the offending place.

>>> from derivkit.errors import ParseError
>>> err = ParseError("unknown function 'foo'", text="foo(x)", position=0)
>>> isinstance(err, ValueError)
True
>>> print(err)
unknown function 'foo'
  foo(x)
  ^
"""

from __future__ import annotations

__all__ = [
    "DerivkitError",
    "ParseError",
    "InputError",
    "ShapeError",
    "DomainError",
    "LimitError",
    "ParseLimitError",
    "MissingDependencyError",
]


class DerivkitError(Exception):
    """Base class of every error derivkit raises deliberately."""


class InputError(DerivkitError, ValueError):
    """An argument is malformed: a missing variable, a cyclic chain, a bad label."""


class ParseError(InputError):
    """A string could not be read as an expression, or was refused as unsafe.

    ``text`` is the input and ``position`` the 0-based index of the offending
    character (``None`` when no single place is to blame); the message then
    shows the input with a caret under that place.
    """

    def __init__(self, message: str, text: str | None = None, position: int | None = None):
        self.reason = message
        self.text = text
        self.position = position
        if text is not None and position is not None and "\n" not in text and len(text) <= 200:
            pos = max(0, min(position, len(text)))
            message = f"{message}\n  {text}\n  {' ' * pos}^"
        super().__init__(message)


class ShapeError(InputError):
    """Matrix or array shapes do not fit; the message names the node and the shapes."""


class DomainError(InputError):
    """A value lies outside the domain where a formula holds (e.g. ``log`` of a negative)."""


class LimitError(InputError):
    """Work on user input would exceed one of derivkit's budgets, and was refused or stopped.

    ``limit`` names the budget (``"time"``, ``"memory"``, ``"size"``, ``"order"``, ...),
    ``value`` its setting (seconds, bytes, a count) and ``part`` the piece of input
    that would exceed it, when one can be named. The message says all three in words.

    >>> err = LimitError("the derivative of order 80 is refused: the limit is 50", limit="order", value=50)
    >>> err.limit, err.value, isinstance(err, InputError)
    ('order', 50, True)
    """

    def __init__(self, message: str, limit: str = "time", value: object = None, part: str | None = None):
        self.limit = limit
        self.value = value
        self.part = part
        super().__init__(message)


class ParseLimitError(ParseError, LimitError):
    """A formula refused by one of the parser's size limits: both a :class:`ParseError`
    (pointing at the place) and a :class:`LimitError` (naming the limit).

    >>> err = ParseLimitError("number too long", "9999", 0, limit="digits", value=4000)
    >>> isinstance(err, ParseError), isinstance(err, LimitError), err.limit, err.position
    (True, True, 'digits', 0)
    """

    def __init__(self, message: str, text: str | None = None, position: int | None = None, *,
                 limit: str = "length", value: object = None, part: str | None = None):
        ParseError.__init__(self, message, text, position)
        self.limit = limit
        self.value = value
        self.part = part


class MissingDependencyError(DerivkitError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""

    def __init__(self, package: str, extra: str, feature: str):
        self.package = package
        self.extra = extra
        super().__init__(
            f"{feature} needs the optional package '{package}': "
            f"install it with  pip install 'derivkit[{extra}]'"
        )
