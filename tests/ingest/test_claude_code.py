"""Claude Code logs: deduplicated like the bill, totals equal to an independent recount."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.head import at_head
from tests.ingest.helpers import FIXTURES as INGEST
from tests.ingest.helpers import ingest, rows

CLAUDE = INGEST / "claude"
TOKENS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


@pytest.fixture
def db(db_url) -> str:
    at_head(db_url)
    return db_url


def recount(root: Path) -> dict[str, int]:
    """A plain reading of the files: usage lines, no <synthetic>, the largest of each request."""
    best: dict[tuple, dict] = {}
    for path in sorted(root.rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            message = entry.get("message") or {}
            usage = message.get("usage")
            if not usage or message.get("model") == "<synthetic>":
                continue
            key = (message["id"], entry.get("requestId"))
            if key not in best or sum(usage[t] for t in TOKENS) > sum(best[key][t] for t in TOKENS):
                best[key] = usage
    return {t: sum(u[t] for u in best.values()) for t in TOKENS} | {"requests": len(best)}


def test_totals_equal_an_independent_recount(db):
    sqlite_url = db
    result = ingest(sqlite_url, str(CLAUDE))
    assert result.exit_code == 0, result.stderr
    found = rows(sqlite_url).values()
    expected = recount(CLAUDE)
    assert len(found) == expected["requests"] == 5
    assert sum(r["input_tokens"] for r in found) == expected["input_tokens"]
    assert sum(r["output_tokens"] for r in found) == expected["output_tokens"]
    assert sum(r["cache_read_tokens"] for r in found) == expected["cache_read_input_tokens"]
    assert sum(r["cache_write_tokens"] for r in found) == expected["cache_creation_input_tokens"]
    assert "7 records read, 5 inserted, 0 replaced, 2 duplicates" in result.stderr


def test_costs_are_the_hand_computed_ones(db):
    sqlite_url = db
    ingest(sqlite_url, str(CLAUDE))
    found = rows(sqlite_url)
    # sonnet 4: 3 x $3 + 2,000 5-minute writes x $3.75 + 420 x $15, per million
    assert found["cc:msg_a1:req_a1"]["cost_cents"] == Decimal("1.3809")
    # sonnet 4.5 past its 200k tier (180k fresh + 70k cached = 250k): 180k x $6 + 70k x $0.60
    # + 1,200 x $22.50
    assert found["cc:msg_a2:req_a2"]["cost_cents"] == Decimal("114.9")
    # opus 4.1, 1-hour cache writes: 12 x $15 + 20k x $1.50 + 5k x $30 + 300 x $75
    assert found["cc:msg_a3:req_a3"]["cost_cents"] == Decimal("20.268")
    assert found["cc:msg_a3:req_a3"]["cache_write_1h_tokens"] == 5000
    # haiku 3.5: 500 x $0.80 + 50 x $4
    assert found["cc:msg_b1:req_b1"]["cost_cents"] == Decimal("0.06")
    assert {r["cost_source"] for r in found.values() if r["cost_cents"] is not None} == {
        "estimated"
    }


def test_unknown_model_is_unpriced_and_named(sqlite_url):
    at_head(sqlite_url)
    result = ingest(sqlite_url, str(CLAUDE))
    row = rows(sqlite_url)["cc:msg_a4:req_a4"]
    assert row["cost_cents"] is None and row["cost_source"] is None
    assert "warning: 1 request(s) of 1 model(s) have no price: claude-experimental-x (1)" in (
        result.stderr
    )
    assert "pricing.overrides" in result.stderr


def test_labels_come_from_the_logs(sqlite_url):
    at_head(sqlite_url)
    ingest(sqlite_url, str(CLAUDE))
    row = rows(sqlite_url)["cc:msg_a1:req_a1"]
    assert (row["project"], row["session_id"], row["user_id"], row["provider"]) == (
        "-home-dev-shop",
        "s-a",
        "dev",
        "anthropic",
    )
    assert rows(sqlite_url)["cc:msg_b1:req_b1"]["project"] == "-home-dev-blog"


def test_importing_again_changes_nothing(db):
    sqlite_url = db
    ingest(sqlite_url, str(CLAUDE))
    before = rows(sqlite_url)
    again = ingest(sqlite_url, str(CLAUDE), "--full")  # read again, not skipped as unchanged
    assert "7 records read, 0 inserted, 0 replaced, 7 duplicates" in again.stderr
    assert rows(sqlite_url) == before


def test_a_later_larger_snapshot_replaces_the_stored_one(db, tmp_path):
    sqlite_url = db
    first = tmp_path / "projects" / "p" / "early.jsonl"
    first.parent.mkdir(parents=True)
    lines = (CLAUDE / "projects" / "-home-dev-shop" / "s-a.jsonl").read_text().splitlines()
    first.write_text(lines[1] + "\n")  # msg_a1's first snapshot: 1 output token
    ingest(sqlite_url, str(first))
    assert rows(sqlite_url)["cc:msg_a1:req_a1"]["output_tokens"] == 1
    later = tmp_path / "projects" / "p" / "later.jsonl"
    later.write_text(lines[2] + "\n")
    result = ingest(sqlite_url, str(later))
    assert "1 replaced" in result.stderr
    row = rows(sqlite_url)["cc:msg_a1:req_a1"]
    assert row["output_tokens"] == 420 and row["cost_cents"] == Decimal("1.3809")


def test_default_paths_follow_claude_config_dir(sqlite_url, monkeypatch):
    at_head(sqlite_url)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(CLAUDE))
    result = ingest(sqlite_url)
    assert result.exit_code == 0, result.stderr
    assert len(rows(sqlite_url)) == 5
