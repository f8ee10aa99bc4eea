"""The row filters every reading command shares, declared once: `with_filters` adds them to a
command, which receives them as one `Filters` value and turns it into the UsageFilter of its
session (its time zone, its "now")."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import typer

from chatvault.cli.common import option_group
from chatvault.errors import InputError

if TYPE_CHECKING:
    from chatvault.db.filters import UsageFilter
    from chatvault.session import Session

FILTERS = "Filters"
_GLOB = {"*": ".*", "?": "."}  # what the database's glob match means (db/filters.py)
_WHEN = (
    "ISO date or time, 24h, 7d, 2w, 3mo, today, yesterday, this-week, last-week, "
    "this-month, last-month"
)


def _many(name: str, metavar: str, what: str, *short: str) -> typer.models.OptionInfo:
    return typer.Option(
        name,
        *short,
        metavar=metavar,
        help=f"Only {what} (* and ? globs; repeatable).",
        rich_help_panel=FILTERS,
    )


def _when(name: str, help: str) -> Any:
    return Annotated[
        str | None, typer.Option(name, metavar="WHEN", help=help, rich_help_panel=FILTERS)
    ]


# name: (annotation, default), in the order --help lists them.
_SPAN = {
    "since": (_when("--since", f"From this time on, inclusive: {_WHEN}."), None),
    "until": (_when("--until", "Before this time, exclusive (same forms)."), None),
}
_DIMENSIONS = {
    "model": (Annotated[list[str] | None, _many("--model", "GLOB", "these models")], None),
    "user": (Annotated[list[str] | None, _many("--user", "GLOB", "these users")], None),
    "provider": (
        Annotated[list[str] | None, _many("--provider", "GLOB", "these providers")],
        None,
    ),
    "project": (Annotated[list[str] | None, _many("--project", "GLOB", "these projects")], None),
    "status": (
        Annotated[list[str] | None, _many("--status", "STATUS", "these statuses (success, error)")],
        None,
    ),
    "machine": (
        Annotated[list[str] | None, _many("--machine", "GLOB", "rows from these machines")],
        None,
    ),
    "billable": (
        Annotated[
            bool,
            typer.Option(
                "--billable/--all", help="Only billable rows, or all rows.", rich_help_panel=FILTERS
            ),
        ],
        False,
    ),
    "tz": (
        Annotated[
            str | None,
            typer.Option(
                "--tz",
                metavar="ZONE",
                help="IANA time zone of dates and day/week/month boundaries "
                "[default: the config's].",
                rich_help_panel=FILTERS,
                show_default=False,
            ),
        ],
        None,
    ),
}


class Filters(NamedTuple):
    """What the filter options said, before a session gives them a zone and a "now"."""

    since: str | None = None
    until: str | None = None
    model: list[str] | None = None
    user: list[str] | None = None
    provider: list[str] | None = None
    project: list[str] | None = None
    status: list[str] | None = None
    machine: list[str] | None = None
    billable: bool = False
    tz: str | None = None

    @classmethod
    def checked(cls, **given: Any) -> Filters:
        """The filters given, once each is known to make sense: a --status no row can have is
        refused, as an unknown --group-by is (a typo should not read as "no errors")."""
        made = cls(**given)
        if not made.status:
            return made
        from chatvault.ingest.record import STATUSES

        for glob in made.status:
            pattern = re.compile("".join(_GLOB.get(ch, re.escape(ch)) for ch in glob))
            if not any(pattern.fullmatch(status) for status in STATUSES):
                raise InputError(
                    f"--status {glob!r}: give {' or '.join(STATUSES)} (* and ? globs match them)"
                )
        return made

    def rows(self, session: Session) -> UsageFilter:
        """The rows these filters select, dates read in the session's zone."""
        from chatvault.db.filters import UsageFilter
        from chatvault.period import parse_span

        return UsageFilter(
            span=parse_span(self.since, self.until, session.zone, session.now),
            models=tuple(self.model or ()),
            users=tuple(self.user or ()),
            providers=tuple(self.provider or ()),
            projects=tuple(self.project or ()),
            statuses=tuple(self.status or ()),
            machines=tuple(self.machine or ()),
            billable_only=self.billable,
        )


def with_filters(
    span: bool = True, model_short: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command the filter options (with --since/--until unless `span` is False), where
    its `filters: Filters` parameter stands; `model_short` is a short name for --model, for a
    command that had one before the filters were shared (`reprice -m`)."""
    options = {**(_SPAN if span else {}), **_DIMENSIONS}
    if model_short is not None:
        model = _many("--model", "GLOB", "these models", model_short)
        options["model"] = (Annotated[list[str] | None, model], None)
    return option_group("filters", Filters.checked, options)
