"""What this process received, per source: rows stored, items refused, and when a source
last sent data (for /metrics). Kept in memory: each worker process counts its own."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Received:
    rows: Counter[str] = field(default_factory=Counter)  # stored (new or larger) per source
    duplicates: Counter[str] = field(default_factory=Counter)  # sent again: nothing changed
    rejected: Counter[str] = field(default_factory=Counter)
    points: Counter[str] = field(default_factory=Counter)  # metric data points acknowledged
    last: dict[str, float] = field(default_factory=dict)  # source -> Unix time of its last data
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, source: str, rows: int = 0, duplicates: int = 0, rejected: int = 0,
             points: int = 0) -> None:  # fmt: skip
        with self._lock:
            self.rows[source] += rows
            self.duplicates[source] += duplicates
            self.rejected[source] += rejected
            self.points[source] += points
            self.last[source] = time.time()

    def snapshot(self) -> dict[str, dict[str, float]]:
        with self._lock:
            return {
                "rows": dict(self.rows),
                "duplicates": dict(self.duplicates),
                "rejected": dict(self.rejected),
                "points": dict(self.points),
                "last": dict(self.last),
            }
