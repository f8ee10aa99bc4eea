"""Records as the rows ingest deduplicates, prices and stores.

A pending row holds a record's values in ROW_COLUMNS order up to the cost (its time as UTC
text, see db/writes.py), then the cost the source reported (integer millionths of a cent)
or None. Pricing makes it a row to store: the reported cost kept, else one estimated from
the price list, else none (unpriced, never 0), followed by where the cost came from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import date
from operator import attrgetter, itemgetter
from typing import Any

from chatvault.db.types import to_micro_cents, utc_text
from chatvault.db.writes import COST, PENDING_COLUMNS, ROW_COLUMNS
from chatvault.ingest.record import COUNTS, UsageRecord
from chatvault.pricing.prices import PRICED_BY, PriceBook, TokenUsage, Usages

_at = ROW_COLUMNS.index
REQUEST_ID, CREATED_AT, MODEL, PROVIDER = map(
    _at, ("request_id", "created_at", "model", "provider")
)
REQUESTS, PRICE_DATA = _at("request_count"), _at("price_data")
SERVICE_TIER, CONTEXT_WINDOW = map(_at, ("service_tier", "context_window"))
# The counts in the order Usages takes them: TokenUsage's (pricing/prices.py).
_PRICED_COUNTS = {field: column for column, field in PRICED_BY.items() if column in COUNTS}
USAGE_COUNTS = tuple(
    _at(_PRICED_COUNTS[field.name]) for field in fields(TokenUsage) if field.name in _PRICED_COUNTS
)
_values = attrgetter(*PENDING_COLUMNS)


def pending_row(record: UsageRecord) -> tuple:
    reported = None if record.cost_cents is None else to_micro_cents(record.cost_cents)
    values = _values(record)
    return (*values[:CREATED_AT], utc_text(record.created_at), *values[CREATED_AT + 1 :], reported)


def priced(columns: Sequence[Sequence[Any]], prices: PriceBook) -> list[Sequence[Any]]:
    """Pending rows, as columns, made the columns of rows to store: each cost the source did
    not report estimated from the price list in force at the row's instant where it can be
    (None otherwise: unpriced, never 0), then the cost's source and the price data that
    priced it. Rows are priced a (provider, model, day) at a time, each price period of the
    day at once (PriceBook.costs)."""
    costs = list(columns[COST])
    sources = [None if cost is None else "reported" for cost in costs]
    price_data: list[str | None] = [None] * len(costs)
    days = map(itemgetter(slice(0, 10)), columns[CREATED_AT])  # UTC text: the date first
    groups: dict[tuple, list[int]] = defaultdict(list)
    for index, key in enumerate(zip(columns[PROVIDER], columns[MODEL], days, strict=True)):
        if costs[index] is None:
            groups[key].append(index)
    for key, indexes in groups.items():
        provider, model, day = key
        pick = _picker(indexes)
        usages = Usages(
            [pick(columns[i]) for i in USAGE_COUNTS],
            pick(columns[SERVICE_TIER]),
            pick(columns[CONTEXT_WINDOW]),
        )
        found = prices.costs(
            provider, model, date.fromisoformat(day), pick(columns[CREATED_AT]), usages
        )
        if found is None:
            continue
        for index, cost, data in zip(indexes, found.costs, found.price_data, strict=True):
            if cost is not None:
                costs[index], sources[index], price_data[index] = cost, "estimated", data
    return [*columns[:COST], costs, sources, price_data]


def _picker(indexes: list[int]) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """Reads the values at `indexes` of a column, at C speed."""
    if len(indexes) == 1:
        (index,) = indexes
        return lambda column: (column[index],)
    return itemgetter(*indexes)
