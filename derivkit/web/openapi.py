"""The OpenAPI 3.1 description of the JSON API, made from the endpoint records.

Served at ``GET /api/openapi.json``. Each endpoint's request body schema comes
from its fields (:meth:`derivkit.web.fields.Field.schema`), so the description
cannot drift from what the server accepts.

>>> doc = openapi()
>>> sorted(doc["paths"])[:3]
['/api/backprop', '/api/chain', '/api/check']
>>> doc["paths"]["/api/derive"]["post"]["requestBody"]["content"]["application/json"]["schema"]["required"]
['expr']
"""

from __future__ import annotations

from typing import Any

from derivkit import __version__
from derivkit.web.endpoints import ENDPOINTS, Endpoint
from derivkit.web.limits import ServerLimits, describe_seconds, describe_size

__all__ = ["openapi"]

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "what is wrong, in words a student understands"},
        "limit": {"type": "string", "description": "the limit reached: time, memory, size, depth, order, ..."},
        "value": {"description": "the limit's setting (seconds, bytes, a count)"},
        "position": {"type": "integer", "description": "for a parse error: the 0-based column it points at"},
    },
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _operation(e: Endpoint, limits: ServerLimits) -> dict[str, Any]:
    body_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": [f.name for f in e.fields if f.required],
        "properties": {f.name: f.schema() for f in e.fields},
    }
    examples = {f"example{i}": {"summary": label, "value": dict(body)} for i, (label, body) in enumerate(e.examples, 1)}
    return {
        "post": {
            "operationId": e.name,
            "summary": e.summary,
            "description": f"Mirrors `{e.library}`. The reply: {e.reply}.",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": body_schema, "examples": examples}},
            },
            "responses": {
                "200": {
                    "description": e.reply,
                    "content": {"application/json": {"schema": {"type": "object", "properties": {
                        "rendered": {"type": "object", "description": "what the page shows"}}}}},
                },
                "400": _error("bad input: malformed JSON, a missing or unknown field, a formula that does not parse"),
                "405": _error("the endpoint takes POST only"),
                "422": _error(
                    f"work past a limit: the body over {describe_size(limits.body)} (limit size), more than "
                    f"{describe_seconds(limits.time)} of work (limit seconds), more than {describe_size(limits.memory)} "
                    f"of memory (limit memory), or one of derivkit's own budgets"
                ),
                "500": _error("a bug in derivkit (logged on the server; no traceback is sent)"),
                "501": _error("a feature this installation of derivkit does not have"),
                "503": _error("every worker is busy and the queue is full: try again shortly"),
            },
        }
    }


def openapi(limits: ServerLimits | None = None) -> dict[str, Any]:
    """The OpenAPI document for a server with these ``limits``."""
    limits = limits or ServerLimits()
    paths: dict[str, Any] = {f"/api/{name}": _operation(e, limits) for name, e in sorted(ENDPOINTS.items())}
    paths["/api/health"] = {
        "get": {
            "operationId": "health",
            "summary": "The server's limits and its pool of workers (idle, busy, long, queued, counters).",
            "responses": {"200": {"description": "the state", "content": {"application/json": {"schema": {"type": "object"}}}}},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "derivkit",
            "version": __version__,
            "description": (
                "Worked derivatives, checks of hand-computed answers, the chain rule, gradient descent and "
                "backpropagation, as JSON. Bodies mirror the library's arguments; replies are the results' "
                "to_dict() plus a `rendered` object. Every request is computed in a worker process under a "
                f"limit of {describe_seconds(limits.time)} and {describe_size(limits.memory)}; nothing in a request "
                "is evaluated as code."
            ),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "paths": paths,
        "components": {"schemas": {"Error": _ERROR}},
    }
