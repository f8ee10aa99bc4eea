"""The `budgets:` section of the config: what each budget is, and the rules it must follow.

Each budget's notification channels are the named tuples of budgets.notify, one per entry
of its `notify:` list (`- webhook: {url: ...}`, `- command: {run: [...]}`, `- email: {...}`).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import NamedTuple

from chatvault.budgets.notify import Command, Email, Webhook
from chatvault.errors import ConfigError
from chatvault.period import zone_named

# Config keys that name a field differently (`from` is a Python keyword).
KEY_ALIASES = {Email: {"from": "sender"}}
PERIODS = ("daily", "weekly", "monthly", "quarterly", "yearly")
# What a budget's spend is: chatvault's estimate (usage_logs, what `usage` totals), or what
# the providers billed (`chatvault sync`'s cost buckets, docs/sync.md).
BASES = ("estimated", "billed")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Names appear in monitoring perfdata ('name'=value) and alert keys: keep them plain.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}")


class Scope(NamedTuple):
    """The usage a budget counts (globs, as --model etc.); empty: everything."""

    models: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()


class Channel(NamedTuple):
    """One entry of a budget's `notify:` list: exactly one of the three."""

    webhook: Webhook | None = None
    command: Command | None = None
    email: Email | None = None

    @property
    def target(self) -> Webhook | Command | Email:
        return next(c for c in (self.webhook, self.command, self.email) if c is not None)


class Budget(NamedTuple):
    """One budget from the config: an amount per period, for a scope of the usage."""

    name: str
    amount: Decimal  # USD per period
    period: str = "monthly"
    timezone: str | None = None  # default: the config's timezone
    week_start: str = "monday"
    scope: Scope = Scope()
    thresholds: tuple[Decimal, ...] | None = None  # percents; default: budget_alerts'
    forecast_alerts: bool = True
    notify: tuple[Channel, ...] = ()
    basis: str = "estimated"


def check_budgets(budgets: tuple[Budget, ...]) -> None:
    """Rules beyond types, each naming the budget key it is about."""
    seen: set[str] = set()
    for i, budget in enumerate(budgets):
        where = f"budgets[{i}]"
        if not _NAME.fullmatch(budget.name):
            raise ConfigError(
                f"{where}.name: {budget.name!r}: use letters, digits, spaces, '.', '_', '-' "
                "(up to 100, starting with a letter or digit)"
            )
        if budget.name.lower() in seen:
            raise ConfigError(f"{where}.name: {budget.name!r} names two budgets")
        seen.add(budget.name.lower())
        if budget.amount <= 0:
            raise ConfigError(f"{where}.amount: must be a positive number of USD")
        if budget.period not in PERIODS:
            raise ConfigError(f"{where}.period: {budget.period!r}: use one of {', '.join(PERIODS)}")
        if budget.week_start not in WEEKDAYS:
            raise ConfigError(f"{where}.week_start: {budget.week_start!r}: use a weekday name")
        if budget.basis not in BASES:
            raise ConfigError(f"{where}.basis: {budget.basis!r}: use estimated or billed")
        if budget.basis == "billed" and (budget.scope.models or budget.scope.users):
            raise ConfigError(
                f"{where}.scope: a billed budget is scoped by providers and projects only "
                "(the providers' bills are not split by user or model)"
            )
        if budget.timezone is not None:
            zone_named(budget.timezone, f"{where}.timezone", ConfigError)
        if budget.thresholds is not None:
            check_thresholds(budget.thresholds, f"{where}.thresholds")
        for j, channel in enumerate(budget.notify):
            _check_channel(channel, f"{where}.notify[{j}]")


def check_thresholds(thresholds: tuple[Decimal, ...], where: str) -> None:
    if any(not 0 < t <= 1000 for t in thresholds):
        raise ConfigError(f"{where}: each threshold is a percent in (0, 1000]")
    if list(thresholds) != sorted(set(thresholds)):
        raise ConfigError(f"{where}: thresholds must be in increasing order, without repeats")
    if any(t != t.quantize(Decimal("0.01")) for t in thresholds):
        raise ConfigError(f"{where}: thresholds have at most two decimals")


def _check_channel(channel: Channel, where: str) -> None:
    given = [c for c in (channel.webhook, channel.command, channel.email) if c is not None]
    if len(given) != 1:
        raise ConfigError(f"{where}: give exactly one of webhook, command, email")
    target = given[0]
    if isinstance(target, Webhook) and not re.match(r"https?://[^/\s]+", target.url):
        raise ConfigError(f"{where}.webhook.url: not an http(s) URL")
    if isinstance(target, Command) and not target.run:
        raise ConfigError(f"{where}.command.run: the program and its arguments, as a list")
    if isinstance(target, Email):
        if not target.to:
            raise ConfigError(f"{where}.email.to: at least one address")
        if target.security not in ("starttls", "tls", "none"):
            raise ConfigError(f"{where}.email.security: use starttls, tls or none")
    if target.timeout_seconds <= 0:
        raise ConfigError(f"{where}: timeout_seconds must be positive")
