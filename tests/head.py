"""A new test database at the head schema, fast: one database per dialect is migrated once
per test session, and each test's database starts as a copy of it (SQLite: the online backup
API; PostgreSQL: CREATE DATABASE ... TEMPLATE; MariaDB, which has no templates: each table
created LIKE the template's, its rows copied, and its triggers created again).

The migrations themselves are tested from an empty database in tests/db (test_migrations,
test_legacy, test_failures): this is for tests that only need a database to work in.
"""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import NullPool

from chatvault.db.engine import dispose_all, sqlite_path
from chatvault.db.migrate import migrate

_TEMPLATES: dict[str, str] = {}  # dialect -> the migrated template (a file, a database name)


def at_head(url: str) -> None:
    """Bring the new, empty database at `url` to the head schema."""
    dialect = make_url(url).get_backend_name()
    path = sqlite_path(url) if dialect == "sqlite" else None
    if path is not None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        template = _template_file()
        with closing(sqlite3.connect(template)) as source, closing(sqlite3.connect(path)) as copy:
            source.backup(copy)
    elif dialect == "postgresql":
        _copy_postgresql(url)
    else:
        _copy_mysql(url)


def _template_file() -> str:
    if "sqlite" not in _TEMPLATES:
        folder = tempfile.mkdtemp(prefix="chatvault-head-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)  # one per test process
        path = Path(folder) / "head.db"
        migrate(f"sqlite:///{path}", backup=False)
        dispose_all()
        _TEMPLATES["sqlite"] = str(path)
    return _TEMPLATES["sqlite"]


def _template(dialect: str, target: URL, admin: Engine) -> str:
    """The dialect's migrated template database, made once per test process."""
    if dialect not in _TEMPLATES:
        from tests.conftest import create_database

        name = create_database(admin, "cvhead")
        migrate(target.set(database=name).render_as_string(hide_password=False))
        _TEMPLATES[dialect] = name
        atexit.register(_drop_template, admin.url, name)
    return _TEMPLATES[dialect]


def _copy_postgresql(url: str) -> None:
    """Replace the (new, empty) database with a copy of the migrated template."""
    from tests.conftest import ADMIN_URLS

    target = make_url(url)
    admin = create_engine(
        ADMIN_URLS["postgresql"], poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    template = _template("postgresql", target, admin)
    dispose_all()  # a copy needs the template, and the database replaced, without sessions
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE {target.database} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {target.database} TEMPLATE {template}"))
    admin.dispose()


def _copy_mysql(url: str) -> None:
    """Fill the (new, empty) database with the migrated template's tables, rows and triggers:
    0.1 s instead of the 0.5 s the revisions take."""
    from tests.conftest import ADMIN_URLS

    target = make_url(url)
    admin = create_engine(ADMIN_URLS["mysql"], poolclass=NullPool, isolation_level="AUTOCOMMIT")
    template, copy = _template("mysql", target, admin), target.database
    with admin.connect() as conn:
        tables = (
            conn.execute(
                text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                {"s": template},
            )
            .scalars()
            .all()
        )
        for table in tables:
            conn.execute(text(f"CREATE TABLE {copy}.{table} LIKE {template}.{table}"))
            conn.execute(text(f"INSERT INTO {copy}.{table} SELECT * FROM {template}.{table}"))
        triggers = (
            conn.execute(
                text(
                    "SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = :s"
                ),
                {"s": template},
            )
            .scalars()
            .all()
        )
        conn.execute(text(f"USE {copy}"))  # the trigger's body names its tables unqualified
        for trigger in triggers:
            _, sql_mode, create, *_ = conn.execute(
                text(f"SHOW CREATE TRIGGER {template}.{trigger}")
            ).one()
            conn.execute(text("SET SESSION sql_mode = :mode"), {"mode": sql_mode})
            conn.exec_driver_sql(create)
    admin.dispose()


def _drop_template(admin_url, name: str) -> None:
    engine = create_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    force = " WITH (FORCE)" if engine.dialect.name == "postgresql" else ""
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}{force}"))
    engine.dispose()
