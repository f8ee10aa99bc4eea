"""Reports first: while a read request is being answered, received usage waits between chunks
of its checks and pricing, in threads of its own.

A report is a few milliseconds of Python run in many pieces (each statement, each row
fetched lets the interpreter lock go), and each piece waits for the lock again behind the
batches being checked and priced meanwhile. An exporter sends every few seconds and may
wait; a report is someone waiting. A batch waits YIELD_AT_MOST seconds at most in all, so
a stream of reports slows receiving, never stops it; the writer never waits here (a report
may be waiting for its commit). Batches have threads of their own, so a burst of exporters
never holds the threads that reports are answered in.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cached_property
from typing import Any

YIELD_AT_MOST = 0.25  # seconds one request's usage waits for reports, in all
RECEIVING_THREADS = 16  # requests handled at once; the others wait for a thread


class ReportsFirst:
    """How many reports are being made; received usage waits while there are any."""

    def __init__(self) -> None:
        self._idle = threading.Condition()
        self._reports = 0

    @contextmanager
    def report(self) -> Iterator[None]:
        with self._idle:
            self._reports += 1
        try:
            yield
        finally:
            with self._idle:
                self._reports -= 1
                if not self._reports:
                    self._idle.notify_all()

    def deadline(self) -> float:
        """When a request's usage stops waiting for reports."""
        return time.monotonic() + YIELD_AT_MOST

    def wait(self, deadline: float) -> None:
        """Return when no report is being made, or at `deadline`."""
        if not self._reports:  # read without the lock: a report just begun costs one chunk
            return
        with self._idle:
            self._idle.wait_for(lambda: not self._reports, deadline - time.monotonic())

    async def receive(self, handle: Callable[..., Any], *args: Any) -> Any:
        """`handle(*args)` in a receiving thread."""
        return await asyncio.get_running_loop().run_in_executor(self._threads, handle, *args)

    @cached_property
    def _threads(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(RECEIVING_THREADS, "chatvault-receive")
