"""The filter options every reading command shares: one declaration, one time-zone rule."""

from __future__ import annotations

import inspect

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from chatvault.cli.app import app
from chatvault.cli.filters import Filters, with_filters
from chatvault.db.engine import get_engine
from tests.head import at_head

runner = CliRunner()
# Every command that reads dates in a zone, with what else it needs to run.
ZONED = [
    ("usage",),
    ("usage", "logs"),
    ("usage", "insights"),
    ("export", "--output", "-"),
    ("costs", "predict"),
    ("costs", "dashboard"),
]


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules", "Mars/Olympus"])
@pytest.mark.parametrize("command", ZONED, ids=" ".join)
def test_a_zone_that_is_not_iana_is_refused_with_the_configs_rule(sqlite_url, command, zone):
    at_head(sqlite_url)
    result = runner.invoke(app, [*command, "--tz", zone, "--database", sqlite_url])
    assert result.exit_code == 2 and result.stdout == ""
    expected = f"error: --tz: {zone!r} is not an IANA time zone (e.g. Europe/Paris, Asia/Kolkata)"
    assert result.stderr.strip() == expected
    with get_engine(sqlite_url).connect() as conn:  # nothing kept for a zone that is none
        assert conn.execute(text("SELECT zone FROM usage_rollup_zones")).all() == []


def test_the_config_says_the_same_of_its_own_zones(tmp_path, sqlite_url):
    config = tmp_path / "config.yaml"
    config.write_text("budgets:\n  - {name: team, amount: 10, timezone: localtime}\n")
    result = runner.invoke(
        app, ["costs", "budget", "--config", str(config), "--database", sqlite_url]
    )
    assert result.exit_code == 2
    assert "budgets[0].timezone: 'localtime' is not an IANA time zone" in result.stderr


def test_ingest_assume_tz_follows_the_same_rule(tmp_path, sqlite_url):
    data = tmp_path / "u.jsonl"
    data.write_text("")
    args = ["ingest", str(data), "--assume-tz", "localtime", "--database", sqlite_url]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "--assume-tz: 'localtime' is not an IANA time zone" in result.stderr


def test_filters_are_declared_once_and_reach_the_command_as_one_value():
    seen = []

    @with_filters(span=False)
    def command(limit: int = 1, filters: Filters = Filters(), database: str | None = None):
        seen.append((limit, filters, database))

    names = list(inspect.signature(command).parameters)
    assert names == ["limit", "model", "user", "provider", "project", "status", "machine",
                     "billable", "tz", "database"]  # fmt: skip
    command(limit=3, model=["gpt-*"], user=None, provider=None, project=None, status=None,
            machine=None, billable=True, tz="UTC", database="x")  # fmt: skip
    assert seen == [(3, Filters(model=["gpt-*"], billable=True, tz="UTC"), "x")]


@pytest.mark.parametrize("command", [*ZONED, ("reprice", "--dry-run")], ids=" ".join)
@pytest.mark.parametrize("status", ["bogus", "Error", "succes", "er?r"])
def test_a_status_no_row_can_have_is_refused_like_an_unknown_group_by(sqlite_url, command, status):
    at_head(sqlite_url)
    result = runner.invoke(app, [*command, "--status", status, "--database", sqlite_url])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: --status {status!r}: give success or error (* and ? globs match them)"
    ]


@pytest.mark.parametrize("status", ["success", "error", "err*", "?rror", "*"])
def test_a_status_or_a_glob_matching_one_is_taken(status):
    assert Filters.checked(status=["success", status]).status == ["success", status]
