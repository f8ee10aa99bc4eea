"""`chatvault pricing list|show|check`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import genai_prices
from sqlalchemy import update
from typer.testing import CliRunner

from chatvault.cli.app import app
from chatvault.db.engine import connect
from chatvault.db.models import usage_logs
from tests.head import at_head

runner = CliRunner()
CLAUDE = Path(__file__).parents[1] / "fixtures" / "ingest" / "claude"


def run(*args: str):
    return runner.invoke(app, list(args))


def test_list_searches_and_marks_tiers():
    result = run(
        "pricing", "list", "--search", "claude-sonnet-4-5", "--at", "2025-10-01", "-f", "json"
    )
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert (document["schema"], document["day"]) == ("chatvault.prices/1", "2025-10-01")
    listed = {(row["provider"], row["model"]): row["prices"] for row in document["models"]}
    sonnet = listed[("anthropic", "claude-sonnet-4-5")]
    assert sonnet["input"] == {
        "usd_per_mtok": "3",
        "billed_as": None,
        "tiers": [{"above_input_tokens": 200_000, "usd_per_mtok": "6"}],
    }
    assert (sonnet["output"]["usd_per_mtok"], sonnet["cache_write_1h"]["usd_per_mtok"]) == (
        "15",
        "6",
    )
    table = run("pricing", "list", "--search", "claude-sonnet-4-5", "--at", "2025-10-01")
    assert "3+" in table.stdout
    assert run("pricing", "list", "--search", "no-such-model-anywhere").exit_code == 1


def test_list_shows_overrides_first(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("pricing:\n  overrides:\n    - {model: house-llm, input: 0.5, output: 1}\n")
    result = run("pricing", "list", "--config", str(config), "--search", "house", "-f", "json")
    first = json.loads(result.stdout)["models"][0]
    assert (first["provider"], first["model"], first["usd_per_thousand_requests"]) == (
        "*",
        "house-llm",
        None,
    )
    prices = first["prices"]
    assert prices["input"] == {"usd_per_mtok": "0.5", "billed_as": None, "tiers": []}
    assert prices["cache_read"] == {"usd_per_mtok": "0.5", "billed_as": "input", "tiers": []}
    assert prices["cache_write_1h"]["billed_as"] == "input"


def test_show_names_the_source_and_tiers():
    result = run("pricing", "show", "claude-sonnet-4-5", "--at", "2025-10-01", "-f", "json")
    shown = json.loads(result.stdout)
    assert shown["schema"] == "chatvault.price/1"
    (period,) = shown["periods"]
    assert (period["from"], period["until"]) == ("00:00", "24:00")
    source = f"genai-prices {genai_prices.__version__}: anthropic/claude-sonnet-4-5"
    assert period["source"] == source
    assert period["prices"]["input"]["tiers"] == [
        {"above_input_tokens": 200_000, "usd_per_mtok": "6"}
    ]
    table = run("pricing", "show", "claude-sonnet-4-5", "--at", "2025-10-01")
    assert "input: 6 above 200,000 input tokens" in table.stdout
    missing = run("pricing", "show", "my-model")
    assert missing.exit_code == 1 and "add it under pricing.overrides" in missing.stderr
    assert run("pricing", "show", "gpt-4o", "--at", "yesterday").exit_code == 2


def test_check_lists_unpriced_models_until_they_have_a_price(sqlite_url, tmp_path):
    at_head(sqlite_url)
    run("ingest", "--database", sqlite_url, "--user", "dev", str(CLAUDE))
    result = run("pricing", "check", "--database", sqlite_url, "-f", "json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["schema"] == "chatvault.pricing-check/1"
    data = document["price_data"]
    assert (data["name"], data["version"]) == ("genai-prices", genai_prices.__version__)
    assert date.fromisoformat(data["installed"]) <= date.today()
    assert data["days_since_installed"] >= 0
    (model,) = document["models"]
    assert (model["model"], model["requests"], model["priced_now"]) == (
        "claude-experimental-x",
        1,
        False,
    )
    config = tmp_path / "c.yaml"
    config.write_text(
        "pricing:\n  overrides:\n    - {model: claude-experimental-x, input: 1, output: 1}\n"
    )
    priced = run(
        "pricing", "check", "--database", sqlite_url, "--config", str(config), "-f", "json"
    )
    assert priced.exit_code == 0 and json.loads(priced.stdout)["models"][0]["priced_now"] is True


def test_check_on_a_fully_priced_database(sqlite_url):
    at_head(sqlite_url)
    result = run("pricing", "check", "--database", sqlite_url)
    assert (
        result.exit_code == 0
        and result.stdout.strip() == "every request in the database has a cost"
    )
    assert f"price data: genai-prices {genai_prices.__version__}, installed " in result.stderr


def test_show_finds_an_override_limited_to_a_provider(tmp_path):
    """Issue 13: `pricing show` said "no price" where `check` and `reprice` used one."""
    config = tmp_path / "c.yaml"
    config.write_text(
        "pricing:\n  overrides:\n    - {model: acme-llm-1, provider: acme, input: 1.5, output: 6}\n"
    )
    for extra in ([], ["--provider", "acme"]):
        result = run("pricing", "show", "acme-llm-1", "--config", str(config), *extra)
        assert result.exit_code == 0, result.stderr
        assert "acme" in result.stdout and "1.5" in result.stdout
    other = run("pricing", "show", "acme-llm-1", "--config", str(config), "--provider", "b")
    assert other.exit_code == 1 and "no price" in other.stderr


def test_show_says_what_a_kind_without_its_own_price_is_billed_at(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("pricing:\n  overrides:\n    - {model: house-llm, input: 0.5, output: 1}\n")
    result = run("pricing", "show", "house-llm", "--config", str(config))
    lines = {line.split("|")[1].strip(): line for line in result.stdout.splitlines() if "|" in line}
    assert "0.5 (the input price)" in lines["cache read"]
    assert "0.5 (the input price)" in lines["cache write 1h"]


def test_show_names_the_config_file_an_override_came_from(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("pricing:\n  overrides:\n    - {model: house-llm, input: 0.5, output: 1}\n")
    result = run("pricing", "show", "house-llm", "--config", str(config))
    assert f"config override ({config})" in result.stdout
    shown = json.loads(
        run("pricing", "show", "house-llm", "--config", str(config), "-f", "json").stdout
    )
    (period,) = shown["periods"]
    assert (period["source"], period["config_file"]) == ("config override", str(config))
    assert period["prices"]["cache_read"]["billed_as"] == "input"


def test_show_lists_each_price_period_of_the_day():
    """DeepSeek's off-peak hours, 16:30-00:30 UTC, cost half: the day has three periods."""
    result = run("pricing", "show", "deepseek-chat", "--provider", "deepseek", "--at", "2025-10-01")
    assert "16:30 to 24:00 UTC" in result.stdout
    shown = json.loads(
        run("pricing", "show", "deepseek-chat", "--at", "2025-10-01", "-f", "json").stdout
    )
    spans = [
        (p["from"], p["until"], p["prices"]["input"]["usd_per_mtok"]) for p in shown["periods"]
    ]
    assert spans == [
        ("00:00", "00:30", "0.135"),
        ("00:30", "16:30", "0.27"),
        ("16:30", "24:00", "0.135"),
    ]


def test_check_counts_estimated_costs_by_the_price_data_that_priced_them(sqlite_url, tmp_path):
    """Issue 13: each estimated cost records its price data; check finds the stale ones."""
    at_head(sqlite_url)
    run("ingest", "--database", sqlite_url, "--user", "dev", str(CLAUDE))
    result = run("pricing", "check", "--database", sqlite_url, "-f", "json")
    document = json.loads(result.stdout)
    ((name, rows),) = [(d["price_data"], d["rows"]) for d in document["estimated_by_price_data"]]
    assert name == f"genai-prices {genai_prices.__version__}" and rows > 0
    assert document["estimated_from_other_price_data"] == 0
    with connect(sqlite_url) as conn, conn.begin():
        conn.execute(update(usage_logs).values(price_data="genai-prices 0.1.0"))
    stale = run("pricing", "check", "--database", sqlite_url)
    assert f"{rows:,} estimated cost(s) come from other price data" in stale.stderr
    assert run("reprice", "--database", sqlite_url).exit_code == 0
    again = json.loads(run("pricing", "check", "--database", sqlite_url, "-f", "json").stdout)
    assert again["estimated_from_other_price_data"] == 0
