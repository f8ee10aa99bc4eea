"""The fast ways in: Claude Code lines checked a column at a time make exactly the rows the
per-line way makes; a batch that marks its hours itself marks what the trigger would, and
leaves the trigger as it was; small files share transactions and stay whole."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from chatvault.db import writes
from chatvault.db.engine import connect
from chatvault.db.models import rollup_stale
from chatvault.db.types import utc_text
from chatvault.db.writes import DEFAULTS, ROW_COLUMNS, columns_of
from chatvault.ingest import claude_code, claude_code_batch
from chatvault.ingest.options import Item, ParseOptions
from chatvault.ingest.rows import pending_row
from tests.head import at_head
from tests.ingest.helpers import ingest, rows

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
OPTIONS = ParseOptions(now=NOW, user="dev")


def line(rng: random.Random, i: int) -> bytes:
    at = datetime(2025, 3, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(9_000_000))
    stamp = rng.choice([at.isoformat(), at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"])
    usage = {"input_tokens": rng.randrange(50), "output_tokens": rng.randrange(900)}
    if rng.random() < 0.7:
        usage["cache_read_input_tokens"] = rng.randrange(90_000)
        usage["cache_creation_input_tokens"] = write = rng.randrange(9_000)
        usage["cache_creation"] = {"ephemeral_1h_input_tokens": rng.randrange(write + 1)}
    entry = {
        "type": "assistant",
        "sessionId": f"s{rng.randrange(3)}",
        "requestId": f"req_{i}",
        "timestamp": stamp,
        "message": {
            "id": f"msg_{i}",
            "model": rng.choice(["claude-opus-4-1", "m"]),
            "usage": usage,
        },
    }
    return json.dumps(entry, separators=(",", ":")).encode() + b"\n"


def test_claude_code_lines_a_column_at_a_time_make_the_rows_line_by_line_makes():
    rng = random.Random(7)
    chunk = [line(rng, i) for i in range(300)]
    columns = claude_code_batch.checked_columns(chunk, "proj", OPTIONS)
    assert columns is not None
    slow = [
        pending_row(item.record)
        for item in claude_code._one_by_one(chunk, 1, "proj", OPTIONS)
        if isinstance(item, Item)
    ]
    assert list(zip(*columns, strict=True)) == slow


def test_anything_unusual_goes_line_by_line():
    rng = random.Random(8)
    good = [line(rng, i) for i in range(5)]
    for bad in (
        b'{"message":{"id":"x","model":"m","usage":{"input_tokens":-1}},"timestamp":"2025-05-01T00:00:00Z"}',
        b'{"message":{"id":"x","model":"m","usage":{"input_tokens":1.5}},"timestamp":"2025-05-01T00:00:00Z"}',
        b'{"message":{"id":"x","model":"<synthetic>","usage":{}},"timestamp":"2025-05-01T00:00:00Z"}',
        b'{"message":{"model":"m","usage":{}},"timestamp":"2025-05-01T00:00:00Z"}',
        b'{"message":{"id":"x","model":"m","usage":{}},"timestamp":"2025-05-01T00:00:00"}',
        b'{"message":{"id":"x","model":"m","usage":{}},"timestamp":"2025-05-01T00:00:00Z"',
    ):
        assert claude_code_batch.checked_columns([*good, bad], None, OPTIONS) is None, bad


def _row(request_id: str, at: datetime) -> tuple:
    fields = dict.fromkeys(ROW_COLUMNS) | DEFAULTS
    fields |= {"request_id": request_id, "created_at": utc_text(at), "user_id": "u", "model": "m"}
    return tuple(fields[name] for name in ROW_COLUMNS)


def _marks(url: str) -> dict:
    with connect(url) as conn:
        return dict(conn.execute(select(rollup_stale.c.hour, rollup_stale.c.version)).all())


def test_a_batch_marks_the_hours_the_trigger_marks_and_keeps_the_trigger(tmp_path):
    start = datetime(2026, 3, 1, tzinfo=UTC)
    batch = [_row(f"r{i}", start + timedelta(minutes=7 * i)) for i in range(writes.MARKED_BY_HAND)]
    by_hand, by_trigger = (f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db"))
    for url in (by_hand, by_trigger):
        at_head(url)
    with connect(by_hand) as conn, conn.begin():
        writes.insert_columns(conn, columns_of(batch))
    with connect(by_trigger) as conn, conn.begin():
        for row in batch:  # one row a statement: below MARKED_BY_HAND, the trigger marks
            writes.insert_columns(conn, columns_of([row]))
    assert set(_marks(by_hand)) == set(_marks(by_trigger))
    with connect(by_hand) as conn:
        triggers = conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'trigger'"))
        kept = set(triggers.scalars())
    with connect(by_trigger) as conn:
        triggers = conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'trigger'"))
        assert set(triggers.scalars()) == kept


def test_small_files_share_a_transaction_and_a_bad_one_leaves_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'u.db'}"
    at_head(url)
    folder = tmp_path / "in"
    folder.mkdir()
    rng = random.Random(3)
    for n in range(30):
        (folder / f"f{n:02d}.jsonl").write_bytes(
            b"".join(line(rng, n * 100 + i) for i in range(20))
        )
    (folder / "f15.jsonl").write_bytes(line(rng, 9999) + b"not json\n")
    result = ingest(url, str(folder))
    assert result.exit_code == 2
    assert "f15.jsonl:2" in result.output
    stored = rows(url)
    assert len(stored) == 29 * 20
    assert "cc:msg_9999:req_9999" not in stored


def test_copy_into_postgresql_keeps_every_value_exactly(postgresql_url):
    at_head(postgresql_url)
    labels = ["tab\there", "new\nline", "back\\slash", "cr\rx", "\\N", "naïve ☃"]
    batch = []
    for i, label in enumerate(labels):
        values = dict(
            zip(ROW_COLUMNS, _row(f"c{i}", datetime(2026, 3, 1, tzinfo=UTC)), strict=True)
        )
        values |= {"project": label, "input_tokens": 10**12, "cost_cents": -123_456_789}
        values |= {"processing_time_seconds": 0.00001, "billable": i % 2 == 0}
        batch.append(tuple(values[name] for name in ROW_COLUMNS))
    with connect(postgresql_url) as conn, conn.begin():
        assert writes.insert_columns(conn, columns_of(batch)) == len(labels)
    stored = rows(postgresql_url)
    assert [stored[f"c{i}"]["project"] for i in range(len(labels))] == labels
    assert {r["input_tokens"] for r in stored.values()} == {10**12}
    assert {str(r["cost_cents"]) for r in stored.values()} == {"-123.456789"}
    assert [r["billable"] for r in stored.values()] == [i % 2 == 0 for i in range(len(labels))]


def test_days_without_latency_roll_up_as_the_full_build_does(tmp_path, monkeypatch):
    from chatvault.db import rollups
    from chatvault.db.models import rollup_table

    start = datetime(2026, 3, 1, 22, tzinfo=UTC)
    batch = []
    for i in range(60):  # three days; only the first rows have a latency
        row = dict(zip(ROW_COLUMNS, _row(f"t{i}", start + timedelta(hours=i)), strict=True))
        row |= {"processing_time_seconds": 0.5 + i if i < 10 else None, "input_tokens": i}
        batch.append(tuple(row[name] for name in ROW_COLUMNS))
    tables = {}
    for name, everything in (("lean.db", False), ("full.db", True)):
        url = f"sqlite:///{tmp_path / name}"
        at_head(url)
        with connect(url) as conn, conn.begin():
            writes.insert_columns(conn, columns_of(batch))
        if everything:
            monkeypatch.setattr(rollups, "_timed_days", lambda conn, place, days: set(days))
        with connect(url) as conn, conn.begin():
            rollups.refresh(conn, "Europe/Paris")
        with connect(url) as conn:
            table = rollup_table("rollup_day_user_details")
            found = conn.execute(select(table).order_by(table.c.day)).mappings().all()
            tables[name] = [{k: v for k, v in r.items() if k != "id"} for r in found]
    assert tables["lean.db"] == tables["full.db"]
    assert len(tables["full.db"]) == 4  # 22:00 UTC on the 1st to the 4th, in Paris
    assert sum(r["latency_rows"] for r in tables["full.db"]) == 10
