"""Budgets: the period a budget is in (in its own zone), the spend so far, where the period is
heading, and the resulting state."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

from chatvault.budgets.config import WEEKDAYS, Budget
from chatvault.config import Config
from chatvault.db.filters import UsageFilter
from chatvault.errors import InputError
from chatvault.forecast import HISTORY_DAYS
from chatvault.forecast.spend import Estimate, Projection
from chatvault.period import Span, local_date, midnight

if TYPE_CHECKING:
    from chatvault.session import Session

# Exit codes of `costs budget check`, the monitoring-plugin convention: the worst one wins.
STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")


class Period(NamedTuple):
    """A budget's period: its local days [start, end) in the budget's zone."""

    kind: str
    start: date
    end: date  # the first day after it
    zone: ZoneInfo

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)


class Status(NamedTuple):
    """A budget now: spend so far (exact), thresholds crossed, the end-of-period forecast."""

    budget: Budget
    period: Period
    spent_cents: Decimal
    unpriced_requests: int
    thresholds: tuple[Decimal, ...]
    projection: Estimate | None  # the period's total at its end, when it can be forecast
    no_projection: str | None  # why not

    @property
    def amount_cents(self) -> Decimal:
        return self.budget.amount * 100

    @property
    def percent(self) -> Decimal:
        return self.spent_cents / self.budget.amount  # cents / USD = percent

    @property
    def remaining_cents(self) -> Decimal:
        return self.amount_cents - self.spent_cents

    @property
    def crossed(self) -> tuple[Decimal, ...]:
        return tuple(t for t in self.thresholds if self.percent >= t)

    @property
    def forecast_over(self) -> bool:
        """The forecast says the period will end over budget (and forecast alerts are on)."""
        return (
            self.budget.forecast_alerts
            and self.projection is not None
            and self.projection.cents >= self.amount_cents
        )

    @property
    def state(self) -> str:
        if self.spent_cents >= self.amount_cents:
            return "CRITICAL"
        if any(t < 100 for t in self.crossed) or self.forecast_over:
            return "WARNING"
        return "OK"


def period_of(budget: Budget, zone: ZoneInfo, today: date) -> Period:
    """The budget's period that holds `today` (a local date of its zone)."""
    kind = budget.period
    if kind == "daily":
        start, end = today, today + timedelta(days=1)
    elif kind == "weekly":
        start = today - timedelta(days=(today.weekday() - WEEKDAYS.index(budget.week_start)) % 7)
        end = start + timedelta(days=7)
    else:
        months = {"monthly": 1, "quarterly": 3, "yearly": 12}[kind]
        first_month = (today.month - 1) // months * months + 1
        start = date(today.year, first_month, 1)
        year, month = divmod(first_month - 1 + months, 12)
        end = date(today.year + year, month + 1, 1)
    return Period(kind, start, end, zone)


def zone_of(budget: Budget, session: Session) -> ZoneInfo:
    """The budget's own zone, else the config's (not a --tz given for a report)."""
    return ZoneInfo(budget.timezone or session.config.timezone)


def thresholds_of(budget: Budget, config: Config) -> tuple[Decimal, ...]:
    return budget.thresholds or config.cost_calculation.budget_alerts.alert_thresholds


def usage_of(budget: Budget) -> UsageFilter:
    scope = budget.scope
    return UsageFilter(
        models=scope.models, users=scope.users, providers=scope.providers, projects=scope.projects
    )


def evaluate(session: Session, budget: Budget, at: datetime | None = None) -> Status:
    """The budget's status at the session's instant: spend from the period's start to now,
    and the forecast of its remaining days (today included) on top of its complete days.
    With `at` in an earlier period, that period's whole spend, and no forecast."""
    from chatvault.forecast import spend
    from chatvault.reports import usage

    config = session.config
    zone = zone_of(budget, session)
    today = session.today(zone)
    period = period_of(budget, zone, today if at is None else local_date(at, zone))
    over = period.end <= today
    rows = usage_of(budget)
    span = Span(midnight(period.start, zone), midnight(period.end, zone) if over else session.now)
    if budget.basis == "billed":
        return _billed(session, budget, period, span, over)
    spent = usage.report(session, rows._replace(span=span), (), zone=zone, latency=False).totals
    projection: Projection | None = None
    reason = None
    if over:
        reason = "the period is over"
    elif not config.cost_calculation.enable_advanced_costs:
        reason = "forecasts are off: cost_calculation.enable_advanced_costs is false"
    elif not config.cost_calculation.cost_prediction.enabled:
        reason = "forecasts are off (cost_calculation.cost_prediction.enabled: false)"
    else:
        try:
            days = (period.last - today).days + 1
            projection = spend.project(
                session, rows, HISTORY_DAYS, days, period=(period.start, period.last), zone=zone
            )
        except InputError as exc:  # too little history: the status stands without a forecast
            reason = exc.message
    return Status(
        budget=budget,
        period=period,
        spent_cents=spent.cost_cents or Decimal(0),
        unpriced_requests=spent.unpriced_requests,
        thresholds=thresholds_of(budget, config),
        projection=None if projection is None else _at_least(projection.period_end, spent),
        no_projection=reason,
    )


def _at_least(end: Estimate, spent) -> Estimate:
    """Today's spend so far is real: the period cannot end below it."""
    floor = spent.cost_cents or Decimal(0)
    return Estimate(max(end.cents, floor), max(end.lower, floor), max(end.upper, floor))


def _billed(session: Session, budget: Budget, period: Period, span: Span, over: bool) -> Status:
    """What the providers billed for the period's days so far (`chatvault sync`): a cost day
    counts in the period its start (00:00 UTC) falls in. The bill has no forecast."""
    from fnmatch import fnmatchcase

    from chatvault.db import billing

    scope = budget.scope

    def chosen(value: str | None, globs: tuple[str, ...]) -> bool:
        return not globs or any(fnmatchcase(value or "", g) for g in globs)

    sums = billing.billed_by_project(session.connection, span.start, span.end)
    spent = sum(
        (
            cents
            for provider, project, cents in sums
            if chosen(provider, scope.providers) and chosen(project, scope.projects)
        ),
        Decimal(0),
    )
    return Status(
        budget=budget,
        period=period,
        spent_cents=spent,
        unpriced_requests=0,
        thresholds=thresholds_of(budget, session.config),
        projection=None,
        no_projection="the period is over" if over else "a billed budget has no forecast",
    )
