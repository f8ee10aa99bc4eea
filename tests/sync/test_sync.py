"""A sync against the replicas: totals exact, re-runs replace, a killed run recovers."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from chatvault.sync.http import SyncError
from tests.sync.helpers import (
    FIRST,
    NOW,
    config,
    fill_anthropic,
    fill_openai,
    migrated,
    run_sync,
    stored,
)
from tests.sync.replica import replica


def openai_expected(state) -> dict:
    out = {}
    for endpoint in ("completions", "embeddings"):
        t = state.usage_totals(endpoint)
        rows = sum(1 for r in state.usage if r["endpoint"] == endpoint)
        inp, cached = t["input_tokens"], t["input_cached_tokens"]
        out[endpoint] = (
            inp - cached,
            cached,
            0,
            0,
            t["output_tokens"],
            t["num_model_requests"],
            rows,
        )
    return out


def test_openai_totals_are_exact_against_the_replica(db_url):
    url = migrated(db_url)
    with replica("openai") as state:
        fill_openai(state)
        summary = run_sync(url, state)
    found = stored(url)
    assert found["usage"] == openai_expected(state)
    assert found["billed"] == state.cost_total()  # exact cents, on every dialect
    assert all(isinstance(a, str) for a in found["amounts"])
    assert "0.01234567" in found["amounts"]  # dollars, as sent
    assert {e.endpoint for e in summary.endpoints} == {"completions", "embeddings", "costs"}
    assert set(found["cursors"].values()) == {NOW}


def test_anthropic_totals_are_exact_against_the_replica(db_url):
    url = migrated(db_url)
    with replica("anthropic") as state:
        fill_anthropic(state)
        run_sync(url, state, conf=config("anthropic", bucket_width="1d"))
    t = state.usage_totals()
    rows = len(state.usage)
    written = t["ephemeral_5m_input_tokens"] + t["ephemeral_1h_input_tokens"]
    # 1d buckets: a day's results grouped by every dimension, two workspaces a day
    (messages,) = stored(url)["usage"].values()
    assert messages[:6] == (
        t["uncached_input_tokens"],
        t["cache_read_input_tokens"],
        written,
        t["ephemeral_1h_input_tokens"],
        t["output_tokens"],
        0,  # Anthropic's report does not count requests
    )
    assert messages[6] < rows
    assert stored(url)["billed"] == state.cost_total()


def test_a_rerun_replaces_the_recent_window_and_a_revised_bucket(sqlite_url):
    url = migrated(sqlite_url)
    with replica("openai") as state:
        fill_openai(state)
        run_sync(url, state)
        first = stored(url)
        again = run_sync(url, state, now=NOW + timedelta(hours=1))
        assert stored(url)["usage"] == first["usage"]  # nothing doubled
        assert stored(url)["billed"] == first["billed"]
        # only the revised window was read again: from the cursor's day less revise_days
        assert [e.start for e in again.endpoints] == [
            NOW.replace(hour=0, minute=30) - timedelta(days=2, minutes=30)
        ] * 3
        assert again.endpoints[0].replaced > 0
        # the provider revises yesterday's numbers
        yesterday = [r for r in state.usage if r["at"] >= FIRST + timedelta(days=13)]
        yesterday[0]["output_tokens"] += 1000
        state.costs[-1]["amount"] += Decimal("0.5")
        run_sync(url, state, now=NOW + timedelta(hours=2))
    after = stored(url)
    assert after["usage"]["completions"][4] == first["usage"]["completions"][4] + 1000
    assert after["billed"] == first["billed"] + Decimal("0.5") == state.cost_total()


def test_several_hundred_pages(sqlite_url):
    url = migrated(sqlite_url)
    with replica("openai") as state:
        fill_openai(state)
        state.page_buckets = 1  # the API may return fewer buckets than asked: page on
        summary = run_sync(url, state)
    assert sum(e.pages for e in summary.endpoints) == 14 * 24 * 2 + 24 * 2 + 15 >= 700
    assert stored(url)["usage"] == openai_expected(state)
    assert stored(url)["billed"] == state.cost_total()


def test_a_run_killed_midway_leaves_whole_windows_and_the_next_completes(sqlite_url):
    url = migrated(sqlite_url)
    conf = config("openai", retries=0, bucket_width="1h")
    with replica("openai") as state:
        fill_openai(state)
        state.page_buckets = 24
        state.faults = [None] * 10 + [("500", None)]  # the 11th page fails: the run stops
        with pytest.raises(SyncError, match="HTTP 500"):
            run_sync(url, state, conf=conf)
        half = stored(url)
        # one whole week (7 pages of a day) is in, with its cursor; nothing of the next one
        assert half["cursors"] == {"completions": FIRST + timedelta(days=7)}
        assert half["usage"]["completions"][6] == sum(
            1
            for r in state.usage
            if r["endpoint"] == "completions" and r["at"] < FIRST + timedelta(days=7)
        )
        run_sync(url, state, conf=conf)
    assert stored(url)["usage"] == openai_expected(state)
    assert stored(url)["billed"] == state.cost_total()


def test_a_dry_run_writes_nothing(sqlite_url):
    url = migrated(sqlite_url)
    with replica("anthropic") as state:
        fill_anthropic(state)
        summary = run_sync(url, state, dry_run=True)
    assert summary.endpoints[0].rows > 0 and summary.endpoints[1].cents == state.cost_total()
    assert stored(url) == {"usage": {}, "billed": None, "amounts": [], "cursors": {}}


def test_a_bucket_outside_the_window_is_a_malformed_page(sqlite_url):
    url = migrated(sqlite_url)
    with replica("anthropic") as state:
        fill_anthropic(state)
        page = (
            b'{"data": [{"starting_at": "2020-01-01T00:00:00Z", "ending_at": '
            b'"2020-01-02T00:00:00Z", "results": []}], "has_more": false, "next_page": null}'
        )
        state.faults.append(("malformed", page))
        with pytest.raises(SyncError, match="bucket at 2020-01-01T00:00:00Z outside the window"):
            # an empty bucket still says where it is
            run_sync(url, state)
