"""The never-count-twice rule: which source counts in totals, per provider (docs/sync.md)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from typer.testing import CliRunner

import chatvault
from chatvault.cli.app import app
from chatvault.errors import InputError
from tests.sync.helpers import FIRST, NOW, config, fill_openai, migrated, run_sync
from tests.sync.replica import replica

runner = CliRunner()


def totals(url) -> dict:
    args = ["--database", url, "usage", "--since", "2026-11-01", "--until", "2026-12-01"]
    result = runner.invoke(app, [*args, "-f", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["totals"]


def request_level(url) -> None:
    chatvault.UsageStore(database=url).record(
        model="gpt-4o-mini",
        user_id="app",
        provider="openai",
        created_at=FIRST + timedelta(days=2),
        input_tokens=1000,
        output_tokens=10,
        cost_cents=Decimal("12.5"),
    )


def test_by_default_usage_totals_are_the_request_level_rows_alone(db_url):
    url = migrated(db_url)
    request_level(url)
    before = totals(url)
    with replica("openai") as state:
        fill_openai(state)
        summary = run_sync(url, state)
    assert totals(url) == before  # the synced buckets are not added
    assert before["requests"] == 1 and before["cost_usd"] == "0.125"
    assert summary.rule.startswith("openai: request-level rows count in totals")


def test_provider_counts_refuses_while_request_level_rows_are_there(sqlite_url):
    url = migrated(sqlite_url)
    request_level(url)
    with replica("openai") as state, pytest.raises(InputError) as caught:
        fill_openai(state)
        run_sync(url, state, conf=config("openai", counts="provider"))
    assert "sync.openai.counts is 'provider', but the database holds 1 other openai rows" in str(
        caught.value
    )
    assert totals(url)["requests"] == 1  # nothing written


def test_provider_counts_puts_the_buckets_in_totals_once(db_url):
    url = migrated(db_url)
    conf = config("openai", counts="provider")
    with replica("openai") as state:
        fill_openai(state)
        summary = run_sync(url, state, conf=conf)
        first = totals(url)
        run_sync(url, state, conf=conf, now=NOW + timedelta(hours=1))
        assert totals(url) == first  # re-read, replaced, never doubled
        revised = [r for r in state.usage if r["endpoint"] == "completions"][-1]
        revised["output_tokens"] += 5
        run_sync(url, state, conf=conf, now=NOW + timedelta(hours=2))
    expected = sum(r["num_model_requests"] for r in state.usage)
    assert first["requests"] == expected
    assert totals(url)["output_tokens"] == first["output_tokens"] + 5
    assert first["cost_usd"] is not None  # priced as ingest prices
    assert "the provider's synced buckets count in totals" in summary.rule


def test_the_rule_per_provider_for_reports_to_show():
    from chatvault.sync.config import counts_in_totals

    assert counts_in_totals(config("openai").sync) == {
        "openai": "requests",
        "anthropic": "requests",
    }
    assert counts_in_totals(config("anthropic", counts="provider").sync)["anthropic"] == "provider"
