"""What an import did: the counts it reports, per file and in all."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Summary:
    """What an import did (or a file of it)."""

    files: int = 0
    failed: list[str] = field(default_factory=list)  # one line per file that was not imported
    read: int = 0
    inserted: int = 0
    replaced: int = 0
    duplicates: int = 0
    rejected: int = 0
    unchanged: int = 0  # files skipped unread: as they were when last imported
    unpriced: Counter[str] = field(default_factory=Counter)  # model -> requests without a price
    overridden: int = 0  # rows written priced by the config's overrides: money it changed
    seconds: float = 0.0

    def add(self, other: Summary, kept: bool) -> None:
        """Count another file in; what a file that was rolled back did is not counted."""
        self.read += other.read
        if kept:
            self.inserted += other.inserted
            self.replaced += other.replaced
            self.duplicates += other.duplicates
            self.rejected += other.rejected
            self.unpriced.update(other.unpriced)
            self.overridden += other.overridden
