"""`chatvault reconcile`: chatvault's estimate from request-level rows, the provider's own
usage priced by chatvault, and what the provider billed, side by side (docs/reconcile.md).

Rows are UTC days (the providers' cost buckets are UTC days), projects or models, per
provider. The difference is the estimate less the bill; where the provider's bill cannot be
split that way (OpenAI's costs by model come only from its line items), less the provider's
usage as priced. A row is flagged when the difference is beyond the threshold, in percent of
what it is compared with (a row with nothing to compare with but an estimate is flagged).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from chatvault.pricing.rates import Usages
from chatvault.sync.providers import PROVIDERS

if TYPE_CHECKING:
    from chatvault.session import Session

BY = ("day", "project", "model")
NONE = "(none)"
HUNDRED = Decimal(100)


@dataclass
class Row:
    provider: str
    key: str  # the day (YYYY-MM-DD), project or model
    estimate_cents: Decimal | None = None  # chatvault's, from request-level rows
    requests: int = 0
    unpriced_requests: int = 0
    provider_tokens: int = 0
    provider_priced_cents: Decimal | None = None  # the provider's usage, priced by chatvault
    unpriced_tokens: int = 0
    billed_cents: Decimal | None = None
    compared_with: str = "billed"  # or 'provider usage' when the bill has no such split
    difference_cents: Decimal | None = None
    difference_pct: Decimal | None = None
    flagged: bool = False


@dataclass
class Reconciliation:
    by: str
    start: datetime
    end: datetime
    threshold_pct: Decimal
    rows: list[Row] = field(default_factory=list)
    totals: list[Row] = field(default_factory=list)  # one per provider

    @property
    def flagged(self) -> int:
        return sum(r.flagged for r in self.rows + self.totals)


def reconcile(
    session: Session,
    start: datetime,
    end: datetime,
    by: str = "day",
    threshold_pct: Decimal = Decimal(5),
    providers: tuple[str, ...] = tuple(PROVIDERS),
) -> Reconciliation:
    from chatvault.db import billing

    conn = session.connection
    found = Reconciliation(by, start, end, threshold_pct)
    for provider in providers:
        rows: dict[str, Row] = {}

        def row(key: str | None, provider: str = provider, rows: dict = rows) -> Row:
            name = key or NONE
            return rows.setdefault(name, Row(provider, name))

        usage = list(billing.buckets(conn, "usage", provider, start, end))
        costs = list(billing.buckets(conn, "cost", provider, start, end))
        if not usage and not costs:
            continue  # nothing synced from this provider: nothing to reconcile with
        for key, cents, requests, unpriced in billing.request_level(conn, provider, start, end, by):
            target = row(key)
            target.requests += requests
            target.unpriced_requests += unpriced
            if cents is not None:
                target.estimate_cents = (target.estimate_cents or Decimal(0)) + cents
        for bucket, cents in zip(usage, _priced(session, provider, usage), strict=True):
            target = row(_key(by, bucket["bucket_start"], bucket["project"], bucket["model"]))
            tokens = sum(bucket[n] for n in _TOKENS)
            target.provider_tokens += tokens
            if cents is None:
                target.unpriced_tokens += tokens
            else:
                target.provider_priced_cents = (target.provider_priced_cents or Decimal(0)) + cents
        split = by != "model" or provider == "anthropic"
        for cost in costs:
            model = cost["model"] or _line_item_model(cost["line_item"])
            target = row(_key(by, cost["bucket_start"], cost["project"], model))
            target.billed_cents = (target.billed_cents or Decimal(0)) + cost["cost_cents"]
        total = Row(provider, "total")
        for r in rows.values():
            if not split and r.billed_cents is None:
                r.compared_with = "provider usage"
            _compare(r, threshold_pct)
            _add(total, r)
        _compare(total, threshold_pct)
        found.rows.extend(sorted(rows.values(), key=lambda r: r.key))
        found.totals.append(total)
    return found


_TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def _key(by: str, at: datetime, project: str | None, model: str | None) -> str | None:
    if by == "day":
        return f"{at:%Y-%m-%d}"
    return project if by == "project" else model


def _line_item_model(line_item: str | None) -> str | None:
    """OpenAI's cost line items read '<model>, <what>' ('gpt-4o-mini-2024-07-18, input')."""
    if line_item and ", " in line_item:
        return line_item.split(", ", 1)[0]
    return None


def _priced(session: Session, provider: str, buckets: list[dict]) -> list[Decimal | None]:
    """Each bucket's usage at chatvault's prices at its start (None where unpriced)."""
    from chatvault.db.types import from_micro_cents

    out: list[Decimal | None] = []
    for b in buckets:
        usages = Usages(
            [
                [b["input_tokens"]],
                [b["output_tokens"]],
                [b["cache_read_tokens"]],
                [b["cache_write_tokens"]],
                [b["cache_write_1h_tokens"]],
                [max(b["request_count"], 1)],
            ],
            [b["service_tier"]],
            [b["context_window"]],
        )
        at = b["bucket_start"]
        priced = session.prices.costs(provider, b["model"], at.date(), [at], usages)
        cost = None if priced is None else priced.costs[0]
        out.append(None if cost is None else from_micro_cents(cost))
    return out


def _add(total: Row, row: Row) -> None:
    total.requests += row.requests
    total.unpriced_requests += row.unpriced_requests
    total.provider_tokens += row.provider_tokens
    total.unpriced_tokens += row.unpriced_tokens
    for name in ("estimate_cents", "provider_priced_cents", "billed_cents"):
        value = getattr(row, name)
        if value is not None:
            setattr(total, name, (getattr(total, name) or Decimal(0)) + value)


def _compare(row: Row, threshold_pct: Decimal) -> None:
    reference = row.billed_cents if row.compared_with == "billed" else row.provider_priced_cents
    estimate = row.estimate_cents or Decimal(0)
    if reference is None and row.estimate_cents is None:
        return
    row.difference_cents = estimate - (reference or Decimal(0))
    if reference:
        row.difference_pct = (row.difference_cents * HUNDRED / reference).quantize(Decimal("0.01"))
        row.flagged = abs(row.difference_pct) > threshold_pct
    else:
        row.flagged = row.difference_cents != 0  # an estimate with nothing billed against it
