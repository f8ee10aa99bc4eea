"""Writing usage from your own application, with the checks and pricing `ingest` uses.

from chatvault import UsageStore

store = UsageStore()  # the database and config chatvault itself would use
store.record(model="gpt-4o", user_id="alice", input_tokens=1200, output_tokens=300)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from chatvault.config import load_settings
from chatvault.db.types import from_micro_cents
from chatvault.db.writes import (
    COST,
    REQUEST_ID,
    UpsertCounts,
    columns_of,
    replaces,
    row_total,
    upsert,
)
from chatvault.errors import InputError
from chatvault.ingest.record import RecordError, UsageRecord, beyond
from chatvault.ingest.rows import pending_row, priced
from chatvault.money import MAX_CENTS, usd_rounded
from chatvault.pricing.prices import PriceBook
from chatvault.session import Session


class UsageStore:
    """A chatvault database that your application writes usage to."""

    def __init__(self, database: str | None = None, config: str | Path | None = None):
        self.settings = load_settings(database, Path(config) if config else None)
        self.prices = PriceBook(self.settings.config.pricing.overrides)

    def record(self, *, model: str, user_id: str, **fields: Any) -> Decimal | None:
        """Store one request; returns its cost in US cents (None if the model has no price).

        Fields are the usage_logs columns (docs/ingest.md). `created_at` (aware) defaults to
        now and `request_id` to a new UUID; a cost the provider reported goes in
        `cost_cents` (Decimal) and is kept as reported.
        """
        row = self._row({"model": model, "user_id": user_id, **fields})
        self._store([row])
        return None if row[COST] is None else from_micro_cents(row[COST])

    def record_many(self, records: Iterable[Mapping[str, Any]]) -> UpsertCounts:
        """Store many requests in one transaction: all of them, or none if one is invalid."""
        rows: dict[str, tuple] = {}
        for fields in records:
            row = self._row(dict(fields))
            kept = rows.get(row[REQUEST_ID])
            if kept is None or replaces(row, row_total(kept)):  # the one dedupe rule
                rows[row[REQUEST_ID]] = row
        return self._store(list(rows.values()))

    def _row(self, fields: dict[str, Any]) -> tuple:
        fields.setdefault("request_id", f"app:{uuid.uuid4().hex}")
        fields.setdefault("created_at", datetime.now(UTC))
        moment = fields["created_at"]
        if not isinstance(moment, datetime) or moment.tzinfo is None:
            raise InputError("created_at must be a datetime with a time zone")
        fields["created_at"] = moment.astimezone(UTC)
        try:
            record = UsageRecord(**fields).check(datetime.now(UTC))
        except TypeError as exc:
            raise InputError(f"not a usage field: {exc}") from None
        except RecordError as exc:
            raise InputError(str(exc)) from None
        (row,) = zip(*priced(columns_of([pending_row(record)]), self.prices), strict=True)
        if row[COST] is not None and from_micro_cents(row[COST]) > MAX_CENTS:
            cost = usd_rounded(from_micro_cents(row[COST]))
            raise InputError(
                f"cost: estimated at {cost} at {record.model}'s price, {beyond(MAX_CENTS)}"
            )
        return row

    def _store(self, rows: list[tuple]) -> UpsertCounts:
        with Session(self.settings) as session, session.writing() as conn:
            return upsert(conn, columns_of(rows))


def record_usage(**fields: Any) -> Decimal | None:
    """Store one request in the default database: `UsageStore().record(**fields)`."""
    return UsageStore().record(**fields)
