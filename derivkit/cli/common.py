"""Options, argument types and helpers shared by the subcommands.

Argument types (``type=`` of :meth:`argparse.ArgumentParser.add_argument`) turn a
bad value into argparse's one-line error and exit status 2, naming the option:
:func:`whole` and :func:`real` for numbers with their bounds (a bound that is a
limit of derivkit says so), :func:`expression` for formulas, which may also be
read from standard input (``-``) or from a file (``@FILE``), and
:func:`exact_number` for values kept exact as typed.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from derivkit.errors import InputError, MissingDependencyError
from derivkit.renderable import FORMATS

__all__ = [
    "EXIT_OK", "EXIT_WRONG", "EXIT_BAD_INPUT", "EXIT_BUG", "EXIT_INTERRUPTED",
    "add_format", "add_latex_input", "add_at", "parse_values", "emit", "print_ascii_safe",
    "whole", "real", "exact_number", "exact_in", "number_text", "expression", "Expressions", "logical_lines",
    "reset_input", "layer_sizes", "MAX_INPUT_CHARS", "check_writable", "require",
]

#: Exit statuses of every command (stated in ``derivkit --help`` and the README).
EXIT_OK = 0            #: done; a checked answer is right
EXIT_WRONG = 1         #: a check found the claimed answer wrong
EXIT_BAD_INPUT = 2     #: bad input, or work refused at one of derivkit's limits
EXIT_BUG = 3           #: an internal error: a bug in derivkit
EXIT_INTERRUPTED = 130  #: stopped with Ctrl-C

#: The most characters read from standard input or from an ``@FILE``.
MAX_INPUT_CHARS = 1_000_000

_NOT_FINITE = re.compile(r"[+-]?(nan|inf|infinity|oo|zoo)", re.IGNORECASE)


# --- options used by several commands ------------------------------------------------------

def add_format(parser: argparse.ArgumentParser, choices: Sequence[str] = FORMATS) -> None:
    parser.add_argument("--format", "-f", choices=choices, default="text",
                        help=f"output format: {', '.join(choices)} (default: text)")


def add_latex_input(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--latex-input", action="store_true", help="read the expressions as LaTeX")


def add_at(parser: argparse.ArgumentParser, what: str = "the point") -> None:
    parser.add_argument("--at", metavar="x=2[,y=1]", help=f"evaluate at {what}, e.g. --at x1=2,x2=1")


def parse_values(text: str | None, option: str = "--at") -> dict[str, str]:
    """``"x1=2, x2=1/3"`` -> ``{"x1": "2", "x2": "1/3"}`` (values are parsed later, safely).

    >>> parse_values("x1=2, x2=1/3")
    {'x1': '2', 'x2': '1/3'}
    >>> parse_values("x=nan")
    Traceback (most recent call last):
    ...
    derivkit.errors.InputError: x=nan in --at is not a number: give a finite value, such as x=2, x=-1/2 or x=0.5
    """
    if not text:
        return {}
    out: dict[str, str] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise InputError(f"expected name=value in {option}, got {part!r}")
        if not name.isidentifier():
            raise InputError(f"{name!r} in {option} is not a variable name")
        if name in out:
            raise InputError(f"'{name}' is given twice in {option}")
        if _NOT_FINITE.fullmatch(value):
            raise InputError(f"{name}={value} in {option} is not a number: give a finite value, "
                             f"such as {name}=2, {name}=-1/2 or {name}=0.5")
        out[name] = value
    return out


# --- output ----------------------------------------------------------------------------------

def print_ascii_safe(text: str, *, json_text: bool = False, file: Any = None) -> None:
    """Print ``text``; JSON that the stream cannot encode is written with ``\\uXXXX`` escapes.

    (Other text is spelled in ASCII by the stream itself: :func:`derivkit.cli.ascii.install`.)
    """
    from derivkit.cli.ascii import can_encode

    stream = sys.stdout if file is None else file
    if json_text and not can_encode(stream, text):
        import json

        text = json.dumps(json.loads(text), indent=2, ensure_ascii=True)
    print(text, file=stream)


def emit(obj: Any, fmt: str) -> None:
    """Print ``obj`` rendered in ``fmt``."""
    print_ascii_safe(obj.render(fmt), json_text=fmt == "json")


# --- argument types --------------------------------------------------------------------------

def _typed(fn: Callable[[str], Any], name: str) -> Callable[[str], Any]:
    fn.__name__ = name  # argparse names the type in messages it writes itself
    return fn


def whole(minimum: int, maximum: int | None = None, *, limit: str | None = None) -> Callable[[str], int]:
    """An argument type: a whole number from ``minimum`` to ``maximum``.

    ``limit`` names what the maximum protects (it is then one of derivkit's limits).

    >>> steps = whole(0, 1000, limit="the longest table derivkit prints")
    >>> steps("20")
    20
    >>> steps("1000000000")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: 1000000000 is over the limit of 1,000 (the longest table derivkit prints)
    """

    def convert(text: str) -> int:
        s = text.strip()
        if not re.fullmatch(r"[+-]?\d+", s):
            kind = "a whole number" if minimum < 0 else f"a whole number of at least {minimum}"
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}")
        if len(s.lstrip("+-")) > 100:  # beyond any bound; int() of thousands of digits is refused anyway
            value, shown = (-1 if s.startswith("-") else 1) * 10**100, s[:20] + "..."
        else:
            value = int(s)
            shown = str(value)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {shown}")
        if maximum is not None and value > maximum:
            if limit:
                raise argparse.ArgumentTypeError(f"{shown} is over the limit of {maximum:,} ({limit})")
            raise argparse.ArgumentTypeError(f"must be at most {maximum:,}, got {shown}")
        return value

    return _typed(convert, "whole number")


def real(minimum: float | None = None, maximum: float | None = None, *,
         above: bool = False, below: bool = False) -> Callable[[str], float]:
    """An argument type: a finite number in ``[minimum, maximum]``.

    ``above`` and ``below`` make the bounds strict (``minimum < x``, ``x < maximum``).

    >>> rate = real(0, above=True)
    >>> rate("0.01")
    0.01
    >>> rate("nan")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a finite number, got 'nan'
    >>> rate("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be greater than 0, got 0
    """

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text.strip()!r}")
        shown = text.strip()
        if minimum is not None and (value <= minimum if above else value < minimum):
            raise argparse.ArgumentTypeError(
                f"must be {'greater than' if above else 'at least'} {minimum:g}, got {shown}")
        if maximum is not None and (value >= maximum if below else value > maximum):
            raise argparse.ArgumentTypeError(
                f"must be {'less than' if below else 'at most'} {maximum:g}, got {shown}")
        return value

    return _typed(convert, "number")


def exact_number(text: str) -> str:
    """An argument type: a number kept as typed (``0.01``, ``1/3``), parsed exactly later.

    >>> exact_number("0.01")
    '0.01'
    >>> exact_number("inf")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a finite number, got 'inf'
    """
    try:
        return number_text(text)
    except InputError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def exact_in(minimum: float, maximum: float | None = None, *, above: bool = False,
             below: bool = False) -> Callable[[str], str]:
    """An argument type: :func:`exact_number` within bounds (``above``/``below``: strict).

    Values the bounds cannot judge without the parser (``sqrt(2)/2``) are left to the library.

    >>> momentum = exact_in(0, 1, below=True)
    >>> momentum("1/2")
    '1/2'
    >>> momentum("1.5")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be less than 1, got 1.5
    """
    def convert(text: str) -> str:
        from fractions import Fraction

        s = exact_number(text)
        try:
            value = Fraction(s)
        except (ValueError, ZeroDivisionError):
            return s
        if value < minimum or (above and value == minimum):
            raise argparse.ArgumentTypeError(f"must be {'greater than' if above else 'at least'} {minimum:g}, got {s}")
        if maximum is not None and (value > maximum or (below and value == maximum)):
            raise argparse.ArgumentTypeError(f"must be {'less than' if below else 'at most'} {maximum:g}, got {s}")
        return s

    return _typed(convert, "number")


def number_text(text: str, option: str = "") -> str:
    """``text`` stripped, refused (:class:`~derivkit.errors.InputError`) when it names no finite number.

    >>> number_text(" 1/3 ")
    '1/3'
    """
    s = text.strip()
    if not s or _NOT_FINITE.fullmatch(s):
        raise InputError(f"expected a finite number{' in ' + option if option else ''}, got {s!r}")
    return s


#: Limits on the networks the command line builds.
MAX_LAYERS = 32            #: layer sizes in --layers (input and output included)
MAX_WIDTH = 100_000        #: units in one layer
MAX_PARAMETERS = 10_000_000  #: weights and biases in all (80 MB of float64)


def layer_sizes(text: str) -> list[int]:
    """An argument type: layer sizes such as ``64,32,10``, within the limits above.

    >>> layer_sizes("2, 3,1")
    [2, 3, 1]
    >>> layer_sizes("2,0,1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: layer sizes are whole numbers of at least 1, such as 64,32,10; got '2,0,1'
    """
    parts = [p.strip() for p in text.split(",")]
    if not all(re.fullmatch(r"\d+", p) and p.strip("0") for p in parts):
        raise argparse.ArgumentTypeError(
            f"layer sizes are whole numbers of at least 1, such as 64,32,10; got {text!r}")
    sizes = [int(p) if len(p) <= 12 else 10**12 for p in parts]  # a longer one is over the limit anyway
    if len(sizes) < 2:
        raise argparse.ArgumentTypeError(f"give at least two sizes (inputs and outputs), such as 2,1; got {text!r}")
    if len(sizes) > MAX_LAYERS:
        raise argparse.ArgumentTypeError(f"{len(sizes)} layer sizes are over the limit of {MAX_LAYERS}")
    if max(sizes) > MAX_WIDTH:
        widest = max(parts, key=lambda p: (len(p.lstrip("0")), p.lstrip("0")))
        raise argparse.ArgumentTypeError(f"a layer of {widest.lstrip('0')} units is over the limit of {MAX_WIDTH:,}")
    parameters = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    if parameters > MAX_PARAMETERS:
        raise argparse.ArgumentTypeError(
            f"the network would have {parameters:,} weights and biases, over the limit of {MAX_PARAMETERS:,}")
    return sizes


# --- expressions, from the command line, standard input or a file ------------------------------

class _Reader:
    """Reads standard input at most once per command."""

    stdin_used = False

    @classmethod
    def read(cls, text: str) -> str:
        if text == "-":
            if cls.stdin_used:
                raise argparse.ArgumentTypeError("standard input ('-') can be read only once per command")
            cls.stdin_used = True
            stream = sys.stdin
            if stream is None:
                raise argparse.ArgumentTypeError("'-' reads standard input, but there is none")
            if stream.isatty():
                print("(reading from standard input; end with Ctrl-D)", file=sys.stderr)
            try:
                content = stream.read(MAX_INPUT_CHARS + 1)
            except UnicodeDecodeError:
                raise argparse.ArgumentTypeError("standard input is not UTF-8 text") from None
            where = "standard input"
        else:
            path = Path(text[1:])
            try:
                with path.open(encoding="utf-8") as f:
                    content = f.read(MAX_INPUT_CHARS + 1)
            except FileNotFoundError:
                raise argparse.ArgumentTypeError(f"no such file: {str(path)!r}") from None
            except IsADirectoryError:
                raise argparse.ArgumentTypeError(f"{str(path)!r} is a folder, not a file") from None
            except UnicodeDecodeError:
                raise argparse.ArgumentTypeError(f"{str(path)!r} is not UTF-8 text") from None
            except OSError as err:
                raise argparse.ArgumentTypeError(f"cannot read {str(path)!r}: {err.strerror or err}") from None
            where = repr(str(path))
        if len(content) > MAX_INPUT_CHARS:
            raise argparse.ArgumentTypeError(
                f"{where} holds more than {MAX_INPUT_CHARS:,} characters, the limit of what derivkit reads")
        return content

    @staticmethod
    def wants(text: str) -> bool:
        return text == "-" or (text.startswith("@") and len(text) > 1)


def logical_lines(text: str) -> list[str]:
    """The formulas in ``text``: one per line, blank lines and ``#`` comments skipped,
    and a line continued while a bracket is open (a matrix over several lines).

    >>> logical_lines("# the Jacobian\\n[[2, 2*x2],\\n [4*x2, 4*x1]]\\n\\ny = 3x\\n")
    ['[[2, 2*x2], [4*x2, 4*x1]]', 'y = 3x']
    """
    out: list[str] = []
    pending: list[str] = []
    depth = 0
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        pending.append(line)
        depth += sum(line.count(c) for c in "([{") - sum(line.count(c) for c in ")]}")
        if depth <= 0:
            out.append(" ".join(p for p in pending if p))
            pending, depth = [], 0
    if pending:
        out.append(" ".join(p for p in pending if p))
    return out


def expression(text: str) -> str:
    """An argument type: a formula as typed, or read from standard input (``-``) or a file
    (``@FILE``), which must then hold exactly one formula."""
    if not _Reader.wants(text):
        return text
    lines = logical_lines(_Reader.read(text))
    where = "standard input" if text == "-" else repr(text[1:])
    if not lines:
        raise argparse.ArgumentTypeError(f"{where} holds no formula")
    if len(lines) > 1:
        raise argparse.ArgumentTypeError(f"{where} holds {len(lines)} formulas on separate lines; "
                                         "this argument takes one")
    return lines[0]


class Expressions(argparse.Action):
    """For arguments with ``nargs="+"``: each value a formula, or ``-``/``@FILE`` with one
    formula per line."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        out: list[str] = []
        for value in values if isinstance(values, list) else [values]:
            if _Reader.wants(value):
                try:
                    lines = logical_lines(_Reader.read(value))
                except argparse.ArgumentTypeError as err:
                    raise argparse.ArgumentError(self, str(err)) from None
                if not lines:
                    raise argparse.ArgumentError(self, f"{value[1:] if value != '-' else 'standard input'} "
                                                       "holds no formula")
                out.extend(lines)
            else:
                out.append(value)
        setattr(namespace, self.dest, (getattr(namespace, self.dest, None) or []) + out)


def reset_input() -> None:
    """Forget that standard input was read (each command starts afresh)."""
    _Reader.stdin_used = False


# --- checks made before the work starts ------------------------------------------------------

def check_writable(path: str | Path, option: str) -> Path:
    """Refuse, before any work, a path that cannot be written (``option`` names where it came from)."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{option} {str(p)!r} is a folder; give a file name")
    if p.exists():
        try:
            with p.open("ab"):
                pass
        except OSError as err:
            raise InputError(f"{option} {str(p)!r} cannot be written: {err.strerror or err}") from None
        return p
    folder = p.absolute().parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise InputError(f"{option} {str(p)!r} cannot be written: {str(folder)!r} is not a folder")
    import tempfile

    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".derivkit-")
    except OSError as err:
        raise InputError(f"{option} {str(p)!r} cannot be written: no file can be created in "
                         f"{str(folder)!r} ({(err.strerror or str(err)).lower()})") from None
    os.close(fd)
    os.unlink(probe)
    return p


def require(module: str, package: str, extra: str, feature: str) -> None:
    """Raise :class:`~derivkit.errors.MissingDependencyError` now, not after the work,
    when the optional ``module`` is not installed."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(package, extra, feature)

