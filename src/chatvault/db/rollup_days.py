"""Writing local days of the daily rollups: the finest from raw rows, or from its own groups
and the rows a writer appends; the coarser ones from a finer one.

A writer that only inserts rows adds them to the rollups in its own transaction
(`claim_hours` before the insert, `add_appended` after): each day's finest groups are summed
again with the new rows' (the cost of the day's groups and the new rows, not of the day's
rows), and the stale marks its insert made are cleared. An hour some other change marked keeps
its mark, and a refresh rebuilds its days from raw rows (db/rollups.py), as it does after every
update, delete and insert made any other way: the rollups stay exactly the sums of usage_logs.

The writer takes the rollups' lock before the marks, as a refresh does (in the other order a
deadlock on PostgreSQL). There it claims each hour nobody marked by writing its mark at
version 0 first: another transaction's change to a row of that hour waits on that mark until
the writer commits, so the marks the writer clears are its own rows'. On SQLite the writer
holds the database's write lock. On MariaDB the lock belongs to the connection, not to the
transaction: its writers keep only marking, and a refresh catches up.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ARRAY,
    Connection,
    Date,
    String,
    TableClause,
    TextClause,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.sql import ColumnElement

from chatvault.db.engine import quoter
from chatvault.db.models import (
    LATENCY_BIN_COLUMNS,
    ROLLUPS,
    rollup_stale,
    rollup_table,
    rollup_zones,
    usage_logs,
)
from chatvault.db.rollups import (
    FINEST,
    LEAN,
    MEASURES,
    hour_days,
    lock,
    raw_measures,
    raw_rows,
    summed_measures,
)
from chatvault.db.types import from_utc_text
from chatvault.period import bucket_of, midnight


@dataclass(frozen=True)
class Claim:
    """The UTC hours of the rows a writer is about to insert, and those of them no other
    change had marked stale (whose marks the writer will clear)."""

    hours: frozenset[datetime]
    fresh: frozenset[datetime]


def claim_hours(conn: Connection, created: Sequence[str]) -> Claim | None:
    """Before a writer inserts rows created at `created` (utc_text), in its transaction: the
    rollups' lock and the hours' claim; None on MariaDB (see above)."""
    dialect = conn.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        return None
    hours = frozenset(from_utc_text(hour + ":00:00") for hour in {m[:13] for m in created})
    if not hours:
        return Claim(hours, hours)
    c = rollup_stale.c
    if dialect == "sqlite":  # the writer's BEGIN IMMEDIATE is the lock
        marked = conn.execute(select(c.hour).where(c.hour.in_(sorted(hours)))).scalars()
        return Claim(hours, hours - set(marked))
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    lock(conn)
    marks = [{"hour": hour, "version": 0} for hour in sorted(hours)]
    claim = pg_insert(rollup_stale).values(marks).on_conflict_do_nothing().returning(c.hour)
    return Claim(hours, frozenset(conn.execute(claim).scalars()))


def add_appended(conn: Connection, claim: Claim | None, appended: Sequence[str] | None) -> bool:
    """After the insert, in the same transaction: the rows inserted (their request ids; None
    when rows were replaced too) added to the rollups of every kept zone, and the claimed
    hours' marks cleared; whether the rollups are exact for these rows without a refresh."""
    if claim is None:
        return False
    c = rollup_stale.c
    if appended is None:  # not only appended: a refresh rebuilds every hour written to
        conn.execute(delete(rollup_stale).where(c.hour.in_(sorted(claim.fresh)), c.version == 0))
        return False
    if appended:
        _merge(conn, claim.hours, appended)
    conn.execute(delete(rollup_stale).where(c.hour.in_(sorted(claim.fresh))))
    return claim.fresh == claim.hours


def _merge(conn: Connection, hours: frozenset[datetime], appended: Sequence[str]) -> None:
    """Every kept zone's days touching `hours`: the finest rollup's groups summed again with
    the appended rows', the coarser rollups derived again."""
    finest = rollup_table(FINEST)
    top = conn.execute(select(func.max(finest.c.id))).scalar() or 0
    dialect = conn.dialect.name
    ids = json.dumps(list(appended)) if dialect == "sqlite" else list(appended)
    for zone in conn.execute(select(rollup_zones.c.zone)).scalars().all():
        place = ZoneInfo(zone)
        days = sorted(hour_days(hours, place))
        merged = _merged(dialect)
        for day in days:
            conn.execute(merged, {**day_params(zone, day, place), "top": top, "ids": ids})
        c = finest.c
        conn.execute(delete(finest).where(c.zone == zone, c.day.in_(days), c.id <= top))
        derive(conn, zone, days)


@functools.cache
def _merged(dialect: str):
    """INSERT ... SELECT of a zone's day of the finest rollup: its groups up to id `top`
    summed with the day's rows among request ids `ids` (SQLite: a JSON array)."""
    c = rollup_table(FINEST).c
    held = ROLLUPS[FINEST][1]
    kept = select(*(c[d] for d in held), *(c[m] for m in MEASURES)).where(
        c.zone == bindparam("zone"), c.day == bindparam("day"), c.id <= bindparam("top")
    )
    if dialect == "sqlite":
        ids = select(literal_column("value")).select_from(func.json_each(bindparam("ids")))
    else:
        ids = select(func.unnest(bindparam("ids", type_=ARRAY(String()))))
    created = usage_logs.c.created_at
    window = [
        created >= bindparam("start"),
        created < bindparam("end"),
        usage_logs.c.request_id.in_(ids.scalar_subquery()),
    ]
    added = _by_bin(window)
    keys = [added.c[d] for d in held]
    both = union_all(kept, select(*keys, *_histogram(added.c)).group_by(*keys)).subquery("u")
    return _groups_into(FINEST, both, summed_measures(both), [])


def derive(conn: Connection, zone: str, days: list[date]) -> None:
    """Recompute the rollups other than the finest for whole local days and their months,
    each from a finer one (the finest of those days exact already)."""
    place = ZoneInfo(zone)
    months = sorted({bucket_of(day, "month") for day in days})
    coarser = list(ROLLUPS)[1:]
    for name in coarser:
        table = rollup_table(name)
        if ROLLUPS[name][0] == "month":
            conn.execute(delete(table).where(table.c.zone == zone, table.c.month.in_(months)))
        else:
            clear_days(conn, table, zone, days)
    quote = quoter(conn)
    for day in days:
        params = day_params(zone, day, place)
        for name in coarser:
            if ROLLUPS[name][0] == "day":
                conn.execute(_derived(name, quote), params)
    for month in months:
        for name in coarser:
            if ROLLUPS[name][0] == "month":
                conn.execute(_derived(name, quote), {"zone": zone, "month": month})


def clear_days(conn: Connection, table: TableClause, zone: str, days: list[date]) -> None:
    """Delete a day rollup's rows of a zone's days, a statement per run of consecutive days."""
    for first, last in _runs(days):
        c = table.c
        conn.execute(delete(table).where(c.zone == zone, c.day >= first, c.day <= last))


def day_params(zone: str, day: date, place: ZoneInfo) -> dict:
    """The parameters of a local day's statements: its zone, its day, week and month, and
    its UTC span."""
    return {
        "zone": zone,
        "day": day,
        "week": bucket_of(day, "week"),
        "month": bucket_of(day, "month"),
        "start": midnight(day, place),
        "end": midnight(day + timedelta(days=1), place),
    }


@functools.cache
def _derived(name: str, quote: Callable[[str], str]) -> TextClause:
    """INSERT ... SELECT of one zone's day (or month) of a coarser rollup: the sums of a
    finer one's groups, written as text. Its sixty sums as SQLAlchemy expressions took a
    fresh process longer to build and compile than the rest of a small import's refresh."""
    grain, held = ROLLUPS[name]
    times = ("month",) if grain == "month" else ("day", "week", "month")
    dims = ", ".join(map(quote, held))
    columns = ", ".join(map(quote, ("zone", *times, *held, *MEASURES)))
    values = [f":{bind}" for bind in ("zone", *times)] + ([dims] if dims else [])
    values += [f"sum({quote(m)}) AS {quote(m)}" for m in MEASURES]
    where = f"{quote('zone')} = :zone AND {quote(grain)} = :{grain}"
    # An aggregate without GROUP BY returns a row even for an empty day.
    groups = f"GROUP BY {dims}" if dims else "HAVING count(*) > 0"
    sql = (
        f"INSERT INTO {quote(name)} ({columns}) SELECT {', '.join(values)} "
        f"FROM {quote(_source(name))} WHERE {where} {groups}"
    )
    binds = [bindparam("zone", type_=String()), *(bindparam(t, type_=Date()) for t in times)]
    return text(sql).bindparams(*binds)


@functools.cache
def day_insert(name: str, bins: bool = True):
    """INSERT ... SELECT of one zone's day of the finest rollup (`name`), from raw rows.
    Without `bins`, its latency histogram is written as zeros (for days no row of which has
    a latency)."""
    created = usage_logs.c.created_at
    window = [created >= bindparam("start"), created < bindparam("end")]
    if bins:
        source = _by_bin(window)
        return _groups_into(name, source, _histogram(source.c), [])
    source = raw_rows(window, bins=False)
    measures = raw_measures(source.c, LEAN)
    measures += [literal(0).label(bin_name) for bin_name in LATENCY_BIN_COLUMNS]
    return _groups_into(name, source, measures, [])


def _groups_into(name: str, source, measures, where: list[ColumnElement]):
    """INSERT ... SELECT into rollup `name` of `source`'s groups by its dimensions, labelled
    with the zone and the time parameters of its grain."""
    grain, held = ROLLUPS[name]
    labels = [bindparam("zone", type_=String()).label("zone")]
    times = ["month"] if grain == "month" else ["day", "week", "month"]
    labels += [bindparam(t, type_=Date()).label(t) for t in times]
    dims = [source.c[d] for d in held]
    query = select(*labels, *dims, *measures).where(*where).group_by(*dims)
    if not dims:  # an aggregate without GROUP BY returns a row even for an empty day
        query = query.having(func.count() > 0)
    return insert(rollup_table(name)).from_select(["zone", *times, *held, *MEASURES], query)


def _source(name: str) -> str:
    """The smallest day rollup built before `name` that holds its dimensions."""
    earlier = list(ROLLUPS)[: list(ROLLUPS).index(name)]
    held = set(ROLLUPS[name][1])
    return [e for e in earlier if ROLLUPS[e][0] == "day" and held <= set(ROLLUPS[e][1])][-1]


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
