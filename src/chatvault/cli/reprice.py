"""`chatvault reprice`: recompute estimated costs after prices or overrides change."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

import typer

from chatvault.cli.common import ConfigOpt, DatabaseOpt, info, settings
from chatvault.money import usd


def reprice(
    ctx: typer.Context,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model", "-m", metavar="GLOB", help="Only these models (* and ?; repeatable)."
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", metavar="DATE", help="From this day on (inclusive).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", metavar="DATE", help="Before this day (exclusive).")
    ] = None,
    include_reported: Annotated[
        bool,
        typer.Option("--include-reported", help="Also replace costs the source reported."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the change; write nothing.")
    ] = False,
    database: DatabaseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Recompute estimated costs with today's prices and overrides, and report the change."""
    from zoneinfo import ZoneInfo

    from chatvault.db.queries import RowFilter
    from chatvault.pricing.prices import PriceBook
    from chatvault.pricing.reprice import reprice as run

    current = settings(ctx, database, config)
    zone = ZoneInfo(current.config.timezone)
    rows = RowFilter(
        models=tuple(model or ()),
        since=_start_of(since, zone, "--since"),
        until=_start_of(until, zone, "--until"),
        include_reported=include_reported,
    )
    summary = run(current.database_url, PriceBook(current.config.pricing.overrides), rows, dry_run)
    change = usd(summary.after_cents - summary.before_cents)
    info(
        f"{'would change' if dry_run else 'changed'} {summary.changed:,} of {summary.examined:,} "
        f"rows ({summary.newly_priced:,} newly priced, {summary.unpriced:,} still unpriced); "
        f"their total {usd(summary.before_cents)} -> {usd(summary.after_cents)} "
        f"({'' if change.startswith('-') else '+'}{change})"
    )


def _start_of(text: str | None, zone, option: str) -> datetime | None:
    """The start of a day in the configured time zone."""
    if text is None:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), time(), tzinfo=zone)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date (YYYY-MM-DD)", param_hint=option
        ) from None
