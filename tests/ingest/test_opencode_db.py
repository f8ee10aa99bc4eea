"""OpenCode 1.2's database (opencode.db), from a hand-written copy of its tables: each
assistant message with usage is the record its file would have been, under the same id."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from chatvault.errors import InputError
from chatvault.ingest import opencode_db
from chatvault.ingest.files import Input
from chatvault.ingest.options import ParseOptions
from tests.head import at_head
from tests.ingest.helpers import FIXTURES, ingest, rows

OPTIONS = ParseOptions(now=datetime(2026, 12, 7, tzinfo=UTC), user="dev")


def build(path: Path, *extra: str) -> Path:
    with closing(sqlite3.connect(path)) as db:
        db.executescript((FIXTURES / "opencode-db" / "opencode.sql").read_text())
        for statement in extra:
            db.execute(statement)
        db.commit()
    return path


def read(path: Path) -> list:
    return list(opencode_db.records(Input(path.name, path, path.stat().st_size), OPTIONS))


def test_assistant_messages_with_usage_are_read_as_their_files_were(tmp_path):
    items = read(build(tmp_path / "opencode.db"))
    assert [i.error for i in items] == [None, None, None]
    found = {i.record.request_id: i.record for i in items}
    assert set(found) == {"opencode:msg_02", "opencode:msg_11", "opencode:msg_12"}
    sonnet = found["opencode:msg_11"]
    assert (sonnet.input_tokens, sonnet.cache_read_tokens, sonnet.cache_write_tokens) == (
        2500,
        21000,
        900,
    )
    assert sonnet.output_tokens == 1800  # reasoning shown apart by OpenCode, as ccusage counts
    assert sonnet.cost_cents == Decimal("9.17")
    assert (sonnet.session_id, sonnet.project, sonnet.user_id) == ("ses_2", "blog", "dev")
    assert sonnet.created_at == datetime(2026, 3, 4, 10, 26, 43, tzinfo=UTC)
    assert found["opencode:msg_12"].cost_cents is None  # a subscription's 0: chatvault prices it


def test_a_bad_row_is_refused_with_its_row_and_field(tmp_path):
    bad = (
        "INSERT INTO message VALUES ('msg_14', 'ses_2', 1, 1, '{\"role\":\"assistant\","
        '"time":{"created":1772620100000},"modelID":"m","tokens":{"input":-3}}\')'
    )
    items = read(build(tmp_path / "opencode.db", bad))
    (refused,) = [i for i in items if i.error is not None]
    assert refused.line == 6  # the rowid: the sixth message
    assert str(refused.error) == "message.tokens.input: cannot be negative, got -3"


def test_only_opencodes_database_is_taken_for_one(tmp_path):
    assert opencode_db.is_opencode(build(tmp_path / "opencode.db"))
    other = tmp_path / "logs.db"
    with closing(sqlite3.connect(other)) as db:
        db.execute("CREATE TABLE responses (id TEXT, model TEXT)")
    assert not opencode_db.is_opencode(other)
    not_sqlite = tmp_path / "x.db"
    not_sqlite.write_text("hello")
    assert not opencode_db.is_opencode(not_sqlite)
    with pytest.raises(InputError, match="not a readable OpenCode database"):
        read(not_sqlite)


def test_imported_once_with_the_files_it_replaced_and_found_in_its_place(
    db_url, tmp_path, monkeypatch
):
    at_head(db_url)
    home = tmp_path / "oc"
    shutil.copytree(FIXTURES / "opencode", home)  # the files OpenCode keeps after moving them
    build(home / "opencode.db")
    monkeypatch.setenv("OPENCODE_DATA_DIR", str(home))
    for variable in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME"):
        monkeypatch.setenv(variable, str(tmp_path / "none"))
    result = ingest(db_url)
    assert result.exit_code == 0, result.stderr
    stored = rows(db_url)
    assert set(stored) == {
        "opencode:msg_02",
        "opencode:msg_03",
        "opencode:msg_11",
        "opencode:msg_12",
    }
    assert {r["machine"] is not None for r in stored.values()} == {True}  # a local source
    assert stored["opencode:msg_11"]["cost_cents"] == Decimal("9.17")
    again = ingest(db_url, str(home / "opencode.db"), "--full")
    assert "0 inserted" in again.stderr and "3 duplicates" in again.stderr
    assert rows(db_url) == stored


def test_what_waits_in_the_write_ahead_log_is_read(sqlite_url, tmp_path):
    """OpenCode writes in WAL mode: a commit may sit in opencode.db-wal while the database
    file's own size and time stay as they were; the next import reads it all the same."""
    at_head(sqlite_url)
    path = build(tmp_path / "opencode.db")
    writer = sqlite3.connect(path)  # kept open, as OpenCode keeps it: no checkpoint on close
    try:
        writer.execute("PRAGMA journal_mode=WAL")
        assert ingest(sqlite_url, str(path)).exit_code == 0
        assert len(rows(sqlite_url)) == 3
        writer.execute(
            "INSERT INTO message VALUES ('msg_20', 'ses_2', 1, 1, '{\"role\":\"assistant\","
            '"time":{"created":1772620200000},"modelID":"gpt-4.1","cost":0.01,'
            '"tokens":{"input":10,"output":5}}\')'
        )
        writer.commit()
        assert (tmp_path / "opencode.db-wal").stat().st_size > 0
        result = ingest(sqlite_url, str(path))
        assert result.exit_code == 0, result.stderr
        assert "opencode:msg_20" in rows(sqlite_url)
    finally:
        writer.close()
