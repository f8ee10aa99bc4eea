"""The one record type every source maps onto, and the checks every record passes.

Token convention (one for every source, whatever the provider calls "input"):
`input_tokens` excludes cached input: cache reads are `cache_read_tokens`, cache writes are
`cache_write_tokens`, of which `cache_write_1h_tokens` had a 1-hour lifetime. A request's
whole prompt is input + cache_read + cache_write.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from operator import attrgetter
from typing import Any

from chatvault.db.models import COUNT_COLUMNS as COUNTS
from chatvault.db.models import TEXT_LENGTHS
from chatvault.money import MAX_CENTS

STATUSES = ("success", "error")
# Older than this, or later than a day from now, a timestamp is a mistake (a unit error, a
# zeroed clock), not a request.
EARLIEST = datetime(2015, 1, 1, tzinfo=UTC)
SLACK = timedelta(days=1)
# The most one record may hold. A million records at these still sum within a signed 64-bit
# integer: the token total (four columns) and, on SQLite, the cost in millionths of a cent.
# request_count is a 32-bit column on PostgreSQL and MariaDB.
MAX_TOKENS = 10**12  # in each token column
MAX_REQUESTS = 10**9
# JSON deeper than this is refused (orjson's limit; ingest/jsontext.py).
DEPTH = 1024
TOO_DEEP = f"nested deeper than {DEPTH:,} levels"
_INT = {int}
_TEXT_OR_NONE = {str, type(None)}


class RecordError(ValueError):
    """A record that cannot be imported: which field, and what is wrong with it."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(slots=True)
class UsageRecord:
    request_id: str
    created_at: datetime  # aware, UTC
    user_id: str
    model: str
    provider: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    request_count: int = 1
    session_id: str | None = None
    project: str | None = None
    api_key: str | None = None
    machine: str | None = None  # set by the import for local sources (ingest/run.py)
    cost_cents: Decimal | None = None  # as the source reported it; None = not reported
    status: str = "success"
    billable: bool = True
    processing_time_seconds: float | None = None
    session_duration_seconds: float | None = None
    error_details: str | None = None
    service_tier: str | None = None  # 'batch' is billed at half price
    context_window: str | None = None  # which long-context price a bucket was billed at

    def check(self, now: datetime) -> UsageRecord:
        """The record itself, once every field is plausible; RecordError otherwise."""
        counts = _counts(self)
        if (  # the fast check; count() says what is wrong
            set(map(type, counts)) != _INT
            or min(counts) < 0
            or max(counts) > MAX_TOKENS
            or self.request_count > MAX_REQUESTS
        ):
            for name, value in zip(COUNTS, counts, strict=True):
                count(value, name, MAX_REQUESTS if name == "request_count" else MAX_TOKENS)
                if type(value) is not int:
                    raise RecordError(name, f"must be a whole number, got {shown(value)}")
        if self.cost_cents is not None and not -MAX_CENTS <= self.cost_cents <= MAX_CENTS:
            raise RecordError("cost_cents", f"{beyond(MAX_CENTS, 'cost')}, got {self.cost_cents}")
        if self.cache_write_1h_tokens > self.cache_write_tokens:
            raise RecordError("cache_write_1h_tokens", "cannot exceed cache_write_tokens")
        if self.request_count < 1:
            raise RecordError("request_count", "must be at least 1")
        if self.status not in STATUSES:
            raise RecordError(
                "status", f"must be one of {', '.join(STATUSES)}, got {shown(self.status)}"
            )
        if not EARLIEST <= self.created_at <= now + SLACK:
            raise RecordError(
                "created_at", f"{self.created_at.isoformat()} is not a plausible time"
            )
        labels = _labels(self)
        if not _texts(labels) or max(map(len, filter(None, labels)), default=0) > _SHORT:
            _check_labels(labels)
        if not self.model:
            raise RecordError("model", "is empty")
        if not self.user_id:
            raise RecordError("user_id", "is empty")
        if not self.request_id:
            raise RecordError("request_id", "is empty")
        return self


# The longest each text field may be: its column's length (status is one of STATUSES).
_FIELDS = {field.name for field in fields(UsageRecord)}
LIMITS = tuple(
    (name, length) for name, length in TEXT_LENGTHS.items() if name in _FIELDS and name != "status"
)
# attrgetter reads many attributes at C speed: ingest runs these once per record.
_counts = attrgetter(*COUNTS)
_labels = attrgetter(*(name for name, _ in LIMITS))


def _texts(labels: tuple) -> bool:
    return not set(map(type, labels)) - _TEXT_OR_NONE


def _check_labels(labels: tuple) -> None:
    for (name, limit), value in zip(LIMITS, labels, strict=True):
        if value is not None and type(value) is not str:
            raise RecordError(name, f"must be text, got {shown(value)}")
        if value is not None and len(value) > limit:
            raise RecordError(name, f"longer than {limit} characters")


_SHORT = min(limit for _, limit in LIMITS)  # labels no longer than this need no closer look


def count(value: Any, field: str, most: int = MAX_TOKENS) -> int:
    """A token or request count: a whole number, not negative, at most `most`."""
    if type(value) is not int:
        value = _whole(value, field, most)
    if value < 0:
        raise RecordError(field, f"cannot be negative, got {shown(value)}")
    if value > most:
        raise RecordError(field, f"{beyond(most, 'count')}, got {shown(value)}")
    return value


def _whole(value: Any, field: str, most: int) -> int:
    """A whole number written as text ("12", ASCII digits only) or as a number with no
    fraction (12.0); RecordError otherwise."""
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit():  # isdigit() alone also takes "²" and "٣"
            if len(text) > len(str(most)):
                raise RecordError(field, f"{beyond(most, 'count')}, got {shown(value)}")
            return int(text)
    elif isinstance(value, float | Decimal) and math.isfinite(value):
        if not -most <= value <= most:  # before int(): 1e300 has 300 digits
            raise RecordError(field, f"{beyond(most, 'count')}, got {shown(value)}")
        if value == int(value):
            return int(value)
    raise RecordError(field, f"must be a whole number, got {shown(value)}")


def beyond(most: int, what: str = "cost") -> str:
    """What is wrong with a count or a cost beyond its maximum."""
    if what == "cost":
        return f"more than ${most // 100:,}, the most one record may cost"
    return f"more than {most:,}, the most one record may count"


def shown(value: Any) -> str:
    """A value as a message shows it: never kilobytes of it, nor a JSON array or object
    (which may be nested a thousand levels deep)."""
    if isinstance(value, list | dict):
        return "a JSON array" if isinstance(value, list) else "a JSON object"
    text = str(value) if isinstance(value, Decimal) else repr(value)  # 1.5, not Decimal('1.5')
    return text if len(text) <= 40 else f"{text[:37]}..."


def text(value: Any, field: str) -> str:
    """A label: text, or a number written as text; never a JSON array or object."""
    if isinstance(value, dict | list):
        raise RecordError(field, "must be text")
    return str(value)


def timestamp(value: Any, field: str, assume: tzinfo | None = None) -> datetime:
    """An ISO 8601 time. Without an offset it is refused, unless `assume` says which zone."""
    if not isinstance(value, str):
        raise RecordError(field, f"must be an ISO 8601 time, got {shown(value)}")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise RecordError(field, f"not an ISO 8601 time: {shown(value)}") from None
    if moment.tzinfo is None:
        if assume is None:
            problem = f"{shown(value)} has no UTC offset (say which zone: --assume-tz)"
            raise RecordError(field, problem)
        moment = moment.replace(tzinfo=assume)
    return moment.astimezone(UTC)


def money(value: Any, field: str, cents: int = 1) -> Decimal | None:
    """An exact amount in cents, from a number of units of `cents` cents each (100 for US
    dollars): a string or an integer, or a number parsed as Decimal, never a float; finite,
    and at most MAX_CENTS either way (a million of them still sum within 64 bits)."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        raise RecordError(field, "read as a binary float; chatvault parses amounts as decimals")
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise RecordError(field, f"must be a number, got {shown(value)}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise RecordError(field, f"not a number: {shown(value)}") from None
    if not amount.is_finite():
        raise RecordError(field, f"not a number: {shown(value)}")
    # Before multiplying, and without abs(), which would overflow on 1e999999999.
    if amount.copy_abs() > Decimal(MAX_CENTS) / cents:
        raise RecordError(field, f"{beyond(MAX_CENTS, 'cost')}, got {shown(value)}")
    return amount * cents


def derived_id(prefix: str, *parts: Any) -> str:
    """A stable request id for sources that have none: the same record always gets the same id."""
    try:
        text = "\x1f".join(map(str, parts))
    except RecursionError:  # a field the id is made of, nested a thousand levels deep
        raise RecordError("record", TOO_DEEP) from None
    digest = hashlib.sha256(text.encode(errors="surrogateescape")).hexdigest()[:32]
    return f"{prefix}:{digest}"
