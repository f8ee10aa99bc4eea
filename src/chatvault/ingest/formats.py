"""The formats an import reads, how a file's is told, and each one's records.

Imported only once a file is to be read: a rerun over unchanged files loads no parser.
"""

from __future__ import annotations

from collections.abc import Iterator

from chatvault.errors import InputError
from chatvault.ingest import (
    anthropic_usage,
    chatvault_format,
    claude_code,
    codex,
    gemini,
    litellm,
    llm_logs,
    openai_usage,
    opencode,
    opencode_db,
    qwen,
)
from chatvault.ingest.checkpoints import Reading
from chatvault.ingest.files import SQLITE_MAGIC, CountingReader, Input
from chatvault.ingest.options import Checked, Item, ParseOptions

# In the order detection tries them: the most specific marks first.
DETECTABLE = (
    *(gemini, codex, opencode, qwen, claude_code),  # they name a "sessionId" too
    *(openai_usage, anthropic_usage, litellm, chatvault_format),
)
SOURCES = (llm_logs.NAME, opencode_db.NAME, *(module.NAME for module in DETECTABLE))
# Sources read on the machine that made the requests (agents' logs): their rows carry it.
LOCAL = {
    *(claude_code.NAME, codex.NAME, gemini.NAME, opencode.NAME, opencode_db.NAME, qwen.NAME),
    llm_logs.NAME,
}


def detect(source_input: Input, stream: CountingReader) -> str:
    """The source a file comes from, told by its first bytes."""
    head = stream.head()
    if source_input.path is not None and not stream.gzipped and head.startswith(SQLITE_MAGIC):
        return opencode_db.NAME if opencode_db.is_opencode(source_input.path) else llm_logs.NAME
    if not head.strip():  # an empty file: nothing to import, whatever its format
        return chatvault_format.NAME
    for module in DETECTABLE:
        if module.looks_like(head):
            return module.NAME
    raise InputError(
        f"{source_input.name}: cannot tell which format this is; pass --source "
        f"({', '.join(SOURCES)})"
    )


def items(source_input: Input, reading: Reading, options: ParseOptions) -> Iterator[Item | Checked]:
    """The records of what is to be read of a file, in its format."""
    name, stream = reading.source, reading.stream
    if name == claude_code.NAME:
        return claude_code.records(stream, source_input, options, reading.first_line)
    if name == qwen.NAME:
        return qwen.records(stream, options, reading.first_line)
    if name == llm_logs.NAME:
        return llm_logs.records(source_input, options)
    if name == opencode_db.NAME:
        return opencode_db.records(source_input, options)
    module = next(m for m in DETECTABLE if name == m.NAME)
    return module.records(stream, options)
