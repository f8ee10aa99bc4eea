"""Reports made readable: percentiles, shares, order, pages and volume discounts."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from chatvault.config import Tier
from chatvault.db.aggregate import zeros
from chatvault.db.filters import UsageFilter
from chatvault.db.rollups import MEASURES
from chatvault.period import Span, midnight
from chatvault.pricing.discounts import monthly_discount
from chatvault.reports.usage import (
    _BINS,
    build,
    fold,
    make_row,
    measure,
    percentile,
    report,
    top_rows,
)
from tests.db.test_aggregate import load, random_rows, reference
from tests.sessions import session_for

TIERS = (
    Tier("starter", 300_000, Decimal(0)),
    Tier("growth", 1_000_000, Decimal("5.5")),
    Tier("scale", None, Decimal(12)),
)


def test_the_percentile_is_the_middle_of_the_bin_that_holds_it():
    bins = [0] * 48
    bins[10], bins[20] = 94, 6  # the 95th of 100 falls in bin 20
    assert percentile(bins, 0.95) == round(0.008 * 2 ** (20.5 / 3) * 1000, 1)
    bins[10], bins[20] = 95, 5  # now the 95th is the last of bin 10
    assert percentile(bins, 0.95) == round(0.008 * 2 ** (10.5 / 3) * 1000, 1)
    assert percentile([0] * 48, 0.95) is None


def test_one_latency_is_its_own_p95_and_the_average():
    bins = [0] * 48
    bins[20] = 1  # 812.7 to 1,024 ms; the bin's middle is 911.4 ms
    assert percentile(bins, 0.95, 1_000_000) == 1000.0
    measures = [*zeros()[: _BINS.start], *bins]
    measures[MEASURES.index("latency_rows")] = 1
    measures[MEASURES.index("latency_us")] = 850_000
    row = make_row((), measures)
    assert row.p95_latency_ms == row.avg_latency_ms == 850.0


def test_the_p95_stays_within_what_the_sum_proves():
    bins = [0] * 48
    bins[0] = 19  # under 10 ms, open-ended below
    bins[20] = 1  # the 19th of 20 is in bin 0, the 20th (the max) in bin 20
    # The sum leaves 820 - 812.7 ms for the 19 fast ones: the 19th (the p95) is at most that.
    assert percentile(bins, 0.95, 820_000) == 7.3
    assert percentile(bins, 0.95) == round(0.008 * 2 ** (0.5 / 3) * 1000, 1)
    bins = [0] * 48
    bins[47] = 2  # the open last bin (from 414 s): both at least their bin's lower edge
    assert percentile(bins, 0.95, 1_000_000_000) == 500_000.0  # 2 x 500 s: exactly 500 s
    assert percentile(bins, 0.95, 2_000_000_000) > 414_000  # within the bin


def test_shares_order_pages_and_totals():
    rows = random_rows(random.Random(5), 300)
    groups = reference(rows, UsageFilter(), ("user",), ZoneInfo("UTC"))
    report = build(groups, ("user",), limit=2, page=2)
    everything = build(groups, ("user",))
    assert [r.cost_cents for r in everything.rows] == sorted(
        (r.cost_cents for r in everything.rows), reverse=True
    )
    assert report.rows == everything.rows[2:4] and report.pages == 2 and report.groups == 3
    assert report.totals == everything.totals
    assert sum(r.share for r in everything.rows) == pytest.approx(1.0)
    assert report.totals.requests == sum(r.requests for r in everything.rows)


def test_volume_discounts_follow_each_months_brackets(sqlite_url):
    zone = ZoneInfo("Asia/Kolkata")
    rows = random_rows(random.Random(11), 300, days=50)  # October, November, December
    load(sqlite_url, rows)
    groups, discounts = measured(sqlite_url, UsageFilter(), ("model",), zone, TIERS)
    # The oracle: each month's discount over its days in order, from the raw rows.
    days: dict = defaultdict(lambda: defaultdict(lambda: [0, None]))
    for row in rows:
        day = row["created_at"].astimezone(zone).date()
        item = days[day.replace(day=1)][day]
        item[0] += sum(
            row[k]
            for k in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
        )
        if row["cost_cents"] is not None:
            item[1] = row["cost_cents"] + (item[1] or 0)
    expected = sum(
        (
            monthly_discount(TIERS, [tuple(days[m][d]) for d in sorted(days[m])]).discount_cents
            for m in days
        ),
        Decimal(0),
    )
    assert set(days) == {date(2025, 10, 1), date(2025, 11, 1), date(2025, 12, 1)}
    assert abs(sum(discounts.values()) - expected) <= Decimal("0.000003")  # one rounding per group
    assert set(discounts) == set(groups)
    report = build(groups, ("model",), discounts)
    assert report.totals.net_cents == report.totals.cost_cents - sum(discounts.values())


@pytest.mark.parametrize("sort", ["cost", "requests", "unpriced"])
def test_pages_sorted_in_sql_equal_pages_sorted_here(db_url, sort):
    rows = random_rows(random.Random(4), 250)
    for row in rows[::7]:
        row["project"] = None  # ties and NULL groups, ordered the same both ways
        row["cost_cents"] = None
    load(db_url, rows)
    zone = ZoneInfo("America/New_York")
    whole_days = UsageFilter(span=Span(midnight(date(2025, 10, 28), zone), None))
    for group_by in (("project", "model"), ("user",), ("model",)):
        groups, _ = measured(db_url, whole_days, group_by, zone)
        for reverse in (False, True):
            for page in (1, 2, 3):
                args = (sort, reverse, 3, page)
                with session_for(db_url, zone=zone) as session:
                    in_sql = report(session, whole_days, group_by, (), *args)
                assert in_sql == build(groups, group_by, None, *args)


def test_top_rows_are_the_first_page_of_a_lean_report(db_url):
    """In SQL (whole days) and merged here (a span that starts mid-day) alike."""
    rows = random_rows(random.Random(5), 250)
    for row in rows[::6]:
        row["project"], row["cost_cents"] = None, None
    load(db_url, rows)
    zone = ZoneInfo("Europe/Paris")
    start = midnight(date(2025, 10, 28), zone)
    for span in (Span(start, None), Span(start.replace(hour=5), None)):
        for group_by in (("user",), ("project",), ("model", "project")):
            with session_for(db_url, zone=zone) as session:
                lean = report(session, UsageFilter(span=span), group_by, limit=3, latency=False)
                found = top_rows(session, UsageFilter(span=span), group_by, lean.totals, 3)
            assert found == lean.rows
            assert len(found) == 3


def measured(url, rows, group_by, zone, tiers=()):
    with session_for(url, zone=zone) as session:
        return measure(session.reading(), rows, group_by, zone, tiers)


def test_a_report_without_latency_differs_only_in_its_percentiles(sqlite_url):
    load(sqlite_url, random_rows(random.Random(8), 200))
    zone = ZoneInfo("UTC")
    with session_for(sqlite_url, zone=zone) as session:
        for group_by, limit in (((), None), (("model",), None), (("user",), 2)):
            full = report(session, UsageFilter(), group_by, limit=limit)
            lean = report(session, UsageFilter(), group_by, limit=limit, latency=False)
            assert full.totals.p95_latency_ms is not None
            assert {r.p95_latency_ms for r in [*lean.rows, lean.totals]} == {None}
            for a, b in zip([*full.rows, full.totals], [*lean.rows, lean.totals], strict=True):
                assert a._replace(p95_latency_ms=None) == b


def test_fold_sums_groups_over_the_dimensions_left_out():
    """Costs sum exactly and stay unknown only where every group's is; counts always sum."""
    from datetime import date

    from chatvault.db.aggregate import zeros
    from chatvault.db.rollups import COST, LEAN

    def measures(requests: int, cost: Decimal | None) -> list:
        m = zeros(LEAN)
        m[LEAN.index("requests")], m[COST] = requests, cost
        return m

    d1, d2 = date(2026, 11, 1), date(2026, 11, 2)
    groups = {
        (d1, "a"): measures(2, Decimal("1.000001")),
        (d2, "a"): measures(3, None),
        (d1, "b"): measures(5, None),
        (d2, "b"): measures(1, None),
    }
    folded = fold(groups, ("day", "model"), ("model",))
    assert {k: (m[LEAN.index("requests")], m[COST]) for k, m in folded.items()} == {
        ("a",): (5, Decimal("1.000001")),
        ("b",): (6, None),
    }
