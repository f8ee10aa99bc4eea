"""Turning the command line's choices into inputs and an Importer."""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Callable, Iterable
from fnmatch import fnmatchcase
from functools import partial
from operator import attrgetter
from pathlib import Path
from typing import TextIO

from chatvault.errors import InputError
from chatvault.ingest import claude_code, codex, gemini, opencode, opencode_db, qwen
from chatvault.ingest.files import DATA_SUFFIXES, Input, collect, walk
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
    agents = [a for a in AGENTS if source in ("auto", a.NAME)]
    if not agents:
        raise InputError("no paths given: name the files or directories to import")
    inputs = [found for agent in agents for found in _agent_files(agent)]
    if inputs:
        return inputs
    folders = [str(place) for agent in agents for place in _places(agent)]
    variables = dict.fromkeys(ENVIRONMENT[a.NAME] for a in agents if a.NAME in ENVIRONMENT)
    configured = [variable for variable in variables if os.environ.get(variable)]
    said = f" (from {', '.join(configured)})" if configured else ""
    raise InputError(
        f"no agent logs in {_either(folders)}{said}; set CLAUDE_CONFIG_DIR, CODEX_HOME, "
        "GEMINI_CLI_HOME or OPENCODE_DATA_DIR to where an agent keeps them, or name the "
        "files or directories to import: chatvault ingest PATH..."
    )


# The agents whose logs `ingest` reads without a path, from their default places.
AGENTS = (claude_code, codex, gemini, opencode, opencode_db, qwen)
ENVIRONMENT = {  # where each agent is told its folder
    claude_code.NAME: "CLAUDE_CONFIG_DIR",
    codex.NAME: "CODEX_HOME",
    gemini.NAME: "GEMINI_CLI_HOME",
    opencode.NAME: "OPENCODE_DATA_DIR",
    opencode_db.NAME: "OPENCODE_DATA_DIR",
}


def _places(agent) -> list[Path]:
    """Where an agent keeps its logs: folders to walk, or for OpenCode's database the file."""
    folders = agent.log_folders()
    return [folder / agent.PATTERN for folder in folders] if agent is opencode_db else folders


def _agent_files(agent) -> list[Input]:
    """An agent's log files in its default places, each read as that agent's."""
    if agent is opencode_db:  # one file at the top of its folder: nothing to walk
        files = [path for path in _places(agent) if path.is_file()]
        return [Input(str(path), path, path.stat().st_size, agent.NAME) for path in files]
    folders = [folder for folder in agent.log_folders() if folder.is_dir()]
    if agent is claude_code:  # as before: every data file there, its format told by content
        return collect([str(folder) for folder in folders])
    found = [
        found
        for folder in folders
        for found in walk(folder, partial(fnmatchcase, pat=agent.PATTERN), agent.NAME)
    ]
    return sorted(found, key=attrgetter("path"))  # the folders' files in one order


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
