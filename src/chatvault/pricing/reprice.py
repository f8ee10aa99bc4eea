"""Recomputing estimated costs after prices or overrides change.

Rows are read in id order, a batch at a time, each batch committed on its own: repricing is
idempotent, so an interrupted run loses nothing and the next one finishes it. Costs the
source reported stay as they are unless asked for (`include_reported`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from chatvault.db.queries import rows_to_price, set_costs
from chatvault.money import MAX_CENTS
from chatvault.pricing.prices import PRICED_BY, PriceBook, cost_cents, usage_of

if TYPE_CHECKING:
    from chatvault.db.filters import UsageFilter
    from chatvault.session import Session

BATCH = 5000
# What repricing a row reads: its instant, model and provider, what its cost depends on, its cost.
COLUMNS = ("created_at", "provider", "model", *PRICED_BY, "cost_cents", "cost_source", "price_data")


@dataclass
class RepriceSummary:
    examined: int = 0
    changed: int = 0
    newly_priced: int = 0
    unpriced: int = 0  # still without a price
    by_override: int = 0  # priced with the config's overrides
    beyond_maximum: int = 0  # estimated above MAX_CENTS, which no record may cost: unpriced
    before_cents: Decimal = Decimal(0)  # the examined rows' total, before and after
    after_cents: Decimal = Decimal(0)


def reprice(
    session: Session, rows: UsageFilter, include_reported: bool = False, dry_run: bool = False
) -> RepriceSummary:
    """Recompute the filtered rows' costs with the session's prices, a batch per transaction."""
    summary = RepriceSummary()
    last_id = 0
    with session.writer() as conn:
        while True:
            with conn.begin() as transaction:
                batch = rows_to_price(conn, rows, include_reported, COLUMNS, last_id, BATCH)
                if not batch:
                    break
                set_costs(conn, _changes(batch, session.prices, summary))
                if dry_run:
                    transaction.rollback()
            last_id = batch[-1]["id"]
    return summary


def _changes(batch, book: PriceBook, summary: RepriceSummary) -> list[dict]:
    changes = []
    for row in batch:
        summary.examined += 1
        rates = book.rates(row["provider"], row["model"], row["created_at"])
        new = None if rates is None else cost_cents(usage_of(row), rates)
        if new is not None and new > MAX_CENTS:
            summary.beyond_maximum += 1
            new = None  # unknown, as ingest would have refused it: never a cost it cannot be
        source = None if new is None else "estimated"
        data = None if new is None else rates.price_data
        old = row["cost_cents"]
        summary.before_cents += old or 0
        summary.after_cents += new or 0
        if new is None:
            summary.unpriced += 1
        elif old is None:
            summary.newly_priced += 1
        if new is not None and rates.override:
            summary.by_override += 1
        if (new, source, data) != (old, row["cost_source"], row["price_data"]):
            summary.changed += 1
            change = {"id": row["id"], "cost_cents": new, "cost_source": source}
            changes.append({**change, "price_data": data})
    return changes
