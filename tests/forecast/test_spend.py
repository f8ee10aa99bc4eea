"""Daily spend from the database and its projection: exact actuals, local days, month ends."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from chatvault.db.engine import get_engine
from chatvault.db.filters import UsageFilter
from chatvault.db.models import usage_logs
from chatvault.errors import InputError
from chatvault.forecast import spend as costs
from chatvault.period import midnight
from tests.head import at_head
from tests.sessions import session_for

KOLKATA = ZoneInfo("Asia/Kolkata")
TODAY = date(2026, 3, 10)


def add_days(url: str, zone: ZoneInfo, first: date, cents: list[str | None], **fields) -> None:
    """One request a day, ten minutes after local midnight (still the day before in UTC)."""
    rows = [
        {
            "request_id": f"{first + timedelta(days=i)}-{fields.get('model', 'm')}",
            "created_at": datetime.combine(first + timedelta(days=i), time(0, 10), zone),
            "user_id": "ann",
            "model": "m",
            "provider": "p",
            "cost_cents": None if amount is None else Decimal(amount),
            "status": "success",
            **fields,
        }
        for i, amount in enumerate(cents)
        if amount != "skip"
    ]
    with get_engine(url).begin() as conn:
        conn.execute(insert(usage_logs), rows)


def project(url, zone=KOLKATA, method="trend", days=5, history=90, rows=UsageFilter()):
    with session_for(url, zone=zone, now=midnight(TODAY, zone) + timedelta(hours=12)) as session:
        return costs.project(session, rows, history, days, method)


def test_history_is_local_complete_days_exact_with_gaps(db_url):
    at_head(db_url)
    first = TODAY - timedelta(days=7)
    add_days(db_url, KOLKATA, first, ["1.000001", "skip", None, "3", "4", "5", "6.5"])
    add_days(db_url, KOLKATA, TODAY, ["999"])  # today: still running, not history
    add_days(db_url, KOLKATA, first - timedelta(days=30), ["7"], model="old")  # outside
    p = project(db_url, history=10)
    found = p.history
    assert found.first == first and found.last == TODAY - timedelta(days=1)
    assert found.cents == [Decimal(x) for x in ("1.000001", "0", "0", "3", "4", "5", "6.5")]
    assert found.unpriced_requests == 1
    assert found.total_cents == Decimal("19.500001")
    # March 3..9 are this month's complete days: 1.000001 + 3 + 4 + 5 + 6.5 cents, exactly
    assert p.to_date_cents == Decimal("19.500001")


def test_a_straight_line_is_projected_exactly_to_the_month_end(sqlite_url):
    at_head(sqlite_url)
    first = TODAY - timedelta(days=60)
    add_days(sqlite_url, KOLKATA, first, [str(1000 + 10 * i) for i in range(60)])
    p = project(sqlite_url, days=5)
    assert p.forecast.method == "trend" and p.forecast.reason == "chosen with --method"
    assert [day for day, _ in p.daily] == [TODAY + timedelta(days=k) for k in range(5)]
    for k, (_, estimate) in enumerate(p.daily):
        assert estimate.cents == 1000 + 10 * (60 + k)
        # the interval is the floor's: 2% of the recent mean day as the error's sd
        assert 0 < estimate.upper - estimate.cents <= Decimal("0.03") * estimate.cents
    assert p.total.cents == sum(1000 + 10 * (60 + k) for k in range(5))
    month_to_date = sum(
        1000 + 10 * i for i in range(60) if first + timedelta(days=i) >= date(2026, 3, 1)
    )
    rest = sum(1000 + 10 * (60 + k) for k in range(22))  # March 10..31
    assert p.to_date_cents == month_to_date and p.remaining_days == 22
    assert p.period_end.cents == month_to_date + rest


def test_the_interval_of_the_total_is_not_the_sum_of_daily_widths(sqlite_url):
    at_head(sqlite_url)
    noise = ["1200", "800", "1100", "900", "1300", "700", "1000"] * 8
    add_days(sqlite_url, KOLKATA, TODAY - timedelta(days=56), noise)
    p = project(sqlite_url, method="mean", days=10)
    daily_widths = sum(e.upper - e.lower for _, e in p.daily)
    total_width = p.total.upper - p.total.lower
    one_day = p.daily[0][1].upper - p.daily[0][1].lower
    assert one_day < total_width < daily_widths


def test_filters_select_the_series(sqlite_url):
    at_head(sqlite_url)
    first = TODAY - timedelta(days=20)
    add_days(sqlite_url, KOLKATA, first, ["100"] * 20, model="gpt-4o")
    add_days(sqlite_url, KOLKATA, first, ["5"] * 20, model="claude-sonnet-4")
    p = project(sqlite_url, method="mean", rows=UsageFilter(models=("gpt-*",)))
    assert p.history.cents == [Decimal(100)] * 20
    assert p.daily[0][1].cents == 100


def test_too_little_usage_is_one_clear_error(sqlite_url):
    at_head(sqlite_url)
    add_days(sqlite_url, KOLKATA, TODAY - timedelta(days=1), ["100"])
    with pytest.raises(InputError, match=r"too little usage to forecast from: 1 day\(s\)"):
        project(sqlite_url)


def test_horizon_to_a_day():
    assert costs.horizon_to(date(2026, 3, 31), TODAY) == 22
    assert costs.month_end_of(date(2028, 2, 3)) == date(2028, 2, 29)
    with pytest.raises(InputError, match="in the past"):
        costs.horizon_to(date(2026, 3, 9), TODAY)


def test_the_horizon_warning_is_about_the_days_asked_not_the_month_end(sqlite_url):
    at_head(sqlite_url)
    add_days(sqlite_url, KOLKATA, TODAY - timedelta(days=10), ["100"] * 10)
    short = project(sqlite_url, method="mean", days=3, history=10)
    assert short.remaining_days == 22  # the month end is still forecast from 10 days...
    assert short.warnings == (  # ...but 3 days were asked for: no warning about 22
        "only 10 days of history: the forecast is the mean day so far, without trend or "
        "weekly pattern, and its interval is rough",
    )
    long = project(sqlite_url, method="mean", days=15, history=10)
    assert long.warnings[1:] == ("forecasting 15 days from 10 days of history",)
    longer = project(sqlite_url, method="mean", days=40, history=10)
    assert longer.warnings[1:] == ("forecasting 40 days from 10 days of history",)
