"""The providers' own figures (`chatvault sync`): usage buckets, billed costs and the cursors
that say how far each was read. A window's buckets are replaced in the caller's transaction
together with its cursor, so a re-read never doubles anything and a killed run leaves either
the old window or the new one. Reads for `reconcile`, budgets on the billed basis and the
FOCUS export are here too."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from chatvault.db.models import provider_costs, provider_usage, sync_cursors, usage_logs

BATCH = 1000
USAGE_SUMS = (
    "request_count",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
)


def cursor(conn: Connection, provider: str, organization: str, endpoint: str) -> datetime | None:
    c = sync_cursors.c
    return conn.execute(
        select(c.synced_until).where(
            c.provider == provider, c.organization == organization, c.endpoint == endpoint
        )
    ).scalar()


def replace_usage(
    conn: Connection,
    key: tuple[str, str, str],
    start: datetime,
    end: datetime,
    rows: Sequence[Any],
    synced_until: datetime,
    now: datetime,
) -> int:
    """In the caller's transaction: the buckets of (provider, organization, endpoint) that
    start in [start, end) become `rows` (UsageRow), and the cursor moves on. Returns how many
    rows were there before."""
    provider, organization, endpoint = key
    c = provider_usage.c
    where = and_(
        c.provider == provider,
        c.organization == organization,
        c.endpoint == endpoint,
        c.bucket_start >= start,
        c.bucket_start < end,
    )
    replaced = conn.execute(delete(provider_usage).where(where)).rowcount
    base = {"provider": provider, "organization": organization}
    _insert(conn, provider_usage, ({**base, **asdict(row)} for row in rows))
    _move(conn, key, synced_until, now)
    return replaced


def replace_costs(
    conn: Connection,
    key: tuple[str, str, str],
    start: datetime,
    end: datetime,
    rows: Sequence[Any],
    synced_until: datetime,
    now: datetime,
) -> int:
    """As replace_usage, for cost buckets (CostRow)."""
    provider, organization, _ = key
    c = provider_costs.c
    where = and_(
        c.provider == provider,
        c.organization == organization,
        c.bucket_start >= start,
        c.bucket_start < end,
    )
    replaced = conn.execute(delete(provider_costs).where(where)).rowcount
    base = {"provider": provider, "organization": organization}
    values = (
        {**base, **{k: v for k, v in asdict(row).items() if k != "cents"}, "cost_cents": row.cents}
        for row in rows
    )
    _insert(conn, provider_costs, values)
    _move(conn, key, synced_until, now)
    return replaced


def _insert(conn: Connection, table: Any, values: Iterable[dict]) -> None:
    batch: list[dict] = []
    for value in values:
        batch.append(value)
        if len(batch) == BATCH:
            conn.execute(insert(table), batch)
            batch = []
    if batch:
        conn.execute(insert(table), batch)


def _move(
    conn: Connection, key: tuple[str, str, str], synced_until: datetime, now: datetime
) -> None:
    """The cursor at `synced_until`, never moved back (a re-read of an older window)."""
    provider, organization, endpoint = key
    c = sync_cursors.c
    found = cursor(conn, *key)
    if found is None:
        conn.execute(
            insert(sync_cursors).values(
                provider=provider,
                organization=organization,
                endpoint=endpoint,
                synced_until=synced_until,
                updated_at=now,
            )
        )
        return
    conn.execute(
        update(sync_cursors)
        .where(c.provider == provider, c.organization == organization, c.endpoint == endpoint)
        .values(synced_until=max(found, synced_until), updated_at=now)
    )


def cursors(conn: Connection) -> list[dict[str, Any]]:
    c = sync_cursors.c
    query = select(sync_cursors).order_by(c.provider, c.organization, c.endpoint)
    return [dict(row) for row in conn.execute(query).mappings()]


# --- reads for reconcile, budgets (billed basis) and the FOCUS export ------------------


def buckets(
    conn: Connection, kind: str, provider: str | None, start: datetime, end: datetime
) -> Iterator[dict[str, Any]]:
    """The provider's 'usage' or 'cost' results whose bucket starts in [start, end), oldest
    first."""
    table = provider_usage if kind == "usage" else provider_costs
    c = table.c
    query = select(table).where(c.bucket_start >= start, c.bucket_start < end)
    if provider is not None:
        query = query.where(c.provider == provider)
    for row in conn.execute(query.order_by(c.bucket_start, c.id)).mappings():
        yield dict(row)


def billed_by_project(
    conn: Connection, start: datetime, end: datetime
) -> list[tuple[str, str | None, Decimal]]:
    """The billed amount, exact, per provider and project, of the cost days starting in
    [start, end)."""
    c = provider_costs.c
    query = (
        select(c.provider, c.project, func.sum(c.cost_cents))  # summed as Cents: exact
        .where(c.bucket_start >= start, c.bucket_start < end)
        .group_by(c.provider, c.project)
    )
    return [(provider, project, cents) for provider, project, cents in conn.execute(query)]


def request_level(
    conn: Connection, provider: str, start: datetime, end: datetime
) -> Iterator[dict[str, Any]]:
    """chatvault's own rows of one provider in [start, end): created_at, project, model, the
    estimate (cost_cents, NULL unpriced) and the request count, for reconcile. Rows imported
    from the providers' usage export files (request ids 'openai-usage:...',
    'anthropic-usage:...') or written by a sync (`counts: provider`, 'sync:openai:...') are
    the provider's buckets, not request-level data: left out."""
    c = usage_logs.c
    query = (
        select(c.created_at, c.project, c.model, c.cost_cents, c.request_count)
        .where(
            c.provider == provider,
            c.created_at >= start,
            c.created_at < end,
            c.billable.is_(True),
            ~func.coalesce(c.request_id, "").like(f"{provider}-usage:%"),
            ~func.coalesce(c.request_id, "").like(f"sync:{provider}:%"),  # counts: provider
        )
        .order_by(c.created_at)
    )
    for row in conn.execute(query).mappings():
        yield dict(row)


def other_rows(
    conn: Connection, provider: str, synced: str, start: datetime, end: datetime
) -> tuple[int, datetime, datetime] | None:
    """(how many, first, last) usage_logs rows of `provider` in [start, end) whose request
    id does not start with `synced`; None when there is none."""
    c = usage_logs.c
    count, first, last = conn.execute(
        select(func.count(), func.min(c.created_at), func.max(c.created_at)).where(
            c.provider == provider,
            c.created_at >= start,
            c.created_at < end,
            ~func.coalesce(c.request_id, "").like(f"{synced}%"),
        )
    ).one()
    return (count, first, last) if count else None


def delete_counted(conn: Connection, ids: str, start: datetime, end: datetime) -> int:
    """Remove the synced buckets (request ids `ids:...`) of [start, end) from usage_logs."""
    c = usage_logs.c
    where = and_(c.request_id.like(f"{ids}:%"), c.created_at >= start, c.created_at < end)
    return conn.execute(delete(usage_logs).where(where)).rowcount
