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

from sqlalchemy import Connection, String, and_, case, delete, func, insert, select, update

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


def replace_window(
    conn: Connection,
    kind: str,
    key: tuple[str, str, str],
    start: datetime,
    end: datetime,
    rows: Sequence[Any],
    synced_until: datetime,
    now: datetime,
) -> int:
    """In the caller's transaction: the 'usage' buckets (UsageRow) of (provider,
    organization, endpoint), or the 'cost' buckets (CostRow) of (provider, organization), that
    start in [start, end) become `rows`, and the endpoint's cursor moves on. Returns how many
    rows were there before."""
    provider, organization, endpoint = key
    table = provider_usage if kind == "usage" else provider_costs
    c = table.c
    where = [c.provider == provider, c.organization == organization]
    if kind == "usage":
        where.append(c.endpoint == endpoint)
    window = and_(*where, c.bucket_start >= start, c.bucket_start < end)
    replaced = conn.execute(delete(table).where(window)).rowcount
    base = {"provider": provider, "organization": organization}
    _insert(conn, table, ({**base, **_values(kind, row)} for row in rows))
    _move(conn, key, synced_until, now)
    return replaced


def _values(kind: str, row: Any) -> dict[str, Any]:
    values = asdict(row)
    if kind == "cost":
        values["cost_cents"] = values.pop("cents")
    return values


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
    conn: Connection, provider: str, start: datetime, end: datetime, by: str
) -> list[tuple[str | None, Decimal | None, int, int]]:
    """chatvault's own rows of one provider in [start, end), summed per UTC day ('day'),
    project or model: (key, the estimate in cents or None when nothing is priced, requests,
    unpriced requests), for reconcile. Rows imported from the providers' usage export files
    (request ids 'openai-usage:...', 'anthropic-usage:...') or written by a sync
    (`counts: provider`, 'sync:openai:...') are the provider's buckets, not request-level
    data: left out."""
    c = usage_logs.c
    key = _utc_day(c.created_at, conn.dialect.name) if by == "day" else c[by]
    unpriced = func.sum(case((c.cost_cents.is_(None), c.request_count), else_=0))
    query = (
        select(key, func.sum(c.cost_cents), func.sum(c.request_count), unpriced)
        .where(
            c.provider == provider,
            c.created_at >= start,
            c.created_at < end,
            c.billable.is_(True),
            ~func.coalesce(c.request_id, "").like(f"{provider}-usage:%"),
            ~func.coalesce(c.request_id, "").like(f"sync:{provider}:%"),  # counts: provider
        )
        .group_by(key)
    )
    return [(k, cents, int(n), int(u)) for k, cents, n, u in conn.execute(query)]


def _utc_day(column: Any, dialect: str) -> Any:
    """'YYYY-MM-DD' of a stored (naive UTC) timestamp."""
    if dialect == "sqlite":  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff'
        return func.substr(column, 1, 10, type_=String)
    if dialect == "postgresql":
        return func.to_char(column, "YYYY-MM-DD", type_=String)
    return func.date_format(column, "%Y-%m-%d", type_=String)


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
