"""Writing usage rows: ingest's hot path, and the dict form for everyone else.

Rows travel as columns (or tuples) in ROW_COLUMNS order, with `created_at` as UTC text in
SQLite's storage format (db/types.py utc_text) and `cost_cents` as an integer count of
millionths of a cent: exact, and what SQLite stores. Each batch is converted for the driver
column by column and handed to its executemany (SQLite, MariaDB: PyMySQL sends multi-row
INSERTs) or to one COPY (PostgreSQL), skipping SQLAlchemy's per-row parameter processing;
columns that hold only their default in a batch are left out (every value costs time, and
most are NULL).

A batch looks up its request ids first (one SELECT on the unique index): new rows are
inserted, larger snapshots replace, the rest are duplicates. On SQLite the writer holds the
database's write lock, so what the SELECT saw stays true and no savepoint is needed. Elsewhere
another writer may insert the same id between the SELECT and the INSERT: the INSERT runs in
a savepoint, and if it meets a stored id the batch is sorted out again.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from chatvault.db.engine import quoter
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
PENDING_COLUMNS = ROW_COLUMNS[:COST]  # a row before pricing (ingest/rows.py)
_TOTAL = tuple(map(ROW_COLUMNS.index, TOTAL_COLUMNS))


def row_total(row: Sequence[Any]) -> int:
    """A row's token total (models.token_total), in ROW_COLUMNS order or a pending row's."""
    return sum(row[i] for i in _TOTAL)


def replaces(row: Sequence[Any], kept_total: int) -> bool:
    """The dedupe rule, wherever two snapshots of one request meet (streaming logs repeat a
    request with growing counts): `row` replaces the one kept, whose token total is
    `kept_total`, only if it counts more tokens; otherwise the one kept stays."""
    return row_total(row) > kept_total


def largest_snapshots(columns: Sequence[Sequence[Any]]) -> list[int]:
    """The positions of the rows to keep, of rows given as columns (or pending rows'), each
    request once: its largest snapshot, the first of equals (`replaces`' rule, a column at a
    time: only ids and totals go through Python)."""
    totals = list(map(sum, zip(*(columns[i] for i in _TOTAL), strict=True)))
    kept: dict[str, int] = {}
    for index, (request, total) in enumerate(zip(columns[REQUEST_ID], totals, strict=True)):
        before = kept.get(request)
        if before is None or total > totals[before]:
            kept[request] = index
    return sorted(kept.values())


@dataclass
class UpsertCounts:
    inserted: int = 0
    replaced: int = 0  # a later snapshot of a request, with more tokens, replaced the stored one
    duplicates: int = 0  # already stored with as many tokens or more: nothing changed
    # The positions of the rows written (inserted or replaced), None for all of them.
    written: list[int] | None = field(default=None, compare=False, repr=False)


# Any constant: the key of the advisory lock import transactions take on PostgreSQL.
_TURN = 0x63_76_69_6E  # "cvin"


def take_turn(conn: Connection) -> None:
    """Make this write transaction wait for other imports' to end (PostgreSQL: an advisory
    lock held until commit). Every insert marks its hours stale (db/rollups.py), and two
    transactions marking the same hours in different orders would deadlock; taking turns per
    transaction (a file, or a group of small files) keeps them apart. SQLite's writers already
    take turns (BEGIN IMMEDIATE); on MariaDB the marks are taken a row at a time, as the rows
    come, and InnoDB resolves a rare deadlock by refusing one file, which the next run imports."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_TURN})")


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
    importing the same data twice changes nothing.
    """
    ids = columns[REQUEST_ID]
    if not ids:
        return UpsertCounts()
    stored = _stored_totals(conn, ids)
    if not stored:  # new data, the common case: inserted at once
        if conn.dialect.name == "sqlite":
            return UpsertCounts(inserted=insert_columns(conn, columns))
        try:
            with conn.begin_nested():
                return UpsertCounts(inserted=insert_columns(conn, columns))
        except IntegrityError:  # another writer stored some of them meanwhile
            stored = _stored_totals(conn, ids)
    return _merge(conn, list(zip(*columns, strict=True)), stored)


def _stored_totals(conn: Connection, ids: Sequence[str]) -> dict[str, int]:
    """The token totals of the ids already stored. One statement of the same text whatever
    the number of ids (SQLite: a JSON array; PostgreSQL: an array), so it is prepared once:
    an IN list of thousands of parameters is built, prepared and cached per batch size, and
    cost a third of an import's time and memory that grew with the input."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        found = conn.exec_driver_sql(_STORED_SQL["sqlite"], (json.dumps(list(ids)),))
    elif dialect == "postgresql":
        found = conn.exec_driver_sql(_STORED_SQL["postgresql"], {"ids": list(ids)})
    else:
        c = usage_logs.c
        found = conn.execute(select(c.request_id, token_total(c)).where(c.request_id.in_(ids)))
    return dict(found.all())


_TOTAL_SQL = " + ".join(TOTAL_COLUMNS)
_STORED_SQL = {
    "sqlite": f"SELECT request_id, {_TOTAL_SQL} FROM usage_logs "
    "WHERE request_id IN (SELECT value FROM json_each(?))",
    "postgresql": f"SELECT request_id, {_TOTAL_SQL} FROM usage_logs "
    "WHERE request_id IN (SELECT unnest(%(ids)s::text[]))",  # six times = ANY's speed
}


def _merge(conn: Connection, rows: Sequence[tuple], stored: dict[str, int]) -> UpsertCounts:
    c = usage_logs.c
    counts = UpsertCounts(written=[])
    new, larger = [], []
    for index, row in enumerate(rows):
        before = stored.get(row[REQUEST_ID])
        if before is None:
            new.append(row)
        elif replaces(row, before):
            larger.append(row)
        else:
            counts.duplicates += 1
            continue
        counts.written.append(index)  # type: ignore[union-attr]
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
    if dialect == "postgresql":
        _copy(conn, kept_names, kept_columns)
        return count
    sql = _insert_sql(tuple(kept_names), conn.dialect.paramstyle)
    params = list(zip(*kept_columns, strict=True))
    if dialect == "sqlite" and count >= MARKED_BY_HAND:
        _insert_marking_hours(conn, sql, params, columns[CREATED_AT])
    else:
        conn.exec_driver_sql(sql, params)
    return count


# From this many rows on, a batch into SQLite marks its hours stale itself (see below).
MARKED_BY_HAND = 100
_MARK_INSERT = "usage_logs_mark_insert"  # migration 0007's trigger (db/rollups.py TRIGGERS)
_TRIGGER_SQL = f"SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = '{_MARK_INSERT}'"
_MARK = (
    "INSERT INTO usage_rollup_stale (hour) VALUES (?) "
    "ON CONFLICT (hour) DO UPDATE SET version = version + 1"
)


def _insert_marking_hours(
    conn: Connection, sql: str, params: list[tuple], created: Sequence[str]
) -> None:
    """A batch into SQLite, its hours marked stale once each instead of once per row by the
    insert trigger (two thirds of the INSERT's time). SQLite's DDL is transactional: the
    trigger is dropped and created again, exactly as it was, inside the writer's transaction,
    so no other connection ever sees it missing and a kill leaves it in place."""
    trigger = conn.exec_driver_sql(_TRIGGER_SQL).scalar()
    if trigger is None:  # not at head: the trigger's absence is db verify's to report
        conn.exec_driver_sql(sql, params)
        return
    conn.exec_driver_sql(f"DROP TRIGGER {_MARK_INSERT}")
    conn.exec_driver_sql(sql, params)
    # The trigger's strftime('%Y-%m-%d %H:00:00.000000', created_at), of utc_text's format.
    hours = sorted({moment[:13] for moment in created})
    conn.exec_driver_sql(_MARK, [(hour + ":00:00.000000",) for hour in hours])
    conn.exec_driver_sql(trigger)


def _copy(conn: Connection, names: list[str], columns: list[Sequence[Any]]) -> None:
    """Rows into PostgreSQL with one COPY (text format): a bulk statement, so the rollups'
    statement-level trigger runs once for the batch."""
    if not conn.in_transaction():  # the driver's cursor below does not begin one for us
        conn.begin()
    cursor = conn.connection.cursor()
    try:
        if not hasattr(cursor, "copy_expert"):  # a driver other than psycopg2
            sql = _insert_sql(tuple(names), conn.dialect.paramstyle)
            conn.exec_driver_sql(sql, list(zip(*columns, strict=True)))
            return
        texts = [_copy_column(column) for column in columns]
        data = "".join("\t".join(row) + "\n" for row in zip(*texts, strict=True))
        cursor.copy_expert(f"COPY usage_logs ({', '.join(names)}) FROM STDIN", io.StringIO(data))
    finally:
        cursor.close()


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"


def _copy_column(column: Sequence[Any]) -> list[str]:
    """A column's values as COPY's text format writes them, converted a column at a time."""
    kinds = set(map(type, column))
    if kinds <= {str, type(None)}:
        return [_NULL if value is None else value.translate(_COPY_ESCAPES) for value in column]
    if kinds <= {int, Decimal, float, type(None)} and bool not in kinds:
        return [_NULL if value is None else str(value) for value in column]
    return list(map(_copy_text, column))


def _copy_text(value: Any) -> str:
    """A value as COPY's text format writes it."""
    if value is None:
        return _NULL
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, datetime):
        return utc_text(value)
    return str(value)


def _to_driver(name: str, dialect: str) -> Any:
    """How one column's values are converted for the driver (identity for most)."""
    if name == "created_at" and dialect == "postgresql":  # COPY takes the UTC text as it is
        return lambda column: column
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


# A checkpoint's values, in the order ingest/checkpoints.Checkpoint takes them; what tells
# whether a file is unchanged, in the order ingest/checkpoints.unchanged reads them.
_CHECKPOINT = (
    *("file_id", "size", "mtime_ns", "read_to", "lines"),
    *("head_hash", "tail_hash", "source"),
)
_IDENTITY = ("file_id", "size", "mtime_ns", "source")
MANY = 500  # paths whose checkpoints one statement loads


def load_identities(conn: Connection, machine: str) -> dict[str, tuple]:
    """A machine's files as last imported, by path: (path, file_id, size, mtime_ns, source)
    rows as the driver gives them, in one statement (a rerun compares thousands)."""
    sql = _load_sql(conn.dialect.paramstyle, quoter(conn), _IDENTITY, 0)
    return {row[0]: row for row in conn.exec_driver_sql(sql, (machine,)).fetchall()}


def file_id(device: int, inode: int) -> str:
    """How a checkpoint records the file it was taken of."""
    return f"{device}:{inode}"


def load_checkpoints(conn: Connection, machine: str, paths: Sequence[str]) -> dict[str, tuple]:
    """The checkpoints of a machine's `paths` that have one, by path: (device, inode, size,
    mtime_ns, offset, lines, head fingerprint, tail fingerprint, source), MANY a statement."""
    kept = {}
    for start in range(0, len(paths), MANY):
        keys = [_path_key(path) for path in paths[start : start + MANY]]
        sql = _load_sql(conn.dialect.paramstyle, quoter(conn), _CHECKPOINT, len(keys))
        for path, found, *rest in conn.exec_driver_sql(sql, (machine, *keys)).fetchall():
            device, _, inode = found.partition(":")
            kept[path] = (int(device), int(inode), *rest)
    return kept


@functools.cache
def _load_sql(paramstyle: str, quote: Callable[[str], str], names: tuple, keys: int) -> str:
    """A machine's checkpoints' path and `names`: all of them, or those of `keys` paths."""
    columns = ", ".join(map(quote, ("path", *names)))
    mark = "?" if paramstyle == "qmark" else "%s"
    sql = f"SELECT {columns} FROM ingest_checkpoints WHERE machine = {mark}"
    return f"{sql} AND path_key IN ({', '.join([mark] * keys)})" if keys else sql


def _path_key(path: str) -> str:
    return hashlib.sha256(path.encode(errors="surrogateescape")).hexdigest()[:32]


def save_checkpoints(conn: Connection, machine: str, marks: list[tuple[str, tuple]]) -> None:
    """Record where files' imports stopped, in the caller's transaction (the one that wrote
    their rows): (path, checkpoint) pairs, a checkpoint being (device, inode, size,
    mtime_ns, offset, lines, head, tail, source). Two statements for all of them."""
    now: Any = datetime.now(UTC)
    now = utc_text(now) if conn.dialect.name == "sqlite" else now.replace(tzinfo=None)
    rows = []
    for path, (device, inode, *values) in marks:
        rows.append((machine, _path_key(path), path, file_id(device, inode), *values, now))
    marks_sql = _checkpoint_sql(conn.dialect.paramstyle, quoter(conn))
    conn.exec_driver_sql(marks_sql[0], [row[:2] for row in rows])
    conn.exec_driver_sql(marks_sql[1], rows)


@functools.cache
def _checkpoint_sql(paramstyle: str, quote: Callable[[str], str]) -> tuple[str, str]:
    """The statements, names quoted as the dialect needs (MariaDB reserves `lines`)."""
    mark = "?" if paramstyle == "qmark" else "%s"
    columns = ("machine", "path_key", "path", "file_id", *_CHECKPOINT[1:], "updated_at")
    names = tuple(map(quote, columns))
    delete_sql = f"DELETE FROM ingest_checkpoints WHERE machine = {mark} AND path_key = {mark}"
    insert_sql = (
        f"INSERT INTO ingest_checkpoints ({', '.join(names)}) "
        f"VALUES ({', '.join([mark] * len(names))})"
    )
    return delete_sql, insert_sql
