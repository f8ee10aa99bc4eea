"""Importing files: parse, check, deduplicate, price and store, one transaction per file.

A file is atomic: a bad record stops it and nothing of it is kept (unless the caller skips
invalid records). Within a file, records go to the database in batches, each batch looked up
with one query; memory stays flat whatever the size of the input.
"""

from __future__ import annotations

import gc
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, TextIO

from chatvault.db.rollups import refresh
from chatvault.db.types import from_micro_cents
from chatvault.db.writes import COST, UpsertCounts, columns_of, replaces, row_total, upsert
from chatvault.errors import InputError
from chatvault.ingest import (
    anthropic_usage,
    chatvault_format,
    claude_code,
    litellm,
    llm_logs,
    openai_usage,
)
from chatvault.ingest.files import CountingReader, Input
from chatvault.ingest.options import Checked, Item, ParseOptions
from chatvault.ingest.record import MAX_CENTS, RecordError, beyond
from chatvault.ingest.rows import MODEL, REQUEST_ID, REQUESTS, pending_row, priced
from chatvault.money import usd_rounded
from chatvault.session import Session

BATCH = 2000
MOST = MAX_CENTS * 10**6  # the most a record may cost, in millionths of a cent
# In the order detection tries them: the most specific marks first.
DETECTABLE = (claude_code, openai_usage, anthropic_usage, litellm, chatvault_format)
SOURCES = (llm_logs.NAME, *(module.NAME for module in DETECTABLE))


@dataclass
class Summary:
    files: int = 0
    failed: list[str] = field(default_factory=list)  # one line per file that was not imported
    read: int = 0
    inserted: int = 0
    replaced: int = 0
    duplicates: int = 0
    rejected: int = 0
    unpriced: Counter[str] = field(default_factory=Counter)  # model -> requests without a price
    seconds: float = 0.0

    def add(self, other: Summary, kept: bool) -> None:
        """Count another file in; what a file that was rolled back did is not counted."""
        self.read += other.read
        if kept:
            self.inserted += other.inserted
            self.replaced += other.replaced
            self.duplicates += other.duplicates
            self.rejected += other.rejected
            self.unpriced.update(other.unpriced)


class FileRejected(Exception):
    pass


@dataclass
class Importer:
    session: Session  # its prices (the config's overrides) price what the source did not
    options: ParseOptions
    source: str = "auto"
    skip_invalid: bool = False
    rejects: TextIO | None = None
    dry_run: bool = False
    progress: Callable[[int], None] = lambda _: None  # told the raw bytes read so far

    def run(self, inputs: Iterable[Input]) -> Summary:
        summary = Summary()
        started = time.perf_counter()
        done = 0
        with rare_collections(), self.session.writer() as conn:
            for source_input in inputs:
                summary.files += 1
                with source_input.open() as stream:
                    this_file = Summary()
                    transaction = conn.begin()
                    try:
                        self._import(
                            conn,
                            source_input,
                            stream,
                            this_file,
                            lambda n, base=done: self.progress(base + n),
                        )
                    except (FileRejected, InputError) as exc:  # a bad record, an unknown format
                        transaction.rollback()
                        summary.failed.append(str(exc))
                        summary.add(this_file, kept=False)
                    except BaseException:
                        transaction.rollback()
                        raise
                    else:
                        transaction.rollback() if self.dry_run else transaction.commit()
                        summary.add(this_file, kept=True)
                    done += stream.consumed
            if not self.dry_run and summary.inserted + summary.replaced:
                with conn.begin():  # so the next report finds its daily rollups exact
                    refresh(conn)
        summary.seconds = time.perf_counter() - started
        return summary

    def _import(
        self,
        conn,
        source_input: Input,
        stream: CountingReader,
        summary: Summary,
        progress: Callable[[int], None],
    ) -> None:
        name = source_input.name
        batch: dict[str, tuple] = {}  # pending rows by request_id
        origins: dict[str, tuple[int, Any]] = {}  # their lines, to name one refused when priced

        def flush() -> None:
            pending = columns_of(list(batch.values()))
            ids = pending[REQUEST_ID]
            self._store(conn, pending, summary, name, lambda i: origins[ids[i]])
            batch.clear()
            origins.clear()

        for item in self._items(source_input, stream):
            if type(item) is Checked:  # many records at once, checked by their source
                summary.read += len(item.columns[REQUEST_ID])
                flush()
                first, lines = item.first, item.lines
                if _unique(item.columns[REQUEST_ID]):  # the usual chunk: stored as it is
                    where = lambda i, first=first, lines=lines: (first + i, lines[i])  # noqa: E731
                    self._store(conn, item.columns, summary, name, where)
                    progress(stream.consumed)
                    continue
                rows = zip(*item.columns, strict=True)
                places = zip(range(first, first + len(lines)), lines, strict=True)
            elif item.error is None:
                summary.read += 1
                rows, places = (pending_row(item.record),), ((item.line, item.raw),)
            else:
                summary.read += 1
                self._refuse(f"{name}:{item.line}", item.raw, item.error, summary)
                continue
            for row, place in zip(rows, places, strict=True):
                kept = batch.get(row[REQUEST_ID])
                if kept is not None:
                    summary.duplicates += 1  # the smaller of two snapshots of one request
                    if not replaces(row, row_total(kept)):
                        continue
                batch[row[REQUEST_ID]] = row
                origins[row[REQUEST_ID]] = place
            if len(batch) >= BATCH:
                flush()
                progress(stream.consumed)
        flush()
        progress(stream.consumed)

    def _items(self, source_input: Input, stream: CountingReader) -> Iterator[Item]:
        name = self.source if self.source != "auto" else detect(source_input, stream)
        if name == claude_code.NAME:
            return claude_code.records(stream, source_input, self.options)
        if name == llm_logs.NAME:
            return llm_logs.records(source_input, self.options)
        module = next(m for m in DETECTABLE if name == m.NAME)
        return module.records(stream, self.options)

    def _store(
        self,
        conn,
        pending: Sequence[Sequence[Any]],
        summary: Summary,
        name: str,
        origin: Callable[[int], tuple[int, Any]],
    ) -> None:
        """Store pending rows, given as columns; `origin` tells a row's line and its text."""
        if not pending[REQUEST_ID]:
            return
        columns = priced(pending, self.session.prices)
        if max(filter(None, columns[COST]), default=0) > MOST:  # reported costs were checked
            columns = self._within_maximum(columns, summary, name, origin)
        if None not in columns[COST]:
            _count(upsert(conn, columns), summary)
            return
        priced_rows = [i for i, cost in enumerate(columns[COST]) if cost is not None]
        if priced_rows:
            _count(upsert(conn, _rows(columns, priced_rows)), summary)
        unpriced = [i for i, cost in enumerate(columns[COST]) if cost is None]
        self._settle(conn, _rows(columns, unpriced), summary)

    def _within_maximum(
        self,
        columns: list[Sequence[Any]],
        summary: Summary,
        name: str,
        origin: Callable[[int], tuple[int, Any]],
    ) -> list[Sequence[Any]]:
        """The rows whose estimated cost is within the maximum; the others refused."""
        over = {i for i, cost in enumerate(columns[COST]) if cost is not None and cost > MOST}
        for i in sorted(over):
            line, raw = origin(i)
            cost = usd_rounded(from_micro_cents(columns[COST][i]))
            problem = f"estimated at {cost} at {columns[MODEL][i]}'s price, {beyond(MAX_CENTS)}"
            self._refuse(f"{name}:{line}", raw, RecordError("cost", problem), summary)
        return _rows(columns, [i for i in range(len(columns[COST])) if i not in over])

    def _settle(self, conn, columns: Sequence[Sequence[Any]], summary: Summary) -> None:
        """Store unpriced rows, and count for the warning the requests of those stored: not
        those already stored (importing a file again warns about nothing). A batch with both
        is halved, each half tried in a savepoint, until each part is one or the other."""
        if not columns[REQUEST_ID]:
            return
        savepoint = conn.begin_nested()
        counts = upsert(conn, columns)
        rows = len(columns[REQUEST_ID])
        if counts.duplicates in (0, rows):
            savepoint.commit()
            _count(counts, summary)
            if not counts.duplicates:
                for model, requests in zip(columns[MODEL], columns[REQUESTS], strict=True):
                    summary.unpriced[model] += requests
            return
        savepoint.rollback()
        half = rows // 2
        self._settle(conn, [column[:half] for column in columns], summary)
        self._settle(conn, [column[half:] for column in columns], summary)

    def _refuse(self, where: str, raw: Any, error: Exception, summary: Summary) -> None:
        """A record that cannot be imported: its file is refused, or with --skip-invalid the
        record alone (written to --rejects)."""
        if not self.skip_invalid:
            raise FileRejected(f"{where}: {error}; nothing of this file was imported")
        summary.rejected += 1
        if self.rejects is not None:
            if isinstance(raw, bytes):
                raw = raw.decode(errors="replace")
            else:  # text read with "surrogateescape": the bytes that were not UTF-8 replaced
                raw = raw.encode(errors="surrogateescape").decode(errors="replace")
            reason = {"where": where, "problem": str(error), "record": raw.rstrip("\r\n")}
            self.rejects.write(json.dumps(reason, ensure_ascii=False) + "\n")


def _count(counts: UpsertCounts, summary: Summary) -> None:
    summary.inserted += counts.inserted
    summary.replaced += counts.replaced
    summary.duplicates += counts.duplicates


def _rows(columns: Sequence[Sequence[Any]], indexes: list[int]) -> list[Sequence[Any]]:
    """The rows at `indexes` of rows given as columns."""
    if not indexes:
        return [()] * len(columns)
    pick = itemgetter(*indexes)
    return [pick(column) if len(indexes) > 1 else (column[indexes[0]],) for column in columns]


@contextmanager
def rare_collections() -> Iterator[None]:
    """An import makes millions of short-lived objects without cycles, which reference
    counting frees. With Python's default thresholds the cycle collector walks the heap
    every 700 of them for nothing: 13% of a million-record import. While importing, it
    runs every 50,000, and leaves out what existed before the import."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _unique(ids: Sequence[str]) -> bool:
    return len(set(ids)) == len(ids)


def detect(source_input: Input, stream: CountingReader) -> str:
    """The source a file comes from, told by its first bytes."""
    if source_input.is_sqlite():
        return llm_logs.NAME
    head = stream.head()
    if not head.strip():  # an empty file: nothing to import, whatever its format
        return chatvault_format.NAME
    for module in DETECTABLE:
        if module.looks_like(head):
            return module.NAME
    raise InputError(
        f"{source_input.name}: cannot tell which format this is; pass --source "
        f"({', '.join(SOURCES)})"
    )
