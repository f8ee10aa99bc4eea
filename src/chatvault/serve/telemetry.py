"""OpenTelemetry data as usage records: Claude Code's `api_request` events (logs) and
OpenTelemetry GenAI spans (traces). docs/serve.md cites the conventions read here.

The double-count rule: Claude Code describes each API request twice, as an `api_request`
event and as increments of its `claude_code.token.usage` / `claude_code.cost.usage` metrics.
The events are counted (one per request, with its time, tokens, cost, duration, session and
user); the metrics are received and acknowledged, never stored as usage. Spans from Claude
Code itself (service.name claude-code) are not counted either: its events already are.

Each record's request_id is stable for the same item, so an exporter's retry of a batch
stores nothing new (the dedupe of every import, db/writes.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chatvault.ingest.record import RecordError, count, derived_id, money, text, timestamp

CLAUDE_CODE = "claude-code"
API_REQUEST = ("api_request", "claude_code.api_request")
API_ERROR = ("api_error", "claude_code.api_error")  # a request Claude Code gave up on
CLAUDE_CODE_METRICS = ("claude_code.token.usage", "claude_code.cost.usage")
UNKNOWN_USER = "unknown"
# Whom a request is for, most specific first: Claude Code's user attributes (its monitoring
# docs), then the general semantic conventions' user.id / enduser.id.
USER_KEYS = ("user.email", "user.account_uuid", "user.id", "enduser.id")
PROJECT_KEYS = ("project", "project.name", "service.namespace")


@dataclass(frozen=True)
class Item:
    """One usage record's fields (UsageStore.record's keywords), or why there is none."""

    fields: dict[str, Any] | None = None
    error: str | None = None


def value(any_value: Any) -> Any:
    """An OTLP AnyValue as Python."""
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return attributes(any_value.kvlist_value.values)
    return getattr(any_value, kind)


def attributes(key_values: Any) -> dict[str, Any]:
    found = {}
    for kv in key_values:
        # Nearly every attribute is a string: read in place, a call to value() fewer each
        # (with _first's loop, 9.5 -> 8 ms of CPU for a batch of 512 events).
        any_value = kv.value
        if any_value.WhichOneof("value") == "string_value":
            found[kv.key] = any_value.string_value
        else:
            found[kv.key] = value(any_value)
    return found


def _first(attrs: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        found = attrs.get(key)
        if found is not None and found != "":
            return found
    return None


def _nanos(nanos: int) -> datetime | None:
    return datetime.fromtimestamp(nanos / 1e9, UTC) if nanos else None


def _tokens(attrs: Mapping[str, Any], key: str) -> int:
    raw = attrs.get(key)
    return 0 if raw in (None, "") else count(raw, key)


def _cost(raw: Any, key: str) -> Decimal | None:
    """A cost in dollars as cents. A double is read as the shortest decimal that prints it
    (what the sender wrote), never as binary float arithmetic."""
    if isinstance(raw, float):
        raw = repr(raw)
    return money(raw, key, 100)


def _label(attrs: Mapping[str, Any], keys: tuple[str, ...], limit: int) -> str | None:
    found = _first(attrs, keys)
    return None if found is None else text(found, keys[0])[:limit]


def log_items(request: Any) -> Iterator[tuple[str, Item]]:
    """(source, item) for every log record that is usage: Claude Code's api_request events,
    and its api_error events as error rows. Other records (prompts, tool results, anyone's
    application logs) are not usage."""
    for resource_logs in request.resource_logs:
        resource = attributes(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                attrs = {**resource, **attributes(record.attributes)}
                body = value(record.body) if record.HasField("body") else None
                name = getattr(record, "event_name", "") or attrs.get("event.name") or body
                if name not in API_REQUEST and name not in API_ERROR:
                    continue
                try:
                    fields = _api_request(record, attrs)
                    if name in API_ERROR:
                        fields = _api_error(fields, attrs)
                    yield CLAUDE_CODE, Item(fields)
                except RecordError as exc:
                    yield CLAUDE_CODE, Item(error=f"log record {_where(attrs)}: {exc}")


def _where(attrs: Mapping[str, Any]) -> str:
    session = attrs.get("session.id")
    sequence = attrs.get("event.sequence")
    return (
        f"(session.id {session!r}, event.sequence {sequence!r})" if session else "(no session.id)"
    )


def _api_request(record: Any, attrs: Mapping[str, Any]) -> dict[str, Any]:
    moment = _nanos(record.time_unix_nano) or _nanos(record.observed_time_unix_nano)
    if moment is None:
        moment = timestamp(attrs.get("event.timestamp"), "event.timestamp")
    model = attrs.get("model")
    if not model:
        raise RecordError("model", "missing")
    duration = attrs.get("duration_ms")
    fields = {
        "created_at": moment,
        "user_id": text(_first(attrs, USER_KEYS) or UNKNOWN_USER, "user.email")[:64],
        "model": text(model, "model"),
        "provider": "anthropic",
        "input_tokens": _tokens(attrs, "input_tokens"),
        "output_tokens": _tokens(attrs, "output_tokens"),
        "cache_read_tokens": _tokens(attrs, "cache_read_tokens"),
        "cache_write_tokens": _tokens(attrs, "cache_creation_tokens"),
        "cost_cents": None
        if attrs.get("cost_usd") in (None, "")
        else _cost(attrs["cost_usd"], "cost_usd"),
        "session_id": _label(attrs, ("session.id",), 64),
        "project": _label(attrs, PROJECT_KEYS, 100),
        "processing_time_seconds": None
        if duration in (None, "")
        else _seconds(duration, "duration_ms"),
    }
    # The same event always gets the same id; a request id, when the event has one, is
    # the request's own.
    request = attrs.get("request_id") or attrs.get("request.id")
    identity = (
        (request,)
        if request
        else (
            fields["session_id"],
            attrs.get("event.sequence"),
            attrs.get("prompt.id"),
            record.time_unix_nano,
            attrs.get("event.timestamp"),
            model,
            *(
                fields[k]
                for k in (
                    "input_tokens",
                    "output_tokens",
                    "cache_read_tokens",
                    "cache_write_tokens",
                )
            ),
        )
    )
    fields["request_id"] = derived_id("otel-cc", *identity)
    return fields


def _api_error(fields: dict[str, Any], attrs: Mapping[str, Any]) -> dict[str, Any]:
    """An api_error event as an error row: Claude Code sends it once for a request it gave
    up on (after its retries), with `error`, `status_code` and `attempt` and no tokens (its
    monitoring docs, docs/serve.md). Its id is apart from the api_request events' (the event
    name is part of it)."""
    import json

    details = {key: attrs[key] for key in ("error", "status_code", "attempt") if key in attrs}
    return {
        **fields,
        "request_id": derived_id("otel-cc", API_ERROR[1], fields["request_id"]),
        "status": "error",
        "error_details": json.dumps(details, ensure_ascii=False, default=str) if details else None,
    }


def _seconds(raw: Any, key: str) -> float:
    try:
        ms = float(raw)
    except (TypeError, ValueError):
        raise RecordError(key, f"not a number: {raw!r}") from None
    if not 0 <= ms < 10**10:
        raise RecordError(key, f"not a plausible duration: {raw!r}")
    return ms / 1000


# OpenTelemetry GenAI semantic conventions: the usage attributes of a model call's span.
INPUT, OUTPUT = "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"
CACHE_READ = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens")
CACHE_WRITE = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
)
MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model")
PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system")
SESSION_KEYS = ("session.id", "gen_ai.conversation.id")
STATUS_ERROR = 2  # Status.STATUS_CODE_ERROR


def span_items(request: Any) -> Iterator[tuple[str, Item]]:
    """(source, item) for every span that reports GenAI token usage."""
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        if resource.get("service.name") == CLAUDE_CODE:
            continue  # its api_request events are counted
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                attrs = {**resource, **attributes(span.attributes)}
                if INPUT not in attrs and OUTPUT not in attrs:
                    continue
                try:
                    yield "genai-spans", Item(_span(span, attrs))
                except RecordError as exc:
                    where = f"span {span.trace_id.hex()}/{span.span_id.hex()}"
                    yield "genai-spans", Item(error=f"{where}: {exc}")


def _span(span: Any, attrs: Mapping[str, Any]) -> dict[str, Any]:
    if len(span.trace_id) != 16 or len(span.span_id) != 8:
        raise RecordError("span_id", "a span needs its trace_id and span_id")
    model = _first(attrs, MODEL_KEYS)
    if not model:
        raise RecordError("gen_ai.request.model", "missing (and no gen_ai.response.model)")
    start = _nanos(span.start_time_unix_nano)
    if start is None:
        raise RecordError("start_time_unix_nano", "missing")
    reads = _tokens(attrs, next((k for k in CACHE_READ if k in attrs), CACHE_READ[0]))
    writes = _tokens(attrs, next((k for k in CACHE_WRITE if k in attrs), CACHE_WRITE[0]))
    prompt = _tokens(attrs, INPUT)
    # The conventions count cached tokens within gen_ai.usage.input_tokens; chatvault's
    # input_tokens excludes them. A sender that did not include them is taken as it is.
    uncached = prompt - reads - writes if prompt >= reads + writes else prompt
    provider = _first(attrs, PROVIDER_KEYS)
    end = span.end_time_unix_nano
    return {
        "request_id": f"otel-span:{span.trace_id.hex()}:{span.span_id.hex()}",
        "created_at": start,
        "user_id": text(_first(attrs, USER_KEYS) or UNKNOWN_USER, "user.id")[:64],
        "model": text(model, "gen_ai.request.model"),
        "provider": None if provider is None else text(provider, "gen_ai.provider.name")[:50],
        "input_tokens": uncached,
        "output_tokens": _tokens(attrs, OUTPUT),
        "cache_read_tokens": reads,
        "cache_write_tokens": writes,
        "session_id": _label(attrs, SESSION_KEYS, 64),
        "project": _label(attrs, PROJECT_KEYS, 100),
        "status": "error" if span.status.code == STATUS_ERROR else "success",
        "processing_time_seconds": (end - span.start_time_unix_nano) / 1e9
        if end >= span.start_time_unix_nano
        else None,
    }


def metric_points(request: Any) -> Iterator[tuple[str, int]]:
    """(source, data points) of each metric received: acknowledged, not stored (see above)."""
    for resource_metrics in request.resource_metrics:  # a label per sender would not scale
        resource = attributes(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                points = len(getattr(metric, kind).data_points) if kind else 0
                ours = (
                    metric.name in CLAUDE_CODE_METRICS
                    or resource.get("service.name") == CLAUDE_CODE
                )
                yield ("claude-code-metrics" if ours else "other-metrics"), points
