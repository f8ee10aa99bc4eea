"""Reading ahead: a second process reads, checks and prices small files while the importing
process writes the ones before them, so parsing and SQL run on two cores at once.

The reader is forked from the importer, touches no database (the importer's connection is
never used in it) and sends each file's outcome back in order, through a bounded queue:
memory stays flat, and what is written, and in which transaction, is what reading the files
one by one would give. An error in the reader ends the import like one in the importer.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from chatvault.ingest.checkpoints import Checkpoint
from chatvault.ingest.files import Input
from chatvault.ingest.summary import Summary

AHEAD = 256  # files read ahead at most: a few thousand rows in flight
AHEAD_FILES = 200  # fewer small files to read than this: no second process (its start costs)


@dataclass
class Read:
    """A small file read, checked and priced whole, not written yet."""

    summary: Summary  # the file's own counts
    batches: list[Sequence[Sequence[Any]]] = field(default_factory=list)  # priced columns
    path_key: str = ""
    mark: Checkpoint | None = None  # its checkpoint once written
    failed: str | None = None  # why nothing of it is imported
    unchanged: bool = False  # as its checkpoint says: not read
    consumed: int = 0  # raw bytes read


@dataclass
class _Crash:
    """What ended the reader: the import ends too."""

    message: str


def ahead_possible() -> bool:
    """A second core, and fork: the reader inherits the importer's prices and options as
    they are (no pickling of them, no second start-up)."""
    return sys.platform == "linux" and (os.cpu_count() or 1) > 1


@contextmanager
def read_ahead(read: Callable[[Input], Read], inputs: list[Input]) -> Iterator[Iterator[Read]]:
    """`read` of each input, in order, computed by a forked process ahead of the caller."""
    import multiprocessing  # only when reading ahead: a rerun over unchanged files does not

    context = multiprocessing.get_context("fork")
    results = context.Queue(maxsize=AHEAD)
    reader = context.Process(target=_reader, args=(read, inputs, results), daemon=True)
    reader.start()
    try:
        yield _received(results, reader, len(inputs))
    finally:
        if reader.is_alive():  # the import stopped early: so does the reader
            reader.terminate()
        reader.join()
        results.close()


def _reader(read: Callable[[Input], Read], inputs: list[Input], results: Any) -> None:
    importer = os.getppid()
    try:
        for source_input in inputs:
            _put(results, read(source_input), importer)
    except SystemExit:
        raise
    except BaseException as exc:  # told to the importer, which raises it (Ctrl-C too)
        _put(results, _Crash(f"{type(exc).__name__}: {exc}"), importer)


def _put(results: Any, item: Read | _Crash, importer: int) -> None:
    """Wait for room in the queue, as long as the importer lives: a killed import (kill -9,
    the OOM killer) leaves no reader behind, waiting forever."""
    import queue

    while True:
        try:
            results.put(item, timeout=1)
            return
        except queue.Full:
            if os.getppid() != importer:
                results.cancel_join_thread()  # nobody will read what is queued
                sys.exit(1)


def _received(results: Any, reader: Any, count: int) -> Iterator[Read]:
    import queue

    for _ in range(count):
        while True:
            try:
                item = results.get(timeout=1)
                break
            except queue.Empty:
                if not reader.is_alive() and results.empty():
                    raise RuntimeError("the process reading ahead ended early") from None
        if isinstance(item, _Crash):
            raise RuntimeError(f"reading ahead failed: {item.message}")
        yield item
