"""`chatvault config`: show and validate the configuration."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chatvault.cli import output
from chatvault.cli.common import ConfigOpt, Where, info, new_app, settings, with_database

if TYPE_CHECKING:
    from chatvault.config import Settings

app = new_app("Show and check the configuration.")


@app.command()
@with_database
def show(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of YAML.")] = False,
    where: Where = Where(),
) -> None:
    """Print the effective configuration, with secrets masked."""
    current = settings(ctx, where)
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


def effective_config(settings: Settings) -> dict[str, Any]:
    """The config a command runs with, database URL resolved and its password masked."""
    from chatvault.db.engine import mask_url

    data = _plain(settings.config)
    data["database"]["url"] = mask_url(settings.database_url)
    for budget in data["budgets"]:
        budget["notify"] = [_masked_channel(c) for c in budget["notify"]]
    for provider in data["sync"].values():  # an admin key never leaves the process
        provider["admin_key"] = None if provider["admin_key"] is None else "***"
    for token in data["serve"]["tokens"]:  # nor does a serve token
        token["token"] = "***"
    return data


def _plain(value: Any) -> Any:
    """The config as dicts and lists, section by section: what YAML and JSON can write."""
    if isinstance(value, tuple) and hasattr(value, "_asdict"):  # a section (a named tuple)
        return {name: _plain(item) for name, item in value._asdict().items()}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value


def _masked_channel(channel: dict[str, Any]) -> dict[str, Any]:
    """A notification channel without its secrets: a webhook URL's path is its token."""
    kind, settings = next((k, v) for k, v in channel.items() if v is not None)
    if kind == "webhook":
        scheme, _, rest = settings["url"].partition("://")
        settings["url"] = f"{scheme}://{rest.split('/')[0].rpartition('@')[2]}/***"
    if kind == "email" and settings["password"] is not None:
        settings["password"] = "***"
    return {kind: settings}


def dump_yaml(data: dict[str, Any]) -> str:
    """YAML that reads back as the same config: Decimals are written as plain numbers."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
        if value == value.to_integral_value():
            return dumper.represent_int(int(value))
        return dumper.represent_scalar("tag:yaml.org,2002:float", str(value))

    Dumper.add_representer(Decimal, represent_decimal)
    Dumper.add_representer(tuple, Dumper.represent_list)
    return yaml.dump(data, Dumper=Dumper, sort_keys=False, allow_unicode=True)
