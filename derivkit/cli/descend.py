"""``derivkit descend``: a worked gradient-descent table."""

from __future__ import annotations

import argparse

from derivkit.cli.common import (
    add_format, add_latex_input, check_writable, emit, exact_in, expression, number_text, parse_values, require,
    whole,
)

ORDER = 50


EXAMPLES = """examples:
  derivkit descend "5*b**2 - 3*b + 2" --wrt b --start 4 --lr 0.01 --steps 3     the course's table
  derivkit descend "5*b**2 - 3*b + 2" --wrt b --start 4 --lr 1                 alpha too large: it diverges
  derivkit descend "5*b**2 - 3*b + 2" --wrt b --start 4 --lr 0.01 --momentum 0.5 --steps 2
  derivkit descend "x1^2 + 2*x2^2" --wrt x1,x2 --start x1=1,x2=1 --lr 0.1 --format markdown
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "descend",
        help="gradient descent by hand: a table of iterates",
        description="Run gradient descent (optionally with momentum) and print one row per "
        "iteration with the update written out, e.g. b1 = 4 - 0.01·37 = 3.63. "
        "Exact when the inputs are exact.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("f", type=expression,
                   help='the function to minimise, e.g. "5*b**2 - 3*b + 2" (- or @FILE: read it)')
    p.add_argument("--wrt", required=True, help="the variable(s), e.g. b or x1,x2")
    p.add_argument("--start", required=True, help="the starting point: 4, or x1=1,x2=2 (or 1,2 in the order of --wrt) for several variables")
    p.add_argument("--lr", required=True, type=exact_in(0, above=True), help="the learning rate alpha, e.g. 0.01")
    from derivkit import budget  # the library's limits; already imported with derivkit.renderable

    p.add_argument("--steps", type=whole(0, budget.current().steps, limit=f"the {budget.DESCRIPTIONS['steps']}"),
                   default=3, help="number of iterations (default 3)")
    p.add_argument("--momentum", type=exact_in(0, 1, below=True), default="0",
                   help="the momentum eta, from 0 to below 1 (default 0)")
    p.add_argument("--plot", metavar="PNG", help="also draw the descent path to this PNG file (needs matplotlib)")
    add_format(p)
    add_latex_input(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.plot:  # before the work, not after it
        require("matplotlib", "matplotlib", "plot", "--plot")
        check_writable(args.plot, "--plot")
    from derivkit.inputs import as_expr
    from derivkit.training.descend import descend

    f = as_expr(args.f, latex=args.latex_input, what="function")
    start: dict[str, str] | list[str] | str
    if "=" in args.start:
        start = parse_values(args.start, "--start")
    elif "," in args.start:
        start = [number_text(v, "--start") for v in args.start.split(",")]
    else:
        start = number_text(args.start, "--start")
    d = descend(f, args.wrt, start=start, lr=args.lr, steps=args.steps, momentum=args.momentum)
    emit(d, args.format)
    if args.plot:
        from derivkit.training.plot import plot_descent

        plot_descent(d, args.plot)
    return 0
