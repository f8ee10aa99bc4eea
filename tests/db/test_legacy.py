"""Adopting the original service's database: recognise it, back it up, migrate, lose nothing."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from chatvault.db.engine import connect, sqlite_path
from chatvault.db.migrate import migrate, read_state, status
from chatvault.db.models import usage_logs
from chatvault.db.verify import verify
from chatvault.errors import MigrationError
from tests.legacy import ROWS, as_utc, create_legacy_database, expected_cents
from tests.revisions import after


def test_legacy_database_is_adopted_with_every_value_exact(db_url):
    create_legacy_database(db_url)
    assert status(db_url).state == "unversioned (legacy shape of 0001)"

    result = migrate(db_url, backup=False)

    assert result.adopted == "0001"
    assert result.steps == after("0001")
    with connect(db_url) as conn:
        rows = conn.execute(select(usage_logs).order_by(usage_logs.c.id)).mappings().all()
    assert len(rows) == len(ROWS)
    for row, legacy in zip(rows, ROWS, strict=True):
        user, session, model, provider, tokens_in, tokens_out, usd, latency, length, state, at = (
            legacy
        )
        assert row["user_id"] == user
        assert row["session_id"] == session
        assert (row["model"], row["provider"]) == (model, provider)
        assert (row["input_tokens"], row["output_tokens"]) == (tokens_in, tokens_out)
        assert row["cost_cents"] == expected_cents(usd)
        assert isinstance(row["cost_cents"], Decimal | None)
        assert row["processing_time_seconds"] == latency
        assert row["session_duration_seconds"] == length
        assert row["status"] == state
        assert row["created_at"] == as_utc(at)
        assert row["billable"] is True
        assert row["request_id"] == f"legacy:{row['id']}"
        assert row["cost_source"] == (None if usd is None else "reported")
        assert (row["request_count"], row["cache_read_tokens"], row["cache_write_tokens"]) == (
            1,
            0,
            0,
        )
        assert row["error_details"] is None


def test_the_famous_values_convert_exactly(db_url):
    create_legacy_database(db_url)
    migrate(db_url, backup=False)
    with connect(db_url) as conn:
        cents = dict(conn.execute(select(usage_logs.c.user_id, usage_logs.c.cost_cents)).all())
    assert cents["alice"] == Decimal("100.5")  # 1.005 USD: float arithmetic says 100.49999...
    assert cents["erin"] == Decimal("267.5")  # 2.675 USD
    assert cents["José"] == Decimal("0.0001")  # a millionth of a dollar
    assert cents["用户-7"] == Decimal("99999999.9999")  # the largest NUMERIC(12, 6)
    assert cents["dave"] == Decimal("0")  # free stays free...
    assert cents["bob"] is None  # ...and unknown stays unknown


def test_verify_reports_the_seed_drift_before_and_nothing_after(db_url):
    create_legacy_database(db_url)
    before = verify(db_url)
    kinds = {(f.kind, f.object) for f in before.findings}
    assert ("renamed column", "usage_logs.cost_usd") in kinds
    assert ("renamed column", "usage_logs.processing_duration_seconds") in kinds
    assert ("missing column", "usage_logs.billable") in kinds
    assert ("missing column", "usage_logs.error_details") in kinds
    assert before.findings[0].kind == "revision"
    assert "legacy shape of 0001" in before.findings[0].found
    assert all("chatvault db migrate" in f.hint for f in before.findings)

    migrate(db_url, backup=False)

    after = verify(db_url)
    assert after.findings == []
    assert after.in_sync


def test_sqlite_adoption_backs_up_the_file_first(sqlite_url):
    create_legacy_database(sqlite_url)
    result = migrate(sqlite_url)
    assert result.backup is not None and result.backup.exists()
    copy = sqlite3.connect(result.backup)
    columns = {r[1] for r in copy.execute("PRAGMA table_info(usage_logs)")}
    count = copy.execute("SELECT COUNT(*) FROM usage_logs").fetchone()[0]
    copy.close()
    assert "cost_usd" in columns and count == len(ROWS)
    assert result.backup.parent == sqlite_path(sqlite_url).parent


def test_no_backup_means_no_backup(sqlite_url):
    create_legacy_database(sqlite_url)
    assert migrate(sqlite_url, backup=False).backup is None
    assert [p.name for p in sqlite_path(sqlite_url).parent.glob("*.backup-*")] == []


def test_unknown_shape_is_refused_and_untouched(db_url):
    create_legacy_database(db_url)
    with connect(db_url) as conn:
        conn.execute(text("ALTER TABLE usage_logs ADD COLUMN surprise INTEGER"))
        conn.commit()
    with pytest.raises(MigrationError, match=r"does not recognise.*unexpected surprise"):
        migrate(db_url)
    with connect(db_url) as conn:
        state = read_state(conn)
        count = conn.execute(text("SELECT COUNT(*) FROM usage_logs")).scalar()
    assert not state.versioned and "cost_usd" in state.usage_columns and count == len(ROWS)


def test_unknown_revision_is_refused(db_url):
    migrate(db_url)
    with connect(db_url) as conn:
        conn.execute(text("UPDATE chatvault_alembic_version SET version_num = '0999'"))
        conn.commit()
    with pytest.raises(MigrationError, match="0999, which this chatvault does not know"):
        migrate(db_url)
    assert status(db_url).state.startswith("unknown revision")


def test_partially_migrated_unversioned_database_is_recognised(sqlite_url):
    """A legacy database someone already brought to the 0003 shape by hand is not redone."""
    create_legacy_database(sqlite_url)
    migrate(sqlite_url, "0003", backup=False)
    with connect(sqlite_url) as conn:
        conn.execute(text("DROP TABLE chatvault_alembic_version"))
        conn.commit()
    result = migrate(sqlite_url, backup=False)
    assert (result.adopted, result.steps) == ("0003", after("0003"))
    assert verify(sqlite_url).in_sync


def test_tables_of_another_application_are_left_alone(db_url):
    with connect(db_url) as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('abc123')"))
        conn.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
        conn.commit()
    migrate(db_url)
    assert verify(db_url).in_sync
    with connect(db_url) as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "abc123"


def test_legacy_sqlite_timestamps_fall_in_the_right_day(sqlite_url):
    """SQLite compares timestamps as text; legacy rows were written without microseconds."""
    from datetime import UTC, datetime

    from chatvault.db.queries import get_by_user_and_date_range

    create_legacy_database(sqlite_url)
    with connect(sqlite_url) as conn:  # other writers' formats: 'T' separator, milliseconds
        conn.execute(
            text("UPDATE usage_logs SET created_at = '2025-10-03T04:05:06' WHERE user_id = 'carol'")
        )
        conn.execute(
            text(
                "UPDATE usage_logs SET created_at = '2025-10-07 06:06:06.5' WHERE user_id = 'grace'"
            )
        )
        conn.commit()
    migrate(sqlite_url, backup=False)
    with connect(sqlite_url) as conn:
        midnight = get_by_user_and_date_range(
            conn, "bob", datetime(2025, 10, 1, tzinfo=UTC), datetime(2025, 10, 2, tzinfo=UTC)
        )
        day_before = get_by_user_and_date_range(
            conn, "bob", datetime(2025, 9, 30, tzinfo=UTC), datetime(2025, 10, 1, tzinfo=UTC)
        )
        stored = dict(conn.execute(text("SELECT user_id, created_at FROM usage_logs")).all())
    assert len(midnight) == 1 and day_before == []
    assert stored["bob"] == "2025-10-01 00:00:00.000000"
    assert stored["carol"] == "2025-10-03 04:05:06.000000"
    assert stored["grace"] == "2025-10-07 06:06:06.500000"


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("cost_usd", "'n/a'", r"cost_usd is not a number.*on row 1"),
        ("cost_usd", "1e12", r"cost_usd is not a number .* under \$10,000,000.*on row 1"),
        ("created_at", "'2025-10-01T00:00:00+02:00'", r"created_at is not a UTC timestamp.*row 1"),
        ("created_at", "1759276800", r"created_at is not a UTC timestamp"),
    ],
)
def test_unreadable_legacy_values_are_refused_not_guessed(sqlite_url, column, value, problem):
    create_legacy_database(sqlite_url)
    with connect(sqlite_url) as conn:
        conn.execute(text(f"UPDATE usage_logs SET {column} = {value} WHERE id = 1"))
        conn.commit()
    with pytest.raises(MigrationError, match=problem):
        migrate(sqlite_url, backup=False)
    with connect(sqlite_url) as conn:
        state = read_state(conn)
    assert not state.versioned and "cost_usd" in state.usage_columns  # nothing changed
