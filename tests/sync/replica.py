"""Local replicas of the providers' admin APIs on 127.0.0.1, written from their references
(docs/sync.md cites them): the parameters each endpoint takes and checks, its limits per
bucket width, page/next_page/has_more pagination, and the error shapes. A test puts usage and
cost records in, and can queue faults: 401, 403, 429 with Retry-After, 500, a malformed page,
or a page that answers too late.

Each replica keeps its records at the finest grain (an hour for usage, a day for costs) and
sums them into the buckets and groups a request asks for, as the providers do; `totals`
is what the test compares a sync with.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

OPENAI_KEY = "sk-admin-REPLICA-openai-0123456789"
ANTHROPIC_KEY = "sk-ant-admin01-REPLICA-anthropic-0123456789"
LIMITS = {"1m": (60, 1440), "1h": (24, 168), "1d": (7, 31)}  # (default, maximum) buckets
WIDTHS = {"1m": timedelta(minutes=1), "1h": timedelta(hours=1), "1d": timedelta(days=1)}
OPENAI_USAGE_GROUPS = {"project_id", "user_id", "api_key_id", "model", "batch", "service_tier"}
ANTHROPIC_USAGE_GROUPS = {"api_key_id", "workspace_id", "model", "service_tier", "context_window"}


@dataclass
class Replica:
    provider: str  # 'openai' or 'anthropic'
    url: str = ""
    usage: list[dict] = field(default_factory=list)  # {"at": hour, "endpoint", dims..., tokens}
    costs: list[dict] = field(default_factory=list)  # {"at": day, dims..., "amount": Decimal}
    faults: list[tuple[str, object]] = field(default_factory=list)  # ("429", "2"), ("500", None)...
    page_buckets: int | None = None  # serve fewer buckets per page than asked (more pages)
    delay: float = 0.0  # seconds before each answer
    requests: list[tuple[str, dict]] = field(default_factory=list)
    served_pages: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def key(self) -> str:
        return OPENAI_KEY if self.provider == "openai" else ANTHROPIC_KEY

    def usage_totals(self, endpoint: str | None = None) -> dict[str, int]:
        names = (
            ("input_tokens", "input_cached_tokens", "output_tokens", "num_model_requests")
            if self.provider == "openai"
            else (
                "uncached_input_tokens",
                "cache_read_input_tokens",
                "ephemeral_5m_input_tokens",
                "ephemeral_1h_input_tokens",
                "output_tokens",
            )
        )
        rows = [r for r in self.usage if endpoint is None or r["endpoint"] == endpoint]
        return {n: sum(r.get(n, 0) for r in rows) for n in names}

    def cost_total(self) -> Decimal:
        return sum((r["amount"] for r in self.costs), Decimal(0))


@contextmanager
def replica(provider: str) -> Iterator[Replica]:
    server = _Server(("127.0.0.1", 0), _Handler)
    state = Replica(provider, url=f"http://127.0.0.1:{server.server_address[1]}")
    server.replica = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a hanging answer does not hold the test up


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        state: Replica = self.server.replica  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        with state.lock:
            state.requests.append((parts.path, query))
            fault = state.faults.pop(0) if state.faults else None
        if state.delay:
            time.sleep(state.delay)
        if not self._authorised(state):
            return self._error(state, 401, "authentication_error", "invalid x-api-key")
        if fault is not None:
            kind, value = fault
            if kind == "hang":
                time.sleep(float(value))  # longer than the client waits
                return self._send(200, b'{"data": [], "has_more": false}')
            if kind == "malformed":
                return self._send(200, value if isinstance(value, bytes) else b'{"object": "page"')
            status = int(kind)
            echo = value == "echo"  # a server that quotes the key back in its message
            headers = {"Retry-After": str(value)} if value is not None and not echo else {}
            message = f"bad key {state.key}" if echo else f"fault {kind}"
            kinds = {403: "permission_error", 429: "rate_limit_error", 500: "api_error"}
            return self._error(state, status, kinds.get(status, "api_error"), message, headers)
        try:
            page = _answer(state, parts.path, query)
        except _Bad as exc:
            return self._error(state, exc.status, "invalid_request_error", str(exc))
        with state.lock:
            state.served_pages += 1
        body = _DECIMAL.sub(r"\1", json.dumps(page, default=_number)).encode()
        self._send(200, body)

    def _authorised(self, state: Replica) -> bool:
        if state.provider == "openai":
            return self.headers.get("Authorization") == f"Bearer {state.key}"
        version = self.headers.get("anthropic-version")
        return self.headers.get("x-api-key") == state.key and version == "2023-06-01"

    def _error(self, state, status, kind, message, headers=None) -> None:
        if status == 403:
            message = "this key is not an admin key"
        if state.provider == "openai":
            body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
        else:
            body = {"type": "error", "error": {"type": kind, "message": message}}
        self._send(status, json.dumps(body).encode(), headers or {})

    def _send(self, status: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        with suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)


class _Bad(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


_DECIMAL = re.compile(r'"decimal:([-0-9.E+]+)"')


def _number(value):
    """A Decimal as a JSON number written exactly (OpenAI's amount.value), never a float."""
    if isinstance(value, Decimal):
        return f"decimal:{value}"
    raise TypeError(type(value))


ROUTES = {
    ("openai", "/v1/organization/usage/completions"): ("usage", "completions"),
    ("openai", "/v1/organization/usage/embeddings"): ("usage", "embeddings"),
    ("openai", "/v1/organization/costs"): ("cost", None),
    ("anthropic", "/v1/organizations/usage_report/messages"): ("usage", "messages"),
    ("anthropic", "/v1/organizations/cost_report"): ("cost", None),
}


def _answer(state: Replica, path: str, query: dict) -> dict:
    route = ROUTES.get((state.provider, path))
    if route is None:
        raise _Bad(f"no route {path}", 404)
    kind, endpoint = route
    one = {k: v[-1] for k, v in query.items()}
    width = one.get("bucket_width", "1d")
    allowed = ("1d",) if kind == "cost" else ("1m", "1h", "1d")
    if width not in allowed:
        raise _Bad(f"bucket_width must be one of {allowed}")
    default, maximum = LIMITS[width]
    if kind == "cost":
        default, maximum = (7, 180) if state.provider == "openai" else (7, 31)
    limit = int(one.get("limit", default))
    if not 1 <= limit <= maximum:
        raise _Bad(f"limit must be between 1 and {maximum} for bucket_width {width}")
    start, end = _times(state, one)
    groups = query.get("group_by" if state.provider == "openai" else "group_by[]", [])
    known = _groups(state.provider, kind)
    if not set(groups) <= known:
        raise _Bad(f"group_by must be a subset of {sorted(known)}")
    if "page" in one:
        try:
            start = datetime.fromisoformat(base64.b64decode(one["page"]).decode())
        except ValueError:
            raise _Bad("invalid page") from None
    step = WIDTHS[width]
    served = min(limit, state.page_buckets or limit)
    buckets, at = [], start
    while at < end and len(buckets) < served:
        buckets.append(_bucket(state, kind, endpoint, at, at + step, groups))
        at += step
    more = at < end
    token = base64.b64encode(at.isoformat().encode()).decode() if more else None
    return {"object": "page", "data": buckets, "has_more": more, "next_page": token}


def _groups(provider: str, kind: str) -> set[str]:
    if kind == "cost":
        return (
            {"project_id", "line_item"} if provider == "openai" else {"workspace_id", "description"}
        )
    return OPENAI_USAGE_GROUPS if provider == "openai" else ANTHROPIC_USAGE_GROUPS


def _times(state: Replica, one: dict) -> tuple[datetime, datetime]:
    try:
        if state.provider == "openai":
            start = datetime.fromtimestamp(int(one["start_time"]), UTC)
            end = datetime.fromtimestamp(int(one["end_time"]), UTC) if "end_time" in one else None
        else:
            start = datetime.fromisoformat(one["starting_at"].replace("Z", "+00:00"))
            end = (
                datetime.fromisoformat(one["ending_at"].replace("Z", "+00:00"))
                if "ending_at" in one
                else None
            )
    except (KeyError, ValueError):
        raise _Bad("start_time/starting_at is required") from None
    return start, end or start + timedelta(days=7)


def _bucket(state: Replica, kind: str, endpoint: str | None, start, end, groups) -> dict:
    rows = [
        r
        for r in (state.usage if kind == "usage" else state.costs)
        if start <= r["at"] < end and (endpoint is None or r["endpoint"] == endpoint)
    ]
    results: dict[tuple, dict] = {}
    for row in rows:
        key = tuple(row.get(g) for g in sorted(groups))
        result = results.setdefault(
            key, _empty(state.provider, kind, endpoint, dict(zip(sorted(groups), key, strict=True)))
        )
        _add(state.provider, kind, result, row)
    if state.provider == "openai":
        obj = {
            "object": "bucket",
            "start_time": int(start.timestamp()),
            "end_time": int(end.timestamp()),
        }
    else:
        obj = {"starting_at": _rfc(start), "ending_at": _rfc(end)}
    if state.provider == "anthropic" and kind == "cost":
        for result in results.values():
            result["amount"] = format(result["amount"], "f")
    return {**obj, "results": list(results.values())}


def _empty(provider: str, kind: str, endpoint: str | None, dims: dict) -> dict:
    if provider == "openai" and kind == "usage":
        names = ("project_id", "user_id", "api_key_id", "model", "batch", "service_tier")
        base = {n: dims.get(n) for n in names}
        if endpoint == "embeddings":
            return {
                "object": "organization.usage.embeddings.result",
                "input_tokens": 0,
                "num_model_requests": 0,
                **base,
            }
        return {
            "object": "organization.usage.completions.result",
            "input_tokens": 0,
            "output_tokens": 0,
            "input_cached_tokens": 0,
            "input_audio_tokens": 0,
            "output_audio_tokens": 0,
            "num_model_requests": 0,
            **base,
        }
    if provider == "openai":
        return {
            "object": "organization.costs.result",
            "amount": {"value": Decimal(0), "currency": "usd"},
            "line_item": dims.get("line_item"),
            "project_id": dims.get("project_id"),
        }
    if kind == "usage":
        names = ("api_key_id", "workspace_id", "model", "service_tier", "context_window")
        return {
            "uncached_input_tokens": 0,
            "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
            "cache_read_input_tokens": 0,
            "output_tokens": 0,
            "server_tool_use": {"web_search_requests": 0},
            **{n: dims.get(n) for n in names},
        }
    described = "description" in dims
    return {
        "currency": "USD",
        "amount": Decimal(0),
        "workspace_id": dims.get("workspace_id"),
        "description": dims.get("description"),
        "cost_type": "tokens" if described else None,
        "context_window": None,
        "model": dims.get("model_of_description") if described else None,
        "service_tier": None,
        "token_type": None,
    }


def _add(provider: str, kind: str, result: dict, row: dict) -> None:
    if kind == "cost":
        if provider == "openai":
            result["amount"]["value"] += row["amount"] / 100  # the replica keeps cents
        else:
            result["amount"] += row["amount"]
        return
    if provider == "anthropic":
        for n in ("uncached_input_tokens", "cache_read_input_tokens", "output_tokens"):
            result[n] += row.get(n, 0)
        for n in ("ephemeral_1h_input_tokens", "ephemeral_5m_input_tokens"):
            result["cache_creation"][n] += row.get(n, 0)
        return
    for n in ("input_tokens", "output_tokens", "input_cached_tokens", "num_model_requests"):
        if n in result:
            result[n] += row.get(n, 0)


def _rfc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
