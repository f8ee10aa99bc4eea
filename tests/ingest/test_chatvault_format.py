"""chatvault's own JSONL and CSV: exact amounts, every rule a record must pass."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from chatvault.cli.app import app
from tests.head import at_head
from tests.ingest.helpers import FIXTURES as INGEST
from tests.ingest.helpers import ingest, rows, runner

FIXTURES = INGEST / "chatvault"


@pytest.fixture
def db(sqlite_url) -> str:
    at_head(sqlite_url)
    return sqlite_url


def test_jsonl_values_arrive_exactly(db):
    result = ingest(db, str(FIXTURES / "usage.jsonl"))
    assert result.exit_code == 0, result.stderr
    stored = rows(db)
    reported = stored["req-001"]
    assert (reported["cost_cents"], reported["cost_source"]) == (Decimal("1.23"), "reported")
    (bucket,) = [r for r in stored.values() if r["user_id"] == "ravi"]
    # Derived from the record, and frozen: a field added to the format must not change it.
    assert bucket["request_id"] == "chatvault:5f785d85d314d767494d4c7eb6222d5a"
    assert bucket["created_at"] == datetime(2025, 10, 1, 13, 0, tzinfo=UTC)  # +05:30 -> UTC
    assert bucket["request_count"] == 25
    # gpt-4o-mini: 2M fresh x $0.15 + 1M cached x $0.075 + 100k x $0.60, per million
    assert (bucket["cost_cents"], bucket["cost_source"]) == (Decimal("43.5"), "estimated")
    errored = stored["req-003"]
    assert (errored["status"], errored["processing_time_seconds"]) == ("error", 1.25)
    assert json.loads(errored["error_details"]) == {"code": 500}
    assert errored["cost_cents"] is None  # house-llama-70b: not in the price list


def test_config_overrides_price_the_unknown(db, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(
        "pricing:\n  overrides:\n    - {model: house-llama-70b, input: 1000000, output: 2000000}\n"
    )
    ingest(db, "--config", str(config), str(FIXTURES / "usage.jsonl"))
    assert rows(db)["req-003"]["cost_cents"] == Decimal("2000")  # 10 x $1 + 5 x $2


def test_csv(db):
    result = ingest(db, str(FIXTURES / "usage.csv"))
    assert result.exit_code == 0, result.stderr
    stored = rows(db)
    assert stored["csv-1"]["cost_cents"] == Decimal("0.35")
    assert stored["csv-2"]["billable"] is False
    assert stored["csv-2"]["created_at"] == datetime(2025, 10, 4, 15, tzinfo=UTC)


def test_a_bad_record_stops_its_file_and_keeps_nothing_of_it(db):
    result = ingest(db, str(FIXTURES / "bad_line.jsonl"), str(FIXTURES / "usage.csv"))
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {FIXTURES / 'bad_line.jsonl'}:2: input_tokens: cannot be negative, got -5; "
        "nothing of this file was imported"
    ]
    assert set(rows(db)) == {"csv-1", "csv-2"}  # the other file was imported
    assert "1 of 2 file(s) imported" in result.stderr


def test_skip_invalid_keeps_the_good_and_writes_the_rejects(db, tmp_path):
    rejects = tmp_path / "rejects.jsonl"
    result = ingest(
        db, "--skip-invalid", "--rejects", str(rejects), str(FIXTURES / "bad_line.jsonl")
    )
    assert result.exit_code == 0, result.stderr
    assert set(rows(db)) == {"bad-1", "bad-5"}
    reasons = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [r["where"].rsplit(":", 1)[1] for r in reasons] == ["2", "3", "4"]
    assert reasons[1]["problem"] == "status: must be one of success, error, got 'maybe'"
    assert "not a plausible time" in reasons[2]["problem"]
    assert json.loads(reasons[0]["record"])["request_id"] == "bad-2"
    assert "3 rejected" in result.stderr


def test_timestamps_need_an_offset_or_assume_tz(db):
    refused = ingest(db, str(FIXTURES / "naive.jsonl"))
    assert refused.exit_code == 2
    assert "created_at: '2025-10-01 12:00:00' has no UTC offset (say which zone: --assume-tz)" in (
        refused.stderr
    )
    accepted = ingest(db, "--assume-tz", "America/New_York", str(FIXTURES / "naive.jsonl"))
    assert accepted.exit_code == 0
    assert rows(db)["naive-1"]["created_at"] == datetime(2025, 10, 1, 16, tzinfo=UTC)


def test_gzip_stdin_and_directories(db, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    with gzip.open(folder / "usage.jsonl.gz", "wb") as packed:
        packed.write((FIXTURES / "usage.jsonl").read_bytes())
    (folder / "README.md").write_text("not usage")
    assert ingest(db, str(folder)).exit_code == 0
    assert len(rows(db)) == 3
    piped = ingest(db, "-", input=(FIXTURES / "usage.csv").read_bytes())
    assert piped.exit_code == 0, piped.stderr
    assert len(rows(db)) == 5


def test_dry_run_writes_nothing(db):
    result = ingest(db, "--dry-run", str(FIXTURES / "usage.jsonl"))
    assert result.exit_code == 0
    assert result.stderr.strip().endswith("records/s")
    assert "dry run, nothing written: 1 of 1 file(s) imported: 3 records read, 3 inserted" in (
        result.stderr
    )
    assert rows(db) == {}


def test_unknown_fields_and_formats_are_named(db, tmp_path):
    typo = tmp_path / "typo.jsonl"
    typo.write_text(
        '{"created_at": "2025-10-01T00:00:00Z", "user_id": "a", "model": "m", "input_tokns": 5}\n'
    )
    result = ingest(db, str(typo))
    assert f"{typo}:1: input_tokns: unknown field" in result.stderr
    mystery = tmp_path / "mystery.txt"
    mystery.write_text("hello\n")
    unknown = ingest(db, str(mystery))
    assert unknown.exit_code == 2
    assert "cannot tell which format this is; pass --source" in unknown.stderr


def test_json_numbers_are_read_as_decimals(db, tmp_path):
    """0.1 + 0.2 dollars is 30 cents, not 30.000000000000004."""
    exact = tmp_path / "exact.jsonl"
    exact.write_text(
        '{"request_id": "x", "created_at": "2025-10-01T00:00:00Z", "user_id": "a", '
        '"model": "m", "cost_usd": 0.1}\n{"request_id": "y", "created_at": '
        '"2025-10-01T00:00:00Z", "user_id": "a", "model": "m", "cost_usd": 0.2}\n'
    )
    ingest(db, str(exact))
    assert sum(r["cost_cents"] for r in rows(db).values()) == Decimal("30")


def test_the_default_database_is_created_on_first_use(tmp_path):
    result = runner.invoke(app, ["ingest", str(FIXTURES / "usage.csv")])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "xdg-data" / "chatvault" / "chatvault.db").exists()


def test_a_named_database_that_does_not_exist_is_an_error(tmp_path):
    result = ingest(f"sqlite:///{tmp_path / 'typo.db'}", str(FIXTURES / "usage.csv"))
    assert result.exit_code == 4 and "run: chatvault db migrate" in result.stderr
    assert not (tmp_path / "typo.db").exists()


def test_rejects_needs_skip_invalid(db):
    assert ingest(db, "--rejects", "x.jsonl", str(FIXTURES / "usage.csv")).exit_code == 2


def test_a_file_of_unknown_format_does_not_stop_the_others(db, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a_settings.json").write_text('{"theme": "dark"}\n')
    (folder / "b_usage.csv").write_text((FIXTURES / "usage.csv").read_text())
    result = ingest(db, str(folder))
    assert result.exit_code == 2
    assert "a_settings.json: cannot tell which format this is" in result.stderr
    assert set(rows(db)) == {"csv-1", "csv-2"}


def test_a_rolled_back_file_adds_nothing_to_the_counts(db, tmp_path, monkeypatch):
    """A file that fails after batches were written: its rows are gone, and so are its counts."""
    import chatvault.ingest.run as run

    monkeypatch.setattr(run, "BATCH", 1)  # every record is written before the bad one is read
    result = ingest(db, str(FIXTURES / "bad_line.jsonl"), str(FIXTURES / "usage.csv"))
    assert result.exit_code == 2
    assert "1 of 2 file(s) imported: 4 records read, 2 inserted, 0 replaced" in result.stderr
    assert set(rows(db)) == {"csv-1", "csv-2"}
