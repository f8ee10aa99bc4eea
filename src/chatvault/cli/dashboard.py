"""`chatvault costs dashboard`: one screen of spend, forecast, budgets, daily cost by model,
top models and users, quality and insights; or the same as a self-contained HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chatvault.cli.common import Where, info, open_session, with_database
from chatvault.cli.filters import Filters, with_filters
from chatvault.forecast import LEVEL_LABEL

if TYPE_CHECKING:
    from decimal import Decimal

    from rich.console import Console, RenderableType

    from chatvault.money import Estimate
    from chatvault.reports.dashboard_data import Dashboard, Share

# Model colours of the daily chart, and the characters that stand for them without colour.
COLOURS = ("cyan", "magenta", "yellow", "green", "grey50")
MARKS = ("#", "=", "+", "o", ".")
STATE_STYLES = {"OK": "green", "WARNING": "yellow", "CRITICAL": "bold red", "UNKNOWN": "dim"}
CHART_HEIGHT = 10
GAP = 2  # columns between tables side by side
PIPED_WIDTH = 120  # the page piped or redirected, unless $COLUMNS is narrower


@with_filters(span=False)
@with_database
def dashboard(
    ctx: typer.Context,
    period: Annotated[
        str,
        typer.Option(
            "--period",
            "-p",
            metavar="WHEN",
            help="this-month, last-month, this-week, last-week, today, yesterday, 30d, 8w, 3mo.",
        ),
    ] = "this-month",
    html: Annotated[
        Path | None,
        typer.Option("--html", metavar="FILE", help="Write a self-contained HTML report instead."),
    ] = None,
    filters: Filters = Filters(),
    where: Where = Where(),
) -> None:
    """Spend, forecast, budgets, daily cost by model, top models and users, insights."""
    from chatvault.reports import dashboard as data

    if html is not None:
        _can_write(html)  # known before a minute of queries, not after
    with open_session(ctx, where, filters.tz) as session:
        board = data.build(session, filters.rows(session), period)
    if html is not None:
        from chatvault.paths import write_atomically
        from chatvault.render.html import render

        write_atomically(html, render(board))
        info(f"wrote {html}")
        return
    show(board)


DASHBOARD_SCHEMA = "chatvault.dashboard/1"


def dashboard_document(board: Dashboard) -> dict[str, Any]:
    """The dashboard as JSON (`chatvault serve`'s /v1/costs/dashboard): money as exact
    decimal strings in dollars, days as ISO dates, fractions as numbers."""
    from chatvault.money import dollars

    def usd(cents: Decimal | None) -> str | None:
        return None if cents is None else dollars(cents)

    def estimate(e: Estimate | None) -> dict[str, str | None] | None:
        if e is None:
            return None
        return {"forecast_usd": usd(e.cents), "lower_usd": usd(e.lower), "upper_usd": usd(e.upper)}

    def shares(found: list[Share]) -> list[dict[str, Any]]:
        return [
            {
                "name": s.name,
                "cost_usd": usd(s.cost_cents),
                "requests": s.requests,
                "share": s.share,
            }
            for s in found
        ]

    return {
        "title": board.title,
        "time_zone": board.time_zone,
        "first_day": board.first_day.isoformat(),
        "last_day": board.last_day.isoformat(),
        "complete": board.complete,
        "spend_usd": usd(board.spend_cents),
        "previous": {
            "first_day": board.previous_first_day.isoformat(),
            "last_day": board.previous_last_day.isoformat(),
            "spend_usd": usd(board.previous_spend_cents),
        },
        "change": board.change,
        "requests": board.requests,
        "unpriced_requests": board.unpriced_requests,
        "error_rate": board.error_rate,
        "p95_latency_ms": board.p95_latency_ms,
        "tokens": dict(board.tokens),
        "month_end": estimate(board.month_end),
        "forecast_note": board.forecast_note,
        "budgets": [
            {
                "name": g.name,
                "period": g.period,
                "state": g.state,
                "spent_usd": usd(g.spent_cents),
                "amount_usd": usd(g.amount_cents),
                "percent": float(g.percent),
                "forecast": estimate(g.forecast),
            }
            for g in board.budgets
        ],
        "daily_by_model": {
            "days": [day.isoformat() for day in board.days],
            "models": {n: [usd(c) for c in cents] for n, cents in board.daily_by_model.items()},
        },
        "top_models": shares(board.top_models),
        "top_users": shares(board.top_users),
        "insights": [
            {"kind": i.kind, "severity": i.severity, "text": i.text} for i in board.insights
        ],
    }


def _can_write(path: Path) -> None:
    """An InputError unless a file can be written where `path` is, as the report will be:
    a temporary file beside it, renamed over it (a folder is not overwritten)."""
    import tempfile

    from chatvault.errors import InputError

    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a directory")
    try:
        with tempfile.NamedTemporaryFile(prefix=f".{path.name}.", suffix=".part", dir=path.parent):
            pass
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None


def show(board: Dashboard) -> None:
    """The dashboard on stdout: panels and colours on a terminal, plain text otherwise."""
    from chatvault.cli.output import draw, stdout_console

    console = stdout_console(PIPED_WIDTH)
    draw(console, *_parts(board, console))


def _parts(board: Dashboard, console: Console) -> list[RenderableType]:
    from rich import box
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    plain = console.no_color or not console.is_terminal
    frame = box.ASCII if plain else box.ROUNDED
    header = Panel(_headline(board), title=Text(board.title), box=frame, title_align="left")
    side_by_side = console.width >= 110
    room = console.width * 3 // 5 - 4 if side_by_side else console.width - 4
    chart = Panel(_chart(board, plain, room), title=Text("Daily cost by model"), box=frame)
    budgets = Panel(_budgets(board, plain), title=Text("Budgets"), box=frame)
    middle: RenderableType
    if side_by_side:
        middle = Table.grid(expand=True, padding=(0, 1))
        middle.add_column(ratio=3)
        middle.add_column(ratio=2)
        middle.add_row(chart, budgets)
    else:
        middle = Table.grid(expand=True)
        middle.add_row(chart)
        middle.add_row(budgets)
    insights = Panel(_insights(board), title=Text(board.insights_title), box=frame)
    return [header, middle, *_tops(board, frame, console, side_by_side), insights]


def _tops(board: Dashboard, frame, console: Console, wide: bool) -> list[RenderableType]:
    """Top models, top users, tokens and quality: side by side on a wide screen; narrower,
    as many beside each other as fit whole, so no name is cut to fit a share of the width."""
    from rich.measure import Measurement
    from rich.table import Table

    tables = [
        _top("Top models", board.top_models, frame, wide),
        _top("Top users", board.top_users, frame, wide),
        _quality(board, frame, wide),
    ]
    if wide:
        row = Table.grid(padding=(0, 2), expand=True)
        row.add_row(*tables)
        return [row]
    rows: list[list[RenderableType]] = [[]]
    used = 0
    for table in tables:
        width = Measurement.get(console, console.options, table).maximum
        if rows[-1] and used + GAP + width > console.width:
            rows.append([])
            used = 0
        used += width + (GAP if rows[-1] else 0)
        rows[-1].append(table)
    grids = []
    for tables_in_row in rows:
        grid = Table.grid(padding=(0, GAP))
        grid.add_row(*tables_in_row)
        grids.append(grid)
    return grids


def _usd(cents) -> str:
    from chatvault.money import usd_rounded

    return "unpriced" if cents is None else usd_rounded(cents)


def _headline(board: Dashboard):
    from rich.text import Text

    change = "n/a" if board.change is None else f"{board.change:+.1%}"
    text = Text()
    text.append(f"{board.first_day} to {board.last_day} ({board.time_zone})   ")
    text.append("Spend ", style="bold")
    text.append(_usd(board.spend_cents), style="bold")
    text.append(
        f"   vs {_usd(board.previous_spend_cents)} for {board.previous_first_day} to "
        f"{board.previous_last_day} ({change})\n"
    )
    if board.month_end is not None:
        end = board.month_end
        text.append("Month end ", style="bold")
        text.append(f"{_usd(end.cents)} ({LEVEL_LABEL}: {_usd(end.lower)} to {_usd(end.upper)})")
    else:
        text.append(f"Month end: {board.forecast_note}")
    if board.unpriced_requests:
        text.append(f"   {board.unpriced_requests:,} requests unpriced (cost unknown)",
                    style="yellow")  # fmt: skip
    return text


def _chart(board: Dashboard, plain: bool, room: int):
    """The last days that fit in `room` columns, stacked by model."""
    from rich.text import Text

    from chatvault.render.chart import stacked_columns

    names = list(board.daily_by_model)
    shown = board.days[-max(room - 10, 7) :]
    bar = min(3, max(1, (room - 10) // len(shown)))  # characters per day
    series = [[float(c) / 100 for c in board.daily_by_model[n][-len(shown) :]] for n in names]
    grid = stacked_columns(series, CHART_HEIGHT) if series else []
    top = max((sum(day) for day in zip(*series, strict=True)), default=0.0)
    text = Text()
    for r, row in enumerate(grid):
        label = f"${top:,.0f}" if r == 0 else "$0" if r == len(grid) - 1 else ""
        text.append(f"{label:>7} ")
        for cell in row:
            if cell is None:
                text.append(" " * bar)
            else:
                k = min(cell, len(COLOURS) - 1)
                mark = MARKS[k] if plain else "█"
                text.append(mark * bar, style=None if plain else COLOURS[k])
        text.append("\n")
    text.append(f"{'':>8}{shown[0]} .. {shown[-1]}\n")
    used = 0  # the legend: lines break between entries, a mark stays with its name
    for k, name in enumerate(names):
        mark = MARKS[min(k, len(MARKS) - 1)] if plain else "■"
        if used and used + 3 + len(name) > room:
            text.append("\n")
            used = 0
        text.append(f" {mark} ", style=None if plain else COLOURS[min(k, len(COLOURS) - 1)])
        text.append(name)
        used += 3 + len(name)
    return text


def _budgets(board: Dashboard, plain: bool):
    from rich.text import Text

    text = Text()
    if not board.budgets:
        text.append("no budgets configured (docs/budgets.md)")
    for g in board.budgets:
        width = 12
        filled = min(width, round(float(g.percent) / 100 * width))
        full, empty = ("#", "-") if plain else ("█", "░")
        text.append(f"{g.name[:12]:<12} [")
        text.append(full * filled, style=STATE_STYLES.get(g.state))
        text.append(f"{empty * (width - filled)}] {g.percent:>4.0f}% ")
        text.append(f"{g.state}\n", style=STATE_STYLES.get(g.state))
        text.append(f"{'':13}{_usd(g.spent_cents)} of {_usd(g.amount_cents)}")
        if g.forecast is not None:
            text.append(f", end {_usd(g.forecast.cents)}")
        text.append("\n")
    return text


def _top(title: str, shares: list[Share], frame, expand: bool):
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, box=frame, expand=expand, title_justify="left")
    table.add_column("name", overflow="ellipsis", no_wrap=True, ratio=1)
    table.add_column("cost", justify="right", no_wrap=True)
    table.add_column("share", justify="right", no_wrap=True)
    for s in shares:
        share = "-" if s.share is None else f"{s.share:.0%}"
        table.add_row(Text(s.name), _usd(s.cost_cents), share)  # a name is not markup
    return table


def _quality(board: Dashboard, frame, expand: bool):
    from rich.table import Table

    table = Table(title="Tokens and quality", box=frame, expand=expand, title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    total = sum(board.tokens.values()) or 1
    for name, count in board.tokens.items():
        table.add_row(f"{name.replace('_', ' ')} tokens", f"{count:,} ({count / total:.0%})")
    table.add_row("requests", f"{board.requests:,}")
    rate = "-" if board.error_rate is None else f"{board.error_rate:.1%}"
    table.add_row("error rate", rate)
    p95 = "-" if board.p95_latency_ms is None else f"{board.p95_latency_ms:,.0f} ms"
    table.add_row("p95 latency", p95)
    return table


def _insights(board: Dashboard):
    from rich.text import Text

    text = Text()
    if not board.insights:
        text.append("nothing unusual")
    for i, insight in enumerate(board.insights):
        style = "yellow" if insight.severity == "warning" else None
        text.append(("\n" if i else "") + f"- {insight.text}", style=style)
    return text
