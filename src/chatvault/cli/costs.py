"""`chatvault costs`: what the coming days will cost (`predict`); budgets (cli/budget.py)."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chatvault.cli.common import Where, info, new_app, open_session, with_database
from chatvault.cli.filters import Filters, with_filters
from chatvault.cli.output import FormatOpt, Result, TableOrJson, emit, table
from chatvault.errors import InputError
from chatvault.forecast import (
    BACKTEST_HORIZON_DAYS,
    BACKTEST_STEP_DAYS,
    HISTORY_DAYS,
    LEVEL,
    METHODS,
)

if TYPE_CHECKING:
    from chatvault.db.filters import UsageFilter
    from chatvault.forecast.backtest import MethodScore
    from chatvault.forecast.spend import Estimate, History, Projection
    from chatvault.forecast.stored import Prediction
    from chatvault.session import Session

# The group's commands, in --help's order, as the root lists its own (cli/app.py): the module
# in chatvault.cli and the function, or None for a group whose module's `app` it is. A command
# line that names one gets a group holding just that one.
COMMANDS: dict[str, tuple[str, str | None]] = {
    "budget": ("budget", None),
    "dashboard": ("dashboard", "dashboard"),
    "predict": ("costs", "predict"),
}
CHART_DAYS = 60  # columns of the chart: the forecast, and as much history as fits


def make_group(names: list[str]) -> typer.Typer:
    """The group with these of its commands."""
    from importlib import import_module

    group = new_app("Cost forecasts, budgets and the dashboard.")
    for name in names:
        module_name, function = COMMANDS[name]
        module = import_module(f"chatvault.cli.{module_name}")
        if function is None:
            group.add_typer(module.app, name=name)
        else:
            group.command(name)(getattr(module, function))
    return group


def __getattr__(name: str) -> Any:
    if name == "app":
        return make_group(list(COMMANDS))
    raise AttributeError(name)


@with_filters(span=False)
@with_database
def predict(
    ctx: typer.Context,
    days: Annotated[
        int | None,
        typer.Option(
            "--days",
            "-d",
            metavar="N",
            min=1,
            max=366,
            help="Days to forecast, today first "
            "[default: the config's cost_prediction.prediction_window_days, 30].",
            show_default=False,
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to", metavar="DATE", help="Forecast through this day: end-of-month or YYYY-MM-DD."
        ),
    ] = None,
    method: Annotated[
        str,
        typer.Option("--method", "-m", metavar="METHOD", help=f"{'|'.join(METHODS)}."),
    ] = "auto",
    level: Annotated[
        float,
        typer.Option(
            "--level",
            metavar="P",
            min=0.5,
            max=0.99,
            help="Coverage of the prediction intervals (0.5-0.99).",
        ),
    ] = LEVEL,
    history: Annotated[
        str,
        typer.Option(
            "--history", metavar="N[d|w]", help="Complete days before today to learn from."
        ),
    ] = f"{HISTORY_DAYS}d",
    backtest: Annotated[
        bool,
        typer.Option(
            "--backtest",
            help="Score every method on your own history instead (origins every "
            f"{BACKTEST_STEP_DAYS} days, {BACKTEST_HORIZON_DAYS} days ahead).",
        ),
    ] = False,
    filters: Filters = Filters(),
    output: FormatOpt = TableOrJson.table,
    where: Where = Where(),
) -> None:
    """Forecast daily spend, the horizon's total and the month's end, with intervals."""
    from chatvault.forecast import spend

    back = checked(method, days, to, history)
    with open_session(ctx, where, filters.tz) as session:
        rows = filters.rows(session)
        if backtest:
            zone, echo = session.zone.key, _echo(session, rows)
            try:
                found, scores = spend.backtest(session, rows, back, level)
            except spend.TooLittleHistory as exc:
                raise InputError(f"{exc.message} (widen --history or the filters)") from None
            emit(
                Result(
                    lambda: _backtest_table(found, scores, level, zone),
                    _backtest_json(echo, level, found, scores),
                    "chatvault.forecast.backtest/1",
                ),
                output,
            )
            return
        result, warnings = predict_result(session, rows, back, days, to, method, level)
    for warning in warnings:
        info(f"warning: {warning}")
    emit(result, output)


def checked(method: str, days: int | None, to: str | None, history: str) -> int:
    """`costs predict`'s options that need no database, checked; the history in days."""
    if method not in METHODS:
        raise InputError(f"--method {method!r}: use one of {', '.join(METHODS)}")
    if days is not None and to is not None:
        raise InputError("--days and --to both set the horizon: give one")
    return _days(history)


def predict_result(
    session: Session,
    rows: UsageFilter,
    back: int,
    days: int | None,
    to: str | None,
    method: str,
    level: float,
) -> tuple[Result, list[str]]:
    """`costs predict` on a session (options `checked`): what the command shows and what
    `chatvault serve` answers, and the warnings to say on the way."""
    from chatvault.forecast import spend

    today = session.today()
    window = session.config.cost_calculation.cost_prediction.prediction_window_days
    try:
        horizon = spend.horizon_to(_last_day(to, today), today) if to else days or window
        projection = spend.project(session, rows, back, horizon, method, level)
    except spend.TooLittleHistory as exc:
        raise InputError(f"{exc.message} (widen --history or the filters)") from None
    zone = session.zone.key
    document = _json(_echo(session, rows), method, projection)
    show = lambda: _show(projection, zone)  # noqa: E731
    return Result(show, document, "chatvault.forecast/1"), list(projection.warnings)


def _echo(session: Session, rows: UsageFilter) -> dict[str, Any]:
    today = session.today().isoformat()
    return {"time_zone": session.zone.key, "today": today, "filters": rows.echo()}


def _days(text: str) -> int:
    found = re.fullmatch(r"\s*(\d+)\s*([dw]?)\s*", text.lower())
    days = int(found[1]) * (7 if found[2] == "w" else 1) if found else 0
    if not 2 <= days <= 3660:
        raise InputError(f"--history {text!r}: give a number of days or weeks, e.g. 90d, 12w")
    return days


def _last_day(text: str, today: date) -> date:
    from chatvault.forecast.spend import month_end_of

    if text.strip().lower() == "end-of-month":
        return month_end_of(today)
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"--to {text!r}: give end-of-month or a date, e.g. 2026-12-31") from None


def _money(cents: Any) -> str:
    from chatvault.money import dollars

    return dollars(cents)


def _estimate(estimate: Estimate) -> dict[str, str]:
    return {
        "forecast_usd": _money(estimate.cents),
        "lower_usd": _money(estimate.lower),
        "upper_usd": _money(estimate.upper),
    }


def _history(found: History) -> dict[str, Any]:
    return {
        "first_day": found.first.isoformat(),
        "last_day": found.last.isoformat(),
        "days": len(found.cents),
        "spend_usd": _money(found.total_cents),
        "unpriced_requests": found.unpriced_requests,
    }


def _json(echo: dict[str, Any], asked: str, p: Projection) -> dict[str, Any]:
    fc = p.forecast
    return {
        **echo,
        "level": fc.level,
        "method_requested": asked,
        "method": fc.method,
        "reason": fc.reason,
        "calibrated": fc.calibrated,
        "daily_scale": round(fc.daily_scale, 3),
        "total_scale": round(fc.total_scale, 3),
        "fit_window": {
            "first_day": fc.fit_start.isoformat(),
            "last_day": p.history.last.isoformat(),
            "days": (p.history.last - fc.fit_start).days + 1,
            "level_shift": fc.level_shift,
            "one_off_days": fc.one_offs,
        },
        "history": _history(p.history),
        "warnings": list(p.warnings),
        "daily": [{"date": day.isoformat(), **_estimate(e)} for day, e in p.daily],
        "total": {
            "days": p.days,
            "first_day": p.daily[0][0].isoformat(),
            "last_day": p.daily[-1][0].isoformat(),
            **_estimate(p.total),
        },
        "month_end": {
            "month": p.period_start.strftime("%Y-%m"),
            "actual_to_date_usd": _money(p.to_date_cents),
            "remaining_days": p.remaining_days,
            **_estimate(p.period_end),
        },
    }


def _show(p: Projection, zone: str) -> None:
    import sys

    from chatvault.money import usd_rounded as usd

    fc, found, percent = p.forecast, p.history, f"{p.forecast.level:.0%}"
    last = p.daily[-1][0]
    print(f"Forecast of daily spend, {p.today} to {last} ({p.days} days), {percent} intervals")
    print(f"method: {fc.method}: {fc.reason}")
    print(_calibration_line(fc))
    if fc.level_shift:
        print(f"level shift found: fitted from {fc.fit_start} on, the days since the shift")
    if fc.one_offs:
        print(f"{fc.one_offs} day(s) set aside as one-off spikes, dips or spells (not learnt from)")
    unpriced = found.unpriced_requests
    print(
        f"history: {found.first} to {found.last}, {len(found.cents)} complete days in {zone}, "
        f"{usd(found.total_cents)}"
        + (f"; {unpriced:,} unpriced requests not counted" if unpriced else "")
    )
    print()
    _chart(p, ascii_only=not sys.stdout.isatty())
    print()
    rows = [[day.isoformat(), usd(e.cents), usd(e.lower), usd(e.upper)] for day, e in p.daily]
    total = ["total", usd(p.total.cents), usd(p.total.lower), usd(p.total.upper)]
    heads = ["day", "forecast", f"{percent} low", f"{percent} high"]
    table(heads, rows, footer=total, right=heads[1:])
    if fc.total(p.days)[0] - sum(fc.mean[: p.days]) >= 1:  # in cents
        print("the total is the days' expected sum: each day shows its median, which is lower")
    end = p.period_end
    print(
        f"{p.period_start:%B %Y} month end: {usd(end.cents)} ({percent}: {usd(end.lower)} to "
        f"{usd(end.upper)}) = {usd(p.to_date_cents)} to date + the forecast of the "
        f"remaining {p.remaining_days} day(s)"
    )


def _calibration_line(fc: Prediction) -> str:
    if not fc.calibrated:
        return "intervals as the model gives them (not calibrated: too little history)"
    scales = f"daily x{fc.daily_scale:.2f}, totals x{fc.total_scale:.2f}"
    if fc.daily_scale == fc.total_scale == 1.0:
        return f"intervals kept as the model gives them ({scales}): its backtest agreed"
    return f"intervals scaled to this series' own backtest errors (calibrated: {scales})"


def _chart(p: Projection, ascii_only: bool) -> None:
    from chatvault.render.chart import day_columns

    shown = p.daily[:CHART_DAYS]
    room = CHART_DAYS - len(shown)
    past = [float(c) / 100 for c in p.history.cents[-room:]] if room else []
    mean = [float(e.cents) / 100 for _, e in shown]
    high = [float(e.upper) / 100 for _, e in shown]
    top = max([*past, *high, 0.0])
    lines = day_columns(past, mean, high, ascii_only=ascii_only)
    for i, line in enumerate(lines):
        label = f"${top:,.0f}" if i == 0 else ""
        print(f"{label:>9} |{line}")
    print(f"{'':>9} +{'-' * (len(past) + len(mean))}")
    marks = "#=:" if ascii_only else "█▓░"
    legend = f"{marks[0]} actual  {marks[1]} forecast  {marks[2]} interval"
    print(f"{'':>11}{len(past)} days to {p.history.last}, then {len(mean)} forecast   {legend}")


def _score(value: float, percent: bool = False) -> Any:
    import math

    if math.isnan(value):
        return None
    return round(value * 100, 1) if percent else round(value, 3)


def _backtest_json(
    echo: dict[str, Any], level: float, found: History, scores: list[MethodScore]
) -> dict[str, Any]:
    return {
        **echo,
        "level": level,
        "horizon_days": BACKTEST_HORIZON_DAYS,
        "origin_step_days": BACKTEST_STEP_DAYS,
        "history": _history(found),
        "methods": [
            {
                "method": s.method,
                "origins": s.origins,
                "days": s.days,
                "mase": _score(s.mase),
                "relative_mase": _score(s.relative_mase),
                "smape": _score(s.smape),
                "coverage": _score(s.coverage),
                "month_ends": s.month_ends,
                "month_end_error": _score(s.month_end_error),
                "month_end_coverage": _score(s.month_end_coverage),
            }
            for s in scores
        ],
    }


def _backtest_table(found: History, scores: list[MethodScore], level: float, zone: str) -> None:

    def cell(value: float, percent: bool = False) -> str:
        shown = _score(value, percent)
        return "-" if shown is None else f"{shown}%" if percent else f"{shown:.3f}"

    print(
        f"Backtest on {found.first} to {found.last} ({len(found.cents)} days, {zone}): origins "
        f"every {BACKTEST_STEP_DAYS} days, {BACKTEST_HORIZON_DAYS} days ahead, {level:.0%} "
        "intervals"
    )
    heads = ["method", "origins", "MASE", "vs seasonal-naive", "sMAPE", "coverage"]
    heads += ["month ends", "month-end error", "month-end coverage"]
    rows = [
        [
            s.method,
            str(s.origins),
            cell(s.mase),
            cell(s.relative_mase),
            cell(s.smape, True),
            cell(s.coverage, True),
            str(s.month_ends),
            cell(s.month_end_error, True),
            cell(s.month_end_coverage, True),
        ]
        for s in scores
    ]
    table(heads, rows, right=heads[1:])
