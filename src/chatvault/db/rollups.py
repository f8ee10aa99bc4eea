"""Daily rollups per time zone: the measures reports read, kept exactly equal to usage_logs.

Triggers on usage_logs (migration 0007) record every UTC hour whose rows changed, whoever
changed them. Before a report reads, `bring_up_to_date` recomputes the local days touching
those hours, in every zone kept, from the raw rows: a day is rebuilt whole, never adjusted,
so an insert, a backfill, an update or a delete all end in the same exact sums. A stale
mark is cleared only if its version did not move meanwhile, so a write that lands during a
refresh is picked up by the next one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Connection,
    Date,
    String,
    Table,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
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
from chatvault.period import bucket_of, local_date, midnight

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


def table_for(dimensions: set[str], grain: str | None, whole: tuple) -> Table:
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


def _source(name: str) -> str:
    """The smallest day rollup built before `name` that holds its dimensions."""
    earlier = list(ROLLUPS)[: list(ROLLUPS).index(name)]
    held = set(ROLLUPS[name][1])
    return [e for e in earlier if ROLLUPS[e][0] == "day" and held <= set(ROLLUPS[e][1])][-1]


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
def summed_measures(table: Table, names: tuple[str, ...] = MEASURES) -> tuple[ColumnElement, ...]:
    """The measures over rollup rows: plain sums (built once: sixty of them cost a report
    a third of its time)."""
    return tuple(func.sum(table.c[name]).label(name) for name in names)


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
    release = _lock(conn) if conn.dialect.name in ("mysql", "mariadb") else None
    try:
        if release is not None:
            conn.commit()  # the lock stays held; the transaction below starts afresh
        with locking_first(conn), conn.begin():
            if release is None:
                _lock(conn)
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
    release = _lock(conn)
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
        place = ZoneInfo(zone)
        days: set[date] = set()
        for hour, _ in marks:
            days.add(local_date(hour, place))
            days.add(local_date(hour + timedelta(hours=1) - timedelta(microseconds=1), place))
        _rebuild(conn, zone, sorted(days))
    conn.execute(
        delete(rollup_stale).where(
            rollup_stale.c.hour == bindparam("h"), rollup_stale.c.version == bindparam("v")
        ),
        [{"h": hour, "v": version} for hour, version in marks],
    )


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
    place = ZoneInfo(zone)
    months = sorted({bucket_of(day, "month") for day in days})
    for name, (grain, _) in ROLLUPS.items():
        table = rollup_table(name)
        if grain == "month":
            conn.execute(delete(table).where(table.c.zone == zone, table.c.month.in_(months)))
            continue
        for first, last in _runs(days):
            conn.execute(
                delete(table).where(table.c.zone == zone, table.c.day >= first, table.c.day <= last)
            )
    inserts = {name: _insert(name) for name in ROLLUPS}
    lean = _insert(FINEST, bins=False)
    timed = _timed_days(conn, place, days)
    for day in days:
        params = {
            "zone": zone,
            "day": day,
            "week": bucket_of(day, "week"),
            "month": bucket_of(day, "month"),
            "start": midnight(day, place),
            "end": midnight(day + timedelta(days=1), place),
        }
        for name, (grain, _) in ROLLUPS.items():
            if grain == "day":
                fast = name == FINEST and day not in timed
                conn.execute(lean if fast else inserts[name], params)
    for month in months:
        for name, (grain, _) in ROLLUPS.items():
            if grain == "month":
                conn.execute(inserts[name], {"zone": zone, "month": month})


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


def _insert(name: str, bins: bool = True):
    """INSERT ... SELECT of one zone's day (or month) of a rollup, from raw rows for the
    finest, from a finer rollup for the others. Without `bins`, the finest's latency
    histogram is written as zeros (for days no row of which has a latency)."""
    grain, held = ROLLUPS[name]
    labels = [bindparam("zone", type_=String()).label("zone")]
    times = ["month"] if grain == "month" else ["day", "week", "month"]
    labels += [bindparam(t, type_=Date()).label(t) for t in times]
    if name == FINEST:
        created = usage_logs.c.created_at
        window = [created >= bindparam("start"), created < bindparam("end")]
        source = _by_bin(window) if bins else raw_rows(window, bins=False)
        if bins:
            measures = _histogram(source.c)
        else:
            measures = raw_measures(source.c, LEAN)
            measures += [literal(0).label(name) for name in LATENCY_BIN_COLUMNS]
        where = []
    else:
        source = rollup_table(_source(name))
        measures = summed_measures(source)
        where = [source.c.zone == bindparam("zone"), source.c[grain] == bindparam(grain)]
    dims = [source.c[d] for d in held]
    query = select(*labels, *dims, *measures).where(*where).group_by(*dims)
    if not dims:  # an aggregate without GROUP BY returns a row even for an empty day
        query = query.having(func.count() > 0)
    return insert(rollup_table(name)).from_select(["zone", *times, *held, *MEASURES], query)


def _by_bin(window: list[ColumnElement]):
    """A day's raw rows summed by the finest rollup's dimensions and latency bin: each row's
    bin is found once, and the histogram's 48 sums run over these groups (a few per bin),
    not over every row (48 comparisons a row were most of a busy day's rebuild)."""
    raw = raw_rows(window)
    keys = [raw.c[d] for d in ROLLUPS[FINEST][1]] + [raw.c.bin]
    return select(*keys, *raw_measures(raw.c, LEAN)).group_by(*keys).subquery("b")


def _histogram(c) -> list[ColumnElement]:
    """Every measure summed over `_by_bin`'s groups; each bin counts its group's latencies."""
    measures = [func.sum(c[name]).label(name) for name in LEAN]
    return measures + [
        func.sum(case((c.bin == k, c.latency_rows), else_=0)).label(name)
        for k, name in enumerate(LATENCY_BIN_COLUMNS)
    ]


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days (first, last), for ranged deletes."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _lock(conn: Connection) -> Callable[[], None]:
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
