"""The root command: global options, and the command groups wired together."""

from __future__ import annotations

from typing import Annotated

import typer

from chatvault import __version__
from chatvault.cli import config as config_group
from chatvault.cli import db as db_group
from chatvault.cli import export as export_command
from chatvault.cli import ingest as ingest_command
from chatvault.cli import pricing as pricing_group
from chatvault.cli import reprice as reprice_command
from chatvault.cli import usage as usage_group
from chatvault.cli.common import GLOBAL, RootConfigOpt, RootDatabaseOpt, RootOptions, new_app

app = new_app("LLM API usage and cost analytics.")
app.command()(ingest_command.ingest)
app.command()(reprice_command.reprice)
app.command()(export_command.export)
app.add_typer(usage_group.app, name="usage")
app.add_typer(pricing_group.app, name="pricing")
app.add_typer(db_group.app, name="db")
app.add_typer(config_group.app, name="config")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"chatvault {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    database: RootDatabaseOpt = None,
    config: RootConfigOpt = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            rich_help_panel=GLOBAL,
            help="Show the version and exit.",
        ),
    ] = False,
) -> None:
    """LLM API usage and cost analytics."""
    ctx.obj = RootOptions(database, config)


def main() -> None:
    app(prog_name="chatvault")
