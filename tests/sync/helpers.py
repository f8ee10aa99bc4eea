"""Replica data and sessions for the sync tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from chatvault.config import Config
from chatvault.db.engine import connect
from chatvault.db.migrate import migrate
from chatvault.db.models import provider_costs, provider_usage, sync_cursors
from chatvault.sync.config import ProviderSync, SyncConfig
from chatvault.sync.run import SyncRequest, client_for, sync
from tests.sessions import session_for

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
FIRST = datetime(2026, 11, 6, tzinfo=UTC)  # first_days=14 before NOW's day


def config(provider: str, **settings) -> Config:
    block = ProviderSync(first_days=14, revise_days=2, **settings)
    return Config(sync=SyncConfig(**{provider: block}))


def fill_openai(state, days: int = 14) -> None:
    """An hour of usage every 5 hours, on two models and projects; a cost per project-day."""
    for hour in range(0, days * 24, 5):
        at = FIRST + timedelta(hours=hour)
        state.usage.append(
            {
                "at": at,
                "endpoint": "completions",
                "model": ("gpt-4o-mini", "gpt-4.1")[hour % 2],
                "project_id": f"proj_{hour % 3}",
                "api_key_id": "key_abc",
                "user_id": "user-1",
                "input_tokens": 1000 + hour,
                "input_cached_tokens": hour % 700,
                "output_tokens": 300 + hour,
                "num_model_requests": 3,
            }
        )
        state.usage.append(
            {
                "at": at,
                "endpoint": "embeddings",
                "model": "text-embedding-3-small",
                "project_id": "proj_0",
                "input_tokens": 5000 + hour,
                "num_model_requests": 2,
            }
        )
    for day in range(days):
        for project in ("proj_0", "proj_1"):
            # cents to a millionth (chatvault's precision), digits a float would lose
            amount = Decimal("1.234567") * (day + 1) + (7 if project == "proj_1" else 0)
            state.costs.append(
                {
                    "at": FIRST + timedelta(days=day),
                    "project_id": project,
                    "line_item": "gpt-4o-mini, input",
                    "amount": amount,
                }
            )


def fill_anthropic(state, days: int = 14) -> None:
    for hour in range(0, days * 24, 7):
        state.usage.append(
            {
                "at": FIRST + timedelta(hours=hour),
                "endpoint": "messages",
                "model": "claude-sonnet-4-5",
                "workspace_id": f"wrkspc_{hour % 2}",
                "api_key_id": "apikey_1",
                "service_tier": "standard",
                "context_window": "0-200k",
                "uncached_input_tokens": 200 + hour,
                "cache_read_input_tokens": 1000,
                "ephemeral_5m_input_tokens": 30,
                "ephemeral_1h_input_tokens": 20,
                "output_tokens": 90,
            }
        )
    for day in range(days):
        state.costs.append(
            {
                "at": FIRST + timedelta(days=day),
                "workspace_id": "wrkspc_0",
                "description": "Claude Sonnet 4.5 Usage - Input Tokens",
                "amount": Decimal("123.456789") + day,
            }
        )


def run_sync(
    url, state, *, conf=None, since=None, until=None, dry_run=False, now=NOW, progress=None
):
    session = session_for(url, conf or config(state.provider), now=now)
    with session:
        request = SyncRequest(state.provider, since, until, dry_run, state.url)
        import os

        os.environ[f"{state.provider.upper()}_ADMIN_KEY"] = state.key
        try:
            client = client_for(session, request, sleep=lambda s: None)
            return sync(session, request, client, progress)
        finally:
            del os.environ[f"{state.provider.upper()}_ADMIN_KEY"]


def stored(url) -> dict:
    """Sums of what the database holds, per endpoint, and the billed total."""
    with connect(url) as conn:
        c = provider_usage.c
        usage = {
            row.endpoint: tuple(row[1:])
            for row in conn.execute(
                select(
                    c.endpoint,
                    func.sum(c.input_tokens),
                    func.sum(c.cache_read_tokens),
                    func.sum(c.cache_write_tokens),
                    func.sum(c.cache_write_1h_tokens),
                    func.sum(c.output_tokens),
                    func.sum(c.request_count),
                    func.count(),
                ).group_by(c.endpoint)
            )
        }
        billed = conn.execute(select(func.sum(provider_costs.c.cost_cents))).scalar()
        amounts = conn.execute(select(provider_costs.c.amount)).scalars().all()
        cursors = {r.endpoint: r.synced_until for r in conn.execute(select(sync_cursors)).all()}
    return {"usage": usage, "billed": billed, "amounts": amounts, "cursors": cursors}


def migrated(url: str) -> str:
    migrate(url)
    return url
