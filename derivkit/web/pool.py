"""A pool of worker processes that computes requests under hard limits of time and memory.

Why processes, and why not :class:`concurrent.futures.ProcessPoolExecutor`:
SymPy work on untrusted input can take unbounded time in C-free Python loops
that no in-process timer interrupts reliably, and can allocate without bound. A
request that runs past its limit must be *stopped*, which means killing the
process computing it, and the pool must go on serving the others; an executor
can neither kill one job nor replace one worker. So the pool manages its
processes itself:

* ``workers`` processes are in the rotation; a request takes an idle one or
  waits in a queue of at most ``queue`` requests (past it: :class:`Busy`, 503).
* Each worker's address space is capped (``RLIMIT_AS``); an allocation past it
  fails inside the worker, which answers 422 (limit ``memory``) and exits.
* A request that has used ``demote_after`` seconds of CPU time is *long*: its
  worker gets the lowest CPU priority (``nice`` 19) and leaves the rotation, and
  a fresh worker takes its place. CPU time, not wall-clock time: on a busy
  machine an ordinary request takes longer by the clock, but not by the CPU.
  Short requests thus never queue behind long ones, nor share a core with them
  on equal terms.
* A request that has computed for ``set_aside_after`` seconds by the clock
  while others wait is *set aside*: out of the rotation (a fresh worker takes
  its place) at its own priority, so that a burst of long requests cannot hold
  every worker while their CPU time adds up on a crowded machine.
* At most ``max_demoted`` requests are out of the rotation at once.
* Workers run the library under :mod:`derivkit.budget` with ``time`` and
  ``memory`` as its limits, so the library itself stops most work past them.
  A request still computing ``GRACE`` seconds after ``time`` is stopped: its
  worker is killed (``SIGKILL``) and replaced, and the reply is 422 (limit
  ``seconds``).
* A worker that has answered ``max_jobs`` requests retires and is replaced.

Workers are forked from a fork server that has imported
:mod:`derivkit.web.preload`, so a replacement is ready in milliseconds. Jobs and
replies cross the pipe as JSON bytes (never pickles): the main process trusts
nothing a worker sends beyond a status and a body.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import signal
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from derivkit.web.limits import GRACE, ServerLimits, describe_seconds, describe_size
from derivkit.web.worker import error_body

__all__ = ["WorkerPool", "Busy"]

log = logging.getLogger("derivkit.web")

_START_TIMEOUT = 60.0  # seconds a new worker may take to say it is ready
_SLICE = 0.05  # seconds between looks at a busy worker's CPU time
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from ``/proc`` (0 where it cannot be read)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return 0.0


class Busy(Exception):
    """Every worker is busy and the queue is full: the server answers 503."""


@dataclass
class _Worker:
    process: Any
    conn: Any
    pid: int
    jobs: int = 0
    demoted: bool = False  # out of the rotation
    lowered: bool = False  # at the least CPU priority


def _context(start_method: str) -> Any:
    ctx = multiprocessing.get_context(start_method)
    if start_method == "forkserver":
        ctx.set_forkserver_preload(["derivkit.web.preload"])
    return ctx


def _worker_main(conn: Any, seconds: float, memory: int, max_jobs: int) -> None:
    from derivkit.web.worker import serve_forever

    serve_forever(conn, seconds, memory, max_jobs)


class WorkerPool:
    """Worker processes computing ``(endpoint, body)`` jobs; see the module notes.

    Use ``await pool.start()``, then ``await pool.run(name, body)`` (a
    ``(status, JSON bytes)`` pair) from any number of tasks, and ``await
    pool.close()``. :meth:`stats` counts what happened. ``start_method`` is
    how workers are made: ``"forkserver"`` (forked from a preloaded server, the
    default) or ``"fork"`` (forked from this process, which then must hold no
    threads of its own; tests use it to give workers endpoints of their own).
    """

    def __init__(self, limits: ServerLimits | None = None, *, start_method: str = "forkserver"):
        self.limits = limits or ServerLimits()
        self._ctx = _context(start_method)
        self._idle: list[_Worker] = []
        self._busy: set[int] = set()
        self._rotation = 0  # workers in the rotation: idle, busy at normal priority, or starting
        self._demoted = 0
        self._waiters: deque[asyncio.Future[_Worker]] = deque()
        self._closed = False
        self._tasks: set[asyncio.Task[None]] = set()
        # One thread per job in flight (they wait on pipes) and a few for starting and reaping workers.
        self._threads = ThreadPoolExecutor(
            max_workers=self.limits.workers + self.limits.max_demoted + 4, thread_name_prefix="derivkit-pool"
        )
        self.counts = {"served": 0, "timed_out": 0, "out_of_memory": 0, "demoted": 0, "replaced": 0,
                       "crashed": 0, "turned_away": 0, "set_aside": 0}

    # --- life cycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Start the workers and wait until each is ready."""
        self._rotation = self.limits.workers
        workers = await asyncio.gather(*(self._spawn() for _ in range(self.limits.workers)))
        for w in workers:
            self._release(w)

    async def close(self) -> None:
        """Stop every worker (busy ones are killed) and wait for them."""
        self._closed = True
        for fut in self._waiters:
            if not fut.done():
                fut.set_exception(Busy("the server is shutting down"))
        for task in list(self._tasks):
            task.cancel()
        idle, self._idle = self._idle, []
        for w in idle:
            try:
                w.conn.send_bytes(b"null")
            except OSError:
                pass
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._threads, self._reap, w, 2.0) for w in idle))
        self._threads.shutdown(wait=False, cancel_futures=True)

    def stats(self) -> dict[str, Any]:
        """The pool's state and counters (for ``GET /api/health`` and the load test)."""
        return {
            "workers": self.limits.workers,
            "idle": len(self._idle),
            "busy": len(self._busy),
            "long": self._demoted,
            "queued": len(self._waiters),
            **self.counts,
        }

    # --- running a job ---------------------------------------------------------------------

    async def run(self, name: str, body: dict[str, Any]) -> tuple[int, bytes]:
        """Compute one request in a worker: ``(HTTP status, JSON body)``; :class:`Busy` if none is free."""
        worker = await self._acquire()
        self._busy.add(worker.pid)
        try:
            return await self._job(worker, json.dumps([name, body]).encode())
        finally:
            self._busy.discard(worker.pid)

    async def _job(self, w: _Worker, job: bytes) -> tuple[int, bytes]:
        loop = asyncio.get_running_loop()
        limits = self.limits
        try:
            cpu_at_start = _cpu_seconds(w.pid)
            w.conn.send_bytes(job)
            deadline = loop.time() + limits.time + GRACE
            # CPU time never runs ahead of the wall clock: nothing can be long before demote_after.
            wait = min(limits.demote_after, limits.set_aside_after, limits.time)
            while not (ready := await loop.run_in_executor(self._threads, w.conn.poll, wait)):
                left = deadline - loop.time()
                if left <= 0:
                    break
                if not w.lowered and (w.demoted or self._demoted < limits.max_demoted):
                    if _cpu_seconds(w.pid) - cpu_at_start >= limits.demote_after:
                        self._demote(w, lower=True)
                    elif not w.demoted and self._waiters and limits.time + GRACE - left >= limits.set_aside_after:
                        self._demote(w, lower=False)
                wait = min(_SLICE, left)
            if not ready:
                self.counts["timed_out"] += 1
                self._discard(w, kill=True)
                return 422, error_body(
                    f"the work took longer than this server allows one request ({describe_seconds(limits.time)}) "
                    f"and was stopped",
                    limit="seconds", value=limits.time,
                )
            data = await loop.run_in_executor(self._threads, w.conn.recv_bytes)
        except (EOFError, OSError):
            return self._died(w)
        except asyncio.CancelledError:  # the client went away, or the server is stopping
            self._discard(w, kill=True)
            raise
        w.jobs += 1
        status = int(data[:3])
        if status == 422 and json.loads(data[3:]).get("limit") == "memory":
            self.counts["out_of_memory"] += 1
            self._discard(w)  # it exits after answering
        elif w.demoted or w.jobs >= limits.max_jobs:
            self._discard(w)
        else:
            self.counts["served"] += 1
            self._release(w)
        return status, data[3:]

    def _died(self, w: _Worker) -> tuple[int, bytes]:
        """The worker's pipe closed mid-job: killed from outside (most often the kernel, for memory)."""
        w.process.join(1.0)
        code = w.process.exitcode
        self._discard(w)
        if code == -signal.SIGKILL:
            self.counts["out_of_memory"] += 1
            return 422, error_body(
                f"the work needed more memory than this server allows one request "
                f"({describe_size(self.limits.memory)}) and was stopped", limit="memory", value=self.limits.memory)
        self.counts["crashed"] += 1
        log.error("a worker stopped unexpectedly (exit status %s); it has been replaced", code)
        return 500, error_body("derivkit failed on this request (the worker computing it stopped unexpectedly); "
                               "please report the input that caused it")

    # --- the rotation ------------------------------------------------------------------------

    async def _acquire(self) -> _Worker:
        if self._closed:
            raise Busy("the server is shutting down")
        if self._idle:
            return self._idle.pop()
        if len(self._waiters) >= self.limits.queue:
            self.counts["turned_away"] += 1
            raise Busy(f"every worker is busy and {len(self._waiters)} requests are waiting")
        fut: asyncio.Future[_Worker] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout=self.limits.queue_time)
        except asyncio.TimeoutError:
            if _handed(fut):
                return fut.result()  # handed over at the last moment: use it
            fut.cancel()
            self.counts["turned_away"] += 1
            raise Busy(f"no worker was free within {describe_seconds(self.limits.queue_time)}") from None
        except asyncio.CancelledError:
            if _handed(fut):
                self._release(fut.result())  # this request went away: pass its worker on
            fut.cancel()
            raise
        finally:
            if fut in self._waiters:
                self._waiters.remove(fut)

    def _release(self, w: _Worker) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(w)
                return
        self._idle.append(w)

    def _demote(self, w: _Worker, lower: bool) -> None:
        """Take a busy worker out of the rotation (a fresh one takes its place); ``lower``: to ``nice`` 19."""
        if lower:
            try:
                os.setpriority(os.PRIO_PROCESS, w.pid, 19)
            except OSError:  # it has just exited: nothing to lower
                return
            w.lowered = True
            self.counts["demoted"] += 1
        if not w.demoted:
            w.demoted = True
            self._demoted += 1
            self._rotation -= 1
            self._refill()
        if not lower:
            self.counts["set_aside"] += 1

    def _discard(self, w: _Worker, kill: bool = False) -> None:
        """Take a worker out for good (killing it if asked) and refill the rotation."""
        if w.demoted:
            self._demoted -= 1
        else:
            self._rotation -= 1
        if kill:
            try:
                os.kill(w.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._threads.submit(self._reap, w, 5.0)
        self.counts["replaced"] += 1
        self._refill()

    def _refill(self) -> None:
        while not self._closed and self._rotation < self.limits.workers:
            self._rotation += 1
            task = asyncio.get_running_loop().create_task(self._replace())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _replace(self) -> None:
        try:
            w = await self._spawn()
        except Exception:  # pragma: no cover - the fork server itself failed
            log.exception("could not start a worker")
            self._rotation -= 1
            return
        if self._closed:
            w.conn.send_bytes(b"null")
            return
        self._release(w)

    async def _spawn(self) -> _Worker:
        return await asyncio.get_running_loop().run_in_executor(self._threads, self._spawn_sync)

    def _spawn_sync(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_worker_main, args=(child, self.limits.time, self.limits.memory, self.limits.max_jobs), daemon=True,
            name="derivkit-worker",
        )
        process.start()
        child.close()
        if not parent.poll(_START_TIMEOUT):
            process.kill()
            raise RuntimeError("a worker did not start")
        hello = json.loads(parent.recv_bytes())
        return _Worker(process, parent, int(hello["pid"]))

    @staticmethod
    def _reap(w: _Worker, timeout: float) -> None:
        w.process.join(timeout)
        if w.process.is_alive():
            w.process.kill()
            w.process.join(1.0)
        w.conn.close()


def _handed(fut: asyncio.Future[Any]) -> bool:
    """Whether a waiter's future holds a worker."""
    return fut.done() and not fut.cancelled() and fut.exception() is None
