"""Results kept as JSON in the user's cache directory, under a key that covers their inputs.

An entry is an optimisation only: unreadable, unwritable or corrupt, the caller computes the
result again. Entries no run has written for two weeks are removed when one is written.

A parsed config may hold what its file holds, secrets included, and is used as the file would
be: the folders are the user's alone (0700, entries 0600), and a folder that someone else owns
or may write to is not used at all.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

KEEP_SECONDS = 14 * 86400


def folder(name: str) -> Path | None:
    """The cache's sub-folder `name`, made if needed; None when it cannot be."""
    from platformdirs import user_cache_path

    from chatvault.paths import APP_NAME

    try:
        top = user_cache_path(APP_NAME)
        top.parent.mkdir(parents=True, exist_ok=True)
        path = top / name
        for each in (top, path):
            each.mkdir(mode=0o700, exist_ok=True)
            if not _private(each):
                return None
    except OSError:
        return None
    return path


def _private(path: Path) -> bool:
    """The folder is the user's and no one else may write to it; then, no one else may look
    in it either (a folder an older chatvault made 0755 is made 0700)."""
    found = path.stat()
    if not _ours(found):
        return False
    if hasattr(os, "getuid") and found.st_mode & 0o077:
        path.chmod(0o700)
    return True


def _ours(found: os.stat_result) -> bool:
    """The user's, and no one else may write to it."""
    if not hasattr(os, "getuid"):  # Windows: a user's cache folder is the user's
        return True
    return found.st_uid == os.getuid() and not found.st_mode & 0o022


def load(place: Path, key: str) -> Any:
    """The JSON data stored under `key`, or None when there is none that can be read. An
    entry someone else owns or may write to is not read (checked on the open file: the
    folders above the cache's own were checked only when it was found)."""
    try:
        with open(place / f"{key}.json", "rb") as entry:
            if not _ours(os.fstat(entry.fileno())):
                return None
            return json.loads(entry.read())
    except (OSError, ValueError):
        return None


def store(place: Path, key: str, data: Any) -> None:
    """Keep `data` under `key`, whole or not at all, and remove entries left unused."""
    import tempfile

    try:
        text = json.dumps(data)
    except ValueError:  # an integer longer than Python will turn into text
        return
    # A cache that cannot be written only costs the next run a recomputation.
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{key}.", suffix=".part", dir=place)
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, place / f"{key}.json")
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return
    _prune(place)


def _prune(place: Path) -> None:
    old = time.time() - KEEP_SECONDS
    for entry in place.iterdir():
        try:
            if entry.stat().st_mtime < old:
                entry.unlink()
        except OSError:
            pass
