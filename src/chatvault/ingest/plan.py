"""Turning the command line's choices into inputs and an Importer."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import TextIO

from chatvault.errors import InputError
from chatvault.ingest import claude_code
from chatvault.ingest.files import Input, collect
from chatvault.ingest.options import ParseOptions
from chatvault.ingest.run import Importer
from chatvault.period import zone_named
from chatvault.session import Session


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
    session: Session,
    source: str,
    assume_tz: str | None,
    user: str | None,
    skip_invalid: bool,
    rejects: TextIO | None,
    dry_run: bool,
    progress: Callable[[int], None],
) -> Importer:
    options = ParseOptions(
        now=session.now,
        assume_tz=None if assume_tz is None else zone_named(assume_tz, "--assume-tz"),
        user=user or getpass.getuser(),
    )
    return Importer(
        session=session,
        options=options,
        source=source,
        skip_invalid=skip_invalid,
        rejects=rejects,
        dry_run=dry_run,
        progress=progress,
    )
