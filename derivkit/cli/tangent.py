"""``derivkit tangent``: the tangent line to y = f(x) at a point.

    derivkit tangent "x^2" --at x=3
"""

from __future__ import annotations

import argparse

from derivkit.cli.common import add_decimals, add_format, add_latex_input, emit, point_value

ORDER = 13

EXAMPLES = """examples:
  derivkit tangent "x^2" --at 3            y = 6x - 9
  derivkit tangent "sin(x)" --at x=0       y = x
  derivkit tangent "e^x" --at 1 -f latex   an align* block
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "tangent",
        help="the tangent line to y = f(x) at a point",
        description="The tangent line to y = f(x) at x = x0: the point f(x0), the slope f'(x0), "
        "point-slope form and y = m x + c.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("expr", metavar="EXPR", help='the function, e.g. "x^2"')
    parser.add_argument("--wrt", metavar="VAR", help="the variable (optional when EXPR has exactly one)")
    parser.add_argument("--at", metavar="X0", required=True, help="the point, e.g. --at 3 or --at x=3")
    add_latex_input(parser)
    add_decimals(parser)
    add_format(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from derivkit.cli.derive import choose_variable
    from derivkit.inputs import as_expr
    from derivkit.teaching.tangent import tangent_line

    expr = as_expr(args.expr, latex=args.latex_input, decimals=args.decimals)
    x = choose_variable(expr, args.wrt)
    emit(tangent_line(expr, x, point_value(args.at, x)), args.format)
    return 0
