"""The ``derivkit`` command line: argument parsing and printing, no maths.

Each module of this package defines one or more subcommands through
``register(subparsers)``; ``ORDER`` places them in ``derivkit --help``. A new
module is picked up by itself; only the helper modules named in ``HELPERS``
define no command. Command modules import their heavy dependencies (SymPy,
NumPy, the library) inside their ``run`` functions, so building the parser
stays cheap and a command pays only for what it uses.

Exit status (:data:`EXIT_STATUSES`): 0 done (a checked answer is right), 1 a
check found the claimed answer wrong, 2 bad input or work refused at a limit
(one line on standard error), 3 an internal error (a bug in derivkit; ``--debug``
shows the traceback), 130 interrupted with Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from typing import Any, NoReturn, Sequence

from derivkit import __version__
from derivkit.cli import ascii
from derivkit.cli.common import EXIT_BAD_INPUT, EXIT_BUG, EXIT_INTERRUPTED, EXIT_OK, EXIT_WRONG, reset_input
from derivkit.errors import DerivkitError, LimitError, ParseError

__all__ = ["main", "build_parser", "EXIT_STATUSES", "HELPERS"]

#: Modules of this package that define no command.
HELPERS = frozenset({"common", "ascii", "progress"})

EXIT_STATUSES = {
    EXIT_OK: "done; a checked answer is right",
    EXIT_WRONG: "a check found the claimed answer wrong",
    EXIT_BAD_INPUT: "bad input, or work refused at one of derivkit's limits (the error on stderr)",
    EXIT_BUG: "an internal error: a bug in derivkit (--debug shows the traceback)",
    EXIT_INTERRUPTED: "interrupted with Ctrl-C (train --save keeps the run)",
}

EPILOG = (
    "input:\n"
    "  EXPR is read by derivkit's safe parser: x^2 or x**2, 2x, e, pi, ln, sigmoid, relu, ...\n"
    "  -         read the expression from standard input:  echo \"sin(x^2)\" | derivkit derive -\n"
    "  @FILE     read it from a file (one formula per line where a command takes several)\n"
    "  a formula may start with a minus sign:  derivkit check \"5 - x^2\" --claimed \"-2x\" --wrt x\n"
    "  after --, every argument is a formula or a positional argument, never an option\n"
    "\nexit status:\n"
    + "".join(f"  {code:<5} {meaning}\n" for code, meaning in EXIT_STATUSES.items())
    + "\nRun 'derivkit COMMAND --help' for a command's options and examples."
)


class Parser(argparse.ArgumentParser):
    """argparse's parser, with usage errors on one line of standard error (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        message = message.replace("' -", "'-").replace("  -", " -")  # the space protect_formulas adds
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def command_modules() -> list[str]:
    """The names of this package's modules that define commands (listed from the folder:
    ``pkgutil.iter_modules`` would import ``inspect``, a tenth of the parser's cost).

    >>> command_modules()[:2]
    ['backprop', 'chain']
    """
    names = set()
    for folder in __path__:
        with os.scandir(folder) as entries:
            for entry in entries:
                stem, dot, suffix = entry.name.partition(".")
                if suffix == "py" and stem.isidentifier() and not stem.startswith("_"):
                    names.add(stem)
                elif entry.is_dir() and stem.isidentifier() and os.path.exists(os.path.join(entry.path, "__init__.py")):
                    names.add(stem)
    return sorted(names - HELPERS)


def _commands() -> list[Any]:
    modules = [importlib.import_module(f"{__name__}.{name}") for name in command_modules()]
    return sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))


class _Listing:
    """Stands in for argparse's subparsers when only the commands' names and help lines are
    wanted: ``register`` runs against it without building any option."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, dict[str, Any]]] = []

    def add_parser(self, name: str, **kwargs: Any) -> "_Ignored":
        self.commands.append((name, kwargs))
        return _Ignored()


class _Ignored:
    """A parser that ignores whatever is added to it."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: self


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``command``, one in which only that command's module builds its
    options (the others are listed by name and help line), which is all one run needs.

    >>> sorted(_subparsers(build_parser("derive"))["derive"]._option_string_actions)[:3]
    ['--at', '--debug', '--decimals']
    >>> _subparsers(build_parser("derive"))["train"]._option_string_actions
    {}
    """
    parser = Parser(
        prog="derivkit",
        description="The calculus of deep learning: worked derivations, checked gradients, fast training.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"derivkit {__version__}")
    parser.add_argument("--debug", action="store_true", help="on an internal error, print the traceback")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    built: list[str] = []
    for module in _commands():
        listing = _Listing()
        if command is not None:
            module.register(listing)
        if command is None or command in (name for name, _ in listing.commands):
            module.register(sub)
            built.extend(name for name, _ in listing.commands)
        else:
            for name, kwargs in listing.commands:
                sub.add_parser(name, help=kwargs.get("help"), aliases=kwargs.get("aliases", ()), add_help=False)
    for name in built if command is not None else sub.choices:
        options = sub.choices[name]
        if "--debug" not in options._option_string_actions:
            options.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def _chosen_command(tokens: Sequence[str]) -> str | None:
    """The command named in ``tokens`` (the first one that is no option), if any."""
    for token in tokens:
        if token == "--" or not token.startswith("-"):
            return None if token == "--" else token
    return None


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


_OPTION_VALUE = re.compile(r"[\w.,:=+-]*")


def _is_option(token: str, parser: argparse.ArgumentParser) -> bool:
    """Whether argparse would (rightly) read ``token`` as one of ``parser``'s options."""
    options = parser._option_string_actions
    if token in options:
        return True
    short = options.get(token[:2])
    if short is not None:  # -n2, or a cluster of flags such as -qh
        return bool(_OPTION_VALUE.fullmatch(token[2:])) if short.nargs != 0 else token[2:].isalpha()
    return False


def protect_formulas(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """Let arguments that start with ``-`` but are no option be values (``-sec(x)^2``).

    argparse reads any argument that starts with ``-`` as an option. After the
    command's name, an argument that starts with a single ``-`` and is none of
    the command's options gets a leading space, which argparse does not take
    for an option and the parser ignores. Arguments after ``--`` are left alone.

    >>> p = build_parser()
    >>> protect_formulas(p, ["check", "sec(x)", "--claimed", "-sec(x)^2", "-n", "1", "--wrt", "x"])
    ['check', 'sec(x)', '--claimed', ' -sec(x)^2', '-n', '1', '--wrt', 'x']
    """
    commands = _subparsers(parser)
    out: list[str] = []
    command: argparse.ArgumentParser | None = None
    tokens = list(argv)
    for i, token in enumerate(tokens):
        if token == "--":
            out.extend(tokens[i:])
            break
        if command is None:
            command = commands.get(token)
            out.append(token)
        elif token.startswith("-") and not token.startswith("--") and len(token) > 1 and not _is_option(token, command):
            out.append(" " + token)
        else:
            out.append(token)
    return out


def _unprotect(args: argparse.Namespace) -> None:
    for name, value in vars(args).items():
        if isinstance(value, str) and value.startswith(" -"):
            setattr(args, name, value[1:])
        elif isinstance(value, list):
            setattr(args, name, [v[1:] if isinstance(v, str) and v.startswith(" -") else v for v in value])


def one_line(err: BaseException) -> str:
    """The error as one line (a parse error names the column instead of drawing a caret)."""
    if isinstance(err, ParseError) and err.text is not None:
        where = f" at column {err.position + 1}" if err.position is not None else ""
        return f"{err.reason}{where} in {err.text!r}" if len(err.text) <= 80 else f"{err.reason}{where}"
    return " ".join(str(err).split("\n")[0].split())


def _where_to_report() -> str:
    """The project's issue tracker, from the installed package's metadata, if it names one."""
    try:
        from importlib.metadata import metadata

        urls = metadata("derivkit").get_all("Project-URL") or []
    except Exception:  # noqa: BLE001 - metadata is a courtesy here, never a second failure
        urls = []
    links = {}
    for entry in urls:
        label, _, url = entry.partition(",")
        links[label.strip().lower()] = url.strip()
    for label in ("issues", "bug tracker", "tracker", "bugs", "source", "repository", "homepage"):
        if links.get(label):
            url = links[label]
            return f"{url}/issues" if label in ("source", "repository") and "github.com" in url else url
    return "derivkit's issue tracker"


def _prefix(command: str) -> str:
    return f"derivkit {command}" if command else "derivkit"


def _traceback(err: BaseException) -> None:
    import traceback

    traceback.print_exception(type(err), err, err.__traceback__, file=sys.stderr)


def _bad_input(command: str, message: str, err: BaseException, debug: bool) -> int:
    if debug:
        _traceback(err)
    print(f"{_prefix(command)}: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _internal_error(command: str, err: BaseException, debug: bool) -> int:
    if debug:
        _traceback(err)
    detail = one_line(err)
    what = type(err).__name__ + (f": {detail}" if detail else "")
    if len(what) > 160:
        what = what[:157] + "..."
    hint = "" if debug else "; run it again with --debug for the traceback"
    print(f"{_prefix(command)}: internal error ({what}). This is a bug in derivkit: please report it at "
          f"{_where_to_report()} with the command you ran{hint}.", file=sys.stderr)
    return EXIT_BUG


def _quiet_broken_pipe() -> None:
    """The reader of our output left (``derivkit ... | head``): stop without a second error at exit."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    ascii.install(sys.stdout, sys.stderr)
    reset_input()
    command, debug = "", False
    try:
        tokens = list(sys.argv[1:] if argv is None else argv)
        parser = build_parser(_chosen_command(tokens))
        debug = "--debug" in tokens[: tokens.index("--") if "--" in tokens else len(tokens)]
        try:
            args = parser.parse_args(protect_formulas(parser, tokens))
        except SystemExit as stop:  # --help, --version, or a usage error argparse has printed
            return stop.code if isinstance(stop.code, int) else EXIT_BAD_INPUT
        _unprotect(args)
        command = args.command or ""
        debug = bool(getattr(args, "debug", False))
        if getattr(args, "run", None) is None:
            parser.print_help(sys.stderr)
            return EXIT_BAD_INPUT
        return int(args.run(args) or EXIT_OK)
    except KeyboardInterrupt:
        print(f"{_prefix(command)}: interrupted (Ctrl-C)", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _quiet_broken_pipe()
        return EXIT_OK
    except DerivkitError as err:
        kind = "refused" if isinstance(err, LimitError) else "error"
        return _bad_input(command, f"{kind}: {one_line(err)}", err, debug)
    except RecursionError as err:
        return _bad_input(command, "error: the expression is too deeply nested", err, debug)
    except MemoryError as err:
        return _bad_input(command, "refused: the work needs more memory than this machine has; try a smaller input",
                          err, debug)
    except Exception as err:  # noqa: BLE001 - anything else is a bug, reported as one
        return _internal_error(command, err, debug)
