"""The read API: each endpoint is a CLI command's document, built by the same function
(cli/usage.py, cli/budget.py, cli/dashboard.py, cli/costs.py), from query parameters named
as the command's options."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chatvault.serve.params import FILTER_PARAMS, Param, Query

if TYPE_CHECKING:
    from chatvault.cli.output import Result
    from chatvault.session import Session


@dataclass(frozen=True)
class Endpoint:
    path: str
    summary: str
    schema: str  # the JSON document's schema id
    params: tuple[Param, ...]
    build: Callable[[Session, Query], Result]
    csv: bool = False  # ?format=csv streams the CSV the command writes


def _usage(session: Session, q: Query) -> Result:
    from chatvault.cli.usage import usage_result

    return usage_result(
        session,
        q.filters(),
        q.text("group_by"),
        q.text("sort"),
        q.boolean("reverse"),
        q.integer("limit"),
        q.integer("page", 1),
    )


def _logs(session: Session, q: Query) -> Result:
    from chatvault.cli.usage import logs_result

    return logs_result(
        session, q.filters(), q.integer("limit", 50), q.integer("page", 1), q.integer("after")
    )


def _insights(session: Session, q: Query) -> Result:
    from chatvault.cli.usage import insights_result

    return insights_result(session, q.filters(), q.integer("limit", 8))


def _budget(session: Session, q: Query) -> Result:
    from chatvault.cli.budget import budget_result

    return budget_result(session, q.texts("budget"))


def dashboard_data(session: Session, q: Query) -> Any:
    from chatvault.reports.dashboard import build

    return build(session, q.filters().rows(session), q.text("period", "this-month"))


def _dashboard(session: Session, q: Query) -> Result:
    from chatvault.cli.dashboard import DASHBOARD_SCHEMA, dashboard_document
    from chatvault.cli.output import Result

    board = dashboard_data(session, q)
    return Result(lambda: None, dashboard_document(board), DASHBOARD_SCHEMA)


def _predictions(session: Session, q: Query) -> Result:
    """`costs predict`, built as the command builds it."""
    from chatvault.cli import costs

    method = q.choice("method", "auto")
    days, to = q.integer("days"), q.text("to")
    back = costs.checked(method, days, to, q.text("history", f"{costs.HISTORY_DAYS}d"))
    level = q.number("level", costs.LEVEL)
    rows = q.filters().rows(session)
    return costs.predict_result(session, rows, back, days, to, method, level)[0]


def _group_by_help() -> str:
    from chatvault.cli.usage import GROUPS

    return f"One or two of {', '.join(GROUPS)}, comma separated (e.g. day,model)"


def _sort_keys() -> tuple[str, ...]:
    from chatvault.cli.usage import SORT_KEYS

    return SORT_KEYS


def _methods() -> tuple[str, ...]:
    from chatvault.forecast import METHODS

    return tuple(METHODS)


PAGE = Param("page", "integer", "Which page of `limit` rows", minimum=1)
FORMAT = Param("format", "string", "json (default) or csv", choices=("json", "csv"))
RAW = Param("raw", "boolean", "CSV: text cells as stored, without defusing formulas")
DAYS_FILTERS = tuple(p for p in FILTER_PARAMS if p.name not in ("since", "until"))


def endpoints() -> list[Endpoint]:
    return [
        Endpoint(
            "/v1/usage",
            "Usage and cost, filtered and grouped, with totals (`chatvault usage`)",
            "chatvault.usage/1",
            (
                *FILTER_PARAMS,
                Param("group_by", "string", _group_by_help()),
                Param("sort", "string", "Sort key", choices=_sort_keys()),
                Param("reverse", "boolean", "Reverse the order"),
                Param("limit", "integer", "Rows per page [default: all]", minimum=1),
                PAGE,
                FORMAT,
                RAW,
            ),
            _usage,
            csv=True,
        ),
        Endpoint(
            "/v1/usage/logs",
            "The raw usage rows, newest first (`chatvault usage logs`)",
            "chatvault.usage.logs/1",
            (
                *FILTER_PARAMS,
                Param("limit", "integer", "Rows per page", minimum=1, maximum=10_000),
                PAGE,
                Param("after", "integer", "Continue after the row with this id", minimum=0),
                FORMAT,
                RAW,
            ),
            _logs,
            csv=True,
        ),
        Endpoint(
            "/v1/usage/insights",
            "What changed this week (`chatvault usage insights`)",
            "chatvault.usage.insights/1",
            (*DAYS_FILTERS, Param("limit", "integer", "At most this many", minimum=1)),
            _insights,
        ),
        Endpoint(
            "/v1/usage/predictions",
            "The forecast of daily spend, the horizon and the month end (`costs predict`)",
            "chatvault.forecast/1",
            (
                *DAYS_FILTERS,
                Param("days", "integer", "Days to forecast, today first", minimum=1, maximum=366),
                Param("to", "string", "Forecast through this day: end-of-month or YYYY-MM-DD"),
                Param("method", "string", "Forecast method", choices=_methods()),
                Param("level", "number", "Coverage of the intervals", minimum=0.5, maximum=0.99),
                Param("history", "string", "Complete days to learn from: N[d|w]"),
            ),
            _predictions,
        ),
        Endpoint(
            "/v1/costs/budget",
            "Every budget's status (`chatvault costs budget`)",
            "chatvault.budget/1",
            (Param("budget", "string", "Only this budget", repeatable=True),),
            _budget,
        ),
        Endpoint(
            "/v1/costs/dashboard",
            "The dashboard's data (`chatvault costs dashboard`)",
            "chatvault.dashboard/1",
            (*DAYS_FILTERS, Param("period", "string", "this-month, last-month, 30d, ...")),
            _dashboard,
        ),
    ]
