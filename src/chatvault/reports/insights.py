"""Usage insights: the few things in the last complete week worth a human's attention, each one
line with its numbers: anomalous days, week-over-week movers, error-rate jumps, models without
a price and cache hit rate changes.

"This week" is the 7 complete local days before `today`, "last week" the 7 before those.
Sums come from SQL (usage reports over the daily rollups); money stays in Decimal cents, and
only statistics (z-scores, rates, percents) are floats.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from chatvault.money import usd_rounded as usd
from chatvault.period import Span, midnight
from chatvault.reports.dashboard_data import Insight

if TYPE_CHECKING:
    from collections.abc import Iterable

    from chatvault.db.filters import UsageFilter
    from chatvault.reports.usage import Row
    from chatvault.session import Session

WEEK = 7
QUIET_WEEKEND = Decimal("0.7")  # weekends under 70% of weekdays: judged apart
BASELINE_DAYS = 28  # the complete days before this week that anomalies are judged against
Z_CUTOFF = 3.5  # Iglewicz and Hoaglin's cutoff for the modified z-score
MAD_SCALE = 0.6745  # the MAD of normal data is 0.6745 standard deviations
MEAN_AD_SCALE = 1.253314  # the mean absolute deviation is 0.7979 of them: used when MAD = 0
MIN_CHANGE_CENTS = Decimal(100)  # a cost change under $1 is noise, whatever its z or percent
MOVERS = 3  # the biggest movers shown, models and users each
MIN_ERROR_RISE = 0.05  # 5 percentage points
MIN_ERROR_REQUESTS = 20  # this week, so that 1 error in 3 requests is no jump
MIN_CACHE_CHANGE = 0.10  # 10 percentage points
MIN_CACHE_TOKENS = 100_000  # input + cache read tokens, in each week
KINDS = ("anomaly", "error-rate", "unpriced", "cache", "mover")  # the more important first
DAY_MODEL, MODEL = ("day", "model"), ("model",)

# (severity rank, kind rank, -effect, text): the sort key, and the insight.
Found = tuple[tuple[int, int, float, str], Insight]


def insights(
    session: Session, rows: UsageFilter, limit: int = 8, until: date | None = None
) -> list[Insight]:
    """The insights on the complete days before `until` (default: the session's today), most
    important first, `limit` at most."""
    from chatvault.db.rollups import LEAN
    from chatvault.reports.usage import build, fold, measure, report

    zone, today = session.zone, until or session.today()

    def span(first: date, end: date) -> UsageFilter:
        return rows._replace(span=Span(midnight(first, zone), midnight(end, zone)))

    weeks = _weeks(today)
    this_week = weeks[0][0]
    # The days by model, from which each week's models are summed: one statement, not three.
    first = this_week - timedelta(days=BASELINE_DAYS)
    conn = session.reading(zone)
    by_day, _ = measure(conn, span(first, today), DAY_MODEL, zone, measures=LEAN)
    found = anomalies(build(by_day, DAY_MODEL).rows, this_week)
    models = [
        build(
            fold({k: m for k, m in by_day.items() if start <= k[0] < end}, DAY_MODEL, MODEL), MODEL
        )
        for start, end in weeks
    ]
    users = [report(session, span(s, e), ("user",), latency=False) for s, e in weeks]
    now, before = (_by_key(r.rows) for r in models)
    found += movers(now, before, "")
    found += movers(*(_by_key(r.rows) for r in users), "user ")
    found += error_jumps(now, before)
    found += unpriced(now)
    found += cache_changes(now, before)
    if len(now) > 1:  # with one model, the overall line would repeat the model's
        found += cache_changes({"all models": models[0].totals}, {"all models": models[1].totals})
    return [insight for _, insight in sorted(found, key=lambda f: f[0])][:limit]


def _weeks(today: date) -> list[tuple[date, date]]:
    """[first, end) of this week and of last week."""
    this_week = today - timedelta(days=WEEK)
    return [(this_week, today), (this_week - timedelta(days=WEEK), this_week)]


def _by_key(rows: list[Row]) -> dict[str, Row]:
    return {str(row.key[0]): row for row in rows}


def _found(kind: str, severity: str, effect: float, text: str) -> Found:
    rank = (0 if severity == "warning" else 1, KINDS.index(kind), -effect, text)
    return rank, Insight(kind, severity, text)


def _cost(row: Row | None) -> Decimal:
    return Decimal(0) if row is None or row.cost_cents is None else row.cost_cents


def anomalies(daily: list[Row], first: date) -> list[Found]:
    """Per model, the day of the week from `first` whose cost is furthest from the baseline
    days before it, when its robust z-score is at least Z_CUTOFF."""
    series: dict[str, dict[date, Decimal]] = {}
    for row in daily:
        day, model = row.key
        series.setdefault(str(model), {})[day] = _cost(row)
    found = []
    before = [first - timedelta(days=k) for k in range(1, BASELINE_DAYS + 1)]
    for model, costs in sorted(series.items()):
        baselines = _baselines([(d, costs.get(d, Decimal(0))) for d in before])
        days = [first + timedelta(days=k) for k in range(WEEK)]
        scored = [(day, costs.get(day, Decimal(0)), baselines[day.weekday() >= 5]) for day in days]
        flagged = [
            (z, day, x, _median(base))
            for day, x, base in scored
            if (z := _robust_z(x, base)) is not None
        ]
        if flagged:
            z, day, x, usual = max(flagged, key=lambda f: (abs(f[0]), f[1]))
            found.append(_anomaly(model, day, x, usual, z, len(flagged)))
    return found


def _baselines(days: list[tuple[date, Decimal]]) -> dict[bool, list[Decimal]]:
    """The baseline of weekdays (False) and of weekends (True). When weekends are clearly
    quieter (under QUIET_WEEKEND of the weekday median) each is judged against its own kind,
    so a quiet Sunday is not an anomaly; otherwise all days form one, larger baseline."""
    weekday = [cost for day, cost in days if day.weekday() < 5]
    weekend = [cost for day, cost in days if day.weekday() >= 5]
    if _median(weekend) < QUIET_WEEKEND * _median(weekday):
        return {False: weekday, True: weekend}
    every = [cost for _, cost in days]
    return {False: every, True: every}


def _median(values: Iterable[Decimal]) -> Decimal:
    """The median, as statistics.median gives it (whose import, fractions' regular expression
    included, cost a dashboard more than these lines do)."""
    ordered = sorted(values)
    half = len(ordered) // 2
    return ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2


def _robust_z(x: Decimal, baseline: list[Decimal]) -> float | None:
    """x's modified z-score against the baseline when it is an outlier, else None.

    With a MAD of 0 (over half the days alike) the mean absolute deviation stands in; when
    that is 0 too (a flat baseline), any change of at least $1 is an outlier, z infinite.
    """
    median = _median(baseline)
    deviation = x - median
    if abs(deviation) < MIN_CHANGE_CENTS or not any(baseline):
        # A model new this week has no baseline to stand out from: the movers show it.
        return None
    mad = _median(abs(b - median) for b in baseline)
    if mad:
        z = MAD_SCALE * float(deviation / mad)
    else:
        mean_ad = sum(abs(b - median) for b in baseline) / len(baseline)
        z = float(deviation) / (MEAN_AD_SCALE * float(mean_ad)) if mean_ad else _inf(deviation)
    return z if abs(z) >= Z_CUTOFF else None


def _inf(deviation: Decimal) -> float:
    return float("inf") if deviation > 0 else float("-inf")


def _anomaly(model: str, day: date, x: Decimal, usual: Decimal, z: float, days: int) -> Found:
    ratio = f"{float(x / usual):.1f}x its usual" if usual else "its usual being"
    score = f"robust z {z:.1f}" if abs(z) != float("inf") else "its baseline never varied"
    more = f"; {days - 1} more unusual day{'s' if days > 2 else ''} this week" if days > 1 else ""
    text = f"{day}: {model} cost {usd(x)}, {ratio} {usd(usual)} ({score}){more}"
    # A spike costs money; a drop may be an outage, worth knowing but less pressing.
    return _found("anomaly", "warning" if z > 0 else "info", min(abs(z), 1e9), text)


def movers(now: dict[str, Row], before: dict[str, Row], label: str) -> list[Found]:
    """The MOVERS names whose cost changed most week over week, at least $1."""
    changes = sorted(
        (-abs(_cost(now.get(name)) - _cost(before.get(name))), name)
        for name in now.keys() | before.keys()
    )
    found = []
    for _, name in changes[:MOVERS]:
        last, this = _cost(before.get(name)), _cost(now.get(name))
        change = this - last
        if abs(change) < MIN_CHANGE_CENTS:
            break
        sign = "+" if change > 0 else ""
        percent = f"{sign}{float(change / last) * 100:,.1f}%" if last else "new"
        text = (
            f"{label}{name} {sign}{usd(change)} week over week "
            f"({percent}, {usd(last)} -> {usd(this)})"
        )
        found.append(_found("mover", "info", float(abs(change)), text))
    return found


def error_jumps(now: dict[str, Row], before: dict[str, Row]) -> list[Found]:
    """Models whose error rate rose by MIN_ERROR_RISE or more, on enough requests."""
    found = []
    for name, row in sorted(now.items()):
        last = before.get(name)
        was = last.error_rate if last is not None and last.error_rate is not None else 0.0
        rise = (row.error_rate or 0.0) - was
        if row.requests < MIN_ERROR_REQUESTS or rise < MIN_ERROR_RISE:
            continue
        since = (
            f"up from {was:.1%} ({last.error_requests:,} of {last.requests:,})"
            if last is not None and last.requests
            else "no requests last week"
        )
        text = (
            f"{name} error rate {row.error_rate:.1%} this week "
            f"({row.error_requests:,} of {row.requests:,}), {since}"
        )
        found.append(_found("error-rate", "warning", rise, text))
    return found


def unpriced(now: dict[str, Row]) -> list[Found]:
    """Models with requests this week whose cost is unknown."""
    found = []
    for name, row in sorted(now.items()):
        if count := row.unpriced_requests:
            text = (
                f"{name}: {count:,} request{'s' if count > 1 else ''} without a price this week: "
                f"{'their' if count > 1 else 'its'} cost is not counted (add a pricing override)"
            )
            found.append(_found("unpriced", "warning", count, text))
    return found


def _hit_rate(row: Row | None) -> float | None:
    """Cache reads over all input tokens, when there are enough to tell."""
    if row is None:
        return None
    tokens = row.input_tokens + row.cache_read_tokens
    return row.cache_read_tokens / tokens if tokens >= MIN_CACHE_TOKENS else None


def cache_changes(now: dict[str, Row], before: dict[str, Row]) -> list[Found]:
    """Models whose cache hit rate moved by MIN_CACHE_CHANGE or more week over week."""
    found = []
    for name in sorted(now):
        rate, was = _hit_rate(now[name]), _hit_rate(before.get(name))
        if rate is None or was is None or abs(rate - was) < MIN_CACHE_CHANGE:
            continue
        way = "down" if rate < was else "up"
        text = f"{name} cache hit rate {rate:.1%} this week, {way} from {was:.1%}"
        # A falling hit rate means paying full price for input that used to be cached.
        found.append(_found("cache", "warning" if rate < was else "info", abs(rate - was), text))
    return found
