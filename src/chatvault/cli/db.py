"""`chatvault db`: create, upgrade, verify and downgrade the database schema."""

from __future__ import annotations

import dataclasses
import functools
import sys
from typing import Annotated

import typer

from chatvault.cli.common import Where, info, new_app, settings, with_database
from chatvault.cli.output import FormatOpt, Result, TableOrJson, emit, table
from chatvault.errors import ChatvaultError

app = new_app("Create, upgrade and check the database schema.")

NoBackupOpt = Annotated[
    bool, typer.Option("--no-backup", help="Skip the backup copy of an SQLite file.")
]


@app.command()
@with_database
def migrate(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", metavar="REV", help="Target revision.")] = "head",
    sql: Annotated[
        bool,
        typer.Option("--sql", help="Print the SQL for PostgreSQL/MySQL instead of running it."),
    ] = False,
    start: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="REV",
            help="With --sql: the revision to start from ('base' for an empty database), "
            "without connecting [default: read from the database].",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be done; change nothing.")
    ] = False,
    no_backup: NoBackupOpt = False,
    where: Where = Where(),
) -> None:
    """Create the schema, adopt a legacy database, or upgrade to the newest revision."""
    from chatvault.db import migrate as lifecycle

    found = settings(ctx, where)
    url = found.database_url
    if sql:
        script = lifecycle.upgrade_sql(url, to, start)
        if not script:
            info("nothing to do: no SQL to print")
        typer.echo(script, nl=False)
        return
    if start is not None:
        raise typer.BadParameter("--from goes with --sql", param_hint="--from")
    # The default database's folder (the user data dir) is made; a named file's must exist.
    result = lifecycle.migrate(
        url,
        to,
        dry_run=dry_run,
        backup=not no_backup,
        notify=info,
        make_folder=found.default_database,
    )
    if dry_run:
        if result.adopted:
            typer.echo(f"would record the unversioned database as revision {result.adopted}")
        for revision in result.steps:
            typer.echo(f"would apply {revision}")
        if not (result.adopted or result.steps):
            typer.echo(f"nothing to do: the database is at {_revision(result.start)}")
    elif result.steps or result.adopted:
        info(f"the database is now at revision {result.target}")
    else:
        info(f"nothing to do: the database is already at {_revision(result.start)}")


@app.command()
@with_database
def verify(
    ctx: typer.Context,
    format: FormatOpt = TableOrJson.table,
    where: Where = Where(),
) -> None:
    """Compare the live schema with chatvault's models; exit 1 on any drift."""
    from chatvault.db.guard import require_database
    from chatvault.db.verify import verify as compare

    url = settings(ctx, where).database_url
    require_database(url)  # the same error, and exit code, as every other command's
    report = compare(url)

    def show() -> None:
        if not report.findings:
            typer.echo(f"in sync: {report.database} matches the models at revision {report.head}")
            return
        columns = ["kind", "object", "found", "expected", "hint"]
        rows = [[getattr(f, c) for c in columns] for f in report.findings]
        table(columns, rows, keep_whole=("kind", "object"))

    emit(Result(show, {**dataclasses.asdict(report), "in_sync": report.in_sync}), format)
    if not report.in_sync:
        info(f"{len(report.findings)} difference(s) in {report.database}; see each hint")
        raise typer.Exit(1)


@app.command()
@with_database
def status(
    ctx: typer.Context,
    format: FormatOpt = TableOrJson.table,
    where: Where = Where(),
) -> None:
    """Show the database URL, dialect, current and head revisions, and what is pending."""
    from chatvault.db.migrate import status as read_status

    current = read_status(settings(ctx, where).database_url)
    rows = [
        ["database", current.database],
        ["dialect", current.dialect],
        ["state", current.state],
        ["revision", current.revision or "none"],
        ["head", current.head],
        ["pending", ", ".join(current.pending) or "none"],
    ]
    show = functools.partial(table, ["", ""], rows, header=False)
    emit(Result(show, dataclasses.asdict(current)), format)


@app.command()
@with_database
def downgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Revision to go back to, or 'base' for none.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    no_backup: NoBackupOpt = False,
    where: Where = Where(),
) -> None:
    """Step the schema back to an older revision (data only newer revisions hold is lost)."""
    from chatvault.db import migrate as lifecycle
    from chatvault.db.engine import mask_url

    url = settings(ctx, where).database_url
    plan = lifecycle.downgrade(url, revision, dry_run=True)  # refuses before asking
    what = f"{', '.join(plan.steps)} in {mask_url(url)}, down to {revision}"
    if not yes and not sys.stdin.isatty():  # cron, a pipe: nobody to ask
        raise ChatvaultError(
            f"not downgraded: reverting {what} needs a yes, and there is no terminal to ask on; "
            "add --yes to the command"
        )
    if not yes and not _confirmed(f"Revert {what}?"):
        info("not downgraded: answer y, or pass --yes")
        raise typer.Exit(1)
    result = lifecycle.downgrade(url, revision, backup=not no_backup, notify=info)
    info(f"the database is now at {_revision(result.target)}")


def _revision(revision: str | None) -> str:
    return f"revision {revision}" if revision else "base (no chatvault schema)"


def _confirmed(question: str) -> bool:
    """Ask on stderr and read the answer from the terminal: stdout carries data only."""
    print(f"{question} [y/N]: ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")
