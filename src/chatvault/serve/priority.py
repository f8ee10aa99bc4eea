"""Reports first: received usage is handled by threads of its own, at a lower priority (on
Linux), and while a read request is being answered it waits between chunks of its checks
and pricing.

A report is a few milliseconds of Python run in many pieces (each statement, each row
fetched lets the interpreter lock go), and each piece waits for the lock and for a core
again; with exporters' batches checked and priced meanwhile, a 1 ms report took 10-95 ms
and a 10 ms one 40-200 ms. An exporter sends every few seconds and may wait; a report is
someone waiting. A batch waits YIELD_AT_MOST seconds at most in all, so a stream of reports
slows receiving, never stops it; and the writer never waits here (a report may be waiting
for its commit).
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from functools import cached_property
from typing import Any

YIELD_AT_MOST = 0.25  # seconds one request's usage waits for reports, in all
RECEIVING_THREADS = 16  # requests handled at once; the others wait for a thread
NICENESS = 10  # added to those threads': a report's thread gets about 10x their share of a core


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
        return ThreadPoolExecutor(RECEIVING_THREADS, "chatvault-receive", initializer=_lower)


def _lower() -> None:
    """This thread's priority lowered: Linux schedules threads as tasks of their own (elsewhere
    the call could name another process, and is not made)."""
    if sys.platform == "linux":
        me = threading.get_native_id()
        with suppress(OSError):
            os.setpriority(
                os.PRIO_PROCESS, me, min(19, os.getpriority(os.PRIO_PROCESS, me) + NICENESS)
            )
