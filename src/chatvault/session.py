"""One command's session: the database connection (opened once, its schema checked once), the
config and the policies derived from it, the report's time zone, the clock and the
diagnostics sink. Services take a session and a query (a UsageFilter), never a URL, a config,
a zone or "today" of their own.

The CLI opens one per command and closes it when the command ends. A server can open one per
request: a session keeps no module-level state, takes an engine to share between threads
(each session checks out its own connection), and says what it has to say through `note`,
never to a terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from chatvault.config import Config, Settings
from chatvault.period import local_date, zone_named

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from chatvault.pricing.prices import PriceBook


def quiet(message: str) -> None:
    """The sink of a session nobody watches: diagnostics are dropped."""


class Session:
    """A unit of work against one database, in one time zone, at one instant."""

    def __init__(
        self,
        settings: Settings,
        *,
        zone: ZoneInfo | None = None,
        now: datetime | None = None,
        note: Callable[[str], None] = quiet,
        engine: Engine | None = None,
    ) -> None:
        self.settings = settings
        self.zone = zone or zone_named(settings.config.timezone, "timezone")
        # One instant for the whole command: every "today" and "so far" in it agrees.
        self.now = now or datetime.now(UTC)
        self.note = note
        self._engine = engine
        self._conn: Connection | None = None
        self._fresh: set[str] = set()  # zones whose rollups this session brought up to date
        self._memo: dict[Hashable, Any] = {}

    @property
    def config(self) -> Config:
        return self.settings.config

    @property
    def url(self) -> str:
        return self.settings.database_url

    @cached_property
    def prices(self) -> PriceBook:
        """The price list with the config's overrides."""
        from chatvault.pricing.prices import PriceBook

        return PriceBook(self.config.pricing.overrides)

    def memo(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """`compute()`, once per key in this session: a result read or derived from the
        session's snapshot, asked for by more than one service (it is forgotten on a write)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def today(self, zone: ZoneInfo | None = None) -> date:
        return local_date(self.now, zone or self.zone)

    @property
    def connection(self) -> Connection:
        """The session's one connection: opened, and its schema checked, on first use. A
        database that does not exist is an error here: reading creates nothing."""
        return self._open(create=False)

    def _open(self, create: bool) -> Connection:
        if self._conn is None:
            from chatvault.db.guard import open_checked

            self._conn = open_checked(self.url, create, self._engine)
        return self._conn

    def prepare(self, zones: Iterable[ZoneInfo]) -> None:
        """Bring the rollups of every zone a command will read up to date before it reads
        any: a refresh ends the read snapshot, so it comes first, and the reads share one.
        The database is opened and checked even when there is no zone to read."""
        self.connection  # noqa: B018
        for zone in zones:
            self.reading(zone)

    def reading(self, zone: ZoneInfo | None = None) -> Connection:
        """The connection in the session's read snapshot, with the daily rollups of `zone`
        (default: the session's) exact; they are brought up to date once per session."""
        from chatvault.db.rollups import bring_up_to_date

        conn = self.connection
        key = (zone or self.zone).key
        if key not in self._fresh:
            bring_up_to_date(conn, key, self.note)
            self._fresh.add(key)
        return conn

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """One write transaction, committed after the block (rolled back on error). The read
        snapshot ends first; rollups are checked again before the next read."""
        with self.writer() as conn, conn.begin():
            yield conn

    @contextmanager
    def writer(self) -> Iterator[Connection]:
        """The connection for a writer that manages its own transactions (one per file, per
        batch); each of them locks first on SQLite. The default database (no URL given
        anywhere) is created at head on the first write."""
        from chatvault.db.engine import locking_first

        conn = self._open(create=self.settings.default_database)
        conn.rollback()
        try:
            with locking_first(conn):
                yield conn
        finally:
            self._fresh.clear()  # whatever was committed before an error counts too
            self._memo.clear()

    def close(self) -> None:
        """Give the connection back; an unfinished transaction is rolled back."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
