"""`db verify`: compare the live database with the models, one finding per difference.

Alembic's compare_metadata finds the differences; this module turns them into rows a person
can act on, and recognises rename-shaped drift (a column missing and another one present
where it is expected) instead of reporting a bare add plus drop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from chatvault.db import shapes
from chatvault.db.engine import connect, mask_url
from chatvault.db.guard import require_database
from chatvault.db.migrate import DatabaseState, describe_mismatch, read_state, script_directory

# The fix every finding points at depends on where the database stands as a whole.
MIGRATE = "run: chatvault db migrate"
HAND_MADE = "changed outside chatvault: restore it as docs/database.md#drift explains"
UNKNOWN_SHAPE = (
    "migrate refuses to guess: make usage_logs match a known revision by hand "
    "(docs/database.md#drift)"
)
NEWER = "schema of a newer chatvault: upgrade chatvault"
# Usage reports would drift from usage_logs: recreate the rollups and their triggers.
REBUILD = "chatvault db downgrade 0006 --yes && chatvault db migrate (rebuilds the rollups)"
RENAMED_AT_HEAD = "looks like the same column renamed: rename it back, values unchanged"

# Columns whose old names the legacy service left behind, and what the data means there.
KNOWN_RENAMES = {
    ("usage_logs", "cost_usd"): (
        "cost_cents",
        "US dollars where exact cents are expected (migrate converts them x100)",
    ),
    ("usage_logs", "processing_duration_seconds"): (
        "processing_time_seconds",
        "the legacy name of the same values",
    ),
}


@dataclass(frozen=True)
class Finding:
    kind: str
    object: str
    found: str
    expected: str
    hint: str


@dataclass(frozen=True)
class Report:
    database: str
    dialect: str
    revision: str | None
    head: str
    findings: list[Finding]

    @property
    def in_sync(self) -> bool:
        return not self.findings


def verify(url: str) -> Report:
    require_database(url)
    head = script_directory().get_current_head()
    with connect(url) as conn:
        state = read_state(conn)
        diffs = _compare(conn)
        dialect = conn.dialect
        triggers = missing_triggers(conn) if state.revision == head else []
    fix = _fix(state, head)
    findings = _revision_findings(state, head, fix) + _schema_findings(diffs, dialect, fix)
    findings += [
        Finding("missing trigger", f"usage_logs.{name}", "-", "trigger", REBUILD)
        for name in triggers
    ]
    return Report(mask_url(url), dialect.name, state.revision, head, findings)


def _fix(state: DatabaseState, head: str) -> str:
    if state.revision == head:
        return HAND_MADE
    if state.revision is not None and state.revision not in shapes.USAGE_LOGS_COLUMNS:
        return NEWER
    if state.revision is None and not state.empty and state.shape is None:
        return UNKNOWN_SHAPE
    return MIGRATE


def _compare(conn: Any) -> list[Any]:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from chatvault.db.compare import OPTIONS
    from chatvault.db.models import metadata

    context = MigrationContext.configure(conn, opts=OPTIONS)
    flat: list[Any] = []
    for diff in compare_metadata(context, metadata):
        flat.extend(diff if isinstance(diff, list) else [diff])  # modify_* come grouped per column
    return flat


def _revision_findings(state: DatabaseState, head: str, fix: str) -> list[Finding]:
    if state.revision == head:
        return []
    if state.revision is not None:
        found = state.revision
    elif state.empty:
        found = "none (empty database)"
    elif state.shape is not None:
        found = f"none (unversioned; usage_logs has the legacy shape of {state.shape})"
        fix = f"{fix} (adopts the table; SQLite files are backed up first)"
    else:
        found = f"none (usage_logs: {describe_mismatch(state.usage_columns or frozenset())})"
    return [Finding("revision", shapes.VERSION_TABLE, found, head, fix)]


def _schema_findings(diffs: list[Any], dialect: Any, hint: str) -> list[Finding]:
    added = {(d[2], d[3].name): d[3] for d in diffs if d[0] == "add_column"}
    removed = {(d[2], d[3].name): d[3] for d in diffs if d[0] == "remove_column"}
    findings = _renames(added, removed, dialect, hint)
    for diff in diffs:
        kind = diff[0]
        if kind == "add_column" and (diff[2], diff[3].name) in added:
            findings.append(
                _column("missing column", diff[2], diff[3], dialect, hint, missing=True)
            )
        elif kind == "remove_column" and (diff[2], diff[3].name) in removed:
            findings.append(_column("extra column", diff[2], diff[3], dialect, hint, missing=False))
        elif kind in ("add_column", "remove_column"):
            continue  # explained as a rename
        elif kind == "add_table":
            findings.append(Finding("missing table", diff[1].name, "-", "table", hint))
        elif kind == "remove_table":
            findings.append(Finding("extra table", diff[1].name, "table", "-", hint))
        elif kind in ("add_index", "remove_index"):
            findings.append(_index(diff[1], missing=kind == "add_index", hint=hint))
        elif kind.startswith("modify_"):
            findings.append(_modified(diff, dialect, hint))
        else:
            findings.append(Finding(kind.replace("_", " "), str(diff[1]), "", "", hint))
    return findings


def _renames(added: dict, removed: dict, dialect: Any, hint: str) -> list[Finding]:
    """Pairs of (extra, missing) columns that are one column under two names.

    Known legacy renames are named with what they mean in a legacy database (at head the
    same pair means someone renamed the column back); otherwise a table with exactly one
    extra and one missing column of the same kind of type is reported as a likely rename.
    """
    pairs = []
    for (table, old), (new, meaning) in KNOWN_RENAMES.items():
        if (table, old) in removed and (table, new) in added:
            pairs.append((table, old, new, RENAMED_AT_HEAD if hint == HAND_MADE else meaning))
    for table in {t for t, _ in removed}:
        extra = [c for t, c in removed if t == table and (t, c) not in _paired(pairs)]
        missing = [c for t, c in added if t == table and (t, c) not in _paired(pairs)]
        if len(extra) == 1 and len(missing) == 1:
            old_type = _kind(removed[(table, extra[0])].type)
            new_type = _kind(added[(table, missing[0])].type)
            if old_type is new_type:
                meaning = (
                    RENAMED_AT_HEAD if hint == HAND_MADE else "looks like the same column renamed"
                )
                pairs.append((table, extra[0], missing[0], meaning))
    findings = []
    for table, old, new, meaning in pairs:
        found = f"{old} {_type(removed.pop((table, old)).type, dialect)}"
        expected = f"{new} {_type(added.pop((table, new)).type, dialect)}"
        advice = meaning if meaning == RENAMED_AT_HEAD else f"{meaning}; {hint}"
        findings.append(Finding("renamed column", f"{table}.{old}", found, expected, advice))
    return findings


def _paired(pairs: list[tuple[str, str, str, str]]) -> set[tuple[str, str]]:
    return {(t, old) for t, old, _, _ in pairs} | {(t, new) for t, _, new, _ in pairs}


def _column(kind: str, table: str, column: Any, dialect: Any, hint: str, missing: bool) -> Finding:
    shape = f"{_type(column.type, dialect)} {'NULL' if column.nullable else 'NOT NULL'}"
    found, expected = ("-", shape) if missing else (shape, "-")
    return Finding(kind, f"{table}.{column.name}", found, expected, hint)


def _index(index: Any, missing: bool, hint: str) -> Finding:
    shape = (
        ("UNIQUE " if index.unique else "") + "(" + ", ".join(c.name for c in index.columns) + ")"
    )
    found, expected = ("-", shape) if missing else (shape, "-")
    kind = "missing index" if missing else "extra index"
    return Finding(kind, f"{index.table.name}.{index.name}", found, expected, hint)


def _modified(diff: tuple, dialect: Any, hint: str) -> Finding:
    kind, _, table, column, _, found, expected = diff
    if kind == "modify_type":
        return Finding(
            "type", f"{table}.{column}", _type(found, dialect), _type(expected, dialect), hint
        )
    if kind == "modify_nullable":

        def null(value: bool) -> str:
            return "NULL" if value else "NOT NULL"

        return Finding("nullability", f"{table}.{column}", null(found), null(expected), hint)
    return Finding("server default", f"{table}.{column}", _default(found), _default(expected), hint)


def _type(type_: Any, dialect: Any) -> str:
    try:
        return type_.compile(dialect=dialect)
    except Exception:  # a reflected type the dialect cannot render back
        return str(type_)


def _default(default: Any) -> str:
    if default is None:
        return "none"
    arg = getattr(default, "arg", default)
    return str(getattr(arg, "text", arg))


def _kind(column_type: Any) -> type:
    """The kind of data a column type holds (whole number, number, text, time, flag), read
    through SQLAlchemy's public generic types: BIGINT and INTEGER are one kind."""
    from sqlalchemy import Boolean, Date, DateTime, Integer, LargeBinary, Numeric, String

    try:
        generic = column_type.as_generic()
    except NotImplementedError:
        generic = column_type
    kinds = (Integer, Numeric, String, DateTime, Date, Boolean, LargeBinary)
    return next((kind for kind in kinds if isinstance(generic, kind)), type(generic))


# The triggers migration 0007 puts on usage_logs: without them the rollups would drift.
TRIGGERS = ("usage_logs_mark_insert", "usage_logs_mark_update", "usage_logs_mark_delete")
_TRIGGER_NAMES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'usage_logs'",
    "postgresql": "SELECT tgname FROM pg_trigger "
    "WHERE tgrelid = 'usage_logs'::regclass AND NOT tgisinternal",
    "mysql": "SELECT trigger_name FROM information_schema.triggers "
    "WHERE event_object_table = 'usage_logs' AND trigger_schema = DATABASE()",
}


def missing_triggers(conn: Connection) -> list[str]:
    """The rollup triggers usage_logs lacks."""
    dialect = "mysql" if conn.dialect.name == "mariadb" else conn.dialect.name
    present = set(conn.execute(text(_TRIGGER_NAMES[dialect])).scalars())
    return [name for name in TRIGGERS if name not in present]
