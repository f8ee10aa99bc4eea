"""Which usage rows a report, a log listing or an export covers, as SQL conditions that apply
alike to `usage_logs` and to the rollup tables (they share the dimension column names)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, bindparam, or_, true

from chatvault.period import Span

# The filters on text dimensions, and the column each one matches.
TEXT_FILTERS = {
    "models": "model",
    "users": "user_id",
    "providers": "provider",
    "projects": "project",
    "statuses": "status",
    "machines": "machine",
}


class UsageFilter(NamedTuple):
    """Rows created in the span whose dimensions match any of each filter's globs (* and ?)."""

    span: Span = Span()
    models: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    machines: tuple[str, ...] = ()  # the machine rows from agents' logs came from
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
    """The filter's conditions on dimension columns (`columns` is a table's `.c`).

    Each glob is a named parameter (see `filter_params`), so a statement built once for a
    `filter_shape` serves every filter of that shape.
    """
    alternatives: dict[str, list[ColumnElement]] = {}
    for column, key, operator, value in _patterns(rows, dialect):
        bound = bindparam(key, value)
        alternatives.setdefault(column, []).append(_compare(columns[column], operator, bound))
    conditions = [or_(*each) for each in alternatives.values()]
    if rows.billable_only:
        conditions.append(columns.billable == true())
    return conditions


def filter_shape(rows: UsageFilter, dialect: str) -> tuple[Any, ...]:
    """What the SQL of `dimension_conditions` depends on, the globs' values aside."""
    globs = ((key, operator) for _, key, operator, _ in _patterns(rows, dialect))
    return (*globs, rows.billable_only)


def filter_params(rows: UsageFilter, dialect: str) -> dict[str, str]:
    """The values of the parameters of `dimension_conditions`."""
    return {key: value for _, key, _, value in _patterns(rows, dialect)}


def _patterns(rows: UsageFilter, dialect: str) -> Iterator[tuple[str, str, str, str]]:
    """(column, parameter name, operator, value) of each glob of each filter."""
    for name, column in TEXT_FILTERS.items():
        for i, glob in enumerate(getattr(rows, name)):
            yield (column, f"filter_{column}_{i}", *_pattern(glob, dialect))


def span_conditions(created_at: Any, span: Span) -> list[ColumnElement]:
    conditions = []
    if span.start is not None:
        conditions.append(created_at >= span.start)
    if span.end is not None:
        conditions.append(created_at < span.end)
    return conditions


def matches(column: Any, glob: str, dialect: str) -> ColumnElement:
    """`column` matches a glob, case-sensitively on every dialect (MySQL: as its collation)."""
    return _compare(column, *_pattern(glob, dialect))


def _pattern(glob: str, dialect: str) -> tuple[str, str]:
    """The operator and operand that match a glob.

    Without wildcards it is an equality, which indexes serve. SQLite's LIKE ignores case, so
    there GLOB is used, with its character classes escaped.
    """
    if not any(ch in glob for ch in "*?"):
        return "=", glob
    if dialect == "sqlite":
        return "GLOB", glob.replace("[", "[[]")
    escaped = glob.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "LIKE", escaped.replace("*", "%").replace("?", "_")


def _compare(column: Any, operator: str, operand: Any) -> ColumnElement:
    if operator == "=":
        return column == operand
    if operator == "GLOB":
        return column.op("GLOB")(operand)
    return column.like(operand, escape="\\")
