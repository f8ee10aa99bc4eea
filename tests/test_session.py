"""One session per command: one connection, one schema check, rollups refreshed at most once
per zone, whatever the command reads."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, insert
from typer.testing import CliRunner

from chatvault import demo
from chatvault.cli.app import app
from chatvault.db.engine import get_engine
from chatvault.db.filters import UsageFilter
from chatvault.db.migrate import migrate
from chatvault.db.models import usage_logs
from chatvault.errors import SchemaError
from chatvault.reports import usage
from tests.head import at_head
from tests.sessions import session_for

runner = CliRunner()


class Counted:
    """What a command does to an engine: connections checked out, schema checks, rollup
    freshness checks per zone and rollup refreshes."""

    def __init__(self, url: str) -> None:
        self.engine = get_engine(url)
        self.checkouts = 0
        self.schema_checks = 0
        self.freshness = Counter()
        self.refreshes = 0
        event.listen(self.engine, "checkout", self._checkout)
        event.listen(self.engine, "before_cursor_execute", self._statement)

    def _checkout(self, *_) -> None:
        self.checkouts += 1

    def _statement(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if "chatvault_alembic_version" in statement:
            self.schema_checks += 1
        if "usage_rollup_zones" in statement and "EXISTS" in statement.upper():
            zone = parameters[0] if isinstance(parameters, tuple | list) else parameters["zone"]
            self.freshness[zone] += 1
        if statement.startswith("DELETE FROM usage_rollup_stale"):
            self.refreshes += 1

    def stop(self) -> None:
        event.remove(self.engine, "checkout", self._checkout)
        event.remove(self.engine, "before_cursor_execute", self._statement)


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory):
    """The demo's database and config, then one more request: the rollups are stale."""
    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{folder / 'demo.db'}"
    now = datetime.now(UTC)
    config = folder / "demo.yaml"
    demo.create(url, config, days=21, seed=3, zone=ZoneInfo("UTC"), now=now, note=print)
    return url, config


def stale(url: str) -> None:
    with get_engine(url).begin() as conn:
        conn.execute(
            insert(usage_logs),
            {"request_id": f"late-{datetime.now(UTC).timestamp()}", "user_id": "zoe",
             "model": "gpt-4o", "created_at": datetime.now(UTC) - timedelta(minutes=1)},
        )  # fmt: skip


@pytest.mark.parametrize(
    "command",
    [("costs", "dashboard"), ("costs", "dashboard", "--tz", "Asia/Kolkata"), ("costs", "budget")],
    ids=" ".join,
)
def test_a_command_opens_one_connection_checks_once_refreshes_once(demo_database, command):
    url, config = demo_database
    stale(url)
    counted = Counted(url)
    try:
        args = [*command, "--database", url, "--config", str(config)]
        result = runner.invoke(app, args)
    finally:
        counted.stop()
    assert result.exit_code == 0, result.stderr
    assert counted.checkouts == 1
    assert counted.schema_checks == 1
    assert counted.refreshes == 1  # the row added since: every kept zone, once
    assert counted.freshness and max(counted.freshness.values()) == 1


def test_reports_in_one_session_share_its_connection_and_snapshot(sqlite_url):
    at_head(sqlite_url)
    counted = Counted(sqlite_url)
    try:
        with session_for(sqlite_url, zone="Europe/Paris") as session:
            for group_by in ((), ("model",), ("day",)):
                usage.report(session, UsageFilter(), group_by)
            usage.report(session, UsageFilter(), (), zone=ZoneInfo("Asia/Tokyo"))
    finally:
        counted.stop()
    assert counted.checkouts == 1 and counted.schema_checks == 1
    assert counted.freshness == {"Europe/Paris": 1, "Asia/Tokyo": 1}


def test_a_write_makes_the_next_read_check_the_rollups_again(sqlite_url):
    at_head(sqlite_url)
    with session_for(sqlite_url) as session:
        assert usage.report(session, UsageFilter(), ()).totals.requests == 0
        with session.writing() as conn:
            conn.execute(
                insert(usage_logs),
                {"request_id": "r1", "user_id": "u", "model": "m", "created_at": session.now},
            )
        assert usage.report(session, UsageFilter(), ()).totals.requests == 1


def test_the_schema_is_checked_before_anything_is_read(sqlite_url):
    migrate(sqlite_url, "0006")
    with session_for(sqlite_url) as session, pytest.raises(SchemaError, match="out of date"):
        usage.report(session, UsageFilter(), ())


def test_one_instant_and_the_zone_give_today(sqlite_url):
    now = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    with session_for(sqlite_url, zone="Asia/Kolkata", now=now) as session:
        assert str(session.today()) == "2026-03-02"
        assert str(session.today(ZoneInfo("America/New_York"))) == "2026-03-01"


def test_reading_creates_no_default_database(tmp_path):
    """Only a write (ingest, UsageStore) creates the default database; a report says how to."""
    from chatvault.config import Config, Settings
    from chatvault.session import Session

    path = tmp_path / "data" / "chatvault.db"
    settings = Settings(Config(), None, f"sqlite:///{path}", default_database=True)
    with Session(settings) as session, pytest.raises(SchemaError, match="no chatvault database"):
        usage.report(session, UsageFilter(), ())
    assert not path.exists()
    with Session(settings) as session:
        with session.writing():
            pass
        assert usage.report(session, UsageFilter(), ()).totals.requests == 0
    assert path.exists()


def test_a_cron_check_without_a_database_is_unknown(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "empty"))
    config = tmp_path / "c.yaml"
    config.write_text("budgets:\n  - {name: all, amount: 10}\n")
    result = runner.invoke(app, ["costs", "budget", "check", "--config", str(config)])
    assert result.exit_code == 3
    assert result.stdout.startswith("BUDGET UNKNOWN - could not check: no chatvault database")
    assert not (tmp_path / "empty" / "chatvault").exists()


def test_a_dry_run_check_builds_no_rollups_for_zones_it_does_not_read(sqlite_url, tmp_path):
    at_head(sqlite_url)
    config = tmp_path / "c.yaml"
    config.write_text(
        "timezone: UTC\nbudgets:\n  - {name: ny, amount: 10, timezone: America/New_York,\n"
        "     notify: [{command: {run: [/bin/true]}}]}\n"
    )
    args = ["costs", "budget", "check", "--dry-run", "--config", str(config)]
    result = runner.invoke(app, [*args, "--database", sqlite_url])
    assert result.exit_code == 0, result.stdout + result.stderr
    with get_engine(sqlite_url).connect() as conn:
        zones = conn.exec_driver_sql("SELECT zone FROM usage_rollup_zones").scalars().all()
    assert zones == ["America/New_York"]


def test_one_history_is_read_and_forecast_once_per_command(demo_database, monkeypatch):
    """The dashboard's month end and the 'everything' budget forecast the same history."""
    import chatvault.forecast.predict as predict_module

    url, config = demo_database
    seen = []
    real = predict_module.predict

    def counted(values, start, horizon, method, level):
        seen.append((tuple(values), start, horizon, method, level))
        return real(values, start, horizon, method, level)

    monkeypatch.setattr(predict_module, "predict", counted)
    result = runner.invoke(app, ["costs", "dashboard", "--database", url, "--config", str(config)])
    assert result.exit_code == 0, result.stderr
    assert len(seen) == len(set(seen)) == 2  # the month, and the team budget's own scope
