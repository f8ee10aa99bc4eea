"""Received usage into the database: checked and priced as `ingest` checks and prices it,
then written by one thread of the process at a time, every batch that waited in one
transaction (group commit).

Requests that arrive together would otherwise each wait for the database's write lock
(SQLite's busy handler sleeps between tries) and each pay a commit and a round of stale
marks for the same hours; written together they pay once. On PostgreSQL the transaction
takes its turn with imports and other servers' writers (db/writes.take_turn), so two
instances writing the same hours never deadlock, and the look-up of stored ids sees what
the others committed: a retry sent to two instances is stored once.

New rows are added to the daily rollups in the same transaction (db/rollup_days.py): their
groups summed with the day's, which costs the rows written, not the day, so reports read
exact rollups at once. Anything else (a row replaced by a later snapshot, an hour another
change marked, MariaDB) leaves stale marks, and the rollups are brought up to date after the
rows commit, in a transaction of their own (as an import does, ingest/run.py), when no batch
is waiting or a report waits for them (`reading`): a refresh rebuilds whole days, so a
burst nobody reads pays for one at its end rather than one per group, and a report finds
the rollups exact instead of rebuilding the days itself, competing with the writer for the
database's write lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chatvault.db.engine import query_failure
from chatvault.db.writes import (
    CREATED_AT,
    REQUEST_ID,
    ROW_COLUMNS,
    UpsertCounts,
    columns_of,
    replaces,
    row_total,
    take_turn,
    upsert,
)
from chatvault.ingest.record import RecordError, UsageRecord
from chatvault.ingest.rows import pending_row, priced
from chatvault.redact import redact

if TYPE_CHECKING:
    from chatvault.pricing.prices import PriceBook
    from chatvault.session import Session

log = logging.getLogger("chatvault.serve")


@dataclass
class Batch:
    """One request's rows (ROW_COLUMNS order, priced); `stored` of them were written (new,
    or larger than the row stored), the others were duplicates."""

    rows: list[tuple]
    stored: int = 0
    failure: BaseException | None = None
    done: bool = False


@dataclass
class Writer:
    """The process's writer of received usage."""

    prices: PriceBook
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _queue: list[Batch] = field(default_factory=list)  # batches no writer has taken yet
    _busy: bool = False  # a thread is writing (or refreshing): the others queue
    _stale: bool = False  # rows committed whose rollups are not refreshed yet
    _readers: int = 0  # reports waiting for that refresh

    @contextmanager
    def reading(self) -> Iterator[None]:
        """The block runs when the rollups are exact for every row this process committed:
        a report arriving after a write waits for its refresh, which the writer does at once
        for it, rather than rebuilding the day itself."""
        with self._changed:
            self._readers += 1
            while self._stale:
                self._changed.wait()
            self._readers -= 1
        yield

    def rows(self, items: Iterable[dict[str, Any]]) -> tuple[list[tuple], list[str]]:
        """Usage fields as priced rows, checked as every import checks them; (rows, why
        each refused item was refused)."""
        now = datetime.now(UTC)
        pending, errors = [], []
        for fields in items:
            try:
                pending.append(pending_row(UsageRecord(**fields).check(now)))
            except RecordError as exc:
                errors.append(f"{fields['request_id']}: {exc}")
        if not pending:
            return [], errors
        return list(zip(*priced(columns_of(pending), self.prices), strict=True)), errors

    def write(self, session: Session, rows: list[tuple]) -> int:
        """Store rows (dedupe: a request id already stored is replaced only by a row with
        more tokens); how many were written. The thread whose turn it is writes every batch
        queued by then, its own among them; the others' answers go as soon as it commits."""
        if not rows:
            return 0
        batch = Batch(rows)
        with self._changed:
            self._queue.append(batch)
            while self._busy and not batch.done:
                self._changed.wait()
            leader = not batch.done
            if leader:
                self._busy = True
                taken, self._queue = self._queue, []
        if leader:
            try:
                stale = self._commit(session, taken)
            finally:
                with self._changed:
                    self._stale = self._stale or stale
                    for each in taken:
                        each.done = True
                    self._changed.notify_all()
            try:
                self._refresh_if_read(session)
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()
        if batch.failure is not None:
            raise batch.failure
        return batch.stored

    def _refresh_if_read(self, session: Session) -> None:
        from chatvault.db.rollups import refresh

        with self._changed:
            if not self._stale or (self._queue and not self._readers):
                return  # a burst nobody waits to read: its last writer refreshes
        try:
            with session.writing() as conn:
                take_turn(conn)
                refresh(conn)
        except Exception as exc:  # the rows are stored: the next report refreshes instead
            known = query_failure(exc)
            if known is None:
                raise
            log.warning("daily rollups not refreshed: %s", redact(str(known)))
        finally:
            with self._changed:
                self._stale = False
                self._changed.notify_all()

    def _commit(self, session: Session, batches: list[Batch]) -> bool:
        """Write the batches in one transaction; whether rows were written that the daily
        rollups do not count yet."""
        kept: dict[str, tuple[tuple, int]] = {}  # request id -> (row, its batch)
        for number, batch in enumerate(batches):
            for row in batch.rows:
                before = kept.get(row[REQUEST_ID])
                if before is None or replaces(row, row_total(before[0])):
                    kept[row[REQUEST_ID]] = (row, number)
        kept = _unlogged(session, kept)
        owners = [number for _, number in kept.values()]
        columns = columns_of([row for row, _ in kept.values()])
        try:
            try:
                counts, exact = _upsert(session, columns)
            except Exception as exc:  # a deadlock on MariaDB, another writer's id met: once more
                if query_failure(exc) is None:
                    raise
                counts, exact = _upsert(session, columns)
        except BaseException as exc:
            for batch in batches:
                batch.failure = exc
            return False
        written = range(len(owners)) if counts.written is None else counts.written
        for index in written:
            batches[owners[index]].stored += 1
        return not exact and bool(counts.inserted or counts.replaced)


def _upsert(session: Session, columns: list) -> tuple[UpsertCounts, bool]:
    """Store the rows in one transaction: how many of each kind, and whether the daily
    rollups were kept exact in it (rows only appended: db/rollup_days.py)."""
    from chatvault.db.overlap import note_telemetry
    from chatvault.db.rollup_days import add_appended, claim_hours

    with session.writing() as conn:
        take_turn(conn)
        claim = claim_hours(conn, columns[CREATED_AT])
        counts = upsert(conn, columns)
        keys = (columns[REQUEST_ID], columns[SESSION], columns[STATUS])
        sessions = _telemetry_sessions(zip(*keys, strict=True))
        if sessions:
            note_telemetry(conn, AGENT, set(sessions.values()))
        appended = None
        if not counts.replaced:
            ids = columns[REQUEST_ID]
            appended = ids if counts.written is None else [ids[i] for i in counts.written]
        return counts, add_appended(conn, claim, appended)


# Claude Code's telemetry of a session whose own log was imported counts no more: the log
# counts those requests (db/overlap.py, docs/serve.md "Telemetry and session logs"). Its
# error rows stay: the log has no row of a request given up on.
AGENT = "claude-code"
SESSION, STATUS = map(ROW_COLUMNS.index, ("session_id", "status"))


def _telemetry_sessions(keys: Iterable[tuple[str, str | None, str]]) -> dict[str, str]:
    """The session of each row of Claude Code telemetry this rule is about, by request id,
    from (request id, session, status) of each row."""
    from chatvault.db.overlap import TELEMETRY_IDS

    prefix = TELEMETRY_IDS[AGENT]
    return {
        request: session
        for request, session, status in keys
        if session and status != "error" and request.startswith(prefix)
    }


def _unlogged(session: Session, kept: dict[str, tuple[tuple, int]]) -> dict:
    """The rows to store: telemetry of sessions whose log was imported left out, as a
    duplicate is (acknowledged, not stored)."""
    from chatvault.db.overlap import unlogged

    mine = _telemetry_sessions((r[REQUEST_ID], r[SESSION], r[STATUS]) for r, _ in kept.values())
    if not mine:
        return kept
    counted = unlogged(session.connection, AGENT, set(mine.values()))
    return {key: value for key, value in kept.items() if key not in mine or mine[key] in counted}
