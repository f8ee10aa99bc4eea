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
from typing import Any, TextIO

from chatvault.db.rollups import refresh
from chatvault.db.writes import COST, columns_of, replaces, row_total, upsert
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
from chatvault.ingest.rows import MODEL, REQUEST_ID, REQUESTS, pending_row, priced
from chatvault.session import Session

BATCH = 2000
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
        batch: dict[str, tuple] = {}  # pending rows by request_id
        for item in self._items(source_input, stream):
            if type(item) is Checked:  # many records at once, checked by their source
                summary.read += len(item.columns[REQUEST_ID])
                self._store(conn, columns_of(list(batch.values())), summary)
                batch = {}
                if _unique(item.columns[REQUEST_ID]):  # the usual chunk: stored as it is
                    self._store(conn, item.columns, summary)
                    progress(stream.consumed)
                    continue
                rows = zip(*item.columns, strict=True)
            elif item.error is None:
                summary.read += 1
                rows = (pending_row(item.record),)
            else:
                summary.read += 1
                where = f"{source_input.name}:{item.line}"
                if not self.skip_invalid:
                    raise FileRejected(f"{where}: {item.error}; nothing of this file was imported")
                summary.rejected += 1
                self._reject(where, item)
                continue
            for row in rows:
                kept = batch.get(row[REQUEST_ID])
                if kept is not None:
                    summary.duplicates += 1  # the smaller of two snapshots of one request
                    if not replaces(row, row_total(kept)):
                        continue
                batch[row[REQUEST_ID]] = row
            if len(batch) >= BATCH:
                self._store(conn, columns_of(list(batch.values())), summary)
                batch = {}
                progress(stream.consumed)
        self._store(conn, columns_of(list(batch.values())), summary)
        progress(stream.consumed)

    def _items(self, source_input: Input, stream: CountingReader) -> Iterator[Item]:
        name = self.source if self.source != "auto" else detect(source_input, stream)
        if name == claude_code.NAME:
            return claude_code.records(stream, source_input, self.options)
        if name == llm_logs.NAME:
            return llm_logs.records(source_input, self.options)
        module = next(m for m in DETECTABLE if name == m.NAME)
        return module.records(stream, self.options)

    def _store(self, conn, pending: Sequence[Sequence[Any]], summary: Summary) -> None:
        """Store pending rows, given as columns."""
        if not pending[REQUEST_ID]:
            return
        columns = priced(pending, self.session.prices)
        costs = columns[COST]
        if None in costs:
            for model, requests, cost in zip(columns[MODEL], columns[REQUESTS], costs, strict=True):
                if cost is None:
                    summary.unpriced[model] += requests
        counts = upsert(conn, columns)
        summary.inserted += counts.inserted
        summary.replaced += counts.replaced
        summary.duplicates += counts.duplicates

    def _reject(self, where: str, item: Item) -> None:
        if self.rejects is not None:
            raw = item.raw.decode(errors="replace") if isinstance(item.raw, bytes) else item.raw
            reason = {"where": where, "problem": str(item.error), "record": raw.rstrip("\r\n")}
            self.rejects.write(json.dumps(reason, ensure_ascii=False) + "\n")


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
    for module in DETECTABLE:
        if module.looks_like(head):
            return module.NAME
    raise InputError(
        f"{source_input.name}: cannot tell which format this is; pass --source "
        f"({', '.join(SOURCES)})"
    )
