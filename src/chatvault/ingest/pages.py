"""Reading API exports: one JSON page, a JSON array of pages, or JSONL with a page per line."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from chatvault.ingest.files import CountingReader
from chatvault.ingest.options import Item
from chatvault.ingest.record import RecordError, UsageRecord

ToRecord = Callable[[dict, Any], UsageRecord | None]

# An API page holds a few dozen buckets; a whole file of them is read at once.


def pages(stream: CountingReader) -> Iterator[tuple[int, Any]]:
    """(line, page) for every page in the file. A document that is not JSON raises RecordError."""
    text = stream.buffered.read().decode("utf-8-sig")
    try:
        document = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError:
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    yield number, json.loads(line, parse_float=Decimal)
                except json.JSONDecodeError as exc:
                    raise RecordError(
                        "record", f"line {number}: not valid JSON ({exc.msg})"
                    ) from None
        return
    for page in document if isinstance(document, list) else [document]:
        yield 1, page


def bucket_results(stream: CountingReader, to_record: ToRecord) -> Iterator[Item]:
    """One Item per bucket result of every page; a bad result is named by its JSON path."""
    try:
        for line, page in pages(stream):
            if not isinstance(page, dict) or not isinstance(page.get("data"), list):
                raise RecordError("data", "not a usage page: expected an object with a 'data' list")
            for b, bucket in enumerate(page["data"]):
                for r, result in enumerate(bucket.get("results") or []):
                    raw = json.dumps(result, default=str)
                    try:
                        record = to_record(bucket, result)
                    except RecordError as exc:
                        path = f"data[{b}].results[{r}].{exc.field}"
                        yield Item(line, raw, error=RecordError(path, exc.problem))
                        continue
                    if record is not None:  # None: a result that is not usage (no requests)
                        yield Item(line, raw, record=record)
    except RecordError as exc:
        yield Item(1, "", error=exc)
