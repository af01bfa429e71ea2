"""The server's limits: how much work one request may cost, and how many run at once.

Every request to the JSON API runs in a worker process of the pool
(:mod:`derivkit.web.pool`) under these limits. They are the *hard, outer*
limits: a worker that is still busy when ``time`` runs out is killed and
replaced, and a worker may allocate ``memory`` bytes beyond what it uses once
its libraries are loaded (its address space is capped there; an allocation past
it fails with ``MemoryError`` inside the worker, which is then replaced). The reply then says which limit stopped the work (HTTP 422).

The time and memory limits are those of :mod:`derivkit.budget` (its defaults,
and its names in replies: ``seconds``, ``memory``). Each worker runs the
library with them as its budget, so the library's own deadline usually stops
the work first, with a message naming the part of the input; the pool kills a
worker only when that did not happen ``GRACE`` seconds later.

>>> limits = ServerLimits()
>>> limits.time, limits.body
(10.0, 65536)
>>> parse_size("512M"), parse_size("2G"), parse_size("65536")
(536870912, 2147483648, 65536)
>>> describe_size(64 * 1024), describe_size(3 * 2**30)
('64 KiB', '3 GiB')
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from derivkit.budget import DEFAULTS
from derivkit.errors import InputError

__all__ = ["ServerLimits", "GRACE", "parse_size", "describe_size", "describe_seconds"]

#: Seconds past the time limit after which a worker still computing is killed.
GRACE = 2.0

_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}


def _default_workers() -> int:
    return max(2, min(8, os.cpu_count() or 2))


@dataclass(frozen=True)
class ServerLimits:
    """The limits of one server; every field has a default fit for a class of students.

    * ``workers``: worker processes computing requests at normal priority.
    * ``time``: seconds of wall-clock time one request may compute (the
      budget's ``seconds``); ``GRACE`` seconds later its worker is killed.
    * ``memory``: bytes (the budget's ``memory``) one request may use beyond what its
      worker holds once SymPy, NumPy, matplotlib and derivkit are loaded
      (about 250 MB, not counted).
    * ``body``: bytes of one request body.
    * ``queue``: requests that may wait for a worker; past it the server answers
      503 (busy) at once.
    * ``queue_time``: seconds a request may wait for a worker before it is
      answered 503 (busy).
    * ``demote_after``: CPU seconds after which a request still computing counts
      as long: its worker is lowered to the least CPU priority (``nice`` 19) and
      leaves the rotation, and a fresh worker takes its place, so that short
      requests are not kept waiting behind long ones. (Everyday requests take
      a few to a hundred milliseconds of CPU.)
    * ``set_aside_after``: seconds by the clock after which a request still
      computing, while others wait for a worker, leaves the rotation (at its own
      priority) and a fresh worker takes its place.
    * ``max_demoted``: how many requests may compute out of the rotation at
      once, lowered or set aside (beyond them, a long request keeps its worker
      in the rotation).
    * ``max_jobs``: requests one worker computes before it is replaced by a fresh
      one (SymPy's caches only grow).
    """

    workers: int = field(default_factory=_default_workers)
    time: float = DEFAULTS.seconds
    memory: int = DEFAULTS.memory
    body: int = 64 * 1024
    queue: int = 64
    queue_time: float = 30.0
    demote_after: float = 0.1
    set_aside_after: float = 0.5
    max_demoted: int = 4
    max_jobs: int = 500

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise InputError(f"the server needs at least one worker, not {self.workers}")
        if not self.time > 0:
            raise InputError(f"the time limit must be positive, not {self.time}")
        if self.memory < 16 * 2**20:
            raise InputError(f"the memory limit must be at least 16 MiB, not {describe_size(self.memory)}")
        if self.body < 1024:
            raise InputError(f"the body limit must be at least 1 KiB, not {self.body} bytes")
        for name in ("queue", "max_demoted", "max_jobs"):
            if getattr(self, name) < (1 if name == "max_jobs" else 0):
                raise InputError(f"{name} must not be negative")

    def with_(self, **changes: object) -> "ServerLimits":
        """A copy with some fields changed (``None`` values are ignored).

        >>> ServerLimits(workers=2).with_(time=3, memory=None).time
        3
        """
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]


def parse_size(text: str) -> int:
    """``"512M"`` -> bytes; the units K, M, G are powers of 1024, a plain number is bytes."""
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = t[-1:] if t[-1:] in _UNITS and t[-1:] else ""
    number = t[: len(t) - len(unit)].strip()
    try:
        value = float(number)
    except ValueError:
        raise InputError(f"expected a size such as 512M or 2G, got {text!r}") from None
    if value <= 0 or value != value:
        raise InputError(f"expected a positive size, got {text!r}")
    return int(value * _UNITS[unit])


def describe_size(n: int) -> str:
    """Bytes in words, in the largest unit that divides them (or one decimal)."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def describe_seconds(s: float) -> str:
    """``10.0`` -> ``"10 s"``, ``0.5`` -> ``"0.5 s"``.

    >>> describe_seconds(10.0), describe_seconds(0.5)
    ('10 s', '0.5 s')
    """
    return f"{s:g} s"
