"""The inputs of an import: files, directories (walked), `-` for stdin, gzip or not."""

from __future__ import annotations

import io
import os
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from operator import attrgetter
from pathlib import Path
from typing import BinaryIO

from chatvault.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
SQLITE_MAGIC = b"SQLite format 3\x00"
# What a directory walk picks up; other files (READMEs, lock files) are not usage.
DATA_SUFFIXES = (".jsonl", ".json", ".csv", ".ndjson", ".db", ".sqlite")
_NAME = attrgetter("name")  # a directory entry's


# Not frozen: a frozen dataclass's __init__ costs 11,000 instructions against 3,000, and a
# walk makes one per file (a tenth of a rerun's own work over 10,000 files).
@dataclass
class Input:
    """One file to import. `path` is None for stdin."""

    name: str
    # A Path, or the text of one: a walk gives text, made a Path only for a file read.
    location: Path | str | None
    size: int | None  # bytes on disk (compressed size for gzip), for the progress bar
    source: str | None = None  # the format, when where it was found says (an agent's folder)
    # What a directory walk learnt on the way, so an unchanged file costs nothing more: its
    # stat and its checkpoint key (absolute, symlinks resolved; see checkpoints.key).
    stat: os.stat_result | None = None
    key: str | None = None

    @cached_property
    def path(self) -> Path | None:
        return None if self.location is None else Path(self.location)

    def open(self, start: int = 0, end: int | None = None) -> CountingReader:
        """The file's bytes, decompressed if it is gzip; `.consumed` counts bytes read. With
        `start` and `end`: those bytes of the file only (never of gzip or stdin)."""
        if self.path is None:
            return CountingReader(sys.stdin.buffer, self.name)
        raw: BinaryIO = self.path.open("rb")
        if start or end is not None:
            raw.seek(start)
            if end is not None:
                raw = io.BufferedReader(_Limited(raw, end - start))  # type: ignore[assignment]
        return CountingReader(raw, self.name, self.path)


class CountingReader(io.RawIOBase):
    """Reads a stream, transparently gunzipping it, and counts the raw bytes consumed."""

    def __init__(self, raw: BinaryIO, name: str = "<input>", path: Path | None = None):
        self._raw = raw
        self.name = name
        self.path = path
        self.consumed = 0
        self.line_count = 0
        magic = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
        self.gzipped = magic == GZIP_MAGIC
        self._stream = None
        if self.gzipped:
            import gzip  # only for gzip files: a rerun opens none

            self._stream = gzip.GzipFile(fileobj=_Counted(raw, self))
        self.buffered = io.BufferedReader(self, buffer_size=1 << 20)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:
        try:
            if self._stream is None:  # plain bytes, read straight into the buffer: no copies
                count = self._raw.readinto(buffer)
                self.consumed += count
                return count
            data = self._stream.read(len(buffer))
        except (OSError, EOFError, zlib.error) as exc:  # gzip's errors are these three
            what = "a damaged or cut-short gzip file" if self.gzipped else "cannot be read"
            raise InputError(
                f"{self.name}: {what} ({exc or type(exc).__name__}); nothing of this file was "
                "imported"
            ) from None
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if self._raw is not sys.stdin.buffer:
            self._raw.close()
        # The buffer and the byte counter point back at this reader. Without these cycles
        # the megabyte buffer is freed with the file, not at some later full collection:
        # memory stays flat over thousands of files.
        self.__dict__.pop("buffered", None)
        self.__dict__.pop("_stream", None)
        super().close()

    def head(self) -> bytes:
        """The first bytes (up to a megabyte), without consuming them: to tell the format."""
        return self.buffered.peek(1 << 20)

    def lines(self) -> Iterator[bytes]:
        """The lines; `.line_count` counts those read."""
        for count, line in enumerate(self.buffered, start=1):
            self.line_count = count
            yield line

    def text(self) -> io.TextIOWrapper:
        """Text decoded as UTF-8; bytes that are not UTF-8 become lone surrogates, for the
        record that holds them to be refused (jsontext.check_text), not the whole file."""
        return io.TextIOWrapper(
            self.buffered, encoding="utf-8-sig", errors="surrogateescape", newline=""
        )


class _Limited(io.RawIOBase):
    """At most `left` bytes of a file."""

    def __init__(self, raw: BinaryIO, left: int):
        self._raw, self._left = raw, left

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:
        data = self._raw.read(min(len(buffer), self._left))
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _Counted(io.RawIOBase):
    def __init__(self, raw: BinaryIO, owner: CountingReader):
        self._raw, self._owner = raw, owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:
        data = self._raw.read(len(buffer))
        self._owner.consumed += len(data)
        buffer[: len(data)] = data
        return len(data)


def collect(paths: list[str]) -> list[Input]:
    """Every file the arguments name, directories walked in a stable order."""
    inputs: list[Input] = []
    for argument in paths:
        if argument == "-":
            inputs.append(Input("<stdin>", None, None))
            continue
        path = Path(argument).expanduser()
        if path.is_dir():
            inputs.extend(walk(path))
        elif path.is_file():
            inputs.append(Input(str(path), path, path.stat().st_size))
        else:
            raise InputError(f"no such file or directory: {argument}")
    return inputs


def walk(
    folder: Path, pattern: Callable[[str], bool] | None = None, source: str | None = None
) -> list[Input]:
    """The data files under a folder (those whose name `pattern` accepts, if given, read as
    `source`), in the
    order of their paths' parts, as `sorted(folder.rglob("*"))` gives them: symlinked folders
    are not entered, unreadable ones are passed over. Each comes with the stat and the
    checkpoint key the walk got on the way (os.scandir: no second stat, no path resolved
    but a symlink's), which is what a rerun over unchanged files costs."""
    found: list[Input] = []
    _walk(str(folder), str(folder.resolve()), pattern or _is_data, source, found)
    return found


def _walk(
    shown: str, real: str, pattern: Callable[[str], bool], source: str | None, found: list[Input]
) -> None:
    try:
        with os.scandir(shown) as scan:
            entries = sorted(scan, key=_NAME)
    except PermissionError:
        return
    inside = os.path.join(real, "")  # the folder's resolved path and a separator, joined once
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                _walk(entry.path, inside + entry.name, pattern, source, found)
            elif pattern(entry.name) and entry.is_file():
                stat = entry.stat()
                where = os.path.realpath(entry.path) if entry.is_symlink() else inside + entry.name
                found.append(Input(entry.path, entry.path, stat.st_size, source, stat, where))
        except FileNotFoundError:  # gone since the folder was listed
            continue


def _is_data(name: str) -> bool:
    return name.removesuffix(".gz").endswith(DATA_SUFFIXES)
