"""The config's `sync:` section: one block per provider (docs/sync.md, docs/configuration.md)."""

from __future__ import annotations

from typing import NamedTuple

from chatvault.errors import ConfigError

# Which source counts in totals for a provider's traffic (docs/sync.md, "Never count twice"):
# 'requests' (the default): request-level rows (usage_logs); the synced buckets only check them.
# 'provider': the synced buckets; that provider's request-level rows are then set aside.
COUNTS = ("requests", "provider")
WIDTHS = ("1h", "1d")


class ProviderSync(NamedTuple):
    """The config's `sync.<provider>` block: the admin API's key, address and reading rules."""

    admin_key: str | None = None  # '${OPENAI_ADMIN_KEY}'; else the environment variable
    base_url: str | None = None  # a proxy or a test server; default: the provider's API
    organization: str = "default"  # a name for the cursor, when several orgs share a database
    bucket_width: str = "1h"  # of usage buckets; costs are always daily
    group_by: tuple[str, ...] | None = None  # default: every dimension the endpoint has
    revise_days: int = 3  # re-read this many days before the cursor: providers revise them
    first_days: int = 30  # how far back the first run reads without --since
    timeout: float = 30.0  # seconds per request
    retries: int = 5
    counts: str = "requests"


class SyncConfig(NamedTuple):
    """The config's `sync:` section, one block per provider."""

    openai: ProviderSync = ProviderSync()
    anthropic: ProviderSync = ProviderSync()


def check_sync(sync: SyncConfig) -> None:
    """Rules beyond types, each naming its key."""
    for name in ("openai", "anthropic"):
        block: ProviderSync = getattr(sync, name)
        where = f"sync.{name}"
        if block.bucket_width not in WIDTHS:
            raise ConfigError(
                f"{where}.bucket_width: must be one of 1h, 1d, got {block.bucket_width!r}"
            )
        if block.counts not in COUNTS:
            raise ConfigError(f"{where}.counts: must be requests or provider, got {block.counts!r}")
        if not 0 <= block.revise_days <= 31:
            raise ConfigError(f"{where}.revise_days: must be 0..31, got {block.revise_days}")
        if not 1 <= block.first_days <= 3660:
            raise ConfigError(f"{where}.first_days: must be 1..3660, got {block.first_days}")
        if not 0 < block.timeout <= 600:
            raise ConfigError(f"{where}.timeout: must be more than 0 and at most 600 seconds")
        if not 0 <= block.retries <= 20:
            raise ConfigError(f"{where}.retries: must be 0..20, got {block.retries}")
        if block.base_url is not None and not block.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}.base_url: must start with http:// or https://")
        if not block.organization.strip() or len(block.organization) > 100:
            raise ConfigError(f"{where}.organization: 1 to 100 characters")
        if block.admin_key is not None and not block.admin_key.strip():
            raise ConfigError(f"{where}.admin_key: empty (the variable it names is empty?)")


def counts_in_totals(sync: SyncConfig) -> dict[str, str]:
    """Per provider, which source its totals count: 'requests' (request-level rows; synced
    buckets only check them) or 'provider' (the synced buckets). For `usage` to show."""
    return {name: getattr(sync, name).counts for name in ("openai", "anthropic")}
