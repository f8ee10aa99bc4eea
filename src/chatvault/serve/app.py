"""The ASGI application: routes, bearer-token scopes, errors as one line, a session per
request on the process's shared engine."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from chatvault.errors import ChatvaultError, ConfigError, InputError
from chatvault.redact import redact
from chatvault.serve.auth import READ, SEND, Tokens, bearer
from chatvault.serve.params import query
from chatvault.serve.priority import ReportsFirst
from chatvault.serve.read import Endpoint, dashboard_data, endpoints

if TYPE_CHECKING:
    from chatvault.config import Settings
    from chatvault.serve.received import Received
    from chatvault.serve.write import Writer
    from chatvault.session import Session

log = logging.getLogger("chatvault.serve")
MAX_BODY = 8 * 1024 * 1024  # bytes of a request body, after gzip too
# Connections kept open for the threads that serve requests (4 more when all are busy; a
# request waits for one beyond that rather than fail).
POOL_SIZE = 8
NO_STORE = {"Cache-Control": "no-store"}


@dataclass
class Server:
    """What every request shares: the settings, the tokens, the received-data counters."""

    settings: Settings
    tokens: Tokens
    received: Received
    max_body: int = MAX_BODY
    open_access: bool = False  # --no-auth: loopback only, for a laptop
    extra: dict[str, Any] = field(default_factory=dict)
    first: ReportsFirst = field(default_factory=ReportsFirst)  # reports before received usage

    @cached_property
    def writer(self) -> Writer:
        """Where received usage goes: ingest's checks, pricing and dedupe, one writer at a
        time."""
        from chatvault.pricing.prices import PriceBook
        from chatvault.serve.write import Writer

        return Writer(PriceBook(self.settings.config.pricing.overrides))

    @contextmanager
    def reading(self, tz: str | None = None) -> Iterator[Session]:
        """A session for a report, once the rollups are exact for what this process wrote
        (serve/write.py)."""
        with self.writer.reading(), self.session(tz) as session:
            yield session

    def session(self, tz: str | None = None) -> Session:
        from chatvault.db.engine import get_engine
        from chatvault.period import zone_named
        from chatvault.session import Session

        zone = None if tz is None else zone_named(tz, "--tz")
        engine = get_engine(self.settings.database_url, pool_size=POOL_SIZE)
        return Session(self.settings, zone=zone, note=log.info, engine=engine)


def error_line(exc: BaseException) -> str:
    """The CLI's one line for an error, credentials scrubbed."""
    return redact(" ".join(str(exc).split()))


def failure(exc: BaseException) -> JSONResponse:
    """An error as the CLI would say it: 400 for bad input, 404 for a budget that is not
    configured, 503 for a database that cannot be used (a schema to migrate included)."""
    from chatvault.db.engine import query_failure

    if isinstance(exc, ConfigError):
        status = 404
    elif isinstance(exc, InputError):
        status = 400
    elif isinstance(exc, ChatvaultError):
        status = 503  # the database: unreachable, not migrated, drifted
    elif (known := query_failure(exc)) is not None:
        exc, status = known, 503
    else:
        log.error("unexpected error: %s: %s", type(exc).__name__, error_line(exc))
        line = "unexpected error; the server's log says more"
        return JSONResponse({"error": line}, status_code=500, headers=NO_STORE)
    headers = {**NO_STORE, **({"Retry-After": "30"} if status == 503 else {})}
    return JSONResponse({"error": error_line(exc)}, status_code=status, headers=headers)


Handler = Callable[[Request], Awaitable[Response]]


def guarded(server: Server, scope: str, handler: Handler) -> Handler:
    """The handler, for a request whose bearer token holds `scope`: 401 without a known
    token, 403 with one that lacks the scope."""

    async def run(request: Request) -> Response:
        if not server.open_access:
            token = bearer(request.headers.get("authorization"))
            granted = set() if token is None else server.tokens.granted(token)
            if not granted:
                return JSONResponse(
                    {"error": "a bearer token is needed (Authorization: Bearer <token>)"},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="chatvault"'},
                )
            if scope not in granted:
                return JSONResponse(
                    {"error": f"this token may not {'read' if scope == READ else 'send usage'}"},
                    status_code=403,
                )
        try:
            if scope == READ:
                with server.first.report():
                    return await handler(request)
            return await handler(request)
        except Exception as exc:
            return failure(exc)

    return run


def read_route(server: Server, endpoint: Endpoint) -> Handler:
    def answer(request: Request) -> Response:
        q = query(request.query_params, *endpoint.params)
        wants_csv = endpoint.csv and q.choice("format", "json") == "csv"
        with server.reading(q.text("tz")) as session:
            result = endpoint.build(session, q)
        if wants_csv:
            from chatvault.cli.output import csv_lines

            text = () if q.boolean("raw") else result.text
            return StreamingResponse(
                csv_lines(result.columns, result.records, text),
                media_type="text/csv; charset=utf-8",
                headers=NO_STORE,
            )
        return json_response({"schema": result.schema, **result.document})

    async def run(request: Request) -> Response:
        return await run_in_threadpool(answer, request)

    return run


def json_response(document: Any, status: int = 200) -> Response:
    import json

    body = json.dumps(document, ensure_ascii=False, default=str)
    return Response(body, status, media_type="application/json", headers=NO_STORE)


def create_app(server: Server) -> Starlette:
    from chatvault.serve import metrics, openapi, otlp

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "alive"}, headers=NO_STORE)

    def ready(_: Request) -> Response:
        from chatvault.db.shapes import HEAD

        try:
            with server.session() as session:
                session.connection  # noqa: B018  opened and its schema checked
        except Exception as exc:
            response = failure(exc)
            response.status_code = 503  # whatever the reason, not ready
            return response
        return JSONResponse({"status": "ready", "schema": HEAD}, headers=NO_STORE)

    async def readyz(request: Request) -> Response:
        return await run_in_threadpool(ready, request)

    def page(request: Request) -> Response:
        from chatvault.render.html import render
        from chatvault.serve.read import DAYS_FILTERS, Param

        q = query(request.query_params, *DAYS_FILTERS, Param("period", "string", ""))
        with server.reading(q.text("tz")) as session:
            board = dashboard_data(session, q)
        return HTMLResponse(render(board), headers=NO_STORE)

    async def index(request: Request) -> Response:
        return await run_in_threadpool(page, request)

    async def spec(request: Request) -> Response:
        return JSONResponse(openapi.document(endpoints()))

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/openapi.json", spec),
        Route("/", guarded(server, READ, index)),
        Route("/metrics", guarded(server, READ, metrics.handler(server))),
        *(Route(e.path, guarded(server, READ, read_route(server, e))) for e in endpoints()),
        *(
            Route(path, guarded(server, SEND, handler), methods=["POST"])
            for path, handler in otlp.handlers(server).items()
        ),
    ]
    return Starlette(routes=routes)
