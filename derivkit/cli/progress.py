"""The progress bar of the training commands (tqdm, optional).

A bar is drawn on standard error while a network trains, when a person is
watching: both standard output and standard error are terminals, the output is
text (not ``--format json``) and ``--quiet`` is not given. ``--progress`` forces
it (and then needs tqdm: ``pip install 'derivkit[progress]'``), ``--no-progress``
turns it off. Lines printed during training go above the bar.
"""

from __future__ import annotations

import argparse
import sys
from types import TracebackType
from typing import Any, TextIO

from derivkit.cli.common import require

__all__ = ["add_progress", "wants_bar", "EpochBar"]


def add_progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="a progress bar while training (default: on a terminal, unless --quiet or "
                             "--format json; needs tqdm)")


def _tty(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _have_tqdm() -> bool:
    import importlib.util

    return importlib.util.find_spec("tqdm") is not None


def wants_bar(choice: bool | None, *, quiet: bool = False, fmt: str = "text",
              stdout: TextIO | None = None, stderr: TextIO | None = None) -> bool:
    """Whether to draw the bar: ``choice`` (``--progress``/``--no-progress``) if given, else
    only for a person at a terminal (see the module's description).

    >>> import io
    >>> wants_bar(None, stdout=io.StringIO(), stderr=io.StringIO())   # piped
    False
    >>> wants_bar(False), wants_bar(None, quiet=True)
    (False, False)
    """
    if choice is not None:
        if choice:
            require("tqdm", "tqdm", "progress", "the progress bar (--progress)")
        return choice
    if quiet or fmt == "json":
        return False
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    return _tty(out) and _tty(err) and _have_tqdm()


class EpochBar:
    """A bar over the epochs of a run (or nothing, when ``enabled`` is false), with
    :meth:`write` for lines that must not break it.

    >>> with EpochBar(3, enabled=False) as bar:
    ...     bar.write("epoch 1/3  loss 0.25")
    epoch 1/3  loss 0.25
    """

    def __init__(self, total: int, enabled: bool, desc: str = "training") -> None:
        self._bar: Any = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="epoch", desc=desc, leave=False, file=sys.stderr,
                             dynamic_ncols=True)

    @property
    def shown(self) -> bool:
        return self._bar is not None

    def update(self, logs: dict[str, float]) -> None:
        """One epoch done; ``logs`` as given to the training callback."""
        if self._bar is not None:
            self._bar.set_postfix_str(f"loss {logs['loss']:.4g}", refresh=False)
            self._bar.update(1)

    def write(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=sys.stdout)
        else:
            print(line, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> "EpochBar":
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
