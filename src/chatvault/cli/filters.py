"""The row filters `usage`, `usage logs` and `export` share, as option aliases, and the one
function that turns them into a UsageFilter in the report's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from chatvault.errors import InputError

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from chatvault.db.filters import UsageFilter

FILTERS = "Filters"
_WHEN = (
    "ISO date or time, 24h, 7d, 2w, 3mo, today, yesterday, this-week, last-week, "
    "this-month, last-month"
)


def _many(name: str, metavar: str, what: str) -> typer.models.OptionInfo:
    return typer.Option(
        name,
        metavar=metavar,
        help=f"Only {what} (* and ? globs; repeatable).",
        rich_help_panel=FILTERS,
    )


SinceOpt = Annotated[
    str | None,
    typer.Option(
        "--since",
        metavar="WHEN",
        help=f"From this time on, inclusive: {_WHEN}.",
        rich_help_panel=FILTERS,
    ),
]
UntilOpt = Annotated[
    str | None,
    typer.Option(
        "--until",
        metavar="WHEN",
        help="Before this time, exclusive (same forms).",
        rich_help_panel=FILTERS,
    ),
]
ModelOpt = Annotated[list[str] | None, _many("--model", "GLOB", "these models")]
UserOpt = Annotated[list[str] | None, _many("--user", "GLOB", "these users")]
ProviderOpt = Annotated[list[str] | None, _many("--provider", "GLOB", "these providers")]
ProjectOpt = Annotated[list[str] | None, _many("--project", "GLOB", "these projects")]
StatusOpt = Annotated[
    list[str] | None, _many("--status", "STATUS", "these statuses (success, error)")
]
BillableOpt = Annotated[
    bool,
    typer.Option(
        "--billable/--all", help="Only billable rows, or all rows.", rich_help_panel=FILTERS
    ),
]
TzOpt = Annotated[
    str | None,
    typer.Option(
        "--tz",
        metavar="ZONE",
        help="IANA time zone of dates and day/week/month boundaries [default: the config's].",
        rich_help_panel=FILTERS,
        show_default=False,
    ),
]


def zone_of(name: str) -> ZoneInfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"--tz {name!r} is not an IANA time zone (e.g. Europe/Paris, Asia/Kolkata)"
        ) from None


def usage_filter(
    zone: ZoneInfo,
    since: str | None,
    until: str | None,
    model: list[str] | None,
    user: list[str] | None,
    provider: list[str] | None,
    project: list[str] | None,
    status: list[str] | None,
    billable: bool,
    now: datetime | None = None,
) -> UsageFilter:
    from chatvault.db.filters import UsageFilter
    from chatvault.period import parse_span

    return UsageFilter(
        span=parse_span(since, until, zone, now or datetime.now(UTC)),
        models=tuple(model or ()),
        users=tuple(user or ()),
        providers=tuple(provider or ()),
        projects=tuple(project or ()),
        statuses=tuple(status or ()),
        billable_only=billable,
    )
