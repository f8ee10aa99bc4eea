"""chatvault's own format: JSONL or CSV whose fields are the usage_logs columns (docs/ingest.md).

Amounts are exact: JSON numbers are read as Decimal, CSV cells as text. A cost is either
`cost_usd` or `cost_cents`, as the source reported it. Without `request_id`, one is derived
from the record's content, so importing the same file twice adds nothing.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from itertools import islice
from typing import Any

from chatvault.ingest.chatvault_batch import checked_columns
from chatvault.ingest.files import CountingReader
from chatvault.ingest.jsontext import check_text, loads
from chatvault.ingest.options import Checked, Item, ParseOptions
from chatvault.ingest.record import (
    COUNTS,
    TOO_DEEP,
    RecordError,
    UsageRecord,
    count,
    derived_id,
    money,
    shown,
    text,
    timestamp,
)

NAME = "chatvault"
CHUNK = 5000  # lines checked together
TEXT = ("request_id", "user_id", "model", "provider", "session_id", "project", "api_key")
SECONDS = ("processing_time_seconds", "session_duration_seconds")
# A record without a request_id is identified by a hash of these fields' values: frozen, so
# ids (and so idempotent imports) stay stable when fields are added.
# The counts as of 0.1 are written out, not COUNTS (which follows the table).
_IDENTITY_COUNTS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "request_count",
)
_IDENTITY = frozenset(
    TEXT
    + _IDENTITY_COUNTS
    + SECONDS
    + ("created_at", "cost_usd", "cost_cents", "status", "billable", "error_details")
    + ("id", "cost_source")  # written by `chatvault export`; ignored on the way in
)
BILLING = ("service_tier", "context_window")
# Written by `chatvault export` since revision 0009, ignored on the way in like cost_source,
# and no part of a record's identity (ids derived before it stay the same).
EXPORTED = ("price_data",)
# The machine a row came from (revision 0011, docs/team.md): a label, kept as given, and no
# part of a record's identity either.
PLACE = ("machine",)
FIELDS = _IDENTITY | frozenset(BILLING) | frozenset(EXPORTED) | frozenset(PLACE)


# Records with only these fields, all given, take the short way through from_mapping.
_PLAIN = frozenset(TEXT + COUNTS + ("created_at", "status"))
_REQUIRED = frozenset(("request_id", "created_at", "user_id", "model"))


def looks_like(head: bytes) -> bool:
    return b'"created_at"' in head or head.split(b"\n", 1)[0].count(b"created_at") == 1


def records(stream: CountingReader, options: ParseOptions) -> Iterator[Item | Checked]:
    head = stream.head().lstrip()
    if head.startswith(b"{") or not head:  # JSONL, or nothing but blank lines
        yield from _jsonl(stream, options)
    else:
        yield from _csv(stream, options)


def _jsonl(stream: CountingReader, options: ParseOptions) -> Iterator[Item | Checked]:
    lines, first = stream.lines(), 1
    while chunk := list(islice(lines, CHUNK)):
        columns = checked_columns(chunk, _PLAIN, options)
        if columns is not None:
            yield Checked(columns, first, chunk)
        else:
            yield from _one_by_one(chunk, first, options)
        first += len(chunk)


def _one_by_one(chunk: list[bytes], first: int, options: ParseOptions) -> Iterator[Item]:
    for number, line in enumerate(chunk, start=first):
        if not line.strip():
            continue
        try:
            # Lines with an amount are read again for exact decimals (ingest/jsontext.py).
            data = loads(line, exact=b'"cost_' in line)
            if not isinstance(data, dict):
                raise RecordError("record", "each line must be a JSON object")
            yield Item(number, line, record=from_mapping(data, options))
        except RecordError as exc:
            yield Item(number, line, error=exc)


def _csv(stream: CountingReader, options: ParseOptions) -> Iterator[Item]:
    reader = csv.DictReader(stream.text())
    for row in reader:
        raw = ",".join(v or "" for v in row.values() if isinstance(v, str))
        try:
            check_text(raw)
            if None in row:
                raise RecordError("record", "more cells than the header has columns")
            cells = {key: (value if value != "" else None) for key, value in row.items()}
            yield Item(reader.line_num, raw, record=from_mapping(cells, options))
        except RecordError as exc:
            yield Item(reader.line_num, raw, error=exc)


def from_mapping(data: Mapping[str, Any], options: ParseOptions) -> UsageRecord:
    if data.keys() <= _PLAIN and data.keys() >= _REQUIRED and None not in data.values():
        # The common record: every value already what the record holds (text, whole
        # numbers). Anything the checks refuse goes the long way, which converts what it
        # can ("12" tokens, a numeric user id) and otherwise says why not.
        values = dict(data)
        try:
            values["created_at"] = timestamp(data["created_at"], "created_at", options.assume_tz)
            return UsageRecord(**values).check(options.now)
        except RecordError:
            pass
    return _converted(data, options)


def _converted(data: Mapping[str, Any], options: ParseOptions) -> UsageRecord:
    values: dict[str, Any] = {}
    for key, value in data.items():  # one pass over the fields the record has
        convert = _CONVERT.get(key)
        if convert is not None:
            if value is not None:
                values[key] = convert(value, key)
        elif key not in FIELDS:
            raise RecordError(key, "unknown field (the fields are listed in docs/ingest.md)")
    for required in ("created_at", "user_id", "model"):
        if data.get(required) in (None, ""):
            raise RecordError(required, "is required")
    values["created_at"] = timestamp(data["created_at"], "created_at", options.assume_tz)
    values["cost_cents"] = _cost(data)
    values["status"] = text(data.get("status") or "success", "status")
    if data.get("billable") is not None:
        values["billable"] = _flag(data["billable"], "billable")
    if data.get("error_details") is not None:
        values["error_details"] = _details(data["error_details"])
    if not values.get("request_id"):
        values["request_id"] = derived_id(
            NAME, values["created_at"].isoformat(), *(data.get(k) for k in sorted(_IDENTITY))
        )
    return UsageRecord(**values).check(options.now)


def _seconds(value: Any, field: str) -> float:
    try:
        seconds = float(value)  # a duration, not money: a float is what the column holds
    except (TypeError, ValueError):
        raise RecordError(field, f"must be a number of seconds, got {shown(value)}") from None
    if not seconds >= 0:
        raise RecordError(field, f"cannot be negative, got {shown(value)}")
    if seconds == float("inf"):
        raise RecordError(field, f"must be a finite number of seconds, got {shown(value)}")
    return seconds


_CONVERT = {
    **dict.fromkeys(TEXT + BILLING + PLACE, text),
    **dict.fromkeys(COUNTS, count),
    **dict.fromkeys(SECONDS, _seconds),
}


def _cost(data: Mapping[str, Any]) -> Decimal | None:
    usd, cents = (
        money(data.get("cost_usd"), "cost_usd", 100),
        money(data.get("cost_cents"), "cost_cents"),
    )
    if usd is not None and cents is not None:
        raise RecordError("cost_usd", "give cost_usd or cost_cents, not both")
    return cents if usd is None else usd


def _flag(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if not isinstance(value, str | int):
        raise RecordError(field, f"must be true or false, got {shown(value)}")
    word = str(value).strip().lower()
    if word in ("true", "1", "yes"):
        return True
    if word in ("false", "0", "no"):
        return False
    raise RecordError(field, f"must be true or false, got {shown(value)}")


def _details(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except RecursionError:  # deep enough for orjson, not for the standard library
        raise RecordError("error_details", TOO_DEEP) from None
