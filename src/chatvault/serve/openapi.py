"""The OpenAPI 3.1 document at /openapi.json, made from the endpoints' parameter tables, so
it cannot disagree with what the server accepts."""

from __future__ import annotations

from typing import Any

from chatvault import __version__
from chatvault.serve.params import Param
from chatvault.serve.read import Endpoint

ERROR = {"$ref": "#/components/schemas/Error"}


def _parameter(p: Param) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": p.kind}
    if p.minimum is not None:
        schema["minimum"] = p.minimum
    if p.maximum is not None:
        schema["maximum"] = p.maximum
    if p.choices:
        schema["enum"] = list(p.choices)
    if p.repeatable:
        schema = {"type": "array", "items": schema}
    return {
        "name": p.name,
        "in": "query",
        "required": False,
        "description": p.help,
        "schema": schema,
        **({"style": "form", "explode": True} if p.repeatable else {}),
    }


def _errors(*codes: int) -> dict[str, Any]:
    said = {
        400: "Bad parameters: the CLI's one-line message",
        401: "No bearer token, or an unknown one",
        403: "The token lacks the scope",
        404: "No such budget configured",
        413: "The body is too large",
        415: "Not protobuf or JSON",
        503: "The database cannot be used (e.g. a schema to migrate): the CLI's line",
    }
    return {
        str(c): {"description": said[c], "content": {"application/json": {"schema": ERROR}}}
        for c in codes
    }


def _read(e: Endpoint) -> dict[str, Any]:
    content: dict[str, Any] = {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"schema": {"const": e.schema}},
                "required": ["schema"],
            }
        }
    }
    if e.csv:
        content["text/csv"] = {"schema": {"type": "string"}}
    return {
        "get": {
            "summary": e.summary,
            "security": [{"bearer": ["read"]}],
            "parameters": [_parameter(p) for p in e.params],
            "responses": {
                "200": {"description": f"A {e.schema} document", "content": content},
                **_errors(400, 401, 403, 404, 503),
            },
        }
    }


def _otlp(signal: str) -> dict[str, Any]:
    body = {"schema": {"type": "string", "format": "binary"}}
    return {
        "post": {
            "summary": f"OTLP/HTTP {signal} (protobuf or JSON, gzip or not)",
            "security": [{"bearer": ["send"]}],
            "requestBody": {
                "required": True,
                "content": {"application/x-protobuf": body, "application/json": {"schema": {}}},
            },
            "responses": {
                "200": {
                    "description": "Export response, with partial success if items were refused"
                },
                **_errors(400, 401, 403, 413, 415, 503),
            },
        }
    }


def document(endpoints: list[Endpoint]) -> dict[str, Any]:
    text = {"200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}}
    paths: dict[str, Any] = {e.path: _read(e) for e in endpoints}
    paths["/"] = {
        "get": {
            "summary": "The dashboard as a self-contained HTML page",
            "security": [{"bearer": ["read"]}],
            "parameters": [],
            "responses": {
                "200": {
                    "description": "HTML",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                },
                **_errors(400, 401, 403, 503),
            },
        }
    }
    paths["/metrics"] = {
        "get": {
            "summary": "Prometheus metrics",
            "security": [{"bearer": ["read"]}],
            "responses": {**text, **_errors(401, 403, 503)},
        }
    }
    for path, summary in (("/healthz", "Alive"), ("/readyz", "Ready: the schema is current")):
        ok = {"200": {"description": "OK"}, **_errors(503)}
        paths[path] = {"get": {"summary": summary, "security": [], "responses": ok}}
    for signal in ("logs", "traces", "metrics"):
        paths[f"/v1/{signal}"] = _otlp(signal)
    return {
        "openapi": "3.1.0",
        "info": {"title": "chatvault", "version": __version__},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}},
                    "required": ["error"],
                }
            },
        },
    }
