"""Usage insights on series with planted anomalies: the exact lines, in order, on local days."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from chatvault.db.engine import get_engine
from chatvault.db.filters import UsageFilter
from chatvault.db.models import usage_logs
from chatvault.period import midnight
from chatvault.reports.dashboard_data import Insight
from chatvault.reports.insights import _median, _robust_z, insights
from tests.head import at_head
from tests.sessions import session_for

KOLKATA = ZoneInfo("Asia/Kolkata")
TODAY = date(2026, 3, 20)
THIS_WEEK = date(2026, 3, 13)  # its 7 complete days end yesterday, March 19
LAST_WEEK = date(2026, 3, 6)
FIRST = date(2026, 2, 13)  # the 28 baseline days start here
SPIKE = date(2026, 3, 18)
NOISE = (-300, -200, -100, 0, 100, 200, 300)  # any 7 days in a row add up to 0


def log(day: date, model: str, cents: int | None, user: str = "cat", at=time(0, 10), **fields):
    """A usage row at local time `at` of `day` (00:10 in Kolkata is the day before in UTC)."""
    return {
        "request_id": uuid.uuid4().hex,
        "created_at": datetime.combine(day, at, KOLKATA),
        "user_id": user,
        "model": model,
        "provider": "p",
        "cost_cents": None if cents is None else Decimal(cents),
        "status": "success",
        "request_count": 1,
        "input_tokens": 0,
        "cache_read_tokens": 0,
        **fields,  # an executemany takes the first row's columns: every row names them all
    }


def every_day(first: date = FIRST, end: date = TODAY) -> list[date]:
    return [first + timedelta(days=k) for k in range((end - first).days)]


def noisy(model: str, user: str, before: int, this_week: int, scale: int = 1) -> list[dict]:
    """A cost each day to yesterday: a level (another one this week) plus a weekly cycle."""
    return [
        log(day, model, (this_week if day >= THIS_WEEK else before) + scale * NOISE[k % 7], user)
        for k, day in enumerate(every_day())
    ]


def add(url: str, rows: list[dict]) -> None:
    at_head(url)
    with get_engine(url).begin() as conn:
        conn.execute(insert(usage_logs), rows)


def found(url: str, limit: int = 8) -> list[Insight]:
    noon = midnight(TODAY, KOLKATA) + timedelta(hours=12)
    with session_for(url, zone=KOLKATA, now=noon) as session:
        return insights(session, UsageFilter(), limit)


def planted() -> list[dict]:
    """One of each insight, among noisy but normal days and rows today (not yet complete)."""
    gpt = [r for r in noisy("gpt-4o", "ann", 6610, 6610) if r["created_at"].date() != SPIKE]
    spike = [  # both on March 18 in Kolkata, the first still March 17 in UTC
        log(SPIKE, "gpt-4o", 20000, "ann", time(0, 5)),
        log(SPIKE, "gpt-4o", 21230, "ann", time(23, 55)),
    ]
    # Half of gpt-4o's input is cached both weeks: the overall hit rate moves under 10 points.
    gpt_cache = [
        log(day, "gpt-4o", 0, "ann", input_tokens=100_000, cache_read_tokens=100_000)
        for day in (date(2026, 3, 9), date(2026, 3, 16))
    ]
    successes = (60, 60, 57, 57, 57, 57, 57)
    last_week_successes = dict(zip(every_day(LAST_WEEK, THIS_WEEK), successes, strict=True))
    mistral = [  # 5 errors in 410 requests last week, 50 in 400 this week
        log(day, "mistral-large", 1000, request_count=last_week_successes.get(day, 50))
        for day in every_day()
    ]
    mistral += [
        log(date(2026, 3, 7), "mistral-large", 0, status="error", request_count=5),
        log(date(2026, 3, 14), "mistral-large", 0, status="error", request_count=50),
    ]
    custom = [
        log(date(2026, 3, 10), "custom-model", None, request_count=10),
        log(date(2026, 3, 19), "custom-model", None, at=time(23, 59), request_count=1204),
    ]
    haiku = [log(day, "claude-haiku", 500) for day in every_day()]
    haiku += [
        log(date(2026, 3, 9), "claude-haiku", 0, input_tokens=38_800, cache_read_tokens=61_200),
        log(date(2026, 3, 16), "claude-haiku", 0, input_tokens=65_000, cache_read_tokens=35_000),
    ]
    today = [  # 00:01 today in Kolkata is yesterday in UTC: still not a complete day
        log(TODAY, "gpt-4o", 999_999, "ann", time(0, 1)),
        log(TODAY, "mistral-large", 0, status="error", request_count=500),
        log(TODAY, "custom-model", None, request_count=9999),
    ]
    return [
        *gpt,
        *spike,
        *gpt_cache,
        *noisy("claude-sonnet-4", "ann", 3500, 5300, scale=3),  # grows, within its noise
        *noisy("gpt-4o-mini", "bob", 3000, 1800, scale=3),  # drops, within its noise
        *mistral,
        *custom,
        *haiku,
        *today,
    ]


EXPECTED = [
    Insight(
        "anomaly",
        "warning",
        # median $66.10, MAD $2.00: 0.6745 * (41230 - 6610) / 200 = 116.8
        "2026-03-18: gpt-4o cost $412.30, 6.2x its usual $66.10 (robust z 116.8)",
    ),
    Insight(
        "error-rate",
        "warning",
        "mistral-large error rate 12.5% this week (50 of 400), up from 1.2% (5 of 410)",
    ),
    Insight(
        "unpriced",
        "warning",
        "custom-model: 1,204 requests without a price this week: their cost is not counted "
        "(add a pricing override)",
    ),
    Insight("cache", "warning", "claude-haiku cache hit rate 35.0% this week, down from 61.2%"),
    Insight("mover", "info", "user ann +$470.20 week over week (+66.4%, $707.70 -> $1,177.90)"),
    Insight("mover", "info", "gpt-4o +$344.20 week over week (+74.4%, $462.70 -> $806.90)"),
    Insight(
        "mover", "info", "claude-sonnet-4 +$126.00 week over week (+51.4%, $245.00 -> $371.00)"
    ),
    Insight("mover", "info", "gpt-4o-mini -$84.00 week over week (-40.0%, $210.00 -> $126.00)"),
]


def test_planted_insights_are_found_in_order_alike_on_every_database(db_url):
    add(db_url, planted())
    assert found(db_url) == EXPECTED
    # The ninth, past the default limit: ties on size are broken by the text.
    bob = Insight("mover", "info", "user bob -$84.00 week over week (-40.0%, $210.00 -> $126.00)")
    assert found(db_url, limit=20) == [*EXPECTED, bob]
    assert found(db_url, limit=2) == EXPECTED[:2]


def test_a_noisy_but_normal_series_yields_nothing(sqlite_url):
    add(
        sqlite_url,
        [
            *noisy("gpt-4o", "ann", 6610, 6610),
            *noisy("claude-sonnet-4", "bob", 3500, 3500, scale=3),
            *[log(day, "steady", 1000) for day in every_day()],
        ],
    )
    assert found(sqlite_url) == []


def test_new_names_drops_and_small_numbers_are_judged_sensibly(sqlite_url):
    this_week = every_day(THIS_WEEK)
    add(
        sqlite_url,
        [
            # New this week: a mover, not an anomaly (there is no baseline to stand out from).
            *[log(day, "gpt-5", 5000, "dan") for day in this_week],
            # Under a cent a day, then 90 cents: no anomaly, and a change under $1.
            *[log(day, "tiny", Decimal("0.5")) for day in every_day(end=THIS_WEEK)],
            log(SPIKE, "tiny", 90),
            # 3 errors in 10 requests, none last week: too few requests to call it a jump.
            log(SPIKE, "flaky", 0, request_count=7),
            log(SPIKE, "flaky", 0, status="error", request_count=3),
            log(LAST_WEEK, "flaky", 0, request_count=10),
            # An outage: a drop is an anomaly too, but for information.
            *[r for r in noisy("steady", "eve", 6610, 6610) if r["created_at"].day != 15],
            log(SPIKE, "odd", None),
            # Cache hit rate from 90% to 10%, on too few tokens to tell.
            log(LAST_WEEK, "small", 0, input_tokens=1_000, cache_read_tokens=9_000),
            log(SPIKE, "small", 0, input_tokens=9_000, cache_read_tokens=1_000),
        ],
    )
    assert found(sqlite_url) == [
        Insight(
            "unpriced",
            "warning",
            "odd: 1 request without a price this week: its cost is not counted "
            "(add a pricing override)",
        ),
        Insight(
            "anomaly",
            "info",
            "2026-03-15: steady cost $0.00, 0.0x its usual $66.10 (robust z -22.3)",
        ),
        Insight("mover", "info", "gpt-5 +$350.00 week over week (new, $0.00 -> $350.00)"),
        Insight("mover", "info", "user dan +$350.00 week over week (new, $0.00 -> $350.00)"),
        Insight("mover", "info", "steady -$65.10 week over week (-14.1%, $462.70 -> $397.60)"),
        Insight("mover", "info", "user eve -$65.10 week over week (-14.1%, $462.70 -> $397.60)"),
    ]


def test_cache_hit_rates_per_model_and_overall(sqlite_url):
    add(
        sqlite_url,
        [
            log(LAST_WEEK, "a", 0, input_tokens=20_000, cache_read_tokens=80_000),
            log(SPIKE, "a", 0, input_tokens=40_000, cache_read_tokens=60_000),  # 20 points
            log(LAST_WEEK, "b", 0, input_tokens=50_000, cache_read_tokens=50_000),
            log(SPIKE, "b", 0, input_tokens=51_000, cache_read_tokens=49_000),  # 1 point
        ],
    )
    assert found(sqlite_url) == [
        Insight("cache", "warning", "a cache hit rate 60.0% this week, down from 80.0%"),
        Insight("cache", "warning", "all models cache hit rate 54.5% this week, down from 65.0%"),
    ]


def cents(*values: float) -> list[Decimal]:
    return [Decimal(str(v)) for v in values]


def test_robust_z_falls_back_when_most_days_are_alike():
    # MAD = 200 cents: only |z| >= 3.5 is an outlier, either way.
    cycle = cents(*(6610 + d for d in NOISE)) * 4
    assert _robust_z(Decimal(7610), cycle) is None  # z 3.37
    assert _robust_z(Decimal(7700), cycle) == 0.6745 * 1090 / 200
    assert _robust_z(Decimal(5500), cycle) == 0.6745 * -1110 / 200  # a drop
    # Used 10 days in 28: the MAD is 0, the mean absolute deviation (500 * 10 / 28) stands in.
    sometimes = cents(*[500] * 10, *[0] * 18)
    assert _robust_z(Decimal(500), sometimes) is None  # an ordinary active day
    assert round(_robust_z(Decimal(2000), sometimes), 2) == 8.94
    # A flat baseline: any change of $1 or more, and nothing less.
    flat = cents(*[1000] * 28)
    assert _robust_z(Decimal(1050), flat) is None
    assert _robust_z(Decimal(1100), flat) == float("inf")
    assert _robust_z(Decimal(0), flat) == float("-inf")
    # No baseline at all: a new model is a mover, not an anomaly.
    assert _robust_z(Decimal(100_000), cents(*[0] * 28)) is None


def test_quiet_weekends_are_not_anomalies(sqlite_url):
    at_head(sqlite_url)
    rows = [
        log(day, "gpt-4o", 500 if day.weekday() >= 5 else 5000 + 37 * (day.day % 5))
        for day in every_day()
    ]
    with get_engine(sqlite_url).begin() as conn:
        conn.execute(insert(usage_logs), rows)
    assert [i for i in found(sqlite_url) if i.kind == "anomaly"] == []
    # But a Saturday as busy as a weekday stands out against the weekends.
    with get_engine(sqlite_url).begin() as conn:
        conn.execute(insert(usage_logs), [log(date(2026, 3, 14), "gpt-4o", 4500)])
    (anomaly,) = [i for i in found(sqlite_url) if i.kind == "anomaly"]
    assert anomaly.text.startswith("2026-03-14: gpt-4o cost $50.00, 10.0x its usual $5.00")


def test_median_is_the_statistics_median_exactly() -> None:
    import statistics

    for values in ([Decimal(5)], [Decimal(3), Decimal(1)], [Decimal("0.1"), Decimal("0.2"),
                   Decimal(7), Decimal(2)], [Decimal(n) / 3 for n in (9, 1, 4, 4, 2)]):  # fmt: skip
        assert _median(values) == statistics.median(values)
        assert type(_median(values)) is Decimal
