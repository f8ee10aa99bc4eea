"""OpenAI Codex CLI session logs: `sessions/YYYY/MM/DD/rollout-*.jsonl` under $CODEX_HOME
(default ~/.codex).

Each line is `{"timestamp", "type", "payload"}`. `session_meta` names the session (`id`) and
its folder (`cwd`); `turn_context` names the model of the turns that follow; an `event_msg`
whose payload is a `token_count` carries `info.total_token_usage` (cumulative for the session)
and `info.last_token_usage` (the last turn's). Codex writes the same token_count again (after
a rate-limit update, say): one whose cumulative total has not grown adds nothing. A turn's
usage is `last_token_usage`, or, when an event has only the cumulative figures, the growth
since the previous event. Its id is the session and the cumulative total at that event, so
the same event read again is the same request. OpenAI counts cached tokens inside
`input_tokens`: they are taken out and stored as cache reads; `output_tokens` already
includes `reasoning_output_tokens`. Codex reports no cost: chatvault prices each turn.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chatvault.ingest.files import CountingReader
from chatvault.ingest.jsontext import loads
from chatvault.ingest.options import HEAD, Item, ParseOptions
from chatvault.ingest.record import RecordError, UsageRecord, count, text, timestamp

NAME = "codex"
UNKNOWN = "unknown"  # the model of turns before any turn_context names one (early 2025 logs)
_FIELDS = ("input_tokens", "cached_input_tokens", "output_tokens")


def log_folders() -> list[Path]:
    """Where Codex keeps its sessions: $CODEX_HOME/sessions, else ~/.codex/sessions."""
    home = os.environ.get("CODEX_HOME")
    return [Path(home) / "sessions" if home else Path.home() / ".codex" / "sessions"]


PATTERN = "rollout-*.jsonl"


def looks_like(head: bytes) -> bool:
    head = head[:HEAD]  # the first line names the session
    return b'"session_meta"' in head or (b'"turn_context"' in head and b'"payload"' in head)


def records(stream: CountingReader, options: ParseOptions) -> Iterator[Item]:
    session, project, model = None, None, UNKNOWN
    before = dict.fromkeys(_FIELDS, 0)  # the cumulative usage at the previous event
    for number, line in enumerate(stream.lines(), start=1):
        if not line.strip():
            continue
        try:
            entry = loads(line)
            kind = entry.get("type") if isinstance(entry, dict) else None
            payload = entry.get("payload") if isinstance(entry, dict) else None
            if not isinstance(payload, dict):
                continue
            if kind == "session_meta":
                session = text(payload.get("id") or "", "payload.id") or session
                cwd = payload.get("cwd")
                project = Path(cwd).name[:100] or None if isinstance(cwd, str) else project
                continue
            if kind == "turn_context":
                model = text(payload.get("model") or model, "payload.model")
                continue
            if kind != "event_msg" or payload.get("type") != "token_count":
                continue
            place = (session or Path(stream.name).stem, project, model, options.user)
            record = _turn(entry, payload, before, place)
            if record is not None:
                record.check(options.now)
        except RecordError as exc:
            yield Item(number, line, error=exc)
            continue
        if record is not None:
            yield Item(number, line, record=record)


def _turn(
    entry: dict, payload: dict, before: dict[str, int], place: tuple[str, Any, str, str]
) -> UsageRecord | None:
    """A token_count event's turn, or None when it adds nothing; `place` is the session,
    project, model and user it belongs to."""
    session, project, model, user = place
    info = payload.get("info")
    if info is None:
        return None  # rate limits only
    if not isinstance(info, dict):
        raise RecordError("payload.info", "must be an object")
    total = _usage(info.get("total_token_usage"), "payload.info.total_token_usage")
    if total is None or total == before:
        return None  # the same event again, or no usage yet
    last = _usage(info.get("last_token_usage"), "payload.info.last_token_usage")
    if last is None:
        last = {key: total[key] - before[key] for key in _FIELDS}
        if min(last.values()) < 0:
            raise RecordError("payload.info.total_token_usage", "went down within the session")
    before.update(total)
    if last["cached_input_tokens"] > last["input_tokens"]:
        raise RecordError("cached_input_tokens", "cannot exceed input_tokens (which includes them)")
    cumulative = sum(total[key] for key in ("input_tokens", "output_tokens"))
    return UsageRecord(
        request_id=f"codex:{session}:{cumulative}",
        created_at=timestamp(entry.get("timestamp"), "timestamp"),
        user_id=user,
        model=model,
        provider="openai",
        input_tokens=last["input_tokens"] - last["cached_input_tokens"],
        cache_read_tokens=last["cached_input_tokens"],
        output_tokens=last["output_tokens"],
        session_id=session[:64],
        project=project,
    )


def _usage(value: Any, field: str) -> dict[str, int] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RecordError(field, "must be an object")
    return {key: count(value.get(key) or 0, f"{field}.{key}") for key in _FIELDS}
