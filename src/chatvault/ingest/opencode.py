"""OpenCode messages: `storage/message/<session>/<message>.json` under its data directory
($OPENCODE_DATA_DIR, else ~/.local/share/opencode), one JSON document per message.

An assistant message (`role` "assistant") carries `modelID`, `providerID`, `time.created`
(Unix milliseconds), `tokens` (`input`, `output`, `reasoning`, `cache.read`, `cache.write`)
and `cost` in US dollars. OpenCode already takes cached tokens out of `input` (it subtracts
them for the providers that count them inside), which is chatvault's convention; `reasoning`
is shown apart by OpenCode and, as ccusage does, not added to the output. A `cost` is kept as
reported (read as an exact decimal), except a cost of 0 on a message with tokens: a
subscription or a model OpenCode has no price for, which chatvault prices. OpenCode 1.2 and
later keep messages in an SQLite database instead (`opencode.db`: opencode_db.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from chatvault.ingest.files import CountingReader
from chatvault.ingest.jsontext import document
from chatvault.ingest.options import HEAD, Item, ParseOptions
from chatvault.ingest.record import RecordError, UsageRecord, count, money, shown, text

NAME = "opencode"
PATTERN = "*.json"


def data_dir() -> Path:
    """OpenCode's data directory: $OPENCODE_DATA_DIR, else opencode in $XDG_DATA_HOME (as
    OpenCode itself finds it on every system), else ~/.local/share/opencode."""
    if os.environ.get("OPENCODE_DATA_DIR"):
        return Path(os.environ["OPENCODE_DATA_DIR"])
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "opencode"


def log_folders() -> list[Path]:
    """Where OpenCode 1.1 and earlier keep their messages, a file each."""
    return [data_dir() / "storage" / "message"]


def looks_like(head: bytes) -> bool:
    head = head[:HEAD]
    return b'"sessionID"' in head and (b'"modelID"' in head or b'"role"' in head)


def records(stream: CountingReader, options: ParseOptions) -> Iterator[Item]:
    data = stream.buffered.read()
    raw = data[:300]
    try:
        message = document(data, exact=True)
        if not isinstance(message, dict):
            raise RecordError("record", "must be a JSON object")
        record = message_record(message, options)
    except RecordError as exc:
        yield Item(1, raw, error=exc)
        return
    if record is not None:
        yield Item(1, raw, record=record)


def message_record(message: dict, options: ParseOptions) -> UsageRecord | None:
    """One message as a record: None for a user's, or an answer still coming. Its file and
    its row in opencode.db (opencode_db.py) give the same record, under the same id."""
    tokens = message.get("tokens")
    if message.get("role") != "assistant" or tokens is None:
        return None  # a user's message, or an answer still coming
    if not isinstance(tokens, dict):
        raise RecordError("tokens", "must be an object")
    cache = tokens.get("cache") or {}
    if not isinstance(cache, dict):
        raise RecordError("tokens.cache", "must be an object")
    counts = {
        "input_tokens": count(tokens.get("input") or 0, "tokens.input"),
        "output_tokens": count(tokens.get("output") or 0, "tokens.output"),
        "cache_read_tokens": count(cache.get("read") or 0, "tokens.cache.read"),
        "cache_write_tokens": count(cache.get("write") or 0, "tokens.cache.write"),
    }
    if not message.get("id"):
        raise RecordError("id", "missing: the message cannot be told apart from others")
    cost = money(message.get("cost"), "cost", 100)
    if cost == 0 and any(counts.values()):
        cost = None  # not priced by OpenCode: chatvault prices it
    root = (
        (message.get("path") or {}).get("root") if isinstance(message.get("path"), dict) else None
    )
    return UsageRecord(
        request_id=f"opencode:{text(message['id'], 'id')}",
        created_at=_millis(message.get("time")),
        user_id=options.user,
        model=text(message.get("modelID") or "", "modelID"),
        provider=text(message["providerID"], "providerID") if message.get("providerID") else None,
        session_id=text(message["sessionID"], "sessionID")[:64]
        if message.get("sessionID")
        else None,
        project=Path(root).name[:100] or None if isinstance(root, str) else None,
        cost_cents=cost,
        **counts,
    ).check(options.now)


def _millis(time: Any) -> datetime:
    created = time.get("created") if isinstance(time, dict) else None
    if isinstance(created, Decimal) and created == int(created):
        created = int(created)
    if isinstance(created, bool) or not isinstance(created, int):
        raise RecordError("time.created", f"must be Unix milliseconds, got {shown(created)}")
    try:
        return datetime.fromtimestamp(created / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        raise RecordError("time.created", f"not a plausible time: {created}") from None
