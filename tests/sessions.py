"""Sessions for service tests: a database URL, a config, a zone and a fixed "now"."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from chatvault.config import Config, Settings
from chatvault.session import Session


def session_for(
    url: str,
    config: Config | None = None,
    zone: ZoneInfo | str | None = None,
    now: datetime | None = None,
) -> Session:
    """A session on `url`; `zone` defaults to the config's."""
    place = ZoneInfo(zone) if isinstance(zone, str) else zone
    return Session(Settings(config or Config(), None, url), zone=place, now=now)
