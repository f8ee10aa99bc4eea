"""Where each file's import stopped, so the next import reads only what is new.

A checkpoint records a file's identity (device and inode), its size and modification time as
last imported, the offset after its last complete line, and two fingerprints: of its first
bytes and of the bytes just before the offset. The next import then:

- skips a file whose identity, size and modification time are unchanged, without reading it;
- reads an append-only log (Claude Code, Codex...) from the offset, when the file is the same
  one, has not shrunk, and both fingerprints still match: it was appended to;
- reads anything else again from the start (a truncated or rewritten file, another format,
  gzip): still idempotent, the request ids dedupe what was imported before.

A checkpoint moves in the same transaction as the file's rows, so after a kill the two agree.
`--full` reads every file from the start (and moves the checkpoints as usual).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from chatvault.db.writes import file_id
from chatvault.ingest.files import CountingReader, Input

FINGERPRINT = 4096  # bytes hashed at the head and before the offset
LOOK_BACK = 1 << 16  # bytes searched at a time for the last line's end


class Checkpoint(NamedTuple):  # a tuple: ten thousand are loaded for a rerun
    device: int
    inode: int
    size: int
    mtime_ns: int
    offset: int  # bytes imported: up to the end of the last complete line (or the whole file)
    lines: int  # lines before the offset, so a resumed read names lines as a full one would
    head: str  # fingerprint of the first min(FINGERPRINT, offset) bytes
    tail: str  # fingerprint of the FINGERPRINT bytes before the offset
    source: str  # the format it was read as

    def unchanged(self, stat: os.stat_result) -> bool:
        return (self.device, self.inode, self.size, self.mtime_ns) == _identity(stat)


@dataclass(frozen=True)
class Plan:
    skip: bool = False
    start: int = 0  # where to read from
    first_line: int = 1  # the line number at `start`
    source: str | None = None  # the format, when reading on from a checkpoint


def key(path: Path) -> str:
    """The checkpoint's key: the file's absolute path (symlinks resolved)."""
    return str(path.resolve())


def plan(path: Path, stat: os.stat_result, kept: Checkpoint | None, full: bool) -> Plan:
    """What to read of a file, given its checkpoint."""
    if kept is None or full:
        return Plan()
    if kept.unchanged(stat) and not _has_wal(path, kept.source):
        return Plan(skip=True)
    same_file = (kept.device, kept.inode) == (stat.st_dev, stat.st_ino)
    if (
        kept.source in RESUMABLE
        and same_file
        and 0 < kept.offset <= stat.st_size
        and _hashes(path, kept.offset) == (kept.head, kept.tail)
    ):
        return Plan(start=kept.offset, first_line=kept.lines + 1, source=kept.source)
    return Plan()


# SQLite databases an agent writes to in WAL mode: what it committed may still be in the
# `-wal` file beside the database, whose own size and time have not moved.
SQLITE_SOURCES = {"llm", "opencode-db"}


def _has_wal(path: Path | str, source: str) -> bool:
    if source not in SQLITE_SOURCES:
        return False
    try:
        return os.stat(f"{path}-wal").st_size > 0
    except OSError:
        return False


# The sources whose files only ever grow by whole lines, each line read on its own: agents'
# session logs.
RESUMABLE = {"claude-code", "qwen"}


def complete_end(path: Path, size: int, start: int) -> int:
    """The offset after the last newline in [start, size): a line still being written is
    left for the next import."""
    with path.open("rb") as raw:
        end = size
        while end > start:
            begin = max(start, end - LOOK_BACK)
            raw.seek(begin)
            block = raw.read(end - begin)
            cut = block.rfind(b"\n")
            if cut >= 0:
                return begin + cut + 1
            end = begin
    return start


def checkpoint(
    path: Path, stat: os.stat_result, offset: int, lines: int, source: str
) -> Checkpoint:
    """The checkpoint of a file read up to `offset`, as it was when stat'ed."""
    head, tail = _hashes(path, offset)
    return Checkpoint(*_identity(stat), offset, lines, head, tail, source)


def _identity(stat: os.stat_result) -> tuple[int, int, int, int]:
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


def _hashes(path: Path, offset: int) -> tuple[str, str]:
    """The fingerprints of the first bytes and of those before `offset`, in one open: a
    small file is one read."""
    start = max(0, offset - FINGERPRINT)
    with path.open("rb") as raw:
        if start <= FINGERPRINT:
            data = raw.read(offset)
            return _digest(data[:FINGERPRINT]), _digest(data[start:])
        head = raw.read(FINGERPRINT)
        raw.seek(start)
        return _digest(head), _digest(raw.read(offset - start))


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


@dataclass
class Reading:
    """A file opened for an import: what of it to read, as which format, and what its
    checkpoint will be once imported."""

    stream: CountingReader
    source: str
    stat: os.stat_result | None  # None for stdin: no checkpoint
    start: int = 0
    end: int | None = None  # the read stops here (a resumable log's last complete line)
    first_line: int = 1

    def done(self) -> Checkpoint | None:
        """The checkpoint after a successful import of what was read."""
        if self.stat is None or self.stream.path is None:
            return None
        offset = self.stat.st_size if self.end is None else self.end
        lines = self.first_line - 1 + self.stream.line_count
        return checkpoint(self.stream.path, self.stat, offset, lines, self.source)


def to_read(inputs: Sequence[Input], kept: Mapping[str, tuple]) -> list[bool]:
    """Whether each file is to be read: not as it was when last imported, by the stat its
    walk took and its checkpoint's identity (path, file_id, size, mtime_ns, source:
    writes.load_identities). An unchanged file is skipped without a second stat: ten thousand
    of them are what a rerun costs, hence one loop here and no call per file."""
    found = []
    for source_input in inputs:
        walked, row = source_input.stat, kept.get(source_input.key or "")
        found.append(
            row is None
            or walked is None
            or row[2] != walked.st_size
            or row[3] != walked.st_mtime_ns
            or row[1] != file_id(walked.st_dev, walked.st_ino)
            or (row[4] in SQLITE_SOURCES and _has_wal(source_input.location, row[4]))
        )
    return found


def open_reading(
    source_input: Input,
    forced: str | None,
    kept: Checkpoint | None,
    full: bool,
    detect: Callable[[Input, CountingReader], str],
) -> Reading | None:
    """The file opened where its import should start, or None to skip it (unchanged)."""
    path = source_input.path
    if path is None:
        stream = source_input.open()
        return Reading(stream, forced or detect(source_input, stream), None)
    stat = path.stat()  # now, to read what is there now
    how = plan(path, stat, kept, full)
    if how.skip:
        return None
    stream = source_input.open(how.start) if how.start else source_input.open()
    try:
        source = forced or how.source or detect(source_input, stream)
        if source not in RESUMABLE or stream.gzipped:
            if how.start:  # a file that became gzip: read whole
                stream.close()
                stream = source_input.open()
                source = forced or detect(source_input, stream)
            return Reading(stream, source, stat)
        head, size = stream.head(), stat.st_size - how.start
        if len(head) >= size:  # all of it is in the buffer already: no second open
            end = how.start + head.rfind(b"\n", 0, size) + 1
        else:
            end = complete_end(path, stat.st_size, how.start)
        if end != stat.st_size:  # a line still being written: left for the next import
            stream.close()
            stream = source_input.open(how.start, end)
        return Reading(stream, source, stat, how.start, end, how.first_line)
    except BaseException:
        stream.close()
        raise
