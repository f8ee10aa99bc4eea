"""`chatvault demo`: a realistic sample database to try every report on, in a few seconds."""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chatvault.cli.common import RootOptions, info
from chatvault.demo import DAYS_RANGE, DEFAULT_SEED, LAUNCH_PROJECT
from chatvault.period import zone_named

if TYPE_CHECKING:
    from chatvault.demo import Result

NEXT = (
    "costs dashboard",
    "usage --since 7d --group-by model",
    f"usage --group-by week --project {LAUNCH_PROJECT}",  # the launch, and growth
    "costs predict --to end-of-month",
    "costs budget",
    "costs budget check --dry-run",
    "usage insights",
    "pricing check",
)


def demo(
    ctx: typer.Context,
    days: Annotated[
        int,
        typer.Option(
            "--days",
            min=DAYS_RANGE[0],
            max=DAYS_RANGE[1],
            help="Whole days of usage before today's.",
        ),
    ] = 90,
    seed: Annotated[
        int, typer.Option("--seed", help="The same seed makes the same rows.")
    ] = DEFAULT_SEED,
    tz: Annotated[
        str,
        typer.Option("--tz", metavar="ZONE", help="IANA time zone of the demo's days and budgets."),
    ] = "UTC",
    replace: Annotated[  # what a rerun now does anyway: accepted, for scripts from before
        bool, typer.Option("--replace", hidden=True)
    ] = False,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            metavar="URL",
            help="An empty database to fill [default: the demo's own SQLite file in the user "
            "data dir, never the real default one].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create a sample database to try every report on: real prices, budgets, errors, growth.

    Run again, it replaces its own database with fresh sample data.
    """
    from datetime import UTC, datetime

    from chatvault.demo import create
    from chatvault.paths import demo_files

    own_file, config_path = demo_files()
    url = database or _typed_root_database(ctx) or f"sqlite:///{own_file}"
    started = time.perf_counter()
    result = create(
        url,
        config_path,
        days=days,
        seed=seed,
        zone=zone_named(tz, "--tz"),
        now=datetime.now(UTC),
        note=info,
    )
    info(f"done in {time.perf_counter() - started:.1f} s")
    _dashboard(url, config_path)
    typer.echo(_summary(result, url, config_path))


def _dashboard(url: str, config_path: Path) -> None:
    """This month on the new database, as `costs dashboard` shows it."""
    from chatvault.cli.dashboard import show
    from chatvault.config import Settings, load_config
    from chatvault.db.filters import UsageFilter
    from chatvault.reports import dashboard
    from chatvault.session import Session

    with Session(Settings(load_config(config_path), config_path, url), note=info) as session:
        show(dashboard.build(session, UsageFilter(), "this-month"))


def _typed_root_database(ctx: typer.Context) -> str | None:
    """`chatvault --database URL demo`, but not $CHATVAULT_DATABASE_URL: the demo must not
    write into the database a user's environment points every command at."""
    root = ctx.find_root()
    source = root.get_parameter_source("database")
    typed = source is not None and source.name == "COMMANDLINE"
    return root.obj.database if typed and isinstance(root.obj, RootOptions) else None


def _summary(result: Result, url: str, config_path: Path) -> str:
    from chatvault.db.engine import mask_url, parse_url
    from chatvault.money import usd_rounded

    shown = url if parse_url(url).password is None else mask_url(url)
    errors = result.errors / result.requests if result.requests else 0
    where = (
        f"CHATVAULT_DATABASE_URL={shlex.quote(shown)} "
        f"CHATVAULT_CONFIG={shlex.quote(str(config_path))}"
    )
    return "\n".join(
        [
            f"Sample usage from {result.first_day} to now: {result.requests:,} requests "
            f"({errors:.1%} errors) costing {usd_rounded(result.cost_cents)}, and "
            f"{result.unpriced_requests:,} to a custom model that has no price (unpriced, not $0).",
            f"Database: {shown}",
            f"Config:   {config_path} (monthly budgets: {LAUNCH_PROJECT} "
            f"${result.team_budget:,}, everything ${result.overall_budget:,})",
            "",
            "Next, point this shell at it and try:",
            f"  export {where}",
            *(f"  chatvault {command}" for command in NEXT),
        ]
    )
