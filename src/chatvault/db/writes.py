"""Writing usage rows: ingest's hot path, and the dict form for everyone else.

Rows travel as columns (or tuples) in ROW_COLUMNS order, with `created_at` as UTC text in
SQLite's storage format (db/types.py utc_text) and `cost_cents` as an integer count of
millionths of a cent: exact, and what SQLite stores. Each batch is converted for the driver
column by column and handed to its executemany, skipping SQLAlchemy's per-row parameter
processing; columns that hold only their default in a batch are left out of its INSERT
(every bound value costs time, and most are NULL).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from chatvault.db.models import DEFAULTS, TOTAL_COLUMNS, token_total, usage_logs
from chatvault.db.types import from_micro_cents, from_utc_text, to_micro_cents, utc_text

# The cost, where it came from and the price data that priced it: last in a row, since pricing
# fills them in (ingest/rows.py).
_PRICING = ("cost_cents", "cost_source", "price_data")
# Every usage_logs column but the key, in the table's order, the cost last.
ROW_COLUMNS = (
    *(c.name for c in usage_logs.c if not c.primary_key and c.name not in _PRICING),
    *_PRICING,
)
REQUEST_ID, CREATED_AT, COST = map(ROW_COLUMNS.index, ("request_id", "created_at", "cost_cents"))
_TOTAL = tuple(map(ROW_COLUMNS.index, TOTAL_COLUMNS))


def row_total(row: Sequence[Any]) -> int:
    """A row's token total (models.token_total), in ROW_COLUMNS order or a pending row's."""
    return sum(row[i] for i in _TOTAL)


def replaces(row: Sequence[Any], kept_total: int) -> bool:
    """The dedupe rule, wherever two snapshots of one request meet (streaming logs repeat a
    request with growing counts): `row` replaces the one kept, whose token total is
    `kept_total`, only if it counts more tokens; otherwise the one kept stays."""
    return row_total(row) > kept_total


@dataclass
class UpsertCounts:
    inserted: int = 0
    replaced: int = 0  # a later snapshot of a request, with more tokens, replaced the stored one
    duplicates: int = 0  # already stored with as many tokens or more: nothing changed


def insert_usage(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert rows given as dicts of usage_logs columns (cost_cents in Decimal cents);
    returns how many."""
    return insert_columns(conn, columns_of([_tuple(row) for row in rows]))


def _tuple(row: Mapping[str, Any]) -> tuple:
    unknown = set(row) - set(ROW_COLUMNS)
    if unknown:
        raise ValueError(f"not usage_logs columns: {', '.join(sorted(unknown))}")
    values = [row.get(name, DEFAULTS.get(name)) for name in ROW_COLUMNS]
    if values[COST] is not None:
        values[COST] = to_micro_cents(values[COST])
    values[CREATED_AT] = utc_text(values[CREATED_AT])
    return tuple(values)


def columns_of(rows: Sequence[tuple]) -> list[Sequence[Any]]:
    """Rows (tuples in ROW_COLUMNS order) as columns."""
    return list(zip(*rows, strict=True)) if rows else [()] * len(ROW_COLUMNS)


def upsert(conn: Connection, columns: Sequence[Sequence[Any]]) -> UpsertCounts:
    """Store rows, given as columns in ROW_COLUMNS order, keyed by request_id, which must be
    unique among them.

    A new request_id is inserted. One already stored is replaced when the new row counts more
    tokens (streaming logs repeat a request with growing counts), and is otherwise a duplicate:
    importing the same data twice changes nothing. New data, the common case, is inserted at
    once; only a batch that meets stored ids is sorted out, with one SELECT.
    """
    if not columns[REQUEST_ID]:
        return UpsertCounts()
    try:
        with conn.begin_nested():
            return UpsertCounts(inserted=insert_columns(conn, columns))
    except IntegrityError:
        return _merge(conn, list(zip(*columns, strict=True)))


def _merge(conn: Connection, rows: Sequence[tuple]) -> UpsertCounts:
    c = usage_logs.c
    ids = [row[REQUEST_ID] for row in rows]
    stored = dict(
        conn.execute(select(c.request_id, token_total(c)).where(c.request_id.in_(ids))).all()
    )
    counts = UpsertCounts()
    new, larger = [], []
    for row in rows:
        before = stored.get(row[REQUEST_ID])
        if before is None:
            new.append(row)
        elif replaces(row, before):
            larger.append(row)
        else:
            counts.duplicates += 1
    counts.inserted = insert_columns(conn, columns_of(new))
    if larger:
        names = [name for name in ROW_COLUMNS if name != "request_id"]
        replace = (
            update(usage_logs)
            .where(c.request_id == bindparam("key"))
            .values({name: bindparam(name) for name in names})
        )
        params = []
        for row in larger:
            values = dict(zip(ROW_COLUMNS, row, strict=True))
            values["cost_cents"] = _decimal_cents(values["cost_cents"])
            values["created_at"] = from_utc_text(values["created_at"])
            params.append({**values, "key": row[REQUEST_ID]})
        conn.execute(replace, params)
        counts.replaced = len(larger)
    return counts


def insert_columns(conn: Connection, columns: Sequence[Sequence[Any]]) -> int:
    """Insert rows given as columns in ROW_COLUMNS order; returns how many."""
    count = len(columns[REQUEST_ID])
    if not count:
        return 0
    dialect = conn.dialect.name
    kept_names, kept_columns = [], []
    for name, column in zip(ROW_COLUMNS, columns, strict=True):
        if name != "request_id" and column.count(DEFAULTS.get(name)) == count:
            continue  # the database fills in the same value
        kept_names.append(name)
        kept_columns.append(_to_driver(name, dialect)(column))
    sql = _insert_sql(tuple(kept_names), conn.dialect.paramstyle)
    conn.exec_driver_sql(sql, list(zip(*kept_columns, strict=True)))
    return count


def _to_driver(name: str, dialect: str) -> Any:
    """How one column's values are converted for the driver (identity for most)."""
    if name == "created_at" and dialect != "sqlite":  # SQLite stores the text itself
        return lambda column: list(map(datetime.fromisoformat, column))
    if name == "cost_cents" and dialect != "sqlite":
        return lambda column: [_decimal_cents(value) for value in column]
    return lambda column: column


def _decimal_cents(micro_cents: int | None) -> Decimal | None:
    return None if micro_cents is None else from_micro_cents(micro_cents)


@functools.cache
def _insert_sql(names: tuple[str, ...], paramstyle: str) -> str:
    marks = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(paramstyle)
    if marks is None:
        raise ValueError(f"unsupported DBAPI parameter style {paramstyle!r}")
    return f"INSERT INTO usage_logs ({', '.join(names)}) VALUES ({', '.join([marks] * len(names))})"
