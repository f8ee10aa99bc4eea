"""The root command: global options, and the command groups wired together.

Building Typer's command tree reads every command's signature, and importing every command
module costs too: a command line that names its command gets a root holding just that one.
`app` (the whole tree: help, completion, tests) is built when first asked for.
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Annotated, Any

import typer

from chatvault import __version__
from chatvault.cli.common import GLOBAL, RootConfigOpt, RootDatabaseOpt, RootOptions, new_app

# Each command, in the order --help lists them: (module in chatvault.cli, function), or for a
# group of commands the module whose `app` it is.
COMMANDS: dict[str, tuple[str, str | None]] = {
    "usage": ("usage", None),
    "export": ("export", "export"),
    "ingest": ("ingest", "ingest"),
    "sync": ("sync", "sync"),
    "reconcile": ("reconcile", "reconcile"),
    "reprice": ("reprice", "reprice"),
    "costs": ("costs", None),
    "pricing": ("pricing", None),
    "db": ("db", None),
    "config": ("config", None),
    "demo": ("demo", "demo"),
    "serve": ("serve", "serve"),
}
_VALUED = ("--database", "--config")  # root options that take a value


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"chatvault {__version__}")
        raise typer.Exit()


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


def make_app(names: list[str], subcommand: str | None = None) -> typer.Typer:
    """The root with these commands; a group among them that lists its commands (COMMANDS)
    with just `subcommand`, when it is one of them."""
    root_app = new_app("LLM API usage and cost analytics.")
    root_app.callback()(root)
    for name in names:
        module_name, function = COMMANDS[name]
        module = import_module(f"chatvault.cli.{module_name}")
        if function is not None:
            root_app.command()(getattr(module, function))
        elif subcommand in getattr(module, "COMMANDS", ()):
            root_app.add_typer(module.make_group([subcommand]), name=name)
        else:
            root_app.add_typer(module.app, name=name)
    return root_app


def command_named(args: list[str]) -> tuple[str | None, str | None]:
    """The command a command line names, if it names a known one before anything else, and
    the word after it (a group's command, if it is one)."""
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
        elif arg in _VALUED:
            skip = True
        elif not arg.startswith("-"):
            if arg not in COMMANDS:
                return None, None
            after = args[i + 1] if i + 1 < len(args) else None
            return arg, after
    return None, None


def __getattr__(name: str) -> Any:
    if name == "app":
        return make_app(list(COMMANDS))
    raise AttributeError(name)


def command_line(args: list[str]) -> typer.Typer:
    """The root for this command line: the command it names, or all of them."""
    named, subcommand = command_named(args)
    return make_app([named] if named else list(COMMANDS), subcommand)


def main() -> None:
    command_line(sys.argv[1:])(prog_name="chatvault")
