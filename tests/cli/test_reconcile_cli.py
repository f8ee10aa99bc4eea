"""`chatvault reconcile`: estimates against the replica's usage and bill; exit 1 past it."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from typer.testing import CliRunner

import chatvault
from chatvault.cli.app import app
from tests.sync.helpers import FIRST, fill_anthropic, migrated, run_sync
from tests.sync.replica import replica

runner = CliRunner()


def setup(url: str) -> None:
    with replica("anthropic") as state:
        fill_anthropic(state, days=3)  # billed 123.456789, 124.456789, 125.456789 cents
        run_sync(url, state, since=FIRST, until=FIRST + timedelta(days=3))
    store = chatvault.UsageStore(database=url)
    common = {"user_id": "app", "provider": "anthropic", "model": "claude-sonnet-4-5"}
    store.record_many(
        [
            # day 1: the estimate is the bill, split over two requests
            {**common, "created_at": FIRST + timedelta(hours=1), "cost_cents": Decimal("100")},
            {
                **common,
                "created_at": FIRST + timedelta(hours=2),
                "cost_cents": Decimal("23.456789"),
            },
            # day 2: 10% over
            {
                **common,
                "created_at": FIRST + timedelta(days=1, hours=5),
                "cost_cents": Decimal("124.456789") * Decimal("1.1"),
            },
            # the provider's own export, ingested: a bucket, not request-level data
            {
                **common,
                "request_id": "anthropic-usage:abc",
                "created_at": FIRST + timedelta(days=2),
                "cost_cents": Decimal("999"),
            },
        ]
    )


def reconcile(url, *args):
    return runner.invoke(
        app,
        ["--database", url, "reconcile", "--since", "2026-11-06", "--until", "2026-11-09", *args],
    )


def test_rows_side_by_side_and_exit_1_past_the_threshold(db_url):
    url = migrated(db_url)
    setup(url)
    result = reconcile(url, "-f", "json")
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert document["schema"] == "chatvault.reconcile/1"
    rows = {r["key"]: r for r in document["rows"]}
    assert list(rows) == ["2026-11-06", "2026-11-07", "2026-11-08"]
    first, second, third = rows.values()
    assert (first["estimate_cents"], first["billed_cents"]) == ("123.456789", "123.456789")
    assert (first["difference_cents"], first["difference_pct"], first["flagged"]) == (
        "0.000000",
        "0.00",
        False,
    )
    assert first["requests"] == 2
    assert Decimal(first["provider_priced_cents"]) > 0  # the replica's usage at chatvault's prices
    # 136.9024679 cents stored to a millionth of a cent: 136.902468
    assert second["difference_cents"] == "12.445679" and second["difference_pct"] == "10.00"
    assert second["flagged"] is True
    # nothing request-level on the third day (the export's bucket is not): all of it missing
    assert third["estimate_cents"] is None and third["difference_pct"] == "-100.00"
    (total,) = document["totals"]
    assert total["billed_cents"] == "373.370367"
    assert document["flagged"] == 3  # two days and the total


def test_within_the_threshold_exits_0(sqlite_url):
    url = migrated(sqlite_url)
    setup(url)
    result = reconcile(url, "--until", "2026-11-07", "--threshold", "1")
    assert result.exit_code == 0, result.output
    assert "2026-11-06" in result.stdout and "FLAG" not in result.stdout


def test_by_project_and_csv(sqlite_url):
    url = migrated(sqlite_url)
    setup(url)
    result = reconcile(url, "--by", "project", "-f", "csv")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("provider,key,estimate_cents")
    keys = [line.split(",")[1] for line in lines[1:]]
    assert keys == ["(none)", "wrkspc_0", "wrkspc_1", "total"]


def test_nothing_synced_nothing_to_flag(sqlite_url):
    result = reconcile(migrated(sqlite_url), "-f", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["rows"] == []
