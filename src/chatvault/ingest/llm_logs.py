"""The SQLite `logs.db` of Simon Willison's `llm` tool: its `responses` and `turns` tables.

Older llm versions log to `responses`, newer ones to `turns`; both are read, and an id that
is in both counts once. Cached tokens are in `token_details`, which follows each provider's
own shape: OpenAI and Gemini count them inside the input (they are subtracted), Anthropic
does not. `datetime_utc` is UTC, as its name says. llm records no user: `--user` or your
login name.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC
from typing import Any

from chatvault.errors import InputError
from chatvault.ingest.files import Input
from chatvault.ingest.jsontext import check_text, loads
from chatvault.ingest.options import Item, ParseOptions
from chatvault.ingest.record import RecordError, UsageRecord, count, shown, text, timestamp

NAME = "llm"
TABLES = ("responses", "turns")


def records(source: Input, options: ParseOptions) -> Iterator[Item]:
    if source.path is None:
        raise InputError("the llm source reads a logs.db file, not standard input")
    uri = f"file:{source.path}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as db:
            db.row_factory = sqlite3.Row
            # Text that is not UTF-8 refuses its row (below), not the whole file.
            db.text_factory = lambda data: data.decode("utf-8", "surrogateescape")
            query = "SELECT name FROM sqlite_master WHERE type='table'"
            tables = {r[0] for r in db.execute(query)}
            if not tables & set(TABLES):
                raise InputError(
                    f"{source.name}: an SQLite file without llm's responses or turns table"
                )
            for table in TABLES:
                if table in tables:
                    yield from _table(db, table, options)
    except sqlite3.DatabaseError as exc:
        raise InputError(
            f"{source.name}: not a readable SQLite database of llm's logs ({exc}); "
            "`llm logs path` prints where llm keeps it"
        ) from None


def _table(db: sqlite3.Connection, table: str, options: ParseOptions) -> Iterator[Item]:
    columns = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
    if "input_tokens" not in columns:
        return  # logged before llm recorded usage
    resolved = "resolved_model" if "resolved_model" in columns else "NULL"
    query = (
        f"SELECT rowid, id, model, {resolved} AS resolved_model, input_tokens, output_tokens, "
        f"token_details, duration_ms, datetime_utc, {_thread(columns)} AS thread "
        f"FROM {table} WHERE input_tokens IS NOT NULL OR output_tokens IS NOT NULL ORDER BY rowid"
    )
    for row in db.execute(query):
        raw = json.dumps(dict(row), default=str)
        try:
            for column in row.keys():  # noqa: SIM118 (a Row is not a dict)
                if isinstance(row[column], str):
                    check_text(row[column], column)
            yield Item(row["rowid"], raw, record=_record(row, options))
        except RecordError as exc:
            yield Item(row["rowid"], raw, error=RecordError(f"{table}.{exc.field}", exc.problem))


def _thread(columns: set[str]) -> str:
    return next((c for c in ("conversation_id", "thread_id") if c in columns), "NULL")


def _record(row: sqlite3.Row, options: ParseOptions) -> UsageRecord:
    details = _details(row["token_details"])
    prompt = count(row["input_tokens"] or 0, "input_tokens")
    read, written, inside = _cache(details)
    fresh = prompt - read if inside else prompt
    if fresh < 0:
        raise RecordError("token_details", "more cached tokens than input tokens")
    return UsageRecord(
        request_id=f"llm:{row['id']}",
        created_at=timestamp(row["datetime_utc"], "datetime_utc", UTC),
        user_id=options.user,
        model=text(row["resolved_model"] or row["model"] or "", "model"),
        input_tokens=fresh,
        cache_read_tokens=read,
        cache_write_tokens=written,
        output_tokens=count(row["output_tokens"] or 0, "output_tokens"),
        session_id=row["thread"],
        processing_time_seconds=_seconds(row["duration_ms"]),
    ).check(options.now)


def _seconds(milliseconds: Any) -> float | None:
    if milliseconds is None:
        return None
    if not isinstance(milliseconds, int | float) or not 0 <= milliseconds < float("inf"):
        problem = f"must be a number of milliseconds, got {shown(milliseconds)}"
        raise RecordError("duration_ms", problem)
    return milliseconds / 1000


def _details(value: Any) -> dict:
    if not value:
        return {}
    if not isinstance(value, str | bytes):
        raise RecordError("token_details", f"must be JSON text, got {shown(value)}")
    details = loads(value, field="token_details")
    return details if isinstance(details, dict) else {}


def _cache(details: dict) -> tuple[int, int, bool]:
    """(cache reads, cache writes, whether the reads are counted inside input_tokens)."""
    if "cache_read_input_tokens" in details or "cache_creation_input_tokens" in details:
        return (  # Anthropic: input_tokens excludes both
            count(details.get("cache_read_input_tokens") or 0, "cache_read_input_tokens"),
            count(details.get("cache_creation_input_tokens") or 0, "cache_creation_input_tokens"),
            False,
        )
    prompt = details.get("prompt_tokens_details")
    openai = prompt.get("cached_tokens") if isinstance(prompt, dict) else None
    gemini = details.get("cachedContentTokenCount")
    return count(openai or gemini or 0, "cached_tokens"), 0, True
