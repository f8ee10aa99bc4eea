"""`chatvault usage`: usage and cost, filtered and grouped; `usage logs`: the raw rows."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chatvault.cli.common import (
    ConfigOpt,
    DatabaseOpt,
    TableOrJson,
    info,
    new_app,
    settings,
)
from chatvault.cli.filters import (
    BillableOpt,
    ModelOpt,
    ProjectOpt,
    ProviderOpt,
    SinceOpt,
    StatusOpt,
    TzOpt,
    UntilOpt,
    UserOpt,
    usage_filter,
    zone_of,
)
from chatvault.errors import InputError

if TYPE_CHECKING:
    from chatvault.reports.usage import Report, Row

app = new_app("Usage and cost, filtered and grouped.", no_args_is_help=False)
GROUPS = ("day", "week", "month", "model", "user", "provider", "project", "status")
SORT_KEYS = ("group", "cost", "requests", "tokens", "input", "output", "unpriced", "errors")
SORT_KEYS += ("error-rate", "latency", "p95")


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


FormatOpt = Annotated[
    Format, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
]
LimitOpt = Annotated[
    int | None, typer.Option("--limit", "-n", min=1, help="Rows per page [default: all].")
]
PageOpt = Annotated[int, typer.Option("--page", min=1, help="Which page of --limit rows.")]


@app.callback(invoke_without_command=True)
def usage(
    ctx: typer.Context,
    group_by: Annotated[
        str | None,
        typer.Option(
            "--group-by",
            "-g",
            metavar="G[,G]",
            help=f"One or two of {'|'.join(GROUPS)}, e.g. day,model [default: one summary].",
        ),
    ] = None,
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort",
            metavar="KEY",
            help=f"{'|'.join(SORT_KEYS)}; metrics largest first "
            "[default: group when grouped by time first, else cost].",
            show_default=False,
        ),
    ] = None,
    reverse: Annotated[bool, typer.Option("--reverse", help="Reverse the order.")] = False,
    limit: LimitOpt = None,
    page: PageOpt = 1,
    since: SinceOpt = None,
    until: UntilOpt = None,
    model: ModelOpt = None,
    user: UserOpt = None,
    provider: ProviderOpt = None,
    project: ProjectOpt = None,
    status: StatusOpt = None,
    billable: BillableOpt = False,
    tz: TzOpt = None,
    output: FormatOpt = Format.table,
    database: DatabaseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Usage and cost, filtered and grouped, with a totals row."""
    if ctx.invoked_subcommand is not None:
        return
    from chatvault.reports import usage as reports

    groups = _group_by(group_by)
    if sort is not None and sort not in SORT_KEYS:
        raise InputError(f"--sort {sort!r}: use one of {', '.join(SORT_KEYS)}")
    if page > 1 and limit is None:
        raise InputError("--page goes with --limit (rows per page)")
    current = settings(ctx, database, config)
    zone = zone_of(tz or current.config.timezone)
    rows = usage_filter(zone, since, until, model, user, provider, project, status, billable)
    tiered = current.config.cost_calculation.tiered_pricing
    tiers = tiered.tiers if tiered.enabled else ()
    report = reports.report(
        current.database_url, rows, groups, zone, info, tiers, sort, reverse, limit, page
    )
    if page > report.pages:
        raise InputError(f"--page {page}: there are {report.pages} page(s) of {limit} rows")
    if output is Format.json:
        from chatvault.cli.output import dump_json

        dump_json(_json(report, rows, zone.key))
    elif output is Format.csv:
        _csv(report)
    elif not report.groups:
        info(reports.nothing_found(current.database_url, rows, zone))
    else:
        _table(report)


def _group_by(text: str | None) -> tuple[str, ...]:
    if text is None:
        return ()
    groups = tuple(g.strip().lower() for g in text.split(",") if g.strip())
    unknown = [g for g in groups if g not in GROUPS]
    if unknown or not 1 <= len(groups) <= 2 or len(set(groups)) < len(groups):
        raise InputError(
            f"--group-by {text!r}: give one or two different of {', '.join(GROUPS)} "
            "(e.g. day,model)"
        )
    return groups


def _columns(report: Report) -> list[tuple[str, str]]:
    """(name in JSON/CSV, table heading) of every column, the group's first."""
    return [(g, g) for g in report.group_by] + [
        ("requests", "Requests"),
        ("input_tokens", "Input"),
        ("output_tokens", "Output"),
        ("cache_read_tokens", "Cache read"),
        ("cache_write_tokens", "Cache write"),
        ("cost_usd", "Cost"),
        *(
            [("discount_usd", "Discount"), ("net_usd", "Net")]
            if report.totals.discount_cents is not None
            else []
        ),
        ("unpriced_requests", "Unpriced"),
        ("error_rate", "Errors"),
        ("avg_latency_ms", "Avg ms"),
        ("p95_latency_ms", "p95 ms"),
        ("share", "Share"),
    ]


def _record(report: Report, row: Row) -> dict[str, Any]:
    """A row for JSON and CSV: numbers as numbers, money as an exact decimal string."""
    from chatvault.money import dollars

    record: dict[str, Any] = {
        g: v.isoformat() if hasattr(v, "isoformat") else v
        for g, v in zip(report.group_by, row.key, strict=False)
    }
    record.update(
        requests=row.requests,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        cache_read_tokens=row.cache_read_tokens,
        cache_write_tokens=row.cache_write_tokens,
        cost_usd=None if row.cost_cents is None else dollars(row.cost_cents),
    )
    if row.discount_cents is not None:
        record.update(
            discount_usd=dollars(row.discount_cents),
            net_usd=None if row.net_cents is None else dollars(row.net_cents),
        )
    record.update(
        unpriced_requests=row.unpriced_requests,
        error_rate=None if row.error_rate is None else round(row.error_rate, 6),
        avg_latency_ms=None if row.avg_latency_ms is None else round(row.avg_latency_ms, 1),
        p95_latency_ms=row.p95_latency_ms,
        share=None if row.share is None else round(row.share, 6),
    )
    return record


def _json(report: Report, rows, zone: str) -> dict[str, Any]:
    span = rows.span
    return {
        "schema": "chatvault.usage/1",
        "time_zone": zone,
        "filters": {
            "since": None if span.start is None else span.start.isoformat(),
            "until": None if span.end is None else span.end.isoformat(),
            **rows.echo(),
        },
        "group_by": list(report.group_by),
        "sort": report.sort,
        "page": report.page,
        "pages": report.pages,
        "limit": report.limit,
        "groups": report.groups,
        "rows": [_record(report, row) for row in report.rows],
        "totals": _record(report, report.totals),
    }


def _csv(report: Report) -> None:
    names = [name for name, _ in _columns(report)]
    _write_csv(names, [_record(report, row) for row in report.rows])


def _write_csv(names: list[str], records: list[dict[str, Any]]) -> None:
    import csv
    import sys

    writer = csv.writer(sys.stdout, lineterminator="\r\n")
    writer.writerow(names)
    writer.writerows(["" if r[n] is None else r[n] for n in names] for r in records)


def _table(report: Report) -> None:
    from chatvault.cli.output import table

    headings = [heading for _, heading in _columns(report)]
    lines = [_cells(report, row) for row in report.rows]
    total = ["total", *[""] * (len(report.group_by) - 1), *_cells(report, report.totals)]
    numbers = headings[len(report.group_by) :]
    table(headings, lines, footer=total if report.group_by else None, right=numbers)
    if report.limit:
        following = f"; --page {report.page + 1} for the next" if report.page < report.pages else ""
        info(f"page {report.page} of {report.pages} ({report.groups:,} groups){following}")


def _cells(report: Report, row: Row) -> list[str]:
    from chatvault.money import usd

    def count(n: int) -> str:
        return f"{n:,}"

    def number(x: float | None, suffix: str = "") -> str:
        return "-" if x is None else f"{x:,.1f}{suffix}"

    labels = [_label(g, v) for g, v in zip(report.group_by, row.key, strict=False)]
    return [
        *labels,
        count(row.requests),
        count(row.input_tokens),
        count(row.output_tokens),
        count(row.cache_read_tokens),
        count(row.cache_write_tokens),
        "-" if row.cost_cents is None else usd(row.cost_cents),
        *(
            []
            if row.discount_cents is None
            else [usd(row.discount_cents), "-" if row.net_cents is None else usd(row.net_cents)]
        ),
        count(row.unpriced_requests),
        number(None if row.error_rate is None else row.error_rate * 100, "%"),
        number(row.avg_latency_ms),
        number(row.p95_latency_ms),
        number(None if row.share is None else row.share * 100, "%"),
    ]


def _label(group: str, value: Any) -> str:
    if value is None:
        return "(none)"
    if group == "week":
        year, week, _ = value.isocalendar()
        return f"{year}-W{week:02d} ({value.isoformat()})"
    if group == "month":
        return value.strftime("%Y-%m")
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@app.command("insights")
def insights(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many.")] = 8,
    model: ModelOpt = None,
    user: UserOpt = None,
    provider: ProviderOpt = None,
    project: ProjectOpt = None,
    status: StatusOpt = None,
    billable: BillableOpt = False,
    tz: TzOpt = None,
    output: Annotated[
        TableOrJson, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = TableOrJson.table,
    database: DatabaseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """What changed this week: anomalous days, movers, error rates, unpriced models, caching."""
    from chatvault.forecast.spend import today_in
    from chatvault.reports.insights import insights as find

    current = settings(ctx, database, config)
    zone = zone_of(tz or current.config.timezone)
    rows = usage_filter(zone, None, None, model, user, provider, project, status, billable)
    today = today_in(zone)
    found = find(current.database_url, rows, zone, today, info, limit)
    if output is TableOrJson.json:
        from chatvault.cli.output import dump_json

        dump_json(
            {
                "schema": "chatvault.usage.insights/1",
                "time_zone": zone.key,
                "today": today.isoformat(),
                "filters": rows.echo(),
                "insights": [
                    {"kind": i.kind, "severity": i.severity, "text": i.text} for i in found
                ],
            }
        )
    elif not found:
        info("nothing unusual in the last 7 complete days")
    else:
        for insight in found:
            print(f"{'!' if insight.severity == 'warning' else '-'} {insight.text}")


@app.command("logs")
def logs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Rows per page.")] = 50,
    page: PageOpt = 1,
    after: Annotated[
        int | None,
        typer.Option("--after", metavar="ID", help="Continue after the row with this id."),
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    model: ModelOpt = None,
    user: UserOpt = None,
    provider: ProviderOpt = None,
    project: ProjectOpt = None,
    status: StatusOpt = None,
    billable: BillableOpt = False,
    tz: TzOpt = None,
    output: FormatOpt = Format.table,
    database: DatabaseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """The raw usage rows, newest first."""
    from chatvault.db.guard import open_current
    from chatvault.db.queries import LOG_COLUMNS, newest_rows

    if after is not None and page != 1:
        raise InputError("--after and --page are two ways to move on: give one")
    current = settings(ctx, database, config)
    zone = zone_of(tz or current.config.timezone)
    rows = usage_filter(zone, since, until, model, user, provider, project, status, billable)
    with open_current(current.database_url) as conn:
        found = newest_rows(conn, rows, limit, (page - 1) * limit, after)
    records = [_log_record(row, zone) for row in found]
    names = [("cost_usd" if n == "cost_cents" else n) for n in LOG_COLUMNS]
    if output is Format.json:
        from chatvault.cli.output import dump_json

        dump_json({"schema": "chatvault.usage.logs/1", "time_zone": zone.key, "rows": records})
    elif output is Format.csv:
        _write_csv(names, records)
    elif not records:
        info("no usage rows match these filters")
    else:
        from chatvault.cli.output import table

        cells = [["" if r[n] is None else f"{r[n]}" for n in names] for r in records]
        table(names, cells, keep_whole=("created_at", "model"), right=names[7:])
        if len(records) == limit:
            info(f"more: --after {records[-1]['id']} (or --page {page + 1})")


def _log_record(row, zone) -> dict[str, Any]:
    """A raw row for output: its local time, and its cost as an exact dollar string."""
    from chatvault.money import dollars

    record = dict(row)
    record["created_at"] = row["created_at"].astimezone(zone).isoformat()
    cost = row["cost_cents"]
    return {
        ("cost_usd" if k == "cost_cents" else k): (
            (None if cost is None else dollars(cost)) if k == "cost_cents" else v
        )
        for k, v in record.items()
    }
