"""LiteLLM spend logs and llm's logs.db."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from tests.head import at_head
from tests.ingest.helpers import FIXTURES, USER, ingest, rows


@pytest.fixture
def db(sqlite_url) -> str:
    at_head(sqlite_url)
    return sqlite_url


def test_litellm_spend_logs(db):
    result = ingest(db, str(FIXTURES / "litellm" / "spend_logs.json"))
    assert result.exit_code == 0, result.stderr
    stored = rows(db)
    first = stored["litellm:chatcmpl-1"]
    assert (first["input_tokens"], first["cache_read_tokens"]) == (600, 400)  # 1,000 incl. cached
    assert (first["cost_cents"], first["cost_source"]) == (Decimal("0.375"), "reported")
    assert (first["user_id"], first["project"], first["processing_time_seconds"]) == (
        "alice",
        "team-a",
        2.5,
    )
    second = stored["litellm:chatcmpl-2"]
    assert (second["input_tokens"], second["cache_read_tokens"], second["cache_write_tokens"]) == (
        500,
        1500,
        1000,
    )
    # LiteLLM said $0 for 3,100 tokens: not free, priced by chatvault instead.
    # 500 x $3 + 1,000 x $3.75 + 1,500 x $0.30 + 100 x $15, per million
    assert (second["cost_cents"], second["cost_source"]) == (Decimal("0.72"), "estimated")
    assert second["user_id"] == "bob"
    failed = stored["litellm:chatcmpl-3"]
    assert (failed["status"], failed["cost_cents"]) == ("error", Decimal("0"))  # no tokens: $0


def test_litellm_csv_with_metadata_as_text(db):
    result = ingest(db, str(FIXTURES / "litellm" / "spend_logs.csv"))
    assert result.exit_code == 0, result.stderr
    row = rows(db)["litellm:csv-a"]
    assert (row["input_tokens"], row["cache_read_tokens"]) == (100, 100)
    assert row["cost_cents"] == Decimal("0.00612")


def make_logs_db(path: Path) -> Path:
    """llm's own tables (the columns its migrations create), with a few logged calls."""
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE responses (id TEXT PRIMARY KEY, model TEXT, prompt TEXT, system TEXT,
            prompt_json TEXT, options_json TEXT, response TEXT, response_json TEXT,
            conversation_id TEXT, duration_ms INTEGER, datetime_utc TEXT, input_tokens INTEGER,
            output_tokens INTEGER, token_details TEXT, schema_id TEXT, resolved_model TEXT);
        CREATE TABLE turns (id TEXT PRIMARY KEY, thread_id TEXT, parent_message_hash TEXT,
            tip_message_hash TEXT, model TEXT, resolved_model TEXT, options_json TEXT,
            schema_id TEXT, input_tokens INTEGER, output_tokens INTEGER, token_details TEXT,
            duration_ms INTEGER, datetime_utc TEXT, response_json TEXT);
    """)
    openai = json.dumps({"prompt_tokens_details": {"cached_tokens": 200}})
    anthropic = json.dumps({"cache_creation_input_tokens": 2000, "cache_read_input_tokens": 10000})
    db.executemany(
        "INSERT INTO responses (id, model, conversation_id, duration_ms, datetime_utc, "
        "input_tokens, output_tokens, token_details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            ("01J0AAA", "gpt-4o-mini", "c1", 1500, "2025-09-01T12:00:00.123456", 1000, 100, openai),
            ("01J0BBB", "gpt-4o-mini", "c1", 10, "2025-09-01T12:01:00", None, None, None),
        ],
    )
    db.executemany(
        "INSERT INTO turns (id, thread_id, model, resolved_model, duration_ms, datetime_utc, "
        "input_tokens, output_tokens, token_details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                "01J0CCC",
                "th1",
                "claude-sonnet-4.5",
                "claude-sonnet-4-5-20250929",
                900,
                "2025-10-01T08:00:00+00:00",
                50,
                500,
                anthropic,
            ),
            # the same call in both tables counts once
            (
                "01J0AAA",
                "c1",
                "gpt-4o-mini",
                None,
                1500,
                "2025-09-01T12:00:00.123456",
                1000,
                100,
                openai,
            ),
        ],
    )
    db.commit()
    db.close()
    return path


def test_llm_logs_db(db, tmp_path):
    logs = make_logs_db(tmp_path / "logs.db")
    result = ingest(db, str(logs))  # detected as llm by the SQLite header
    assert result.exit_code == 0, result.stderr
    assert "3 records read, 2 inserted, 0 replaced, 1 duplicates" in result.stderr
    stored = rows(db)
    mini = stored["llm:01J0AAA"]
    assert (mini["input_tokens"], mini["cache_read_tokens"], mini["session_id"]) == (800, 200, "c1")
    # 800 x $0.15 + 200 x $0.075 + 100 x $0.60, per million
    assert mini["cost_cents"] == Decimal("0.0195")
    assert mini["processing_time_seconds"] == 1.5 and mini["user_id"] == USER
    sonnet = stored["llm:01J0CCC"]
    assert sonnet["model"] == "claude-sonnet-4-5-20250929"
    assert (sonnet["input_tokens"], sonnet["cache_read_tokens"], sonnet["cache_write_tokens"]) == (
        50,
        10000,
        2000,
    )
    # 50 x $3 + 2,000 x $3.75 + 10,000 x $0.30 + 500 x $15
    assert sonnet["cost_cents"] == Decimal("1.815")
    again = ingest(db, str(logs))
    assert "0 inserted" in again.stderr


def test_an_sqlite_file_that_is_not_llm(db, tmp_path):
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    result = ingest(db, str(other))
    assert result.exit_code == 2
    assert "an SQLite file without llm's responses or turns table" in result.stderr
