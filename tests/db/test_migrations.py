"""The migration scripts: one head, a clean schema on every dialect, working downgrades."""

from __future__ import annotations

from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from chatvault.db import shapes
from chatvault.db.compare import OPTIONS
from chatvault.db.engine import connect, parse_url
from chatvault.db.migrate import downgrade, migrate, read_state, script_directory, status
from chatvault.db.models import metadata
from tests.legacy import ROWS, as_utc, create_legacy_database, expected_cents
from tests.revisions import ALL, after


def schema_diff(url: str) -> list:
    with connect(url) as conn:
        return compare_metadata(MigrationContext.configure(conn, opts=OPTIONS), metadata)


def test_one_head_and_the_package_knows_it():
    script = script_directory()
    assert script.get_heads() == [shapes.HEAD]
    revisions = [s.revision for s in script.walk_revisions()]
    assert sorted(revisions) == sorted(shapes.USAGE_LOGS_COLUMNS)


def test_head_shape_is_the_models_columns():
    assert shapes.USAGE_LOGS_COLUMNS[shapes.HEAD] == set(metadata.tables["usage_logs"].c.keys())


def test_fresh_database_upgrades_to_head_with_no_diff(db_url):
    result = migrate(db_url)
    assert result.steps == ALL and ALL[0] == "0001"
    assert schema_diff(db_url) == []
    assert status(db_url).state == "up to date"


def test_revision_0001_is_exactly_the_legacy_table(db_url, tmp_path, request):
    """0001 and the legacy DDL produce the same columns, types, defaults and indexes."""
    migrate(db_url, "0001")
    with connect(db_url) as conn:
        from_migration = _describe(conn)
        conn.execute(text("DROP TABLE usage_logs"))
        conn.execute(text(f"DROP TABLE {shapes.VERSION_TABLE}"))
        conn.commit()
    create_legacy_database(db_url, rows=[])
    with connect(db_url) as conn:
        assert _describe(conn) == from_migration


def _describe(conn) -> dict:
    inspector = inspect(conn)
    columns = {
        c["name"]: (str(c["type"]).split(" ")[0], c["nullable"], _default(c["default"]))
        for c in inspector.get_columns("usage_logs")
    }
    indexes = {
        (i["name"], tuple(i["column_names"]), bool(i["unique"]))
        for i in inspector.get_indexes("usage_logs")
    }
    return {"columns": columns, "indexes": indexes}


def _default(value):
    return None if value is None else str(value).split("::")[0].strip("'")


def test_upgrade_downgrade_base_upgrade_keeps_data(db_url):
    """Rows written at head survive a trip down to the legacy shape and back."""
    create_legacy_database(db_url)
    migrate(db_url)
    before = _legacy_view(db_url)
    downgrade(db_url, "0001")
    assert read_state_of(db_url).revision == "0001"
    with connect(db_url) as conn:
        costs = conn.execute(text("SELECT user_id, cost_usd FROM usage_logs")).all()
    assert {u: _usd(c) for u, c in costs} == {r[0]: _dec(r[6]) for r in ROWS}
    migrate(db_url)
    assert _legacy_view(db_url) == before
    assert schema_diff(db_url) == []
    downgrade(db_url, "base")
    assert read_state_of(db_url).usage_columns is None
    migrate(db_url)
    assert schema_diff(db_url) == []


def read_state_of(url):
    with connect(url) as conn:
        return read_state(conn)


def _legacy_view(url: str) -> list[tuple]:
    """The values every revision holds, as chatvault reads them at head."""
    from sqlalchemy import select

    from chatvault.db.models import usage_logs

    with connect(url) as conn:
        rows = conn.execute(select(usage_logs).order_by(usage_logs.c.id)).mappings().all()
    return [
        (
            r["id"],
            r["user_id"],
            r["cost_cents"],
            r["processing_time_seconds"],
            r["created_at"],
            r["billable"],
            r["status"],
            r["input_tokens"],
        )
        for r in rows
    ]


def _dec(text_value: str | None) -> Decimal | None:
    return None if text_value is None else Decimal(text_value)


def _usd(value) -> Decimal | None:
    """A legacy cost_usd as the decimal it stands for (SQLite gives back the float)."""
    if value is None:
        return None
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value).normalize()


def test_head_rows_read_back_exactly(db_url):
    create_legacy_database(db_url)
    migrate(db_url)
    rows = _legacy_view(db_url)
    assert [r[2] for r in rows] == [expected_cents(r[6]) for r in ROWS]
    assert [r[4] for r in rows] == [as_utc(r[10]) for r in ROWS]


@pytest.mark.parametrize("target", ["0002", "0003"])
def test_migrate_stops_at_a_chosen_revision(sqlite_url, target):
    result = migrate(sqlite_url, target)
    assert result.steps[-1] == target
    assert read_state_of(sqlite_url).revision == target
    assert status(sqlite_url).pending == after(target)


def test_sqlite_costs_are_stored_as_integer_millionths_of_a_cent(sqlite_url):
    create_legacy_database(sqlite_url)
    migrate(sqlite_url)
    engine = create_engine(parse_url(sqlite_url), poolclass=NullPool)
    with engine.connect() as conn:
        raw = conn.execute(
            text("SELECT cost_cents, typeof(cost_cents) FROM usage_logs WHERE user_id='alice'")
        ).one()
    engine.dispose()
    assert raw == (100_500_000, "integer")
