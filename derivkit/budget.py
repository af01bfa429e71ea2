"""Budgets for all work on user input: time, memory and sizes, in one place.

Whatever a user types can ask for work that never ends (``x^x^x^x`` evaluated
exactly), or for more memory than the machine has (a number of a billion digits).
derivkit bounds that work three ways, all configured by one :class:`Limits`:

1. **Estimates before the work.** Sizes are checked before anything is
   built or computed: the length and nesting of a formula, the digits of a
   number, the arguments of a function, the order of a derivative, the entries
   of a Hessian, the steps of a descent, the size of a printout. What would
   exceed a limit is refused at once.
2. **A deadline and a memory budget for what slips through.** Each public
   call runs as a :func:`task`; the loops that can run long (the step engine,
   tidying, numeric evaluation, descent, matrix assembly, printing) call
   :func:`checkpoint`, which stops the work when the deadline has passed or
   the process has grown by more than the memory budget. The state lives in a
   :class:`contextvars.ContextVar`, so it is per thread and per asyncio task,
   and no signal (``SIGALRM``) is needed: it works in any thread and in a server.
3. **A child process for SymPy calls that cannot be stopped from inside**
   (``simplify`` may run for minutes without returning to derivkit's code):
   :func:`run_isolated` runs them in a child process with a wall-clock limit and
   a memory limit (``RLIMIT_AS``), and the caller falls back to a cheaper method
   when the child runs out of either.

Every refusal is a :class:`~derivkit.errors.LimitError` naming the limit (a field
name of :class:`Limits`, so ``limits(**{err.limit: bigger})`` raises it), its
value and the part of the input that would exceed it:

>>> from derivkit.errors import LimitError
>>> current().order
50
>>> with limits(order=3):
...     refuse_above("order", 5, "the derivative of order 5")
Traceback (most recent call last):
...
derivkit.errors.LimitError: the derivative of order 5 is over the limit of 3 (the order limit; see derivkit.limits)
>>> with limits(seconds=30) as lim:
...     lim.seconds
30

Limits change for a block with :func:`limits` (nested blocks restore the
outer values), or for the whole process with :func:`set_defaults`.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import os
import pickle
import select
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, ParamSpec, TypeVar

from derivkit.errors import InputError, LimitError

__all__ = [
    "Limits",
    "DEFAULTS",
    "DESCRIPTIONS",
    "limits",
    "current",
    "set_defaults",
    "task",
    "guarded",
    "checkpoint",
    "remaining",
    "refuse_above",
    "run_isolated",
    "Isolated",
    "shorten",
]

T = TypeVar("T")
P = ParamSpec("P")


@dataclass(frozen=True)
class Limits:
    """Every budget derivkit applies to work on user input, with its default.

    Time and memory:

    * ``seconds``: wall-clock time of one call (a :func:`task`: ``derive``,
      ``check``, ``hessian``, a rendering, ...); nested calls share it.
    * ``memory``: bytes the process may grow by during one call; also the
      address-space limit of a child process of :func:`run_isolated`.
    * ``isolated_seconds``: wall-clock time of one SymPy call run in a child
      process (``simplify`` when checking an answer); past it the cheaper method decides.

    Sizes (refused before the work starts):

    * ``length``: characters of a formula; ``depth``: nesting of a formula;
      ``tower``: levels of a power tower with variable exponents (``x^x^x^x`` has 3).
    * ``digits``: digits of an exact number, typed or computed.
    * ``arguments``: arguments of an unknown function ``f(x, y, ...)``.
    * ``nodes``: nodes of an expression to derive; ``result_nodes``: of a derivative.
    * ``order``: order of a derivative.
    * ``entries``: entries of a gradient, Jacobian or Hessian derived (a Hessian in
      n variables derives n(n+1)/2 entries and n first partials).
    * ``steps``: iterations of a worked gradient descent.
    * ``printed``: characters (estimated) of one rendering (text, LaTeX, Markdown, JSON).
    """

    seconds: float = 10.0
    memory: int = 1 << 30
    isolated_seconds: float = 1.0
    length: int = 10_000
    depth: int = 100
    tower: int = 4
    digits: int = 4_000
    arguments: int = 32
    nodes: int = 5_000
    result_nodes: int = 100_000
    order: int = 50
    entries: int = 1_000
    steps: int = 10_000
    printed: int = 500_000

    def replace(self, **changes: Any) -> "Limits":
        """A copy with some limits changed; each must be a positive number.

        >>> Limits().replace(order=5).order
        5
        >>> Limits().replace(colour=1)
        Traceback (most recent call last):
        ...
        derivkit.errors.InputError: 'colour' is not a limit; the limits are: seconds, memory, isolated_seconds, length, depth, tower, digits, arguments, nodes, result_nodes, order, entries, steps, printed
        """
        names = [f.name for f in dataclasses.fields(self)]
        for name, value in changes.items():
            if name not in names:
                raise InputError(f"{name!r} is not a limit; the limits are: {', '.join(names)}")
            floats = name in ("seconds", "isolated_seconds")
            ok_type = (int, float) if floats else int
            if isinstance(value, bool) or not isinstance(value, ok_type) or not value > 0 or value != value:
                kind = "a positive number of seconds" if floats else "a positive whole number"
                raise InputError(f"the {name} limit must be {kind}, not {value!r}")
        return dataclasses.replace(self, **changes)


#: The limits derivkit starts with (see :class:`Limits`).
DEFAULTS = Limits()

#: What each limit bounds, in words (used in messages and in the docs).
DESCRIPTIONS = {
    "seconds": "time limit",
    "memory": "memory limit",
    "isolated_seconds": "time limit of an isolated SymPy call",
    "length": "length limit",
    "depth": "nesting limit",
    "tower": "power tower limit",
    "digits": "digits limit",
    "arguments": "argument limit",
    "nodes": "expression size limit",
    "result_nodes": "derivative size limit",
    "order": "order limit",
    "entries": "matrix entries limit",
    "steps": "descent steps limit",
    "printed": "printing limit",
}

_defaults = DEFAULTS


@dataclass
class _Active:
    """The state of one running task (shared by the tasks nested in it)."""

    limits: Limits
    deadline: float
    seconds: float
    raw_part: Any
    memory_base: int | None
    next_memory_check: float = 0.0

    @property
    def part(self) -> str | None:
        """The input worked on, shortened for messages (made only when a message needs it)."""
        return None if self.raw_part is None else shorten(self.raw_part)


_LIMITS: contextvars.ContextVar[Limits | None] = contextvars.ContextVar("derivkit_limits", default=None)
_TASK: contextvars.ContextVar[_Active | None] = contextvars.ContextVar("derivkit_task", default=None)


def current() -> Limits:
    """The limits in force here (those of the innermost :func:`limits` block, else the defaults)."""
    lim = _LIMITS.get()
    return _defaults if lim is None else lim


def set_defaults(**changes: Any) -> Limits:
    """Change the default limits of the whole process (e.g. once, when a server starts).

    Returns the new defaults; ``set_defaults(**dataclasses.asdict(DEFAULTS))`` restores the originals.
    """
    global _defaults
    _defaults = _defaults.replace(**changes)
    return _defaults


@contextlib.contextmanager
def limits(**changes: Any) -> Iterator[Limits]:
    """Change some limits inside a ``with`` block (in this thread or task only).

    ``with derivkit.limits(seconds=60, order=80): ...``. A task already running
    keeps the deadline it started with; calls made inside the block get the new one.
    """
    token = _LIMITS.set(current().replace(**changes))
    try:
        yield current()
    finally:
        _LIMITS.reset(token)


def shorten(text: Any, width: int = 60) -> str:
    """``text`` as a string of at most ``width`` characters (for messages).

    >>> shorten("x" * 100, 10)
    'xxxxxxx...'
    """
    s = text if isinstance(text, str) else _safe_str(text)
    s = " ".join(s.split())
    return s if len(s) <= width else s[: width - 3] + "..."


def _safe_str(obj: Any) -> str:
    try:
        return str(obj)
    except (ValueError, RecursionError):  # a huge integer, or a very deep expression
        return f"<{type(obj).__name__}>"


# ---------------------------------------------------------------- memory

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_MEMORY_EVERY = 0.05  # seconds between two looks at the process size


def _rss() -> int | None:
    """The resident size of this process in bytes (None where it cannot be read cheaply)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024
    except (ImportError, OSError, ValueError):  # pragma: no cover - platform dependent
        return None


def _address_space() -> int | None:
    """The virtual size of this process in bytes (Linux), the base of a child's ``RLIMIT_AS``."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[0]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


# ---------------------------------------------------------------- tasks and checkpoints

def _message(limit: str, value: Any, what: str) -> str:
    shown = f"{value:g}" if isinstance(value, float) else f"{value:,}"
    return f"{what} is over the limit of {shown} (the {DESCRIPTIONS[limit]}; see derivkit.limits)"


def _time_error(active: _Active) -> LimitError:
    on = f" on {active.part}" if active.part else ""
    return LimitError(
        f"the work{on} took longer than the time limit of {active.seconds:g} s and was stopped "
        f"(raise it with derivkit.limits(seconds=...))",
        limit="seconds", value=active.seconds, part=active.part,
    )


def _memory_error(active: _Active | None, lim: Limits) -> LimitError:
    on = f" on {active.part}" if active is not None and active.part else ""
    mib = lim.memory / 2**20
    return LimitError(
        f"the work{on} needed more than the memory limit of {mib:g} MiB and was stopped "
        f"(raise it with derivkit.limits(memory=...))",
        limit="memory", value=lim.memory, part=active.part if active is not None else None,
    )


def _depth_error(active: _Active | None) -> LimitError:
    on = f" {active.part}" if active is not None and active.part else ""
    return LimitError(f"the expression{on} is nested too deeply to work with", limit="depth",
                      value=current().depth, part=active.part if active is not None else None)


@contextlib.contextmanager
def task(part: Any = None) -> Iterator[Limits]:
    """Run a block as one piece of work on user input, under the current limits.

    The outermost task starts a deadline (``seconds`` from now) and notes the
    size of the process; tasks nested in it share both. ``part`` names the input
    (shown in the messages). A ``MemoryError`` or ``RecursionError`` raised
    inside becomes a :class:`~derivkit.errors.LimitError`. A server wraps each
    request in one task, so that everything the request does shares one deadline.

    >>> with task("x^2") as lim:
    ...     checkpoint()  # returns: the deadline is far away
    ...     lim.seconds
    10.0
    """
    outer = _TASK.get()
    if outer is not None:
        yield outer.limits
        return
    lim = current()
    now = time.monotonic()
    active = _Active(lim, now + lim.seconds, lim.seconds, part, _rss(), now + _MEMORY_EVERY)
    token = _TASK.set(active)
    try:
        yield lim
    except MemoryError:
        raise _memory_error(active, lim) from None
    except RecursionError:
        raise _depth_error(active) from None
    finally:
        _TASK.reset(token)


def guarded(fn: Callable[P, T]) -> Callable[P, T]:
    """Decorate a public function so that each call runs as a :func:`task`.

    The first argument (the expression, as a rule) names the input in messages.
    """

    @functools.wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        with task(args[0] if args else None):
            return fn(*args, **kwargs)

    return call


def checkpoint() -> None:
    """Stop the work (a :class:`~derivkit.errors.LimitError`) when its deadline or memory budget is spent.

    Cheap (a context-variable lookup and a clock read); loops that can run long
    call it once per round. Outside a :func:`task` it does nothing.
    """
    active = _TASK.get()
    if active is None:
        return
    now = time.monotonic()
    if now > active.deadline:
        raise _time_error(active)
    if now >= active.next_memory_check:
        active.next_memory_check = now + _MEMORY_EVERY
        if active.memory_base is not None:
            rss = _rss()
            if rss is not None and rss - active.memory_base > active.limits.memory:
                raise _memory_error(active, active.limits)


def remaining() -> float:
    """Seconds left before the current task's deadline (the time limit outside a task)."""
    active = _TASK.get()
    if active is None:
        return current().seconds
    return active.deadline - time.monotonic()


def refuse_above(limit: str, value: int | float, what: str, part: Any = None) -> None:
    """Raise :class:`~derivkit.errors.LimitError` when ``value`` exceeds the limit named ``limit``.

    ``what`` describes the value for the message ("a Hessian in 80 variables
    derives 3320 entries").

    >>> refuse_above("steps", 100, "100 steps")  # under the limit: nothing happens
    """
    bound = getattr(current(), limit)
    if value > bound:
        raise LimitError(_message(limit, bound, what), limit=limit, value=bound,
                         part=None if part is None else shorten(part))


# ---------------------------------------------------------------- child processes

class Isolated(Exception):
    """Raised by :func:`run_isolated` when the child could not be run (not a user error)."""


def run_isolated(fn: Callable[..., T], *args: Any, seconds: float | None = None,
                 memory: int | None = None) -> T:
    """``fn(*args)`` computed in a child process with a wall-clock and a memory limit.

    For SymPy calls that cannot be stopped from inside (``simplify``,
    ``solve``). ``seconds`` defaults to ``isolated_seconds`` (never past the
    current task's deadline) and ``memory`` to the memory limit (bytes of address
    space beyond what the process already has, enforced with ``RLIMIT_AS`` where
    the platform has it). Returns the result (it must pickle); an exception raised
    by ``fn`` is raised here. Past either limit: a
    :class:`~derivkit.errors.LimitError` (``limit="isolated_seconds"`` or
    ``"memory"``); where no child process can be made: :class:`Isolated`.

    The child is forked directly when this is the process's only thread (fast:
    it shares the parent's loaded modules and caches); otherwise it comes from a
    ``forkserver`` (forking a process with threads is unsafe).

    >>> run_isolated(pow, 2, 10)
    1024
    """
    lim = current()
    wall = lim.isolated_seconds if seconds is None else float(seconds)
    wall = min(wall, max(remaining(), 0.0))
    if wall <= 0:
        active = _TASK.get()
        if active is not None:
            raise _time_error(active)
    mem = lim.memory if memory is None else int(memory)
    if hasattr(os, "fork") and threading.active_count() == 1 and not _in_daemon_process():
        ok, value = _run_forked(fn, args, wall, mem)
    else:
        ok, value = _run_multiprocessing(fn, args, wall, mem)
    if ok:
        return value
    if value == "timeout":
        raise LimitError(f"an isolated computation took longer than {wall:g} s and was stopped",
                         limit="isolated_seconds", value=wall)
    if value == "memory":
        raise LimitError(f"an isolated computation needed more than {mem / 2**20:g} MiB and was stopped",
                         limit="memory", value=mem)
    if isinstance(value, BaseException):
        raise value
    raise Isolated(str(value))


def _in_daemon_process() -> bool:
    mp = sys.modules.get("multiprocessing")
    return bool(mp is not None and mp.current_process().daemon)


def _limit_memory(memory: int) -> None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return
    base = _address_space() or 0
    want = base + memory
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        resource.setrlimit(resource.RLIMIT_AS, (want, hard))
    except (ValueError, OSError):  # pragma: no cover - platform dependent
        pass


def _child_result(fn: Callable[..., Any], args: tuple, memory: int) -> bytes:
    _limit_memory(memory)
    try:
        out: tuple[bool, Any] = (True, fn(*args))
    except MemoryError:
        out = (False, "memory")
    except RecursionError:
        out = (False, InputError("the expression is nested too deeply to work with"))
    except BaseException as exc:  # noqa: BLE001 - sent to the parent, which raises it
        out = (False, exc)
    try:
        return pickle.dumps(out)
    except MemoryError:
        return pickle.dumps((False, "memory"))
    except Exception as exc:  # noqa: BLE001 - the result could not be pickled
        return pickle.dumps((False, f"the result could not be sent back: {exc}"))


def _run_forked(fn: Callable[..., Any], args: tuple, seconds: float, memory: int) -> tuple[bool, Any]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, write, leave without running the parent's exit handlers
        code = 0
        try:
            os.close(read_fd)
            data = _child_result(fn, args, memory)
            view = memoryview(data)
            while view:
                view = view[os.write(write_fd, view):]
        except BaseException:  # noqa: BLE001 - nothing can be reported any more
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + seconds
    timed_out = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_fd], [], [], min(left, 0.05))
            if ready:
                chunk = os.read(read_fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(read_fd)
        if timed_out:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if timed_out:
        return False, "timeout"
    return _decode(b"".join(chunks), status)


def _decode(data: bytes, status: int | None) -> tuple[bool, Any]:
    if not data:
        # the child died without a word: killed by the memory limit (or a crash of SymPy's C code)
        return False, "memory"
    try:
        ok, value = pickle.loads(data)
    except Exception:  # noqa: BLE001 - a truncated message from a child that died writing it
        return False, "memory"
    return ok, value


def _mp_child(conn: Any, fn: Callable[..., Any], args: tuple, memory: int) -> None:
    try:
        conn.send_bytes(_child_result(fn, args, memory))
    finally:
        conn.close()


_FORKSERVER_PRELOAD = ["derivkit.verify.equivalence"]


def _context() -> Any:
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        with contextlib.suppress(Exception):
            ctx.set_forkserver_preload(_FORKSERVER_PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


def _run_multiprocessing(fn: Callable[..., Any], args: tuple, seconds: float, memory: int) -> tuple[bool, Any]:
    if _in_daemon_process():
        raise Isolated("a daemonic worker process cannot start a child process")
    ctx = _context()
    recv, send = ctx.Pipe(duplex=False)
    try:
        proc = ctx.Process(target=_mp_child, args=(send, fn, args, memory), daemon=False)
        proc.start()
    except (OSError, AssertionError, pickle.PicklingError, TypeError, AttributeError) as exc:
        recv.close()
        send.close()
        raise Isolated(f"cannot start a child process: {exc}") from None
    send.close()
    data = b""
    timed_out = False
    try:
        if recv.poll(max(seconds, 0.0)):
            try:
                data = recv.recv_bytes()
            except (EOFError, OSError):
                data = b""
        else:
            timed_out = True
    finally:
        recv.close()
        if timed_out or proc.is_alive():
            proc.join(0.05)
            if proc.is_alive():
                proc.kill()
        proc.join()
    if timed_out:
        return False, "timeout"
    return _decode(data, proc.exitcode)

