"""`chatvault export` as a user runs it: the file, stdout, stderr and exit code checked apart."""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from chatvault.cli.app import app
from chatvault.db.engine import connect
from chatvault.db.migrate import migrate
from chatvault.db.writes import insert_usage
from chatvault.reports.export import COLUMNS
from tests.head import at_head

runner = CliRunner()
T0 = datetime(2026, 11, 5, 14, 3, 7, 123456, tzinfo=UTC)
DETAILS = '{"error": "bad, very bad", "quote": "\\"", "lines": "a\\nb"}\nsecond line'
HEADER = ",".join(COLUMNS)


@pytest.fixture
def db(sqlite_url) -> str:
    at_head(sqlite_url)
    rows = [
        {
            "request_id": f"req-{i}",
            "created_at": T0 + timedelta(hours=i),
            "user_id": user,
            "model": model,
            "cost_cents": cost,
            "status": "error" if i == 1 else "success",
            "error_details": DETAILS if i == 1 else None,
        }
        for i, (user, model, cost) in enumerate(
            [
                ("alice", "gpt-4o", Decimal("12.5")),
                ("=cmd|'/c calc'!A1", "gpt-4o", Decimal("-0.000001")),
                ("bob", "claude-sonnet-4", None),
            ]
        )
    ]
    with connect(sqlite_url) as conn:
        insert_usage(conn, rows)
        conn.commit()
    return sqlite_url


def run(db: str, *args: str):
    return runner.invoke(app, ["export", "--database", db, *args])


def records(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_file_header_quoting_and_summary(db, tmp_path):
    out = tmp_path / "usage.csv"
    result = run(db, "--output", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    size = out.stat().st_size
    assert line.startswith(f"exported 3 rows to {out}: {size:,} bytes in ")
    assert line.endswith(" rows/s")
    data = out.read_bytes().decode("utf-8")
    assert data.startswith(HEADER + "\r\n") and data.endswith("\r\n")
    # RFC 4180: the cell with commas, quotes and line breaks is quoted, quotes doubled.
    quoted = '"' + DETAILS.replace('"', '""') + '"'
    assert f",error,{quoted}\r\n" in data
    alice, attacker, bob = records(data)
    assert attacker["error_details"] == DETAILS
    assert (alice["created_at"], alice["cost_cents"]) == (
        "2026-11-05T14:03:07.123456Z",
        "12.500000",
    )
    assert (bob["cost_cents"], bob["billable"]) == ("", "true")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_formulas_are_neutralised_unless_raw(db, tmp_path):
    out = tmp_path / "usage.csv"
    assert run(db, "-o", str(out), "-q").exit_code == 0
    attacker = records(out.read_bytes().decode())[1]
    assert attacker["user_id"] == "'=cmd|'/c calc'!A1"
    assert attacker["cost_cents"] == "-0.000001"  # a number: no quote in front

    assert run(db, "-o", str(out), "-q", "--raw").exit_code == 0
    assert records(out.read_bytes().decode())[1]["user_id"] == "=cmd|'/c calc'!A1"


def test_jsonl_by_option_or_name_is_not_neutralised(db, tmp_path):
    for args in (
        ["-o", str(tmp_path / "a.txt"), "--format", "jsonl"],
        ["-o", str(tmp_path / "a.jsonl")],
    ):
        result = run(db, *args, "-q")
        assert result.exit_code == 0, result.stderr
        assert result.stderr == ""
    lines = (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines == (tmp_path / "a.txt").read_text(encoding="utf-8").splitlines()
    alice, attacker, bob = (json.loads(line) for line in lines)
    assert list(alice) == list(COLUMNS)
    assert attacker["user_id"] == "=cmd|'/c calc'!A1" and attacker["error_details"] == DETAILS
    assert (alice["cost_cents"], bob["cost_cents"], bob["billable"]) == ("12.500000", None, True)


def test_gzip_round_trip(db, tmp_path):
    plain = tmp_path / "usage.csv"
    run(db, "-o", str(plain), "-q")
    for name, flag in (("usage.csv.gz", []), ("usage.gzipped", ["--gzip"])):
        result = run(db, "-o", str(tmp_path / name), *flag)
        assert result.exit_code == 0, result.stderr
        assert "bytes (gzip) in" in result.stderr
        assert gzip.decompress((tmp_path / name).read_bytes()) == plain.read_bytes()


def test_output_dash_writes_stdout_only(db, tmp_path):
    result = run(db, "--output", "-", "--model", "claude-*")
    assert result.exit_code == 0, result.stderr
    stdout = result.stdout_bytes.decode()  # .stdout turns CRLF into LF
    assert stdout.startswith(HEADER + "\r\n")
    assert [r["request_id"] for r in records(stdout)] == ["req-2"]
    assert result.stderr.startswith("exported 1 row to stdout: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "chatvault.db",
        "chatvault.db-shm",
        "chatvault.db-wal",
    ]


def test_filters_and_tz(db):
    # 14:03 UTC on Nov 5th is 01:03 on Nov 6th in Sydney (UTC+11).
    result = run(db, "-o", "-", "--since", "2026-11-06", "--tz", "Australia/Sydney", "--all")
    assert [r["request_id"] for r in records(result.stdout)] == ["req-0", "req-1", "req-2"]
    result = run(db, "-o", "-", "--until", "2026-11-06", "--tz", "Australia/Sydney")
    assert records(result.stdout) == []
    result = run(db, "-o", "-", "--status", "error", "--user", "=*")
    assert [r["request_id"] for r in records(result.stdout)] == ["req-1"]


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failure_midway_leaves_the_previous_file_and_no_temporary(
    db, tmp_path, monkeypatch, failure
):
    from chatvault.db import export_rows
    from chatvault.reports import export as library

    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "usage.csv"
    out.write_text("last month's export\n")
    streamed = export_rows.batches

    def breaks_after_one_batch(conn, query):
        batches = streamed(conn, query)
        yield next(batches)
        raise failure

    monkeypatch.setattr(export_rows, "BATCH", 1)
    monkeypatch.setattr(library, "batches", breaks_after_one_batch)
    result = run(db, "-o", str(out))
    assert result.exit_code == (1 if isinstance(failure, OSError) else 130)
    assert result.stdout == ""
    if isinstance(failure, OSError):
        assert result.stderr.strip() == (
            f"error: cannot write {out}: No space left on device; nothing was written"
        )
    assert out.read_text() == "last month's export\n"
    assert [p.name for p in folder.iterdir()] == ["usage.csv"]


def test_a_terminal_gets_a_progress_bar_and_the_same_file(db, tmp_path, monkeypatch):
    from rich.console import Console

    screen = io.StringIO()
    monkeypatch.setattr(
        "chatvault.cli.export.stderr", lambda: Console(file=screen, force_terminal=True)
    )
    out = tmp_path / "usage.csv"
    result = run(db, "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert "3/3" in screen.getvalue()
    assert result.stderr.startswith("exported 3 rows")
    assert len(records(out.read_bytes().decode())) == 3


def test_errors_are_one_line(db, tmp_path):
    missing = tmp_path / "nope" / "usage.csv"
    result = run(db, "-o", str(missing))
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: cannot write {missing}: the folder {missing.parent} does not exist"
    )
    result = run(db, "-o", str(tmp_path))
    assert (result.exit_code, result.stderr.strip()) == (
        2,
        f"error: --output {tmp_path} is a directory",
    )
    result = run(db, "-o", "-", "--tz", "Mars/Olympus")
    assert result.exit_code == 2 and "is not an IANA time zone" in result.stderr
    assert result.stdout == ""
    result = runner.invoke(
        app, ["export", "--database", f"sqlite:///{tmp_path / 'x.db'}", "-o", "-"]
    )
    assert result.exit_code == 4 and "run: chatvault db migrate" in result.stderr
    assert "Missing option '--output'" in runner.invoke(app, ["export"]).stderr


def test_an_export_reads_back_with_ingest(db, tmp_path):
    out = tmp_path / "usage.jsonl"
    assert run(db, "-o", str(out), "-q").exit_code == 0
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    migrate(copy)
    result = runner.invoke(app, ["ingest", "--database", copy, str(out)])
    assert result.exit_code == 0, result.stderr
    again = tmp_path / "again.jsonl"
    assert run(copy, "-o", str(again), "-q").exit_code == 0
    before = [json.loads(line) for line in out.read_text().splitlines()]
    after = [json.loads(line) for line in again.read_text().splitlines()]
    for row in before + after:
        # new ids; an imported cost is a reported one, with no price data of its own
        del row["id"], row["cost_source"], row["price_data"]
    for a, b in zip(after, before, strict=True):
        if b["cost_cents"] is None:  # unpriced: the import estimates it from the price list
            assert a.pop("cost_cents") is not None
            del b["cost_cents"]
    assert after == before
