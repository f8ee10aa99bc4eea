"""Turning the command line's choices into inputs and an Importer."""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Callable, Iterable
from typing import TextIO

from chatvault.errors import InputError
from chatvault.ingest import claude_code
from chatvault.ingest.files import DATA_SUFFIXES, Input, collect
from chatvault.ingest.options import ParseOptions
from chatvault.ingest.run import Importer
from chatvault.period import zone_named
from chatvault.session import Session


def find_inputs(paths: list[str], source: str) -> list[Input]:
    """The files to import; an InputError naming where it looked when there are none."""
    if paths:
        inputs = collect(paths)
        if not inputs:
            kinds = ", ".join(f"*{suffix}" for suffix in DATA_SUFFIXES[:-1])
            raise InputError(
                f"no usage files in {_either(paths)} (chatvault reads {kinds} and "
                f"*{DATA_SUFFIXES[-1]}, also gzipped); name the files to import, or another "
                "directory"
            )
        return inputs
    if source in ("auto", claude_code.NAME):
        folders = claude_code.log_folders()
        inputs = collect([str(folder) for folder in folders if folder.is_dir()])
        if inputs:
            return inputs
        configured = " (from CLAUDE_CONFIG_DIR)" if os.environ.get("CLAUDE_CONFIG_DIR") else ""
        raise InputError(
            f"no Claude Code logs in {_either(map(str, folders))}{configured}; set "
            "CLAUDE_CONFIG_DIR to the folder Claude Code keeps them in, or name the files or "
            "directories to import: chatvault ingest PATH..."
        )
    raise InputError("no paths given: name the files or directories to import")


def _either(places: Iterable[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    *others, last = places
    return f"{', '.join(others)} or {last}" if others else last


def build_importer(
    session: Session,
    source: str,
    assume_tz: str | None,
    user: str | None,
    skip_invalid: bool,
    rejects: TextIO | None,
    dry_run: bool,
    progress: Callable[[int], None],
    machine: str | None = None,
    full: bool = False,
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
        machine=machine_name(machine),
        full=full,
    )


def machine_name(given: str | None) -> str:
    """The machine rows from local sources are stamped with: --machine, else the host name
    (without its domain), at most 64 characters."""
    name = given if given is not None else socket.gethostname().split(".")[0]
    name = name.strip()
    if not name or len(name) > 64:
        raise InputError(f"--machine {name!r}: give a name of 1 to 64 characters")
    return name
