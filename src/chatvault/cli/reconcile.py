"""`chatvault reconcile`: chatvault's estimates against the providers' usage and bill."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chatvault.cli.common import Where, open_session, with_database
from chatvault.cli.output import CsvFormatOpt, Result, TableJsonCsv, emit, money_cells, table
from chatvault.cli.sync import ProviderName

if TYPE_CHECKING:
    from chatvault.sync.reconcile import Reconciliation, Row

SCHEMA = "chatvault.reconcile/1"
COLUMNS = (
    "provider",
    "key",
    "estimate_cents",
    "requests",
    "unpriced_requests",
    "provider_tokens",
    "provider_priced_cents",
    "unpriced_tokens",
    "billed_cents",
    "compared_with",
    "difference_cents",
    "difference_pct",
    "flagged",
)


class By(StrEnum):
    day = "day"
    project = "project"
    model = "model"


@with_database
def reconcile(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", metavar="WHEN", help="From this UTC day on [default: 30 days ago]."
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            metavar="WHEN",
            help="Before this UTC day [default: today: whole days the providers have billed].",
        ),
    ] = None,
    by: Annotated[By, typer.Option("--by", help="One row per UTC day, project or model.")] = By.day,
    threshold: Annotated[
        float,
        typer.Option(
            "--threshold",
            metavar="PCT",
            min=0,
            help="Flag rows whose difference is beyond this percent; exit 1 if any is.",
        ),
    ] = 5.0,
    provider: Annotated[
        list[ProviderName] | None,
        typer.Option("--provider", help="Only this provider (repeatable)."),
    ] = None,
    output: CsvFormatOpt = TableJsonCsv.table,
    where: Where = Where(),
) -> None:
    """Side by side per row: chatvault's estimate, the provider's usage priced, the bill, and
    the difference in dollars and percent. Exit 1 when a row is beyond --threshold."""
    from zoneinfo import ZoneInfo

    from chatvault.period import parse_span
    from chatvault.sync.reconcile import reconcile as run

    limit = Decimal(str(threshold))
    with open_session(ctx, where) as session:
        span = parse_span(since or "30d", until or "today", ZoneInfo("UTC"), session.now)
        chosen = tuple(p.value for p in provider) if provider else ("openai", "anthropic")
        found = run(session, span.start, span.end, by.value, limit, chosen)
    emit(result(found), output.value)
    if found.flagged:
        raise typer.Exit(1)


def _record(row: Row) -> dict[str, Any]:
    return {name: getattr(row, name) for name in COLUMNS}


def _json(row: Row) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in _record(row).items()}


def result(found: Reconciliation) -> Result:
    document = {
        "by": found.by,
        "since": found.start.isoformat(),
        "until": found.end.isoformat(),
        "threshold_pct": str(found.threshold_pct),
        "rows": [_json(r) for r in found.rows],
        "totals": [_json(r) for r in found.totals],
        "flagged": found.flagged,
    }

    def show() -> None:
        everything = [*found.rows, *found.totals]
        estimate = money_cells([r.estimate_cents for r in everything])
        priced = money_cells([r.provider_priced_cents for r in everything])
        billed = money_cells([r.billed_cents for r in everything])
        difference = money_cells([r.difference_cents for r in everything])
        header = (
            "provider",
            found.by,
            "estimate",
            "provider usage",
            "billed",
            "difference",
            "%",
            "",
        )
        rows = [
            (
                r.provider,
                r.key,
                estimate[i],
                priced[i],
                billed[i] + ("" if r.compared_with == "billed" else " (n/a)"),
                difference[i],
                "-" if r.difference_pct is None else f"{r.difference_pct:+}%",
                "FLAG" if r.flagged else "",
            )
            for i, r in enumerate(everything)
        ]
        table(header, rows, right=header[2:7], keep_whole=(found.by,))

    return Result(
        show,
        document,
        SCHEMA,
        COLUMNS,
        (_record(r) for r in [*found.rows, *found.totals]),
        ("provider", "key", "compared_with"),
    )
