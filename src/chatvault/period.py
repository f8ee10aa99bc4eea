"""Time as people type it (`--since 7d`, `--until 2026-11-01`) turned into UTC instants, and
the local day, week and month boundaries reports group by, in an IANA time zone.

A local midnight is the first instant of that date in the zone: where a DST change skips
midnight (America/Santiago), the day starts at 01:00. Days are 23, 24 or 25 hours long.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chatvault.errors import InputError

GRAINS = ("day", "week", "month")
# Files in the zone database that are not zones: they would make a day's boundary depend on
# the machine ('localtime'), or mean nothing ('Factory').
NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})
KEYWORDS = ("today", "yesterday", "this-week", "last-week", "this-month", "last-month")
_RELATIVE = re.compile(r"(\d+)(h|d|w|mo)")


class Span(NamedTuple):
    """[start, end) as aware UTC datetimes; None is unbounded."""

    start: datetime | None = None
    end: datetime | None = None


def zone_named(name: str, where: str, error: type[InputError] = InputError) -> ZoneInfo:
    """The IANA time zone `name`, or `error` naming where the name came from (a config key,
    an option). The one rule for every zone chatvault is given."""
    try:
        if name not in NOT_ZONES:
            # Not `name in available_timezones()`: that walks the whole zone database.
            return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    raise error(f"{where}: {name!r} is not an IANA time zone (e.g. Europe/Paris, Asia/Kolkata)")


def midnight(day: date, zone: tzinfo) -> datetime:
    """The first instant of `day` in `zone`, in UTC."""
    # zoneinfo maps a skipped local midnight to the instant just after the gap: the day's start.
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def local_date(instant: datetime, zone: tzinfo) -> date:
    return instant.astimezone(zone).date()


def bucket_of(day: date, grain: str) -> date:
    """The date naming the day's bucket: the day, its ISO week's Monday, or its month's 1st."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def parse_point(text: str, zone: tzinfo, now: datetime, option: str) -> datetime:
    """An instant from an ISO date or time, a keyword or a relative spec, as aware UTC.

    Dates and keywords mean the local midnight that starts them; `Nh` is N hours before now;
    `Nd`, `Nw` and `Nmo` start at the local midnight that makes the span the last N days,
    weeks of days, or calendar months, the current one included.
    """
    value = text.strip().lower()
    today = local_date(now, zone)
    if value in KEYWORDS:
        return midnight(_keyword_day(value, today), zone)
    relative = _RELATIVE.fullmatch(value)
    if relative:
        count, unit = int(relative[1]), relative[2]
        if count == 0:
            raise InputError(f"{option} {text}: the count must be at least 1")
        if unit == "h":
            return now - timedelta(hours=count)
        if unit == "mo":
            return midnight(_add_months(today.replace(day=1), 1 - count), zone)
        days = count * (7 if unit == "w" else 1)
        return midnight(today - timedelta(days=days - 1), zone)
    return _parse_iso(text.strip(), zone, option)


def parse_span(since: str | None, until: str | None, zone: tzinfo, now: datetime) -> Span:
    span = Span(
        None if since is None else parse_point(since, zone, now, "--since"),
        None if until is None else parse_point(until, zone, now, "--until"),
    )
    if span.start is not None and span.end is not None and span.start >= span.end:
        raise InputError(
            f"--since {since} is not before --until {until}: the range is empty "
            "(--since is inclusive, --until exclusive)"
        )
    return span


def _keyword_day(keyword: str, today: date) -> date:
    monday = bucket_of(today, "week")
    first = today.replace(day=1)
    return {
        "today": today,
        "yesterday": today - timedelta(days=1),
        "this-week": monday,
        "last-week": monday - timedelta(days=7),
        "this-month": first,
        "last-month": _add_months(first, -1),
    }[keyword]


def _add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _parse_iso(text: str, zone: tzinfo, option: str) -> datetime:
    try:
        if len(text) == 10:
            return midnight(date.fromisoformat(text), zone)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"{option} {text!r} is not a date or time: use YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS]"
            "[+HH:MM], 24h, 7d, 2w, 3mo, or one of " + ", ".join(KEYWORDS)
        ) from None
    if parsed.tzinfo is None:  # a local wall-clock time in the report's zone
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)
