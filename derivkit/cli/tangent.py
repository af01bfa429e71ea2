"""``derivkit tangent``: the tangent line to y = f(x) at a point.

    derivkit tangent "x^2" --at x=3
"""

from __future__ import annotations

import argparse

from derivkit.cli.common import add_command, add_format, add_function, emit, point_value, read_function

ORDER = 23

EXAMPLES = """examples:
  derivkit tangent "x^2" --at 3            y = 6x - 9
  derivkit tangent "sin(x)" --at x=0       y = x
  derivkit tangent "e^x" --at 1 -f latex   an align* block
"""


def register(subparsers) -> None:
    parser = add_command(
        subparsers, "tangent", "the tangent line to y = f(x) at a point",
        "The tangent line to y = f(x) at x = x0: the point f(x0), the slope f'(x0), point-slope form and "
        "y = m x + c.", EXAMPLES)
    add_function(parser, "x^2")
    parser.add_argument("--at", metavar="X0", required=True, help="the point, e.g. --at 3 or --at x=3")
    add_format(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from derivkit.teaching.tangent import tangent_line

    expr, x = read_function(args)
    emit(tangent_line(expr, x, point_value(args.at, x)), args.format)
    return 0
