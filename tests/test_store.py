"""The Python API: the same checks, pricing and idempotence as ingest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

import chatvault
from chatvault.db.engine import connect
from chatvault.db.models import usage_logs
from chatvault.errors import InputError
from tests.head import at_head


@pytest.fixture
def store(db_url):
    at_head(db_url)
    return chatvault.UsageStore(database=db_url)


def stored(url: str) -> dict[str, dict]:
    with connect(url) as conn:
        return {r["request_id"]: dict(r) for r in conn.execute(select(usage_logs)).mappings()}


def test_record_prices_and_stores(store):
    at = datetime(2025, 10, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    cost = store.record(
        model="gpt-4o",
        user_id="alice",
        input_tokens=1000,
        output_tokens=100,
        request_id="app-1",
        created_at=at,
        project="shop",
    )
    assert cost == Decimal("0.35")  # 1,000 x $2.50 + 100 x $10, per million
    row = stored(store.settings.database_url)["app-1"]
    assert (row["cost_cents"], row["cost_source"], row["project"]) == (
        Decimal("0.35"),
        "estimated",
        "shop",
    )
    assert row["created_at"] == datetime(2025, 10, 1, 10, tzinfo=UTC)


def test_reported_costs_and_unknown_models(store):
    assert store.record(model="gpt-4o", user_id="a", cost_cents=Decimal("7.5")) == Decimal("7.5")
    assert store.record(model="my-own-model", user_id="a", input_tokens=5) is None


def test_record_many_is_all_or_nothing_and_idempotent(store):
    good = [{"model": "gpt-4o", "user_id": "a", "request_id": f"r{i}"} for i in range(3)]
    with pytest.raises(InputError, match="input_tokens: cannot be negative"):
        store.record_many([*good, {"model": "gpt-4o", "user_id": "a", "input_tokens": -1}])
    assert stored(store.settings.database_url) == {}
    assert store.record_many(good).inserted == 3
    assert store.record_many(good).duplicates == 3


def test_mistakes_are_input_errors(store):
    with pytest.raises(InputError, match="time zone"):
        store.record(model="m", user_id="a", created_at=datetime(2025, 1, 1))
    with pytest.raises(InputError, match="not a usage field"):
        store.record(model="m", user_id="a", tokens=5)


def test_importing_chatvault_stays_light():
    import subprocess
    import sys

    code = "import sys, chatvault; print('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("order", [(10, 500), (500, 10)], ids=["growing", "shrinking"])
def test_record_many_keeps_the_larger_snapshot_of_a_request(store, order):
    """The one dedupe rule: of two snapshots of a request, the larger token total counts."""
    at = datetime(2025, 10, 1, 12, tzinfo=UTC)
    store.record_many(
        [
            {"model": "gpt-4o", "user_id": "a", "request_id": "r", "created_at": at,
             "output_tokens": tokens}
            for tokens in order
        ]
    )  # fmt: skip
    assert stored(store.settings.database_url)["r"]["output_tokens"] == 500


def test_an_estimate_beyond_the_maximum_is_refused_as_ingest_refuses_it(db_url, tmp_path):
    at_head(db_url)
    config = tmp_path / "c.yaml"
    config.write_text("pricing:\n  overrides:\n    - {model: big-model, input: 100, output: 100}\n")
    store = chatvault.UsageStore(database=db_url, config=config)
    with pytest.raises(InputError) as refused:
        store.record(model="big-model", user_id="a", input_tokens=10**9)  # $100,000
    assert str(refused.value) == (
        "cost: estimated at $100,000.00 at big-model's price, more than $50,000, "
        "the most one record may cost"
    )
    assert store.record(model="big-model", user_id="a", input_tokens=10**8) == Decimal(1_000_000)
