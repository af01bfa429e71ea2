"""The ASGI application: the pages, the static files and the JSON API.

Built on Starlette (the ``web`` extra), served by uvicorn (``derivkit serve``).
The main process does only cheap, bounded work: it reads a body (at most
``limits.body`` bytes), decodes the JSON, checks it against the endpoint's
fields, and hands it to the :class:`~derivkit.web.pool.WorkerPool`; every
formula is parsed and worked on in a worker process, under the pool's limits.

Replies: the endpoint's JSON (200), or ``{"error": ...}`` with 400 (bad input),
405 (not POST), 404 (no such endpoint), 422 (a limit: ``limit`` says which),
500 (a bug, logged), 501 (not available) or 503 (busy). Every reply carries a
Content-Security-Policy that lets a page load nothing from anywhere but this
server.

>>> app = create_app()
>>> sorted(r.path for r in app.routes if r.path.startswith("/api"))
['/api', '/api/health', '/api/openapi.json', '/api/{name}']
"""

from __future__ import annotations

import json
import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from derivkit.errors import DerivkitError, LimitError
from derivkit.web.endpoints import ENDPOINTS
from derivkit.web.limits import ServerLimits, describe_size
from derivkit.web.openapi import openapi
from derivkit.web.pages import index, page
from derivkit.web.pool import Busy, WorkerPool

__all__ = ["create_app", "STATIC", "SECURITY_HEADERS"]

log = logging.getLogger("derivkit.web")

#: The folder of the page's script, stylesheet and KaTeX.
STATIC = Path(__file__).parent / "static"

#: Sent with every reply: load nothing from elsewhere, run no inline script, no framing.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


class _SecurityHeaders:
    """ASGI middleware adding :data:`SECURITY_HEADERS` to every response."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self.headers = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _error(status: int, message: str, **more: Any) -> JSONResponse:
    return JSONResponse({"error": message, **more}, status_code=status)


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(limits: ServerLimits | None = None) -> Starlette:
    """The application; its pool of workers starts with the server and stops with it."""
    limits = limits or ServerLimits()
    spec = openapi(limits)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = WorkerPool(limits)
        await pool.start()
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    async def api(request: Request) -> Response:
        name = request.path_params["name"]
        endpoint = ENDPOINTS.get(name)
        if endpoint is None:
            return _error(404, f"there is no endpoint /api/{name} (endpoints: {', '.join(ENDPOINTS)})")
        if request.method != "POST":
            return JSONResponse({"error": f"/api/{name} takes POST with a JSON body"}, status_code=405,
                                headers={"allow": "POST"})
        try:
            raw = await _read_body(request, limits.body)
        except _TooLarge:
            return _error(422, f"the request body is larger than this server accepts ({describe_size(limits.body)})",
                          limit="size", value=limits.body)
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError) as err:
            where = f" (line {err.lineno}, column {err.colno})" if isinstance(err, json.JSONDecodeError) else ""
            return _error(400, f"the request body is not valid JSON{where}: send an object such as "
                               f'{{"expr": "x^2"}} with Content-Type: application/json')
        try:
            checked = endpoint.read(body)
        except LimitError as err:
            return _error(422, str(err), limit=err.limit, value=err.value)
        except DerivkitError as err:
            return _error(400, str(err))
        try:
            status, reply = await request.app.state.pool.run(name, checked)
        except Busy as err:
            return _error(503, f"the server is busy ({err}); try again in a moment", retry_after=1)
        return Response(reply, status_code=status, media_type="application/json")

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({
            "status": "ok",
            "limits": {"workers": limits.workers, "time": limits.time, "memory": limits.memory, "body": limits.body,
                       "queue": limits.queue},
            "pool": request.app.state.pool.stats(),
        })

    async def openapi_json(request: Request) -> JSONResponse:
        return JSONResponse(spec)

    async def api_root(request: Request) -> RedirectResponse:
        return RedirectResponse("/api/openapi.json")

    async def home(request: Request) -> HTMLResponse:
        return HTMLResponse(index())

    def page_route(name: str) -> Route:
        html = page(name)

        async def show(request: Request) -> HTMLResponse:
            return HTMLResponse(html)

        return Route(f"/{name}", show, methods=["GET"], name=f"page-{name}")

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        if request.url.path.startswith("/api"):
            return _error(status, f"there is nothing at {request.url.path}" if status == 404 else "not allowed")
        return HTMLResponse(f"<!doctype html><title>{status}</title><p>Nothing here. <a href=\"/\">derivkit</a></p>",
                            status_code=status)

    async def internal(request: Request, exc: Exception) -> Response:
        log.exception("internal error at %s", request.url.path, exc_info=exc)
        return _error(500, "derivkit failed on this request (an internal error, logged on the server)")

    routes = [
        Route("/", home, methods=["GET"]),
        *(page_route(name) for name in ENDPOINTS),
        Route("/api", api_root, methods=["GET"]),
        Route("/api/openapi.json", openapi_json, methods=["GET"]),
        Route("/api/health", health, methods=["GET"]),
        Route("/api/{name}", api, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: not_found, 404: not_found, 405: not_found, Exception: internal},
    )
    app.add_middleware(_SecurityHeaders)
    return app
