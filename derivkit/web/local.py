"""``derivkit serve`` in a subprocess on 127.0.0.1, for tests, benchmarks and notebooks.

Use it as ``with local_server("--workers", "2") as server: ...``; inside the
block ``server.url`` (``http://127.0.0.1:PORT``) answers, and ``server.log``
holds what the server printed. The browser tests and the load benchmark use it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Iterator

__all__ = ["LocalServer", "local_server"]


@dataclass
class LocalServer:
    """A running server: its base URL and the lines it has printed so far."""

    url: str
    log: list[str] = field(default_factory=list)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/health", timeout=2) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def local_server(*options: str, timeout: float = 60.0) -> Iterator[LocalServer]:
    """Run ``derivkit serve --port 0 OPTIONS...`` until the block ends (then stop it as Ctrl-C does).

    The port is a free one, chosen by the server, which prints its address;
    the block starts once ``/api/health`` answers.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "derivkit", "serve", "--port", "0", "--log-level", "warning", *options],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", first)
        if not match:
            raise RuntimeError(f"derivkit serve did not say where it listens: {first!r}")
        server = LocalServer(f"http://127.0.0.1:{match.group(1)}", [first])
        # Keep reading what the server prints, so that its pipe never fills up.
        threading.Thread(target=lambda: server.log.extend(proc.stdout or ()), daemon=True).start()
        deadline = time.monotonic() + timeout
        while not _answers(server.url):
            if proc.poll() is not None:
                raise RuntimeError("derivkit serve stopped: " + "".join(server.log))
            if time.monotonic() > deadline:
                raise RuntimeError(f"derivkit serve did not answer within {timeout:g} s")
            time.sleep(0.1)
        yield server
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
