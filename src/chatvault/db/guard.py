"""The check every data command runs first: is the schema the one this chatvault expects?

It costs two cheap queries (the version row, and the column names of an empty SELECT), so
it can run on every invocation; `db verify` does the full comparison. Only when the version
row cannot be read does it look further, to say why.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.exc import DBAPIError

from chatvault.db import shapes
from chatvault.db.engine import database_exists, mask_url, open_connection, sqlite_path
from chatvault.errors import SchemaError
from chatvault.paths import default_database_file, demo_export, demo_files

MIGRATE = "chatvault db migrate"


def open_checked(url: str, create: bool = False, engine: Engine | None = None) -> Connection:
    """A connection to a database whose schema is at head, or a SchemaError saying what to do;
    the check's read transaction is left open.

    With `create` (the default database, on first use) a missing SQLite file is created at
    head; a missing file someone named is more likely a typo than a wish, and is an error.
    """
    if create and not database_exists(url):
        from chatvault.db.migrate import migrate

        migrate(url)
    require_database(url)
    conn = open_connection(url, engine)
    try:
        check_current(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def require_database(url: str) -> None:
    """A SchemaError if the URL names an SQLite file that does not exist: every command says
    the same (exit 4), and `db migrate` creates it. When it is the default database and
    `chatvault demo` made its own, the error says how to use that one instead: a command
    the demo suggested, run without the `export` it printed, lands here."""
    if database_exists(url):
        return
    missing = f"no chatvault database at {mask_url(url)} yet"
    export = demo_export()
    if export is None or sqlite_path(url).resolve() != default_database_file().resolve():
        raise SchemaError(missing, fix=MIGRATE)
    raise SchemaError(
        f"{missing}; `chatvault demo` made one at {demo_files()[0]}",
        fix=f"{export} to use it, or {MIGRATE} for an empty one of your own",
    )


def check_current(conn: Connection) -> None:
    revision = _revision(conn)
    if revision is None:
        legacy = inspect(conn).has_table("usage_logs")
        what = "holds an unversioned (legacy) usage_logs table" if legacy else "is not initialised"
        raise SchemaError(f"the database {what}", fix=MIGRATE)
    if revision not in shapes.USAGE_LOGS_COLUMNS:
        raise SchemaError(
            f"the database schema is at revision {revision}, newer than this chatvault "
            f"({shapes.HEAD})",
            fix="pip install --upgrade chatvault",
        )
    if revision != shapes.HEAD:
        raise SchemaError(
            f"the database schema is out of date (revision {revision}, chatvault needs "
            f"{shapes.HEAD})",
            fix=MIGRATE,
        )
    columns = set(conn.exec_driver_sql("SELECT * FROM usage_logs WHERE 1 = 0").keys())
    expected = shapes.USAGE_LOGS_COLUMNS[shapes.HEAD]
    if columns != expected:
        missing = ", ".join(sorted(expected - columns)) or "none"
        extra = ", ".join(sorted(columns - expected)) or "none"
        raise SchemaError(
            f"usage_logs has drifted from revision {revision} (missing: {missing}; "
            f"unexpected: {extra})",
            fix="chatvault db verify",
        )


def holds_usage(conn: Connection, besides: str | None = None) -> bool:
    """Whether the database has a usage_logs table with at least one row (with `besides`,
    one whose request_id does not start with it)."""
    from sqlalchemy import or_, select

    from chatvault.db.models import usage_logs

    if not inspect(conn).has_table("usage_logs"):
        return False
    query = select(usage_logs.c.id).limit(1)
    if besides is not None:
        request_id = usage_logs.c.request_id
        query = query.where(
            or_(request_id.is_(None), ~request_id.startswith(besides, autoescape=True))
        )
    return conn.execute(query).first() is not None


def _revision(conn: Connection) -> str | None:
    try:
        return conn.exec_driver_sql(f"SELECT version_num FROM {shapes.VERSION_TABLE}").scalar()
    except DBAPIError:
        conn.rollback()  # PostgreSQL refuses anything else in a failed transaction
        if inspect(conn).has_table(shapes.VERSION_TABLE):
            raise
        return None
