"""Reading ahead in a second process imports exactly what reading the files one by one does:
the same rows, the same counts and messages, a bad file refused whole, an unchanged one
skipped, and a large file (streamed by the importer itself) in its place."""

from __future__ import annotations

import json

import pytest

import chatvault.ingest.run as run
from chatvault.ingest.ahead import ahead_possible, read_ahead
from tests.head import at_head
from tests.ingest.helpers import ingest, rows


def line(file: int, i: int, output: int) -> str:
    message = {
        "id": f"msg_{file}_{i % 7}",  # repeats within a file: the larger snapshot wins
        "model": "claude-sonnet-4-20250514",
        "usage": {"input_tokens": 3, "output_tokens": output},
    }
    entry = {
        "type": "assistant",
        "sessionId": f"s{file}",
        "requestId": f"req_{file}_{i % 7}",
        "timestamp": f"2026-03-0{1 + file % 5}T10:{i:02d}:00.000Z",
        "message": message,
    }
    return json.dumps(entry, separators=(",", ":")) + "\n"


@pytest.fixture
def logs(tmp_path):
    root = tmp_path / "projects"
    for file in range(12):
        path = root / f"-home-p{file % 3}" / f"s{file}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = 50 if file in (3, 8) else 20  # two larger files, streamed
        path.write_text("".join(line(file, i, 10 + (i * 37) % 50) for i in range(lines)))
    bad = root / "-home-p2" / "s5.jsonl"
    bad.write_text(bad.read_text() + "{not json\n")  # refused whole
    return root


@pytest.mark.skipif(not ahead_possible(), reason="reading ahead needs fork and two cores")
def test_read_ahead_imports_what_reading_one_by_one_does(logs, tmp_path, monkeypatch):
    serial, ahead = (f"sqlite:///{tmp_path / name}" for name in ("serial.db", "ahead.db"))
    for url in (serial, ahead):
        at_head(url)
    (logs / "-home-p1" / "s1.jsonl").rename(logs / "s1.jsonl")
    ingest(serial, str(logs / "s1.jsonl"))
    ingest(ahead, str(logs / "s1.jsonl"))
    (logs / "s1.jsonl").rename(logs / "-home-p1" / "s1.jsonl")  # moved: read again, no new row
    monkeypatch.setattr(run, "SMALL", 8000)  # the larger files stream, in the importer
    expected = ingest(serial, str(logs))
    monkeypatch.setattr(run, "AHEAD_FILES", 1)
    read = []
    monkeypatch.setattr(run, "read_ahead", lambda *a: read.append(a) or read_ahead(*a))
    got = ingest(ahead, str(logs))
    assert len(read[0][1]) == 10  # the small files (s1 moved: read again, adds nothing)
    assert (got.exit_code, got.stdout) == (expected.exit_code, expected.stdout) == (2, "")
    assert "s5.jsonl:21: " in got.stderr
    summary = [text.split("; ")[0] for text in expected.stderr.splitlines()]
    assert [text.split("; ")[0] for text in got.stderr.splitlines()] == summary
    assert rows(ahead).keys() == rows(serial).keys()
    assert [r["output_tokens"] for r in rows(ahead).values()] == [
        r["output_tokens"] for r in rows(serial).values()
    ]
    assert not any(key.startswith("cc:msg_5_") for key in rows(ahead))
    again = ingest(ahead, str(logs))
    assert "11 unchanged" in again.stderr
