"""``derivkit first-principles``: the derivative as the limit of the difference quotient.

    derivkit first-principles "x^2"
    derivkit first-principles "3x^2 - 4x + 1" --at 2
"""

from __future__ import annotations

import argparse

from derivkit.cli.common import add_command, add_format, add_function, emit, point_value, read_function

ORDER = 22

EXAMPLES = """examples:
  derivkit first-principles "x^2"                    f'(x) = lim (f(x + h) - f(x))/h = 2x
  derivkit first-principles "3x^2 - 4x + 1" --at 2   f'(2) = 8, worked at the point
  derivkit first-principles "sin(x)"                 the angle-sum identity and sin(h)/h -> 1
"""


def register(subparsers) -> None:
    parser = add_command(
        subparsers, "first-principles", "a derivative from first principles: the limit of the difference quotient",
        "Differentiate from the definition f'(x) = lim_(h->0) (f(x + h) - f(x))/h, step by step "
        "(rational functions, sin, cos, e^x, ln x, sqrt(x) and sums of their multiples).", EXAMPLES)
    add_function(parser, "x^2")
    parser.add_argument("--at", metavar="X0", help="work f'(x0) at this point, e.g. --at 2 or --at x=2")
    add_format(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from derivkit.teaching.first_principles import first_principles

    expr, x = read_function(args)
    emit(first_principles(expr, x, at=point_value(args.at, x)), args.format)
    return 0
