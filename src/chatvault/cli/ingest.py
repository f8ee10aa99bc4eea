"""`chatvault ingest`: bring usage in from the logs and exports people already have."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from chatvault.cli.common import Where, info, open_session, stderr, with_database
from chatvault.errors import InputError


class Source(StrEnum):
    auto = "auto"
    chatvault = "chatvault"
    claude_code = "claude-code"
    codex = "codex"
    gemini = "gemini"
    opencode = "opencode"
    opencode_db = "opencode-db"
    qwen = "qwen"
    openai_usage = "openai-usage"
    anthropic_usage = "anthropic-usage"
    litellm = "litellm"
    llm = "llm"


@with_database
def ingest(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="Files or directories (walked); '-' for stdin; gzip is read as is. "
            "Default with --source claude-code/auto: Claude Code's log folders.",
            show_default=False,
            metavar="PATH...",
        ),
    ] = None,
    source: Annotated[
        Source, typer.Option("--source", "-s", help="The format; auto tells it from the content.")
    ] = Source.auto,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Keep a file's valid records, reject the rest.")
    ] = False,
    rejects: Annotated[
        Path | None,
        typer.Option(
            "--rejects",
            metavar="FILE",
            help="With --skip-invalid: write each rejected record and its reason there (JSONL).",
            dir_okay=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Parse, check and price; write nothing.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar, no summary.")
    ] = False,
    assume_tz: Annotated[
        str | None,
        typer.Option(
            "--assume-tz",
            metavar="ZONE",
            help="The time zone of timestamps written without an offset (e.g. UTC).",
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            metavar="NAME",
            help="user_id for sources that record none (Claude Code) [default: your login name].",
            show_default=False,
        ),
    ] = None,
    machine: Annotated[
        str | None,
        typer.Option(
            "--machine",
            metavar="NAME",
            help="The machine rows from agents' logs come from [default: the host name].",
            show_default=False,
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="Read every file from its start, even those unchanged since last time."
        ),
    ] = False,
    where: Where = Where(),
) -> None:
    """Import usage from files: idempotent, atomic per file, priced on the way in."""
    from chatvault.ingest.plan import build_importer, find_inputs

    if rejects is not None and not skip_invalid:
        raise typer.BadParameter("--rejects goes with --skip-invalid", param_hint="--rejects")
    with open_session(ctx, where) as session:
        inputs = find_inputs(paths or [], source.value)
        total = None if any(i.size is None for i in inputs) else sum(i.size or 0 for i in inputs)
        with _progress(quiet, total) as advance, _open(rejects) as rejected:
            importer = build_importer(
                session,
                source.value,
                assume_tz,
                user,
                skip_invalid,
                rejected,
                dry_run,
                advance,
                machine=machine,
                full=full,
            )
            summary = importer.run(inputs)
    for line in summary.failed:
        stderr().print(f"error: {line}", markup=False, highlight=False, soft_wrap=True)
    if summary.unpriced:
        models = ", ".join(f"{m} ({n})" for m, n in summary.unpriced.most_common(10))
        more = "" if len(summary.unpriced) <= 10 else f" and {len(summary.unpriced) - 10} more"
        info(
            f"warning: {sum(summary.unpriced.values())} request(s) of {len(summary.unpriced)} "
            f"model(s) have no price: {models}{more}; add them under pricing.overrides in "
            "config.yaml"
        )
    if summary.overridden:  # money the config changed: say so, and where it came from
        config = session.settings.config_file
        info(f"{summary.overridden:,} row(s) priced by overrides from {config}")
    if not quiet:
        info(_describe(summary, dry_run))
    if summary.failed:
        raise typer.Exit(2)


def _describe(summary, dry_run: bool) -> str:
    rate = summary.read / summary.seconds if summary.seconds else 0
    done = summary.files - len(summary.failed) - summary.unchanged
    unchanged = f", {summary.unchanged:,} unchanged" if summary.unchanged else ""
    text = (
        f"{done} of {summary.files} file(s) imported{unchanged}: {summary.read:,} records read, "
        f"{summary.inserted:,} inserted, {summary.replaced:,} replaced, "
        f"{summary.duplicates:,} duplicates, {summary.rejected:,} rejected, "
        f"{sum(summary.unpriced.values()):,} unpriced; "
        f"{summary.seconds:.1f} s, {rate:,.0f} records/s"
    )
    return f"dry run, nothing written: {text}" if dry_run else text


class _progress:
    """A progress bar on stderr sized by bytes; nothing when not a terminal, or when quiet
    (then Rich is not even imported: a rerun over unchanged files is mostly start-up)."""

    def __init__(self, quiet: bool, total: int | None):
        self._bar = None
        console = None if quiet else stderr()
        if console is not None and console.is_terminal:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._bar = Progress(
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
            self._task = self._bar.add_task("ingest", total=total)

    def __enter__(self):
        if self._bar is None:
            return lambda _: None
        self._bar.start()
        return lambda done: self._bar.update(self._task, completed=done)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()


class _open:
    def __init__(self, path: Path | None):
        self._path, self._file = path, None

    def __enter__(self):
        if self._path is not None:
            try:
                self._file = self._path.open("w", encoding="utf-8")
            except OSError as exc:
                raise InputError(f"cannot write {self._path}: {exc.strerror}") from None
        return self._file

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            self._file.close()
