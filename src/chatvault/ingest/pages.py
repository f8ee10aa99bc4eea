"""Reading API exports: one JSON page, a JSON array of pages, or JSONL with a page per line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from chatvault.ingest import jsontext
from chatvault.ingest.files import CountingReader
from chatvault.ingest.options import Item
from chatvault.ingest.record import RecordError, UsageRecord

ToRecord = Callable[[dict, Any], UsageRecord | None]

# An API page holds a few dozen buckets; a whole file of them is read at once.


def pages(stream: CountingReader) -> Iterator[tuple[int, Any]]:
    """(line, page) for every page in the file; the page is a RecordError for a line that is
    not JSON (the rest of the file is still read)."""
    data = stream.buffered.read()
    try:
        document = jsontext.document(data, exact=True)
    except RecordError:
        for number, line in enumerate(data.removeprefix(jsontext.BOM).splitlines(), start=1):
            if line.strip():
                try:
                    yield number, jsontext.loads(line, exact=True)
                except RecordError as exc:
                    yield number, exc
        return
    for page in document if isinstance(document, list) else [document]:
        yield 1, page


def bucket_results(stream: CountingReader, to_record: ToRecord) -> Iterator[Item]:
    """One Item per bucket result of every page; a bad result is named by its JSON path."""
    for line, page in pages(stream):
        if isinstance(page, RecordError):
            yield Item(line, "", error=page)
            continue
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            problem = "not a usage page: expected an object with a 'data' list"
            yield Item(line, "", error=RecordError("data", problem))
            continue
        for b, bucket in enumerate(page["data"]):
            results = bucket.get("results") if isinstance(bucket, dict) else bucket
            if not isinstance(bucket, dict) or not isinstance(results, list | None):
                where = f"data[{b}].results" if isinstance(bucket, dict) else f"data[{b}]"
                yield Item(line, "", error=RecordError(where, "not a usage bucket"))
                continue
            for r, result in enumerate(results or []):
                raw = jsontext.dumps(result)
                try:
                    record = to_record(bucket, result)
                except RecordError as exc:
                    path = f"data[{b}].results[{r}].{exc.field}"
                    yield Item(line, raw, error=RecordError(path, exc.problem))
                    continue
                if record is not None:  # None: a result that is not usage (no requests)
                    yield Item(line, raw, record=record)
