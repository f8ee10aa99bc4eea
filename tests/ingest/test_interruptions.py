"""An import killed at any moment leaves the database consistent; a second writer waits."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chatvault.db.engine import sqlite_path
from tests.head import at_head


def write_records(path: Path, count: int, prefix: str) -> None:
    with path.open("w") as out:
        for i in range(count):
            out.write(
                json.dumps(
                    {
                        "request_id": f"{prefix}-{i}",
                        "created_at": "2025-10-01T00:00:00Z",
                        "user_id": f"u{i % 50}",
                        "model": "gpt-4o",
                        "provider": "openai",
                        "input_tokens": i % 1000,
                        "output_tokens": 10,
                    }
                )
                + "\n"
            )


def chatvault(url: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "chatvault", "ingest", "--quiet", "--database", url, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def count_rows(url: str) -> int:
    with sqlite3.connect(sqlite_path(url)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return conn.execute("SELECT COUNT(*) FROM usage_logs").fetchone()[0]


def test_killed_import_leaves_nothing_half_done_and_a_rerun_completes(sqlite_url, tmp_path):
    at_head(sqlite_url)
    data = tmp_path / "big.jsonl"
    write_records(data, 150_000, "k")
    run = chatvault(sqlite_url, str(data))
    time.sleep(1.2)
    if run.poll() is not None:
        pytest.skip("the import finished before it could be killed")
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    killed_at = count_rows(sqlite_url)
    if killed_at == 150_000:  # killed while it brought the rollups up to date
        pytest.skip("the file was imported before the import could be killed")
    assert killed_at == 0  # one file, one transaction: all or nothing
    again = chatvault(sqlite_url, str(data))
    assert again.wait(timeout=300) == 0, again.stderr.read()
    assert count_rows(sqlite_url) == 150_000


def test_two_writers_at_once_both_succeed(sqlite_url, tmp_path):
    """No 'database is locked': the second writer waits for the first (busy timeout)."""
    at_head(sqlite_url)
    files = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    for prefix, path in zip("ab", files, strict=True):
        write_records(path, 30_000, prefix)
    runs = [chatvault(sqlite_url, str(path)) for path in files]
    outcomes = [(run.wait(timeout=300), run.stderr.read()) for run in runs]
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    assert count_rows(sqlite_url) == 60_000
