"""Daily spend from the database and its forecast: what `costs predict` shows.

Actual spend stays exact (Decimal cents, summed in SQL from the daily rollups); forecasts are
floating-point estimates, rounded to whole cents at the edge. A day is a local day of the
report's zone, and only complete days are history: today is the first forecast day.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

from chatvault.db.filters import UsageFilter
from chatvault.errors import InputError
from chatvault.forecast import LEVEL, horizon_warning
from chatvault.money import Estimate
from chatvault.period import Span, midnight

if TYPE_CHECKING:
    from chatvault.forecast.backtest import MethodScore
    from chatvault.forecast.stored import Prediction
    from chatvault.session import Session

MIN_HISTORY = 2  # days with usage: a forecast needs at least a difference


class TooLittleHistory(InputError):
    """Fewer than MIN_HISTORY days with usage: each command adds what it can widen."""


class History(NamedTuple):
    """The complete days a forecast is made from, oldest first."""

    first: date  # the first day with usage in the window asked for
    cents: list[Decimal]  # each day's priced spend; zero for a day without usage
    unpriced_requests: int  # requests in these days whose cost is unknown (not in `cents`)

    @property
    def last(self) -> date:
        return self.first + timedelta(days=len(self.cents) - 1)

    @property
    def total_cents(self) -> Decimal:
        return sum(self.cents, Decimal(0))


class Projection(NamedTuple):
    """A forecast of the next days, its horizon total, and the total of the current period
    (the month, or a budget's period) at its end."""

    today: date
    history: History
    forecast: Prediction
    days: int  # the horizon asked for (the forecast may run further, to the period's end)
    daily: list[tuple[date, Estimate]]
    total: Estimate
    period_start: date
    period_last: date  # the period's last day
    to_date_cents: Decimal  # exact: the period's complete days
    remaining_days: int  # today included
    period_end: Estimate  # to date + the forecast of the remaining days
    # The forecast's warnings, about the horizon asked for (`days`), not the period's end.
    warnings: tuple[str, ...] = ()


def horizon_to(last: date, today: date) -> int:
    """Days from today through `last`, both included."""
    if last < today:
        raise InputError(f"--to {last.isoformat()} is in the past (today is {today.isoformat()})")
    return (last - today).days + 1


def month_end_of(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def project(
    session: Session,
    rows: UsageFilter,
    history_days: int,
    days: int,
    method: str = "auto",
    level: float = LEVEL,
    period: tuple[date, date] | None = None,
    zone: ZoneInfo | None = None,
) -> Projection:
    """Forecast `days` days from today in `zone` (default: the session's), and the total of
    the period (first and last day; default: this month) at its end, from `history_days`
    days back."""
    from chatvault.forecast.stored import predicted

    zone = zone or session.zone
    today = session.today(zone)
    first, last = period or (today.replace(day=1), month_end_of(today))
    # A dashboard's month end and a budget on the same rows and month read and forecast the
    # same history: once per session.
    history, to_date = session.memo(
        ("spend", rows, zone.key, history_days, first),
        lambda: _read(session, rows, zone, history_days, first),
    )
    remaining = (last - today).days + 1
    values = tuple(float(c) for c in history.cents)
    horizon = max(days, remaining)
    fc = session.memo(
        ("forecast", values, history.first, horizon, method, level),
        lambda: predicted(list(values), history.first, horizon, method, level),
    )
    daily = [
        (day, _estimate(m, lo, hi))
        for day, m, lo, hi in zip(fc.dates, fc.mean, fc.lower, fc.upper, strict=True)
    ][:days]
    rest = _estimate(*fc.total(remaining))
    # The forecast runs to the period's end when that is further than asked: its warning
    # about that horizon is replaced by one about the days asked for.
    beyond = horizon_warning(horizon, fc.history_days)
    asked = horizon_warning(days, fc.history_days)
    warnings = (*(w for w in fc.warnings if w != beyond), *([asked] if asked else []))
    return Projection(
        today=today,
        history=history,
        forecast=fc,
        days=days,
        daily=daily,
        total=_estimate(*fc.total(days)),
        period_start=first,
        period_last=last,
        to_date_cents=to_date,
        remaining_days=remaining,
        period_end=Estimate(
            _whole(to_date + rest.cents),
            _whole(to_date + rest.lower),
            _whole(to_date + rest.upper),
        ),
        warnings=warnings,
    )


def backtest(
    session: Session, rows: UsageFilter, history_days: int, level: float = LEVEL
) -> tuple[History, list[MethodScore]]:
    """Every method's rolling-origin backtest scores on the history."""
    from chatvault.forecast.backtest import backtest as scores

    today = session.today()
    history, _ = _read(session, rows, session.zone, history_days, today)
    return history, scores([float(c) for c in history.cents], history.first, level=level)


def _read(
    session: Session, rows: UsageFilter, zone: ZoneInfo, history_days: int, since: date
) -> tuple[History, Decimal]:
    """The history, and the exact spend of the complete days from `since`."""
    today = session.today(zone)
    first = min(today - timedelta(days=history_days), since)
    span = Span(midnight(first, zone), midnight(today, zone))
    spend = _daily_spend(session, rows._replace(span=span), zone)
    window = today - timedelta(days=history_days)
    used = sorted(day for day in spend if day >= window)
    if len(used) < MIN_HISTORY:
        raise TooLittleHistory(
            f"too little usage to forecast from: {len(used)} day(s) with usage in the "
            f"{history_days} complete days before today"
        )
    days = [used[0] + timedelta(days=i) for i in range((today - used[0]).days)]
    cents = [spend[day][0] if day in spend else Decimal(0) for day in days]
    unpriced = sum(spend[day][1] for day in used)
    to_date = sum((cost for day, (cost, _) in spend.items() if day >= since), Decimal(0))
    return History(used[0], cents, unpriced), to_date


def _daily_spend(
    session: Session, rows: UsageFilter, zone: ZoneInfo
) -> dict[date, tuple[Decimal, int]]:
    """(priced spend in cents, unpriced requests) of each day with usage."""
    from chatvault.db.aggregate import aggregate
    from chatvault.db.rollups import COST, LEAN

    unpriced = LEAN.index("unpriced_requests")
    groups = aggregate(session.reading(zone), rows, ("day",), zone, LEAN)
    return {day: (m[COST] or Decimal(0), m[unpriced]) for (day,), m in groups.items()}


def _estimate(mean: float, lower: float, upper: float) -> Estimate:
    return Estimate(_cents(mean), _cents(lower), _cents(upper))


def _cents(value: float) -> Decimal:
    return _whole(Decimal(float(value)))


def _whole(cents: Decimal) -> Decimal:
    return cents.quantize(Decimal(1), ROUND_HALF_EVEN)
