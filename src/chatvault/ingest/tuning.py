"""The process and connection settings an import runs with, restored after it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

IMPORT_CACHE_KIB = 64 << 10  # SQLite's page cache while importing (engine.py's is 16 MiB)


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


@contextmanager
def larger_cache(conn: Any) -> Iterator[None]:
    """SQLite's page cache at IMPORT_CACHE_KIB while importing: the four indexes of a large
    import are walked at random, and a cache they fit better in reads and writes fewer pages
    (about 7% of the CPU time of a 300,000-row import; the memory is a fixed cap)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    cursor = conn.connection.cursor()  # the driver's: a PRAGMA is no transaction to begin
    try:
        (before,) = cursor.execute("PRAGMA cache_size").fetchone()
        cursor.execute(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
        try:
            yield
        finally:
            cursor.execute(f"PRAGMA cache_size = {before}")
    finally:
        cursor.close()
