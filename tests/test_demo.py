"""The demo's sample data: its shape (records alone, fast) and what lands in the database."""

from __future__ import annotations

import re
import tempfile
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from chatvault import demo
from chatvault.budgets.status import evaluate
from chatvault.config import load_config
from chatvault.db.engine import connect
from chatvault.db.filters import UsageFilter
from chatvault.db.models import usage_logs
from chatvault.errors import InputError
from chatvault.money import usd_rounded
from chatvault.period import Span
from chatvault.reports import usage
from tests.sessions import session_for

NOW = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)  # a Wednesday afternoon
ZONE = ZoneInfo("UTC")


def create(url: str, tmp_path, days: int = 14, seed: int = 7) -> demo.Result:
    return demo.create(
        url, tmp_path / "demo.yaml", days=days, seed=seed, zone=ZONE, now=NOW, note=lambda _: None
    )


def stored(url: str) -> list[tuple]:
    table = usage_logs.c
    columns = (table.request_id, table.created_at, table.user_id, table.project, table.provider)
    columns += (table.model, table.input_tokens, table.output_tokens, table.cache_read_tokens)
    columns += (table.cache_write_tokens, table.status, table.cost_cents, table.cost_source)
    with connect(url) as conn:
        return conn.execute(select(*columns).order_by(table.request_id)).all()


@pytest.fixture(scope="module")
def sample() -> list[dict]:
    return list(demo.records(56, demo.DEFAULT_SEED, ZONE, NOW))


def per_day(records: list[dict], project: str | None = None) -> dict[date, int]:
    counts: Counter[date] = Counter()
    for record in records:
        if project is None or record["project"] == project:
            counts[date.fromisoformat(record["created_at"][:10])] += 1
    return counts


def test_records_end_now_and_cover_the_days(sample):
    times = sorted(datetime.fromisoformat(r["created_at"]) for r in sample)
    assert times[-1] <= NOW
    assert times[0].date() == date(2026, 9, 23)  # 56 complete days before today
    assert len({r["request_id"] for r in sample}) == len(sample)
    assert 8 <= len({r["user_id"] for r in sample}) <= 20
    assert 3 <= len({r["project"] for r in sample}) <= 4


def test_days_are_local_days_across_a_clock_change():
    zone = ZoneInfo("America/New_York")  # back to standard time on 2026-11-01: a 25-h day
    local = [
        datetime.fromisoformat(r["created_at"]).astimezone(zone)
        for r in demo.records(21, 1, zone, NOW)
    ]
    assert min(local).date() == date(2026, 10, 28) and max(local) <= NOW
    hours = Counter(t.hour for t in local)
    assert hours[10] > 5 * hours[5]  # office hours, in the zone's own time


def test_weekends_are_quieter(sample):
    by_weekday = defaultdict(list)
    for day, count in per_day(sample).items():
        if day != NOW.date():  # today is partial
            by_weekday[day.weekday() >= 5].append(count)
    weekend, weekday = (sum(c) / len(c) for c in (by_weekday[True], by_weekday[False]))
    assert weekend < weekday / 2


def test_about_two_percent_errors_with_details(sample):
    errors = [r for r in sample if r.get("status") == "error"]
    assert 0.015 < len(errors) / len(sample) < 0.025
    assert all(r["error_details"]["type"] and "input_tokens" not in r for r in errors)


def test_usage_grows_and_one_project_jumps_at_the_launch(sample):
    launch = round(56 * demo.LAUNCH)
    days = sorted(per_day(sample))[:-1]  # complete days
    before, after = days[launch - 14 : launch], days[launch : launch + 14]
    for project, low, high in ((demo.LAUNCH_PROJECT, 2, 3.5), ("search", 0.9, 1.4)):
        counts = per_day(sample, project)
        ratio = sum(counts[d] for d in after) / sum(counts[d] for d in before)
        assert low < ratio < high, project
    others = [r for r in sample if r["project"] != demo.LAUNCH_PROJECT]
    counts = per_day(others)
    assert sum(counts[d] for d in days[-14:]) > 1.2 * sum(counts[d] for d in days[:14])


def test_cache_reads_on_repeated_prompts_and_log_normal_latency(sample):
    cached = Counter(r["provider"] for r in sample if r.get("cache_read_tokens"))
    assert cached["anthropic"] and cached["openai"] and not cached["google"]
    assert any(r.get("cache_write_tokens") for r in sample if r["provider"] == "anthropic")
    latencies = sorted(r["processing_time_seconds"] for r in sample)
    median, p95 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.95)]
    assert 1 < median < 10 < p95


def test_same_seed_same_rows_other_seed_other_rows(tmp_path):
    urls = [f"sqlite:///{tmp_path / name}.db" for name in ("a", "b", "c")]
    for url, seed in zip(urls, (7, 7, 8), strict=True):
        create(url, tmp_path, days=7, seed=seed)
    first, again, other = map(stored, urls)
    assert first == again
    assert [r[1:] for r in first] != [r[1:] for r in other]


def test_priced_from_the_price_list_and_the_custom_model_unpriced(db_url, tmp_path):
    result = create(db_url, tmp_path)
    rows = stored(db_url)
    assert len(rows) == result.requests > 5000
    custom = [r for r in rows if r[5] == "acme-llm-1"]
    assert custom and all(r[11] is None and r[12] is None for r in custom)
    priced = [r for r in rows if r[5] != "acme-llm-1"]
    assert all(r[11] is not None and r[12] == "estimated" for r in priced)
    assert {r[4] for r in priced} == {"openai", "anthropic", "google"}
    assert result.unpriced_requests == len(custom)
    assert result.cost_cents == sum(r[11] for r in priced)


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 12, 2, 9, 0, tzinfo=UTC),  # early in the month: little spent yet
        NOW,
        datetime(2026, 11, 30, 22, 0, tzinfo=UTC),  # the month's last hours
    ],
    ids=["early", "mid", "last-day"],
)
def test_two_budgets_sized_to_the_month_one_forecast_over_one_comfortable(
    tmp_path, sqlite_url, now
):
    result = demo.create(
        sqlite_url, tmp_path / "demo.yaml", days=28, seed=7, zone=ZONE, now=now, note=print
    )
    config = load_config(tmp_path / "demo.yaml")
    team, overall = config.budgets
    assert (team.amount, overall.amount) == (result.team_budget, result.overall_budget)
    assert team.scope.projects == (demo.LAUNCH_PROJECT,)
    with session_for(sqlite_url, config, now=now) as session:
        status = evaluate(session, team)
        month = status.projection.cents / 100  # where the team's month is heading, USD
        # A monthly budget sized to the month, whatever day the demo runs on, not to the
        # spend so far: the launch takes the team about 20% over it.
        assert month / Decimal("1.3") <= team.amount <= month / Decimal("0.9")
        assert status.state == "WARNING" and status.percent < 100
        everything = evaluate(session, overall)
        assert everything.state == "OK"
        assert overall.amount > everything.projection.cents / 100


def readme_demo() -> str:
    """The demo's output that README.md shows."""
    text = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    return text.split("```\n+- chatvault: this-month", 1)[1].split("```", 1)[0]


def test_the_readme_shows_what_the_demo_makes():
    """README's dashboard is `chatvault demo` (90 days, seed 42, UTC) on 2026-11-22 at 22:53
    UTC: its month, spend, month end, and budgets, figure for figure."""
    shown = readme_demo()
    header = re.search(
        r"(\d{4}-\d\d-\d\d) to (\d{4}-\d\d-\d\d) \(UTC\)\s+Spend (\$[\d,.]+).*\n"
        r".*Month end (\$[\d,.]+) \(80%: (\$[\d,.]+) to (\$[\d,.]+)\)\s+([\d,]+) requests unpriced",
        shown,
    )
    assert header is not None, shown
    gauges = re.findall(r"\| (\S+) +\[[#-]+\] +(\d+)% (\w+) +\|", shown)
    amounts = re.findall(r"(\$[\d,.]+) of (\$[\d,.]+), end (\$[\d,.]+)", shown)
    assert len(gauges) == len(amounts) == 2, shown
    now = datetime(2026, 11, 22, 22, 53, tzinfo=UTC)
    assert header[2] == now.date().isoformat()
    with tempfile.TemporaryDirectory() as folder:
        url, path = f"sqlite:///{folder}/demo.db", Path(folder) / "demo.yaml"
        made = demo.create(url, path, days=90, seed=42, zone=ZONE, now=now, note=lambda _: None)
        config = load_config(path)
        with session_for(url, config, now=now) as session:
            statuses = [evaluate(session, budget) for budget in config.budgets]
            month = usage.report(session, UsageFilter(span=this_month(now)), ()).totals
    assert [name for name, *_ in gauges] == [b.name for b in config.budgets]
    for (name, percent, state), (spent, amount, end), status in zip(
        gauges, amounts, statuses, strict=True
    ):
        assert (percent, state) == (f"{status.percent:.0f}", status.state), name
        expected = (status.spent_cents, status.amount_cents, status.projection.cents)
        assert (spent, amount, end) == tuple(usd_rounded(c) for c in expected), name
    assert (made.team_budget, made.overall_budget) == (
        statuses[0].budget.amount,
        statuses[1].budget.amount,
    )
    end = statuses[1].projection  # everything: the dashboard's month end
    assert header.group(3, 4, 5, 6) == (
        usd_rounded(month.cost_cents),
        usd_rounded(end.cents),
        usd_rounded(end.lower),
        usd_rounded(end.upper),
    )
    assert header[7] == f"{month.unpriced_requests:,}"


def this_month(now: datetime) -> Span:
    return Span(now.replace(day=1, hour=0, minute=0), now)


def test_refuses_a_database_with_usage(tmp_path, sqlite_url):
    create(sqlite_url, tmp_path, days=7)
    before = stored(sqlite_url)
    with pytest.raises(InputError, match="already holds usage rows"):
        create(sqlite_url, tmp_path, days=7, seed=8)
    assert stored(sqlite_url) == before


def test_days_out_of_range(tmp_path, sqlite_url):
    with pytest.raises(InputError, match="--days"):
        create(sqlite_url, tmp_path, days=6)
