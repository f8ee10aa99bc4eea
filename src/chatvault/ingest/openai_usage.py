"""OpenAI's organization Usage API (`/v1/organization/usage/completions`), saved as pages.

One record per bucket result: `request_count` is `num_model_requests`. OpenAI counts cached
tokens inside `input_tokens`; chatvault does not, so `input_cached_tokens` is subtracted and
becomes `cache_read_tokens`. A dimension the export was not grouped by is null there and is
stored as "(all)". Batch results are priced at half the standard price, as OpenAI bills them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from chatvault.ingest.files import CountingReader
from chatvault.ingest.options import Item, ParseOptions
from chatvault.ingest.pages import bucket_results
from chatvault.ingest.record import RecordError, UsageRecord, count, derived_id, shown

NAME = "openai-usage"
ALL = "(all)"


def looks_like(head: bytes) -> bool:
    return b'"num_model_requests"' in head or b"organization.usage.completions" in head


def records(stream: CountingReader, options: ParseOptions) -> Iterator[Item]:
    return bucket_results(stream, lambda bucket, result: bucket_record(bucket, result, options))


def bucket_record(bucket: dict, result: Any, options: ParseOptions) -> UsageRecord | None:
    """One result of one usage bucket as a record (None for an empty one); `chatvault sync` reads
    the API's pages through it too."""
    if not isinstance(result, dict):
        raise RecordError("result", "not an object")
    requests = count(result.get("num_model_requests", 0), "num_model_requests")
    if requests == 0:
        return None  # an empty bucket: nothing was used
    total_input = count(result.get("input_tokens", 0), "input_tokens")
    cached = count(result.get("input_cached_tokens") or 0, "input_cached_tokens")
    if cached > total_input:
        raise RecordError("input_cached_tokens", "cannot exceed input_tokens (which includes them)")
    start = bucket.get("start_time")
    if isinstance(start, bool) or not isinstance(start, int):
        raise RecordError("start_time", f"must be Unix seconds, got {shown(start)}")
    keys = ("project_id", "user_id", "api_key_id", "model", "batch")
    try:
        created_at = datetime.fromtimestamp(start, UTC)
    except (OverflowError, OSError, ValueError):
        raise RecordError("start_time", f"not a plausible time: {start}") from None
    return UsageRecord(
        request_id=derived_id(NAME, start, bucket.get("end_time"), *(result.get(k) for k in keys)),
        created_at=created_at,
        user_id=result.get("user_id") or ALL,
        model=result.get("model") or ALL,
        provider="openai",
        input_tokens=total_input - cached,
        cache_read_tokens=cached,
        output_tokens=count(result.get("output_tokens", 0), "output_tokens"),
        request_count=requests,
        project=result.get("project_id"),
        api_key=result.get("api_key_id"),
        service_tier="batch" if result.get("batch") else None,
    ).check(options.now)
