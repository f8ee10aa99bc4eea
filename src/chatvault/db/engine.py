"""One engine per database URL, tuned per dialect, with connection failures as domain errors."""

from __future__ import annotations

import atexit
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from chatvault.errors import DatabaseError, InputError
from chatvault.redact import redact

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 16 * 1024

# The driver a bare scheme means (installed by the extras named after the database).
_DRIVERS = {
    "postgresql": "postgresql+psycopg2",
    "postgres": "postgresql+psycopg2",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}
SUPPORTED = ("sqlite", "postgresql", "mysql", "mariadb")


def parse_url(url: str) -> URL:
    """The SQLAlchemy URL, with the default driver filled in for bare schemes."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise InputError(
            "the database URL is not a valid URL (e.g. sqlite:///usage.db, "
            "postgresql://user@host/db); check --database or $CHATVAULT_DATABASE_URL"
        ) from None
    if parsed.drivername in _DRIVERS:
        parsed = parsed.set(drivername=_DRIVERS[parsed.drivername])
    if parsed.get_backend_name() not in SUPPORTED:
        raise InputError(
            "chatvault works with SQLite, PostgreSQL and MariaDB/MySQL, "
            f"not {parsed.get_backend_name()}"
        )
    if parsed.get_backend_name() in ("mysql", "mariadb") and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed


def mask_url(url: str | URL) -> str:
    """The URL for display: the password never appears, nor a secret in the query string."""
    try:
        parsed = parse_url(url) if isinstance(url, str) else url
    except InputError:
        return "<invalid database URL>"
    return redact(parsed.render_as_string(hide_password=False))


def sqlite_path(url: str | URL) -> Path | None:
    """The file of an SQLite URL, or None for other dialects and in-memory databases."""
    parsed = parse_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def database_exists(url: str) -> bool:
    """False only for an SQLite file that does not exist yet; servers are assumed to exist."""
    path = sqlite_path(url)
    return path is None or path.exists()


def get_engine(url: str, pool_size: int = 1) -> Engine:
    """The process's engine for a URL, shared by its threads (each session checks out its own
    connection). A command uses one connection at a time; a server that serves requests in
    threads asks for the pool it needs (an engine of its own). SQLite files (and their
    folder) are created on first use."""
    with _CREATING:  # two threads asking at once get the same engine, not one each
        if (url, pool_size) not in _ENGINES:
            _ENGINES[url, pool_size] = _create_engine(url, pool_size)
        return _ENGINES[url, pool_size]


_ENGINES: dict[tuple[str, int], Engine] = {}
_CREATING = threading.Lock()


@atexit.register  # say goodbye to servers, rather than leave them to log dropped connections
def dispose_all() -> None:
    """Close every engine's pooled connections (at exit; tests, before dropping a database)."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


def _create_engine(url: str, pool_size: int) -> Engine:
    parsed = parse_url(url)
    path = sqlite_path(parsed)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        from sqlalchemy import create_engine

        # A command uses one connection at a time, but may open it more than once (a report,
        # then its hints): a pool of one keeps the server's connect cost to once a process.
        engine = create_engine(parsed, pool_size=pool_size, max_overflow=4)
    except ModuleNotFoundError as exc:
        extra = "postgresql" if parsed.get_backend_name() == "postgresql" else "mysql"
        raise DatabaseError(
            f"the {parsed.get_backend_name()} driver ({exc.name}) is not installed",
            fix=f"pip install 'chatvault[{extra}]'",
        ) from None
    if parsed.get_backend_name() == "sqlite":
        _tune_sqlite(engine)
    return engine


@contextmanager
def connect(url: str) -> Iterator[Connection]:
    """A connection, closed after the block (see `open_connection`)."""
    with open_connection(url) as conn:
        yield conn


def open_connection(url: str, engine: Engine | None = None) -> Connection:
    """A connection from the URL's shared engine (or the one given); failures to reach the
    database become one clear DatabaseError."""
    from sqlalchemy.exc import DBAPIError

    try:
        return (engine or get_engine(url)).connect()
    except DBAPIError as exc:
        raise DatabaseError(
            f"cannot open the database {mask_url(url)}: {_reason(exc, url)}"
        ) from None


def query_failure(exc: BaseException) -> DatabaseError | None:
    """What to tell a user about a statement the database failed (a sum too large for its
    integers, a lost connection, a full disk): the driver's message, never the statement
    SQLAlchemy quotes with it. None for any other exception."""
    errors = sys.modules.get("sqlalchemy.exc")  # not loaded: no statement ran
    if errors is None or not isinstance(exc, errors.DBAPIError):
        return None
    return DatabaseError(
        f"the database failed a query: {_first_line(exc.orig)}",
        fix="CHATVAULT_DEBUG=1 chatvault ... to see the statement",
    )


def without_statement(exc: BaseException) -> BaseException:
    """The error a failed statement wraps, whose message does not quote the SQL; else `exc`."""
    errors = sys.modules.get("sqlalchemy.exc")
    if errors is not None and isinstance(exc, errors.StatementError) and exc.orig is not None:
        return exc.orig
    return exc


def quoter(conn: Connection) -> Callable[[str], str]:
    """The dialect's quoting of an identifier, for SQL written as text (a name that is a
    keyword somewhere: `rows`); one function per dialect, so it can key a cache."""
    return conn.dialect.identifier_preparer.quote


@contextmanager
def locking_first(conn: Connection) -> Iterator[Connection]:
    """Within the block, transactions on `conn` are writers: on SQLite they start with BEGIN
    IMMEDIATE, taking the write lock up front instead of failing when a read lock is upgraded
    midway. Other dialects lock rows as they write, and nothing changes for them."""
    before = conn.get_execution_options().get("sqlite_begin", "")
    conn.execution_options(sqlite_begin="IMMEDIATE")  # in place, in SQLAlchemy 2
    try:
        yield conn
    finally:
        conn.execution_options(sqlite_begin=before)


def _reason(exc: Exception, url: str) -> str:
    """The driver's first line, with the password scrubbed in case a driver echoes it."""
    text = _first_line(getattr(exc, "orig", None) or exc)
    password = parse_url(url).password
    return text.replace(str(password), "***") if password else text


def _first_line(exc: BaseException) -> str:
    """A driver's message without the lines of context some add (PostgreSQL's LINE 1: ...)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _tune_sqlite(engine: Engine) -> None:
    """A busy timeout, foreign keys, and BEGIN we control. Nothing here changes the file:
    WAL mode, which persists in it, is set by `db migrate` (see db/migrate.py).

    pysqlite's own transaction handling defers BEGIN and commits before DDL, which breaks
    transactional migrations; we turn it off and emit BEGIN ourselves: plain BEGIN for
    readers, BEGIN IMMEDIATE for writers (execution option sqlite_begin="IMMEDIATE"), so a
    writer waits for the lock up front instead of failing when it upgrades a read lock.
    """
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous = NORMAL")
        # Imports and reports walk many index pages; SQLite's default 2 MiB page cache makes
        # a million-row import write the same pages out again and again (about 20% slower).
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())
