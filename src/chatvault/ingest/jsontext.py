"""JSON and text as every source reads them, so a line is valid or not the same way whichever
reader takes it.

orjson decides what is JSON: UTF-8, at most 1,024 levels of nesting, no NaN or Infinity.
Where amounts must stay exact, the standard library then reads the same text again, numbers
with a fraction as Decimal (orjson reads them as binary floats).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson

from chatvault.ingest.record import TOO_DEEP, RecordError

BOM = b"\xef\xbb\xbf"
NOT_UTF8 = "not valid UTF-8 (save the file as UTF-8)"


def loads(data: bytes | str, exact: bool = False, field: str = "record") -> Any:
    """The JSON value of `data`; RecordError(field, why not) when it is not JSON."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise RecordError(field, problem(exc.msg)) from None
    if not exact:
        return value
    try:
        return json.loads(data, parse_float=Decimal)
    except RecursionError:  # the standard library's limit is Python's stack, a little lower
        raise RecordError(field, TOO_DEEP) from None


def problem(message: str) -> str:
    """What is wrong, for people, from orjson's message."""
    if "UTF-8" in message:
        return NOT_UTF8
    if "depth" in message or "recursion" in message.lower():
        return TOO_DEEP
    return f"not valid JSON ({message})"


def document(data: bytes, exact: bool = False) -> Any:
    """A whole file's JSON value (a byte order mark at its start is not part of it)."""
    return loads(data.removeprefix(BOM), exact)


def check_text(text: str, field: str = "record") -> None:
    """Refuse text that was decoded with "surrogateescape" from bytes that are not UTF-8."""
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            raise RecordError(field, NOT_UTF8) from None


def dumps(value: Any) -> str:
    """A value as JSON text, to show a rejected record (amounts as written)."""
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (RecursionError, ValueError):
        return "(nested too deeply to show)"
