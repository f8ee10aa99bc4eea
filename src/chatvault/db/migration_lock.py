"""What keeps a migration safe: one lock per database for its whole length (PostgreSQL
advisory lock, MySQL GET_LOCK, SQLite BEGIN IMMEDIATE after switching to WAL), a backup copy of
an SQLite file first, and SQLite's foreign keys checked before the work commits."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from chatvault.db.engine import SQLITE_BUSY_TIMEOUT_MS, locking_first, sqlite_path
from chatvault.errors import MigrationError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

LOCK_NAME = "chatvault.migrate"
PG_LOCK_KEY = 0x63766D67  # "cvmg": any constant shared by every chatvault process

SQLITE_LOCKED = "the database is locked by another writer; try again"

Notify = Callable[[str], None]


@contextmanager
def exclusive(conn: Connection, notify: Notify) -> Iterator[Connection]:
    """One transaction, holding the migration lock for its whole length."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    dialect = conn.dialect.name
    if dialect == "sqlite":
        raw = conn.connection.dbapi_connection
        # Both pragmas only work outside a transaction. WAL (readers and a writer at once)
        # persists in the file, so it is set here, when chatvault changes the file anyway.
        _switch_to_wal(raw)
        raw.execute("PRAGMA foreign_keys = OFF")  # table rebuilds need it off
    lock = None
    try:
        with locking_first(conn), conn.begin():
            if dialect == "postgresql":
                if not conn.execute(
                    text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY}
                ).scalar():
                    notify("waiting for another chatvault migration to finish")
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
            elif dialect in ("mysql", "mariadb"):
                lock = _mysql_lock(conn, notify)
            yield conn
    except OperationalError as exc:
        if dialect == "sqlite" and "locked" in str(exc.orig):
            raise MigrationError(SQLITE_LOCKED) from None
        raise
    finally:
        # Best effort: the connection may be the thing that failed, and it closes right after.
        with suppress(Exception):
            if lock is not None:
                conn.execute(text("DO RELEASE_LOCK(:name)"), {"name": lock})
                conn.rollback()
            elif dialect == "sqlite":
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = ON")


def _switch_to_wal(raw: sqlite3.Connection) -> None:
    """Switching a file to WAL writes its header, and while another connection writes,
    SQLite reports the file busy at once instead of calling the busy handler: so wait here,
    as long as the busy timeout would."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            raw.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise MigrationError(SQLITE_LOCKED) from None
            time.sleep(0.05)


def _mysql_lock(conn: Connection, notify: Notify) -> str:
    """GET_LOCK names are server-wide: the name includes the database, so only migrations of
    the same database wait for each other. Returns the name, to release it."""
    from sqlalchemy import text

    name = f"{LOCK_NAME}.{conn.engine.url.database}"[:64]
    take = text("SELECT GET_LOCK(:name, :seconds)")
    if conn.execute(take, {"name": name, "seconds": 0}).scalar() != 1:
        notify("waiting for another chatvault migration to finish")
        if conn.execute(take, {"name": name, "seconds": 3600}).scalar() != 1:
            raise MigrationError("another chatvault migration has held the lock for an hour")
    return name


def copy_sqlite_file(conn: Connection, notify: Notify) -> Path | None:
    """A consistent copy of an SQLite file next to it (SQLite's online backup API)."""
    path = sqlite_path(conn.engine.url)
    if path is None:
        notify("not backed up: chatvault copies SQLite files; use pg_dump or mariadb-dump")
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.name}.backup-{stamp}")
    try:
        with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(target)) as copy:
            source.backup(copy)
    except sqlite3.Error as exc:
        target.unlink(missing_ok=True)
        raise MigrationError(
            f"could not back up the database to {target}: {exc}; nothing was changed",
            fix="chatvault db migrate --no-backup, after copying the file yourself",
        ) from None
    notify(f"backed up the database to {target}")
    return target


def check_foreign_keys(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise MigrationError(
                f"the migration would break {len(broken)} foreign key reference(s)"
            )
