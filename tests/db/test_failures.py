"""A migration that fails leaves the database as it was; concurrent runs migrate once."""

from __future__ import annotations

import itertools
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import pytest
from sqlalchemy import select, text

from chatvault.db import shapes
from chatvault.db.engine import connect
from chatvault.db.migrate import migrate, read_state
from chatvault.db.models import usage_logs
from chatvault.errors import MigrationError
from tests.legacy import ROWS, create_legacy_database, expected_cents
from tests.revisions import ALL

BOOM = """
import sqlalchemy as sa
from alembic import op

from chatvault.migrations import idempotent

revision = "0999"
down_revision = "HEAD"
branch_labels = None
depends_on = None


def upgrade():
    idempotent.add_columns("usage_logs", sa.Column("boom", sa.Integer()))
    op.execute("UPDATE usage_logs SET user_id = 'overwritten', cost_cents = NULL")
    op.create_table("chatvault_boom", sa.Column("id", sa.Integer(), primary_key=True))
    if FAIL:
        raise RuntimeError("injected failure")


def downgrade():
    op.drop_table("chatvault_boom")
    idempotent.drop_columns("usage_logs", "boom")
"""


def scripts_with_boom(tmp_path: Path, fail: bool = True) -> Path:
    location = tmp_path / "migrations"
    if not location.exists():
        shutil.copytree(
            Path(str(files("chatvault.migrations"))),
            location,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    boom = BOOM.replace("FAIL", str(fail)).replace("HEAD", shapes.HEAD)
    (location / "versions" / "0999_boom.py").write_text(boom)
    return location


def snapshot(url: str) -> tuple:
    with connect(url) as conn:
        state = read_state(conn)
        rows = conn.execute(text("SELECT * FROM usage_logs ORDER BY id")).all()
        tables = conn.dialect.get_table_names(conn)
    return state, [tuple(r) for r in rows], sorted(tables)


@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
)
def test_failed_adoption_leaves_legacy_database_untouched(dialect, request, tmp_path):
    """Transactional DDL: the stamp, three real revisions and the failing one all roll back."""
    url = request.getfixturevalue(f"{dialect}_url")
    create_legacy_database(url)
    before = snapshot(url)
    with pytest.raises(MigrationError, match="0999 failed: RuntimeError: injected failure"):
        migrate(url, location=scripts_with_boom(tmp_path), backup=False)
    assert snapshot(url) == before
    assert len(before[1]) == len(ROWS) and not before[0].versioned


@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
)
def test_failed_upgrade_leaves_schema_data_and_revision(dialect, request, tmp_path):
    url = request.getfixturevalue(f"{dialect}_url")
    create_legacy_database(url)
    migrate(url, backup=False)
    before = snapshot(url)
    with pytest.raises(MigrationError):
        migrate(url, location=scripts_with_boom(tmp_path), backup=False)
    after = snapshot(url)
    assert after == before
    assert after[0].revision == shapes.HEAD


def test_failure_inside_a_real_revision(db_url, monkeypatch):
    """0002 fails after adding cost_cents and copying the costs, before dropping cost_usd.

    PostgreSQL and SQLite roll everything back. MySQL commits DDL as it goes, so the rerun
    must pick up the half-done revision and finish it with every value exact.
    """
    from chatvault.migrations import idempotent

    create_legacy_database(db_url)
    before = snapshot(db_url)
    real_drop = idempotent.drop_columns

    def broken_drop(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(idempotent, "drop_columns", broken_drop)
    with pytest.raises(MigrationError, match="revision 0002 failed: RuntimeError: disk full"):
        migrate(db_url, backup=False)
    if not db_url.startswith("mysql"):
        assert snapshot(db_url) == before
    monkeypatch.setattr(idempotent, "drop_columns", real_drop)

    migrate(db_url, backup=False)

    with connect(db_url) as conn:
        assert read_state(conn).revision == shapes.HEAD
        cents = conn.execute(text("SELECT user_id, cost_cents FROM usage_logs")).all()
    assert len(cents) == len(ROWS)
    alice = next(value for user, value in cents if user == "alice")
    assert alice in (100_500_000, Decimal("100.500000"))  # SQLite keeps millionths of a cent


RACE = """
import sys, time
from chatvault.db.migrate import migrate
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
print(len(migrate(sys.argv[1], backup=False).steps))
"""


def test_concurrent_migrations_migrate_once(db_url):
    start = str(time.time() + 3)
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACE, db_url, start],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outcomes = [racer.communicate(timeout=120) for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0], outcomes
    assert sorted(int(out) for out, _ in outcomes) == [0, int(shapes.HEAD)]
    with connect(db_url) as conn:
        assert read_state(conn).revision == shapes.HEAD


def test_a_migration_waits_for_another_writer_on_a_sqlite_file(tmp_path):
    """Switching to WAL does not use SQLite's busy handler: a writer mid-transaction must
    make `db migrate` wait, not fail (what two racing first runs did)."""
    path = tmp_path / "busy.db"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.5, writer.execute, ["COMMIT"])
    release.start()
    try:
        result = migrate(f"sqlite:///{path}", backup=False)
    finally:
        release.join()
        writer.close()
    assert result.target == shapes.HEAD
    with connect(f"sqlite:///{path}") as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_every_revision_completes_when_rerun_over_its_own_partial_work(db_url, monkeypatch):
    """What MySQL leaves after a failure: each revision's steps are skipped once done.

    Each revision is applied, then its version row is put back, and it is applied again.
    """
    create_legacy_database(db_url)
    migrate(db_url, "0001", backup=False)
    for below, revision in itertools.pairwise(ALL):
        migrate(db_url, revision, backup=False)
        with connect(db_url) as conn:
            conn.execute(text(f"UPDATE {shapes.VERSION_TABLE} SET version_num = '{below}'"))
            conn.commit()
        assert migrate(db_url, revision, backup=False).steps == [revision]
    with connect(db_url) as conn:
        assert read_state(conn).revision == shapes.HEAD
        costs = (
            conn.execute(select(usage_logs.c.cost_cents).order_by(usage_logs.c.id)).scalars().all()
        )
    assert costs == [expected_cents(row[6]) for row in ROWS]  # converted once, not twice
