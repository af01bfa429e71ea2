"""One request's work, and the loop of a worker process that does it.

:func:`answer` turns a checked request into ``(status, JSON bytes)``. It is the
one place where exceptions become HTTP statuses:

* 200: the endpoint's reply;
* 400 ``{"error": ...}``: bad input (a :class:`~derivkit.errors.DerivkitError`;
  a parse error adds ``position``, the 0-based column it points at);
* 422 ``{"error": ..., "limit": ...}``: work past a budget
  (:class:`~derivkit.errors.LimitError`, too deep a nesting, memory);
* 501: a feature this installation does not have;
* 500 ``{"error": ...}``: a bug in derivkit; the traceback is logged on the
  server, never sent.

:func:`serve_forever` is a worker process's life: cap its address space at
what it uses once loaded plus the memory limit, then answer jobs from a pipe
until told to stop or until it has answered ``max_jobs`` of them.

>>> status, body = answer("derive", {"expr": "x^3"})
>>> status, json.loads(body)["result"]
(200, '3*x**2')
>>> status, body = answer("derive", {"expr": "x^^2"})
>>> status, sorted(json.loads(body))
(400, ['error', 'position'])
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import signal
import sys
from typing import Any

from derivkit.errors import DerivkitError, LimitError
from derivkit.web.endpoints import ENDPOINTS, NotAvailable

__all__ = ["answer", "error_body", "serve_forever", "MEMORY_EXIT"]

log = logging.getLogger("derivkit.web")

#: The exit status of a worker that stopped after running out of memory.
MEMORY_EXIT = 86


def error_body(message: str, **more: Any) -> bytes:
    """``{"error": message, ...}`` as JSON bytes.

    >>> error_body("no", limit="time")
    b'{"error": "no", "limit": "time"}'
    """
    return json.dumps({"error": message, **more}, ensure_ascii=False).encode()


def _finite(obj: Any) -> Any:
    """The reply with every non-finite float (``nan``, ``inf``) as ``null``: JSON has none."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _encode(reply: Any) -> bytes:
    try:
        return json.dumps(reply, ensure_ascii=False, allow_nan=False).encode()
    except ValueError:
        return json.dumps(_finite(reply), ensure_ascii=False, allow_nan=False).encode()


def answer(name: str, body: dict[str, Any], *, checked: bool = False, memory_cap: int = 0) -> tuple[int, bytes]:
    """The status and JSON reply of ``POST /api/<name>`` for ``body``.

    ``checked`` says the body has already been checked against the fields
    (the app does that before a request reaches a worker). ``memory_cap`` is
    the worker's address-space cap: near it, allocations fail in odd places
    (a ``SystemError`` from C code instead of a ``MemoryError``), so an
    unexpected error in a process whose peak came within 5% of its cap is taken
    for what it is, a ``MemoryError``.
    """
    endpoint = ENDPOINTS[name]
    try:
        request = body if checked else endpoint.read(body)
        return 200, _encode(endpoint.run(request))
    except LimitError as err:  # the hint on raising a limit is for library users, not for clients
        message = re.sub(r" \(raise it with derivkit\.limits\([^)]*\)\)", "", str(err))
        return 422, error_body(message, limit=err.limit, value=_finite(_plain(err.value)))
    except NotAvailable as err:
        return 501, error_body(str(err))
    except DerivkitError as err:
        position = getattr(err, "position", None)
        return 400, error_body(str(err), **({"position": position} if position is not None else {}))
    except RecursionError:
        return 422, error_body("the input is too deeply nested to work on", limit="depth")
    except MemoryError:
        raise  # the worker answers and retires (see serve_forever)
    except ValueError as err:
        if "integer string conversion" not in str(err):
            return _internal(name, memory_cap)
        return 422, error_body("a number in the result has too many digits to write out (over 4300)", limit="size")
    except Exception:
        return _internal(name, memory_cap)


def _internal(name: str, memory_cap: int) -> tuple[int, bytes]:
    """A bug in derivkit (or memory running out where C code does not say so)."""
    if memory_cap and _vm("VmPeak") > 0.95 * memory_cap:
        raise MemoryError
    log.exception("internal error in /api/%s", name)
    return 500, error_body(
        "derivkit failed on this request (an internal error, logged on the server); "
        "please report the input that caused it"
    )


def _plain(value: Any) -> Any:
    return value if isinstance(value, (int, float, str)) or value is None else str(value)


def _vm(field: str) -> int:
    """A ``Vm...`` line of ``/proc/self/status`` in bytes (0 where there is none)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _cap_memory(allowance: int) -> int:
    """Cap the address space at what the process uses now plus ``allowance`` bytes; return the cap."""
    import resource

    cap = _vm("VmSize") + allowance
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    return cap


def serve_forever(conn: Any, seconds: float, memory: int, max_jobs: int) -> None:
    """A worker process: answer jobs from ``conn`` until told to stop.

    The pipe carries JSON bytes both ways, never pickles: the worker first sends
    ``{"pid": ...}`` once its memory is capped; a job is ``[name, body]`` (a
    checked body) and ``null`` says stop; a reply is the three digits of the
    status followed by the JSON body. The worker also stops on a closed pipe,
    after ``max_jobs`` jobs, and after a ``MemoryError`` (exit status
    :data:`MEMORY_EXIT`, once its 422 reply is sent), since a process that ran
    out of memory may be left in a bad state.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops the workers
    from derivkit.budget import set_defaults

    set_defaults(seconds=seconds, memory=memory)  # the library's own budget: the server's limits
    cap = _cap_memory(memory)
    conn.send_bytes(json.dumps({"pid": os.getpid()}).encode())
    for _ in range(max_jobs):
        try:
            job = json.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        if job is None:
            return
        name, body = job
        try:
            status, reply = answer(name, body, checked=True, memory_cap=cap)
        except MemoryError:
            status, reply = 422, b""
        if not reply:
            from derivkit.web.limits import describe_size

            conn.send_bytes(b"422" + error_body(
                f"the work needed more memory than this server allows one request ({describe_size(memory)}) "
                f"and was stopped", limit="memory", value=memory))
            conn.close()
            sys.exit(MEMORY_EXIT)
        conn.send_bytes(b"%03d" % status + reply)
