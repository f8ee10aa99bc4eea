"""Anthropic's Admin usage report (`/v1/organizations/usage_report/messages`), saved as pages.

One record per bucket result, with the report's group-by dimensions as labels (workspace as
project). Anthropic already counts input without cache reads and writes, as chatvault does.
The report does not count requests: each result is stored as one. Its `context_window`
("0-200k", "200k-1M") says which long-context price applied; batch results cost half.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chatvault.ingest.files import CountingReader
from chatvault.ingest.options import Item, ParseOptions
from chatvault.ingest.pages import bucket_results
from chatvault.ingest.record import RecordError, UsageRecord, count, derived_id, timestamp

NAME = "anthropic-usage"
ALL = "(all)"


def looks_like(head: bytes) -> bool:
    return b'"uncached_input_tokens"' in head


def records(stream: CountingReader, options: ParseOptions) -> Iterator[Item]:
    return bucket_results(stream, lambda bucket, result: bucket_record(bucket, result, options))


def bucket_record(bucket: dict, result: Any, options: ParseOptions) -> UsageRecord:
    """One result of one usage bucket as a record; `chatvault sync` reads the API's pages
    through it too."""
    if not isinstance(result, dict):
        raise RecordError("result", "not an object")
    creation = result.get("cache_creation") or {}
    if not isinstance(creation, dict):
        raise RecordError("cache_creation", "must be an object")
    written_5m = count(creation.get("ephemeral_5m_input_tokens") or 0, "ephemeral_5m_input_tokens")
    written_1h = count(creation.get("ephemeral_1h_input_tokens") or 0, "ephemeral_1h_input_tokens")
    keys = (
        "model",
        "api_key_id",
        "workspace_id",
        "service_tier",
        "context_window",
        "inference_geo",
    )
    return UsageRecord(
        request_id=derived_id(
            NAME, bucket.get("starting_at"), bucket.get("ending_at"), *(result.get(k) for k in keys)
        ),
        created_at=timestamp(bucket.get("starting_at"), "starting_at"),
        user_id=ALL,
        model=result.get("model") or ALL,
        provider="anthropic",
        input_tokens=count(result.get("uncached_input_tokens", 0), "uncached_input_tokens"),
        cache_read_tokens=count(
            result.get("cache_read_input_tokens") or 0, "cache_read_input_tokens"
        ),
        cache_write_tokens=written_5m + written_1h,
        cache_write_1h_tokens=written_1h,
        output_tokens=count(result.get("output_tokens", 0), "output_tokens"),
        project=result.get("workspace_id"),
        api_key=result.get("api_key_id"),
        service_tier=result.get("service_tier"),
        context_window=result.get("context_window"),
    ).check(options.now)
