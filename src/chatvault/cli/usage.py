"""`chatvault usage`: usage and cost, filtered and grouped; `usage logs`: the raw rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from chatvault.cli.common import Where, info, new_app, open_session, with_database
from chatvault.cli.filters import Filters, with_filters
from chatvault.cli.output import (
    CsvFormatOpt,
    FormatOpt,
    RawOpt,
    Result,
    TableJsonCsv,
    TableOrJson,
    emit,
    money_cells,
    table,
)
from chatvault.errors import InputError

if TYPE_CHECKING:
    from chatvault.db.filters import UsageFilter
    from chatvault.reports.usage import Report, Row
    from chatvault.session import Session

app = new_app("Usage and cost, filtered and grouped.", no_args_is_help=False)
GROUPS = ("day", "week", "month", "model", "user", "provider", "project", "status", "machine")
SORT_KEYS = ("group", "cost", "requests", "tokens", "input", "output", "unpriced", "errors")
SORT_KEYS += ("error-rate", "latency", "p95")


LimitOpt = Annotated[
    int | None, typer.Option("--limit", "-n", min=1, help="Rows per page [default: all].")
]
PageOpt = Annotated[int, typer.Option("--page", min=1, help="Which page of --limit rows.")]


@app.callback(invoke_without_command=True)
@with_filters()
@with_database
def usage(
    ctx: typer.Context,
    group_by: Annotated[
        str | None,
        typer.Option(
            "--group-by",
            "-g",
            metavar="G[,G]",
            help=f"One or two of {', '.join(GROUPS)}; e.g. day,model [default: one summary].",
        ),
    ] = None,
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort",
            metavar="KEY",
            help=f"{', '.join(SORT_KEYS)}; metrics largest first "
            "[default: group when grouped by time first, else cost].",
            show_default=False,
        ),
    ] = None,
    reverse: Annotated[bool, typer.Option("--reverse", help="Reverse the order.")] = False,
    limit: LimitOpt = None,
    page: PageOpt = 1,
    filters: Filters = Filters(),
    output: CsvFormatOpt = TableJsonCsv.table,
    raw: RawOpt = False,
    where: Where = Where(),
) -> None:
    """Usage and cost, filtered and grouped, with a totals row."""
    if ctx.invoked_subcommand is not None:
        return
    check_usage(group_by, sort, limit, page)
    with open_session(ctx, where, filters.tz) as session:
        result = usage_result(session, filters, group_by, sort, reverse, limit, page)
    emit(result, output, raw)


def check_usage(group_by: str | None, sort: str | None, limit: int | None, page: int) -> None:
    """The checks of `usage`'s options that need no database."""
    _group_by(group_by)
    if sort is not None and sort not in SORT_KEYS:
        raise InputError(f"--sort {sort!r}: use one of {', '.join(SORT_KEYS)}")
    if page > 1 and limit is None:
        raise InputError("--page goes with --limit (rows per page)")


def usage_result(
    session: Session,
    filters: Filters,
    group_by: str | None = None,
    sort: str | None = None,
    reverse: bool = False,
    limit: int | None = None,
    page: int = 1,
) -> Result:
    """`usage` on a session: what the command shows and what `chatvault serve` answers."""
    from chatvault.reports import usage as reports

    check_usage(group_by, sort, limit, page)
    rows = filters.rows(session)
    tiered = session.config.cost_calculation.tiered_pricing
    tiers = tiered.tiers if tiered.enabled else ()
    report = reports.report(session, rows, _group_by(group_by), tiers, sort, reverse, limit, page)
    if page > report.pages:
        raise InputError(f"--page {page}: there are {report.pages} page(s) of {limit} rows")
    empty = None if report.groups else reports.nothing_found(session, rows)
    return _result(report, rows, session.zone.key, empty, counted(session))


def counted(session: Session) -> dict[str, str]:
    """Per provider, the source its totals count (docs/sync.md, "Never count twice")."""
    from chatvault.sync.config import counts_in_totals

    return counts_in_totals(session.config.sync)


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


def _result(
    report: Report, rows: UsageFilter, zone: str, empty: str | None, counts: dict[str, str]
) -> Result:
    """The report for people (a table, or why it is empty) and programs (JSON, CSV)."""
    span = rows.span
    document = {
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
        "counted": counts,
    }
    synced = [name for name, source in counts.items() if source == "provider"]

    def show() -> None:
        if empty is not None:
            info(empty)
        else:
            _table(report)
        if synced:  # not the default: say whose totals are the providers' own buckets
            names = ", ".join(synced)
            info(f"{names}: totals count the provider's synced buckets (sync.*.counts: provider)")

    return Result(
        show=show,
        document=document,
        schema="chatvault.usage/1",
        columns=[name for name, _ in _columns(report)],
        records=document["rows"],
        text=report.group_by,
    )


def _table(report: Report) -> None:
    headings = [heading for _, heading in _columns(report)]
    every = [*report.rows, report.totals]
    money = [money_cells([getattr(row, name) for row in every]) for name in _money(report)]
    lines = [_cells(report, row, [m[i] for m in money]) for i, row in enumerate(report.rows)]
    total = ["total", *[""] * (len(report.group_by) - 1)]
    total += _cells(report, report.totals, [m[-1] for m in money])
    numbers = headings[len(report.group_by) :]
    table(headings, lines, footer=total if report.group_by else None, right=numbers)
    if report.limit:
        following = f"; --page {report.page + 1} for the next" if report.page < report.pages else ""
        info(f"page {report.page} of {report.pages} ({report.groups:,} groups){following}")


def _money(report: Report) -> list[str]:
    """The Row attributes of the money columns, in their order: each is rounded as one."""
    discounted = report.totals.discount_cents is not None
    return ["cost_cents", *(["discount_cents", "net_cents"] if discounted else [])]


def _cells(report: Report, row: Row, money: list[str]) -> list[str]:
    """A row's cells, with its money cells already rounded with their column."""

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
        *money,
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
@with_filters(span=False)
@with_database
def insights(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many.")] = 8,
    filters: Filters = Filters(),
    output: FormatOpt = TableOrJson.table,
    where: Where = Where(),
) -> None:
    """What changed this week: anomalous days, movers, error rates, unpriced models, caching."""
    with open_session(ctx, where, filters.tz) as session:
        result = insights_result(session, filters, limit)
    emit(result, output)


def insights_result(session: Session, filters: Filters, limit: int = 8) -> Result:
    """`usage insights` on a session."""
    from chatvault.reports.insights import insights as find

    rows = filters.rows(session)
    zone, today = session.zone, session.today()
    found = find(session, rows, limit)

    def show() -> None:
        if not found:
            info("nothing unusual in the last 7 complete days")
        for insight in found:
            print(f"{'!' if insight.severity == 'warning' else '-'} {insight.text}")

    document = {
        "time_zone": zone.key,
        "today": today.isoformat(),
        "filters": rows.echo(),
        "insights": [{"kind": i.kind, "severity": i.severity, "text": i.text} for i in found],
    }
    return Result(show, document, "chatvault.usage.insights/1")


@app.command("logs")
@with_filters()
@with_database
def logs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Rows per page.")] = 50,
    page: PageOpt = 1,
    after: Annotated[
        int | None,
        typer.Option("--after", metavar="ID", help="Continue after the row with this id."),
    ] = None,
    filters: Filters = Filters(),
    output: CsvFormatOpt = TableJsonCsv.table,
    raw: RawOpt = False,
    where: Where = Where(),
) -> None:
    """The raw usage rows, newest first."""
    if after is not None and page != 1:
        raise InputError("--after and --page are two ways to move on: give one")
    with open_session(ctx, where, filters.tz) as session:
        result = logs_result(session, filters, limit, page, after)
    emit(result, output, raw)


def logs_result(
    session: Session, filters: Filters, limit: int = 50, page: int = 1, after: int | None = None
) -> Result:
    """`usage logs` on a session."""
    from chatvault.db.queries import LOG_COLUMNS, LOG_LABELS, LOG_QUANTITIES, newest_rows

    if after is not None and page != 1:
        raise InputError("--after and --page are two ways to move on: give one")
    zone, rows = session.zone, filters.rows(session)
    found = newest_rows(session.connection, rows, limit, (page - 1) * limit, after)
    records = [_log_record(row, zone) for row in found]
    names = [_shown(n) for n in LOG_COLUMNS]

    def show() -> None:
        if not records:
            info("no usage rows match these filters")
            return
        costs = money_cells([row["cost_cents"] for row in found], empty="")
        cells = [["" if r[n] is None else f"{r[n]}" for n in names] for r in records]
        at = names.index("cost_usd")
        for line, cost in zip(cells, costs, strict=True):
            line[at] = cost
        numbers = [_shown(name) for name in LOG_QUANTITIES]
        table(names, cells, keep_whole=("created_at", "model"), right=numbers)
        if len(records) == limit:
            info(f"more: --after {records[-1]['id']} (or --page {page + 1})")

    document = {"time_zone": zone.key, "rows": records}
    text = [_shown(name) for name in LOG_LABELS]
    return Result(show, document, "chatvault.usage.logs/1", names, records, text)


def _log_record(row, zone) -> dict[str, Any]:
    """A raw row for output: its local time, and its cost as an exact dollar string."""
    from chatvault.money import dollars

    record = dict(row)
    record["created_at"] = row["created_at"].astimezone(zone).isoformat()
    cost = row["cost_cents"]
    return {
        _shown(k): ((None if cost is None else dollars(cost)) if k == "cost_cents" else v)
        for k, v in record.items()
    }


def _shown(column: str) -> str:
    """A listed column's name in output: the cost is shown in dollars."""
    return "cost_usd" if column == "cost_cents" else column
