"""``derivkit chain``: the chain rule through named intermediate variables, worked at a point."""

from __future__ import annotations

import argparse

from derivkit.cli.common import Expressions, add_at, add_decimals, add_format, add_latex_input, emit, parse_values

ORDER = 30

EXAMPLES = """examples:
  derivkit chain "y = 3*x - 2" "z = y^2" --wrt x --at x=2
  derivkit chain "x = 5*v - 2" "y = 3*x - 2" "z = y^2" --wrt v
  derivkit chain "q = relu(z) + z*x" "y = h + q + q*x" --wrt x --at x=2,z=3,h=1
  echo "y = 3*x - 2" | derivkit chain - "z = y^2" --wrt x --at x=2     equations from standard input too
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "chain",
        help="the chain rule through named variables, worked at a point",
        description="Apply the chain rule through named intermediate variables: the local derivative "
        "of every link, their product (the sum over paths where a variable is used twice), "
        "and, with --at, the forward values and each factor's value.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("equations", nargs="+", metavar="EQUATION", action=Expressions,
                        help='an equation such as "y = 3*x - 2"; - or @FILE reads one per line')
    parser.add_argument("--wrt", required=True, metavar="VAR", help="the input variable to differentiate by")
    parser.add_argument("--output", metavar="NAME", help="the name to differentiate (default: the last one)")
    parser.add_argument(
        "--inputs", metavar="a,b", help="declare the other inputs; any other undefined name is then an error"
    )
    add_at(parser, "the chain")
    add_latex_input(parser)
    add_decimals(parser)
    add_format(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from derivkit.calculus.chains import chain

    result = chain(args.equations, args.wrt, args.output, inputs=args.inputs, latex=args.latex_input,
                   decimals=args.decimals)
    values = parse_values(args.at)
    emit(result.at(**values) if values else result, args.format)
    return 0
