"""Usage rows streamed to CSV or JSONL (docs/export.md): every column, exact, oldest first.

The database formats the cells (UTC timestamps, cost strings, CSV booleans, formula
neutralisation), so Python only moves plain tuples into csv.writer or orjson a batch at a
time: memory stays flat, and the speed close to a bare cursor-to-csv.writer loop.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any, BinaryIO

from sqlalchemy import Connection, Select, String, and_, case, cast, func, literal_column, select

from chatvault.db.filters import UsageFilter, dimension_conditions, span_conditions
from chatvault.db.guard import open_current
from chatvault.db.models import usage_logs
from chatvault.errors import ChatvaultError, InputError

COLUMNS = tuple(str(c.name) for c in usage_logs.c)  # the header: the models' column order
TEXT_COLUMNS = frozenset(c.name for c in usage_logs.c if isinstance(c.type, String))
# The first characters that make a spreadsheet evaluate a cell (OWASP: = + - @ tab CR).
TRIGGERS = (9, 13, 43, 45, 61, 64)
_TRIGGER_CODES = [literal_column(str(code)) for code in TRIGGERS]  # inline: no list to bind
BATCH = 2000
SQLITE_CACHE_KIB = 2048  # SQLite's default page cache
GZIP_LEVEL = 6  # gzip's own default; Python's 9 takes about twice as long for ~1% less
OnProgress = Callable[[int, int], None]  # (rows written so far, rows to write)
Batches = Iterable[Sequence[Sequence[Any]]]

# SQLite keeps cents as whole millionths (db/types.py Cents): the decimal string comes from
# integer division, so no float ever touches an amount. NULL falls to ELSE and stays NULL.
_SQLITE_CENTS = (
    "CASE WHEN {c} >= 0 THEN ({c} / 1000000) || '.' || substr({c} % 1000000 + 1000000, 2) "
    "ELSE '-' || (-{c} / 1000000) || '.' || substr(-{c} % 1000000 + 1000000, 2) END"
)


@dataclass(frozen=True)
class Target:
    """Where and how to write; `path` None is stdout."""

    path: Path | None
    format: str = "csv"
    compress: bool = False
    neutralise: bool = True  # CSV only: spreadsheets open CSV, not JSONL

    @classmethod
    def of(cls, output: str, format: str | None, compress: bool, raw: bool) -> Target:
        """What --output and the options mean: a `.gz` name implies gzip, and a `.jsonl` or
        `.ndjson` name JSONL unless --format says otherwise."""
        path = None if output == "-" else Path(output)
        name = "" if path is None else path.name.lower()
        compress = compress or name.endswith(".gz")
        format = format or (
            "jsonl" if name.removesuffix(".gz").endswith((".jsonl", ".ndjson")) else "csv"
        )
        if path is None and compress and sys.stdout.isatty():
            raise InputError(
                "gzip data is not written to a terminal: redirect stdout, or give --output FILE"
            )
        return cls(path, format, compress, neutralise=format == "csv" and not raw)

    def describe(self) -> str:
        return "stdout" if self.path is None else str(self.path)


@dataclass(frozen=True)
class ExportSummary:
    rows: int
    bytes: int  # as written: compressed, with gzip
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def export(
    url: str, rows: UsageFilter, target: Target, progress: OnProgress | None = None
) -> ExportSummary:
    """Write the filtered rows in created_at, id order; a file appears only once complete.

    With `progress`, the rows are counted first (one COUNT(*)) to size a progress bar.
    """
    started = perf_counter()
    with _destination(target.path) as sink, open_current(url) as conn:
        counted = _Counted(sink)
        try:
            # Counted below a 1 MiB buffer: one Python call per MiB, not per 8 KiB.
            buffered = io.BufferedWriter(counted, 1 << 20)
            stream: Any = buffered
            if target.compress:
                stream = gzip.GzipFile(
                    filename="", mode="wb", fileobj=buffered, compresslevel=GZIP_LEVEL
                )
            query, total = _query(conn, rows, target, progress is not None)
            with contextlib.closing(_batches(conn, query)) as batches:
                reported = batches if progress is None else _reporting(batches, progress, total)
                write = _write_csv if target.format == "csv" else _write_jsonl
                written = write(stream, reported)
            if target.compress:
                stream.close()  # gzip's trailer: only a complete export gets one
            buffered.flush()
        finally:
            # What a half-written gzip or text layer flushes when collected goes nowhere.
            counted.detach()
    return ExportSummary(written, counted.written, perf_counter() - started)


def _query(
    conn: Connection, rows: UsageFilter, target: Target, count: bool
) -> tuple[Select, int | None]:
    dialect = conn.dialect.name
    where = [
        *dimension_conditions(usage_logs.c, rows, dialect),
        *span_conditions(usage_logs.c.created_at, rows.span),
    ]
    total = None
    if count:
        total = conn.execute(select(func.count()).select_from(usage_logs).where(*where)).scalar()
    cells = [_cell(column, dialect, target).label(column.name) for column in usage_logs.c]
    query = select(*cells).where(*where).order_by(usage_logs.c.created_at, usage_logs.c.id)
    return query, total


def _cell(column: Any, dialect: str, target: Target) -> Any:
    """A column as its export cell: text the database formats, or the value as stored."""
    if column.name == "created_at":
        return _utc_iso(column, dialect)
    if column.name == "cost_cents":
        if dialect == "sqlite":
            return literal_column(_SQLITE_CENTS.format(c="usage_logs.cost_cents"), String)
        return cast(column, String)  # NUMERIC(20, 6) as text keeps its six places: '1.500000'
    if column.name == "billable" and target.format == "csv":
        return case((column, literal_column("'true'")), (~column, literal_column("'false'")))
    if column.name in TEXT_COLUMNS and target.neutralise:
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


def _batches(conn: Connection, query: Select) -> Iterator[Sequence[Sequence[Any]]]:
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


def _reporting(batches: Batches, progress: OnProgress, total: int | None) -> Batches:
    done, total = 0, total or 0
    progress(done, total)
    for batch in batches:
        yield batch
        done += len(batch)
        progress(done, max(total, done))  # rows inserted since the count: the bar still ends


def _write_csv(stream: BinaryIO, batches: Batches) -> int:
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    writer = csv.writer(text)  # the excel dialect: RFC 4180 quoting, CRLF line ends
    writer.writerow(COLUMNS)
    written = 0
    for batch in batches:
        writer.writerows(batch)
        written += len(batch)
    text.detach()  # flushes, and leaves the stream to its owner
    return written


def _write_jsonl(stream: BinaryIO, batches: Batches) -> int:
    import orjson

    dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    billable = COLUMNS.index("billable")
    written = 0
    write = stream.write  # buffered: a line at a time costs less than joining a batch
    for batch in batches:
        for row in batch:
            record = dict(zip(COLUMNS, row, strict=True))
            if row[billable] is not None:  # SQLite and MySQL return 0/1
                record["billable"] = bool(row[billable])
            write(dumps(record, option=newline))
        written += len(batch)
    return written


@contextlib.contextmanager
def _destination(path: Path | None) -> Iterator[BinaryIO]:
    """The output's bytes: stdout, or a temporary file next to `path` renamed over it once
    complete, and removed on any failure (an interrupt included)."""
    if path is None:
        sys.stdout.flush()  # anything printed before goes first
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    if path.is_dir():
        raise InputError(f"--output {path} is a directory")
    if path.exists() and not path.is_file():
        # A FIFO or a device (/dev/null, /dev/stdout): written as is, never renamed over.
        with _opened(path) as special:
            yield special
        return
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path}: the folder {path.parent} does not exist")
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())  # on disk before the name points at it
        os.chmod(temporary, _mode(path))
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):  # a full disk, a lost mount: the output's, not a bug
            raise ChatvaultError(
                f"cannot write {path}: {exc.strerror or exc}; nothing was written"
            ) from None
        raise


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[BinaryIO]:
    try:
        file = path.open("wb")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    with file:
        yield file


def _mode(path: Path) -> int:
    """What a plain open() would have given: the replaced file's mode, else 0666 less the umask."""
    with contextlib.suppress(FileNotFoundError):
        return stat.S_IMODE(path.stat().st_mode)
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


class _Counted(io.RawIOBase):
    """Passes bytes on to `sink` and counts them; after detach() it drops them."""

    def __init__(self, sink: BinaryIO):
        self._sink: BinaryIO | None = sink
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        size = memoryview(data).nbytes
        if self._sink is not None:
            self._sink.write(data)  # a buffered stream or a file: all of it, or an error
            self.written += size
        return size

    def flush(self) -> None:
        if self._sink is not None:
            self._sink.flush()

    def detach(self) -> Any:
        sink, self._sink = self._sink, None
        return sink
