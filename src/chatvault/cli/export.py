"""`chatvault export`: usage rows to a CSV or JSONL file (or stdout), for finance and tools."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from chatvault.cli.common import Where, info, open_session, stderr, with_database
from chatvault.cli.filters import Filters, with_filters
from chatvault.cli.output import RawOpt

if TYPE_CHECKING:
    from rich.console import Console

    from chatvault.reports.export import ExportSummary, OnProgress, Target


class ExportFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"
    focus = "focus"  # FOCUS 1.2 CSV (docs/export.md)


@with_filters()
@with_database
def export(
    ctx: typer.Context,
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Where to write; '-' for stdout. Written whole or not at all.",
            show_default=False,
        ),
    ],
    format: Annotated[
        ExportFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="File format: csv, jsonl, or focus (FinOps FOCUS 1.2 columns, CSV) "
            "[default: jsonl for a .jsonl/.ndjson name, else csv].",
            case_sensitive=False,
            show_default=False,
        ),
    ] = None,
    gzip: Annotated[
        bool, typer.Option("--gzip", help="Compress with gzip (implied by a .gz name).")
    ] = False,
    raw: RawOpt = False,
    filters: Filters = Filters(),
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar, no summary.")
    ] = False,
    where: Where = Where(),
) -> None:
    """Write usage rows, every column, oldest first: exact costs, UTC times (docs/export.md)."""
    from chatvault.reports.export import Target
    from chatvault.reports.export import export as write

    target = Target.of(output, format.value if format else None, gzip, raw)
    console = stderr()
    # Rows printed to the same terminal would tear a bar apart.
    bar = not quiet and not (target.path is None and sys.stdout.isatty())
    with open_session(ctx, where, filters.tz) as session:
        rows = filters.rows(session)
        with _progress(console, bar) as progress:
            summary = write(session, rows, target, progress)
    if not quiet:
        info(_describe(summary, target))


def _describe(summary: ExportSummary, target: Target) -> str:
    return (
        f"exported {summary.rows:,} row{'' if summary.rows == 1 else 's'} to "
        f"{target.describe()}: {summary.bytes:,} bytes"
        f"{' (gzip)' if target.compress else ''} in {summary.seconds:.1f} s, "
        f"{summary.rows_per_second:,.0f} rows/s"
    )


class _progress:
    """A bar on stderr sized by the rows to write, when wanted and stderr is a terminal
    (without one, the rows are not counted first)."""

    def __init__(self, console: Console, wanted: bool):
        self._bar = None
        if wanted and console.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("rows"),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
            self._task = self._bar.add_task("export", total=None)

    def __enter__(self) -> OnProgress | None:
        if self._bar is None:
            return None
        self._bar.start()
        return lambda done, total: self._bar.update(self._task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
