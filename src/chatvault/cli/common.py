"""What every command group shares: the app class with the one error path, option aliases,
settings resolution and the stderr console. No SQL and no arithmetic here."""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple, NoReturn

import typer
from typer.core import TyperGroup

from chatvault.errors import ChatvaultError
from chatvault.redact import redact

if TYPE_CHECKING:
    from rich.console import Console

    from chatvault.config import Settings
    from chatvault.session import Session

GLOBAL = "Global options"
DEBUG_ENV = "CHATVAULT_DEBUG"


def _database_option(envvar: str | None) -> typer.models.OptionInfo:
    return typer.Option(
        "--database",
        metavar="URL",
        envvar=envvar,
        help="Database URL [default: the config's, else an SQLite file in the user data dir].",
        rich_help_panel=GLOBAL,
        show_default=False,
    )


def _config_option(envvar: str | None) -> typer.models.OptionInfo:
    return typer.Option(
        "--config",
        metavar="PATH",
        envvar=envvar,
        help="Config file [default: ./config.yaml, else the user config dir].",
        rich_help_panel=GLOBAL,
        show_default=False,
        dir_okay=False,
    )


# Only the root options read the environment: a --database typed anywhere on the command
# line must win over $CHATVAULT_DATABASE_URL, and a command's own option wins over the root's.
RootDatabaseOpt = Annotated[str | None, _database_option("CHATVAULT_DATABASE_URL")]
RootConfigOpt = Annotated[Path | None, _config_option("CHATVAULT_CONFIG")]
DatabaseOpt = Annotated[str | None, _database_option(None)]
ConfigOpt = Annotated[Path | None, _config_option(None)]


class Where(NamedTuple):
    """The database and config a command's own --database and --config name."""

    database: str | None = None
    config: Path | None = None


def option_group(
    name: str, make: Callable[..., Any], options: Mapping[str, tuple[Any, Any]]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator that puts `options` ({name: (annotation, default)}) where a command's
    parameter `name` stands. Typer reads a command's options from its signature, so a group
    that many commands share is declared once; the command receives it as one value,
    `make(**the options given)`."""
    keyword = inspect.Parameter.KEYWORD_ONLY

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        own = inspect.signature(command, eval_str=True)
        params = list(own.parameters.values())
        at = list(own.parameters).index(name)
        added = [
            inspect.Parameter(key, keyword, annotation=hint, default=default)
            for key, (hint, default) in options.items()
        ]
        params = [p.replace(kind=keyword) for p in (*params[:at], *added, *params[at + 1 :])]

        @functools.wraps(command)
        def run(**kwargs: Any) -> Any:
            given = {key: kwargs.pop(key) for key in options if key in kwargs}
            return command(**{name: make(**given)}, **kwargs)

        run.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
        return run

    return decorate


# Every command that opens the database takes --database and --config, as `where: Where`.
with_database = option_group(
    "where", Where, {"database": (DatabaseOpt, None), "config": (ConfigOpt, None)}
)


class RootOptions(NamedTuple):
    """Global options given before the command name (`chatvault --database X db status`)."""

    database: str | None = None
    config: Path | None = None


def settings(ctx: typer.Context, where: Where) -> Settings:
    """The settings for a command: its own --database/--config win over the root's."""
    from chatvault.config import load_settings

    root = ctx.find_root().obj if isinstance(ctx.find_root().obj, RootOptions) else RootOptions()
    return load_settings(where.database or root.database, where.config or root.config)


@contextmanager
def open_session(ctx: typer.Context, where: Where, tz: str | None = None) -> Iterator[Session]:
    """The command's one session: its settings, the zone of its dates (--tz, else the
    config's), one instant for "now", and stderr for diagnostics; closed when it ends."""
    from chatvault.period import zone_named
    from chatvault.session import Session

    zone = None if tz is None else zone_named(tz, "--tz")
    with Session(settings(ctx, where), zone=zone, note=info) as session:
        yield session


class Group(TyperGroup):
    """Maps domain errors to one line on stderr and their exit code, for every command."""

    def invoke(self, ctx: Any) -> Any:
        try:
            try:
                return super().invoke(ctx)
            finally:
                # Buffered output meets a closed pipe (`chatvault ... | head`) here, inside
                # Typer's handling of it (quiet, exit 1), not at interpreter shutdown.
                sys.stdout.flush()
        except ChatvaultError as exc:
            fail(exc)
        except Exception as exc:
            passes = isinstance(exc, BrokenPipeError) or type(exc).__module__.startswith("typer")
            if passes or os.environ.get(DEBUG_ENV):
                raise  # Typer's own exits, usage errors and EPIPE handling; or a developer's trace
            from chatvault.db.engine import query_failure, without_statement

            cause = without_statement(exc)  # SQLAlchemy quotes the SQL: say what went wrong
            fail(
                query_failure(exc)
                or ChatvaultError(
                    f"unexpected error: {type(cause).__name__}: {cause}",
                    fix=f"{DEBUG_ENV}=1 chatvault ... to see the traceback, and report it",
                )
            )


def new_app(help: str, **kwargs: Any) -> typer.Typer:
    return typer.Typer(
        cls=Group,
        help=help,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        **{"no_args_is_help": True, **kwargs},
    )


def fail(exc: ChatvaultError) -> NoReturn:
    """One line on stderr, credentials scrubbed, then the error's exit code."""
    print(f"error: {redact(' '.join(str(exc).split()))}", file=sys.stderr)
    raise typer.Exit(exc.exit_code)


def stderr() -> Console:
    """Diagnostics go to stderr, so stdout carries data only."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, emoji=False)


def info(message: str) -> None:
    stderr().print(message, markup=False, soft_wrap=True)
