"""The revision chain, read from the migration scripts, so tests follow new revisions."""

from chatvault.db.migrate import script_directory
from chatvault.db.shapes import HEAD

ALL = [script.revision for script in reversed(list(script_directory().walk_revisions()))]


def after(revision: str) -> list[str]:
    return ALL[ALL.index(revision) + 1 :]


__all__ = ["ALL", "HEAD", "after"]
