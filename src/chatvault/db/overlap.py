"""A coding agent's traffic seen twice: its session log wins over its telemetry.

Claude Code can report the same requests as OpenTelemetry events (`chatvault serve`) and in
its session log (`chatvault ingest`); the two share no request id, only the session's id. The
rule: **once a session's own log has been imported, the log counts its requests**. An import
notes the session in `logged_sessions` (`note_logged`), the receiver stores telemetry only
for sessions not noted there and notes those it stored in `telemetry_sessions`
(`unlogged`, `note_telemetry`), and `settle` deletes the telemetry rows of every session in
both tables. An import settles in its own transaction, so a receiver that raced it is
settled by the next import. The log is the better record: one row per message with its own
id, written whether or not telemetry was on. Error rows (requests the agent gave up on) stay:
the log has no row of them.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, Table, and_, delete, insert, select

from chatvault.db.models import logged_sessions, telemetry_sessions, usage_logs

# The request-id prefix of each agent's telemetry rows (serve/telemetry.py makes them), and of
# the rows from its own logs (ingest/claude_code.py).
TELEMETRY_IDS = {"claude-code": "otel-cc:"}
LOG_IDS = {"claude-code": "cc:"}
_CHUNK = 500  # sessions per statement: well under every driver's parameter limit


def note_logged(conn: Connection, agent: str, sessions: Collection[str | None]) -> int:
    """Note that these sessions' logs were imported, then settle; the telemetry rows
    deleted."""
    _insert_missing(conn, logged_sessions, agent, sessions)
    return settle(conn, agent)


def unlogged(conn: Connection, agent: str, sessions: Collection[str | None]) -> set[str]:
    """Those of the sessions whose log has not been imported: their telemetry counts."""
    wanted = {s for s in sessions if s}
    logged: set[str] = set()
    for chunk in _chunks(sorted(wanted)):
        c = logged_sessions.c
        found = select(c.session_id).where(c.agent == agent, c.session_id.in_(chunk))
        logged.update(conn.execute(found).scalars())
    return wanted - logged


def note_telemetry(conn: Connection, agent: str, sessions: Collection[str | None]) -> None:
    """Note that telemetry rows of these sessions were stored."""
    _insert_missing(conn, telemetry_sessions, agent, sessions)


def settle(conn: Connection, agent: str) -> int:
    """Delete the telemetry rows of every session whose log was imported; how many."""
    t, g = telemetry_sessions.c, logged_sessions.c
    both = select(t.session_id).join(
        logged_sessions, and_(g.agent == t.agent, g.session_id == t.session_id)
    )
    sessions = sorted(conn.execute(both.where(t.agent == agent)).scalars())
    deleted = 0
    for chunk in _chunks(sessions):
        rows = delete(usage_logs).where(
            usage_logs.c.request_id.startswith(TELEMETRY_IDS[agent], autoescape=True),
            usage_logs.c.session_id.in_(chunk),
            usage_logs.c.status != "error",  # a request given up on: its log has no row of it
        )
        deleted += conn.execute(rows).rowcount
        conn.execute(delete(telemetry_sessions).where(t.agent == agent, t.session_id.in_(chunk)))
    return deleted


def _insert_missing(
    conn: Connection, table: Table, agent: str, sessions: Collection[str | None]
) -> None:
    """Add (agent, session) rows not there yet: one already there, or added by a concurrent
    writer, is no error."""
    for chunk in _chunks(sorted({s for s in sessions if s})):
        conn.execute(
            _ignoring_duplicates(conn, table), [{"agent": agent, "session_id": s} for s in chunk]
        )


def _ignoring_duplicates(conn: Connection, table: Table):
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    return insert(table).prefix_with("IGNORE")  # MySQL and MariaDB


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]
