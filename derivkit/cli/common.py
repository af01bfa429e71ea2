"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse

from derivkit.errors import InputError
from derivkit.renderable import FORMATS

__all__ = ["add_format", "add_latex_input", "add_decimals", "add_at", "parse_values", "point_value", "emit",
           "add_command", "add_function", "read_function"]


def add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", "-f", choices=FORMATS, default="text", help="output format (default: text)")


def add_latex_input(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--latex-input", action="store_true", help="read the expressions as LaTeX")


def add_decimals(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--decimals", action="store_true",
                        help="keep decimals as written (25.2, not 126/5)")


def add_at(parser: argparse.ArgumentParser, what: str = "the point") -> None:
    parser.add_argument("--at", metavar="x=2[,y=1]", help=f"evaluate at {what}, e.g. --at x1=2,x2=1")


def parse_values(text: str | None) -> dict[str, str]:
    """``"x1=2, x2=1/3"`` -> ``{"x1": "2", "x2": "1/3"}`` (values are parsed later, safely).

    >>> parse_values("x1=2, x2=1/3")
    {'x1': '2', 'x2': '1/3'}
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
            raise InputError(f"expected name=value in --at, got {part!r}")
        if name in out:
            raise InputError(f"'{name}' is given twice in --at")
        out[name] = value
    return out


def point_value(text: str | None, var: str) -> str | None:
    """The value of ``var`` in ``--at``: ``"3"`` or ``"x=3"`` -> ``"3"`` (parsed later, safely).

    >>> point_value("x=1/2", "x"), point_value("2", "x"), point_value(None, "x")
    ('1/2', '2', None)
    """
    if text is None:
        return None
    if "=" not in text:
        return text.strip()
    values = parse_values(text)
    if set(values) != {var}:
        raise InputError(f"--at must give a value for {var} only, like --at {var}=2, not {text!r}")
    return values[var]


def add_command(subparsers, name: str, help: str, description: str, examples: str) -> argparse.ArgumentParser:
    """A subcommand with its help, description and examples (the epilog, kept as written)."""
    return subparsers.add_parser(name, help=help, description=description, epilog=examples,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)


def add_function(parser: argparse.ArgumentParser, example: str) -> None:
    """The positional EXPR (a function of one variable), ``--wrt``, ``--latex-input`` and ``--decimals``."""
    parser.add_argument("expr", metavar="EXPR", help=f'the function, e.g. "{example}"')
    parser.add_argument("--wrt", metavar="VAR", help="the variable (optional when EXPR has exactly one)")
    add_latex_input(parser)
    add_decimals(parser)


def read_function(args: argparse.Namespace):
    """``(expr, variable name)`` from the options of :func:`add_function`, read safely."""
    from derivkit.cli.derive import choose_variable
    from derivkit.inputs import as_expr

    expr = as_expr(args.expr, latex=args.latex_input, decimals=args.decimals)
    return expr, choose_variable(expr, args.wrt)


def emit(obj, fmt: str) -> None:
    """Print ``obj`` rendered in ``fmt``."""
    print(obj.render(fmt))
