"""`chatvault config`: show and validate the configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chatvault.cli import output
from chatvault.cli.common import ConfigOpt, DatabaseOpt, info, new_app, settings

app = new_app("Show and check the configuration.")


@app.command()
def show(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of YAML.")] = False,
    database: DatabaseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Print the effective configuration, with secrets masked."""
    from chatvault.config import dump_yaml, effective_config

    current = settings(ctx, database, config)
    info(f"# config file: {current.config_file or 'none (built-in defaults)'}")
    data = effective_config(current)
    if as_json:
        output.dump_json(data)
    else:
        typer.echo(dump_yaml(data), nl=False)


@app.command()
def validate(
    ctx: typer.Context,
    path: Annotated[
        Path | None,
        typer.Argument(
            help="The file to check [default: the one chatvault would use].",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Check a config file: every key known, every value valid."""
    from chatvault.config import find_config_file, load_config

    found = find_config_file(path or config or _root_config(ctx))
    if found is None:
        info("no config file found; chatvault runs on built-in defaults")
        return
    load_config(found)
    typer.echo(f"{found}: valid")


def _root_config(ctx: typer.Context) -> Path | None:
    return getattr(ctx.find_root().obj, "config", None)
