"""The schema lifecycle: read where a database stands, then upgrade or downgrade it safely.

Each run holds a lock (PostgreSQL advisory lock, MySQL GET_LOCK, SQLite BEGIN IMMEDIATE),
reads the state under that lock, and applies every step in one transaction, so a failure
leaves the database as it was. MySQL commits each DDL statement on its own; there the
steps are idempotent (see migrations/idempotent.py) and a rerun completes the work.
"""

from __future__ import annotations

import io
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from chatvault.db import shapes
from chatvault.db.engine import (
    connect,
    database_exists,
    mask_url,
    parse_url,
    sqlite_path,
)
from chatvault.db.migration_lock import Notify, check_foreign_keys, copy_sqlite_file, exclusive
from chatvault.errors import DatabaseError, InputError, MigrationError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class DatabaseState:
    """Where a live database stands, as read from its catalog and version table."""

    dialect: str
    versioned: bool
    revision: str | None
    usage_columns: frozenset[str] | None

    @property
    def empty(self) -> bool:
        return self.revision is None and self.usage_columns is None

    @property
    def shape(self) -> str | None:
        """The revision an unversioned usage_logs matches, if any."""
        return None if self.usage_columns is None else shapes.recognise(self.usage_columns)


@dataclass(frozen=True)
class Status:
    database: str
    dialect: str
    exists: bool
    revision: str | None
    head: str
    pending: list[str]
    state: str


@dataclass
class MigrationResult:
    start: str | None
    target: str | None
    steps: list[str] = field(default_factory=list)
    adopted: str | None = None
    backup: Path | None = None


def script_directory(location: Path | None = None) -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config(location))


def read_state(conn: Connection) -> DatabaseState:
    from sqlalchemy import inspect, text

    inspector = inspect(conn)
    tables = set(inspector.get_table_names())
    revision = None
    if shapes.VERSION_TABLE in tables:
        rows = conn.execute(text(f"SELECT version_num FROM {shapes.VERSION_TABLE}")).scalars().all()
        if len(rows) > 1:
            raise MigrationError(
                f"{shapes.VERSION_TABLE} holds several revisions: {', '.join(rows)}"
            )
        revision = rows[0] if rows else None
    usage = None
    if "usage_logs" in tables:
        usage = frozenset(c["name"] for c in inspector.get_columns("usage_logs"))
    return DatabaseState(conn.dialect.name, shapes.VERSION_TABLE in tables, revision, usage)


def status(url: str, location: Path | None = None) -> Status:
    script = script_directory(location)
    head = script.get_current_head()
    dialect = parse_url(url).get_backend_name()
    state = _peek(url)
    if state is None:
        return Status(
            mask_url(url), dialect, False, None, head, _between(script, None, head), "missing"
        )
    try:
        start = _starting_point(state, script)
    except MigrationError:
        known = state.revision is None or state.revision in _known(script)
        described = "unversioned, unknown shape" if known else "unknown revision (newer chatvault?)"
        return Status(mask_url(url), dialect, True, state.revision, head, [], described)
    pending = _between(script, start, head)
    if state.empty:
        described = "empty"
    elif state.revision is None:
        described = f"unversioned (legacy shape of {start})"
    elif pending:
        described = f"{len(pending)} pending"
    elif state.usage_columns != shapes.USAGE_LOGS_COLUMNS[state.revision]:
        described = "drifted: usage_logs does not match its revision (see chatvault db verify)"
    else:
        described = "up to date"
    return Status(mask_url(url), dialect, True, state.revision, head, pending, described)


def migrate(
    url: str,
    target: str = "head",
    *,
    dry_run: bool = False,
    backup: bool = True,
    notify: Notify = lambda _: None,
    location: Path | None = None,
    make_folder: bool = True,
) -> MigrationResult:
    """Bring the database to `target`: create it, adopt a legacy one, or upgrade it.

    A dry run only reads: it takes no lock and creates no file. Without `make_folder` a new
    SQLite file's folder must exist (a typo in a path someone named makes no folders).
    """
    script = script_directory(location)
    goal = _resolve(script, target)
    if not make_folder:
        _require_folder(url)
    if dry_run:
        return _upgrade_plan(_peek(url), script, goal)
    with connect(url) as conn, exclusive(conn, notify) as conn:
        state = read_state(conn)  # read again under the lock: another run may have migrated
        result = _upgrade_plan(state, script, goal)
        if not (result.steps or result.adopted):
            return result
        if backup and not state.empty:
            result.backup = copy_sqlite_file(conn, notify)
        config = _config(location, conn)
        from alembic import command

        if result.adopted:
            notify(f"recognised an unversioned database at revision {result.adopted}; recording it")
            with _step(conn, "recording revision", result.adopted):
                command.stamp(config, result.adopted)
        for revision in result.steps:
            notify(f"applying {revision}: {_title(script, revision)}")
            with _step(conn, "revision", revision):
                command.upgrade(config, revision)
        check_foreign_keys(conn)
    return result


def downgrade(
    url: str,
    target: str,
    *,
    dry_run: bool = False,
    backup: bool = True,
    notify: Notify = lambda _: None,
    location: Path | None = None,
) -> MigrationResult:
    """Step the schema back to `target` (a revision, or 'base' to remove it all)."""
    script = script_directory(location)
    goal = _resolve(script, target)
    from chatvault.db.guard import require_database

    require_database(url)
    if dry_run:
        return _downgrade_plan(_peek(url), script, goal, target)
    with connect(url) as conn, exclusive(conn, notify) as conn:
        result = _downgrade_plan(read_state(conn), script, goal, target)
        if backup:
            result.backup = copy_sqlite_file(conn, notify)
        config = _config(location, conn)
        from alembic import command

        for revision in result.steps:
            below = script.get_revision(revision).down_revision or "base"
            notify(f"reverting {revision}: {_title(script, revision)}")
            with _step(conn, "downgrade of", revision):
                command.downgrade(config, str(below))
        check_foreign_keys(conn)
    return result


def _require_folder(url: str) -> None:
    path = sqlite_path(url)
    if path is not None and not path.parent.is_dir():
        raise DatabaseError(
            f"no folder {path.parent} for {mask_url(url)}: db migrate creates the file, "
            "not its folder",
            fix=f"mkdir -p {shlex.quote(str(path.parent))}",
        )


def _peek(url: str) -> DatabaseState | None:
    """The state, read without locking or creating anything; None when there is no file."""
    if not database_exists(url):
        return None
    with connect(url) as conn:
        return read_state(conn)


def _upgrade_plan(
    state: DatabaseState | None, script: ScriptDirectory, goal: str | None
) -> MigrationResult:
    start = None if state is None else _starting_point(state, script)
    steps = _between(script, start, goal)
    if start is not None and start != goal and not steps:
        raise MigrationError(
            f"the database is at {start}, past {goal or 'base'}",
            fix=f"chatvault db downgrade {goal or 'base'}",
        )
    result = MigrationResult(start, goal, steps)
    if state is not None and state.revision is None and not state.empty:
        result.adopted = start
    return result


def _downgrade_plan(
    state: DatabaseState | None,
    script: ScriptDirectory,
    goal: str | None,
    target: str,
) -> MigrationResult:
    if state is None or state.revision is None:
        raise MigrationError("the database has no chatvault revision to downgrade from")
    start = _starting_point(state, script)
    steps = _between(script, goal, start)
    if not steps:
        raise MigrationError(f"the database is at {start}, not above {target}")
    return MigrationResult(start, goal, list(reversed(steps)))


def upgrade_sql(url: str, target: str = "head", start: str | None = None) -> str:
    """The SQL an upgrade would run, for a DBA to review or apply; the database is not touched.

    Without `start` the database's current revision is read (read-only); 'base' means an
    empty database. An empty string means there is nothing to do.
    """
    parsed = parse_url(url)
    if parsed.get_backend_name() not in ("postgresql", "mysql", "mariadb"):
        raise InputError("--sql writes PostgreSQL or MySQL scripts; SQLite is migrated in place")
    script = script_directory()
    goal = _resolve(script, target)
    if goal is None:
        raise InputError("--sql writes upgrades; --to base is a downgrade")
    if start is None:
        state = _peek(url)
    elif start == "base":
        state = None
    elif start in _known(script):
        state = DatabaseState(parsed.get_backend_name(), True, start, None)
    else:
        raise InputError(f"unknown revision {start!r} for --from")
    plan = _upgrade_plan(state, script, goal)
    if not (plan.steps or plan.adopted):
        return ""
    from alembic import command

    buffer = io.StringIO()
    config = _config(output=buffer)
    config.set_main_option("sqlalchemy.url", f"{parsed.get_backend_name()}://")
    if plan.adopted:
        command.stamp(config, plan.adopted, sql=True)
    if plan.steps:
        command.upgrade(config, f"{plan.start}:{goal}" if plan.start else goal, sql=True)
    if parsed.get_backend_name() != "postgresql":
        # MySQL's DDL commits itself, but the UPDATEs and version rows need a COMMIT when the
        # client runs with autocommit off.
        buffer.write("COMMIT;\n")
    return buffer.getvalue()


# --- internals ----------------------------------------------------------------------------


def _config(location: Path | None = None, conn: Connection | None = None, output=None) -> Config:
    """Alembic's Config, built in code: no alembic.ini at run time."""
    from alembic.config import Config

    config = Config(output_buffer=output)
    config.set_main_option("script_location", str(location or files("chatvault.migrations")))
    config.attributes["connection"] = conn
    return config


def _known(script: ScriptDirectory) -> set[str]:
    return {s.revision for s in script.walk_revisions()}


def _resolve(script: ScriptDirectory, target: str) -> str | None:
    if target == "base":
        return None
    if target == "head":
        return script.get_current_head()
    if target not in _known(script):
        raise InputError(
            f"unknown revision {target!r} (known: {', '.join(sorted(_known(script)))})"
        )
    return target


def _between(script: ScriptDirectory, lower: str | None, upper: str | None) -> list[str]:
    """Revisions above `lower` up to and including `upper`, oldest first."""
    if upper is None:
        return []
    chain = [s.revision for s in script.iterate_revisions(upper, "base")]
    if lower is not None:
        if lower not in chain:
            return []
        chain = chain[: chain.index(lower)]
    return list(reversed(chain))


def _title(script: ScriptDirectory, revision: str) -> str:
    return ((script.get_revision(revision).doc or "").strip().splitlines() or ["(untitled)"])[0]


def _starting_point(state: DatabaseState, script: ScriptDirectory) -> str | None:
    """The revision the database is at, read or recognised; refuses to guess."""
    if state.revision is not None:
        if state.revision not in _known(script):
            raise MigrationError(
                f"the database is at revision {state.revision}, which this chatvault does not know "
                f"(its newest is {script.get_current_head()}); nothing was changed",
                fix="pip install --upgrade chatvault",
            )
        return state.revision
    if state.usage_columns is None:
        return None
    if state.shape is None:
        found = describe_mismatch(state.usage_columns)
        raise MigrationError(
            f"usage_logs has a shape chatvault does not recognise ({found}); nothing was changed",
            fix="chatvault db verify",
        )
    return state.shape


def describe_mismatch(columns: frozenset[str]) -> str:
    """How a column set differs from the closest known revision."""
    revision, expected = min(
        shapes.USAGE_LOGS_COLUMNS.items(), key=lambda item: len(item[1] ^ columns)
    )
    parts = [f"closest to revision {revision}"]
    if expected - columns:
        parts.append("missing " + ", ".join(sorted(expected - columns)))
    if columns - expected:
        parts.append("unexpected " + ", ".join(sorted(columns - expected)))
    return "; ".join(parts)


@contextmanager
def _step(conn: Connection, what: str, revision: str) -> Iterator[None]:
    """A failing step becomes one MigrationError saying what state the database is in."""
    try:
        yield
    except MigrationError:
        raise
    except Exception as exc:
        cause = getattr(exc, "orig", None) or exc
        reason = (str(cause).strip().splitlines() or [""])[0]
        if conn.dialect.name in ("mysql", "mariadb"):
            after = "MySQL keeps the DDL that already ran: fix the cause and rerun to complete it"
        else:
            after = "the database was left as it was"
        raise MigrationError(
            f"{what} {revision} failed: {type(cause).__name__}: {reason}; {after}"
        ) from exc
