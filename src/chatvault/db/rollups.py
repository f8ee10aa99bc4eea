"""Daily rollups per time zone: the measures reports read, kept exactly equal to usage_logs.

Triggers on usage_logs (migration 0007) record every UTC hour whose rows changed, whoever
changed them. Before a report reads, `bring_up_to_date` recomputes the local days touching
those hours, in every zone kept, from the raw rows: a day is rebuilt whole, never adjusted,
so an insert, a backfill, an update or a delete all end in the same exact sums. A stale
mark is cleared only if its version did not move meanwhile, so a write that lands during a
refresh is picked up by the next one. A writer that only appends rows (the server's) adds
them to the rollups in its own transaction instead, and clears its own marks
(db/rollup_days.py): that costs the rows appended, where a refresh costs the days' rows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Connection,
    TableClause,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy.sql import ColumnElement

from chatvault.db.engine import locking_first
from chatvault.db.models import (
    COUNT_COLUMNS,
    LATENCY_BIN_COLUMNS,
    LATENCY_BINS,
    ROLLUP_COUNTS,
    ROLLUP_USER_DIMENSIONS,
    ROLLUPS,
    TOKEN_COLUMNS,
    rollup_stale,
    rollup_table,
    rollup_zones,
    usage_logs,
)
from chatvault.period import local_date, midnight

# What a group measures: the counts, the cost (the only one that may be NULL), then the
# latency histogram. A report that shows no percentile reads the LEAN prefix: the 48 bins are
# most of what a statement costs to build and compile.
MEASURES = (
    *(name for name in ROLLUP_COUNTS if name not in LATENCY_BIN_COLUMNS),
    "cost_cents",
    *LATENCY_BIN_COLUMNS,
)
COST = MEASURES.index("cost_cents")
LEAN = MEASURES[: COST + 1]
FINEST = next(iter(ROLLUPS))
# Lower edges of latency bins 1..47, in seconds (see models.LATENCY_BINS).
LATENCY_EDGES = tuple(0.008 * 2 ** (k / 3) for k in range(1, LATENCY_BINS))
MYSQL_LOCK = "chatvault_rollups"


def latency_of_bin(k: int) -> float:
    """A bin's representative latency in seconds: its geometric middle."""
    return 0.008 * 2 ** ((k + 0.5) / 3)


def table_for(dimensions: set[str], grain: str | None, whole: tuple) -> TableClause:
    """The smallest rollup holding every dimension a report needs, at a time grain that fits
    its grouping and its whole days (a month rollup only for whole months)."""
    first, last = whole
    months = all(day is None or day.day == 1 for day in (first, last))
    for name in reversed(ROLLUPS):
        table_grain, held = ROLLUPS[name]
        if dimensions <= set(held) and (
            table_grain == "day" or (months and grain in (None, "month"))
        ):
            return rollup_table(name)
    raise AssertionError("unreachable: the finest rollup holds every dimension")


def raw_measures(source, names: tuple[str, ...] = MEASURES) -> list[ColumnElement]:
    """The measures over raw rows: `source` is usage_logs' columns with a `bin` column added."""
    c = source
    zero: ColumnElement = literal(0)
    sums = {
        "rows": func.count(),
        "requests": func.coalesce(func.sum(c.request_count), zero),
        **{name: func.coalesce(func.sum(c[name]), zero) for name in TOKEN_COLUMNS},
        "unpriced_requests": func.coalesce(
            func.sum(case((c.cost_cents.is_(None), c.request_count), else_=0)), zero
        ),
        "error_requests": func.coalesce(
            func.sum(case((c.status != "success", c.request_count), else_=0)), zero
        ),
        "latency_rows": func.count(c.processing_time_seconds),
        "latency_us": func.coalesce(
            func.sum(cast(func.round(c.processing_time_seconds * 1_000_000), BigInteger)), zero
        ),
        "cost_cents": func.sum(c.cost_cents),
    }
    if len(names) > len(LEAN):
        for k, name in enumerate(LATENCY_BIN_COLUMNS):
            sums[name] = func.sum(case((c.bin == k, 1), else_=0))
    return [sums[name].label(name) for name in names]


@functools.cache
def summed_measures(
    table: TableClause, names: tuple[str, ...] = MEASURES
) -> tuple[ColumnElement, ...]:
    """The measures over rollup rows: plain sums (built once: sixty of them cost a report
    a third of its time)."""
    return tuple(func.sum(table.c[name]).label(name) for name in names)


@functools.cache
def summed_text(
    table: TableClause, names: tuple[str, ...], quote: Callable[[str], str]
) -> tuple[ColumnElement, ...]:
    """`summed_measures` of a rollup table written as text (names quoted by the dialect's
    `quote`), with their types: a report's first statements in a process spent a third of
    their time building and compiling sixty sums as expressions."""
    return tuple(
        literal_column(f"sum({quote(table.name)}.{quote(name)})", table.c[name].type).label(name)
        for name in names
    )


def raw_rows(conditions: list[ColumnElement], bins: bool = True):
    """usage_logs rows matching the conditions, with each row's latency bin unless `bins` is
    false (the LEAN measures), as a subquery."""
    c = usage_logs.c
    columns = [
        *(c[d] for d in ROLLUP_USER_DIMENSIONS),
        *(c[name] for name in COUNT_COLUMNS),
        c.cost_cents,
        c.processing_time_seconds,
    ]
    if bins:
        seconds = c.processing_time_seconds
        latency_bin = _bin(seconds, 0, LATENCY_BINS - 1)
        columns.append(case((seconds.is_(None), None), else_=latency_bin).label("bin"))
    return select(*columns).where(*conditions).subquery("r")


def _bin(seconds: ColumnElement, low: int, high: int) -> ColumnElement:
    """The bin number by binary search over the edges: six comparisons a row, not 48."""
    if low == high:
        return literal(low)
    middle = (low + high + 1) // 2
    return case(
        (seconds < LATENCY_EDGES[middle - 1], _bin(seconds, low, middle - 1)),
        else_=_bin(seconds, middle, high),
    )


def bring_up_to_date(conn: Connection, zone: str, note: Callable[[str], None]) -> None:
    """Make the rollups of `zone` (built now if new) and every kept zone exact.

    Cheap when nothing changed: one read, in the caller's transaction. Otherwise one write
    transaction under a lock.
    """
    kept, stale = conn.execute(_freshness(), {"zone": zone}).one()
    if kept and not stale:
        return
    conn.rollback()
    # MariaDB's lock belongs to the connection, not the transaction: it is taken before the
    # transaction and let go after its commit, so the next refresh sees what this one wrote.
    release = lock(conn) if conn.dialect.name in ("mysql", "mariadb") else None
    try:
        if release is not None:
            conn.commit()  # the lock stays held; the transaction below starts afresh
        with locking_first(conn), conn.begin():
            if release is None:
                lock(conn)
            if not conn.execute(
                select(rollup_zones.c.zone).where(rollup_zones.c.zone == zone)
            ).first():
                note(f"building the daily rollups for {zone} (once per time zone)")
                _build(conn, zone)
            _refresh(conn)
    finally:
        if release is not None:
            release()
            conn.commit()


@functools.cache
def _freshness():
    """Is the zone kept, and is any hour marked stale? Built once: it runs before every report."""
    kept = select(rollup_zones.c.zone).where(rollup_zones.c.zone == bindparam("zone")).exists()
    return select(kept, select(rollup_stale.c.hour).exists())


def refresh(conn: Connection, zone: str | None = None) -> None:
    """Bring every kept zone up to date, in the caller's transaction (imports call it), and
    build `zone`'s rollups if they are not kept yet: the first report after an import then
    reads them as they are instead of building them."""
    release = lock(conn)
    try:
        built = None
        if (
            zone is not None
            and not conn.execute(
                select(rollup_zones.c.zone).where(rollup_zones.c.zone == zone)
            ).first()
        ):
            _build(conn, zone)
            built = zone  # exact already: built from the rows as they are
        _refresh(conn, built)
    finally:
        release()


def _refresh(conn: Connection, built: str | None = None) -> None:
    marks = conn.execute(select(rollup_stale.c.hour, rollup_stale.c.version)).all()
    if not marks:
        return
    for zone in conn.execute(select(rollup_zones.c.zone)).scalars().all():
        if zone == built:
            continue
        _rebuild(conn, zone, sorted(hour_days([hour for hour, _ in marks], ZoneInfo(zone))))
    conn.execute(
        delete(rollup_stale).where(
            rollup_stale.c.hour == bindparam("h"), rollup_stale.c.version == bindparam("v")
        ),
        [{"h": hour, "v": version} for hour, version in marks],
    )


def hour_days(hours: Iterable[datetime], place: ZoneInfo) -> set[date]:
    """The local days the UTC hours touch."""
    last = timedelta(hours=1) - timedelta(microseconds=1)
    return {local_date(moment, place) for hour in hours for moment in (hour, hour + last)}


def _build(conn: Connection, zone: str) -> None:
    conn.execute(insert(rollup_zones).values(zone=zone))
    first, last = conn.execute(
        select(func.min(usage_logs.c.created_at), func.max(usage_logs.c.created_at))
    ).one()
    if first is None:
        return
    place = ZoneInfo(zone)
    day, end = local_date(first, place), local_date(last, place)
    _rebuild(conn, zone, [day + timedelta(days=n) for n in range((end - day).days + 1)])


def _rebuild(conn: Connection, zone: str, days: list[date]) -> None:
    """Recompute whole local days (and their months): the finest rollup from raw rows, each
    other from a finer one."""
    from chatvault.db.rollup_days import clear_days, day_insert, day_params, derive

    place = ZoneInfo(zone)
    clear_days(conn, rollup_table(FINEST), zone, days)
    timed = _timed_days(conn, place, days)
    for day in days:
        conn.execute(day_insert(FINEST, bins=day in timed), day_params(zone, day, place))
    derive(conn, zone, days)


def _timed_days(conn: Connection, place: ZoneInfo, days: list[date]) -> set[date]:
    """The days among `days` with a row that has a latency: the others' histograms are
    all zeros, and their finest rollup is built without the 48 bins' sums (most of its
    cost: agents' logs record no latency). One EXISTS a day, stopping at the first row."""
    query = _has_latency()
    return {
        day
        for day in days
        if conn.execute(
            query, {"start": midnight(day, place), "end": midnight(day + timedelta(days=1), place)}
        ).scalar()
    }


@functools.cache
def _has_latency():
    created, seconds = usage_logs.c.created_at, usage_logs.c.processing_time_seconds
    window = [created >= bindparam("start"), created < bindparam("end"), seconds.is_not(None)]
    return select(select(usage_logs.c.id).where(*window).exists())


def lock(conn: Connection) -> Callable[[], None]:
    """Serialise refreshes (SQLite: the caller's BEGIN IMMEDIATE already does); the function
    that lets go. PostgreSQL's lock ends with the transaction; MariaDB's when let go."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        # Conflicts with itself only: readers and writers of usage_logs go on.
        conn.execute(text("LOCK TABLE usage_rollup_zones IN SHARE ROW EXCLUSIVE MODE"))
    elif dialect in ("mysql", "mariadb"):
        conn.execute(text("SELECT GET_LOCK(:name, 60)"), {"name": MYSQL_LOCK})
        return lambda: conn.execute(text("DO RELEASE_LOCK(:name)"), {"name": MYSQL_LOCK})
    return lambda: None


def whole_days(start: datetime | None, end: datetime | None, zone: tzinfo):
    """[start, end) as whole local days (first, last), each None when unbounded, or None when
    there is no whole day; and the partial days at its ends, as (start, end) pairs."""
    first = last = None
    if start is not None:
        day = local_date(start, zone)
        first = day if midnight(day, zone) == start else day + timedelta(days=1)
    if end is not None:
        last = local_date(end, zone)
    if first is not None and last is not None and first >= last:
        # No whole day: one partial day, or the ends of two split at the midnight between.
        cut = midnight(last, zone)
        return None, [(start, cut), (cut, end)] if start < cut < end else [(start, end)]
    edges = []
    if first is not None and midnight(first, zone) > start:
        edges.append((start, midnight(first, zone)))
    if last is not None and midnight(last, zone) < end:
        edges.append((midnight(last, zone), end))
    return (first, last), edges
