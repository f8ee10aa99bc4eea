"""Budgets on the billed basis (the providers' cost buckets) and the estimated one."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

import chatvault
from chatvault.budgets.config import Budget, Scope
from chatvault.budgets.status import evaluate
from chatvault.config import Config, parse_config
from chatvault.errors import ConfigError
from tests.sessions import session_for
from tests.sync.helpers import FIRST, NOW, fill_openai, migrated, run_sync
from tests.sync.replica import replica


@pytest.fixture
def synced(db_url):
    url = migrated(db_url)
    with replica("openai") as state:
        fill_openai(state)
        run_sync(url, state)
    store = chatvault.UsageStore(database=url)
    store.record(
        model="gpt-4o-mini",
        user_id="app",
        provider="openai",
        created_at=FIRST + timedelta(days=1),
        cost_cents=Decimal("250.5"),
    )
    return url, state


def status(url, budget):
    with session_for(url, Config(budgets=(budget,)), now=NOW) as session:
        return evaluate(session, budget)


def test_billed_is_what_the_provider_billed_exactly(synced):
    url, state = synced
    found = status(url, Budget("bill", Decimal(100), basis="billed"))
    assert found.spent_cents == state.cost_total()  # every cost day of November so far
    assert found.projection is None and found.no_projection == "a billed budget has no forecast"
    project = Budget("p1", Decimal(100), basis="billed", scope=Scope(projects=("proj_1",)))
    only = sum(r["amount"] for r in state.costs if r["project_id"] == "proj_1")
    assert status(url, project).spent_cents == only
    other = Budget("x", Decimal(100), basis="billed", scope=Scope(providers=("anthropic",)))
    assert status(url, other).spent_cents == 0


def test_estimated_counts_request_level_rows_never_the_synced_buckets(synced):
    url, _ = synced
    found = status(url, Budget("est", Decimal(100)))
    assert found.spent_cents == Decimal("250.5")  # the one request; the buckets are not added


@pytest.mark.parametrize(
    "budget, message",
    [
        ({"basis": "invoiced"}, "budgets\\[0\\].basis: 'invoiced': use estimated or billed"),
        (
            {"basis": "billed", "scope": {"models": ["gpt-*"]}},
            "scoped by providers and projects only",
        ),
    ],
)
def test_basis_is_checked(budget, message):
    with pytest.raises(ConfigError, match=message):
        parse_config({"budgets": [{"name": "b", "amount": 10, **budget}]})


def test_the_budget_json_says_which_basis(sqlite_url, tmp_path):
    from typer.testing import CliRunner

    from chatvault.cli.app import app

    url = migrated(sqlite_url)
    config = tmp_path / "config.yaml"
    config.write_text(
        "budgets:\n  - {name: bill, amount: 10, basis: billed}\n  - {name: estimate, amount: 10}\n"
    )
    result = CliRunner().invoke(
        app, ["--database", url, "--config", str(config), "costs", "budget", "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    import json

    budgets = json.loads(result.stdout)["budgets"]
    assert [(b["name"], b["basis"]) for b in budgets] == [
        ("bill", "billed"),
        ("estimate", "estimated"),
    ]
