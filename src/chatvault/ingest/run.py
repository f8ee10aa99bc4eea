"""Importing files: parse, check, deduplicate, price and store, each file all or nothing.

A file is atomic: a bad record stops it and nothing of it is kept (unless the caller skips
invalid records). Small files are read, checked and priced whole, then share a transaction
with the next ones (one commit per ~50,000 rows, not one per file); a large file streams in
batches in a transaction of its own, so memory stays flat whatever the size of the input.
Each batch is looked up with one query (db/writes.upsert).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from operator import itemgetter
from typing import Any, TextIO

from chatvault.db.types import from_micro_cents
from chatvault.db.writes import (
    COST,
    REQUEST_ID,
    ROW_COLUMNS,
    UpsertCounts,
    columns_of,
    largest_snapshots,
    load_checkpoints,
    load_identities,
    replaces,
    row_total,
    take_turn,
    upsert,
)
from chatvault.errors import InputError
from chatvault.ingest.ahead import AHEAD_FILES, Read, ahead_possible, read_ahead
from chatvault.ingest.checkpoints import Checkpoint, Reading, key, open_reading, to_read
from chatvault.ingest.files import Input
from chatvault.ingest.group import Group
from chatvault.ingest.options import Checked, Item, ParseOptions
from chatvault.ingest.record import MAX_CENTS, RecordError, beyond
from chatvault.ingest.summary import Summary
from chatvault.ingest.tuning import larger_cache, rare_collections
from chatvault.money import usd_rounded
from chatvault.session import Session

BATCH = 2000
SMALL = 4 << 20  # bytes: a file up to this size is read whole before any of it is written
GROUP_ROWS = 50_000  # small files share a transaction until it has about this many rows
MOST = MAX_CENTS * 10**6  # the most a record may cost, in millionths of a cent
MODEL, PROVIDER, MACHINE, REQUESTS, PRICE_DATA, SESSION = map(
    ROW_COLUMNS.index,
    ("model", "provider", "machine", "request_count", "price_data", "session_id"),
)


class FileRejected(Exception):
    pass


@dataclass
class Importer:
    """Imports files into the session's database (see the module's docstring)."""

    session: Session  # its prices (the config's overrides) price what the source did not
    options: ParseOptions
    source: str = "auto"
    skip_invalid: bool = False
    rejects: TextIO | None = None
    dry_run: bool = False
    progress: Callable[[int], None] = lambda _: None  # told the raw bytes read so far
    machine: str = ""  # the machine local sources' rows come from; checkpoints are its own
    full: bool = False  # read every file from its start, whatever its checkpoint says
    _checkpoints: dict[str, tuple] = field(default_factory=dict)  # Checkpoint's values
    _local: bool = False  # the file being imported is a local source's: rows get the machine

    @cached_property
    def _synced(self) -> frozenset[str]:
        """Providers whose totals count `chatvault sync`'s buckets (docs/sync.md): their
        traffic imported from any file would count twice."""
        sync = self.session.config.sync
        return frozenset(name for name in sync._fields if getattr(sync, name).counts == "provider")

    def run(self, inputs: Iterable[Input]) -> Summary:
        summary = Summary()
        started = time.perf_counter()
        with rare_collections(), self.session.writer() as conn, larger_cache(conn):
            inputs = list(inputs)
            with conn.begin():
                if self.full:  # every file from its start: no checkpoint is read
                    changed = [True] * len(inputs)
                else:
                    kept = load_identities(conn, self.machine)
                    changed = to_read(inputs, kept)
                    again = [i for i, read in zip(inputs, changed, strict=True) if read]
                    paths = [k for k in map(_path_key, again) if k in kept]
                    self._checkpoints = load_checkpoints(conn, self.machine, paths)
            small = [i for i, read in zip(inputs, changed, strict=True) if read and _small(i)]
            group = Group(conn, self.dry_run, self.machine, self._write)
            try:
                with self._reads(small) as reads:
                    for source_input, read in zip(inputs, changed, strict=True):
                        summary.files += 1
                        if not read:
                            summary.unchanged += 1  # as the walk found it: not even opened
                            group.done += source_input.size or 0
                        elif _small(source_input):
                            self._join(group, next(reads), summary)
                        else:
                            self._large(group, source_input, summary)
                        self.progress(group.done)
            except BaseException:
                group.end(commit=False)
                raise
            group.end(commit=True)
            if not self.dry_run and summary.inserted + summary.replaced:
                from chatvault.db.rollups import refresh  # only when something was written

                with conn.begin():  # so the next report finds its daily rollups exact
                    take_turn(conn)
                    refresh(conn, self.session.zone.key)
        summary.seconds = time.perf_counter() - started
        return summary

    def _reads(self, small: list[Input]) -> AbstractContextManager[Iterator[Read]]:
        """The small files read, in order: by a second process that reads ahead while this
        one writes, when there are many and a second core (rejected records are written
        here, in order: not with --rejects); else one by one as they are needed."""
        if len(small) >= AHEAD_FILES and self.rejects is None and ahead_possible():
            return read_ahead(self._read, small)
        return nullcontext(map(self._read, small))

    def _open(self, source_input: Input) -> tuple[str, Reading | None] | str:
        """The file opened from its checkpoint on (None: unchanged), and its checkpoint's
        key; or why it cannot be."""
        forced = source_input.source if self.source == "auto" else self.source
        try:
            path_key = _path_key(source_input)
            stored = self._checkpoints.get(path_key)
            kept = None if stored is None else Checkpoint(*stored)
            from chatvault.ingest import formats  # the parsers, once a file is read

            return path_key, open_reading(source_input, forced, kept, self.full, formats.detect)
        except InputError as exc:  # an unknown format
            return str(exc)
        except OSError as exc:
            return f"{source_input.name}: cannot be read ({exc.strerror})"

    def _read(self, source_input: Input) -> Read:
        """A small file read, checked and priced whole, before any of it is written: a bad
        record leaves nothing of it. Touches no database (it may run in another process)."""
        from chatvault.ingest import formats

        this_file = Summary()
        opened = self._open(source_input)
        if isinstance(opened, str):
            return Read(this_file, failed=opened)
        path_key, reading = opened
        if reading is None:
            return Read(this_file, unchanged=True, consumed=source_input.size or 0)
        self._local = reading.source in formats.LOCAL
        with reading.stream as stream:
            try:
                items = formats.items(source_input, reading, self.options)
                batches = list(self._batches(source_input.name, items, this_file))
                mark = reading.done()
            except (FileRejected, InputError) as exc:  # a bad record, an unknown format
                return Read(this_file, failed=str(exc), consumed=stream.consumed)
        return Read(this_file, batches, path_key, mark, consumed=stream.consumed)

    def _join(self, group: Group, read: Read, summary: Summary) -> None:
        """A small file's rows join the group's transaction, its checkpoint with them."""
        if read.unchanged:
            summary.unchanged += 1
        elif read.failed is not None:
            summary.failed.append(read.failed)
        else:
            for columns in read.batches:
                group.add(columns, summary)
            if read.mark is not None:
                group.join()
                group.mark(read.path_key, read.mark)
            if group.rows >= GROUP_ROWS:
                group.end(commit=True)
        summary.add(read.summary, kept=read.failed is None)
        group.done += read.consumed

    def _large(self, group: Group, source_input: Input, summary: Summary) -> None:
        """A large file streams in batches, in a transaction of its own: memory stays flat.
        Its checkpoint moves with its rows, in the same transaction."""
        from chatvault.ingest import formats

        this_file = Summary()
        opened = self._open(source_input)
        if isinstance(opened, str):
            summary.failed.append(opened)
            return
        path_key, reading = opened
        if reading is None:
            summary.unchanged += 1
            group.done += source_input.size or 0
            return
        self._local = reading.source in formats.LOCAL
        with reading.stream as stream:
            try:
                items = formats.items(source_input, reading, self.options)
                group.alone()
                for columns in self._batches(source_input.name, items, this_file):
                    group.add(columns, this_file)
                    self.progress(group.done + stream.consumed)
                mark = reading.done()
                if mark is not None:
                    group.join()
                    group.mark(path_key, mark)
            except (FileRejected, InputError) as exc:  # a bad record, an unknown format
                group.end(commit=False)
                summary.failed.append(str(exc))
                summary.add(this_file, kept=False)
            else:
                group.end(commit=True)
                summary.add(this_file, kept=True)
            group.done += stream.consumed

    def _batches(
        self, name: str, items: Iterator[Item | Checked], summary: Summary
    ) -> Iterator[list[Sequence[Any]]]:
        """The file's rows as priced columns, a batch at a time, each request once per batch
        (its largest snapshot)."""
        from chatvault.ingest.rows import pending_row  # pricing's, once a file is read

        batch: dict[str, tuple] = {}  # pending rows by request_id
        origins: dict[str, tuple[int, Any]] = {}  # their lines, to name one refused when priced

        def flush() -> list[Sequence[Any]]:
            pending = columns_of(list(batch.values()))
            ids = pending[REQUEST_ID]
            ready = self._ready(pending, summary, name, lambda i: origins[ids[i]])
            batch.clear()
            origins.clear()
            return ready

        for item in items:
            if type(item) is Checked:  # many records at once, checked by their source
                count = len(item.columns[REQUEST_ID])
                summary.read += count
                if batch:
                    yield flush()
                columns, lines = item.columns, item.lines
                numbers = item.numbers or range(item.first, item.first + count)
                if not _unique(columns[REQUEST_ID]):  # a request written more than once
                    keep = largest_snapshots(columns)
                    summary.duplicates += count - len(keep)  # the smaller snapshots
                    columns = _rows(columns, keep)
                    numbers, lines = [numbers[i] for i in keep], [lines[i] for i in keep]
                where = lambda i, n=numbers, lines=lines: (n[i], lines[i])  # noqa: E731
                yield self._ready(columns, summary, name, where)
                continue
            summary.read += 1
            if item.error is not None:
                self._refuse(f"{name}:{item.line}", item.raw, item.error, summary)
                continue
            row = pending_row(item.record)
            kept = batch.get(row[REQUEST_ID])
            if kept is not None:
                summary.duplicates += 1  # the smaller of two snapshots of one request
                if not replaces(row, row_total(kept)):
                    continue
            batch[row[REQUEST_ID]] = row
            origins[row[REQUEST_ID]] = (item.line, item.raw)
            if len(batch) >= BATCH:
                yield flush()
        if batch:
            yield flush()

    def _ready(
        self,
        pending: Sequence[Sequence[Any]],
        summary: Summary,
        name: str,
        origin: Callable[[int], tuple[int, Any]],
    ) -> list[Sequence[Any]]:
        """Pending rows, given as columns, priced; `origin` tells a row's line and its text,
        to name one whose estimated cost is beyond the maximum."""
        if self._local and self.machine:
            machines = [self.machine] * len(pending[REQUEST_ID])
            pending = [*pending[:MACHINE], machines, *pending[MACHINE + 1 :]]
        synced = self._synced.intersection(pending[PROVIDER])
        if synced:
            raise FileRejected(
                f"{name}: holds {', '.join(sorted(synced))} usage, whose totals count the "
                "provider's synced buckets (sync.<provider>.counts: provider): importing it "
                "would count that traffic twice; nothing of this file was imported"
            )
        from chatvault.ingest.rows import priced

        columns = priced(pending, self.session.prices)
        if max(filter(None, columns[COST]), default=0) > MOST:  # reported costs were checked
            columns = self._within_maximum(columns, summary, name, origin)
        return columns

    def _write(self, conn, columns: Sequence[Sequence[Any]], summary: Summary) -> None:
        """Store priced rows, and count among those written (not those already stored:
        importing a file again says nothing) the unpriced requests, for the warning, and the
        rows the config's overrides priced."""
        from chatvault.pricing.prices import OVERRIDE

        if not columns[REQUEST_ID]:
            return
        counts = upsert(conn, columns)
        _count(counts, summary)
        _logged(conn, columns)
        overridden = OVERRIDE in columns[PRICE_DATA]
        if None in columns[COST] or overridden:
            written = range(len(columns[COST])) if counts.written is None else counts.written
            for i in written:
                if columns[COST][i] is None:
                    summary.unpriced[columns[MODEL][i]] += columns[REQUESTS][i]
                elif overridden and columns[PRICE_DATA][i] == OVERRIDE:
                    summary.overridden += 1

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


def _logged(conn, columns: Sequence[Sequence[Any]]) -> None:
    """Claude Code sessions whose log this import read: their telemetry no longer counts
    (db/overlap.py), in the same transaction as their rows."""
    from chatvault.db.overlap import LOG_IDS, note_logged

    for agent, prefix in LOG_IDS.items():
        ids, sessions = columns[REQUEST_ID], columns[SESSION]
        logged = {s for i, s in zip(ids, sessions, strict=True) if s and i.startswith(prefix)}
        if logged:
            note_logged(conn, agent, logged)


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


def _path_key(source_input: Input) -> str:
    """The key of a file's checkpoint ('' for stdin, which has none, and for a path that
    cannot be resolved: reading it says why)."""
    try:
        return source_input.key or (key(source_input.path) if source_input.path else "")
    except OSError:
        return ""


def _small(source_input: Input) -> bool:
    """Whether a file is read whole before any of it is written (else it streams)."""
    return source_input.size is not None and source_input.size <= SMALL


def _unique(ids: Sequence[str]) -> bool:
    return len(set(ids)) == len(ids)
