"""The dashboard's data: periods and the ones before them, and sums that match the reports."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from chatvault.budgets.config import Budget
from chatvault.config import Config
from chatvault.db.engine import get_engine
from chatvault.db.filters import UsageFilter
from chatvault.db.models import usage_logs
from chatvault.errors import InputError
from chatvault.reports import dashboard
from tests.head import at_head
from tests.sessions import session_for

KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = datetime.combine(date(2026, 3, 20), time(12), KOLKATA).astimezone(UTC)


def local_days(span, zone=KOLKATA):
    return span.start.astimezone(zone), span.end.astimezone(zone)


@pytest.mark.parametrize(
    ("period", "this", "before"),
    [
        # A running month is compared with the same 19.5 days of the month before.
        (
            "this-month",
            ("2026-03-01 00:00", "2026-03-20 12:00"),
            ("2026-02-01 00:00", "2026-02-20 12:00"),
        ),
        (
            "last-month",
            ("2026-02-01 00:00", "2026-03-01 00:00"),
            ("2026-01-01 00:00", "2026-02-01 00:00"),
        ),
        ("7d", ("2026-03-14 00:00", "2026-03-20 12:00"), ("2026-03-07 12:00", "2026-03-14 00:00")),
        (
            "yesterday",
            ("2026-03-19 00:00", "2026-03-20 00:00"),
            ("2026-03-18 00:00", "2026-03-19 00:00"),
        ),
        (
            "last-week",
            ("2026-03-09 00:00", "2026-03-16 00:00"),
            ("2026-03-02 00:00", "2026-03-09 00:00"),
        ),
    ],
)
def test_periods_and_the_ones_before(period, this, before):
    span, previous = dashboard.spans(period, KOLKATA, NOW)
    shown = [f"{t:%Y-%m-%d %H:%M}" for t in (*local_days(span), *local_days(previous))]
    assert shown == [*this, *before]


def test_an_unknown_period_is_one_input_error():
    with pytest.raises(InputError, match="--period"):
        dashboard.spans("fortnight", KOLKATA, NOW)


def forty_days(sqlite_url):
    """February 9 to March 20 (Kolkata), six models a day: $15 priced, one unpriced."""
    at_head(sqlite_url)
    models = ["m1", "m2", "m3", "m4", "m5", "m6"]
    rows = []
    for d in range(40):
        day = date(2026, 2, 9) + timedelta(days=d)
        for i, model in enumerate(models):
            rows.append(
                {
                    "request_id": f"{day}-{model}",
                    "created_at": datetime.combine(day, time(9), KOLKATA),
                    "user_id": f"user-{i % 3}",
                    "model": model,
                    "provider": "p",
                    "cost_cents": None if model == "m6" else Decimal(100 * (i + 1)),
                    "status": "success",
                    "input_tokens": 1000,
                    "output_tokens": 100,
                }
            )
    with get_engine(sqlite_url).begin() as conn:
        conn.execute(insert(usage_logs), rows)


def test_the_board_adds_up(sqlite_url):
    forty_days(sqlite_url)
    config = Config(budgets=(Budget(name="all", amount=Decimal(1000)),))
    with session_for(sqlite_url, config, KOLKATA, NOW) as session:
        board = dashboard.build(session, UsageFilter(), "this-month")
    # March 1..20: the request of the 20th at 09:00 is before noon, so 20 days.
    assert board.first_day == date(2026, 3, 1) and board.last_day == date(2026, 3, 20)
    assert board.spend_cents == 20 * 1500 and board.requests == 20 * 6
    assert board.previous_first_day == date(2026, 2, 1)
    assert board.previous_spend_cents == 12 * 1500  # February 9..20
    assert board.change == pytest.approx(20 / 12 - 1)
    assert board.unpriced_requests == 20
    assert list(board.daily_by_model) == ["m5", "m4", "m3", "m2", "other"]
    assert board.daily_by_model["other"][0] == 100  # m1 (m6 is unpriced)
    assert sum(sum(s) for s in board.daily_by_model.values()) == board.spend_cents
    assert [s.name for s in board.top_models][:2] == ["m5", "m4"]
    assert board.top_models[0].share == pytest.approx(500 / 1500)
    assert board.tokens["input"] == 20 * 6 * 1000
    (gauge,) = board.budgets
    assert gauge.spent_cents == 20 * 1500 and gauge.percent == 30 and gauge.state == "OK"
    assert board.month_end is not None and board.month_end.cents >= board.spend_cents
    assert not board.complete and board.insights_title == "Insights"


def test_last_month_shows_its_budgets_and_its_last_week(sqlite_url):
    forty_days(sqlite_url)
    budgets = (
        Budget(name="all", amount=Decimal(250)),
        Budget(name="day", amount=Decimal(10), period="daily", timezone="Asia/Kolkata"),
    )
    with session_for(sqlite_url, Config(budgets=budgets), KOLKATA, NOW) as session:
        board = dashboard.build(session, UsageFilter(), "last-month")
    monthly, daily = board.budgets
    # February's whole month (its 9th to 28th), not March so far; no forecast, it is over.
    assert monthly.period == "monthly 2026-02-01 to 2026-02-28 (UTC)"
    assert monthly.spent_cents == 20 * 1500 and monthly.percent == 120
    assert monthly.state == "CRITICAL" and monthly.forecast is None
    assert daily.period == "daily 2026-02-28 to 2026-02-28 (Asia/Kolkata)"
    assert daily.spent_cents == 1500 and daily.state == "CRITICAL"
    assert board.complete and board.insights_until == date(2026, 3, 1)
    assert board.insights_title == "Insights, 2026-02-22 to 2026-02-28"
    assert board.month_end is None


def test_the_forecast_note_names_no_option_the_dashboard_lacks(sqlite_url):
    forty_days(sqlite_url)
    with session_for(sqlite_url, Config(), KOLKATA, NOW) as session:
        board = dashboard.build(session, UsageFilter(models=("none-such",)), "this-month")
    assert board.forecast_note is not None and "too little usage" in board.forecast_note
    assert "--history" not in board.forecast_note and "widen the filters" in board.forecast_note
