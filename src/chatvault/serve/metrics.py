"""GET /metrics in the Prometheus text format, read at each scrape: this month's spend and
tokens by model, user and project (the config's time zone); each budget's used and forecast
ratios; what this process received per source and when each source last sent data.

Prometheus samples are 64-bit floats: the exact decimal amounts become floats here, at the
very end, for display; nothing is summed from them."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from chatvault.serve.app import Server

DIMENSIONS = {"model": "model", "user": "user", "project": "project"}
TOKENS = ("input", "output", "cache_read", "cache_write")


class Usage:
    """A collector that reads the database at each scrape."""

    def __init__(self, server: Server):
        self.server = server

    def collect(self) -> Any:
        from chatvault.budgets.alerting import check
        from chatvault.cli.filters import Filters
        from chatvault.reports.usage import report

        with self.server.reading() as session:
            rows = Filters(since="this-month").rows(session)
            for label in DIMENSIONS:
                spend = GaugeMetricFamily(
                    f"chatvault_month_spend_by_{label}_usd",
                    f"Spend this month so far by {label}, priced requests (US dollars)",
                    labels=[label],
                )
                tokens = GaugeMetricFamily(
                    f"chatvault_month_tokens_by_{label}",
                    f"Tokens this month so far by {label} and type",
                    labels=[label, "type"],
                )
                unpriced = GaugeMetricFamily(
                    f"chatvault_month_unpriced_requests_by_{label}",
                    f"Requests this month without a price (cost unknown) by {label}",
                    labels=[label],
                )
                for row in report(session, rows, (label,), latency=False).rows:
                    name = "" if row.key[0] is None else str(row.key[0])
                    if row.cost_cents is not None:
                        spend.add_metric([name], float(row.cost_cents / 100))
                    unpriced.add_metric([name], row.unpriced_requests)
                    for kind in TOKENS:
                        tokens.add_metric([name, kind], getattr(row, f"{kind}_tokens"))
                yield from (spend, tokens, unpriced)
            budgets = list(session.config.budgets)
            used = GaugeMetricFamily(
                "chatvault_budget_used_ratio", "Spend so far / budget amount", labels=["budget"]
            )
            forecast = GaugeMetricFamily(
                "chatvault_budget_forecast_ratio",
                "Forecast spend at the period's end / budget amount",
                labels=["budget"],
            )
            for outcome in check(session, budgets, False, False) if budgets else ():
                status = outcome.status
                if status is None:
                    continue
                used.add_metric(
                    [status.budget.name], float(status.spent_cents / status.amount_cents)
                )
                if status.projection is not None:
                    ratio = status.projection.cents / status.amount_cents
                    forecast.add_metric([status.budget.name], float(ratio))
            yield from (used, forecast)
        yield from received(self.server)


def received(server: Server) -> Any:
    seen = server.received.snapshot()
    said = {
        "rows": "Usage rows stored from OTLP, per source",
        "duplicates": "Usage items received again (a retry): nothing stored",
        "rejected": "Items refused (partial success)",
        "points": "OTLP metric data points acknowledged (not stored as usage)",
    }
    families = {
        key: CounterMetricFamily(
            f"chatvault_received_{'metric_points' if key == 'points' else key}",
            help_text,
            labels=["source"],
        )
        for key, help_text in said.items()
    }
    for key, family in families.items():
        for source, n in sorted(seen[key].items()):
            family.add_metric([source], n)
        yield family
    since = GaugeMetricFamily(
        "chatvault_source_seconds_since_last_data",
        "Seconds since the source last sent data to this process",
        labels=["source"],
    )
    now = time.time()
    for source, at in sorted(seen["last"].items()):
        since.add_metric([source], now - at)
    yield since


def handler(server: Server) -> Any:
    def scrape() -> bytes:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(Usage(server))
        return generate_latest(registry)

    async def metrics(request: Request) -> Response:
        body = await run_in_threadpool(scrape)
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})

    return metrics
