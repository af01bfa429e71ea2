"""``derivkit grad``, ``derivkit jacobian`` and ``derivkit hessian``: matrices of partial derivatives."""

from __future__ import annotations

import argparse
import re

from derivkit.cli.common import (
    Expressions, add_at, add_decimals, add_format, add_latex_input, emit, expression, parse_values,
)

ORDER = 20

_HELP = {
    "grad": ("the gradient of a function, each partial derivative derived", [
        'derivkit grad "x1^2*x2 + x2" --wrt x1,x2 --at x1=2,x2=1',
        'derivkit grad "x*y^2 + sin(y)"                       the variables in order of their names',
    ]),
    "jacobian": ("the Jacobian of several functions (row i is function i)", [
        'derivkit jacobian "2*x1 + x2^2" "-x1^2 + 3*x2" "4*x1*x2" --wrt x1,x2 --at x1=2,x2=1',
        'derivkit jacobian "x*cos(y)" "x*sin(y)" --wrt x,y --format latex',
    ]),
    "hessian": ("the Hessian of a function, each mixed partial derived once", [
        'derivkit hessian "x1^4 + x1*x2 + x2^2" --wrt x1,x2 --at x1=0,x2=1',
        'derivkit hessian "x^2*y + y^3" --format markdown',
    ]),
}


def register(subparsers) -> None:
    for name, (help_text, examples) in _HELP.items():
        parser = subparsers.add_parser(
            name,
            help=help_text,
            description=help_text[0].upper() + help_text[1:] + ".",
            epilog="examples:\n" + "".join(f"  {example}\n" for example in examples),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name == "jacobian":
            parser.add_argument("exprs", nargs="+", metavar="EXPR", action=Expressions,
                                help="the functions f1, f2, ... (- or @FILE: one per line)")
        else:
            parser.add_argument("exprs", nargs=1, metavar="EXPR", type=expression,
                                help="the function, e.g. \"x1^2*x2\" (- or @FILE: read it)")
        parser.add_argument(
            "--wrt", metavar="x1,x2", help="the variables, in order (default: the expression's variables by name)"
        )
        add_at(parser)
        add_latex_input(parser)
        add_decimals(parser)
        add_format(parser)
        parser.set_defaults(run=run, matrix=name)


def _natural(symbol) -> list:
    """Sort key: x2 before x10.

    >>> import sympy
    >>> sorted(sympy.symbols("x10 x2 b"), key=_natural)
    [b, x2, x10]
    """
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", symbol.name)]


def run(args: argparse.Namespace) -> int:
    from derivkit.calculus.several import gradient, hessian, jacobian
    from derivkit.errors import InputError
    from derivkit.inputs import as_expr

    exprs = [as_expr(text, latex=args.latex_input, what="function", decimals=args.decimals) for text in args.exprs]
    wrt = args.wrt
    if wrt is None:
        found = sorted(set().union(*(e.free_symbols for e in exprs)), key=_natural)
        if not found:
            raise InputError("the expression has no variables; name them with --wrt")
        wrt = found
    if args.matrix == "jacobian":
        result = jacobian(exprs, wrt)
    else:
        result = (gradient if args.matrix == "grad" else hessian)(exprs[0], wrt)
    values = parse_values(args.at)
    emit(result.worked_at(**values) if values else result, args.format)
    return 0
