"""Turning the command line's choices into inputs and an Importer."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

from chatvault.config import Settings
from chatvault.errors import InputError
from chatvault.ingest import claude_code
from chatvault.ingest.files import Input, collect
from chatvault.ingest.options import ParseOptions
from chatvault.ingest.run import Importer
from chatvault.pricing.prices import PriceBook


def find_inputs(paths: list[str], source: str) -> list[Input]:
    if paths:
        return collect(paths)
    if source in ("auto", claude_code.NAME):
        found = claude_code.default_paths()
        if found:
            return collect([str(p) for p in found])
        raise InputError(
            "no paths given, and no Claude Code logs in ~/.claude/projects, "
            "~/.config/claude/projects or $CLAUDE_CONFIG_DIR"
        )
    raise InputError("no paths given: name the files or directories to import")


def build_importer(
    settings: Settings,
    source: str,
    assume_tz: str | None,
    user: str | None,
    skip_invalid: bool,
    rejects: TextIO | None,
    dry_run: bool,
    progress: Callable[[int], None],
) -> Importer:
    options = ParseOptions(
        now=datetime.now(UTC),
        assume_tz=_zone(assume_tz),
        user=user or getpass.getuser(),
    )
    return Importer(
        url=settings.database_url,
        create_database=settings.default_database,
        prices=PriceBook(settings.config.pricing.overrides),
        options=options,
        source=source,
        skip_invalid=skip_invalid,
        rejects=rejects,
        dry_run=dry_run,
        progress=progress,
    )


def _zone(name: str | None):
    if name is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"--assume-tz: {name!r} is not an IANA time zone") from None
