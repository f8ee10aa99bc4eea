"""Usage measures grouped by time and dimensions: whole local days from the rollups, the
partial days at either end of the span from usage_logs, summed per group.

Each group comes back as a tuple of its values (dates for day/week/month) and a list of the
measures asked for, in rollups.MEASURES order: integer counts, the cost in exact Decimal cents
(None when no row of the group is priced), then the latency histogram unless only the LEAN
measures were asked for.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, TableClause, and_, bindparam, func, or_, select

from chatvault.db.engine import quoter
from chatvault.db.filters import UsageFilter, dimension_conditions, filter_params, filter_shape
from chatvault.db.models import ROLLUPS, rollup_table, token_total
from chatvault.db.rollups import (
    COST,
    LEAN,
    MEASURES,
    raw_measures,
    raw_rows,
    summed_text,
    table_for,
    usage_logs,
    whole_days,
)
from chatvault.period import GRAINS, bucket_of, local_date, midnight

# What --group-by accepts, and the column each one reads.
GROUP_COLUMNS = {
    "day": "day",
    "week": "week",
    "month": "month",
    "model": "model",
    "user": "user_id",
    "provider": "provider",
    "project": "project",
    "status": "status",
    "machine": "machine",
}
Groups = dict[tuple[Any, ...], list[Any]]
_REQUESTS = MEASURES.index("requests")  # a sum: its type says how the database sums


def aggregate(
    conn: Connection,
    rows: UsageFilter,
    group_by: tuple[str, ...],
    zone: ZoneInfo,
    measures: tuple[str, ...] = MEASURES,
) -> Groups:
    """The measures (MEASURES or LEAN) of the rows the filter selects, per group (one group
    when ungrouped)."""
    dialect = conn.dialect.name
    whole, edges = _days(conn, rows, zone)
    groups: Groups = {}
    shape = (group_by, filter_shape(rows, dialect), dialect, measures)
    if whole is not None:
        table, keys, conditions, params = _whole_days(rows, group_by, zone, whole, dialect)
        query = _statement(
            ("whole", table.name, tuple(params), *shape),
            lambda: _grouped(table, keys, conditions, group_by, measures, quoter(conn)),
        )
        _add(groups, conn.execute(query, params), group_by)
    for start, end in edges:
        query = _statement(
            ("edge", *shape),
            lambda: _edge_query(rows, group_by, dialect, measures),
        )
        params = {"start": start, "end": end, **filter_params(rows, dialect)}
        _add(groups, conn.execute(query, params), group_by, local_date(start, zone))
    return groups


def _days(conn: Connection, rows: UsageFilter, zone: ZoneInfo):
    """The span's whole local days and partial days at its ends, as `whole_days` has them,
    except that a partial day none of whose rows lies outside the span counts as whole: the
    rollup then sums the same rows, and "today so far" costs no scan of the raw rows."""
    start, end = rows.span.start, rows.span.end
    whole, edges = whole_days(start, end, zone)
    if not edges:
        return whole, edges
    for first, last in edges:
        day = local_date(first, zone)
        bounds = {"day": midnight(day, zone), "first": first, "last": last}
        bounds["next"] = midnight(day + timedelta(days=1), zone)
        if not conn.execute(_rows_outside(), bounds).scalar():
            start = bounds["day"] if first == start else start
            end = bounds["next"] if last == end else end
    return whole_days(start, end, zone)


@functools.cache
def _rows_outside():
    """Does a local day (midnight to the next) hold a row outside [first, last)? Two EXISTS,
    each a range of the created_at index: as one with an OR of the two ranges, PostgreSQL
    scanned the whole table (45.8 ms, against 0.08 ms)."""
    created = usage_logs.c.created_at
    before = and_(created >= bindparam("day"), created < bindparam("first"))
    after = and_(created >= bindparam("last"), created < bindparam("next"))
    ids = usage_logs.c.id
    return select(or_(select(ids).where(before).exists(), select(ids).where(after).exists()))


def _statement(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    """The statement of a shape, built once and run with each call's parameters: SQLAlchemy
    then reuses its cache key, which for sixty-odd sums costs more than running it."""
    if key not in _STATEMENTS:
        _STATEMENTS[key] = build()
    return _STATEMENTS[key]


_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _grouped(
    table: TableClause,
    keys: list,
    conditions: list,
    group_by: tuple[str, ...],
    measures: tuple,
    quote: Callable[[str], str],
):
    """The rollup's measures per group: its own rows when a group is one of them (a day of
    rollup_days, say: summing sixty columns over single rows would double a report's time)."""
    grain, held = ROLLUPS[table.name]
    if {GROUP_COLUMNS[g] for g in group_by} == {grain, *held}:
        return select(*keys, *(table.c[name] for name in measures)).where(*conditions)
    sums = summed_text(table, measures, quote)
    return select(*keys, *sums).where(*conditions).group_by(*keys)


def _whole_days(
    rows: UsageFilter, group_by: tuple[str, ...], zone: ZoneInfo, whole: tuple, dialect: str
):
    """The rollup to read for whole days, its group columns, the conditions on it (named
    parameters) and their values."""
    dimensions = {GROUP_COLUMNS[g] for g in group_by if g not in GRAINS} | rows.dimensions()
    grain = next((g for g in group_by if g in GRAINS), None)
    table = table_for(dimensions, grain, whole)
    time = table.c.day if "day" in table.c else table.c.month
    conditions = [table.c.zone == bindparam("zone"), *dimension_conditions(table.c, rows, dialect)]
    params: dict[str, Any] = {"zone": zone.key, **filter_params(rows, dialect)}
    first, last = whole
    if first is not None:
        conditions.append(time >= bindparam("first"))
        params["first"] = first
    if last is not None:
        conditions.append(time < bindparam("last"))
        params["last"] = last
    return table, [table.c[GROUP_COLUMNS[g]] for g in group_by], conditions, params


def top(
    conn: Connection,
    rows: UsageFilter,
    group_by: tuple[str, ...],
    zone: ZoneInfo,
    measure: str,
    smallest_first: bool,
    limit: int,
    offset: int,
    measures: tuple[str, ...] = MEASURES,
) -> tuple[Groups, list[Any], int] | None:
    """One page of groups ordered by a measure, the totals and the number of groups, sorted
    and cut in SQL; None when the span has partial days (their rows must be merged first).

    Ties are ordered by the group values, NULL first, as the Python sort orders them.
    """
    found = _top_query(conn, rows, group_by, zone, measures)
    if found is None:
        return None
    page = _page(conn, found, measure, smallest_first, limit, offset)
    keys, conditions = found.keys, found.conditions
    sums = summed_text(found.table, measures, quoter(conn))

    def count_query():
        counted = select(*keys).where(*conditions).group_by(*keys).subquery()
        return select(func.count()).select_from(counted)

    totals: Groups = {}
    query = _statement(("totals", *found.shape), lambda: select(*sums).where(*conditions))
    _add(totals, conn.execute(query, found.params), ())
    count = conn.execute(_statement(("count", *found.shape), count_query), found.params).scalar()
    return page, totals.get((), zeros(measures)), int(count or 0)


def top_page(
    conn: Connection,
    rows: UsageFilter,
    group_by: tuple[str, ...],
    zone: ZoneInfo,
    measure: str,
    limit: int,
    measures: tuple[str, ...] = MEASURES,
) -> Groups | None:
    """The first `limit` groups by a measure, largest first, as `top` has them, for a caller
    that needs neither the totals nor the number of groups (two statements fewer)."""
    found = _top_query(conn, rows, group_by, zone, measures)
    return None if found is None else _page(conn, found, measure, False, limit, 0)


class _Top(NamedTuple):
    """What a `top` reads: the rollup, its group columns and conditions, their values."""

    table: TableClause
    group_by: tuple[str, ...]
    keys: list
    conditions: list
    params: dict[str, Any]
    shape: tuple[Any, ...]  # the statements' cache key
    measures: tuple[str, ...]


def _top_query(
    conn: Connection,
    rows: UsageFilter,
    group_by: tuple[str, ...],
    zone: ZoneInfo,
    measures: tuple[str, ...],
) -> _Top | None:
    """What a `top` reads; None when the span has partial days or there is no group."""
    whole, edges = _days(conn, rows, zone)
    if whole is None or edges or not group_by:
        return None
    dialect = conn.dialect.name
    table, keys, conditions, params = _whole_days(rows, group_by, zone, whole, dialect)
    shape = (table.name, group_by, tuple(params), filter_shape(rows, dialect), dialect, measures)
    return _Top(table, group_by, keys, conditions, params, shape, measures)


def _page(conn: Connection, t: _Top, measure: str, smallest_first: bool, limit: int, offset: int):
    """A page of `t`'s groups ordered by `measure`, ties by the group values."""

    def page_query():
        sums = summed_text(t.table, t.measures, quoter(conn))
        grouped = select(*t.keys, *sums).where(*t.conditions)
        value = func.coalesce(func.sum(t.table.c[measure]), -1)  # a group with no cost: last
        ties = [part for key in t.keys for part in (key.is_(None).desc(), key)]
        ordered = grouped.group_by(*t.keys).order_by(
            value if smallest_first else value.desc(), *ties
        )
        return ordered.limit(bindparam("limit")).offset(bindparam("offset"))

    page: Groups = {}
    query = _statement(("page", measure, smallest_first, *t.shape), page_query)
    _add(page, conn.execute(query, {**t.params, "limit": limit, "offset": offset}), t.group_by)
    return page


def zeros(measures: tuple[str, ...] = MEASURES) -> list[Any]:
    """The measures of no rows."""
    return [None if name == "cost_cents" else 0 for name in measures]


def _edge_query(rows: UsageFilter, group_by: tuple[str, ...], dialect: str, measures: tuple):
    """A partial local day from raw rows, grouped by the dimensions (its day, week and month
    are the same for every row: _add fills them in)."""
    created = usage_logs.c.created_at
    conditions = [created >= bindparam("start"), created < bindparam("end")]
    conditions += dimension_conditions(usage_logs.c, rows, dialect)
    source = raw_rows(conditions, bins=len(measures) > len(LEAN))
    dims = [source.c[GROUP_COLUMNS[g]] for g in group_by if g not in GRAINS]
    query = select(*dims, *raw_measures(source.c, measures))
    return query.group_by(*dims) if dims else query


def _add(groups: Groups, result, group_by: tuple[str, ...], day: date | None = None) -> None:
    """Sum result rows into groups; `day` is the one day every row is of (edges only)."""
    width = len(group_by) if day is None else sum(g not in GRAINS for g in group_by)
    for row in result:
        if not row[width]:  # no rows: an aggregate without GROUP BY still returns one
            continue
        key = tuple(row[:width])
        if day is not None:
            dims = iter(key)
            key = tuple(bucket_of(day, g) if g in GRAINS else next(dims) for g in group_by)
        values = list(row[width:])
        if type(values[_REQUESTS]) is not int:  # PostgreSQL and MySQL sum integers as decimals
            values = [v if i == COST else int(v) for i, v in enumerate(values)]
        groups[key] = add_measures(groups[key], values) if key in groups else values


def add_measures(a: list[Any], b: list[Any]) -> list[Any]:
    """Two groups' measures summed (the cost stays None only if both are)."""
    total = [x + y for x, y in zip(a[:COST], b[:COST], strict=True)]
    cost_a, cost_b = a[COST], b[COST]
    cost = cost_b if cost_a is None else cost_a if cost_b is None else cost_a + cost_b
    return [*total, cost, *(x + y for x, y in zip(a[COST + 1 :], b[COST + 1 :], strict=True))]


def known_values(conn: Connection, group: str, zone: ZoneInfo) -> list[str]:
    """The distinct values of a dimension in the zone's rollups (a small table to scan)."""
    column = GROUP_COLUMNS[group]
    table = table_for({column}, None, (None, None))
    query = select(table.c[column]).where(table.c.zone == zone.key).distinct()
    return sorted(v for v in conn.execute(query).scalars() if v is not None)


def month_days(conn: Connection, zone: ZoneInfo, month: date) -> list[tuple[int, Any]]:
    """(tokens, cost in cents) of each day of a local month, in order: what volume
    discounts are computed from."""
    t = rollup_table("rollup_days").c
    query = (
        select(func.sum(token_total(t)), func.sum(t.cost_cents))
        .where(t.zone == zone.key, t.month == month)
        .group_by(t.day)
        .order_by(t.day)
    )
    return [(int(n), cost) for n, cost in conn.execute(query)]
