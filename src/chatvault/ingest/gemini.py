"""Google Gemini CLI chat sessions: `tmp/<project hash>/chats/session-*.json` (one JSON
document: the session and its `messages`) or, since it records as it goes,
`session-*.jsonl` (the session's first line, then a line per message written; a message
written again as its counts grow has the same `id`), under ~/.gemini (or $GEMINI_CLI_HOME).

A message of `type` "gemini" with `tokens` is one model call: `input` (Gemini's
promptTokenCount, which includes the cached part), `cached` (cachedContentTokenCount),
`output` (candidatesTokenCount), `thoughts` (thoughtsTokenCount, billed as output) and `tool`
(toolUsePromptTokenCount, billed as input), with its `model` and `timestamp`. In chatvault's
convention the cached part is taken out of the input and stored as cache reads, the tool
prompt joins the input and the thoughts join the output. Its id is the session's id and the
message's: a message written again dedupes (the largest counts kept). A rewound message was
billed all the same and is kept. Gemini CLI reports no cost: chatvault prices each call.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chatvault.ingest.files import CountingReader
from chatvault.ingest.jsontext import BOM, loads
from chatvault.ingest.options import HEAD, Item, ParseOptions
from chatvault.ingest.record import RecordError, UsageRecord, count, text, timestamp

NAME = "gemini"
PATTERN = "session-*.json*"


def log_folders() -> list[Path]:
    """Where Gemini CLI keeps its projects' chats: ~/.gemini/tmp (or $GEMINI_CLI_HOME/.gemini)."""
    home = os.environ.get("GEMINI_CLI_HOME")
    return [(Path(home) if home else Path.home()) / ".gemini" / "tmp"]


def looks_like(head: bytes) -> bool:
    head = head[:HEAD]  # the session's fields come first
    return b'"projectHash"' in head and b'"sessionId"' in head


def records(stream: CountingReader, options: ParseOptions) -> Iterator[Item]:
    data = stream.buffered.read().removeprefix(BOM)
    if data.lstrip().startswith(b"{") and b'"messages"' in data[:4096]:
        try:
            document = loads(data)
        except RecordError as exc:
            yield Item(1, data[:200], error=exc)
            return
        if not isinstance(document, dict) or not isinstance(document.get("messages"), list):
            yield Item(1, data[:200], error=RecordError("messages", "must be a list"))
            return
        session = document.get("sessionId")
        for message in document["messages"]:
            yield from _item(message, session, 1, data[:200], options)
        return
    session = None
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = loads(line)
        except RecordError as exc:
            yield Item(number, line, error=exc)
            continue
        if isinstance(entry, dict) and isinstance(entry.get("sessionId"), str):
            session = entry["sessionId"]
        yield from _item(entry, session, number, line, options)


def _item(message: Any, session: Any, number: int, raw: bytes, options: ParseOptions):
    if not isinstance(message, dict) or message.get("type") != "gemini":
        return
    if message.get("tokens") is None:
        return  # recorded before its response came
    try:
        yield Item(number, raw, record=_record(message, session, options))
    except RecordError as exc:
        yield Item(number, raw, error=exc)


def _record(message: dict, session: Any, options: ParseOptions) -> UsageRecord:
    tokens = message["tokens"]
    if not isinstance(tokens, dict):
        raise RecordError("tokens", "must be an object")
    given = {key: count(tokens.get(key) or 0, f"tokens.{key}") for key in _TOKENS}
    if given["cached"] > given["input"]:
        raise RecordError("tokens.cached", "cannot exceed tokens.input (which includes it)")
    if not session or not message.get("id"):
        raise RecordError("id", "missing: the message cannot be told apart from others")
    session = text(session, "sessionId")
    return UsageRecord(
        request_id=f"gemini:{session}:{text(message['id'], 'id')}",
        created_at=timestamp(message.get("timestamp"), "timestamp"),
        user_id=options.user,
        model=text(message.get("model") or "", "model"),
        provider="google",
        input_tokens=given["input"] - given["cached"] + given["tool"],
        cache_read_tokens=given["cached"],
        output_tokens=given["output"] + given["thoughts"],
        session_id=session[:64],
    ).check(options.now)


_TOKENS = ("input", "output", "cached", "thoughts", "tool")
