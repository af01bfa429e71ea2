"""``derivkit exercises``: a sheet of seeded exercises, problems first, then worked solutions.

    derivkit exercises --topic chain --count 5 --seed 1 --format latex > chain.tex
"""

from __future__ import annotations

import argparse

from derivkit.cli.common import add_command, add_format

ORDER = 80


def register(subparsers) -> None:
    from derivkit.teaching.topics import TOPICS

    parser = add_command(
        subparsers, "exercises", "an exercise sheet with worked solutions (LaTeX that compiles with pdflatex)",
        "Draw exercises on one topic, graded by level (or all of one level), and print the sheet: the problems, "
        "then derivkit's worked solution of each. The same --seed gives the same sheet; --format latex prints a "
        "whole LaTeX document.",
        "topics: " + ", ".join(TOPICS) + "\nexamples:\n"
        "  derivkit exercises --topic chain --count 5 --seed 1\n"
        "  derivkit exercises --topic backprop --count 2 --format latex   a LaTeX document for pdflatex\n"
        "  derivkit exercises --topic descent --level 1 --format markdown")
    parser.add_argument("--topic", required=True, choices=TOPICS, metavar="TOPIC", help="the topic (see below)")
    parser.add_argument("--count", type=int, default=10, metavar="N", help="how many exercises (default 10)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="the seed (default 0)")
    parser.add_argument("--level", type=int, choices=(1, 2, 3), help="only this level (default: graded 1 to 3)")
    parser.add_argument("--title", help="the sheet's title")
    add_format(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from derivkit.cli.common import emit
    from derivkit.teaching.exercises import exercises, sheet

    emit(sheet(exercises(args.topic, count=args.count, seed=args.seed, level=args.level), title=args.title),
         args.format)
    return 0
