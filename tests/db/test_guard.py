"""Every data command's first check: a clear instruction instead of the seed-notes outage."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from chatvault.db.engine import connect
from chatvault.db.guard import check_current, open_checked, require_database
from chatvault.db.migrate import migrate
from chatvault.errors import SchemaError
from chatvault.paths import demo_files
from tests.legacy import create_legacy_database
from tests.revisions import HEAD


def test_current_database_passes(db_url):
    migrate(db_url)
    with open_checked(db_url) as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM usage_logs")).scalar() == 0


def test_missing_sqlite_file_says_migrate(sqlite_url):
    with pytest.raises(SchemaError, match="no chatvault database") as caught:
        open_checked(sqlite_url)
    assert caught.value.fix == "chatvault db migrate"


def test_legacy_database_says_migrate(db_url):
    create_legacy_database(db_url)
    with pytest.raises(SchemaError, match="unversioned") as caught, connect(db_url) as conn:
        check_current(conn)
    assert caught.value.fix == "chatvault db migrate"


def test_old_revision_says_migrate(db_url):
    migrate(db_url, "0002")
    expected = rf"out of date \(revision 0002, chatvault needs {HEAD}\)"
    with pytest.raises(SchemaError, match=expected), connect(db_url) as conn:
        check_current(conn)


def test_newer_revision_says_upgrade_chatvault(sqlite_url):
    migrate(sqlite_url)
    with connect(sqlite_url) as conn:
        conn.execute(text("UPDATE chatvault_alembic_version SET version_num = '0042'"))
        conn.commit()
        with pytest.raises(SchemaError, match="newer than this chatvault") as caught:
            check_current(conn)
    assert "upgrade chatvault" in caught.value.fix


def test_drift_at_head_is_caught(sqlite_url):
    """The outage: the version says head, but a column is not what the models expect."""
    migrate(sqlite_url)
    with connect(sqlite_url) as conn:
        conn.execute(text("ALTER TABLE usage_logs RENAME COLUMN cost_cents TO cost_usd"))
        conn.commit()
        with pytest.raises(SchemaError, match="missing: cost_cents; unexpected: cost_usd"):
            check_current(conn)


def test_without_the_demos_export_the_error_points_at_the_demos_database(tmp_path):
    """`chatvault demo` printed an `export` line; a suggested command run without it finds no
    default database, and is told where the demo's is, not only how to make an empty one."""
    from typer.testing import CliRunner

    from chatvault.cli.app import app
    from chatvault.paths import default_database_file

    default = f"sqlite:///{default_database_file()}"
    demo, config = demo_files()
    with pytest.raises(SchemaError) as plain:
        require_database(default)
    assert plain.value.fix == "chatvault db migrate"

    migrate(f"sqlite:///{demo}")
    config.write_text("timezone: UTC\n")
    result = CliRunner().invoke(app, ["usage", "--since", "7d"])
    assert result.exit_code == 4 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: no chatvault database at {default} yet; `chatvault demo` made one at {demo} "
        f"(run: export CHATVAULT_DATABASE_URL=sqlite:///{demo} CHATVAULT_CONFIG={config} "
        "to use it, or chatvault db migrate for an empty one of your own)"
    ]
    assert not default_database_file().exists()
    named = f"sqlite:///{tmp_path / 'typo.db'}"  # a database someone named: no demo hint
    with pytest.raises(SchemaError, match="no chatvault database") as caught:
        require_database(named)
    assert caught.value.fix == "chatvault db migrate"
