"""`chatvault costs dashboard` as a user runs it: one screen, plain text when piped, HTML."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

from chatvault.cli.app import app
from chatvault.db.engine import get_engine
from chatvault.db.models import usage_logs
from tests.head import at_head

runner = CliRunner()
NOW = datetime.now(UTC)


@pytest.fixture
def url(sqlite_url):
    """Six weeks of two models, one a little more each day, and an unpriced one."""
    at_head(sqlite_url)
    rows = [
        {
            "request_id": f"{k}-{model}",
            "created_at": NOW - timedelta(days=k, minutes=30),
            "user_id": f"user-{k % 4}",
            "model": model,
            "provider": "openai",
            "cost_cents": None
            if model == "custom"
            else Decimal(1000 + 10 * (42 - k) + 37 * (k % 7)),
            "status": "error" if k % 10 == 0 else "success",
            "input_tokens": 1000,
            "output_tokens": 200,
            "cache_read_tokens": 500,
            "processing_time_seconds": 0.5 + k % 3,
        }
        for k in range(42)
        for model in ("gpt-4o", "gpt-4o-mini", "custom")
    ]
    with get_engine(sqlite_url).begin() as conn:
        conn.execute(insert(usage_logs), rows)
    return sqlite_url


def test_one_screen_of_plain_text_when_piped(url):
    result = runner.invoke(app, ["costs", "dashboard", "--database", url])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for part in ("chatvault: this-month", "Spend $", "Month end", "Daily cost by model",
                 "Budgets", "Top models", "Top users", "Tokens and quality", "error rate",
                 "p95 latency", "Insights", "requests unpriced"):  # fmt: skip
        assert part in out, part
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 120 and len(lines) <= 45
    assert "\x1b[" not in out and "╭" not in out and "█" not in out  # no colour, no boxes
    assert "# gpt-4o" in out  # the chart's legend, in ASCII


@pytest.mark.parametrize(("columns", "widest"), [(None, 120), ("80", 80), ("200", 120)])
def test_piped_lines_end_at_their_last_character(url, columns, widest):
    env = {"COLUMNS": columns}  # None: not set
    result = runner.invoke(app, ["costs", "dashboard", "--database", url], env=env)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line for line in lines if line != line.rstrip()] == []  # no padding to the width
    assert max(len(line) for line in lines) == widest


LONG_MODELS = (
    "claude-sonnet-4-5-20250929",
    "gpt-4o",
    "claude-haiku-4-5-20251001",
    "gemini-2.5-flash-preview-09-2025",
    "gpt-4o-mini",
    "mistral-large-2411",
)


@pytest.fixture
def long_names(sqlite_url):
    """A week of six models with long names, used by people with long names."""
    at_head(sqlite_url)
    rows = [
        {
            "request_id": f"{k}-{model}",
            "created_at": NOW - timedelta(days=k % 7, minutes=30),
            "user_id": f"user-with-a-long-name-{k % 3}@example.com",
            "model": model,
            "provider": "p",
            "cost_cents": Decimal(100 * (len(LONG_MODELS) - m) + k),
            "status": "success",
            "processing_time_seconds": 1.5,
        }
        for k in range(14)
        for m, model in enumerate(LONG_MODELS)
    ]
    with get_engine(sqlite_url).begin() as conn:
        conn.execute(insert(usage_logs), rows)
    return sqlite_url


@pytest.mark.parametrize("terminal", [False, True], ids=["piped", "terminal"])
def test_at_80_columns_names_stay_whole_and_marks_by_their_names(long_names, terminal):
    env = {"COLUMNS": "80", "NO_COLOR": "1", "FORCE_COLOR": "1" if terminal else None}
    result = runner.invoke(app, ["costs", "dashboard", "--database", long_names], env=env)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "…" not in out  # nothing cut short
    for model in LONG_MODELS[:4]:  # in the top models and the legend, with its mark
        assert out.count(f"| {model} ") == 1
    for k, model in enumerate(LONG_MODELS[:4]):
        assert f"{'#=+o'[k]} {model}" in out, model
    assert ". other" in out
    for user in range(3):
        assert f"| user-with-a-long-name-{user}@example.com " in out


@pytest.mark.parametrize("terminal", [False, True], ids=["piped", "terminal"])
def test_names_are_shown_as_they_are_not_as_markup_or_emoji(sqlite_url, terminal):
    at_head(sqlite_url)
    names = ["[bold]x[/]", "team:fire:", "[/]"]  # the last one is a markup error to Rich
    rows = [
        {
            "request_id": f"{name}-{k}",
            "created_at": NOW - timedelta(hours=k),
            "user_id": name,
            "model": name,
            "provider": "p",
            "cost_cents": Decimal(100 + k),
            "status": "success",
        }
        for k in range(3)
        for name in names
    ]
    with get_engine(sqlite_url).begin() as conn:
        conn.execute(insert(usage_logs), rows)
    env = {"NO_COLOR": "1", "FORCE_COLOR": "1" if terminal else None}
    result = runner.invoke(app, ["costs", "dashboard", "--database", sqlite_url], env=env)
    assert result.exit_code == 0, result.stderr
    for name in names:  # in the top models and the top users
        assert result.stdout.count(f" {name} ") >= 2, name
    assert "\N{FIRE}" not in result.stdout


def test_last_month_has_no_forecast(url):
    result = runner.invoke(app, ["costs", "dashboard", "-p", "last-month", "--database", url])
    assert result.exit_code == 0, result.stderr
    assert "Month end: the period shown is over: no forecast" in result.stdout
    last = (NOW.replace(day=1) - timedelta(days=1)).date()
    week = f"Insights, {last - timedelta(days=6)} to {last}"
    assert week in result.stdout and "so far" not in result.stdout


def test_the_forecast_note_names_only_the_dashboards_options(url):
    args = ["costs", "dashboard", "--model", "none-such", "--database", url]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    text = " ".join(line.strip("| ") for line in result.stdout.splitlines())  # unwrapped
    assert "too little usage to forecast" in text
    assert "--history" not in text and "widen the filters" in text


def test_html_report_is_written(url, tmp_path):
    target = tmp_path / "report.html"
    result = runner.invoke(app, ["costs", "dashboard", "--html", str(target), "--database", url])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and f"wrote {target}" in result.stderr
    page = target.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "<script" not in page
    assert not list(tmp_path.glob(".report.html.*"))  # no temporary file left behind


@pytest.mark.parametrize("where", ["no/report.html", "folder"])
def test_html_that_cannot_be_written_fails_before_any_query(tmp_path, where):
    (tmp_path / "folder").mkdir()
    target = tmp_path / where
    unopenable = f"sqlite:///{tmp_path}/missing/db.sqlite"  # a query would fail (exit 3)
    args = ["costs", "dashboard", "--html", str(target), "--database", unopenable]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"error: cannot write {target}")
    assert result.stdout == "" and list(tmp_path.rglob("*.part")) == []


def test_usage_insights_lines_and_json(url):
    result = runner.invoke(app, ["usage", "insights", "--database", url])
    assert result.exit_code == 0, result.stderr
    assert "! custom: 7 requests without a price this week" in result.stdout
    data = json.loads(
        runner.invoke(app, ["usage", "insights", "-f", "json", "--database", url]).stdout
    )
    assert data["schema"] == "chatvault.usage.insights/1"
    assert {"kind": "unpriced", "severity": "warning"}.items() <= data["insights"][0].items()


def test_usage_insights_on_quiet_usage_says_so(url):
    result = runner.invoke(app, ["usage", "insights", "--model", "none-such", "--database", url])
    assert result.exit_code == 0
    assert result.stdout == "" and "nothing unusual in the last 7 complete days" in result.stderr


def test_colours_on_a_terminal_and_none_with_no_color(url):
    args = ["costs", "dashboard", "--database", url]
    coloured = runner.invoke(app, args, env={"FORCE_COLOR": "1", "COLUMNS": "120"})
    assert coloured.exit_code == 0 and "\x1b[36m" in coloured.stdout  # the first model, cyan
    assert "╭" in coloured.stdout and "█" in coloured.stdout
    plain = runner.invoke(app, args, env={"FORCE_COLOR": "1", "NO_COLOR": "1", "COLUMNS": "120"})
    assert (
        plain.exit_code == 0 and "\x1b[36m" not in plain.stdout and "\x1b[33m" not in plain.stdout
    )
