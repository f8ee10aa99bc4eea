"""What every source may need to know besides the bytes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo


@dataclass(frozen=True)
class ParseOptions:
    now: datetime  # aware; records later than a day past it are refused
    assume_tz: tzinfo | None = None  # the zone of timestamps written without an offset
    user: str = "unknown"  # user_id for sources that do not record one (Claude Code)


@dataclass(frozen=True)
class Item:
    """One record of a file, or the reason it could not be read."""

    line: int
    raw: str
    record: object | None = None  # UsageRecord
    error: Exception | None = None  # RecordError
