"""What the dashboard shows, as plain data: the terminal screen, the plain-text page and the
HTML report are three renderings of one `Dashboard`."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from chatvault.money import Estimate


class Share(NamedTuple):
    """A model's or user's part of the period."""

    name: str
    cost_cents: Decimal | None  # None: nothing priced
    requests: int
    share: float | None  # of the period's cost (of requests when nothing is priced)


class Gauge(NamedTuple):
    """A budget's status, for a gauge."""

    name: str
    period: str  # "monthly 2026-11-01 to 2026-11-30 (Europe/Paris)"
    spent_cents: Decimal
    amount_cents: Decimal
    percent: Decimal
    state: str  # OK, WARNING, CRITICAL, UNKNOWN
    forecast: Estimate | None


class Insight(NamedTuple):
    """One thing worth a human's attention, in one line with its numbers."""

    kind: str  # "anomaly", "mover", "error-rate", "unpriced", "cache"
    severity: str  # "warning" or "info"
    text: str


class Dashboard(NamedTuple):
    """Everything the dashboard shows, for every renderer (terminal, SVG, HTML, JSON)."""

    title: str  # "chatvault: this month"
    time_zone: str
    first_day: date  # of the period shown
    last_day: date  # its last day shown (today for a running period)
    previous_first_day: date  # the period before, as long
    previous_last_day: date
    spend_cents: Decimal  # exact, priced requests
    previous_spend_cents: Decimal
    change: float | None  # spend vs the previous period, a fraction (0.12 = +12%)
    requests: int
    error_rate: float | None  # a fraction
    p95_latency_ms: float | None
    unpriced_requests: int
    tokens: dict[str, int]  # input, output, cache_read, cache_write
    month_end: Estimate | None  # this month's projected total, when the period is this month
    forecast_note: str | None  # why there is no forecast
    budgets: list[Gauge]
    days: list[date]  # the chart's days
    daily_by_model: dict[str, list[Decimal]]  # cents per day, top models then "other"
    top_models: list[Share]
    top_users: list[Share]
    insights: list[Insight]
    complete: bool = False  # the period shown is over (last month): its spend is final
    insights_until: date | None = None  # the insights' week ends before this day

    @property
    def insights_title(self) -> str:
        """ "Insights", and for a period that is over, the 7 days they are about."""
        if not self.complete or self.insights_until is None:
            return "Insights"
        first = self.insights_until - timedelta(days=7)
        last = self.insights_until - timedelta(days=1)
        return f"Insights, {first.isoformat()} to {last.isoformat()}"
