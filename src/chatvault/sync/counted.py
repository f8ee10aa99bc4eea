"""The never-count-twice rule (docs/sync.md): per provider, one source counts in totals.

`sync.<provider>.counts: requests` (the default): the request-level rows in usage_logs count
(LiteLLM logs, chatvault's JSONL, agents' logs, the library). The synced buckets stay in
provider_usage and provider_costs, where `reconcile` and billed budgets read them; nothing
that totals usage (usage, costs, dashboard, estimated budgets, export) ever reads them.

`counts: provider`: the provider's buckets are what counts. Each sync also writes its usage
buckets into usage_logs (priced by chatvault, request ids `sync:<provider>:<org>:<endpoint>:`),
replacing the window it read, so every report counts them, once. A sync refuses while
usage_logs holds any other row of that provider in the window (request-level rows, or buckets
ingested from the providers' export files): they would be counted twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from chatvault.errors import InputError
from chatvault.ingest.record import UsageRecord, derived_id
from chatvault.sync.config import ProviderSync

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from chatvault.session import Session
    from chatvault.sync.providers import UsageRow

ALL = "(all)"


def rule(provider: str, config: ProviderSync) -> str:
    """The rule in force for a provider, in a line."""
    if config.counts == "provider":
        return (
            f"{provider}: the provider's synced buckets count in totals "
            f"(sync.{provider}.counts: provider); no request-level {provider} rows are allowed"
        )
    return (
        f"{provider}: request-level rows count in totals; synced buckets only check them "
        f"(sync.{provider}.counts: requests)"
    )


def prefix(provider: str, organization: str, endpoint: str) -> str:
    """The request ids of a provider's counted buckets: organisation and endpoint apart."""
    org = hashlib.sha256(organization.encode()).hexdigest()[:8]
    return f"sync:{provider}:{org}:{endpoint}"


def refuse_others(conn: Connection, provider: str, start: datetime, end: datetime) -> None:
    """InputError when usage_logs holds rows of `provider` in [start, end) other than synced
    buckets: counting the buckets too would count that traffic twice."""
    from chatvault.db import billing

    found = billing.other_rows(conn, provider, f"sync:{provider}:", start, end)
    if found:
        count, first, last = found
        raise InputError(
            f"sync.{provider}.counts is 'provider', but the database holds {count:,} other "
            f"{provider} rows from {first:%Y-%m-%d} to {last:%Y-%m-%d} (request-level rows, or "
            "an ingested usage export): with the synced buckets they would count twice. Set "
            f"sync.{provider}.counts: requests, or sync a window without them (--since)"
        )


def replace_counted(
    conn: Connection,
    session: Session,
    key: tuple[str, str, str],
    start: datetime,
    end: datetime,
    rows: Sequence[UsageRow],
) -> None:
    """In the caller's transaction: the window's counted buckets in usage_logs become `rows`,
    priced as ingest prices every row."""
    from chatvault.db import billing
    from chatvault.db.writes import columns_of, upsert
    from chatvault.ingest.rows import pending_row, priced

    provider, organization, endpoint = key
    ids = prefix(provider, organization, endpoint)
    billing.delete_counted(conn, ids, start, end)
    records = [_record(provider, ids, row, session.now) for row in rows]
    if records:
        upsert(conn, priced(columns_of([pending_row(r) for r in records]), session.prices))


def _record(provider: str, ids: str, row: UsageRow, now: datetime) -> UsageRecord:
    dimensions = (row.model, row.project, row.api_key_id, row.user_id)
    return UsageRecord(
        request_id=derived_id(
            ids, row.bucket_start.isoformat(), *dimensions, row.service_tier, row.context_window
        ),
        created_at=row.bucket_start,
        user_id=row.user_id or ALL,
        model=row.model,
        provider=provider,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        cache_read_tokens=row.cache_read_tokens,
        cache_write_tokens=row.cache_write_tokens,
        cache_write_1h_tokens=row.cache_write_1h_tokens,
        request_count=row.request_count or 1,  # Anthropic does not count: one per result
        project=row.project,
        api_key=row.api_key_id,
        service_tier=row.service_tier,
        context_window=row.context_window,
    ).check(now)
