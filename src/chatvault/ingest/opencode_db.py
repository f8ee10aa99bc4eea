"""OpenCode's SQLite database: `opencode.db` in its data directory ($OPENCODE_DATA_DIR, else
~/.local/share/opencode), where OpenCode 1.2 and later keep their sessions.

Its `message` table holds one row per message: `id`, `session_id`, and the message itself as
JSON in `data`, the same document a message file held before (opencode.py) without its id and
session. Each row is read as that file would be, under the same request id: the files OpenCode
keeps after moving them into the database count once. The database is opened read-only, while
OpenCode may be writing to it (it runs in WAL mode, so a reader sees the last commit).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

from chatvault.errors import InputError
from chatvault.ingest import opencode
from chatvault.ingest.files import Input
from chatvault.ingest.jsontext import check_text, loads
from chatvault.ingest.options import Item, ParseOptions
from chatvault.ingest.record import RecordError

NAME = "opencode-db"
PATTERN = "opencode.db"
# Only assistant messages carry usage: the rest are not read at all.
QUERY = (
    "SELECT rowid, id, session_id, data FROM message "
    "WHERE data LIKE '%\"assistant\"%' ORDER BY rowid"
)


def log_folders() -> list[Path]:
    """Where OpenCode keeps its database: its data directory."""
    return [opencode.data_dir()]


def is_opencode(path: Path) -> bool:
    """Whether an SQLite file is OpenCode's: a `message` table with a `data` column."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(message)")}
    except sqlite3.DatabaseError:
        return False
    return {"id", "session_id", "data"} <= columns


def records(source: Input, options: ParseOptions) -> Iterator[Item]:
    if source.path is None:
        raise InputError("the opencode-db source reads an opencode.db file, not standard input")
    try:
        with closing(sqlite3.connect(f"file:{source.path}?mode=ro", uri=True)) as db:
            # Text that is not UTF-8 refuses its row (below), not the whole file.
            db.text_factory = lambda data: data.decode("utf-8", "surrogateescape")
            for rowid, message_id, session_id, data in db.execute(QUERY):
                raw = json.dumps({"id": message_id, "session_id": session_id, "data": data})
                try:
                    record = _record(message_id, session_id, data, options)
                except RecordError as exc:
                    yield Item(rowid, raw, error=RecordError(f"message.{exc.field}", exc.problem))
                    continue
                if record is not None:
                    yield Item(rowid, raw, record=record)
    except sqlite3.DatabaseError as exc:
        raise InputError(
            f"{source.name}: not a readable OpenCode database ({exc}); OpenCode keeps it at "
            "~/.local/share/opencode/opencode.db"
        ) from None


def _record(message_id, session_id, data, options: ParseOptions):
    for value, field in ((message_id, "id"), (session_id, "session_id"), (data, "data")):
        if not isinstance(value, str):
            raise RecordError(field, "must be text")
        check_text(value, field)
    message = loads(data, exact=True, field="data")  # the cost as written: exact
    if not isinstance(message, dict):
        raise RecordError("data", "must be a JSON object")
    return opencode.message_record({**message, "id": message_id, "sessionID": session_id}, options)
