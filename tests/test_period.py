"""--since/--until as people type them, and local day, week and month boundaries."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from chatvault.errors import InputError
from chatvault.period import bucket_of, midnight, parse_point, parse_span

NY = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
# 2025-11-05 15:00 UTC: a Wednesday; 10:00 in New York, 20:30 in Kolkata.
NOW = datetime(2025, 11, 5, 15, 0, tzinfo=UTC)


def at(text: str, zone=NY) -> datetime:
    return parse_point(text, zone, NOW, "--since")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", datetime(2025, 11, 5, 5, tzinfo=UTC)),  # EST: UTC-5
        ("yesterday", datetime(2025, 11, 4, 5, tzinfo=UTC)),
        ("this-week", datetime(2025, 11, 3, 5, tzinfo=UTC)),  # Monday
        ("last-week", datetime(2025, 10, 27, 4, tzinfo=UTC)),  # still EDT: UTC-4
        ("this-month", datetime(2025, 11, 1, 4, tzinfo=UTC)),  # EDT until Nov 2
        ("last-month", datetime(2025, 10, 1, 4, tzinfo=UTC)),
        ("1d", datetime(2025, 11, 5, 5, tzinfo=UTC)),  # today, the current day included
        ("7d", datetime(2025, 10, 30, 4, tzinfo=UTC)),
        ("2w", datetime(2025, 10, 23, 4, tzinfo=UTC)),
        ("3mo", datetime(2025, 9, 1, 4, tzinfo=UTC)),
        ("24h", datetime(2025, 11, 4, 15, tzinfo=UTC)),
        ("2025-11-02", datetime(2025, 11, 2, 4, tzinfo=UTC)),  # the 25-hour day starts in EDT
        ("2025-11-03T09:30", datetime(2025, 11, 3, 14, 30, tzinfo=UTC)),  # local wall time
        ("2025-11-03T09:30:00+01:00", datetime(2025, 11, 3, 8, 30, tzinfo=UTC)),
        ("2025-11-03T09:30Z", datetime(2025, 11, 3, 9, 30, tzinfo=UTC)),
    ],
)
def test_points_in_new_york(text, expected):
    assert at(text) == expected


def test_half_hour_offsets():
    assert at("today", KOLKATA) == datetime(2025, 11, 4, 18, 30, tzinfo=UTC)
    assert at("this-month", KOLKATA) == datetime(2025, 10, 31, 18, 30, tzinfo=UTC)


def test_a_skipped_midnight_starts_the_day_after_the_gap():
    santiago = ZoneInfo("America/Santiago")  # 2022-09-11 00:00 did not happen there
    start = midnight(date(2022, 9, 11), santiago)
    assert start.astimezone(santiago).hour == 1
    assert start == datetime(2022, 9, 11, 4, tzinfo=UTC)


@pytest.mark.parametrize("text", ["7 days", "0d", "tomorrow", "2025-13-01", "5y"])
def test_nonsense_is_one_clear_error(text):
    with pytest.raises(InputError, match="--since"):
        at(text)


def test_an_empty_range_is_an_error():
    with pytest.raises(InputError, match="not before --until"):
        parse_span("today", "yesterday", NY, NOW)


def test_days_across_the_dst_change_are_23_24_and_25_hours():
    def hours(first: date, last: date) -> float:
        return (midnight(last, NY) - midnight(first, NY)).total_seconds() / 3600

    assert hours(date(2025, 11, 2), date(2025, 11, 3)) == 25
    assert hours(date(2025, 3, 9), date(2025, 3, 10)) == 23
    assert hours(date(2025, 11, 3), date(2025, 11, 4)) == 24
    assert midnight(date(2025, 11, 3), KOLKATA) == datetime(2025, 11, 2, 18, 30, tzinfo=UTC)


def test_weeks_start_on_monday_and_months_on_the_first():
    assert bucket_of(date(2025, 11, 2), "week") == date(2025, 10, 27)  # a Sunday
    assert bucket_of(date(2025, 11, 3), "week") == date(2025, 11, 3)
    assert bucket_of(date(2025, 11, 30), "month") == date(2025, 11, 1)
    assert bucket_of(date(2025, 11, 30), "day") == date(2025, 11, 30)
