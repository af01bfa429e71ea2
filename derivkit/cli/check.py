"""``derivkit check``: is a hand-computed derivative (or descent table) right?

    derivkit check "sin(x^2)" --claimed "cos(x^2)" --wrt x
    derivkit check "x^3" --claimed 12 --wrt x --at x=2
    derivkit check "5b^2 - 3b + 2" --wrt b --start 4 --lr 0.01 --claimed "3.63, 3.297, 2.9973"
    derivkit check --file answers.jsonl

Exit status: 0 when the answer is right, 1 when it is wrong (with the
explanation), 2 on bad input, 3 on an internal error (see :mod:`derivkit.cli`). With
``--file`` (a batch of problems: JSON lines or YAML), 0 when every answer is right, 1
when one is wrong, 2 when an item is malformed (the others are still graded).
"""

from __future__ import annotations

import argparse

from derivkit.cli.common import (
    EXIT_OK, EXIT_WRONG, add_at, add_format, add_latex_input, emit, exact_in, expression, number_text,
    parse_values, whole,
)
from derivkit.errors import InputError

ORDER = 40

EXAMPLES = """examples:
  derivkit check "sin(x^2)" --claimed "cos(x^2)" --wrt x          the chain rule's inner factor is missing
  derivkit check "sin(x^2)" "2x cos(x^2)" --wrt x                 the answer may follow EXPR
  derivkit check "sigmoid(x)" --claimed "e^(-x)/(1+e^(-x))^2" --wrt x   right, in another form
  derivkit check "x^3" --claimed 12 --wrt x --at x=2              a value at a point
  derivkit check "x^4" --claimed "12x^2" --wrt x --order 2        a second derivative
  derivkit check "x1^2*x2" --claimed "[2*x1*x2, x1^2]" --wrt x1,x2        a gradient
  derivkit check "[2*x1 + x2^2, 4*x1*x2]" --claimed "[[2, 2*x2], [4*x2, 4*x1]]" --wrt x1,x2   a Jacobian
  derivkit check "\\frac{1}{1+e^{-x}}" --claimed "\\sigma(x)(1-\\sigma(x))" --wrt x --latex-input
  derivkit check "5b^2 - 3b + 2" --wrt b --start 4 --lr 0.01 --claimed "3.63, 3.297, 2.9973"
                                                                  a gradient-descent table
  derivkit check "sec(x)" --claimed "-sec(x)^2" --wrt x         an answer may start with "-" (it is wrong)
  derivkit check --wrt x -- "-x^2" "-2x"                          ... or put the formulas after --
  derivkit check --file answers.jsonl                             grade a batch: one problem per line,
                                                                  {"id": "q1", "expr": "x^2", "claimed": "2x", "wrt": "x"}
  derivkit check --file answers.yaml --format json                ... or a YAML list, summary as JSON

exit status: 0 right, 1 wrong, 2 bad input, 3 a bug in derivkit
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check a hand-computed derivative, gradient, Jacobian, Hessian or descent table",
        description=(
            "Check a hand-computed answer: a derivative, a gradient/Jacobian/Hessian written as "
            "[[..], [..]], its value at a point (--at), or a table of gradient-descent iterates "
            "(--start and --lr). Says whether it is right, where it goes wrong and the likely mistake."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("expr", metavar="EXPR", nargs="?", type=expression,
                        help='the function, e.g. "sin(x^2)"; several as "[f1, f2]" (- or @FILE: read it)')
    parser.add_argument("answer", nargs="?", metavar="ANSWER", type=expression,
                        help="your answer (or give it with --claimed)")
    parser.add_argument("--claimed", "-c", metavar="ANSWER", type=expression,
                        help="your answer: an expression, a matrix [[..], [..]], a number with --at, "
                             "or the iterates b1, b2, ... with --start")
    parser.add_argument("--wrt", metavar="VARS", help="the variable(s), e.g. x or x1,x2")
    parser.add_argument("--file", metavar="FILE",
                        help="grade a batch of problems instead: JSON lines or YAML, one item per problem with "
                             "expr, claimed, wrt and optionally at and id ('-' reads standard input)")
    parser.add_argument("--kind", choices=("derivative", "gradient", "jacobian", "hessian"),
                        help="what ANSWER is (default: decided from the shapes of EXPR and ANSWER)")
    parser.add_argument("--order", "-n", type=whole(1), default=1, metavar="N",
                        help="check the N-th derivative (default: 1)")
    add_at(parser, "the derivative (ANSWER is then its value)")
    parser.add_argument("--start", metavar="B0", help="check a descent table starting here (b0, or x1=1,x2=2)")
    parser.add_argument("--lr", metavar="ALPHA", type=exact_in(0, above=True), help="the learning rate of the descent table")
    parser.add_argument("--momentum", metavar="ETA", type=exact_in(0, 1, below=True), default="0", help="the momentum of the descent table (default 0)")
    add_latex_input(parser)
    add_format(parser)
    parser.set_defaults(run=run)


def _start(text: str):
    return parse_values(text, "--start") if "=" in text else number_text(text, "--start")


def _run_file(args: argparse.Namespace) -> int:
    if args.expr is not None or args.answer is not None or args.claimed is not None or args.wrt is not None:
        raise InputError("with --file the problems come from the file: give no EXPR, ANSWER, --claimed or --wrt")
    per_item = {"--at": args.at, "--kind": args.kind, "--start": args.start, "--lr": args.lr,
                "--latex-input": args.latex_input, "--order": args.order != 1, "--momentum": args.momentum != "0"}
    given = [option for option, value in per_item.items() if value]
    if given:
        raise InputError(f"with --file, {given[0]} is set for each item in the file (its field "
                         f"{given[0].lstrip('-').replace('-input', '').replace('-', '_')!r}), not on the command line")
    import sys

    from derivkit.verify.batch import check_file

    report = (check_file("<stdin>", text=sys.stdin.read()) if args.file == "-" else check_file(args.file))
    emit(report, args.format)
    return report.exit_code


def run(args: argparse.Namespace) -> int:
    if args.file is not None:
        return _run_file(args)
    if args.expr is None or args.wrt is None:
        raise InputError("give the function EXPR and the variable(s) with --wrt (or a batch with --file)")
    if (args.answer is None) == (args.claimed is None):
        raise InputError("give your answer once: after EXPR or with --claimed")
    args.claimed = args.claimed if args.claimed is not None else args.answer
    if args.start is not None or args.lr is not None:
        if args.start is None or args.lr is None:
            raise InputError("a descent table needs both --start and --lr")
        if args.at or args.kind:
            raise InputError("--at and --kind do not apply to a descent table")
        from derivkit.verify.descent import check_descent

        verdict = check_descent(args.expr, args.wrt, _start(args.start), args.lr, args.claimed, args.momentum)
    else:
        from derivkit.verify.check import check

        at = parse_values(args.at) if args.at else None
        verdict = check(args.expr, args.claimed, args.wrt, at=at, latex=args.latex_input, kind=args.kind,
                        order=args.order)
    emit(verdict, args.format)
    return EXIT_OK if verdict.ok else EXIT_WRONG
