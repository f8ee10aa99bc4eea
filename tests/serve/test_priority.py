"""Reports first (serve/priority.py): received usage waits while a report is made, for a
bounded time, in threads of its own."""

from __future__ import annotations

import asyncio
import threading
import time

from chatvault.serve import priority
from chatvault.serve.priority import ReportsFirst


def test_usage_waits_for_the_report_being_made():
    first = ReportsFirst()
    ended = []

    def receive() -> None:
        first.wait(first.deadline())
        ended.append(time.monotonic())

    with first.report():
        thread = threading.Thread(target=receive)
        thread.start()
        time.sleep(0.05)
        assert not ended  # still waiting: the report is not done
        done = time.monotonic()
    thread.join(5)
    assert ended and ended[0] >= done


def test_no_report_no_wait_and_the_wait_is_bounded(monkeypatch):
    first = ReportsFirst()
    began = time.monotonic()
    first.wait(first.deadline())
    assert time.monotonic() - began < 0.05
    monkeypatch.setattr(priority, "YIELD_AT_MOST", 0.1)
    with first.report():
        began = time.monotonic()
        first.wait(first.deadline())  # a report that does not end: the batch goes on
        assert 0.09 < time.monotonic() - began < 2


def test_received_usage_has_threads_of_its_own():
    first = ReportsFirst()
    name = asyncio.run(first.receive(lambda: threading.current_thread().name))
    assert name.startswith("chatvault-receive")
