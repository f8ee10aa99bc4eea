"""`chatvault sync openai|anthropic`: the providers' usage and billed costs, from their admin
APIs, into chatvault's database (docs/sync.md)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chatvault.cli.common import Where, open_session, stderr, with_database
from chatvault.cli.output import FormatOpt, Result, TableOrJson, emit, money_cells, table

if TYPE_CHECKING:
    from rich.console import Console

    from chatvault.sync.run import Progress, SyncSummary

SCHEMA = "chatvault.sync/1"


class ProviderName(StrEnum):
    openai = "openai"
    anthropic = "anthropic"


@with_database
def sync(
    ctx: typer.Context,
    provider: Annotated[
        ProviderName, typer.Argument(metavar="openai|anthropic", help="Whose admin API to read.")
    ],
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="WHEN",
            help="Re-read from this UTC day on [default: the cursor less sync.<provider>."
            "revise_days, or first_days ago on the first run].",
            show_default=False,
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            metavar="WHEN",
            help="Up to this UTC day, exclusive [default: the end of today].",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Fetch and report; write nothing.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar, no table (for cron).")
    ] = False,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            metavar="URL",
            help="The API's address: a proxy or a test server [default: sync.<provider>."
            "base_url, else the provider's].",
            show_default=False,
        ),
    ] = None,
    output: FormatOpt = TableOrJson.table,
    where: Where = Where(),
) -> None:
    """Read usage and billed costs from a provider's admin API; each run re-reads the recent
    days and replaces them, so re-running never doubles anything."""
    from zoneinfo import ZoneInfo

    from chatvault.errors import InputError
    from chatvault.period import parse_span
    from chatvault.sync.run import SyncRequest, client_for
    from chatvault.sync.run import sync as run

    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise InputError(f"--base-url {base_url}: must start with http:// or https://")
    with open_session(ctx, where) as session:
        span = parse_span(since, until, ZoneInfo("UTC"), session.now)
        request = SyncRequest(provider.value, span.start, span.end, dry_run, base_url)
        client = client_for(session, request)
        with _progress(stderr(), not quiet) as progress:
            summary = run(session, request, client, progress)
    if output == TableOrJson.json or not quiet:
        emit(result(summary), output.value)


def result(summary: SyncSummary) -> Result:
    document = {
        "provider": summary.provider,
        "organization": summary.organization,
        "dry_run": summary.dry_run,
        "requests": summary.requests,
        "counts": summary.rule,
        "endpoints": [_endpoint(e) for e in summary.endpoints],
    }

    def show() -> None:
        columns = (
            "endpoint",
            "from",
            "to",
            "pages",
            "buckets",
            "rows",
            "replaced",
            "tokens",
            "billed",
        )
        billed = money_cells(
            [e.cents if e.endpoint == "costs" else None for e in summary.endpoints]
        )
        rows = [
            (
                e.endpoint,
                f"{e.start:%Y-%m-%d}",
                f"{e.end:%Y-%m-%d}",
                f"{e.pages:,}",
                f"{e.buckets:,}",
                f"{e.rows:,}",
                "-" if summary.dry_run else f"{e.replaced:,}",
                "-" if e.endpoint == "costs" else f"{e.tokens:,}",
                cents,
            )
            for e, cents in zip(summary.endpoints, billed, strict=True)
        ]
        table(columns, rows, right=columns[3:])
        verb = "would write (dry run)" if summary.dry_run else "synced"
        stderr().print(
            f"{verb} {summary.provider} ({summary.organization}) in {summary.requests:,} "
            f"requests\ncounted in totals: {summary.rule}",
            markup=False,
            soft_wrap=True,
        )

    return Result(show, document, SCHEMA)


def _endpoint(e: Any) -> dict[str, Any]:
    return {
        "endpoint": e.endpoint,
        "from": e.start.isoformat(),
        "to": e.end.isoformat(),
        "pages": e.pages,
        "buckets": e.buckets,
        "rows": e.rows,
        "replaced": e.replaced,
        "tokens": e.tokens,
        "billed_cents": str(e.cents) if e.endpoint == "costs" else None,
    }


class _progress:
    """A bar on stderr over the windows to read, when wanted and stderr is a terminal."""

    def __init__(self, console: Console, wanted: bool):
        self._bar = None
        if wanted and console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn("sync"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("windows, {task.fields[pages]:,} pages"),
                console=console,
                transient=True,
            )
            self._task = self._bar.add_task("sync", total=None, pages=0)

    def __enter__(self) -> Progress | None:
        if self._bar is None:
            return None
        self._bar.start()
        return lambda done, total, pages: self._bar.update(
            self._task, completed=done, total=total, pages=pages
        )

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
