"""Reads of usage rows, and reprice's cost updates: the repository commands call.
New rows are written by db/writes.py.

Functions take a Connection so a caller controls the transaction; time ranges are
[start, end) in aware datetimes; money comes back as exact Decimal cents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)

from chatvault.db.filters import UsageFilter, dimension_conditions, span_conditions
from chatvault.db.models import TOTAL_COLUMNS, usage_logs


@dataclass(frozen=True)
class CostTotal:
    requests: int
    cost_cents: Decimal  # over priced rows only
    unpriced_requests: int  # requests whose cost is unknown: never counted as $0


@dataclass(frozen=True)
class ModelUse:
    provider: str | None
    model: str
    requests: int
    first: datetime
    last: datetime


def unpriced_models(conn: Connection) -> list[ModelUse]:
    """Models with requests whose cost is unknown, most requests first (one GROUP BY)."""
    c = usage_logs.c
    query = (
        select(
            c.provider,
            c.model,
            func.sum(c.request_count),
            func.min(c.created_at),
            func.max(c.created_at),
        )
        .where(c.cost_cents.is_(None))
        .group_by(c.provider, c.model)
        .order_by(func.sum(c.request_count).desc(), c.model)
    )
    return [ModelUse(p, m, int(n), first, last) for p, m, n, first, last in conn.execute(query)]


def estimated_by_price_data(conn: Connection) -> list[tuple[str | None, int]]:
    """How many rows with an estimated cost each price data priced (None: not recorded, as
    for rows priced before revision 0009), most first."""
    c = usage_logs.c
    query = (
        select(c.price_data, func.count())
        .where(c.cost_source == "estimated")
        .group_by(c.price_data)
        .order_by(func.count().desc(), c.price_data)
    )
    return [(data, int(rows)) for data, rows in conn.execute(query)]


def rows_to_price(
    conn: Connection,
    rows: UsageFilter,
    include_reported: bool,
    columns: Sequence[str],
    after_id: int,
    limit: int,
) -> Sequence[RowMapping]:
    """`columns` (and the id) of the next `limit` filtered rows with id above `after_id`, in
    id order (keyset pagination: no OFFSET scans). Costs the source reported are left out
    unless `include_reported`."""
    c = usage_logs.c
    query = select(c.id, *(c[name] for name in columns)).where(
        c.id > after_id,
        *span_conditions(c.created_at, rows.span),
        *dimension_conditions(c, rows, conn.dialect.name),
    )
    if not include_reported:
        query = query.where(or_(c.cost_source.is_(None), c.cost_source != "reported"))
    return conn.execute(query.order_by(c.id).limit(limit)).mappings().all()


def set_costs(conn: Connection, changes: Sequence[Mapping[str, Any]]) -> None:
    """Rows' new cost, its source and price data, by id (dicts of id, cost_cents, cost_source,
    price_data)."""
    if changes:
        statement = (
            update(usage_logs)
            .where(usage_logs.c.id == bindparam("row_id"))
            .values(
                cost_cents=bindparam("cost_cents"),
                cost_source=bindparam("cost_source"),
                price_data=bindparam("price_data"),
            )
        )
        conn.execute(statement, [{**change, "row_id": change["id"]} for change in changes])


def get_by_user_and_date_range(
    conn: Connection, user_id: str, start: datetime, end: datetime
) -> Sequence[RowMapping]:
    """One user's rows created in [start, end), oldest first."""
    query = (
        select(usage_logs)
        .where(
            usage_logs.c.user_id == user_id,
            usage_logs.c.created_at >= start,
            usage_logs.c.created_at < end,
        )
        .order_by(usage_logs.c.created_at, usage_logs.c.id)
    )
    return conn.execute(query).mappings().all()


def total_cost(
    conn: Connection, start: datetime | None = None, end: datetime | None = None
) -> CostTotal:
    """Requests and exact cost in [start, end), summed in SQL; unpriced rows counted apart."""
    requests = func.coalesce(func.sum(usage_logs.c.request_count), 0)
    # CASE rather than FILTER (...): MariaDB has no FILTER clause.
    unpriced_count = case((usage_logs.c.cost_cents.is_(None), usage_logs.c.request_count), else_=0)
    unpriced = func.coalesce(func.sum(unpriced_count), 0)
    query = select(requests, func.sum(usage_logs.c.cost_cents), unpriced)
    if start is not None:
        query = query.where(usage_logs.c.created_at >= start)
    if end is not None:
        query = query.where(usage_logs.c.created_at < end)
    total_requests, cents, unpriced_requests = conn.execute(query).one()
    return CostTotal(int(total_requests), cents or Decimal("0"), int(unpriced_requests))


# What `usage logs` lists, in its order (docs/usage.md): what identifies and labels a row,
# then what it counts (its requests, and the tokens of its total), costs and takes.
LOG_LABELS = ("id", "created_at", "user_id", "model", "provider", "project", "status")
LOG_QUANTITIES = ("request_count", *TOTAL_COLUMNS, "cost_cents", "processing_time_seconds")
LOG_COLUMNS = (*LOG_LABELS, *LOG_QUANTITIES)
# The usage_logs columns it leaves out on purpose: a column added to the table goes in one or
# the other (a test checks).
LOG_LEFT_OUT = frozenset(
    (
        "request_id",
        "session_id",
        "api_key",
        "machine",  # --machine filters it; --group-by machine sums it
        "cache_write_1h_tokens",
        "cost_source",
        "price_data",
        "service_tier",
        "context_window",
        "billable",
        "session_duration_seconds",
        "error_details",
    )
)


def newest_rows(
    conn: Connection, rows: UsageFilter, limit: int, offset: int = 0, after_id: int | None = None
) -> Sequence[RowMapping]:
    """The filtered rows, newest first; `after_id` continues after that row (keyset: no
    OFFSET scan however deep the listing goes)."""
    c = usage_logs.c
    query = select(*(c[name] for name in LOG_COLUMNS)).where(
        *span_conditions(c.created_at, rows.span),
        *dimension_conditions(c, rows, conn.dialect.name),
    )
    if after_id is not None:
        anchor = conn.execute(select(c.created_at).where(c.id == after_id)).scalar()
        if anchor is None:
            return []
        query = query.where(
            or_(c.created_at < anchor, and_(c.created_at == anchor, c.id < after_id))
        )
    query = query.order_by(c.created_at.desc(), c.id.desc()).limit(limit).offset(offset)
    return conn.execute(query).mappings().all()
