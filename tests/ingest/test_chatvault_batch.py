"""The column-at-a-time way through chatvault JSONL makes exactly the rows the per-record way
makes, and hands every line it is not sure of to the per-record way."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from chatvault.ingest import chatvault_format
from chatvault.ingest.chatvault_batch import checked_columns
from chatvault.ingest.options import ParseOptions
from chatvault.ingest.record import COUNTS
from chatvault.ingest.rows import pending_row

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
OPTIONS = ParseOptions(now=NOW)
FIELDS = chatvault_format._PLAIN  # what a line may hold to be taken this way
OFFSETS = ["+00:00", "Z", "+05:30", "-08:00", "+00:00"]


def plain(rng: random.Random, i: int) -> dict:
    """A record of the kind the fast way takes: optional fields come and go."""
    at = datetime(2025, 1, 1) + timedelta(seconds=rng.randrange(50_000_000))
    stamp = at.isoformat(timespec=rng.choice(["seconds", "microseconds"]))
    record = {
        "request_id": f"r-{i}",
        "created_at": stamp + rng.choice(OFFSETS),
        "user_id": rng.choice(["ana", "bo", "u" * 64]),
        "model": rng.choice(["gpt-4o", "claude-sonnet-4-20250514", "house-model"]),
    }
    optional = {
        "provider": rng.choice(["openai", "anthropic"]),
        "session_id": f"s-{rng.randrange(9)}",
        "project": "p" * rng.randrange(1, 100),
        "api_key": "key-1",
        "input_tokens": rng.randrange(0, 300_000),
        "output_tokens": rng.randrange(0, 5000),
        "cache_read_tokens": rng.randrange(0, 9000),
        "cache_write_tokens": 500,
        "cache_write_1h_tokens": rng.choice([0, 200, 500]),
        "request_count": rng.randrange(1, 40),
        "status": rng.choice(["success", "error"]),
    }
    for name, value in optional.items():
        if rng.random() < 0.7:
            record[name] = value
    if "cache_write_tokens" not in record:
        record.pop("cache_write_1h_tokens", None)  # no more 1-hour writes than writes
    return record


def checked_rows(lines: list[bytes]) -> list[tuple] | None:
    columns = checked_columns(lines, FIELDS, OPTIONS)
    return None if columns is None else list(zip(*columns, strict=True))


def lines_of(records: list[dict]) -> list[bytes]:
    return [json.dumps(r).encode() + b"\n" for r in records]


def one_by_one(lines: list[bytes]) -> list[tuple]:
    return [
        pending_row(chatvault_format.from_mapping(orjson.loads(line), OPTIONS))
        for line in lines
        if line.strip()
    ]


@pytest.mark.parametrize("seed", range(5))
def test_both_ways_make_the_same_rows(seed):
    rng = random.Random(seed)
    lines = lines_of([plain(rng, i) for i in range(300)])
    rows = checked_rows(lines)
    assert rows is not None
    assert rows == one_by_one(lines)


def test_every_record_with_every_field_takes_the_quickest_way():
    rng = random.Random(9)
    records = [plain(rng, i) for i in range(50)]
    for record in records:
        record.update(provider="openai", input_tokens=1, output_tokens=2, request_count=1)
        for name in FIELDS - record.keys():
            record[name] = 0 if name in COUNTS else "success" if name == "status" else "x"
    lines = lines_of(records)
    assert checked_rows(lines) == one_by_one(lines)


UNUSUAL = {
    "a count as text": {"input_tokens": "12"},
    "a count with a fraction": {"input_tokens": 12.0},
    "a null count": {"output_tokens": None},
    "a boolean count": {"request_count": True},
    "a negative count": {"cache_read_tokens": -1},
    "no requests": {"request_count": 0},
    "more 1-hour writes than writes": {"cache_write_tokens": 1, "cache_write_1h_tokens": 2},
    "a numeric user": {"user_id": 42},
    "an empty user": {"user_id": ""},
    "no request id": {"request_id": None},
    "an empty status": {"status": ""},
    "an unknown status": {"status": "pending"},
    "a user id too long": {"user_id": "u" * 65},
    "no offset": {"created_at": "2026-01-01T10:00:00"},
    "padded time": {"created_at": " 2026-01-01T10:00:00+00:00"},
    "not a time": {"created_at": "yesterday"},
    "a time too early": {"created_at": "2001-01-01T00:00:00+00:00"},
    "a time in the future": {"created_at": "2027-01-01T00:00:00+00:00"},
    "an amount": {"cost_usd": "0.01"},
    "an unknown field": {"colour": "blue"},
    "a billable flag": {"billable": False},
}


@pytest.mark.parametrize("change", UNUSUAL.values(), ids=UNUSUAL.keys())
def test_a_batch_with_one_unusual_line_goes_the_per_record_way(change):
    rng = random.Random(3)
    records = [plain(rng, i) for i in range(20)]
    records[11] = {**records[11], **change}
    records[11] = {k: v for k, v in records[11].items() if v is not None or k != "request_id"}
    lines = lines_of(records)
    assert checked_rows(lines) is None
    lines_of_one = lines[:11] + lines[12:]
    assert checked_rows(lines_of_one) == one_by_one(lines_of_one)


@pytest.mark.parametrize("line", [b"not json\n", b"[1, 2]\n", b'"text"\n', b"  \n"])
def test_lines_that_are_not_records_go_the_per_record_way(line):
    lines = [*lines_of([plain(random.Random(1), 0)]), line]
    assert checked_rows(lines) is None


@pytest.mark.parametrize(
    "shape",
    [
        "%Y-%m-%dT%H:%M:%S+00:00",
        "%Y-%m-%d %H:%M:%SZ",
        "%Y-%m-%dT%H:%M:%S.%fZ",
        "%Y-%m-%d %H:%M:%S.%f+00:00",
    ],
)
def test_utc_times_in_the_usual_shapes_are_stored_alike(shape):
    """Those times' stored text is cut from the line itself: it must be what formatting the
    time would give."""
    rng = random.Random(5)
    records = [plain(rng, i) for i in range(100)]
    for record in records:
        at = datetime(2025, 1, 1) + timedelta(microseconds=rng.randrange(5 * 10**13))
        record["created_at"] = at.strftime(shape)
    lines = lines_of(records)
    rows = checked_rows(lines)
    assert rows is not None and rows == one_by_one(lines)
    assert {len(row[1]) for row in rows} == {26}  # 'YYYY-MM-DD HH:MM:SS.ffffff'
