"""``derivkit rules``: the rule table, every derivative derivkit states, grouped by family.

    derivkit rules --family trig --format latex
"""

from __future__ import annotations

import argparse

from derivkit.cli.common import add_command, add_format, emit

ORDER = 90


def register(subparsers) -> None:
    parser = add_command(
        subparsers, "rules", "print the rule table (one family with --family)",
        "Print derivkit's rule table: each rule's id, name, statement and domain condition, grouped by family.",
        "the families are the headings of 'derivkit rules' (short names: trig, exp, log, exp_log, activations, "
        "nonsmooth)\nexamples:\n  derivkit rules\n  derivkit rules --family trig --format latex")
    parser.add_argument("--family", metavar="NAME", help="only this family, e.g. trig or activation")
    add_format(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from derivkit.rules import table

    emit(table(args.family), args.format)
    return 0
