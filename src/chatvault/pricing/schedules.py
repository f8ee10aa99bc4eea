"""genai-prices' list prices, a model at a time, kept in chatvault's cache folder.

A model's list price depends on the UTC day only through its prices' start dates, and on the
time of day only through its off-peak hours. Its schedule (for each stretch of days from one
start date to the next, that stretch's price periods) is worked out once with genai-prices,
then kept as JSON under a key covering what it came from: the bytes of the installed
genai-prices' files (an upgrade, a downgrade or a reinstall rewrites them) and of chatvault's
pricing code, read when the process first prices. A run
whose models are all kept then never imports genai-prices and its pydantic models (0.15-0.2
s: most of an import of a few new lines). What is kept must decode to exactly what
genai-prices gave (each Decimal's digits and exponent too), else it is not kept; a model
priced on anything else than start dates and times of day is looked up in genai-prices on
every run. The config's overrides are applied before a list price is looked for
(prices.PriceBook): they are never part of what is kept.
"""

from __future__ import annotations

import hashlib
import json
import os
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from chatvault import cache
from chatvault.pricing import rates as rates_module
from chatvault.pricing.rates import Rates, Tiered

FORMAT = "schedules 1"  # what an entry means: a change of it must change the key
PRICES = ("input", "output", "cache_read", "cache_write", "cache_write_1h")
EAGER = 16  # a run stores after each of its first new schedules (see Schedules._schedule)
LIVE = "live"  # a model whose prices depend on more than the day and the time of day
DAMAGED = (TypeError, ValueError, KeyError, IndexError, ArithmeticError)  # JSON not a schedule


@dataclass(frozen=True)
class Period:
    """Rates in force from `start` (a UTC time of day) to the next period's start, or None
    when the model has no token price then."""

    start: time
    rates: Rates | None


# Each stretch of days (its first day, the first one date.min) with its periods, ascending;
# None for a model genai-prices does not know.
Schedule = tuple[tuple[date, tuple[Period, ...]], ...] | None


class Schedules:
    """The list-price schedules a run needs: from the cache folder when kept there, else
    worked out with genai-prices and kept for the next run."""

    def __init__(self) -> None:
        self._known: dict[tuple[str | None, str], Schedule | str] = {}
        self._kept: dict[str, Any] | None = None  # the cache entry, loaded on first need
        self._place: Path | None = None
        self._key: str | None = None
        self._new = 0  # schedules this run worked out and kept

    def periods(self, provider: str | None, model: str, day: date) -> tuple[Period, ...]:
        """The model's list prices through one UTC day, in order; the first starts at 00:00."""
        names = (provider, model)
        if names not in self._known:
            self._known[names] = self._schedule(provider, model)
        schedule = self._known[names]
        if schedule is LIVE:
            return listed(provider, model, day)
        if schedule is None:
            return (Period(time(0), None),)
        firsts = [first for first, _ in schedule]
        return schedule[bisect_right(firsts, day) - 1][1]

    def _schedule(self, provider: str | None, model: str) -> Schedule | str:
        kept = self._load()
        name = json.dumps([provider, model])
        if name in kept:
            try:
                return decoded(kept[name])
            except DAMAGED:
                pass  # worked out again below
        schedule = worked_out(provider, model)
        if schedule is not LIVE and self._place is not None and _bundled():
            try:
                kept[name] = checked(schedule)
            except DAMAGED:
                return schedule  # not kept: worked out again by the next run
            self._new += 1
            # Each store writes the whole entry: past the first few, a run of many new models
            # stores at 32, 64, 128... of them (the rest wait for the next run), not each time.
            if self._new <= EAGER or self._new & (self._new - 1) == 0:
                cache.store(self._place, self._key, kept)
        return schedule

    def _load(self) -> dict[str, Any]:
        if self._kept is None:
            self._key = process_key()
            self._place = None if self._key is None else cache.folder("prices")
            found = None if self._place is None else cache.load(self._place, self._key)
            self._kept = found if isinstance(found, dict) else {}
        return self._kept


def worked_out(provider: str | None, model: str) -> Schedule | str:
    """A model's schedule, from genai-prices: the periods of one day of each stretch."""
    from genai_prices.types import StartDateConstraint, TimeOfDateConstraint

    found = find(provider, model)
    if found is None:
        return None
    conditions = found[1].prices if isinstance(found[1].prices, list) else []
    starts = set()
    for condition in conditions:
        constraint = condition.constraint
        if isinstance(constraint, StartDateConstraint):
            starts.add(constraint.start_date)
        elif constraint is not None and not isinstance(constraint, TimeOfDateConstraint):
            return LIVE
    firsts = sorted(starts)
    if not firsts or firsts[0] > date.min:
        firsts.insert(0, date.min)
    schedule = []
    for index, first in enumerate(firsts):  # any day of a stretch prices it all
        if first > date.min:
            day = first
        elif index + 1 < len(firsts):
            day = firsts[index + 1] - timedelta(days=1)
        else:
            day = date(2000, 1, 1)  # no start date: every day is priced alike
        schedule.append((first, listed(provider, model, day)))
    return tuple(schedule)


def listed(provider: str | None, model: str, day: date) -> tuple[Period, ...]:
    """The model's prices through `day` in genai-prices' bundled (offline) price list: one
    period per stretch of the day its prices stay the same; unpriced if it is unknown."""
    found = find(provider, model)
    if found is None:
        return (Period(time(0), None),)
    found_provider, found_model = found
    periods: list[Period] = []
    for start in _boundaries(found_model):
        rates = rates_at(found_provider, found_model, datetime.combine(day, start, tzinfo=UTC))
        if not periods or rates != periods[-1].rates:
            periods.append(Period(start, rates))
    return tuple(periods)


def find(provider: str | None, model: str) -> tuple[Any, Any] | None:
    """genai-prices' provider and model for a request's names, or None if it has none."""
    from genai_prices.data_snapshot import get_snapshot

    snapshot = get_snapshot()
    try:
        return snapshot.find_provider_model(model, None, provider, None)
    except LookupError:
        if provider is None:
            return None
        try:  # a provider name genai-prices does not use (a proxy's, say): match the model alone
            snapshot.find_provider(model, provider, None)
            return None  # the provider is known, and does not list this model
        except LookupError:
            try:
                return snapshot.find_provider_model(model, None, None, None)
            except LookupError:
                return None


def rates_at(found_provider: Any, found_model: Any, at: datetime) -> Rates | None:
    """A genai-prices model's token rates at an instant; None if it is not priced by tokens
    (images, audio minutes...): unpriced, not $0."""
    import genai_prices

    prices = found_model.get_prices(at)
    rates = {name: _tiered(getattr(prices, f"{name}_mtok", None)) for name in PRICES}
    if rates["input"] is None or rates["output"] is None:
        return None
    per_thousand = getattr(prices, "requests_kcount", None)
    return Rates(
        **rates,
        per_thousand_requests=per_thousand,
        source=f"genai-prices {genai_prices.__version__}: {found_provider.id}/{found_model.id}",
        price_data=f"genai-prices {genai_prices.__version__}",
    )


def _boundaries(found_model: Any) -> list[time]:
    """The UTC times of day at which a model's list price may change: midnight (a price's
    start date begins a UTC day) and the ends of its time-of-day prices (off-peak hours)."""
    times = {time(0)}
    for conditional in found_model.prices if isinstance(found_model.prices, list) else ():
        constraint = conditional.constraint
        for name in ("start_time", "end_time"):  # a TimeOfDateConstraint's
            value = getattr(constraint, name, None)
            if isinstance(value, time):
                times.add(_utc_time(value))
    return sorted(times)


def _utc_time(value: time) -> time:
    """A time of day in UTC, naive (a naive time is UTC already)."""
    if value.tzinfo is None:
        return value
    return datetime.combine(date(2000, 1, 1), value).astimezone(UTC).time()


def _tiered(price: Any) -> Tiered | None:
    if price is None:
        return None
    if isinstance(price, Decimal):
        return Tiered(price)
    return Tiered(price.base, tuple((tier.start, tier.price) for tier in price.tiers))


def _bundled() -> bool:
    """Whether genai-prices prices from its bundled data (not a snapshot set at run time,
    which no key could cover)."""
    from genai_prices import data
    from genai_prices.data_snapshot import get_snapshot

    return get_snapshot().providers is data.providers


_PROCESS_KEY: list[str | None] = []


def process_key() -> str | None:
    """`_key()` when this process first asked: the genai-prices it prices with is the one it
    imported then, whatever is installed since (a server running through an upgrade must
    not keep its old prices under the new files' key)."""
    if not _PROCESS_KEY:
        _PROCESS_KEY.append(_key())
    return _PROCESS_KEY[0]


def _key() -> str | None:
    """What the kept schedules were worked out from: the bytes of each file of the installed
    genai-prices and of chatvault's pricing code, and the format; None when genai-prices
    cannot be found (then nothing is kept). Bytes, not sizes and times: a file rewritten in
    place with its old size and time kept (cp -p, a reproducible build) changes the key."""
    from importlib.util import find_spec

    try:
        spec = find_spec("genai_prices")
        folders = list(spec.submodule_search_locations or ()) if spec else []
        ours = [Path(__file__), Path(rates_module.__file__ or "")]
        files = [Path(folder, name) for folder in folders for name in sorted(os.listdir(folder))]
        digest = hashlib.sha256(FORMAT.encode())
        for path in [*files, *ours]:
            if path.suffix == ".py":
                digest.update(str(path).encode(errors="surrogateescape") + b"\0")
                digest.update(path.read_bytes())
    except (ImportError, ValueError, OSError):
        return None
    if not folders:
        return None
    return digest.hexdigest()[:32]


def encoded(schedule: Schedule) -> Any:
    """A schedule as JSON data: Decimals as their text, which keeps every digit."""
    if schedule is None:
        return None
    return [
        [first.isoformat(), [[p.start.isoformat(), _rates_data(p.rates)] for p in periods]]
        for first, periods in schedule
    ]


def checked(schedule: Schedule) -> Any:
    """The schedule's JSON data, if it decodes to exactly the schedule (compared by repr:
    each Decimal's digits and exponent, each time's microseconds); else a ValueError."""
    entry = json.loads(json.dumps(encoded(schedule)))
    if repr(decoded(entry)) != repr(schedule):
        raise ValueError("the schedule would not be kept exactly")
    return entry


def _rates_data(rates: Rates | None) -> Any:
    if rates is None:
        return None
    found: dict[str, Any] = {name: _tiered_data(getattr(rates, name)) for name in PRICES}
    per_thousand = rates.per_thousand_requests
    found["per_thousand_requests"] = None if per_thousand is None else str(per_thousand)
    return {**found, "source": rates.source, "price_data": rates.price_data}


def _tiered_data(tiered: Tiered | None) -> Any:
    if tiered is None:
        return None
    return [str(tiered.base), [[start, str(price)] for start, price in tiered.tiers]]


def decoded(data: Any) -> Schedule:
    """A schedule from its JSON data; TypeError, ValueError... if it is not one."""
    if data is None:
        return None
    schedule = tuple(
        (date.fromisoformat(first), tuple(_period(*period) for period in periods))
        for first, periods in data
    )
    firsts = [first for first, _ in schedule]
    if not firsts or firsts[0] != date.min or firsts != sorted(set(firsts)):
        raise ValueError("not a schedule")
    for _, periods in schedule:
        starts = [period.start for period in periods]
        if not starts or starts[0] != time(0) or starts != sorted(set(starts)):
            raise ValueError("not a day's periods")
    return schedule


def _period(start: str, rates: Any) -> Period:
    return Period(time.fromisoformat(start), None if rates is None else _rates(rates))


def _rates(data: dict[str, Any]) -> Rates:
    prices = {name: _tiered_of(data[name]) for name in PRICES}
    if prices["input"] is None or prices["output"] is None:
        raise ValueError("rates without an input or output price")
    per_thousand = data["per_thousand_requests"]
    source, price_data = data["source"], data["price_data"]
    if not isinstance(source, str) or not isinstance(price_data, str):
        raise TypeError("the source and price data are text")
    return Rates(
        **prices,
        per_thousand_requests=None if per_thousand is None else _decimal(per_thousand),
        source=source,
        price_data=price_data,
    )


def _tiered_of(data: Any) -> Tiered | None:
    if data is None:
        return None
    base, tiers = data
    found = tuple((_integer(start), _decimal(price)) for start, price in tiers)
    return Tiered(_decimal(base), found)


def _decimal(text: Any) -> Decimal:
    """A Decimal from its text only: a float would bring its binary approximation."""
    if not isinstance(text, str):
        raise TypeError("a price is kept as text")
    found = Decimal(text)
    if not found.is_finite():
        raise ValueError("a price is a finite number")
    return found


def _integer(value: Any) -> int:
    if type(value) is not int:
        raise TypeError("a tier's threshold is an integer")
    return value
