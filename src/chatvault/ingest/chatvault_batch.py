"""The fast way through chatvault JSONL: a batch of lines checked a column at a time.

Python code run once per record is most of an import's time. A batch of plain lines (text
and whole numbers, timestamps with an offset, no amounts) is parsed and checked column by
column with built-ins that run at C speed. Anything unusual returns None, and the batch goes
the per-record way (chatvault_format.from_mapping), which converts what it can and names the
line of what it cannot. Both ways make the same rows of the same lines (a test compares).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from operator import attrgetter, gt, itemgetter, methodcaller
from typing import Any

import orjson

from chatvault.db.types import utc_text
from chatvault.db.writes import DEFAULTS, PENDING_COLUMNS
from chatvault.ingest.options import ParseOptions
from chatvault.ingest.record import (
    COUNTS,
    EARLIEST,
    LIMITS,
    MAX_REQUESTS,
    MAX_TOKENS,
    SLACK,
    STATUSES,
)

TEXT_LIMITS = dict(LIMITS)
REQUIRED = frozenset(("request_id", "created_at", "user_id", "model"))
_getters = {name: methodcaller("get", name, DEFAULTS.get(name)) for name in PENDING_COLUMNS}
_zone = attrgetter("tzinfo")
_MOST = {name: MAX_REQUESTS if name == "request_count" else MAX_TOKENS for name in COUNTS}


def checked_columns(
    lines: Sequence[bytes], fields: frozenset[str], options: ParseOptions
) -> list[Sequence[Any]] | None:
    """The columns of these lines' pending rows (ingest/rows.py), or None if any line needs
    a closer look.

    `fields` are those a record may have to be taken this way: none with an amount, which
    the long way reads as a Decimal. A blank line is not JSON, and goes the long way too.
    """
    try:
        records = list(map(orjson.loads, lines))
    except orjson.JSONDecodeError:
        return None
    if set(map(type, records)) != {dict}:
        return None
    keys = set().union(*records)
    if not REQUIRED <= keys <= fields:
        return None
    columns = _columns(records, keys, fields)
    if not _plausible(columns, options):
        return None
    times = utc_times(columns["created_at"], options)
    if times is None:
        return None
    columns["created_at"] = times
    count = len(records)
    values = [columns.get(name) or [DEFAULTS.get(name)] * count for name in PENDING_COLUMNS]
    return [*values, [None] * count]  # no reported costs: lines with one went the long way


def _columns(
    records: list[dict[str, Any]], keys: set[str], fields: frozenset[str]
) -> dict[str, Sequence[Any]]:
    """Each field's values, in record order; a field a record lacks has its default."""
    if set(map(len, records)) == {len(keys)}:  # every record has every key: the usual file
        order = tuple(keys)
        values = zip(*map(itemgetter(*order), records), strict=True)
        missing = {name: [DEFAULTS.get(name)] * len(records) for name in fields - keys}
        return dict(zip(order, values, strict=True)) | missing
    return {name: list(map(_getters[name], records)) for name in fields}


def _plausible(columns: dict[str, Sequence[Any]], options: ParseOptions) -> bool:
    for name in REQUIRED:
        if None in columns[name] or "" in columns[name]:
            return False
    for name, limit in TEXT_LIMITS.items():
        column = columns.get(name)
        if column is not None and (
            set(map(type, column)) - {str, type(None)}
            or max(map(len, filter(None, column)), default=0) > limit
        ):
            return False
    for name in COUNTS:
        column = columns[name]
        if set(map(type, column)) != {int} or min(column) < 0 or max(column) > _MOST[name]:
            return False
    return (
        min(columns["request_count"]) >= 1
        and not any(map(gt, columns["cache_write_1h_tokens"], columns["cache_write_tokens"]))
        and set(columns["status"]) <= set(STATUSES)
        and set(map(type, columns["created_at"])) == {str}
    )


def utc_times(texts: Sequence[str], options: ParseOptions) -> list[str] | None:
    """The times as UTC text in the storage format (db/writes.py), if all are plausible."""
    try:
        times = list(map(datetime.fromisoformat, texts))
    except ValueError:
        return None
    zones = set(map(_zone, times))
    if None in zones:  # no offset: refused, or --assume-tz applies; the long way says which
        return None
    if zones != {UTC}:
        times = [moment.astimezone(UTC) for moment in times]
    if min(times) < EARLIEST or max(times) > options.now + SLACK:
        return None
    shapes = set(map(_shape, texts))
    if len(shapes) == 1 and (cut := _UTC_SHAPES.get(shapes.pop())):
        # Text already in UTC, in one of the usual shapes: the stored text is a slice of it
        # (formatting a datetime costs more than all the checks above).
        end, padding = cut
        return [text[:10] + " " + text[11:end] + padding for text in texts]
    return list(map(utc_text, times))


_shape = methodcaller("translate", str.maketrans("0123456789", "0000000000"))
# Shapes of UTC times, and how much of the time of day each gives: (end, padding to
# microseconds).
_UTC_SHAPES = {
    f"0000-00-00{separator}00:00:00{fraction}{zone}": (19 + len(fraction), padding)
    for separator in ("T", " ")
    for fraction, padding in (("", ".000000"), (".000", "000"), (".000000", ""))
    for zone in ("+00:00", "Z")
}
