"""Reads and writes of usage rows: the repository later commands call.

Functions take a Connection so a caller controls the transaction; time ranges are
[start, end) in aware datetimes; money comes back as exact Decimal cents.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)

from chatvault.db.models import UsageLog
from chatvault.db.types import cents_param, sqlite_text, utc_param

usage_logs = UsageLog.__table__


@dataclass
class UpsertCounts:
    inserted: int = 0
    replaced: int = 0  # a later snapshot of a request, with more tokens, replaced the stored one
    duplicates: int = 0  # already stored with as many tokens or more: nothing changed


@dataclass(frozen=True)
class CostTotal:
    requests: int
    cost_cents: Decimal  # over priced rows only
    unpriced_requests: int  # requests whose cost is unknown: never counted as $0


def insert_usage(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert rows (dicts of UsageLog columns); returns how many.

    This is ingest's hot path: values are converted for the driver here, once per row, and
    sent straight to its executemany, skipping SQLAlchemy's per-row parameter processing
    (a quarter of an import's time). Each run of rows with the same keys is one statement.
    """
    count = 0
    for keys, run in groupby(rows, key=lambda r: tuple(sorted(r))):
        sql, convert = _insert(conn.dialect.name, conn.dialect.paramstyle, keys)
        batch = [convert(row) for row in run]
        conn.exec_driver_sql(sql, batch)
        count += len(batch)
    return count


@functools.cache
def _insert(dialect: str, paramstyle: str, keys: tuple[str, ...]) -> tuple[str, Any]:
    """The INSERT for these columns in the driver's parameter style, and a row converter."""
    unknown = set(keys) - set(usage_logs.c.keys())
    if unknown:
        raise ValueError(f"not usage_logs columns: {', '.join(sorted(unknown))}")
    converters = {
        "created_at": (lambda v: sqlite_text(utc_param(v))) if dialect == "sqlite" else utc_param,
        "cost_cents": lambda v: cents_param(v, dialect),
    }
    values = itemgetter(*keys)  # reads every column at C speed
    converted = [(i, converters[key]) for i, key in enumerate(keys) if key in converters]

    def positional(row: Mapping[str, Any]) -> tuple:
        found = list(values(row)) if len(keys) > 1 else [values(row)]
        for i, to_driver in converted:
            found[i] = to_driver(found[i])
        return tuple(found)

    if paramstyle in ("qmark", "format"):
        marks = ["?" if paramstyle == "qmark" else "%s"] * len(keys)
        convert: Any = positional
    elif paramstyle in ("pyformat", "named"):
        marks = [f"%({k})s" if paramstyle == "pyformat" else f":{k}" for k in keys]

        def convert(row: Mapping[str, Any]) -> dict:
            return dict(zip(keys, positional(row), strict=True))

    else:
        raise ValueError(f"unsupported DBAPI parameter style {paramstyle!r}")
    sql = f"INSERT INTO usage_logs ({', '.join(keys)}) VALUES ({', '.join(marks)})"
    return sql, convert


def upsert_usage(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> UpsertCounts:
    """Store rows keyed by request_id, which must be unique within `rows`.

    A new request_id is inserted. One already stored is replaced when the new row counts more
    tokens (streaming logs repeat a request with growing counts), and is otherwise a duplicate:
    importing the same data twice changes nothing. One SELECT per batch, not per row.
    """
    counts = UpsertCounts()
    if not rows:
        return counts
    c = usage_logs.c
    stored_total = c.input_tokens + c.output_tokens + c.cache_read_tokens + c.cache_write_tokens
    stored = dict(
        conn.execute(
            select(c.request_id, stored_total).where(
                c.request_id.in_([r["request_id"] for r in rows])
            )
        ).all()
    )
    new, larger = [], []
    for row in rows:
        before = stored.get(row["request_id"])
        if before is None:
            new.append(row)
        elif _total(row) > before:
            larger.append(row)
        else:
            counts.duplicates += 1
    counts.inserted = insert_usage(conn, new)
    if larger:
        columns = [name for name in larger[0] if name != "request_id"]
        replace = (
            update(usage_logs)
            .where(c.request_id == bindparam("key"))
            .values({name: bindparam(name) for name in columns})
        )
        conn.execute(replace, [{**row, "key": row["request_id"]} for row in larger])
        counts.replaced = len(larger)
    return counts


def _total(row: Mapping[str, Any]) -> int:
    return sum(row.get(name, 0) for name in TOKEN_COLUMNS)


TOKEN_COLUMNS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


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


@dataclass(frozen=True)
class RowFilter:
    """Which rows a maintenance command touches. Times are [since, until), aware."""

    models: tuple[str, ...] = ()  # glob patterns: * and ?
    since: datetime | None = None
    until: datetime | None = None
    include_reported: bool = False  # costs the source reported are left alone unless asked


def rows_to_price(
    conn: Connection, rows: RowFilter, columns: Sequence[str], after_id: int, limit: int
) -> Sequence[RowMapping]:
    """`columns` (and the id) of the next `limit` rows with id above `after_id`, in id order
    (keyset pagination: no OFFSET scans)."""
    c = usage_logs.c
    query = select(c.id, *(c[name] for name in columns)).where(c.id > after_id)
    if not rows.include_reported:
        query = query.where(or_(c.cost_source.is_(None), c.cost_source != "reported"))
    if rows.models:
        query = query.where(or_(*(c.model.like(_like(g), escape="\\") for g in rows.models)))
    if rows.since is not None:
        query = query.where(c.created_at >= rows.since)
    if rows.until is not None:
        query = query.where(c.created_at < rows.until)
    return conn.execute(query.order_by(c.id).limit(limit)).mappings().all()


def set_costs(conn: Connection, changes: Sequence[Mapping[str, Any]]) -> None:
    """Rows' new cost and its source, by id (dicts of id, cost_cents, cost_source)."""
    if changes:
        statement = (
            update(usage_logs)
            .where(usage_logs.c.id == bindparam("row_id"))
            .values(cost_cents=bindparam("cost_cents"), cost_source=bindparam("cost_source"))
        )
        conn.execute(statement, [{**change, "row_id": change["id"]} for change in changes])


def _like(glob: str) -> str:
    escaped = glob.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


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
