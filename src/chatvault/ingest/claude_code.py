"""Claude Code session logs: `projects/<project>/<session>.jsonl` under its config directory.

Each assistant message line carries `message.usage`. Streaming writes the same message
several times with growing counts: the id is `message.id` + `requestId`, and the record with
the largest token total wins (here and against what is already stored). Lines without usage
(user turns, summaries) are skipped, as are `<synthetic>` messages Claude Code makes itself.
Anthropic's `input_tokens` already excludes cached input, which is chatvault's convention.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from itertools import islice
from pathlib import Path, PurePath
from typing import Any

import orjson

from chatvault.db.models import TEXT_LENGTHS
from chatvault.ingest.files import CountingReader, Input
from chatvault.ingest.jsontext import loads
from chatvault.ingest.options import Checked, Item, ParseOptions
from chatvault.ingest.record import RecordError, UsageRecord, count, text, timestamp

NAME = "claude-code"
SYNTHETIC = "<synthetic>"
CHUNK = 5000  # lines looked at together


def log_folders() -> list[Path]:
    """Where Claude Code keeps its logs: `projects` under each of $CLAUDE_CONFIG_DIR
    (comma-separated), else under ~/.claude and ~/.config/claude; whether they exist or not."""
    configured = os.environ.get("CLAUDE_CONFIG_DIR")
    roots = (
        [Path(p) for p in configured.split(",")]
        if configured
        else [
            Path.home() / ".claude",
            Path.home() / ".config" / "claude",
        ]
    )
    return [root / "projects" for root in roots]


def default_paths() -> list[Path]:
    """The folders of log_folders() that exist."""
    return [folder for folder in log_folders() if folder.is_dir()]


def looks_like(head: bytes) -> bool:
    return b'"sessionId"' in head


def records(
    stream: CountingReader, source: Input, options: ParseOptions, first: int = 1
) -> Iterator[Item | Checked]:
    """A chunk of lines at a time: the lines that may carry usage (most of a log is user
    turns and tool results, skipped unread) checked a column at a time (claude_code_batch),
    or one by one when anything in the chunk needs a closer look."""
    from chatvault.ingest.claude_code_batch import USAGE, checked_columns  # once a log is read

    project = _project(source)
    lines = stream.lines()
    while chunk := list(islice(lines, CHUNK)):
        numbers = [n for n, line in enumerate(chunk, start=first) if USAGE in line]
        chosen = [chunk[n - first] for n in numbers]
        columns = checked_columns(chosen, project, options) if chosen else None
        others = [line for line in chunk if USAGE not in line] if len(chosen) < len(chunk) else []
        if columns is not None and _all_json(others):
            yield Checked(columns, numbers[0], chosen, numbers)
        else:
            yield from _one_by_one(chunk, first, project, options)
        first += len(chunk)


def _all_json(others: list[bytes]) -> bool:
    """Whether the lines without usage are JSON (or blank) too: one that is not refuses its
    file like any line, and the per-line way names it. Parsed in a loop at C speed, each
    result dropped at once."""
    try:
        deque(map(orjson.loads, filter(bytes.strip, others)), maxlen=0)
    except orjson.JSONDecodeError:
        return False
    return True


def _one_by_one(
    chunk: list[bytes], first: int, project: str | None, options: ParseOptions
) -> Iterator[Item]:
    for number, line in enumerate(chunk, start=first):
        if not line.strip():
            continue
        raw = line.decode("utf-8", errors="replace").rstrip("\r\n")
        try:
            entry = loads(line)  # the logs carry no amounts: no Decimal needed
            record = _record(entry, project, options)
        except RecordError as exc:
            yield Item(number, raw, error=exc)
            continue
        if record is not None:
            yield Item(number, raw, record=record)


def _record(entry: Any, project: str | None, options: ParseOptions) -> UsageRecord | None:
    message = entry.get("message") if isinstance(entry, dict) else None
    usage = message.get("usage") if isinstance(message, dict) else None
    if not isinstance(usage, dict) or message.get("model") == SYNTHETIC:
        return None
    message_id = message.get("id")
    if not message_id:
        raise RecordError("message.id", "missing: the message cannot be told apart from others")
    message_id = text(message_id, "message.id")
    request = entry.get("requestId") and text(entry["requestId"], "requestId")
    creation = usage.get("cache_creation") or {}
    if not isinstance(creation, dict):
        raise RecordError("message.usage.cache_creation", "must be an object")
    return UsageRecord(
        request_id=f"cc:{message_id}:{request}" if request else f"cc:{message_id}",
        created_at=timestamp(entry.get("timestamp"), "timestamp"),
        user_id=options.user,
        model=text(message.get("model") or "", "message.model"),
        provider="anthropic",
        input_tokens=count(usage.get("input_tokens", 0), "message.usage.input_tokens"),
        output_tokens=count(usage.get("output_tokens", 0), "message.usage.output_tokens"),
        cache_read_tokens=count(
            usage.get("cache_read_input_tokens") or 0, "message.usage.cache_read_input_tokens"
        ),
        cache_write_tokens=count(
            usage.get("cache_creation_input_tokens") or 0,
            "message.usage.cache_creation_input_tokens",
        ),
        cache_write_1h_tokens=count(
            creation.get("ephemeral_1h_input_tokens") or 0,
            "message.usage.cache_creation.ephemeral_1h_input_tokens",
        ),
        session_id=entry.get("sessionId"),
        project=project,
    ).check(options.now)


def _project(source: Input) -> str | None:
    """The project directory's name: the folder right under `projects/` (or the file's folder)."""
    path = source.path
    if path is None:
        return None
    # A walk's key is the path resolved already: no second resolve (syscalls) per file.
    parts = PurePath(source.key).parts if source.key else path.resolve().parts
    if "projects" in parts[:-1]:
        index = len(parts) - 1 - parts[::-1].index("projects")
        if index + 1 < len(parts) - 1:
            return parts[index + 1][: TEXT_LENGTHS["project"]]
    return path.parent.name[: TEXT_LENGTHS["project"]] or None
