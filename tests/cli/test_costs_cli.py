"""`chatvault costs predict` as a user runs it: stdout, stderr, exit code."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

from chatvault.cli.app import app
from chatvault.db.engine import get_engine
from chatvault.db.models import usage_logs
from chatvault.forecast import METHODS
from chatvault.forecast.spend import month_end_of
from tests.head import at_head

runner = CliRunner()
TODAY = datetime.now(UTC).date()
WEEK = [900, 1000, 1100, 1000, 950, 300, 250]  # cents, Monday first


def cost(day: date) -> Decimal:
    """A weekly pattern with some noise, in cents."""
    return Decimal(WEEK[day.weekday()] + day.toordinal() * 37 % 50)


def run(*args: str):
    return runner.invoke(app, list(args))


def with_history(url: str, days: int) -> str:
    """A request at noon UTC on each of the last `days` complete days, with a weekly pattern,
    and one today that the forecast must leave out."""
    at_head(url)
    first = TODAY - timedelta(days=days)
    rows = [
        {
            "request_id": f"r{i}",
            "created_at": datetime.combine(day, time(12), UTC),
            "user_id": "ann",
            "model": "gpt-4o",
            "provider": "openai",
            "cost_cents": cost(day),
            "status": "success",
        }
        for i, day in enumerate(first + timedelta(days=k) for k in range(days + 1))
    ]
    with get_engine(url).begin() as conn:
        conn.execute(insert(usage_logs), rows)
    return url


@pytest.fixture
def url(sqlite_url):
    return with_history(sqlite_url, 70)


def test_the_table_a_person_reads(url):
    result = run("costs", "predict", "--days", "10", "--database", url)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"Forecast of daily spend, {TODAY} to {TODAY + timedelta(days=9)}")
    assert "method: " in out and "lowest backtest MASE" in out and "calibrated" in out
    assert "history: " in out and "70 complete days in UTC" in out
    assert "# actual  = forecast  : interval" in out  # the chart, in ASCII when piped
    assert "| day " in out and "| total " in out and "╭" not in out
    assert f"{TODAY:%B %Y} month end: $" in out
    assert "warning" not in result.stderr


def test_a_growth_total_says_it_is_the_expected_sum(url):
    plain = run("costs", "predict", "--days", "10", "--method", "trend", "--database", url)
    assert "expected sum" not in plain.stdout
    result = run("costs", "predict", "--days", "10", "--method", "growth", "--database", url)
    assert result.exit_code == 0, result.stderr
    assert "the total is the days' expected sum: each day shows its median" in result.stdout


def test_json_schema_and_exact_money(url):
    result = run("costs", "predict", "--to", "end-of-month", "-f", "json", "--database", url)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["schema"] == "chatvault.forecast/1" and data["time_zone"] == "UTC"
    assert data["today"] == TODAY.isoformat() and data["level"] == 0.8
    # auto names the method it chose, or the two whose mean it forecast ('a+b').
    chosen = data["method"].split("+")
    assert data["method_requested"] == "auto" and 1 <= len(chosen) <= 2
    assert set(chosen) <= set(METHODS) - {"auto"}
    assert data["calibrated"] and data["daily_scale"] >= 0.5 and data["total_scale"] >= 0.5
    window = data["fit_window"]
    assert window["last_day"] == str(TODAY - timedelta(days=1)) and not window["level_shift"]
    assert window["first_day"] == data["history"]["first_day"] and window["days"] == 70
    days = (month_end_of(TODAY) - TODAY).days + 1
    assert len(data["daily"]) == days == data["total"]["days"]
    assert data["month_end"]["remaining_days"] == days
    history = data["history"]
    assert history["days"] == 70 and history["last_day"] == str(TODAY - timedelta(days=1))
    past = [TODAY - timedelta(days=k) for k in range(1, 71)]
    assert Decimal(history["spend_usd"]) == sum(cost(d) for d in past) / 100
    month_to_date = sum((cost(d) for d in past if d.month == TODAY.month), Decimal(0))
    assert Decimal(data["month_end"]["actual_to_date_usd"]) == month_to_date / 100
    for day in data["daily"]:
        low, mid, high = (Decimal(day[k]) for k in ("lower_usd", "forecast_usd", "upper_usd"))
        assert 0 <= low <= mid <= high
    # Through the month's end, the horizon total and the month's remaining forecast agree.
    end = data["month_end"]
    assert Decimal(end["forecast_usd"]) - month_to_date / 100 == pytest.approx(
        Decimal(data["total"]["forecast_usd"]), abs=Decimal("0.01")
    )


def test_a_weekly_pattern_is_forecast_by_weekday(url):
    result = run("costs", "predict", "--days", "7", "-m", "seasonal-naive", "-f", "json",
                 "--database", url)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    daily = json.loads(result.stdout)["daily"]
    for day in daily:
        last_week = date.fromisoformat(day["date"]) - timedelta(days=7)
        assert Decimal(day["forecast_usd"]) == cost(last_week) / 100


def test_short_history_warns_on_stderr(sqlite_url):
    url = with_history(sqlite_url, 10)
    result = run("costs", "predict", "--database", url)
    assert result.exit_code == 0, result.stderr
    assert "warning: only 10 days of history" in result.stderr
    assert "method: mean" in result.stdout


def test_the_horizon_warning_names_the_days_asked_for(sqlite_url):
    url = with_history(sqlite_url, 10)
    result = run("costs", "predict", "--history", "10d", "--days", "3", "--database", url)
    assert result.exit_code == 0, result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("warning")] == [
        "warning: only 10 days of history: the forecast is the mean day so far, without trend "
        "or weekly pattern, and its interval is rough"
    ]
    data = json.loads(
        run(
            "costs", "predict", "--history", "10d", "-d", "12", "-f", "json", "--database", url
        ).stdout
    )
    assert data["warnings"][1:] == ["forecasting 12 days from 10 days of history"]


def test_backtest_table_and_json(url):
    result = run("costs", "predict", "--backtest", "--database", url)
    assert result.exit_code == 0, result.stderr
    assert "Backtest on" in result.stdout and "| seasonal-naive |" in result.stdout
    result = run("costs", "predict", "--backtest", "-f", "json", "--database", url)
    data = json.loads(result.stdout)
    assert data["schema"] == "chatvault.forecast.backtest/1"
    naive = next(m for m in data["methods"] if m["method"] == "seasonal-naive")
    assert naive["relative_mase"] == 1.0 and naive["origins"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "3", "--to", "end-of-month"], "--days and --to both set the horizon"),
        (["--method", "magic"], "--method 'magic': use one of auto, trend-weekday"),
        (["--history", "3mo"], "--history '3mo': give a number of days or weeks"),
        (["--to", "2001-01-01"], "--to 2001-01-01 is in the past"),
        (["--to", "soon"], "--to 'soon': give end-of-month or a date"),
        (
            ["--model", "nothing-like-it"],
            "too little usage to forecast from: 0 day(s) with usage in the 90 complete days "
            "before today (widen --history or the filters)",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(url, args, message):
    result = run("costs", "predict", *args, "--database", url)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1].startswith(f"error: {message}")
    assert "Traceback" not in result.stderr


def test_an_uninitialised_database_says_migrate(tmp_path):
    result = run("costs", "predict", "--database", f"sqlite:///{tmp_path / 'none.db'}")
    assert result.exit_code == 4
    assert "run: chatvault db migrate" in result.stderr
