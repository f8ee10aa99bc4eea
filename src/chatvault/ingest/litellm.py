"""LiteLLM proxy spend logs (the LiteLLM_SpendLogs table), exported as CSV, JSON or JSONL.

`spend` is the cost LiteLLM reported and is kept as such, except a spend of 0 on a request
that used tokens: that is LiteLLM not knowing the price, and chatvault prices it itself
(or leaves it unpriced) rather than showing $0. LiteLLM counts cached tokens inside
`prompt_tokens`, OpenAI-style; the cache counts come from `metadata.usage_object`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from typing import Any

from chatvault.db.models import TEXT_LENGTHS
from chatvault.ingest import jsontext
from chatvault.ingest.files import CountingReader
from chatvault.ingest.options import Item, ParseOptions
from chatvault.ingest.record import (
    RecordError,
    UsageRecord,
    count,
    money,
    shown,
    text,
    timestamp,
)

NAME = "litellm"
_KEY_LENGTH = TEXT_LENGTHS["api_key"]
STATUS = {
    "success": "success",
    "failure": "error",
    "error": "error",
    None: "success",
    "": "success",
}


def looks_like(head: bytes) -> bool:
    return b"startTime" in head and b"spend" in head


def records(stream: CountingReader, options: ParseOptions) -> Iterator[Item]:
    head = stream.head().lstrip()
    if head.startswith(b"["):
        try:
            rows = jsontext.document(stream.buffered.read(), exact=True)
        except RecordError as exc:
            yield Item(1, "", error=exc)
            return
        numbered: Iterator[tuple[int, Any, str]] = (
            (i, row, jsontext.dumps(row)) for i, row in enumerate(rows, start=1)
        )
    elif head.startswith(b"{"):
        numbered = _jsonl(stream)
    else:
        reader = csv.DictReader(stream.text())
        numbered = ((reader.line_num, row, ",".join(map(str, row.values()))) for row in reader)
    for line, row, raw in numbered:
        try:
            if isinstance(row, RecordError):
                raise row
            jsontext.check_text(raw)
            yield Item(line, raw, record=_record(row, options))
        except RecordError as exc:
            yield Item(line, raw, error=exc)


def _jsonl(stream: CountingReader) -> Iterator[tuple[int, Any, str]]:
    for number, line in enumerate(stream.lines(), start=1):
        if line.strip():
            raw = line.decode("utf-8", errors="replace").rstrip("\r\n")
            try:
                yield number, jsontext.loads(line, exact=True), raw
            except RecordError as exc:
                yield number, exc, raw


def _record(row: Any, options: ParseOptions) -> UsageRecord:
    if not isinstance(row, Mapping):
        raise RecordError("record", "not an object")
    usage = _usage_object(row.get("metadata"))
    prompt = count(_blank(row.get("prompt_tokens")) or 0, "prompt_tokens")
    details = usage.get("prompt_tokens_details") or {}
    if not isinstance(details, dict):
        raise RecordError("metadata.usage_object.prompt_tokens_details", "must be an object")
    read = count(
        details.get("cached_tokens") or usage.get("cache_read_input_tokens") or 0,
        "metadata.usage_object.cached_tokens",
    )
    written = count(
        usage.get("cache_creation_input_tokens") or 0,
        "metadata.usage_object.cache_creation_input_tokens",
    )
    if read + written > prompt:
        raise RecordError("prompt_tokens", "smaller than its own cached tokens")
    started = timestamp(row.get("startTime"), "startTime", options.assume_tz)
    ended = row.get("endTime")
    spend = money(_blank(row.get("spend")), "spend", 100)  # in cents
    output = count(_blank(row.get("completion_tokens")) or 0, "completion_tokens")
    if spend == 0 and prompt + output > 0:
        spend = None  # LiteLLM's 0 for a model it cannot price: not a free request
    status = row.get("status")
    if not isinstance(status, str | None) or status not in STATUS:
        raise RecordError("status", f"must be success or failure, got {shown(status)}")
    request_id = _blank(row.get("request_id"))
    if not request_id:
        raise RecordError("request_id", "is required")
    return UsageRecord(
        request_id=f"litellm:{text(request_id, 'request_id')}",
        created_at=started,
        user_id=text(_blank(row.get("user")) or _blank(row.get("end_user")) or "(none)", "user"),
        model=text(_blank(row.get("model")) or "", "model"),
        provider=_blank(row.get("custom_llm_provider")),
        input_tokens=prompt - read - written,
        cache_read_tokens=read,
        cache_write_tokens=written,
        output_tokens=output,
        project=_blank(row.get("team_id")),
        api_key=(_blank(row.get("api_key")) or None)
        and text(row["api_key"], "api_key")[:_KEY_LENGTH],
        session_id=_blank(row.get("session_id")),
        cost_cents=spend,
        status=STATUS[status],
        processing_time_seconds=_seconds(started, ended, options),
    ).check(options.now)


def _usage_object(metadata: Any) -> dict:
    if isinstance(metadata, str) and metadata.strip():
        metadata = jsontext.loads(metadata, exact=True, field="metadata")
    usage = metadata.get("usage_object") if isinstance(metadata, dict) else None
    return usage if isinstance(usage, dict) else {}


def _seconds(started: Any, ended: Any, options: ParseOptions) -> float | None:
    if not _blank(ended):
        return None
    seconds = (timestamp(ended, "endTime", options.assume_tz) - started).total_seconds()
    return seconds if seconds >= 0 else None


def _blank(value: Any) -> Any:
    return None if value == "" else value
