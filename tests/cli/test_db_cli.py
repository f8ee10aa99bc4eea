"""`chatvault db ...` as a user runs it: stdout, stderr and exit code checked separately."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from chatvault.cli.app import app
from chatvault.db.engine import mask_url
from tests.legacy import create_legacy_database
from tests.revisions import ALL, HEAD, after

runner = CliRunner()


def run(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


def test_migrate_creates_the_default_sqlite_database(tmp_path):
    result = run("db", "migrate")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "applying 0001" in result.stderr and f"now at revision {HEAD}" in result.stderr
    assert (tmp_path / "xdg-data" / "chatvault" / "chatvault.db").exists()
    again = run("db", "migrate")
    assert again.exit_code == 0
    assert again.stderr.strip() == f"nothing to do: the database is already at revision {HEAD}"


def test_status_table_and_json(sqlite_url):
    run("--database", sqlite_url, "db", "migrate", "--to", "0002")
    table = run("db", "status", "--database", sqlite_url)
    assert table.exit_code == 0
    assert f"{len(after('0002'))} pending" in table.stdout
    assert ", ".join(after("0002")) in table.stdout
    assert "╭" not in table.stdout  # not a terminal: plain ASCII
    data = json.loads(run("db", "status", "--format", "json", "--database", sqlite_url).stdout)
    assert data == {
        "database": sqlite_url,
        "dialect": "sqlite",
        "exists": True,
        "revision": "0002",
        "head": HEAD,
        "pending": after("0002"),
        "state": f"{len(after('0002'))} pending",
    }


def test_verify_on_a_legacy_database_then_after_migrate(db_url):
    create_legacy_database(db_url)
    drift = run("db", "verify", "--database", db_url)
    assert drift.exit_code == 1
    assert "renamed column" in drift.stdout and "cost_usd" in drift.stdout
    assert "billable" in drift.stdout
    assert drift.stderr.strip().endswith(f"difference(s) in {mask_url(db_url)}; see each hint")

    report = json.loads(run("db", "verify", "-f", "json", "--database", db_url).stdout)
    assert report["in_sync"] is False and report["revision"] is None
    kinds = {(f["kind"], f["object"]) for f in report["findings"]}
    assert ("renamed column", "usage_logs.processing_duration_seconds") in kinds
    assert set(report["findings"][0]) == {"kind", "object", "found", "expected", "hint"}

    migrated = run("db", "migrate", "--database", db_url)
    assert migrated.exit_code == 0, migrated.stderr
    assert "recognised an unversioned database at revision 0001" in migrated.stderr
    clean = run("db", "verify", "--database", db_url)
    assert clean.exit_code == 0
    assert clean.stdout.startswith("in sync:")
    assert json.loads(run("db", "verify", "-f", "json", "--database", db_url).stdout)["in_sync"]


def test_dry_run_changes_nothing(sqlite_url):
    create_legacy_database(sqlite_url)
    result = run("db", "migrate", "--dry-run", "--database", sqlite_url)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "would record the unversioned database as revision 0001",
        *(f"would apply {revision}" for revision in after("0001")),
    ]
    status = json.loads(run("db", "status", "-f", "json", "--database", sqlite_url).stdout)
    assert status["state"] == "unversioned (legacy shape of 0001)"


def test_unknown_shape_is_one_line_and_exit_5(sqlite_url):
    import sqlite3

    from chatvault.db.engine import sqlite_path

    with sqlite3.connect(sqlite_path(sqlite_url)) as conn:
        conn.execute("CREATE TABLE usage_logs (id INTEGER PRIMARY KEY, what TEXT)")
    result = run("db", "migrate", "--database", sqlite_url)
    assert result.exit_code == 5
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: usage_logs has a shape chatvault does not recognise")
    assert "nothing was changed" in line and line.endswith("(run: chatvault db verify)")


@pytest.mark.parametrize(
    "command",
    [
        ["db", "verify"],
        ["db", "downgrade", "0001", "--yes"],
        ["usage"],
        ["usage", "logs"],
        ["costs", "dashboard"],
        ["export", "-o", "-"],
    ],
)
def test_a_missing_sqlite_file_is_the_same_error_and_exit_4_everywhere(tmp_path, command):
    result = run(*command, "--database", f"sqlite:///{tmp_path / 'nope.db'}")
    assert result.exit_code == 4
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: no chatvault database at sqlite:///{tmp_path / 'nope.db'} yet "
        "(run: chatvault db migrate)"
    ]
    assert not (tmp_path / "nope.db").exists()


def test_unreachable_server_never_shows_the_password():
    result = run("db", "status", "--database", "postgresql://app:s3cret-pw@127.0.0.1:9/x")
    assert result.exit_code == 3
    assert "s3cret-pw" not in result.stderr + result.stdout
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "error: cannot open the database postgresql+psycopg2://app:***@127.0.0.1:9/x"
    )


def test_bad_url_is_exit_2():
    result = run("db", "status", "--database", "not a url")
    assert result.exit_code == 2
    assert "not a valid URL" in result.stderr


def test_sql_for_a_dba_without_touching_the_database():
    result = run(
        "db",
        "migrate",
        "--sql",
        "--from",
        "base",
        "--database",
        "postgresql://app:pw@127.0.0.1:9/unreachable",
    )
    assert result.exit_code == 0, result.stderr
    sql = result.stdout
    assert "CREATE TABLE usage_logs" in sql and "CREATE TABLE chatvault_alembic_version" in sql
    assert "cost_usd * 100" in sql and "ALTER COLUMN input_tokens TYPE BIGINT" in sql
    assert sql.rstrip().endswith("COMMIT;")


@pytest.mark.postgresql
def test_sql_reads_where_the_database_stands(postgresql_url):
    create_legacy_database(postgresql_url)
    result = run("db", "migrate", "--sql", "--database", postgresql_url)
    assert result.exit_code == 0, result.stderr
    assert "INSERT INTO chatvault_alembic_version (version_num) VALUES ('0001')" in result.stdout
    assert "CREATE TABLE usage_logs" not in result.stdout
    assert "RENAME processing_duration_seconds TO processing_time_seconds" in result.stdout
    status = json.loads(run("db", "status", "-f", "json", "--database", postgresql_url).stdout)
    assert status["revision"] is None  # untouched


def test_sql_is_for_servers_only(sqlite_url):
    result = run("db", "migrate", "--sql", "--database", sqlite_url)
    assert result.exit_code == 2 and "SQLite is migrated in place" in result.stderr


def _revision(url: str) -> str:
    return json.loads(run("db", "status", "-f", "json", "--database", url).stdout)["revision"]


def test_downgrade_without_a_terminal_refuses_without_asking(sqlite_url):
    """Cron, a pipe, a closed stdin: nobody can answer, so nothing is asked or printed."""
    run("db", "migrate", "--database", sqlite_url)
    reverted = ", ".join(reversed(after("0003")))
    for answer in (None, "y\n"):  # even a yes piped in is not a person confirming
        refused = run("db", "downgrade", "0003", "--database", sqlite_url, input=answer)
        assert refused.exit_code == 1
        assert refused.stdout == ""
        assert refused.stderr.splitlines() == [
            f"error: not downgraded: reverting {reverted} in {sqlite_url}, down to 0003 needs a "
            "yes, and there is no terminal to ask on; add --yes to the command"
        ]
        assert _revision(sqlite_url) == HEAD
    done = run("db", "downgrade", "0002", "--yes", "--database", sqlite_url)
    assert done.exit_code == 0 and done.stdout == ""
    assert "backed up the database" in done.stderr
    assert _revision(sqlite_url) == "0002"


def test_downgrade_asks_on_a_terminal(sqlite_url):
    import pty
    import subprocess
    import sys

    run("db", "migrate", "--database", sqlite_url)
    reverted = ", ".join(reversed(after("0003")))
    for answer, code, revision in (("n", 1, HEAD), ("y", 0, "0003")):
        terminal, its_end = pty.openpty()
        command = [sys.executable, "-m", "chatvault", "db", "downgrade", "0003", "--no-backup"]
        with subprocess.Popen(
            [*command, "--database", sqlite_url],
            stdin=its_end,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as asked:
            os.close(its_end)
            os.write(terminal, f"{answer}\n".encode())
            out, err = asked.communicate(timeout=120)
        os.close(terminal)
        assert (asked.returncode, out) == (code, ""), err
        assert err.startswith(f"Revert {reverted} in {sqlite_url}, down to 0003? [y/N]: ")
        assert _revision(sqlite_url) == revision


def test_migrate_to_an_older_revision_points_at_downgrade(sqlite_url):
    run("db", "migrate", "--database", sqlite_url)
    result = run("db", "migrate", "--to", "0002", "--database", sqlite_url)
    assert result.exit_code == 5
    assert "(run: chatvault db downgrade 0002)" in result.stderr


def test_unknown_revision_is_a_usage_error(sqlite_url):
    result = run("db", "migrate", "--to", "9999", "--database", sqlite_url)
    assert result.exit_code == 2 and "unknown revision '9999'" in result.stderr


def test_environment_variable_selects_the_database(sqlite_url, monkeypatch):
    monkeypatch.setenv("CHATVAULT_DATABASE_URL", sqlite_url)
    assert run("db", "migrate").exit_code == 0
    assert json.loads(run("db", "status", "-f", "json").stdout)["database"] == sqlite_url


def test_verify_at_head_does_not_promise_what_migrate_cannot_do(sqlite_url):
    """Drift at head: migrate has nothing to apply, so the hint points at the docs instead."""
    from sqlalchemy import text

    from chatvault.db.engine import connect

    run("db", "migrate", "--database", sqlite_url)
    with connect(sqlite_url) as conn:
        conn.execute(text("ALTER TABLE usage_logs RENAME COLUMN cost_cents TO cost_usd"))
        conn.commit()
    status = json.loads(run("db", "status", "-f", "json", "--database", sqlite_url).stdout)
    assert status["state"].startswith("drifted")
    result = run("db", "verify", "-f", "json", "--database", sqlite_url)
    assert result.exit_code == 1
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["kind"] == "renamed column" and finding["object"] == "usage_logs.cost_usd"
    assert "chatvault db migrate" not in finding["hint"]
    assert "x100" not in finding["hint"]  # still cents: converting again would be wrong
    assert finding["hint"] == "looks like the same column renamed: rename it back, values unchanged"


def test_a_typed_option_beats_the_environment(sqlite_url, tmp_path, monkeypatch):
    other = f"sqlite:///{tmp_path / 'other.db'}"
    monkeypatch.setenv("CHATVAULT_DATABASE_URL", other)
    for args in (
        ["--database", sqlite_url, "db", "status"],
        ["db", "status", "--database", sqlite_url],
    ):
        assert json.loads(run(*args, "-f", "json").stdout)["database"] == sqlite_url
    assert json.loads(run("db", "status", "-f", "json").stdout)["database"] == other
    # the command's own option wins over the root's
    both = run("--database", other, "db", "status", "-f", "json", "--database", sqlite_url)
    assert json.loads(both.stdout)["database"] == sqlite_url


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:s3cret-pw@127.0.0.1:9/x",
        "postgresql://app@127.0.0.1:9/x?password=s3cret-pw",
        "mysql://app@127.0.0.1:9/x?passwd=s3cret-pw&charset=utf8mb4",
        "postgresql://app@127.0.0.1:9/x?sslpassword=s3cret-pw",
    ],
)
def test_no_output_ever_shows_a_password(url):
    for args in (["db", "status"], ["db", "verify"], ["config", "show"], ["db", "migrate"]):
        result = run(*args, "--database", url)
        assert "s3cret-pw" not in result.stdout + result.stderr, args
    assert "***" in run("config", "show", "--database", url).stdout


def test_looking_never_changes_an_sqlite_file(sqlite_url, tmp_path):
    """verify, status and --dry-run on a legacy file: same bytes, same journal mode."""
    import hashlib
    import sqlite3

    from chatvault.db.engine import sqlite_path

    create_legacy_database(sqlite_url)
    path = sqlite_path(sqlite_url)

    def fingerprint():
        with sqlite3.connect(path) as conn:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        return hashlib.sha256(path.read_bytes()).hexdigest(), mode, sorted(os.listdir(tmp_path))

    before = fingerprint()
    assert before[1] == "delete"
    for args in (["db", "verify"], ["db", "status"], ["db", "migrate", "--dry-run"]):
        assert run(*args, "--database", sqlite_url).exit_code in (0, 1)
        assert fingerprint() == before, args
    assert run("db", "migrate", "--database", sqlite_url).exit_code == 0
    assert fingerprint()[1] == "wal"  # chatvault's own databases run in WAL mode


def test_dry_run_on_a_missing_file_creates_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'usage.db'}"
    result = run("db", "migrate", "--dry-run", "--database", url)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [f"would apply {i:04d}" for i in range(1, len(ALL) + 1)]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_migrate_creates_a_named_file_but_not_its_folder(tmp_path, dry_run):
    """Like ingest, which refuses a named database that does not exist: a typo in a folder
    makes no folders. The default database's folder (the user data dir) is made."""
    folder = tmp_path / "typo"
    result = run("db", "migrate", *dry_run, "--database", f"sqlite:///{folder / 'usage.db'}")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: no folder {folder} for sqlite:///{folder / 'usage.db'}: db migrate creates the "
        f"file, not its folder (run: mkdir -p {folder})"
    ]
    assert not folder.exists()


def test_downgrade_refuses_before_asking(sqlite_url):
    run("db", "migrate", "--to", "0002", "--database", sqlite_url)
    result = run("db", "downgrade", "0003", "--database", sqlite_url)
    assert result.exit_code == 5
    assert "Revert" not in result.stderr
    assert result.stderr.strip() == "error: the database is at 0002, not above 0003"


def test_migrate_to_base_on_an_empty_database(sqlite_url):
    result = run("db", "migrate", "--to", "base", "--database", sqlite_url)
    assert result.exit_code == 0
    assert (
        result.stderr.strip()
        == "nothing to do: the database is already at base (no chatvault schema)"
    )


def test_downgrade_a_missing_database_creates_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'no.db'}"
    result = run("db", "downgrade", "0001", "--yes", "--database", url)
    assert (result.exit_code, result.stdout) == (4, "")
    assert (
        result.stderr == f"error: no chatvault database at {url} yet (run: chatvault db migrate)\n"
    )
    assert not (tmp_path / "no.db").exists()


def test_verify_on_an_unknown_shape_does_not_send_the_user_in_circles(sqlite_url):
    import sqlite3

    from chatvault.db.engine import sqlite_path

    create_legacy_database(sqlite_url)
    with sqlite3.connect(sqlite_path(sqlite_url)) as conn:
        conn.execute("ALTER TABLE usage_logs ADD COLUMN surprise INTEGER")
    report = json.loads(run("db", "verify", "-f", "json", "--database", sqlite_url).stdout)
    hints = {f["object"]: f["hint"] for f in report["findings"]}
    assert "unexpected surprise" in report["findings"][0]["found"]
    assert hints["usage_logs.surprise"].startswith("migrate refuses to guess")
    assert not any(h.startswith("run: chatvault db migrate") for h in hints.values())


def test_sql_refuses_a_downgrade_and_says_when_there_is_nothing_to_do():
    url = "mysql://app:pw@127.0.0.1:9/unreachable"
    down = run("db", "migrate", "--sql", "--from", "0004", "--to", "0002", "--database", url)
    assert down.exit_code == 5 and down.stdout == ""
    assert "at 0004, past 0002 (run: chatvault db downgrade 0002)" in down.stderr
    same = run("db", "migrate", "--sql", "--from", HEAD, "--database", url)
    assert same.exit_code == 0 and same.stdout == "" and "nothing to do" in same.stderr
    full = run("db", "migrate", "--sql", "--from", "base", "--database", url)
    assert full.stdout.rstrip().endswith("COMMIT;")
    assert "ALTER TABLE usage_logs CHANGE processing_duration_seconds processing_time_seconds" in (
        full.stdout
    )


def test_an_unexpected_error_is_one_line_unless_debugging(sqlite_url, monkeypatch):
    import chatvault.db.migrate as lifecycle

    def broken(url):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(lifecycle, "status", broken)
    result = run("db", "status", "--database", sqlite_url)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: unexpected error: ZeroDivisionError: division by zero "
        "(run: CHATVAULT_DEBUG=1 chatvault ... to see the traceback, and report it)"
    ]
    monkeypatch.setenv("CHATVAULT_DEBUG", "1")
    debugging = run("db", "status", "--database", sqlite_url)
    assert isinstance(debugging.exception, ZeroDivisionError)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "oracle://scott:tiger@db/orcl",
            "works with SQLite, PostgreSQL and MariaDB/MySQL, not oracle",
        ),
        ("postgres://app@127.0.0.1:9/x", "cannot open the database postgresql+psycopg2://"),
    ],
)
def test_database_kinds(url, message):
    result = run("db", "status", "--database", url)
    assert result.exit_code in (2, 3) and message in result.stderr
    assert "tiger" not in result.stderr


def test_verify_finds_a_dropped_rollup_trigger_and_the_fix_restores_it(db_url):
    """Without its triggers, usage reports would silently drift from usage_logs."""
    from sqlalchemy import text

    from chatvault.db.engine import get_engine

    assert run("db", "migrate", "--database", db_url).exit_code == 0
    on_table = " ON usage_logs" if db_url.startswith("postgresql") else ""
    with get_engine(db_url).begin() as conn:
        conn.execute(text(f"DROP TRIGGER usage_logs_mark_update{on_table}"))
    drift = run("db", "verify", "--database", db_url)
    assert drift.exit_code == 1
    assert "missing trigger" in drift.stdout and "usage_logs_mark_update" in drift.stdout
    assert "db downgrade 0006 --yes" in drift.stdout
    assert run("db", "downgrade", "0006", "--yes", "--database", db_url).exit_code == 0
    assert run("db", "migrate", "--database", db_url).exit_code == 0
    assert run("db", "verify", "--database", db_url).exit_code == 0
