"""One sync: for each endpoint of a provider, the window to read (the cursor less the days
providers revise, or --since/--until), read in chunks of at most one page's worth of buckets;
each chunk is fetched whole, then written in one transaction that replaces its buckets and
moves the cursor. A run killed at any moment leaves whole chunks and a cursor that agrees
with them; the next run re-reads from there."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from chatvault.errors import InputError
from chatvault.sync.config import ProviderSync
from chatvault.sync.http import Client, SyncError
from chatvault.sync.providers import (
    PROVIDERS,
    Endpoint,
    PageError,
    Provider,
    bucket_times,
    cost_rows,
    usage_rows,
)

if TYPE_CHECKING:
    from chatvault.session import Session

MAX_PAGES = 100_000  # per chunk: a server that never stops paging is a malformed one
# (chunks done, chunks in all, pages read so far), after each page and each chunk written
Progress = Callable[[int, int, int], None]


@dataclass
class EndpointSummary:
    endpoint: str
    start: datetime
    end: datetime
    pages: int = 0
    buckets: int = 0
    rows: int = 0
    replaced: int = 0  # rows of the window that were there before
    tokens: int = 0
    cents: Decimal = Decimal(0)


@dataclass
class SyncSummary:
    provider: str
    organization: str
    base_url: str
    dry_run: bool
    endpoints: list[EndpointSummary] = field(default_factory=list)
    requests: int = 0
    rule: str = ""  # which source counts in totals (sync/counted.py)


@dataclass(frozen=True)
class SyncRequest:
    provider: str
    since: datetime | None = None
    until: datetime | None = None
    dry_run: bool = False
    base_url: str | None = None


def settings_of(session: Session, name: str) -> ProviderSync:
    return getattr(session.config.sync, name)


def client_for(
    session: Session, request: SyncRequest, sleep: Callable[[float], None] | None = None
) -> Client:
    provider = PROVIDERS[request.provider]
    config = settings_of(session, request.provider)
    key = config.admin_key or os.environ.get(provider.key_env)
    if not key:
        raise InputError(
            f"no admin key for {provider.name}: set {provider.key_env}, or "
            f"sync.{provider.name}.admin_key: ${{VAR}} in the config"
        )
    client = Client(
        provider.name,
        request.base_url or config.base_url or provider.base_url,
        provider.headers(key),
        timeout=config.timeout,
        retries=config.retries,
        key_hint=f"check {provider.key_env} (an organization admin key)",
    )
    if sleep is not None:
        client.sleep = sleep
    return client


def sync(
    session: Session, request: SyncRequest, client: Client, progress: Progress | None = None
) -> SyncSummary:
    provider = PROVIDERS[request.provider]
    config = settings_of(session, provider.name)
    from chatvault.sync.counted import rule

    summary = SyncSummary(provider.name, config.organization, client.base_url, request.dry_run)
    summary.rule = rule(provider.name, config)
    plans = []
    for endpoint in provider.endpoints:
        width = config.bucket_width if endpoint.kind == "usage" else "1d"
        key = (provider.name, config.organization, endpoint.name)
        start, end = _window(session, request, config, key)
        summary.endpoints.append(EndpointSummary(endpoint.name, start, end))
        plans.append((endpoint, width, key, list(_chunks(start, end, endpoint, width))))
    if config.counts == "provider":  # the never-count-twice rule (sync/counted.py)
        from chatvault.sync.counted import refuse_others

        start = min(e.start for e in summary.endpoints)
        refuse_others(
            session.connection, provider.name, start, max(e.end for e in summary.endpoints)
        )
        session.connection.rollback()
    total = sum(len(chunks) for *_, chunks in plans)
    pages = chunks_done = 0
    for (endpoint, width, key, chunks), done in zip(plans, summary.endpoints, strict=True):
        for chunk_start, chunk_end in chunks:
            rows = []
            for page in _pages(client, provider, endpoint, width, config, chunk_start, chunk_end):
                pages += 1
                done.pages += 1
                done.buckets += len(page["data"])
                rows.extend(_rows(provider, endpoint, page, session.now, chunk_start, chunk_end))
                if progress is not None:
                    progress(chunks_done, total, pages)
            done.rows += len(rows)
            if endpoint.kind == "usage":
                done.tokens += sum(
                    r.input_tokens + r.output_tokens + r.cache_read_tokens + r.cache_write_tokens
                    for r in rows
                )
            else:
                done.cents += sum((r.cents for r in rows), Decimal(0))
            if not request.dry_run:
                done.replaced += _write(session, endpoint, key, chunk_start, chunk_end, rows)
            chunks_done += 1
            if progress is not None:
                progress(chunks_done, total, pages)
    summary.requests = client.requests
    return summary


def _window(
    session: Session, request: SyncRequest, config: ProviderSync, key: tuple[str, str, str]
) -> tuple[datetime, datetime]:
    """Whole UTC days: from --since, else the cursor less revise_days, else first_days ago;
    to --until, else the end of today (UTC)."""
    today = datetime.combine(session.now.astimezone(UTC).date(), time(0), UTC)
    end = _day(request.until) if request.until else today + timedelta(days=1)
    if request.since is not None:
        start = _day(request.since)
    else:
        from chatvault.db import billing

        found = billing.cursor(session.connection, *key)
        session.connection.rollback()  # the writes below take their own transactions
        start = (
            _day(found - timedelta(days=config.revise_days))
            if found is not None
            else today - timedelta(days=config.first_days)
        )
    if start >= end:
        raise InputError(f"--since {start:%Y-%m-%d} is not before --until {end:%Y-%m-%d}")
    return start, end


def _day(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), time(0), UTC)


def _chunks(start: datetime, end: datetime, endpoint: Endpoint, width: str):
    """[start, end) in windows of at most one page of buckets, and at most 31 days."""
    span = (
        timedelta(hours=endpoint.limits[width])
        if width == "1h"
        else timedelta(days=endpoint.limits[width])
    )
    span = min(span, timedelta(days=31))
    at = start
    while at < end:
        yield at, min(at + span, end)
        at += span


def _pages(client, provider: Provider, endpoint: Endpoint, width, config, start, end):
    groups = (
        endpoint.group_by
        if config.group_by is None
        else tuple(g for g in config.group_by if g in endpoint.group_by)
    )
    params = {
        **provider.time_params(start, end),
        "bucket_width": width,
        "limit": endpoint.limits[width],
        provider.group_param: list(groups) or None,
    }
    seen: set[str] = set()
    page_token = None
    for _ in range(MAX_PAGES):
        page = client.get(endpoint.path, {**params, "page": page_token})
        yield page
        if not page.get("has_more"):
            return
        page_token = page["next_page"]
        if page_token in seen:
            raise SyncError(
                f"{provider.name} sent a malformed page for {endpoint.path}: next_page repeats"
            )
        seen.add(page_token)
    raise SyncError(f"{provider.name}: more than {MAX_PAGES:,} pages for {endpoint.path}")


def _rows(provider, endpoint, page, now, start, end):
    malformed = f"{provider.name} sent a malformed page for {endpoint.path}"
    try:
        for b, bucket in enumerate(page["data"]):
            at, _ = bucket_times(provider, bucket, f"data[{b}]")
            if not start <= at < end:  # its rows would escape the window a re-run replaces
                raise SyncError(
                    f"{malformed}: a bucket at {at:%Y-%m-%dT%H:%M:%SZ} outside the window asked for"
                )
        if endpoint.kind == "usage":
            return usage_rows(provider, endpoint.name, page, now)
        return cost_rows(provider, page)
    except PageError as exc:
        raise SyncError(f"{malformed}: {exc}") from None


def _write(session: Session, endpoint: Endpoint, key, start, end, rows) -> int:
    from chatvault.db import billing

    counted = endpoint.kind == "usage" and settings_of(session, key[0]).counts == "provider"
    with session.writing() as conn:
        if counted:
            from chatvault.sync.counted import replace_counted

            replace_counted(conn, session, key, start, end, rows)
        synced_until = min(end, session.now)
        return billing.replace_window(
            conn, endpoint.kind, key, start, end, rows, synced_until, session.now
        )
