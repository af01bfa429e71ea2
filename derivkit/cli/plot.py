"""``derivkit plot``: f and f' on one figure, the tangent at x0, corners and critical points marked.

    derivkit plot "x^3 - 3x" --wrt x --at x=2 -o f.png
"""

from __future__ import annotations

import argparse

from derivkit.cli.common import add_command, add_function, point_value, read_function

ORDER = 25

EXAMPLES = """examples:
  derivkit plot "x^3 - 3x" --at x=2 -o cubic.png       f, f', the tangent at 2, the minimum and maximum
  derivkit plot "abs(x - 1) + x^2/4" -o corner.png     the corner at x = 1, where f' jumps
  derivkit plot "ln(x)" --interval 0.1,4 -o ln.png
"""


def register(subparsers) -> None:
    parser = add_command(
        subparsers, "plot", "draw f and f' together (PNG; needs matplotlib)",
        "Draw f and its derivative f' on one figure: the tangent line at x0, the corners of f and its critical "
        "points marked. Needs the optional extra 'plot' (matplotlib).", EXAMPLES)
    add_function(parser, "x^3 - 3x")
    parser.add_argument("--at", metavar="X0", help="draw the tangent at this point, e.g. --at x=2")
    parser.add_argument("--interval", metavar="A,B", help="the range of x to draw")
    parser.add_argument("-o", "--output", metavar="FILE", default="derivative.png",
                        help="the PNG file to write (default: derivative.png)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from derivkit.calculus.steps import derive
    from derivkit.cli.critical import interval
    from derivkit.teaching.plot import plot_derivative

    expr, x = read_function(args)
    plot_derivative(derive(expr, x), at=point_value(args.at, x), path=args.output, interval=interval(args.interval))
    print(f"wrote {args.output}")
    return 0
