"""Records as the rows ingest deduplicates, prices and stores.

A pending row holds a record's values in ROW_COLUMNS order up to the cost, then the cost the
source reported (integer millionths of a cent) or None. Pricing turns it into a stored row:
the reported cost kept, else one estimated from the price list, else none (unpriced,
never 0), followed by where the cost came from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from operator import attrgetter
from typing import Any

from chatvault.db.types import to_micro_cents
from chatvault.db.writes import COST, ROW_COLUMNS
from chatvault.ingest.record import COUNTS, UsageRecord
from chatvault.pricing import PriceBook, Usages

PENDING_COLUMNS = ROW_COLUMNS[:COST]
_at = ROW_COLUMNS.index
REQUEST_ID, CREATED_AT, MODEL, PROVIDER = map(
    _at, ("request_id", "created_at", "model", "provider")
)
COUNT_INDEXES = tuple(map(_at, COUNTS))
INPUT, OUTPUT, CACHE_READ, CACHE_WRITE, _, REQUESTS = COUNT_INDEXES
SERVICE_TIER, CONTEXT_WINDOW = map(_at, ("service_tier", "context_window"))
_values = attrgetter(*PENDING_COLUMNS)


def pending_row(record: UsageRecord) -> tuple:
    reported = None if record.cost_cents is None else to_micro_cents(record.cost_cents)
    return (*_values(record), reported)


def total_tokens(row: tuple) -> int:
    """What decides which of two snapshots of one request is kept: the larger."""
    return row[INPUT] + row[OUTPUT] + row[CACHE_READ] + row[CACHE_WRITE]


def priced_rows(rows: Iterable[tuple], prices: PriceBook) -> list[tuple]:
    """Pending rows made rows to store, in the same order, each with its cost and the cost's
    source. Rows are priced a (provider, model, day) group at a time."""
    rows = list(rows)
    costs: list[Any] = [row[COST] for row in rows]
    sources: list[str | None] = ["reported" if cost is not None else None for cost in costs]
    groups: dict[tuple, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        if row[COST] is None:
            groups[row[PROVIDER], row[MODEL], row[CREATED_AT].date()].append(index)
    for key, indexes in groups.items():
        rates = prices.rates(*key)
        if rates is None:
            continue  # unpriced: the cost stays None, never 0
        group = [rows[index] for index in indexes]
        usages = Usages(
            [[row[i] for row in group] for i in COUNT_INDEXES],
            [row[SERVICE_TIER] for row in group],
            [row[CONTEXT_WINDOW] for row in group],
        )
        for index, cost in zip(indexes, rates.scaled.costs(usages), strict=True):
            costs[index], sources[index] = cost, "estimated"
    return [
        (*row[:COST], cost, source) for row, cost, source in zip(rows, costs, sources, strict=True)
    ]
