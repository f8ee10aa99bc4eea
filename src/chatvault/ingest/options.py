"""What every source may need to know besides the bytes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, NamedTuple

# How much of a file's first bytes the agents' formats are told by: their first record.
HEAD = 16 << 10


@dataclass(frozen=True)
class ParseOptions:
    now: datetime  # aware; records later than a day past it are refused
    assume_tz: tzinfo | None = None  # the zone of timestamps written without an offset
    user: str = "unknown"  # user_id for sources that do not record one (Claude Code)


class Item(NamedTuple):
    """One record of a file, or the reason it could not be read (a tuple: one per record)."""

    line: int
    raw: str | bytes  # as read; decoded only if the record is rejected
    record: object | None = None  # UsageRecord
    error: Exception | None = None  # RecordError


class Checked(NamedTuple):
    """Many records of a file at once, as the columns of pending rows (ingest/rows.py),
    checked by their source as a whole: the fast way for the common case."""

    columns: list[Sequence[Any]]
    first: int = 1  # the line of the first record; each record is a line
    lines: Sequence[bytes] = ()  # the lines as read
    numbers: Sequence[int] | None = None  # each record's line, when not first, first + 1...
