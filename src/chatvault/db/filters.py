"""Which usage rows a report, a log listing or an export covers, as SQL conditions that apply
alike to `usage_logs` and to the rollup tables (they share the dimension column names)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, or_, true

from chatvault.period import Span

# The filters on text dimensions, and the column each one matches.
TEXT_FILTERS = {
    "models": "model",
    "users": "user_id",
    "providers": "provider",
    "projects": "project",
    "statuses": "status",
}


@dataclass(frozen=True)
class UsageFilter:
    """Rows created in the span whose dimensions match any of each filter's globs (* and ?)."""

    span: Span = field(default_factory=Span)
    models: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    billable_only: bool = False

    def dimensions(self) -> set[str]:
        """The dimension columns the filter looks at (the time column aside)."""
        used = {column for name, column in TEXT_FILTERS.items() if getattr(self, name)}
        return used | ({"billable"} if self.billable_only else set())

    def echo(self) -> dict[str, Any]:
        """The filters as given, for JSON output."""
        echoed: dict[str, Any] = {name: list(getattr(self, name)) for name in TEXT_FILTERS}
        echoed["billable_only"] = self.billable_only
        return echoed


def dimension_conditions(columns: Any, rows: UsageFilter, dialect: str) -> list[ColumnElement]:
    """The filter's conditions on dimension columns (`columns` is a table's `.c`)."""
    conditions: list[ColumnElement] = []
    for name, column in TEXT_FILTERS.items():
        globs = getattr(rows, name)
        if globs:
            conditions.append(or_(*(matches(columns[column], g, dialect) for g in globs)))
    if rows.billable_only:
        conditions.append(columns.billable == true())
    return conditions


def span_conditions(created_at: Any, span: Span) -> list[ColumnElement]:
    conditions = []
    if span.start is not None:
        conditions.append(created_at >= span.start)
    if span.end is not None:
        conditions.append(created_at < span.end)
    return conditions


def matches(column: Any, glob: str, dialect: str) -> ColumnElement:
    """`column` matches a glob, case-sensitively on every dialect (MySQL: as its collation).

    Without wildcards it is an equality, which indexes serve. SQLite's LIKE ignores case, so
    there GLOB is used, with its character classes escaped.
    """
    if not any(ch in glob for ch in "*?"):
        return column == glob
    if dialect == "sqlite":
        return column.op("GLOB")(glob.replace("[", "[[]"))
    escaped = glob.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(escaped.replace("*", "%").replace("?", "_"), escape="\\")
