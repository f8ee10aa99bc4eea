"""The one error path (cli/common.py `Group`): whatever goes wrong is one line on stderr with a
documented exit code; never a traceback, never SQL, never a password."""

from __future__ import annotations

import sqlite3

import pytest
from typer.testing import CliRunner

from chatvault.cli.app import app
from chatvault.db.engine import sqlite_path
from chatvault.db.migrate import migrate

runner = CliRunner()
HUGE = 2**62 + 1  # two of them overflow a 64-bit sum


def run(*args: str):
    return runner.invoke(app, list(args))


def _one_line(result) -> str:
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    return line


@pytest.mark.parametrize(
    "command",
    [["usage", "--since", "2025-01-01"], ["usage", "logs"], ["db", "status"], ["db", "verify"]],
)
def test_a_url_whose_port_is_not_a_number_is_bad_input(command):
    url = "postgresql://app:s3cret-pw@127.0.0.1:notaport/x"
    result = run(*command, "--database", url)
    assert result.exit_code == 2
    line = _one_line(result)
    assert line.startswith("error: the database URL is not a valid URL")
    assert "unexpected" not in line and "s3cret-pw" not in line


def test_a_query_the_database_fails_is_one_line_without_its_sql(sqlite_url):
    migrate(sqlite_url)
    with sqlite3.connect(sqlite_path(sqlite_url)) as conn:
        conn.executemany(
            "INSERT INTO usage_logs (user_id, model, input_tokens, created_at) VALUES (?, ?, ?, ?)",
            [
                ("a", "m", HUGE, "2025-01-02 10:00:00.000000"),
                ("b", "m", HUGE, "2025-01-02 11:00:00"),
            ],
        )
    for command in (["usage", "--since", "2025-01-01"], ["costs", "dashboard"]):
        result = run(*command, "--database", sqlite_url)
        assert result.exit_code == 3, command
        line = result.stderr.splitlines()[-1]
        assert line == (
            "error: the database failed a query: integer overflow "
            "(run: CHATVAULT_DEBUG=1 chatvault ... to see the statement)"
        )
        assert "SELECT" not in result.stderr and "INSERT" not in result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""


def test_an_unexpected_statement_error_names_its_cause_not_its_sql(sqlite_url, monkeypatch):
    from sqlalchemy import Column, DateTime, MetaData, Table, insert

    import chatvault.db.migrate as lifecycle
    from chatvault.db.engine import connect

    def status(url):  # a bug: a value SQLAlchemy refuses to bind
        table = Table("t", MetaData(), Column("at", DateTime))
        with connect(url) as conn:
            table.create(conn)
            conn.execute(insert(table), {"at": "not a datetime"})

    monkeypatch.setattr(lifecycle, "status", status)
    result = run("db", "status", "--database", sqlite_url)
    assert result.exit_code == 1
    line = _one_line(result)
    assert line.startswith("error: unexpected error: TypeError: SQLite DateTime type only accepts")
    assert "INSERT" not in line and "[SQL" not in line
