"""``derivkit derive``: a derivative step by step.

    derivkit derive "(3*x - 2)^2" --wrt x --at x=2
    derivkit derive "sigmoid(x)" --format latex
    derivkit derive "\\frac{1}{1+e^{-x}}" --latex-input
"""

from __future__ import annotations

import argparse

from derivkit.cli.common import (
    add_at, add_decimals, add_format, add_latex_input, emit, expression, parse_values, whole,
)
from derivkit.errors import InputError

ORDER = 10

EXAMPLES = """examples:
  derivkit derive "(3*x - 2)^2"                  chain rule, step by step
  derivkit derive "(3*x - 2)^2" --at x=2         ... and the value at x = 2 (24)
  derivkit derive "sigmoid(x)" --format latex    an align* block for slides
  derivkit derive "x^3 - 2x" --order 2           the second derivative
  derivkit derive "x*y^2" --wrt y --at x=1,y=3   one variable of several
  derivkit derive "\\sin^{-1} x" --latex-input    LaTeX input
  derivkit derive "-x^2"                         an expression may start with "-"
  echo "sin(x^2)" | derivkit derive -            the expression from standard input
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "derive",
        help="differentiate an expression step by step",
        description="Differentiate an expression step by step, naming the rule behind every step.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("expr", metavar="EXPR", type=expression,
                        help='the expression, e.g. "(3*x - 2)^2" or "sigmoid(x)"; - reads it from standard input, '
                             '@FILE from a file')
    parser.add_argument(
        "--wrt", metavar="VAR", help="the variable to differentiate by (optional when EXPR has exactly one)"
    )
    parser.add_argument("--order", "-n", type=whole(1), default=1, metavar="N", help="how many times (default: 1)")
    add_at(parser, "the derivative")
    add_latex_input(parser)
    add_decimals(parser)
    add_format(parser)
    parser.set_defaults(run=run)


def choose_variable(expr, wrt: str | None) -> str:
    """The variable to differentiate by: ``wrt`` if given, else the expression's only variable.

    >>> import sympy
    >>> choose_variable(sympy.Symbol("t")**2, None), choose_variable(sympy.Integer(5), None)
    ('t', 'x')
    """
    if wrt:
        return wrt
    names = sorted(s.name for s in expr.free_symbols if hasattr(s, "name"))
    if len(names) > 1:
        raise InputError(f"the expression has several variables ({', '.join(names)}); choose one with --wrt")
    return names[0] if names else "x"


def run(args: argparse.Namespace) -> int:
    from derivkit.calculus.steps import derive
    from derivkit.inputs import as_expr
    from derivkit.render.derivation import evaluate_at

    expr = as_expr(args.expr, latex=args.latex_input, decimals=args.decimals)
    derivation = derive(expr, choose_variable(expr, args.wrt), order=args.order)
    values = parse_values(args.at)
    emit(evaluate_at(derivation, **values) if values else derivation, args.format)
    return 0
