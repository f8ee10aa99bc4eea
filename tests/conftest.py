"""Database fixtures: a fresh SQLite file, PostgreSQL database or MariaDB database per test.

PostgreSQL and MariaDB tests are skipped when the server is not reachable, except in CI
(CI=true), where a missing server is a failure: those tests must run there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from chatvault.db.engine import dispose_all

ADMIN_URLS = {
    "postgresql": os.environ.get(
        "CHATVAULT_TEST_POSTGRESQL_URL", "postgresql://postgres@127.0.0.1:5432/test"
    ),
    "mysql": os.environ.get(
        "CHATVAULT_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4"
    ),
}
DIALECTS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.postgresql),
    pytest.param("mysql", marks=pytest.mark.mysql),
]


def _admin(dialect: str):
    engine = create_engine(ADMIN_URLS[dialect], poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        engine.connect().close()
    except Exception as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{dialect} must be reachable in CI: {exc}")
        pytest.skip(f"{dialect} server not reachable: {exc}")
    return engine


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No test reads or writes the developer's config, database or working directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    # COLUMNS and LINES: a terminal's (or pytest-xdist's workers', which get COLUMNS=80) size
    # would change every piped page's width.
    for name in (
        "CHATVAULT_CONFIG",
        "CHATVAULT_DATABASE_URL",
        "CHATVAULT_DEBUG",
        "COLUMNS",
        "LINES",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'chatvault.db'}"


@pytest.fixture
def postgresql_url() -> Iterator[str]:
    yield from _fresh_database("postgresql")


@pytest.fixture
def mysql_url() -> Iterator[str]:
    yield from _fresh_database("mysql")


@pytest.fixture(params=DIALECTS)
def db_url(request) -> str:
    """The same test on SQLite, PostgreSQL and MariaDB."""
    return request.getfixturevalue(f"{request.param}_url")


def create_database(admin, prefix: str) -> str:
    """A new, empty database on the admin engine's server (MariaDB's compares text exactly,
    as PostgreSQL's does); its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    create = f"CREATE DATABASE {name}"
    if admin.dialect.name == "mysql":
        create += " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    with admin.connect() as conn:
        conn.execute(text(create))
    return name


def _fresh_database(dialect: str) -> Iterator[str]:
    admin = _admin(dialect)
    name = create_database(admin, "cvtest")
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        dispose_all()  # the pooled connections chatvault kept to it
        drop = f"DROP DATABASE {name}" + (" WITH (FORCE)" if dialect == "postgresql" else "")
        with admin.connect() as conn:
            conn.execute(text(drop))
        admin.dispose()
