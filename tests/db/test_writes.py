"""Ingest's write path: new rows at once, stored ones merged, defaults left to the database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from chatvault.db import writes
from chatvault.db.engine import connect
from chatvault.db.models import usage_logs
from chatvault.db.types import utc_text
from chatvault.db.writes import DEFAULTS, ROW_COLUMNS, UpsertCounts, columns_of
from tests.head import at_head

T0 = datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=UTC)


def row(request_id: str, input_tokens: int = 0, **values) -> tuple:
    fields = dict.fromkeys(ROW_COLUMNS) | DEFAULTS
    fields |= {"request_id": request_id, "created_at": utc_text(T0), "user_id": "ana", "model": "m"}
    fields |= {"input_tokens": input_tokens, "cost_cents": 1_500_000, "cost_source": "estimated"}
    return tuple((fields | values)[name] for name in ROW_COLUMNS)


def stored(url: str) -> dict[str, dict]:
    with connect(url) as conn:
        found = conn.execute(select(usage_logs)).mappings().all()
    return {r["request_id"]: dict(r) for r in found}


def upsert(url: str, rows: list[tuple]) -> UpsertCounts:
    with connect(url) as conn, conn.begin():
        return writes.upsert(conn, columns_of(rows))


def test_defaults_are_the_tables_server_defaults():
    table = usage_logs
    for name, value in DEFAULTS.items():
        default = table.c[name].server_default.arg
        text = getattr(default, "text", default)
        assert str(text).lower() == str(value).lower(), name


def test_new_rows_larger_snapshots_and_duplicates(db_url):
    at_head(db_url)
    assert upsert(db_url, [row("a", 10), row("b", 10)]) == UpsertCounts(inserted=2)
    again = upsert(db_url, [row("a", 5), row("b", 20, status="error"), row("c", 1)])
    assert again == UpsertCounts(inserted=1, replaced=1, duplicates=1)
    found = stored(db_url)
    assert (found["a"]["input_tokens"], found["b"]["input_tokens"]) == (10, 20)
    assert found["b"]["status"] == "error"
    assert found["b"]["cost_cents"] == Decimal("1.500000")
    assert upsert(db_url, [row("a", 10), row("c", 1)]) == UpsertCounts(duplicates=2)
    assert len(stored(db_url)) == 3


def test_columns_left_to_the_database_and_columns_given_read_back_alike(db_url):
    at_head(db_url)
    given = {
        "billable": False,
        "status": "error",
        "request_count": 7,
        "cache_write_tokens": 9,
        "cache_write_1h_tokens": 4,
        "project": "p",
        "processing_time_seconds": 1.5,
        "cost_cents": None,
        "cost_source": None,
        "input_tokens": 3,
    }
    upsert(db_url, [row("plain"), row("plain-too")])  # every optional column left out
    upsert(db_url, [row("given", **given), row("mixed")])
    found = stored(db_url)
    for name in DEFAULTS:
        assert found["plain"][name] == found["mixed"][name] == DEFAULTS[name], name
        assert found["given"][name] == given.get(name, DEFAULTS[name]), name
    assert found["plain"]["created_at"] == T0  # microseconds and UTC kept
    assert found["given"]["processing_time_seconds"] == 1.5
    assert found["given"]["cost_cents"] is None and found["mixed"]["project"] is None


def test_checkpoints_are_loaded_by_identity_for_all_and_whole_for_some(db_url, monkeypatch):
    at_head(db_url)
    monkeypatch.setattr(writes, "MANY", 3)  # several statements for the paths asked for
    marks = [(f"/logs/{i}.jsonl", (7, 100 + i, 10 * i, 10**18 + i, i, i // 2, "h", "t", "x"))
             for i in range(8)]  # fmt: skip
    with connect(db_url) as conn, conn.begin():
        writes.save_checkpoints(conn, "laptop", marks)
        writes.save_checkpoints(conn, "desktop", marks[:1])
    with connect(db_url) as conn:
        identities = writes.load_identities(conn, "laptop")
        some = writes.load_checkpoints(conn, "laptop", [p for p, _ in marks[1:8:2]] + ["/no"])
    assert {path: tuple(row) for path, row in identities.items()} == {
        path: (path, writes.file_id(device, inode), size, mtime, source)
        for path, (device, inode, size, mtime, *_, source) in marks
    }
    assert some == dict(marks[1:8:2])
