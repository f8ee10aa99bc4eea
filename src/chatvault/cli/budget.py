"""`chatvault costs budget`: every budget's status; `budget check`: the same for cron, with
alerts sent once and the monitoring-plugin exit codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chatvault.cli.common import Where, new_app, open_session, with_database
from chatvault.cli.output import FormatOpt, Result, TableOrJson, emit
from chatvault.errors import ChatvaultError, ConfigError
from chatvault.forecast import LEVEL_LABEL

if TYPE_CHECKING:
    from datetime import datetime

    from chatvault.budgets.alerting import Outcome
    from chatvault.budgets.status import Status
    from chatvault.config import Settings
    from chatvault.session import Session

app = new_app("Budgets: status, and checks for cron.", no_args_is_help=False)
GAUGE = 20  # characters of the percent-used bar
CHECK_SCHEMA = "chatvault.budget.check/1"


class CheckFormat(StrEnum):
    text = "text"
    json = "json"


BudgetOpt = Annotated[
    list[str] | None,
    typer.Option("--budget", "-b", metavar="NAME", help="Only this budget (repeatable)."),
]


@app.callback(invoke_without_command=True)
@with_database
def budget(
    ctx: typer.Context,
    names: BudgetOpt = None,
    output: FormatOpt = TableOrJson.table,
    where: Where = Where(),
) -> None:
    """Every budget: its period, spend so far, projected end, thresholds crossed, state."""
    if ctx.invoked_subcommand is not None:
        return
    with open_session(ctx, where) as session:
        result = budget_result(session, names)
    emit(result, output)


def budget_result(session: Session, names: list[str] | None = None) -> Result:
    """`costs budget` on a session: every budget's status; nothing is sent or recorded."""
    from chatvault.budgets.alerting import check

    outcomes = check(session, _chosen(session.settings, names), False, False)
    document = {"budgets": [_record(o) for o in outcomes]}
    return Result(lambda: _table(outcomes), document, "chatvault.budget/1")


@app.command("check")
@with_database
def check(
    ctx: typer.Context,
    names: BudgetOpt = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="Print nothing unless an alert was sent or failed, or UNKNOWN."
        ),
    ] = False,
    output: Annotated[
        CheckFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = CheckFormat.text,
    no_notify: Annotated[
        bool, typer.Option("--no-notify", help="Evaluate only: send and record nothing.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show what would be sent; send and record nothing."),
    ] = False,
    where: Where = Where(),
) -> None:
    """Check the budgets for cron: alert once per threshold crossed, exit 0/1/2/3."""
    from chatvault.budgets import alerting
    from chatvault.budgets.status import STATES

    try:
        with open_session(ctx, where) as session:
            budgets = _chosen(session.settings, names)
            outcomes = alerting.check(session, budgets, not no_notify, not dry_run)
    except Exception as exc:  # could not check at all: UNKNOWN, said on stdout for cron
        from chatvault.db.engine import query_failure

        known = exc if isinstance(exc, ChatvaultError) else query_failure(exc)
        if known is None:
            raise
        _unknown(str(known), output)
        raise typer.Exit(STATES.index("UNKNOWN")) from None
    state = alerting.worst(outcomes)

    def show() -> None:
        if not quiet or state == "UNKNOWN" or any(o.deliveries for o in outcomes):
            for line in _check_lines(state, outcomes):
                print(line)

    emit(Result(show, _check_json(state, outcomes, session.now), CHECK_SCHEMA), output)
    raise typer.Exit(STATES.index(state))


def _chosen(current: Settings, names: list[str] | None) -> list:
    budgets = list(current.config.budgets)
    if not budgets:
        from chatvault.paths import demo_export

        export = None if current.config_file else demo_export()
        if export:  # a command `chatvault demo` suggested, run without its `export` line
            raise ConfigError("no budgets configured; `chatvault demo` made some", fix=export)
        raise ConfigError(
            "no budgets configured (add a budgets: list to the config file; see docs/budgets.md)"
        )
    if not names:
        return budgets
    by_name = {b.name.lower(): b for b in budgets}
    unknown = [n for n in names if n.lower() not in by_name]
    if unknown:
        known = ", ".join(b.name for b in budgets)
        raise ConfigError(f"no budget named {unknown[0]!r} (configured: {known})")
    return [by_name[n.lower()] for n in names]


def _unknown(reason: str, output: CheckFormat) -> None:
    from chatvault.redact import redact

    reason = redact(" ".join(reason.split()))
    document = {"state": "UNKNOWN", "exit_code": 3, "error": reason, "budgets": []}
    line = f"BUDGET UNKNOWN - could not check: {reason}"
    emit(Result(lambda: print(line), document, CHECK_SCHEMA), output)


def _check_lines(state: str, outcomes: list[Outcome]) -> list[str]:
    """The monitoring-plugin first line (summary | perfdata), then one line per budget and
    per notification."""
    from chatvault.budgets.alerting import summary
    from chatvault.budgets.status import STATES

    ordered = sorted(outcomes, key=lambda o: -STATES.index(o.state))
    parts = [
        f"{o.budget.name} could not be checked: {o.error}"
        if o.status is None
        else summary(o.status)
        for o in ordered
    ]
    perf = " ".join(_perfdata(o.status) for o in outcomes if o.status is not None)
    lines = [f"BUDGET {state} - {'; '.join(parts)}" + (f" | {perf}" if perf else "")]
    for o in outcomes:
        lines.append(f"{o.budget.name}: {o.state}: {_detail(o)}")
        for d in o.deliveries:
            what = ", ".join(d.crossed)
            if d.error is None:
                lines.append(f"  sent to {d.channel}: {what}")
            else:
                lines.append(f"  NOT sent to {d.channel} ({what}): {d.error}; retry after "
                             f"{d.retry_at:%Y-%m-%d %H:%M} UTC")  # fmt: skip
        for d in o.failing:  # failed before, retried later: until delivered, said every time
            lines.append(f"  still NOT sent to {d.channel} ({', '.join(d.crossed)}): {d.error}; "
                         f"retry after {d.retry_at:%Y-%m-%d %H:%M} UTC")  # fmt: skip
        if o.pending:
            lines.append(f"  not sent ({o.held_back_by}): {', '.join(o.pending)}")
    return lines


def _detail(o: Outcome) -> str:
    from chatvault.money import usd_rounded as usd

    if o.status is None:
        return f"could not check: {o.error}"
    s, p = o.status, o.status.period
    text = (
        f"{p.kind} {p.start} to {p.last} ({p.zone.key}): spent {usd(s.spent_cents)} of "
        f"{usd(s.amount_cents)} ({s.percent:.1f}%), remaining {usd(s.remaining_cents)}"
    )
    if s.projection is not None:
        e = s.projection
        text += f"; forecast {usd(e.cents)} ({LEVEL_LABEL}: {usd(e.lower)}-{usd(e.upper)})"
    else:
        text += f"; no forecast ({s.no_projection})"
    crossed = ", ".join(f"{t:f}%" for t in s.crossed)
    return text + (f"; crossed {crossed}" if crossed else "")


def _perfdata(s: Status) -> str:
    """'name'=spent;warn;crit;0;amount in USD: warn at the first threshold under 100%."""
    amount = s.amount_cents / 100
    warn = next((amount * t / 100 for t in s.thresholds if t < 100), None)
    name = s.budget.name.replace("'", "")
    return (
        f"'{name}'={s.spent_cents / 100:.2f};{'' if warn is None else f'{warn:.2f}'};"
        f"{amount:.2f};0;{amount:.2f}"
    )


def _record(o: Outcome) -> dict[str, Any]:
    from chatvault.budgets.alerting import status_json

    record: dict[str, Any] = {"name": o.budget.name, "state": o.state, "error": o.error}
    if o.status is not None:
        record.update(status_json(o.status), state=o.state)
    return record


def _check_json(state: str, outcomes: list[Outcome], checked_at: datetime) -> dict[str, Any]:
    from chatvault.budgets.status import STATES

    budgets = []
    for o in outcomes:
        record = _record(o)
        record["notifications"] = [
            {
                "channel": d.channel,
                "announced": d.crossed,
                "sent": d.error is None,
                "error": d.error,
                "retry_after": None if d.retry_at is None else d.retry_at.isoformat(),
            }
            for d in o.deliveries
        ]
        record["failing"] = [
            {
                "channel": d.channel,
                "announced": d.crossed,
                "error": d.error,
                "retry_after": None if d.retry_at is None else d.retry_at.isoformat(),
            }
            for d in o.failing
        ]
        record["not_sent"] = o.pending
        budgets.append(record)
    return {
        "state": state,
        "exit_code": STATES.index(state),
        "checked_at": checked_at.isoformat(),
        "budgets": budgets,
    }


def _table(outcomes: list[Outcome]) -> None:
    import sys

    from chatvault.cli.output import table
    from chatvault.money import usd_rounded as usd

    ascii_only = not sys.stdout.isatty()
    rows = []
    for o in outcomes:
        s = o.status
        if s is None:
            rows.append([o.budget.name, "-", "-", "-", "-", "-", "-", f"UNKNOWN: {o.error}"])
            continue
        e = s.projection
        rows.append(
            [
                o.budget.name,
                f"{s.period.kind} {s.period.start} to {s.period.last} ({s.period.zone.key})",
                usd(s.spent_cents),
                f"{_gauge(float(s.percent), ascii_only)} {s.percent:.0f}%",
                usd(s.remaining_cents),
                "-" if e is None else f"{usd(e.cents)} ({usd(e.lower)}-{usd(e.upper)})",
                ", ".join(f"{t:f}%" for t in s.crossed) or "-",
                o.state,
            ]
        )
    heads = ["budget", "period", "spent", "used", "remaining", f"forecast ({LEVEL_LABEL})"]
    heads.append("crossed")
    table([*heads, "state"], rows, right=["spent", "remaining"])


def _gauge(percent: float, ascii_only: bool) -> str:
    filled = min(GAUGE, round(percent / 100 * GAUGE))
    full, empty = ("#", "-") if ascii_only else ("█", "░")
    return f"[{full * filled}{empty * (GAUGE - filled)}]"
