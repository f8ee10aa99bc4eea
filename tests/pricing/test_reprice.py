"""`chatvault reprice`: new prices reach stored rows; nothing else moves."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import genai_prices
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import chatvault
from chatvault.cli.app import app
from chatvault.db.engine import connect
from chatvault.db.models import usage_logs
from tests.head import at_head

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ingest"
runner = CliRunner()


@pytest.fixture
def db(db_url) -> str:
    at_head(db_url)
    for path in (
        "claude",
        "openai/usage_page.json",
        "anthropic/usage_report.jsonl",
        "chatvault/usage.jsonl",
    ):
        result = runner.invoke(
            app, ["ingest", "--database", db_url, "--user", "dev", str(FIXTURES / path)]
        )
        assert result.exit_code == 0, result.stderr
    return db_url


def run(url: str, *args: str, config: Path | None = None):
    extra = ["--config", str(config)] if config else []
    return runner.invoke(app, ["reprice", "--database", url, *extra, *args])


def costs(url: str) -> dict[str, tuple]:
    with connect(url) as conn:
        rows = conn.execute(
            select(usage_logs.c.request_id, usage_logs.c.cost_cents, usage_logs.c.cost_source)
        )
        return {r[0]: (r[1], r[2]) for r in rows}


def test_repricing_unchanged_prices_changes_nothing(db):
    """Batch and context-window buckets included: the import's cost is recomputed exactly."""
    before = costs(db)
    result = run(db)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith("changed 0 of ")
    assert costs(db) == before


def test_an_override_prices_what_was_unpriced(db, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(
        "pricing:\n  overrides:\n    - {model: claude-experimental-x, input: 10, output: 20}\n"
    )
    result = run(db, "-m", "claude-exp*", config=config)  # -m, as before the shared filters
    # 100 x $10 + 10 x $20, per million = $0.0012
    assert result.stderr.strip() == (
        "changed 1 of 1 rows (1 newly priced, 0 still unpriced); their total $0.00 -> $0.0012 "
        f"(+$0.0012); 1 row priced by overrides from {config}"
    )
    assert costs(db)["cc:msg_a4:req_a4"] == (Decimal("0.12"), "estimated")


def test_reported_costs_stay_unless_asked(db, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("pricing:\n  overrides:\n    - {model: gpt-4o, input: 1, output: 1}\n")
    run(db, "--model", "gpt-4o", config=config)
    assert costs(db)["req-001"] == (Decimal("1.23"), "reported")
    run(db, "--model", "gpt-4o", "--include-reported", config=config)
    assert costs(db)["req-001"] == (Decimal("0.12"), "estimated")  # 1,200 tokens x $1


def test_dry_run_and_date_filters(db, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(
        "pricing:\n  overrides:\n    - {model: gpt-4o-2024-08-06, input: 0, output: 0}\n"
    )
    before = costs(db)
    dry = run(db, "--dry-run", config=config)
    assert dry.stderr.startswith("would change 1 of ")
    assert costs(db) == before
    outside = run(db, "--since", "2025-10-02", config=config)  # the bucket is on 2025-10-01
    assert outside.stderr.startswith("changed 0 of ")
    inside = run(db, "--since", "2025-10-01", "--until", "2025-10-02", config=config)
    assert inside.stderr.startswith("changed 1 of ")
    assert costs(db)[
        next(k for k in before if k.startswith("openai-usage") and before[k][0] == Decimal("575"))
    ] == (Decimal("0"), "estimated")


def test_bad_dates_are_usage_errors(db):
    assert run(db, "--since", "last week").exit_code == 2


@pytest.mark.parametrize("since", ["7d", "yesterday", "24h", "this-month"])
def test_since_reads_every_form_usage_reads(sqlite_url, since):
    """The same time grammar as every other --since: a relative or keyword start works."""
    at_head(sqlite_url)
    result = run(sqlite_url, "--since", since)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith("changed 0 of 0 rows")


def test_the_shared_filters_narrow_what_is_repriced(db, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("pricing:\n  overrides:\n    - {model: gpt-4o, input: 1, output: 1}\n")
    nobody = run(db, "--user", "nobody", "--include-reported", "--dry-run", config=config)
    assert nobody.exit_code == 0 and nobody.stderr.startswith("would change 0 of 0 rows")


def test_the_summary_says_when_no_override_priced_anything(db, tmp_path):
    """Issue 13: a config changes money only visibly; with none, nothing is claimed."""
    config = tmp_path / "c.yaml"
    config.write_text("pricing:\n  overrides:\n    - {model: unused-model, input: 1, output: 1}\n")
    result = run(db, "--dry-run", config=config)
    assert result.exit_code == 0 and "override" not in result.stderr


def test_a_request_is_repriced_at_the_price_of_its_instant(sqlite_url, tmp_path):
    """Issue 13: DeepSeek's off-peak hours (16:30-00:30 UTC) cost half; reprice charged the
    peak price of the day's noon. 1M input tokens at 20:00 UTC: 13.5 cents, at 12:00: 27."""
    at_head(sqlite_url)
    records = tmp_path / "deepseek.jsonl"
    records.write_text(
        "".join(
            f'{{"request_id": "ds-{hour}", "created_at": "2025-10-01T{hour}:00:00Z", '
            '"user_id": "u", "model": "deepseek-chat", "provider": "deepseek", '
            '"input_tokens": 1000000, "output_tokens": 0}\n'
            for hour in (12, 20)
        )
    )
    ingested = runner.invoke(app, ["ingest", "--database", sqlite_url, str(records)])
    assert ingested.exit_code == 0, ingested.stderr
    stored = costs(sqlite_url)  # ingest prices each row at its instant too
    assert (stored["ds-12"][0], stored["ds-20"][0]) == (Decimal("27"), Decimal("13.5"))
    assert run(sqlite_url).stderr.startswith("changed 0 of 2 rows")
    stored = costs(sqlite_url)
    assert (stored["ds-12"][0], stored["ds-20"][0]) == (Decimal("27"), Decimal("13.5"))


def price_data(url: str) -> dict[str, str | None]:
    with connect(url) as conn:
        rows = conn.execute(select(usage_logs.c.request_id, usage_logs.c.price_data))
        return dict(rows.all())


def test_each_estimated_cost_records_the_price_data_that_priced_it(db, tmp_path):
    """Issue 13: which price list priced a stored cost, so a newer one can reprice it."""
    listed = f"genai-prices {genai_prices.__version__}"
    before, recorded = costs(db), price_data(db)
    assert {recorded[k] for k, (_, source) in before.items() if source == "estimated"} == {listed}
    assert {recorded[k] for k, (_, source) in before.items() if source != "estimated"} == {None}
    config = tmp_path / "c.yaml"
    config.write_text(
        "pricing:\n  overrides:\n    - {model: claude-experimental-x, input: 1, output: 1}\n"
    )
    assert run(db, config=config).exit_code == 0
    assert price_data(db)["cc:msg_a4:req_a4"] == "config override"


def test_an_estimate_beyond_the_maximum_is_left_unpriced(sqlite_url, tmp_path):
    """Ingest refuses a record it would estimate above $50,000; reprice never writes one."""
    at_head(sqlite_url)
    chatvault.UsageStore(database=sqlite_url).record(
        model="big-model", user_id="a", input_tokens=10**9, request_id="big"
    )
    config = tmp_path / "c.yaml"
    config.write_text("pricing:\n  overrides:\n    - {model: big-model, input: 100, output: 100}\n")
    result = run(sqlite_url, config=config)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[1] == (
        "warning: 1 row estimated at more than $50,000.00, the most one record may cost: "
        "left unpriced"
    )
    assert costs(sqlite_url)["big"] == (None, None)
