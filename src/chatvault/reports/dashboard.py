"""The dashboard's data, gathered from the usage layer (every sum in SQL, over the rollups):
spend against the previous period, the month-end forecast, budgets, daily cost by model,
top models and users, and the insights."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from chatvault.db.filters import UsageFilter
from chatvault.db.rollups import COST, LEAN
from chatvault.forecast import HISTORY_DAYS
from chatvault.money import Estimate
from chatvault.period import Span, local_date, midnight, parse_point

if TYPE_CHECKING:
    from chatvault.budgets.status import Status
    from chatvault.session import Session
from chatvault.reports.dashboard_data import Dashboard, Gauge, Share

CHART_MODELS = 4  # series of the daily chart; the rest is "other"
DAY_MODEL = ("day", "model")  # the chart's groups, which the top models are summed from
TOP = 5
_EARLIER = timedelta(microseconds=1)


def spans(text: str, zone: ZoneInfo, now: datetime) -> tuple[Span, Span]:
    """The period a `--period` names and the one before it. A running period (up to now) is
    compared with the same time elapsed before it: the 22 first days of last month when the
    month is 22 days old."""
    value = text.strip().lower()
    start = parse_point(value, zone, now, "--period")
    today = local_date(now, zone)
    ends = {
        "last-month": today.replace(day=1),
        "last-week": today - timedelta(days=today.weekday()),
        "yesterday": today,
    }
    end = midnight(ends[value], zone) if value in ends else now
    if value in ("this-month", "last-month") or value.endswith("mo"):
        months = 1 if not value.endswith("mo") else int(value[:-2])
        first = local_date(start, zone)
        index = first.year * 12 + first.month - 1 - months
        previous = midnight(date(index // 12, index % 12 + 1, 1), zone)
        previous_end = start if end != now else min(previous + (end - start), start)
    else:
        previous, previous_end = start - (end - start), start
    return Span(start, end), Span(previous, previous_end)


def build(session: Session, rows: UsageFilter, period: str) -> Dashboard:
    """Everything the dashboard shows, for the period and filters, in the session's zone."""
    from chatvault.budgets.status import zone_of
    from chatvault.reports import usage
    from chatvault.reports.insights import insights

    zone = session.zone
    session.prepare([zone, *(zone_of(budget, session) for budget in session.config.budgets)])
    span, before = spans(period, zone, session.now)
    this = rows._replace(span=span)
    totals = usage.report(session, this, ()).totals
    previous = usage.report(session, rows._replace(span=before), (), latency=False).totals
    first, last = local_date(span.start, zone), local_date(span.end - _EARLIER, zone)
    spend, earlier = totals.cost_cents or Decimal(0), previous.cost_cents or Decimal(0)
    month_end, forecast_note = _month_end(session, rows, first, last)
    until = min(session.today(), last + timedelta(days=1))  # the insights' week ends here
    by_day, _ = usage.measure(session.reading(zone), this, DAY_MODEL, zone, measures=LEAN)
    models = usage.build(usage.fold(by_day, DAY_MODEL, ("model",)), ("model",))
    users = usage.top_rows(session, this, ("user",), totals, TOP)
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    return Dashboard(
        title=f"chatvault: {period}",
        time_zone=zone.key,
        first_day=first,
        last_day=last,
        previous_first_day=local_date(before.start, zone),
        previous_last_day=local_date(before.end - _EARLIER, zone),
        spend_cents=spend,
        previous_spend_cents=earlier,
        change=float((spend - earlier) / earlier) if earlier else None,
        requests=totals.requests,
        error_rate=totals.error_rate,
        p95_latency_ms=totals.p95_latency_ms,
        unpriced_requests=totals.unpriced_requests,
        tokens={
            "input": totals.input_tokens,
            "output": totals.output_tokens,
            "cache_read": totals.cache_read_tokens,
            "cache_write": totals.cache_write_tokens,
        },
        month_end=month_end,
        forecast_note=forecast_note,
        budgets=_gauges(session, span.end - _EARLIER),
        days=days,
        daily_by_model=_daily(by_day, days, [r.key[0] for r in models.rows]),
        top_models=[_share(row) for row in models.rows[:TOP]],
        top_users=[_share(row) for row in users],
        insights=insights(session, rows, until=until),
        complete=span.end < session.now,  # a running period ends now
        insights_until=until,
    )


def _month_end(
    session: Session, rows: UsageFilter, first: date, last: date
) -> tuple[Estimate | None, str | None]:
    """This month's projected total, when the period shown runs through today."""
    from chatvault.forecast import spend

    if not first <= session.today() <= last:
        return None, "the period shown is over: no forecast"
    try:
        p = spend.project(session, rows, HISTORY_DAYS, 1)
    except spend.TooLittleHistory as exc:
        return None, f"{exc.message} (widen the filters)"
    return p.period_end, None


def _daily(by_day: dict, days: list[date], ranked: list) -> dict[str, list[Decimal]]:
    """Cents per day of the top models, then of all the others together."""
    shown = [str(m) for m in ranked[:CHART_MODELS]]
    series = {name: [Decimal(0)] * len(days) for name in [*shown, "other"]}
    at = {day: i for i, day in enumerate(days)}
    for (day, model), measures in by_day.items():
        name = str(model) if str(model) in shown else "other"
        if day in at and measures[COST]:
            series[name][at[day]] += measures[COST]
    if not any(series["other"]):
        del series["other"]
    return series


def _share(row) -> Share:
    name = "(none)" if row.key[0] is None else str(row.key[0])
    return Share(name, row.cost_cents, row.requests, row.share)


def _gauges(session: Session, last: datetime) -> list[Gauge]:
    """Each budget in its period that holds `last` (the period shown's last instant): the
    running one as `costs budget` shows it, with its forecast; an earlier one, over, with its
    whole spend and no forecast."""
    from chatvault.budgets.alerting import check

    gauges = []
    for outcome in check(session, list(session.config.budgets), False, False, at=last):
        budget = outcome.budget
        if outcome.status is None:
            gauges.append(Gauge(budget.name, "-", Decimal(0), budget.amount * 100,
                                Decimal(0), "UNKNOWN", None))  # fmt: skip
        else:
            gauges.append(_gauge(budget.name, outcome.status, outcome.state))
    return gauges


def _gauge(name: str, s: Status, state: str) -> Gauge:
    p = s.period
    return Gauge(
        name=name,
        period=f"{p.kind} {p.start} to {p.last} ({p.zone.key})",
        spent_cents=s.spent_cents,
        amount_cents=s.amount_cents,
        percent=s.percent,
        state=state,
        forecast=s.projection,
    )
