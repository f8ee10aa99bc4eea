"""A session's own log wins over its telemetry: the rule of db/overlap.py, on every dialect."""

from __future__ import annotations

from sqlalchemy import func, select

from chatvault.db import overlap, writes
from chatvault.db.engine import connect
from chatvault.db.models import telemetry_sessions, usage_logs
from chatvault.db.writes import columns_of
from tests.db.test_writes import row
from tests.head import at_head

AGENT = "claude-code"


def store(url: str, rows: list[tuple]) -> None:
    with connect(url) as conn, conn.begin():
        writes.upsert(conn, columns_of(rows))


def ids(url: str) -> set[str]:
    with connect(url) as conn:
        return set(conn.execute(select(usage_logs.c.request_id)).scalars())


def test_an_imported_log_deletes_its_sessions_telemetry_and_no_other(db_url):
    at_head(db_url)
    store(
        db_url,
        [
            row("otel-cc:a1", session_id="s-a"),
            row("otel-cc:a2", session_id="s-a"),
            row("otel-cc:b1", session_id="s-b"),  # its log never imported: it counts
            row("otel-x:a3", session_id="s-a"),  # another source's id: not this rule's
            row("otel-cc:a4", session_id="s-a", status="error"),  # given up on: not in the log
        ],
    )
    with connect(db_url) as conn, conn.begin():
        overlap.note_telemetry(conn, AGENT, ["s-a", "s-b", None])
    store(db_url, [row("cc:m1:r1", session_id="s-a"), row("cc:m2:r2", session_id="s-a")])
    with connect(db_url) as conn, conn.begin():
        assert overlap.note_logged(conn, AGENT, ["s-a", None]) == 2

    assert ids(db_url) == {"otel-cc:b1", "otel-x:a3", "otel-cc:a4", "cc:m1:r1", "cc:m2:r2"}
    with connect(db_url) as conn:
        assert overlap.unlogged(conn, AGENT, ["s-a", "s-b", "s-c", None]) == {"s-b", "s-c"}
        left = select(telemetry_sessions.c.session_id)
        assert set(conn.execute(left).scalars()) == {"s-b"}


def test_noting_twice_and_settling_again_change_nothing(db_url):
    at_head(db_url)
    store(db_url, [row("cc:m1:r1", session_id="s-a")])
    for _ in range(2):
        with connect(db_url) as conn, conn.begin():
            assert overlap.note_logged(conn, AGENT, ["s-a"]) == 0
            overlap.note_telemetry(conn, AGENT, ["s-b"])
            assert overlap.settle(conn, AGENT) == 0
    assert ids(db_url) == {"cc:m1:r1"}


def test_a_receiver_that_raced_an_import_is_settled_by_the_next_one(db_url):
    """The receiver checked before the import committed: its rows are stored, and the next
    import of any log deletes them."""
    at_head(db_url)
    with connect(db_url) as conn, conn.begin():
        overlap.note_logged(conn, AGENT, ["s-a"])
    store(db_url, [row("otel-cc:late", session_id="s-a")])
    with connect(db_url) as conn, conn.begin():
        overlap.note_telemetry(conn, AGENT, ["s-a"])
    with connect(db_url) as conn, conn.begin():
        assert overlap.note_logged(conn, AGENT, ["s-other"]) == 1
    assert ids(db_url) == set()


def test_many_sessions_go_in_chunks(db_url):
    at_head(db_url)
    sessions = [f"s-{i:04d}" for i in range(1_203)]
    store(db_url, [row(f"otel-cc:{s}", session_id=s) for s in sessions])
    with connect(db_url) as conn, conn.begin():
        overlap.note_telemetry(conn, AGENT, sessions)
        assert overlap.note_logged(conn, AGENT, sessions) == len(sessions)
        assert conn.execute(select(func.count()).select_from(usage_logs)).scalar() == 0
