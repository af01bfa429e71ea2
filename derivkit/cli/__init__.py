"""The ``derivkit`` command line: argument parsing and printing, no maths.

Each module of this package defines one or more subcommands through
``register(subparsers)``; ``ORDER`` places them in ``derivkit --help``.
Exit status: 0 on success, 1 when a check finds the claimed answer wrong,
2 on bad input (a one-line error on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from derivkit import __version__
from derivkit.errors import DerivkitError, ParseError

__all__ = ["main", "build_parser"]

_SKIP = {"common"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="derivkit",
        description="The calculus of deep learning: worked derivations, checked gradients, fast training.",
    )
    parser.add_argument("--version", action="version", version=f"derivkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = []
    for info in pkgutil.iter_modules(__path__):
        if info.name not in _SKIP:
            modules.append(importlib.import_module(f"{__name__}.{info.name}"))
    for module in sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.__name__)):
        module.register(sub)
    return parser


def one_line(err: BaseException) -> str:
    """The error as one line (a parse error names the column instead of drawing a caret)."""
    if isinstance(err, ParseError) and err.text is not None:
        where = f" at column {err.position + 1}" if err.position is not None else ""
        return f"{err.reason}{where} in {err.text!r}" if len(err.text) <= 80 else f"{err.reason}{where}"
    return " ".join(str(err).split("\n")[0].split())


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args) or 0)
    except DerivkitError as err:
        print(f"derivkit {args.command}: error: {one_line(err)}", file=sys.stderr)
        return 2
    except RecursionError:
        print(f"derivkit {args.command}: error: the expression is too deeply nested", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"derivkit {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
