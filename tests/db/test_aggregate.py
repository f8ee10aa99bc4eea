"""Every report equals the exact sums over the raw rows: random rows, random filters and
groupings, time zones with DST and half-hour offsets, on every dialect, compared with a plain
Python reference; and the rollups stay exact whoever writes usage_logs."""

from __future__ import annotations

import bisect
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fnmatch import fnmatchcase
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, text, update

from chatvault.db.aggregate import GROUP_COLUMNS, aggregate, zeros
from chatvault.db.engine import get_engine
from chatvault.db.filters import UsageFilter
from chatvault.db.models import usage_logs
from chatvault.db.rollups import LATENCY_EDGES, LEAN, MEASURES, bring_up_to_date
from chatvault.period import Span, bucket_of
from tests.head import at_head

ZONES = ("UTC", "America/New_York", "Asia/Kolkata")
# Around the end of US daylight saving time (2025-11-02) and the start of a month.
ORIGIN = datetime(2025, 10, 28, tzinfo=UTC)
MODELS = ("gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "o3")
USERS = ("ann", "bob", "cy")


def random_rows(rnd: random.Random, count: int, days: int = 10) -> list[dict]:
    rows = []
    for i in range(count):
        priced = rnd.random() < 0.85
        rows.append(
            {
                "request_id": f"r{i}",
                "created_at": ORIGIN + timedelta(seconds=rnd.randrange(days * 86400)),
                "user_id": rnd.choice(USERS),
                "model": rnd.choice(MODELS),
                "provider": rnd.choice(("openai", "anthropic")),
                "project": rnd.choice(("web", "batch", None)),
                "request_count": rnd.choice((1, 1, 1, 5)),
                "input_tokens": rnd.randrange(10_000),
                "output_tokens": rnd.randrange(2_000),
                "cache_read_tokens": rnd.randrange(3) * 1000,
                "cache_write_tokens": rnd.randrange(2) * 500,
                "cost_cents": Decimal(rnd.randrange(10**9)).scaleb(-6) if priced else None,
                "processing_time_seconds": rnd.lognormvariate(0, 1.5)
                if rnd.random() < 0.9
                else None,
                "status": "error" if rnd.random() < 0.1 else "success",
                "billable": rnd.random() < 0.8,
            }
        )
    return rows


def reference(rows: list[dict], rows_filter: UsageFilter, group_by, zone: ZoneInfo):
    """The measures per group, summed in plain Python: the oracle."""
    groups: dict = defaultdict(zeros)
    at = {name: i for i, name in enumerate(MEASURES)}
    for row in rows:
        if not _selected(row, rows_filter):
            continue
        local = row["created_at"].astimezone(zone).date()
        key = tuple(
            bucket_of(local, g) if g in ("day", "week", "month") else row[GROUP_COLUMNS[g]]
            for g in group_by
        )
        m = groups[key]
        n = row["request_count"]
        m[at["rows"]] += 1
        m[at["requests"]] += n
        for name in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"):
            m[at[name]] += row[name]
        if row["cost_cents"] is None:
            m[at["unpriced_requests"]] += n
        else:
            cost = m[at["cost_cents"]]
            m[at["cost_cents"]] = row["cost_cents"] if cost is None else cost + row["cost_cents"]
        if row["status"] != "success":
            m[at["error_requests"]] += n
        seconds = row["processing_time_seconds"]
        if seconds is not None:
            m[at["latency_rows"]] += 1
            m[at["latency_us"]] += round(seconds * 1_000_000)
            m[at[f"latency_bin_{bisect.bisect_right(LATENCY_EDGES, seconds):02d}"]] += 1
    return dict(groups)


def _selected(row: dict, f: UsageFilter) -> bool:
    if f.span.start is not None and row["created_at"] < f.span.start:
        return False
    if f.span.end is not None and row["created_at"] >= f.span.end:
        return False
    if f.billable_only and not row["billable"]:
        return False
    for name, column in (("models", "model"), ("users", "user_id"), ("projects", "project")):
        globs = getattr(f, name)
        if globs and not any(
            row[column] is not None and fnmatchcase(row[column], g) for g in globs
        ):
            return False
    return True


def load(url: str, rows: list[dict]) -> None:
    at_head(url)
    with get_engine(url).begin() as conn:
        conn.execute(insert(usage_logs), rows)


def report(url: str, rows_filter: UsageFilter, group_by, zone: ZoneInfo, measures=MEASURES):
    with get_engine(url).connect() as conn:
        bring_up_to_date(conn, zone.key, lambda _: None)
        return aggregate(conn, rows_filter, group_by, zone, measures)


def assert_equal(actual: dict, expected: dict) -> None:
    # Latency sums are rounded per row; a float exactly on .5 µs may round either way.
    def comparable(groups):
        at = MEASURES.index("latency_us")
        return {k: [v for i, v in enumerate(m) if i != at] for k, m in groups.items()}

    assert comparable(actual) == comparable(expected)
    for key, measures in expected.items():
        at = MEASURES.index("latency_us")
        assert abs(actual[key][at] - measures[at]) <= measures[MEASURES.index("latency_rows")]


QUERIES = [
    ((), UsageFilter()),
    (("day",), UsageFilter()),
    (("week", "model"), UsageFilter(models=("gpt-4o*",))),
    (("month", "user"), UsageFilter(billable_only=True)),
    (
        ("user",),
        UsageFilter(
            span=Span(
                ORIGIN + timedelta(hours=30, minutes=17), ORIGIN + timedelta(days=6, minutes=5)
            )
        ),
    ),
    (("day", "project"), UsageFilter(span=Span(ORIGIN + timedelta(days=3)), users=("a*", "cy"))),
    (("status",), UsageFilter(span=Span(None, ORIGIN + timedelta(days=2, hours=5, minutes=30)))),
    (
        ("provider", "day"),
        UsageFilter(span=Span(ORIGIN + timedelta(hours=3), ORIGIN + timedelta(hours=9))),
    ),
]


@pytest.mark.parametrize("zone_name", ZONES)
def test_every_dialect_returns_the_exact_sums(db_url, zone_name):
    rows = random_rows(random.Random(7), 400)
    load(db_url, rows)
    zone = ZoneInfo(zone_name)
    for group_by, rows_filter in QUERIES:
        expected = reference(rows, rows_filter, group_by, zone)
        assert_equal(report(db_url, rows_filter, group_by, zone), expected)
        # Without the latency histogram: the same measures up to the cost.
        lean = report(db_url, rows_filter, group_by, zone, LEAN)
        assert_equal(lean, {key: m[: len(LEAN)] for key, m in expected.items()})


def test_rollups_follow_rows_another_application_writes(db_url):
    """Inserts, updates, backfills and deletes made straight in SQL, after the rollups exist."""
    rnd = random.Random(3)
    rows = random_rows(rnd, 200)
    load(db_url, rows)
    zone = ZoneInfo("Asia/Kolkata")
    assert_equal(
        report(db_url, UsageFilter(), ("day",), zone),
        reference(rows, UsageFilter(), ("day",), zone),
    )
    extra = random_rows(rnd, 60, days=40)  # reaches days no rollup has yet (a backfill)
    for i, row in enumerate(extra):
        row["request_id"] = f"x{i}"
    engine = get_engine(db_url)
    with engine.begin() as conn:
        conn.execute(insert(usage_logs), extra)
        conn.execute(update(usage_logs).where(usage_logs.c.model == "o3").values(cost_cents=None))
        conn.execute(
            delete(usage_logs).where(usage_logs.c.user_id == "bob", usage_logs.c.status == "error")
        )
        conn.execute(
            update(usage_logs)
            .where(usage_logs.c.request_id == "r5")
            .values(created_at=ORIGIN + timedelta(days=20))
        )
    everything = [r for r in rows + extra if not (r["user_id"] == "bob" and r["status"] == "error")]
    for row in everything:
        if row["model"] == "o3":
            row["cost_cents"] = None
        if row["request_id"] == "r5":
            row["created_at"] = ORIGIN + timedelta(days=20)
    for group_by in (("day",), ("user", "model"), ()):
        assert_equal(
            report(db_url, UsageFilter(), group_by, zone),
            reference(everything, UsageFilter(), group_by, zone),
        )


@pytest.fixture(scope="module")
def shared_sqlite(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('hyp') / 'h.db'}"
    at_head(url)
    return url


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 10**6),
    count=st.integers(0, 120),
    zone_name=st.sampled_from(ZONES),
    group_by=st.sampled_from(
        [(), ("day",), ("week",), ("month",), ("model",), ("day", "user"), ("project", "week")]
    ),
    start_hours=st.none() | st.integers(-24, 260),
    length_hours=st.none() | st.integers(1, 200),
    minutes=st.integers(0, 59),
    models=st.sampled_from([(), ("gpt-4o",), ("gpt*",), ("claude-*", "o3")]),
    billable_only=st.booleans(),
)
def test_random_reports_equal_the_python_reference(
    shared_sqlite,
    seed,
    count,
    zone_name,
    group_by,
    start_hours,
    length_hours,
    minutes,
    models,
    billable_only,
):
    rows = random_rows(random.Random(seed), count)
    with get_engine(shared_sqlite).begin() as conn:
        conn.execute(delete(usage_logs))
        if rows:
            conn.execute(insert(usage_logs), rows)
    start = None if start_hours is None else ORIGIN + timedelta(hours=start_hours, minutes=minutes)
    end = None if length_hours is None else (start or ORIGIN) + timedelta(hours=length_hours)
    rows_filter = UsageFilter(span=Span(start, end), models=models, billable_only=billable_only)
    zone = ZoneInfo(zone_name)
    assert_equal(
        report(shared_sqlite, rows_filter, group_by, zone),
        reference(rows, rows_filter, group_by, zone),
    )


def test_a_refresh_clears_only_what_it_saw(sqlite_url):
    load(sqlite_url, random_rows(random.Random(1), 20))
    report(sqlite_url, UsageFilter(), (), ZoneInfo("UTC"))
    with get_engine(sqlite_url).connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM usage_rollup_stale")).scalar() == 0


@pytest.mark.parametrize("later_row", [False, True])
def test_today_so_far_reads_the_rollup_unless_the_day_has_rows_outside_the_span(
    sqlite_url, later_row
):
    """A span ending now, with no row after now on that day, is summed from the day's
    rollup without scanning usage_logs; one row later that day and the raw rows are read,
    and that row is left out."""
    from sqlalchemy import event

    rows = random_rows(random.Random(5), 150, days=3)
    end = max(row["created_at"] for row in rows) + timedelta(seconds=1)
    if later_row:
        rows += random_rows(random.Random(6), 1)
        rows[-1].update(request_id="later", created_at=end + timedelta(seconds=30))
    load(sqlite_url, rows)
    zone = ZoneInfo("UTC")
    rows_filter = UsageFilter(span=Span(ORIGIN + timedelta(days=1), end))
    report(sqlite_url, UsageFilter(), (), zone)  # builds the rollups
    statements: list[str] = []
    engine = get_engine(sqlite_url)
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        for group_by in ((), ("day", "model")):
            assert_equal(
                report(sqlite_url, rows_filter, group_by, zone),
                reference(rows, rows_filter, group_by, zone),
            )
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    scans = [s for s in statements if "FROM usage_logs" in s and "EXISTS" not in s]
    assert bool(scans) == later_row
