"""Usage rows streamed to CSV or JSONL (docs/export.md): every column, exact, oldest first.

The database formats the cells (db/export_rows.py: UTC timestamps, cost strings, CSV booleans,
formula neutralisation), so Python only moves plain tuples into csv.writer or orjson a batch
at a time: memory stays flat, and the speed close to a bare cursor-to-csv.writer loop.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any, BinaryIO

from chatvault.db.export_rows import COLUMNS, batches, rows_query
from chatvault.db.filters import UsageFilter
from chatvault.errors import ChatvaultError, InputError

if TYPE_CHECKING:
    from chatvault.session import Session

GZIP_LEVEL = 6  # gzip's own default; Python's 9 takes about twice as long for ~1% less
OnProgress = Callable[[int, int], None]  # (rows written so far, rows to write)
Batches = Iterable[Sequence[Sequence[Any]]]


@dataclass(frozen=True)
class Target:
    """Where and how to write; `path` None is stdout."""

    path: Path | None
    format: str = "csv"
    compress: bool = False
    raw: bool = False  # --raw: text cells as stored (CSV and the FOCUS CSV defuse them)

    @property
    def neutralise(self) -> bool:
        """CSV only: spreadsheets open CSV, not JSONL."""
        return self.format == "csv" and not self.raw

    @classmethod
    def of(cls, output: str, format: str | None, compress: bool, raw: bool) -> Target:
        """What --output and the options mean: a `.gz` name implies gzip, and a `.jsonl` or
        `.ndjson` name JSONL unless --format says otherwise."""
        path = None if output == "-" else Path(output)
        name = "" if path is None else path.name.lower()
        compress = compress or name.endswith(".gz")
        format = format or (
            "jsonl" if name.removesuffix(".gz").endswith((".jsonl", ".ndjson")) else "csv"
        )
        if path is None and compress and sys.stdout.isatty():
            raise InputError(
                "gzip data is not written to a terminal: redirect stdout, or give --output FILE"
            )
        return cls(path, format, compress, raw)

    def describe(self) -> str:
        return "stdout" if self.path is None else str(self.path)


@dataclass(frozen=True)
class ExportSummary:
    rows: int
    bytes: int  # as written: compressed, with gzip
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def export(
    session: Session, rows: UsageFilter, target: Target, progress: OnProgress | None = None
) -> ExportSummary:
    """Write the filtered rows in created_at, id order; a file appears only once complete.

    With `progress`, the rows are counted first (one COUNT(*)) to size a progress bar.
    """
    started = perf_counter()
    conn = session.connection
    with _destination(target.path) as sink:
        counted = _Counted(sink)
        try:
            # Counted below a 1 MiB buffer: one Python call per MiB, not per 8 KiB.
            buffered = io.BufferedWriter(counted, 1 << 20)
            stream: Any = buffered
            if target.compress:
                stream = gzip.GzipFile(
                    filename="", mode="wb", fileobj=buffered, compresslevel=GZIP_LEVEL
                )
            csv_cells, neutralise = target.format == "csv", target.neutralise
            query, total = rows_query(conn, rows, csv_cells, neutralise, progress is not None)
            with contextlib.closing(batches(conn, query)) as found:
                reported = found if progress is None else _reporting(found, progress, total)
                if target.format == "focus":  # FOCUS 1.2 columns (reports/focus.py)
                    from chatvault.reports.focus import write_focus

                    written = write_focus(stream, reported, not target.raw)
                else:
                    write = _write_csv if target.format == "csv" else _write_jsonl
                    written = write(stream, reported)
            if target.compress:
                stream.close()  # gzip's trailer: only a complete export gets one
            buffered.flush()
        finally:
            # What a half-written gzip or text layer flushes when collected goes nowhere.
            counted.detach()
    return ExportSummary(written, counted.written, perf_counter() - started)


def _reporting(batches: Batches, progress: OnProgress, total: int | None) -> Batches:
    done, total = 0, total or 0
    progress(done, total)
    for batch in batches:
        yield batch
        done += len(batch)
        progress(done, max(total, done))  # rows inserted since the count: the bar still ends


def _write_csv(stream: BinaryIO, batches: Batches) -> int:
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    writer = csv.writer(text)  # the excel dialect: RFC 4180 quoting, CRLF line ends
    writer.writerow(COLUMNS)
    written = 0
    for batch in batches:
        writer.writerows(batch)
        written += len(batch)
    text.detach()  # flushes, and leaves the stream to its owner
    return written


def _write_jsonl(stream: BinaryIO, batches: Batches) -> int:
    import orjson

    dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    billable = COLUMNS.index("billable")
    written = 0
    write = stream.write  # buffered: a line at a time costs less than joining a batch
    for batch in batches:
        for row in batch:
            record = dict(zip(COLUMNS, row, strict=True))
            if row[billable] is not None:  # SQLite and MySQL return 0/1
                record["billable"] = bool(row[billable])
            write(dumps(record, option=newline))
        written += len(batch)
    return written


@contextlib.contextmanager
def _destination(path: Path | None) -> Iterator[BinaryIO]:
    """The output's bytes: stdout, or a temporary file next to `path` renamed over it once
    complete, and removed on any failure (an interrupt included)."""
    if path is None:
        sys.stdout.flush()  # anything printed before goes first
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    if path.is_dir():
        raise InputError(f"--output {path} is a directory")
    if path.exists() and not path.is_file():
        # A FIFO or a device (/dev/null, /dev/stdout): written as is, never renamed over.
        with _opened(path) as special:
            yield special
        return
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path}: the folder {path.parent} does not exist")
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())  # on disk before the name points at it
        os.chmod(temporary, _mode(path))
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):  # a full disk, a lost mount: the output's, not a bug
            raise ChatvaultError(
                f"cannot write {path}: {exc.strerror or exc}; nothing was written"
            ) from None
        raise


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[BinaryIO]:
    try:
        file = path.open("wb")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    with file:
        yield file


def _mode(path: Path) -> int:
    """What a plain open() would have given: the replaced file's mode, else 0666 less the umask."""
    with contextlib.suppress(FileNotFoundError):
        return stat.S_IMODE(path.stat().st_mode)
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


class _Counted(io.RawIOBase):
    """Passes bytes on to `sink` and counts them; after detach() it drops them."""

    def __init__(self, sink: BinaryIO):
        self._sink: BinaryIO | None = sink
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        size = memoryview(data).nbytes
        if self._sink is not None:
            self._sink.write(data)  # a buffered stream or a file: all of it, or an error
            self.written += size
        return size

    def flush(self) -> None:
        if self._sink is not None:
            self._sink.flush()

    def detach(self) -> Any:
        sink, self._sink = self._sink, None
        return sink
