"""derivkit in the browser and over HTTP: ``derivkit serve``.

A local web application (pages for derive, check, chain, descent, backprop and
exercises, the mathematics typeset by KaTeX shipped inside the package) and a
JSON API under ``/api/`` for autograders, safe to open to a class: every
request is computed in a pool of worker processes under limits of time and
memory, bodies are size-limited, and nothing in a request is evaluated as code.

* :mod:`derivkit.web.limits`: the limits (:class:`ServerLimits`).
* :mod:`derivkit.web.fields` and :mod:`derivkit.web.endpoints`: one record per
  endpoint (its fields, examples and work); the forms and the OpenAPI
  description are made from them.
* :mod:`derivkit.web.worker` and :mod:`derivkit.web.pool`: the work of one
  request, and the processes that do it.
* :mod:`derivkit.web.app`: the Starlette application (needs the ``web`` extra).

Start it with ``derivkit serve`` (``pip install "derivkit[web]"``), or in Python::

    import uvicorn
    from derivkit.web import create_app
    uvicorn.run(create_app(), host="127.0.0.1", port=8000)
"""

from __future__ import annotations

from typing import Any

from derivkit.web.limits import ServerLimits

__all__ = ["create_app", "ServerLimits"]


def create_app(limits: ServerLimits | None = None) -> Any:
    """The ASGI application (see :func:`derivkit.web.app.create_app`); needs the ``web`` extra."""
    try:
        import starlette  # noqa: F401
    except ImportError:
        from derivkit.errors import MissingDependencyError

        raise MissingDependencyError("starlette", "web", "the web application") from None
    from derivkit.web.app import create_app as make

    return make(limits)
