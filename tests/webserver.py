"""A real ``derivkit serve`` on 127.0.0.1 (a free port) for the web tests.

The server is the command users run, in a subprocess: ``derivkit serve --port 0``
picks a free port and prints its address, which the tests read.
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
from typing import Iterator

import httpx


class Server(str):
    """The base URL ("http://127.0.0.1:PORT"), with ``.log``: the lines the server printed so far."""

    log: list[str]


@contextlib.contextmanager
def running_server(*options: str) -> Iterator[Server]:
    """Start ``derivkit serve --port 0 OPTIONS...`` and yield its :class:`Server` (its base URL)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "derivkit", "serve", "--port", "0", "--log-level", "warning", *options],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, f"derivkit serve did not say where it listens: {line!r}"
        url = Server(f"http://127.0.0.1:{match.group(1)}")
        url.log = []
        # Keep reading what the server prints, so that its pipe never fills up.
        threading.Thread(target=lambda: url.log.extend(proc.stdout), daemon=True).start()
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, "derivkit serve stopped: " + "".join(url.log)
            assert time.monotonic() < deadline, "derivkit serve did not start within 60 s"
            time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
