"""Qwen Code sessions: `projects/<project>/chats/<session>.jsonl` under ~/.qwen.

Qwen Code (a fork of Gemini CLI) appends one JSON record per line, each whole in itself:
`uuid`, `sessionId`, `timestamp`, `type`, `cwd` and, on an `assistant` record, the `model`
and the response's `usageMetadata` as the Gemini API gives it: `promptTokenCount` (which
includes `cachedContentTokenCount`), `candidatesTokenCount`, `thoughtsTokenCount` (billed as
output) and `toolUsePromptTokenCount` (billed as input). In chatvault's convention the cached
part leaves the input and is stored as cache reads, the tool prompt joins the input and the
thoughts join the output. The id is the session's and the record's `uuid`. Every line stands
alone, so a grown session is read from where the last import stopped. Qwen Code reports no
cost: chatvault prices what its price list knows (the provider is not recorded).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chatvault.ingest.files import CountingReader
from chatvault.ingest.jsontext import loads
from chatvault.ingest.options import HEAD, Item, ParseOptions
from chatvault.ingest.record import RecordError, UsageRecord, count, text, timestamp

NAME = "qwen"
PATTERN = "*.jsonl"
_COUNTS = (
    "promptTokenCount",
    "candidatesTokenCount",
    "cachedContentTokenCount",
    "thoughtsTokenCount",
    "toolUsePromptTokenCount",
)


def log_folders() -> list[Path]:
    """Where Qwen Code keeps its sessions: ~/.qwen/projects."""
    return [Path.home() / ".qwen" / "projects"]


def looks_like(head: bytes) -> bool:
    head = head[:HEAD]
    return b'"usageMetadata"' in head or (b'"sessionId"' in head and b'"parts":[' in head)


def records(stream: CountingReader, options: ParseOptions, first: int = 1) -> Iterator[Item]:
    for number, line in enumerate(stream.lines(), start=first):
        if not line.strip():
            continue
        try:
            entry = loads(line)
            record = _record(entry, options) if isinstance(entry, dict) else None
        except RecordError as exc:
            yield Item(number, line, error=exc)
            continue
        if record is not None:
            yield Item(number, line, record=record)


def _record(entry: dict[str, Any], options: ParseOptions) -> UsageRecord | None:
    usage = entry.get("usageMetadata")
    if entry.get("type") != "assistant" or usage is None:
        return None
    if not isinstance(usage, dict):
        raise RecordError("usageMetadata", "must be an object")
    prompt, output, cached, thoughts, tool = (
        count(usage.get(key) or 0, f"usageMetadata.{key}") for key in _COUNTS
    )
    if cached > prompt:
        raise RecordError("usageMetadata.cachedContentTokenCount", "cannot exceed promptTokenCount")
    if not entry.get("uuid") or not entry.get("sessionId"):
        raise RecordError("uuid", "missing: the record cannot be told apart from others")
    session = text(entry["sessionId"], "sessionId")
    cwd = entry.get("cwd")
    return UsageRecord(
        request_id=f"qwen:{session}:{text(entry['uuid'], 'uuid')}",
        created_at=timestamp(entry.get("timestamp"), "timestamp"),
        user_id=options.user,
        model=text(entry.get("model") or "", "model"),
        input_tokens=prompt - cached + tool,
        cache_read_tokens=cached,
        output_tokens=output + thoughts,
        session_id=session[:64],
        project=Path(cwd).name[:100] or None if isinstance(cwd, str) else None,
    ).check(options.now)
