"""`chatvault usage` and `usage logs` as a user runs them: stdout, stderr, exit code."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

from chatvault.cli.app import app
from chatvault.db.engine import get_engine
from chatvault.db.migrate import migrate
from chatvault.db.models import usage_logs
from tests.head import at_head

runner = CliRunner()
NOW = datetime.now(UTC)


def run(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture
def url(sqlite_url):
    """Three requests today (one unpriced, one failed) and one 40 days ago."""
    at_head(sqlite_url)
    rows = [
        ("a", NOW - timedelta(minutes=5), "ann", "gpt-4o", "1.250000", "success", 0.8),
        ("b", NOW - timedelta(minutes=4), "bob", "gpt-4o", None, "error", 2.0),
        ("c", NOW - timedelta(minutes=3), "bob", "claude-sonnet-4", "0.000001", "success", None),
        ("d", NOW - timedelta(days=40), "ann", "gpt-4o", "100", "success", 1.0),
    ]
    with get_engine(sqlite_url).begin() as conn:
        conn.execute(
            insert(usage_logs),
            [
                {
                    "request_id": rid,
                    "created_at": at,
                    "user_id": user,
                    "model": model,
                    "provider": "openai" if model.startswith("gpt") else "anthropic",
                    "input_tokens": 1000,
                    "output_tokens": 10,
                    "cost_cents": None if cost is None else Decimal(cost),
                    "status": status,
                    "processing_time_seconds": seconds,
                }
                for rid, at, user, model, cost, status, seconds in rows
            ],
        )
    return sqlite_url


def test_a_summary_table_of_everything(url):
    result = run("usage", "--database", url)
    assert result.exit_code == 0, result.stderr
    assert "| Requests |" in result.stdout and "╭" not in result.stdout
    assert "| $1.01 |" in result.stdout  # 100 + 1.25 + 0.000001 cents, to the cent
    assert "building the daily rollups for UTC" in result.stderr


def column(stdout: str, heading: str) -> list[str]:
    """The cells of a piped table's column, its heading left out."""
    lines = [line.split("|") for line in stdout.splitlines() if line.startswith("| ")]
    at = [cell.strip() for cell in lines[0]].index(heading)
    return [line[at].strip() for line in lines[1:]]


@pytest.mark.parametrize(
    ("args", "heading", "cells"),
    [
        (("usage", "-g", "model", "--since", "7d"), "Cost", ["$0.01250000", "$0.00000001"]),
        (("usage", "-g", "user", "--model", "gpt-4o"), "Cost", ["$1.01", "-", "$1.01"]),
        (("usage", "logs"), "cost_usd", ["$0.00000001", "", "$0.01250000", "$1.00000000"]),
    ],
    ids=["every digit needed", "to the cent", "logs"],
)
def test_a_money_column_is_rounded_as_one(url, args, heading, cells):
    result = run(*args, "--database", url)
    assert result.exit_code == 0, result.stderr
    assert column(result.stdout, heading)[: len(cells)] == cells


def test_json_echoes_filters_and_keeps_money_exact(url):
    result = run("usage", "--since", "7d", "-g", "model", "-f", "json", "--database", url)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["schema"] == "chatvault.usage/1" and data["time_zone"] == "UTC"
    assert data["filters"]["since"] is not None and data["group_by"] == ["model"]
    by_model = {row["model"]: row for row in data["rows"]}
    assert by_model["gpt-4o"]["cost_usd"] == "0.0125"  # 1.25 cents; the unpriced one apart
    assert by_model["gpt-4o"]["unpriced_requests"] == 1
    assert by_model["gpt-4o"]["error_rate"] == 0.5
    assert by_model["claude-sonnet-4"]["cost_usd"] == "0.00000001"
    assert data["totals"]["requests"] == 3 and data["totals"]["cost_usd"] == "0.01250001"
    assert [row["model"] for row in data["rows"]] == ["gpt-4o", "claude-sonnet-4"]  # by cost


def test_csv_for_spreadsheets(url):
    result = run("usage", "-g", "user", "--sort", "requests", "-f", "csv", "--database", url)
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["user"] for r in rows] == ["ann", "bob"] or [r["user"] for r in rows] == [
        "bob",
        "ann",
    ]
    assert {r["user"]: r["requests"] for r in rows} == {"ann": "2", "bob": "2"}
    assert result.stdout.splitlines()[0].startswith("user,requests,input_tokens")


def test_pages_show_the_total_count(url):
    result = run("usage", "-g", "model", "--limit", "1", "--page", "2", "--database", url)
    assert result.exit_code == 0, result.stderr
    assert "page 2 of 2 (2 groups)" in result.stderr
    beyond = run("usage", "-g", "model", "--limit", "1", "--page", "3", "--database", url)
    assert beyond.exit_code == 2 and "there are 2 page(s)" in beyond.stderr


def test_an_empty_result_is_a_friendly_line_with_close_matches(url):
    result = run("usage", "--model", "gpt4o", "--database", url)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "no model in the database matches 'gpt4o'; close matches: gpt-4o" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-g", "day,model,user"), "give one or two different"),
        (("-g", "weekday"), "give one or two different"),
        (("--sort", "price"), "--sort 'price'"),
        (("--since", "next week"), "--since 'next week' is not a date"),
        (("--tz", "Mars/Base"), "not an IANA time zone"),
        (("--page", "2"), "--page goes with --limit"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(url, args, message):
    result = run("usage", *args, "--database", url)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_out_of_date_schema_says_how_to_fix_it(sqlite_url):
    migrate(sqlite_url, "0006")
    result = run("usage", "--database", sqlite_url)
    assert result.exit_code == 4
    assert "(run: chatvault db migrate)" in result.stderr


def test_logs_newest_first_in_local_time_with_keyset_pages(url):
    first = run("usage", "logs", "-n", "2", "--tz", "Asia/Kolkata", "-f", "json", "--database", url)
    assert first.exit_code == 0, first.stderr
    rows = json.loads(first.stdout)["rows"]
    assert [r["user_id"] for r in rows] == ["bob", "bob"]
    assert rows[0]["created_at"].endswith("+05:30") and rows[0]["cost_usd"] == "0.00000001"
    after = run(
        "usage", "logs", "-n", "5", "--after", str(rows[1]["id"]), "-f", "csv", "--database", url
    )
    lines = list(csv.DictReader(io.StringIO(after.stdout)))
    assert [r["request_count"] for r in lines] == ["1", "1"]
    assert [r["cost_usd"] for r in lines] == ["0.0125", "1.00"]


def test_options_are_converted_without_importing_pydantic(url):
    """Typer would import pydantic to convert options: longer than the report itself."""
    import subprocess
    import sys

    script = (
        "import sys; from chatvault.cli.app import main\n"
        "sys.argv = ['chatvault', 'usage', '-f', 'JSON', '--limit', '2', '-g', 'model',"
        f" '--model', 'gpt*', '--database', {url!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('pydantic' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stderr.strip().endswith("False"), done.stderr
    assert json.loads(done.stdout)["limit"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--limit", "0"), "0 is not in the range x>=1"),
        (("--limit", "x"), "'x' is not a valid int range"),
        (("-f", "xml"), "'xml' is not one of 'table', 'json', 'csv'"),
    ],
)
def test_bad_option_values_get_typers_usage_message(url, args, message):
    result = run("usage", *args, "--database", url)
    assert result.exit_code == 2 and message in result.stderr


@pytest.fixture
def hostile(url):
    """A request whose user id and project a spreadsheet would run as formulas."""
    with get_engine(url).begin() as conn:
        conn.execute(
            insert(usage_logs),
            {"request_id": "e", "created_at": NOW - timedelta(minutes=1), "model": "gpt-4o",
             "user_id": '=HYPERLINK("http://x","y")', "project": "@SUM(A1)"},
        )  # fmt: skip
    return url


@pytest.mark.parametrize(
    ("command", "column"),
    [(("usage", "-g", "user"), "user"), (("usage", "logs"), "user_id")],
    ids=["report", "logs"],
)
def test_every_csv_defuses_formula_cells_unless_raw(hostile, command, column):
    result = run(*command, "-f", "csv", "--database", hostile)
    assert result.exit_code == 0, result.stderr
    users = [row[column] for row in csv.DictReader(io.StringIO(result.stdout))]
    assert '\'=HYPERLINK("http://x","y")' in users and "ann" in users
    assert not any(user.startswith("=") for user in users)
    raw = run(*command, "-f", "csv", "--raw", "--database", hostile)
    assert '=HYPERLINK("http://x","y")' in [
        row[column] for row in csv.DictReader(io.StringIO(raw.stdout))
    ]


@pytest.mark.parametrize("advanced", [True, False])
def test_every_csv_column_is_named_in_the_docs_and_discounts_follow_the_switch(
    url, tmp_path, advanced
):
    """docs/usage.md lists the CSV columns, the discount ones included; with
    enable_advanced_costs false, volume discounts are off as docs/configuration.md says."""
    import re
    from pathlib import Path

    config = tmp_path / "tiers.yaml"
    config.write_text(
        "cost_calculation:\n"
        f"  enable_advanced_costs: {'true' if advanced else 'false'}\n"
        "  tiered_pricing:\n    enabled: true\n    tiers:\n"
        "      - {name: first, monthly_token_limit: 1000, discount_percentage: 0}\n"
        "      - {name: rest, discount_percentage: 10}\n"
    )
    result = run("usage", "-g", "user", "-f", "csv", "--database", url, "--config", str(config))
    assert result.exit_code == 0, result.stderr
    header = result.stdout.splitlines()[0].split(",")
    assert ("discount_usd" in header) == advanced
    docs = (Path(__file__).parents[2] / "docs" / "usage.md").read_text()
    section = docs.split("## CSV (`--format csv`)")[1].split("\n## ")[0]
    named = {
        name for span in re.findall(r"`([^`]+)`", section) for name in re.split(r"[,\s]+", span)
    }
    assert set(header) - {"user"} <= named


def test_which_source_totals_count_is_said(url, tmp_path):
    """docs/sync.md's rule: by default totals count request-level rows; a provider whose
    synced buckets count instead is named under the table."""
    default = run("usage", "-f", "json", "--database", url)
    assert json.loads(default.stdout)["counted"] == {"openai": "requests", "anthropic": "requests"}
    table = run("usage", "--database", url)
    assert table.exit_code == 0 and "synced buckets" not in table.stderr
    config = tmp_path / "sync.yaml"
    config.write_text("sync:\n  openai: {counts: provider}\n")
    synced = run("usage", "--database", url, "--config", str(config))
    assert synced.exit_code == 0 and synced.stdout.startswith("+")
    assert synced.stderr.splitlines()[-1] == (
        "openai: totals count the provider's synced buckets (sync.*.counts: provider)"
    )
