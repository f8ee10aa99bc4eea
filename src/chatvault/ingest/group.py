"""The write transaction files share during an import.

Small files join the open transaction once each is read, checked and priced whole, so a bad
record leaves nothing of its file; their rows are pooled and written a few thousand at a
time (one statement for many small files, not a few for each), each request once (the
larger of two snapshots, the one dedupe rule). A large file streams in a transaction of its
own. Each file's checkpoint is written with the rows, just before the commit. Each
transaction takes its turn (db/writes.take_turn).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from chatvault.db.writes import (
    REQUEST_ID,
    columns_of,
    replaces,
    row_total,
    save_checkpoints,
    take_turn,
)

POOL = 5000  # pooled rows written together


class Group:
    def __init__(
        self, conn: Any, dry_run: bool, machine: str, write: Callable[[Any, Sequence, Any], None]
    ):
        self.conn, self.dry_run, self.machine, self._write = conn, dry_run, machine, write
        self.transaction = None
        self.rows = 0  # rows the open transaction took
        self.done = 0  # raw bytes of the files done
        self._pending: dict[str, tuple] = {}  # pooled rows by request_id
        self._counts: Any = None  # the summary the pooled rows' outcomes are counted in
        self._marks: list[tuple[str, tuple]] = []  # checkpoints to write before the commit

    def join(self) -> Any:
        if self.transaction is None:
            self.transaction = self.conn.begin()
            take_turn(self.conn)
        return self.conn

    def alone(self) -> Any:
        """A transaction of its own, for a large file: the open one is committed first."""
        self.end(commit=True)
        return self.join()

    def add(self, columns: Sequence[Sequence[Any]], summary: Any) -> None:
        """Priced rows, as columns, of a file checked whole (or a large file's batch)."""
        self.join()
        if self._counts is not None and self._counts is not summary:
            self.flush()
        self._counts = summary
        pending = self._pending
        for row in zip(*columns, strict=True):
            kept = pending.get(row[REQUEST_ID])
            if kept is not None:
                summary.duplicates += 1  # the same request in two files, or twice in one
                if not replaces(row, row_total(kept)):
                    continue
            pending[row[REQUEST_ID]] = row
        self.rows += len(columns[REQUEST_ID])
        if len(pending) >= POOL:
            self.flush()

    def mark(self, path_key: str, checkpoint: tuple) -> None:
        self._marks.append((path_key, checkpoint))

    def flush(self) -> None:
        if self._pending:
            self._write(self.conn, columns_of(list(self._pending.values())), self._counts)
            self._pending.clear()

    def end(self, commit: bool) -> None:
        """Commit the open transaction (its pooled rows and checkpoints written first), or
        roll it back with everything pooled."""
        if self.transaction is None:
            return
        if commit:
            self.flush()
            if self._marks and not self.dry_run:
                save_checkpoints(self.conn, self.machine, self._marks)
        transaction, self.transaction, self.rows = self.transaction, None, 0
        self._pending.clear()
        self._marks.clear()
        self._counts = None
        if commit and not self.dry_run:
            transaction.commit()
        else:
            transaction.rollback()
