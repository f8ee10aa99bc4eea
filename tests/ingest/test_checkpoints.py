"""Incremental imports: an unchanged file is skipped unread, an appended log is read from
where the last import stopped, anything else is read again; the checkpoint moves with the
rows; rows from agents' logs carry their machine."""

from __future__ import annotations

import json
import os
import socket

import pytest
from sqlalchemy import func, select

from chatvault.db.engine import connect
from chatvault.db.models import ingest_checkpoints
from tests.head import at_head
from tests.ingest.helpers import ingest, rows


@pytest.fixture
def db(sqlite_url) -> str:
    at_head(sqlite_url)
    return sqlite_url


def entry(i: int, output: int = 10) -> str:
    message = {
        "id": f"msg_{i}",
        "model": "claude-sonnet-4-20250514",
        "usage": {"input_tokens": 3, "output_tokens": output},
    }
    line = {
        "type": "assistant",
        "sessionId": "s1",
        "requestId": f"req_{i}",
        "timestamp": f"2026-03-01T10:{i % 60:02d}:00.000Z",
        "message": message,
    }
    return json.dumps(line, separators=(",", ":")) + "\n"


def user_line(i: int) -> str:
    return json.dumps({"type": "user", "sessionId": "s1", "message": {"content": f"q{i}"}}) + "\n"


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "projects" / "-home-dev-app" / "s1.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(user_line(i) + entry(i) for i in range(5)))
    return path


def summary(result) -> str:
    return result.stderr.strip().splitlines()[-1]


def test_an_unchanged_file_is_skipped_and_an_appended_one_read_from_where_it_stopped(db, log):
    assert "5 records read, 5 inserted" in summary(ingest(db, str(log.parent)))
    again = ingest(db, str(log.parent))
    assert summary(again).startswith("0 of 1 file(s) imported, 1 unchanged: 0 records read")
    with log.open("a") as out:
        out.write(user_line(5) + entry(5) + entry(6))
    appended = ingest(db, str(log.parent))
    assert "1 of 1 file(s) imported: 2 records read, 2 inserted, 0 replaced, 0 dup" in summary(
        appended
    )
    assert len(rows(db)) == 7
    everything = ingest(db, str(log.parent), "--full")
    assert "7 records read, 0 inserted, 0 replaced, 7 duplicates" in summary(everything)


def test_a_bad_appended_line_is_named_by_its_line_in_the_whole_file(db, log):
    ingest(db, str(log.parent))
    with log.open("a") as out:
        out.write(entry(5) + '{"message":{"id":"x","usage":{"input_tokens":-1}}}\n')
    refused = ingest(db, str(log))
    assert refused.exit_code == 2
    assert f"{log}:12: " in refused.stderr  # ten lines before, then the good one
    assert len(rows(db)) == 5  # nothing of what was appended: the file is all or nothing
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:-1]))  # fixed: the checkpoint did not move, so it is read
    assert "1 records read, 1 inserted" in summary(ingest(db, str(log)))


def test_a_line_still_being_written_is_left_for_the_next_import(db, log):
    with log.open("a") as out:
        out.write(entry(5)[:40])  # Claude Code is writing it
    assert "5 records read, 5 inserted" in summary(ingest(db, str(log)))
    with log.open("a") as out:
        out.write(entry(5)[40:])
    assert "1 records read, 1 inserted" in summary(ingest(db, str(log)))
    assert len(rows(db)) == 6


@pytest.mark.parametrize("change", ["truncated", "rewritten", "replaced"])
def test_a_truncated_or_rewritten_file_is_read_again(db, log, change):
    ingest(db, str(log))
    if change == "truncated":
        log.write_text(entry(0))
        expected = "1 records read, 0 inserted, 0 replaced, 1 duplicates"
    elif change == "rewritten":  # the same size, other bytes before the offset
        text = log.read_text()
        log.write_text(text.replace('"q1"', '"q9"'))
        expected = "5 records read, 0 inserted, 0 replaced, 5 duplicates"
    else:  # another file at the same path, larger, with a later snapshot of a request
        replacement = log.with_suffix(".new")
        replacement.write_text(log.read_text() + entry(0, output=99) + entry(7))
        os.replace(replacement, log)
        expected = "7 records read, 1 inserted, 1 replaced, 5 duplicates"
    assert expected in summary(ingest(db, str(log)))


def test_other_formats_are_skipped_when_unchanged_and_read_whole_when_not(db, tmp_path):
    path = tmp_path / "usage.jsonl"
    record = {"created_at": "2026-03-01T10:00:00Z", "user_id": "u", "model": "m"}
    path.write_text(json.dumps({**record, "request_id": "a"}) + "\n")
    ingest(db, str(path))
    assert "1 unchanged" in summary(ingest(db, str(path)))
    with path.open("a") as out:
        out.write(json.dumps({**record, "request_id": "b"}) + "\n")
    assert "2 records read, 1 inserted, 0 replaced, 1 duplicates" in summary(ingest(db, str(path)))


def test_a_dry_run_moves_no_checkpoint(db, log):
    ingest(db, str(log), "--dry-run")
    with connect(db) as conn:
        assert conn.execute(select(func.count()).select_from(ingest_checkpoints)).scalar() == 0
    assert "5 records read, 5 inserted" in summary(ingest(db, str(log)))


def test_rows_from_agents_logs_carry_their_machine_and_checkpoints_are_per_machine(db, log):
    ingest(db, str(log))
    host = socket.gethostname().split(".")[0]
    assert {row["machine"] for row in rows(db).values()} == {host}
    other = ingest(db, str(log), "--machine", "laptop-2")  # its own checkpoints: read
    assert "5 records read, 0 inserted, 0 replaced, 5 duplicates" in summary(other)
    assert "1 unchanged" in summary(ingest(db, str(log), "--machine", "laptop-2"))
    too_long = ingest(db, str(log), "--machine", "x" * 65)
    assert too_long.exit_code == 2 and "--machine" in too_long.stderr


def test_exports_carry_no_machine(db, tmp_path):
    path = tmp_path / "usage.jsonl"
    path.write_text(
        json.dumps({"created_at": "2026-03-01T10:00:00Z", "user_id": "u", "model": "m"}) + "\n"
    )
    ingest(db, str(path), "--machine", "laptop")
    assert [row["machine"] for row in rows(db).values()] == [None]
