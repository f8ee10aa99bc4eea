"""The export's SQL: every usage_logs column as the cell it is written as (formatted by the
database, so Python moves plain tuples), and the rows streamed from a cursor a batch at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Select, String, and_, case, cast, func, literal_column, select

from chatvault.csv_cells import TRIGGERS
from chatvault.db.filters import UsageFilter, dimension_conditions, span_conditions
from chatvault.db.models import usage_logs

COLUMNS = tuple(str(c.name) for c in usage_logs.c)  # the header: the models' column order
TEXT_COLUMNS = frozenset(c.name for c in usage_logs.c if isinstance(c.type, String))
# Their code points, inline in the SQL: no list to bind.
_TRIGGER_CODES = [literal_column(str(ord(char))) for char in TRIGGERS]
BATCH = 2000
SQLITE_CACHE_KIB = 2048  # SQLite's default page cache

# SQLite keeps cents as whole millionths (db/types.py Cents): the decimal string comes from
# integer division, so no float ever touches an amount. NULL falls to ELSE and stays NULL.
_SQLITE_CENTS = (
    "CASE WHEN {c} >= 0 THEN ({c} / 1000000) || '.' || substr({c} % 1000000 + 1000000, 2) "
    "ELSE '-' || (-{c} / 1000000) || '.' || substr(-{c} % 1000000 + 1000000, 2) END"
)


def rows_query(
    conn: Connection, rows: UsageFilter, csv: bool, neutralise: bool, count: bool
) -> tuple[Select, int | None]:
    """The statement of the filtered rows' export cells in created_at, id order; with
    `count`, how many rows it will return (one COUNT(*) first)."""
    dialect = conn.dialect.name
    where = [
        *dimension_conditions(usage_logs.c, rows, dialect),
        *span_conditions(usage_logs.c.created_at, rows.span),
    ]
    total = None
    if count:
        total = conn.execute(select(func.count()).select_from(usage_logs).where(*where)).scalar()
    cells = [_cell(column, dialect, csv, neutralise).label(column.name) for column in usage_logs.c]
    query = select(*cells).where(*where).order_by(usage_logs.c.created_at, usage_logs.c.id)
    return query, total


def _cell(column: Any, dialect: str, csv: bool, neutralise: bool) -> Any:
    """A column as its export cell: text the database formats, or the value as stored."""
    if column.name == "created_at":
        return _utc_iso(column, dialect)
    if column.name == "cost_cents":
        if dialect == "sqlite":
            return literal_column(_SQLITE_CENTS.format(c="usage_logs.cost_cents"), String)
        return cast(column, String)  # NUMERIC(20, 6) as text keeps its six places: '1.500000'
    if column.name == "billable" and csv:
        return case((column, literal_column("'true'")), (~column, literal_column("'false'")))
    if column.name in TEXT_COLUMNS and neutralise:
        return _neutralised(column, dialect)
    return column


def _utc_iso(column: Any, dialect: str) -> Any:
    """'2026-01-31T23:59:59.123456Z': the stored naive UTC time, as ISO 8601 UTC."""
    if dialect == "sqlite":
        # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff', the one format every row has (types.utc_text).
        return func.replace(column, " ", "T", type_=String) + "Z"
    if dialect == "postgresql":
        return func.to_char(column, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"', type_=String)
    return func.date_format(column, "%Y-%m-%dT%H:%i:%s.%fZ", type_=String)


def _neutralised(column: Any, dialect: str) -> Any:
    """The text with a `'` before it when its first character would start a formula."""
    if dialect == "sqlite":
        # Every trigger sorts before 'A' byte-wise (SQLite's collations only fold letters):
        # one cheap comparison rules out most cells before the code point is looked at.
        risky = and_(column < "A", func.unicode(column).in_(_TRIGGER_CODES))
    else:
        # ascii() is the first character's code (MySQL's: its first byte, 0xC2 or more for
        # anything non-ASCII, never a trigger). No text comparison here: collations there
        # may skip punctuation.
        code = func.ascii(column)
        risky = and_(code < 65, code.in_(_TRIGGER_CODES))
    return case((risky, literal_column("''''", String) + column), else_=column)


def batches(conn: Connection, query: Select) -> Iterator[Sequence[Sequence[Any]]]:
    """The rows as the driver's own tuples, BATCH at a time, from a streaming cursor."""
    open_cursor = _STREAMING_CURSORS.get(conn.dialect.driver)
    if open_cursor is None:  # a driver chatvault does not ship: SQLAlchemy's streaming
        result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(query)
        with result:
            yield from result.partitions()
        return
    # The driver's cursor, not SQLAlchemy's Rows: a Row per row was about 12% of the time.
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    if conn.dialect.name == "sqlite":
        # A scan in order reads each page once: the 16 MiB page cache imports want
        # (db/engine.py) would only add to the peak memory. This also starts the transaction
        # (db/engine.py emits BEGIN) the cursor below reads in.
        cache = conn.exec_driver_sql("PRAGMA cache_size").scalar()
        conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    cursor = open_cursor(conn.connection.driver_connection)
    try:
        cursor.execute(str(compiled), _parameters(compiled, conn.dialect))
        while batch := cursor.fetchmany(BATCH):
            yield batch
    finally:
        # Also when stopped early: pymysql first reads the rest of an unbuffered result (MySQL
        # cannot stop sending it), and would otherwise warn when the connection rolls back.
        cursor.close()
        if conn.dialect.name == "sqlite":
            with contextlib.suppress(Exception):  # never hiding why the export stopped
                conn.exec_driver_sql(f"PRAGMA cache_size = {int(cache)}")


def _parameters(compiled: Any, dialect: Any) -> Any:
    """The statement's parameters as SQLAlchemy would give them to the driver (UTC times
    made naive, or SQLite's text): each bound value through its type's bind processor."""
    values = compiled.construct_params()
    for name, value in values.items():
        processor = compiled.binds[name].type.bind_processor(dialect)
        values[name] = value if processor is None else processor(value)
    return tuple(values[name] for name in compiled.positiontup) if compiled.positional else values


def _server_side(connection: Any) -> Any:
    return connection.cursor(name="chatvault_export")  # psycopg: rows come BATCH a trip


def _unbuffered(connection: Any) -> Any:
    from pymysql.cursors import SSCursor

    return connection.cursor(SSCursor)  # rows read from the socket as they are fetched


# pysqlite's cursor is lazy already: it steps through the table as rows are fetched.
_STREAMING_CURSORS = {
    "pysqlite": lambda c: c.cursor(),
    "psycopg": _server_side,
    "psycopg2": _server_side,
    "pymysql": _unbuffered,
}
