"""OpenAI and Anthropic usage exports: buckets, one token convention, exact costs."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from chatvault.db.engine import connect
from chatvault.db.models import usage_logs
from tests.head import at_head
from tests.ingest.helpers import FIXTURES, ingest


@pytest.fixture
def db(db_url) -> str:
    at_head(db_url)
    return db_url


def by_model(url: str) -> dict[tuple, dict]:
    with connect(url) as conn:
        rows = conn.execute(select(usage_logs).order_by(usage_logs.c.id)).mappings().all()
    return {(r["model"], r["api_key"]): dict(r) for r in rows}


def test_openai_buckets(db):
    result = ingest(db, str(FIXTURES / "openai" / "usage_page.json"))
    assert result.exit_code == 0, result.stderr
    rows = by_model(db)
    assert len(rows) == 3  # the empty bucket result is not usage
    gpt4o = rows[("gpt-4o-2024-08-06", "key_1")]
    # OpenAI's input_tokens (1.2M) includes the 200k cached ones; chatvault's does not
    assert (gpt4o["input_tokens"], gpt4o["cache_read_tokens"]) == (1_000_000, 200_000)
    assert (gpt4o["request_count"], gpt4o["user_id"], gpt4o["project"]) == (
        150,
        "user-alice",
        "proj_shop",
    )
    # 1M x $2.50 + 200k cached x $1.25 + 300k x $10, per million
    assert gpt4o["cost_cents"] == Decimal("575")
    batch = rows[("gpt-4o-mini-2024-07-18", "key_2")]
    assert batch["user_id"] == "(all)"  # not grouped by user
    # (2M x $0.15 + 500k x $0.60) at the batch price, half
    assert batch["cost_cents"] == Decimal("30")
    assert rows[("acme-internal-1", "key_3")]["cost_cents"] is None
    assert "acme-internal-1 (3)" in result.stderr


def test_anthropic_report(db):
    result = ingest(db, str(FIXTURES / "anthropic" / "usage_report.jsonl"))
    assert result.exit_code == 0, result.stderr
    short, long, batch = _rows(db)
    assert (short["cache_write_tokens"], short["cache_write_1h_tokens"]) == (50_000, 10_000)
    assert (short["project"], short["user_id"], short["request_count"]) == ("wrkspc_01", "(all)", 1)
    # 650k tokens of prompt in the bucket, but the report says the requests were under 200k:
    # 100k x $3 + 40k x $3.75 + 10k x $6 + 500k x $0.30 + 20k x $15
    assert short["cost_cents"] == Decimal("96")
    # the 200k-1M window: 300k x $6 + 1k x $22.50
    assert long["cost_cents"] == Decimal("182.25")
    # batch: (1M x $3 + 100k x $15) / 2
    assert batch["cost_cents"] == Decimal("225")


def _rows(url: str) -> list[dict]:
    with connect(url) as conn:
        found = conn.execute(
            select(usage_logs).order_by(usage_logs.c.created_at, usage_logs.c.input_tokens)
        )
        return [dict(r) for r in found.mappings()]


@pytest.mark.parametrize("path", ["openai/usage_page.json", "anthropic/usage_report.jsonl"])
def test_exports_are_detected_and_idempotent(db, path):
    first = ingest(db, str(FIXTURES / path))
    assert first.exit_code == 0, first.stderr
    before = _rows(db)
    again = ingest(db, str(FIXTURES / path))
    assert " 0 inserted, 0 replaced" in again.stderr
    assert _rows(db) == before


def test_a_bucket_that_grew_replaces_the_earlier_export(db, tmp_path):
    """Today's bucket, exported twice during the day: the later, larger one wins."""
    page = json.loads((FIXTURES / "openai" / "usage_page.json").read_text())
    ingest(db, str(FIXTURES / "openai" / "usage_page.json"))
    page["data"][0]["results"][0]["output_tokens"] += 1000
    page["data"][0]["results"][0]["num_model_requests"] += 1
    later = tmp_path / "later.json"
    later.write_text(json.dumps(page))
    result = ingest(db, str(later))
    assert "1 replaced" in result.stderr
    assert by_model(db)[("gpt-4o-2024-08-06", "key_1")]["request_count"] == 151


def test_a_bad_result_is_named_by_its_path(db, tmp_path):
    page = json.loads((FIXTURES / "openai" / "usage_page.json").read_text())
    page["data"][1]["results"][1]["input_cached_tokens"] = 9_999_999
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(page))
    result = ingest(db, str(bad))
    assert result.exit_code == 2
    assert (f"{bad}:1: data[1].results[1].input_cached_tokens: cannot exceed input_tokens") in (
        result.stderr
    )
    assert by_model(db) == {}
