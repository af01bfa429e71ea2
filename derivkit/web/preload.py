"""Imported once by the worker processes' fork server, before any worker is forked.

Workers are forked from a server process that has imported this module, so a
fresh worker (at start, or replacing one that was killed) begins with SymPy,
NumPy, matplotlib and derivkit loaded and their caches warm: it is ready in
milliseconds, not the second an import takes. Importing this module is the
whole of its work: it runs every endpoint's first example once.
"""

from __future__ import annotations

import os

# One thread per worker: the pool is the parallelism, and a capped address space
# has no room for a BLAS thread pool's buffers.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def warm_up() -> None:
    """Answer each endpoint's first example (errors are ignored: a warm-up only)."""
    from derivkit.web.endpoints import ENDPOINTS
    from derivkit.web.worker import answer

    for endpoint in ENDPOINTS.values():
        for _, example in endpoint.examples[:1]:
            body = dict(example)
            if any(f.name == "plot" for f in endpoint.fields):
                body["plot"] = True  # load matplotlib too
            answer(endpoint.name, body)


warm_up()
