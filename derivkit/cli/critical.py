"""``derivkit critical``: the critical points of f and their kind.

    derivkit critical "x^3 - 3x"
"""

from __future__ import annotations

import argparse

from derivkit.cli.common import add_command, add_format, add_function, emit, read_function

ORDER = 24

EXAMPLES = """examples:
  derivkit critical "x^3 - 3x"                    a maximum at -1, a minimum at 1
  derivkit critical "5b^2 - 3b + 2"               the minimum b = 0.3 of the descent exercise
  derivkit critical "sin(x)" --interval 0,7       inside an interval
"""


def interval(text: str | None) -> tuple[str, str] | None:
    """``"a,b"`` -> ``("a", "b")``.

    >>> interval("0, 2*pi")
    ('0', '2*pi')
    """
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts):
        from derivkit.errors import InputError

        raise InputError(f"--interval takes two numbers a,b, not {text!r}")
    return parts[0], parts[1]


def register(subparsers) -> None:
    parser = add_command(
        subparsers, "critical", "critical points (f' = 0 or f' undefined) and their kind",
        "Solve f'(x) = 0 over the reals, add the corners where f' does not exist, and say whether each point is "
        "a local minimum, a local maximum or neither (second or first derivative test).", EXAMPLES)
    add_function(parser, "x^3 - 3x")
    parser.add_argument("--interval", metavar="A,B", help="search only in [A, B] (periodic f: default [-2pi, 2pi])")
    add_format(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from derivkit.teaching.critical import critical_points

    expr, x = read_function(args)
    emit(critical_points(expr, x, interval=interval(args.interval)), args.format)
    return 0
