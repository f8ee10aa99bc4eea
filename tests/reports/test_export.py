"""The export library on every dialect: exact cells, filters, order, and whole-or-nothing files."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from chatvault.cli.filters import Filters
from chatvault.db import export_rows as export_sql
from chatvault.db.engine import connect
from chatvault.db.filters import UsageFilter
from chatvault.db.migrate import migrate
from chatvault.db.writes import insert_usage
from chatvault.errors import InputError, SchemaError
from chatvault.reports.export import COLUMNS, Target, export
from tests.head import at_head
from tests.revisions import ALL
from tests.sessions import session_for

T0 = datetime(2026, 1, 31, 23, 59, 59, 123456, tzinfo=UTC)
ERROR = '{"message": "rate limited, retry", "detail": "he said \\"no\\"\\nline 2"}'


def row(n: int, **values) -> dict:
    return {
        "request_id": f"req-{n}",
        "created_at": T0 + timedelta(minutes=n),
        "user_id": "alice",
        "model": "gpt-4o",
        "cost_cents": Decimal("1.5"),
    } | values


@pytest.fixture
def db(db_url) -> str:
    at_head(db_url)
    rows = [
        row(
            0,
            provider="openai",
            project="alpha",
            api_key="key-1",
            session_id="s,1",
            cost_cents=Decimal("-0.25"),
            cost_source="reported",
            billable=False,
            processing_time_seconds=1.5,
            status="error",
            error_details=ERROR,
        ),
        row(1, cost_cents=None, user_id="bob", model="claude-sonnet-4", request_count=3),
        row(2, cost_cents=Decimal("123456789012.345678"), input_tokens=2**40),
        row(3, cost_cents=Decimal(0), project='=HYPERLINK("http://x")', api_key="-1+2"),
        row(4, user_id="@admin", session_id="\tx", project="\rx", provider="+1", api_key=""),
        row(5, project="été", api_key="'quoted", session_id="a=b"),
    ]
    with connect(db_url) as conn:
        insert_usage(conn, rows)
        conn.commit()
    return db_url


def export_rows(url: str, rows: UsageFilter, target: Target, progress=None):
    with session_for(url) as session:
        return export(session, rows, target, progress)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_csv_has_every_column_exact(db, tmp_path):
    out = tmp_path / "usage.csv"
    summary = export_rows(db, UsageFilter(), Target(out))
    assert summary.rows == 6 and summary.bytes == out.stat().st_size
    with out.open(newline="", encoding="utf-8") as f:
        assert next(csv.reader(f)) == list(COLUMNS)
    first, unpriced, large, zero, _, _ = read_csv(out)
    assert first["created_at"] == "2026-01-31T23:59:59.123456Z"
    assert first["cost_cents"] == "-0.250000"  # a negative amount: a number, never neutralised
    assert (first["billable"], unpriced["billable"]) == ("false", "true")
    assert first["processing_time_seconds"] == "1.5"
    assert first["error_details"] == ERROR and first["session_id"] == "s,1"
    assert (unpriced["cost_cents"], unpriced["processing_time_seconds"]) == ("", "")
    assert unpriced["request_count"] == "3" and unpriced["provider"] == ""
    assert large["cost_cents"] == "123456789012.345678"
    assert large["input_tokens"] == str(2**40)
    assert zero["cost_cents"] == "0.000000"
    assert int(first["id"]) < int(unpriced["id"])


def test_formulas_are_neutralised_in_csv_text_only(db, tmp_path):
    out = tmp_path / "usage.csv"
    export_rows(db, UsageFilter(), Target(out))
    _, _, _, zero, triggers, other = read_csv(out)
    assert zero["project"] == '\'=HYPERLINK("http://x")' and zero["api_key"] == "'-1+2"
    assert (triggers["user_id"], triggers["session_id"]) == ("'@admin", "'\tx")
    assert (triggers["project"], triggers["provider"]) == ("'\rx", "'+1")
    assert triggers["api_key"] == ""  # empty stays empty
    # Not triggers: a quote, a letter with an accent, a trigger further in.
    assert (other["project"], other["api_key"], other["session_id"]) == ("été", "'quoted", "a=b")

    export_rows(db, UsageFilter(), Target(out, raw=True))
    assert read_csv(out)[3]["project"] == '=HYPERLINK("http://x")'


def test_jsonl_types_and_no_neutralising(db, tmp_path):
    out = tmp_path / "usage.jsonl"
    summary = export_rows(db, UsageFilter(), Target.of(str(out), None, False, False))
    assert summary.rows == 6
    records = read_jsonl(out)
    first, unpriced, large, zero, triggers, _ = records
    assert list(first) == list(COLUMNS)
    assert first["cost_cents"] == "-0.250000" and first["billable"] is False
    assert first["created_at"] == "2026-01-31T23:59:59.123456Z"
    assert first["processing_time_seconds"] == 1.5 and first["error_details"] == ERROR
    assert unpriced["cost_cents"] is None and unpriced["billable"] is True
    assert unpriced["provider"] is None and unpriced["request_count"] == 3
    assert large["cost_cents"] == "123456789012.345678" and large["input_tokens"] == 2**40
    assert zero["project"] == '=HYPERLINK("http://x")' and triggers["user_id"] == "@admin"


def test_shipped_drivers_stream_their_own_tuples_and_others_get_the_same_cells(
    db, tmp_path, monkeypatch
):
    with connect(db) as conn:
        assert conn.dialect.driver in export_sql._STREAMING_CURSORS
    fast, slow = tmp_path / "fast.jsonl", tmp_path / "slow.jsonl"
    export_rows(db, UsageFilter(), Target(fast, "jsonl"))
    export_rows(db, UsageFilter(), Target(fast.with_suffix(".csv")))
    monkeypatch.setattr(export_sql, "_STREAMING_CURSORS", {})
    export_rows(db, UsageFilter(), Target(slow, "jsonl"))
    export_rows(db, UsageFilter(), Target(slow.with_suffix(".csv")))
    assert slow.read_bytes() == fast.read_bytes()
    assert slow.with_suffix(".csv").read_bytes() == fast.with_suffix(".csv").read_bytes()


def test_filters_and_order(db, tmp_path):
    with connect(db) as conn:  # same instant as row 0: id breaks the tie
        insert_usage(conn, [row(0, request_id="tie"), row(-5, request_id="earliest")])
        conn.commit()
    out = tmp_path / "usage.csv"
    export_rows(db, UsageFilter(), Target(out))
    assert [r["request_id"] for r in read_csv(out)][:3] == ["earliest", "req-0", "tie"]

    export_rows(db, UsageFilter(models=("claude-*",)), Target(out))
    assert [r["request_id"] for r in read_csv(out)] == ["req-1"]
    export_rows(db, UsageFilter(users=("alice",), billable_only=True), Target(out))
    assert "req-0" not in [r["request_id"] for r in read_csv(out)]
    assert len(read_csv(out)) == 5
    summary = export_rows(db, UsageFilter(statuses=("nothing",)), Target(out))
    assert summary.rows == 0 and out.read_bytes() == ",".join(COLUMNS).encode() + b"\r\n"


def test_since_is_local_midnight_in_the_zone(db, tmp_path):
    # Midnight of Feb 1st in Kolkata is 18:30 UTC on Jan 31st.
    kolkata = ZoneInfo("Asia/Kolkata")
    with connect(db) as conn:
        insert_usage(
            conn,
            [
                row(
                    0, request_id="before", created_at=datetime(2026, 1, 31, 18, 29, 59, tzinfo=UTC)
                ),
                row(0, request_id="at", created_at=datetime(2026, 1, 31, 18, 30, tzinfo=UTC)),
            ],
        )
        conn.commit()
    rows = Filters(since="2026-02-01").rows(session_for(db, zone=kolkata))
    out = tmp_path / "usage.jsonl"
    export_rows(db, rows, Target(out, "jsonl"))
    assert [r["request_id"] for r in read_jsonl(out)][:2] == ["at", "req-0"]
    rows = Filters(since="2026-01-31T23:59:59").rows(session_for(db, zone=kolkata))
    export_rows(db, rows, Target(out, "jsonl"))
    assert [r["request_id"] for r in read_jsonl(out)][:2] == ["before", "at"]


def test_progress_is_sized_by_a_count_first(db, tmp_path, monkeypatch):
    monkeypatch.setattr("chatvault.db.export_rows.BATCH", 4)
    seen = []
    export_rows(
        db,
        UsageFilter(),
        Target(tmp_path / "u.csv"),
        lambda done, total: seen.append((done, total)),
    )
    assert seen == [(0, 6), (4, 6), (6, 6)]


@pytest.mark.parametrize("interrupt", [RuntimeError("boom"), KeyboardInterrupt()])
def test_a_failed_export_leaves_no_file_and_the_old_one_intact(
    db, tmp_path, monkeypatch, interrupt
):
    monkeypatch.setattr("chatvault.db.export_rows.BATCH", 2)
    folder = tmp_path / "out"
    folder.mkdir()
    old = folder / "usage.csv"
    old.write_text("the previous export\n")

    def fail_after_the_first_batch(done: int, total: int) -> None:
        if done:
            raise interrupt

    for target in (old, folder / "new.csv.gz"):
        with pytest.raises(type(interrupt)):
            export_rows(
                db,
                UsageFilter(),
                Target.of(str(target), None, False, False),
                fail_after_the_first_batch,
            )
    assert old.read_text() == "the previous export\n"
    assert [p.name for p in folder.iterdir()] == ["usage.csv"]


def test_gzip_is_complete_and_counted(db, tmp_path):
    import gzip

    out = tmp_path / "usage.jsonl.gz"
    target = Target.of(str(out), None, False, False)
    assert (target.format, target.compress) == ("jsonl", True)
    summary = export_rows(db, UsageFilter(), target)
    assert summary.bytes == out.stat().st_size
    with gzip.open(out, "rt", encoding="utf-8") as f:
        assert len([json.loads(line) for line in f]) == 6


def test_what_the_output_name_implies(monkeypatch):
    csv = Target.of("u.csv", None, False, False)
    assert csv == Target(Path("u.csv"), "csv", False) and csv.neutralise
    jsonl = Target.of("u.NDJSON.gz", None, False, False)
    assert jsonl == Target(Path("u.NDJSON.gz"), "jsonl", True) and not jsonl.neutralise
    raw = Target.of("u.jsonl", "csv", False, True)
    assert raw == Target(Path("u.jsonl"), "csv", False, raw=True) and not raw.neutralise
    piped = Target.of("-", None, True, False)
    assert piped == Target(None, "csv", True) and piped.neutralise

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdout", Terminal())
    with pytest.raises(InputError, match="gzip data is not written to a terminal"):
        Target.of("-", None, True, False)


def test_replacing_keeps_the_mode_and_a_new_file_follows_the_umask(db, tmp_path):
    kept = tmp_path / "kept.csv"
    kept.write_text("old")
    kept.chmod(0o640)
    export_rows(db, UsageFilter(), Target(kept))
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    umask = os.umask(0o027)
    try:
        export_rows(db, UsageFilter(), Target(tmp_path / "new.csv"))
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.csv").stat().st_mode) == 0o640


def test_a_fifo_is_written_in_place(db, tmp_path):
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    export_rows(db, UsageFilter(), Target(fifo))
    reader.join(10)
    assert received[0].startswith(b"id,request_id,") and received[0].count(b"\r\n") == 7
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_output_problems_are_input_errors_before_the_database_is_read(db, tmp_path):
    with pytest.raises(InputError, match=r"the folder .*missing does not exist"):
        export_rows(db, UsageFilter(), Target(tmp_path / "missing" / "u.csv"))
    with pytest.raises(InputError, match="is a directory"):
        export_rows(db, UsageFilter(), Target(tmp_path))


def test_an_outdated_schema_writes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(url, ALL[-2])
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(SchemaError, match="out of date"):
        export_rows(url, UsageFilter(), Target(out / "u.csv"))
    assert list(out.iterdir()) == []


def test_the_documented_header_is_the_one_written():
    docs = (Path(__file__).parents[2] / "docs" / "export.md").read_text(encoding="utf-8")
    assert re.search(r"^" + re.escape(",".join(COLUMNS)) + "$", docs, re.MULTILINE)
