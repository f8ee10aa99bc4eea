"""Usage reports: the grouped measures from SQL made readable (rates, latency, shares), with
a totals row, sorting and pages. No SQL here: db/aggregate.py does the summing."""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

from chatvault.config import Tier
from chatvault.db.aggregate import (
    Groups,
    add_measures,
    aggregate,
    known_values,
    month_days,
    top,
    top_page,
    zeros,
)
from chatvault.db.filters import UsageFilter
from chatvault.db.models import LATENCY_BIN_COLUMNS
from chatvault.db.rollups import COST, LATENCY_EDGES, LEAN, MEASURES, latency_of_bin
from chatvault.db.types import to_cents
from chatvault.period import GRAINS
from chatvault.pricing.discounts import monthly_discount

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from chatvault.session import Session

P95 = 0.95
_AT = {name: i for i, name in enumerate(MEASURES)}
_BINS = slice(_AT[LATENCY_BIN_COLUMNS[0]], _AT[LATENCY_BIN_COLUMNS[-1]] + 1)


class Row(NamedTuple):
    """One group of a report (or the totals): what the table, JSON and CSV show."""

    key: tuple[Any, ...]
    requests: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_cents: Decimal | None  # over priced requests; None when none is priced
    unpriced_requests: int
    error_requests: int
    avg_latency_ms: float | None
    p95_latency_ms: float | None
    share: float | None = None  # of the total cost (of requests when nothing is priced)
    discount_cents: Decimal | None = None  # volume discount, when tiers are configured

    @property
    def net_cents(self) -> Decimal | None:
        if self.discount_cents is None or self.cost_cents is None:
            return self.cost_cents
        return self.cost_cents - self.discount_cents

    @property
    def error_rate(self) -> float | None:
        return self.error_requests / self.requests if self.requests else None

    @property
    def tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
        )


# --sort keys: each a row's value to order by; metrics sort largest first.
SORTS: dict[str, Callable[[Row], Any]] = {
    "cost": lambda r: r.cost_cents if r.cost_cents is not None else Decimal(-1),
    "requests": lambda r: r.requests,
    "tokens": lambda r: r.tokens,
    "input": lambda r: r.input_tokens,
    "output": lambda r: r.output_tokens,
    "unpriced": lambda r: r.unpriced_requests,
    "errors": lambda r: r.error_requests,
    "error-rate": lambda r: r.error_rate if r.error_rate is not None else -1.0,
    "latency": lambda r: r.avg_latency_ms if r.avg_latency_ms is not None else -1.0,
    "p95": lambda r: r.p95_latency_ms if r.p95_latency_ms is not None else -1.0,
}


class Report(NamedTuple):
    """One page of grouped rows, with the totals over every group."""

    group_by: tuple[str, ...]
    rows: list[Row]  # the page asked for
    totals: Row  # over every group, not just the page
    groups: int  # how many groups in all
    page: int
    pages: int
    limit: int | None
    sort: str


def make_row(
    key: tuple[Any, ...],
    measures: list[Any],
    totals: Row | None = None,
    discounts: dict[tuple[Any, ...], Decimal] | None = None,
) -> Row:
    """A group's row; its share of `totals` when given, its discount when tiers apply."""
    m = measures
    latency_rows = m[_AT["latency_rows"]]
    cost, requests = m[_AT["cost_cents"]], m[_AT["requests"]]
    return Row(
        key=key,
        requests=requests,
        input_tokens=m[_AT["input_tokens"]],
        output_tokens=m[_AT["output_tokens"]],
        cache_read_tokens=m[_AT["cache_read_tokens"]],
        cache_write_tokens=m[_AT["cache_write_tokens"]],
        cost_cents=cost,
        unpriced_requests=m[_AT["unpriced_requests"]],
        error_requests=m[_AT["error_requests"]],
        avg_latency_ms=m[_AT["latency_us"]] / latency_rows / 1000 if latency_rows else None,
        p95_latency_ms=percentile(m[_BINS], P95, m[_AT["latency_us"]]),
        share=None if totals is None else _share(cost, requests, totals),
        discount_cents=None if discounts is None else discounts.get(key, Decimal(0)),
    )


def _share(cost: Decimal | None, requests: int, totals: Row) -> float | None:
    if totals.cost_cents:
        return float((cost or 0) / totals.cost_cents)
    return requests / totals.requests if totals.requests else None


def percentile(bins: list[int], q: float, total_us: Any = None) -> float | None:
    """The q-quantile in ms from a latency histogram (none for LEAN measures): the middle of
    the bin that holds it, kept within what the counts and the latencies' sum `total_us`
    prove (docs/usage.md): the exact value when there is one latency."""
    running = list(itertools.accumulate(bins))
    if not running or not running[-1]:
        return None
    rank = math.ceil(q * running[-1])
    k = bisect.bisect_left(running, rank)
    low, high = _proven(bins, k, rank - (running[k] - bins[k]), total_us)
    return round(max(low, min(latency_of_bin(k), high)) * 1000, 1)


_LOW = (0.0, *LATENCY_EDGES)  # each bin's bounds in seconds; the first and last are open
_HIGH = (*LATENCY_EDGES, math.inf)


def _proven(bins: list[int], k: int, j: int, total_us: Any) -> tuple[float, float]:
    """Bounds in seconds of the j-th latency of bin k: the bin's own, narrowed by the sum.
    The other latencies lie within their bins, and those of bin k below it (after it) are at
    most (at least) it: what is left of the sum for it and for them bounds it."""
    low, high = _LOW[k], _HIGH[k]
    if total_us is None:
        return low, high
    total, count = float(total_us) / 1e6, bins[k]
    least = sum(c * _LOW[b] for b, c in enumerate(bins) if c and b != k)
    most = sum(c * _HIGH[b] for b, c in enumerate(bins) if c and b != k)
    high = min(high, (total - (j - 1) * _LOW[k] - least) / (count - j + 1))
    after = (count - j) * _HIGH[k] if count > j else 0.0
    low = max(low, (total - after - most) / j)  # -inf when an open bin is involved
    return min(low, high), high


def build(
    groups: Groups,
    group_by: tuple[str, ...],
    discounts: dict[tuple[Any, ...], Decimal] | None = None,
    sort: str | None = None,
    reverse: bool = False,
    limit: int | None = None,
    page: int = 1,
) -> Report:
    """Rows with shares, in order, one page of them, and the totals over all groups."""
    totals = make_row((), _total(groups.values()))
    rows = [make_row(key, m, totals, discounts) for key, m in groups.items()]
    order = sort or default_sort(group_by)
    if order == "group":
        rows.sort(key=lambda r: tuple(_sortable(v) for v in r.key), reverse=reverse)
    else:
        rows.sort(key=lambda r: tuple(_sortable(v) for v in r.key))  # ties in a stable order
        rows.sort(key=SORTS[order], reverse=not reverse)
    shown = rows[(page - 1) * limit : page * limit] if limit else rows
    return _report(group_by, shown, totals, discounts, len(rows), order, limit, page)


def default_sort(group_by: tuple[str, ...]) -> str:
    return "group" if group_by and group_by[0] in GRAINS else "cost"


def _report(group_by, shown, totals, discounts, count, order, limit, page) -> Report:
    discount = None if discounts is None else sum(discounts.values(), Decimal(0))
    return Report(
        group_by,
        shown,
        totals._replace(share=1.0 if count else None, discount_cents=discount),
        count,
        page,
        max(1, math.ceil(count / limit)) if limit else 1,
        limit,
        order,
    )


# Sorts the database can do itself, by the measure each reads.
SQL_SORTS = {
    "cost": "cost_cents",
    "requests": "requests",
    "input": "input_tokens",
    "output": "output_tokens",
    "unpriced": "unpriced_requests",
    "errors": "error_requests",
}


def report(
    session: Session,
    rows: UsageFilter,
    group_by: tuple[str, ...],
    tiers: tuple[Tier, ...] = (),
    sort: str | None = None,
    reverse: bool = False,
    limit: int | None = None,
    page: int = 1,
    zone: ZoneInfo | None = None,
    latency: bool = True,
) -> Report:
    """The report in `zone` (default: the session's), from rollups the session keeps exact;
    without `latency`, p95 is left out (None) and the statements are a fraction of the size.
    A page of the top groups by a plain measure is sorted and cut in SQL, so a thousand users
    cost no more than the twenty shown; anything else is sorted here."""
    zone = zone or session.zone
    order = sort or default_sort(group_by)
    conn = session.reading(zone)
    measures = MEASURES if latency else LEAN
    if limit and not tiers and order in SQL_SORTS:
        offset = (page - 1) * limit
        sort_by = SQL_SORTS[order]
        found = top(conn, rows, group_by, zone, sort_by, reverse, limit, offset, measures)
        if found is not None:
            groups, summed, count = found
            totals = make_row((), summed)
            shown = [make_row(key, m, totals) for key, m in groups.items()]
            return _report(group_by, shown, totals, None, count, order, limit, page)
    groups, discounts = measure(conn, rows, group_by, zone, tiers, measures)
    return build(groups, group_by, discounts, order, reverse, limit, page)


def top_rows(
    session: Session, rows: UsageFilter, group_by: tuple[str, ...], totals: Row, limit: int
) -> list[Row]:
    """The `limit` groups of most cost, without latency, each with its share of `totals` (the
    same rows' totals, which the caller has): a page of `report` without its totals and count."""
    conn = session.reading()
    found = top_page(conn, rows, group_by, session.zone, SQL_SORTS["cost"], limit, LEAN)
    if found is None:
        return report(session, rows, group_by, limit=limit, latency=False).rows
    return [make_row(key, m, totals) for key, m in found.items()]


def _sortable(value: Any) -> tuple[int, Any]:
    return (0, "") if value is None else (1, value)


def _total(all_measures: Iterable[list[Any]]) -> list[Any]:
    """The measures of all groups summed, column by column (the cost None only if all are)."""
    columns = list(zip(*all_measures, strict=True))
    if not columns:
        return zeros()
    costs = [cost for cost in columns[COST] if cost is not None]
    cost = sum(costs) if costs else None
    return [cost if i == COST else sum(column) for i, column in enumerate(columns)]


def fold(groups: Groups, group_by: tuple[str, ...], keep: tuple[str, ...]) -> Groups:
    """The groups summed over the dimensions not in `keep`: a report by model from the one by
    day and model, without a statement of its own."""
    at = [group_by.index(name) for name in keep]
    parts: dict[tuple[Any, ...], list[list[Any]]] = {}
    for key, measures in groups.items():
        parts.setdefault(tuple(key[i] for i in at), []).append(measures)
    return {key: _total(lists) for key, lists in parts.items()}


def measure(
    conn: Connection,
    rows: UsageFilter,
    group_by: tuple[str, ...],
    zone: ZoneInfo,
    tiers: tuple[Tier, ...] = (),
    measures: tuple[str, ...] = MEASURES,
) -> tuple[Groups, dict[tuple[Any, ...], Decimal] | None]:
    """The grouped measures; with volume discount tiers, each group's discount in cents."""
    if not tiers:
        return aggregate(conn, rows, group_by, zone, measures), None
    # A month's discount depends on the whole month's volume: split groups by month, apply
    # each month's rate, then fold the months back.
    by_month = group_by if "month" in group_by else (*group_by, "month")
    split = aggregate(conn, rows, by_month, zone, measures)
    months = {key[by_month.index("month")] for key in split}
    rates = {m: _discount_rate(tiers, month_days(conn, zone, m)) for m in months}
    return _fold_months(split, by_month, group_by, rates)


def _discount_rate(tiers: tuple[Tier, ...], days: list[tuple[int, Any]]) -> Decimal:
    total = monthly_discount(tiers, days)
    return total.discount_cents / total.list_cents if total.list_cents else Decimal(0)


def _fold_months(split: Groups, by_month, group_by, rates) -> tuple[Groups, dict]:
    at = by_month.index("month")
    groups: Groups = {}
    discounts: dict[tuple[Any, ...], Decimal] = {}
    for key, measures in split.items():
        cost = measures[COST] or Decimal(0)
        folded = key if len(by_month) == len(group_by) else key[:at] + key[at + 1 :]
        groups[folded] = add_measures(groups[folded], measures) if folded in groups else measures
        discounts[folded] = discounts.get(folded, Decimal(0)) + cost * rates[key[at]]
    return groups, {key: to_cents(d) for key, d in discounts.items()}


def nothing_found(session: Session, rows: UsageFilter) -> str:
    """The friendly line for an empty report; for a filter that matches no value the
    database has, the closest values it does have."""
    import difflib
    from fnmatch import fnmatchcase

    hints = []
    conn = session.reading()
    for group, globs in (("model", rows.models), ("user", rows.users), ("project", rows.projects)):
        if not globs:
            continue
        known = known_values(conn, group, session.zone)
        for glob in globs:
            if not any(fnmatchcase(value, glob) for value in known):
                close = difflib.get_close_matches(glob, known, n=3, cutoff=0.5)
                maybe = f"; close matches: {', '.join(close)}" if close else ""
                hints.append(f"no {group} in the database matches {glob!r}{maybe}")
    return "; ".join(hints) if hints else "no usage matches these filters"
