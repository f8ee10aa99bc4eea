"""`chatvault reprice`: recompute estimated costs after prices or overrides change."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from chatvault.cli.common import Where, info, open_session, with_database
from chatvault.cli.filters import Filters, with_filters
from chatvault.money import MAX_CENTS, usd, usd_rounded


@with_filters(model_short="-m")
@with_database
def reprice(
    ctx: typer.Context,
    include_reported: Annotated[
        bool,
        typer.Option("--include-reported", help="Also replace costs the source reported."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the change; write nothing.")
    ] = False,
    filters: Filters = Filters(),
    where: Where = Where(),
) -> None:
    """Recompute estimated costs with the price list and overrides in use now, and report it."""
    from chatvault.pricing.reprice import reprice as run

    with open_session(ctx, where, filters.tz) as session:
        summary = run(session, filters.rows(session), include_reported, dry_run)
    change = usd(summary.after_cents - summary.before_cents)
    info(
        f"{'would change' if dry_run else 'changed'} {summary.changed:,} of {summary.examined:,} "
        f"rows ({summary.newly_priced:,} newly priced, {summary.unpriced:,} still unpriced); "
        f"their total {usd(summary.before_cents)} -> {usd(summary.after_cents)} "
        f"({'' if change.startswith('-') else '+'}{change})"
        + overridden(summary.by_override, session.settings.config_file)
    )
    if summary.beyond_maximum:
        info(
            f"warning: {summary.beyond_maximum:,} row{'' if summary.beyond_maximum == 1 else 's'} "
            f"estimated at more than "
            f"{usd_rounded(Decimal(MAX_CENTS))}, the most one record may cost: left unpriced"
        )


def overridden(rows: int, config_file: Path | None) -> str:
    """'; 3 rows priced by overrides from config.yaml', or nothing when no override priced."""
    if not rows:
        return ""
    return f"; {rows:,} row{'' if rows == 1 else 's'} priced by overrides from {config_file}"
