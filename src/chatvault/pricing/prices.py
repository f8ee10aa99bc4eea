"""What a request costs: rates from genai-prices or the config's overrides, exact Decimal cents.

A price is the one in force at the request's instant. Rates are looked up once per price
period (a day, or the part of a day a time-of-day price holds, as DeepSeek's off-peak hours)
and cached, the list prices in chatvault's cache folder too (`schedules.py`); the cost of
each row is then integer arithmetic (`rates.py`, which says how it follows genai-prices'
rules).

An unknown model has no rates and its cost is None (unpriced), never 0.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatvault.pricing.rates import (
    PRICED_BY,
    Rates,
    ScaledRates,
    Tiered,
    TokenUsage,
    Usages,
    cost_cents,
    usage_of,
)
from chatvault.pricing.schedules import Period, Schedules, rates_at

if TYPE_CHECKING:
    from chatvault.config import PriceOverride

OVERRIDE = "config override"  # the price data of a cost the config's overrides priced

__all__ = [
    "PRICED_BY",
    "Listing",
    "Period",
    "PriceBook",
    "PriceData",
    "Priced",
    "Rates",
    "ScaledRates",
    "Tiered",
    "TokenUsage",
    "Usages",
    "catalog",
    "cost_cents",
    "price_data",
    "usage_of",
]


@dataclass(frozen=True)
class Priced:
    """Usages priced: each one's cost in millionths of a cent, and the price data that
    priced it (Rates.price_data); both None where the model has no price at its instant."""

    costs: list[int | None]
    price_data: list[str | None]


class PriceBook:
    """Rates in force at an instant: config overrides first, then genai-prices.

    A day's price periods are looked up once per (provider, model, UTC day) and cached: a
    list price can change at a time of day (DeepSeek's off-peak hours), an override only at
    a day's start. `costs` prices a day's usages a period at a time, in integers.

    `override_rows` counts the rows `costs` priced with the config's overrides, for a
    summary to say how many rows the config file's prices changed.
    """

    def __init__(self, overrides: tuple[PriceOverride, ...] = ()) -> None:
        self._overrides = overrides
        self._cache: dict[tuple[str | None, str, date], tuple[Period, ...]] = {}
        self._schedules = Schedules()
        self.override_rows = 0

    def periods(self, provider: str | None, model: str, day: date) -> tuple[Period, ...]:
        """The model's prices through one UTC day, in order; the first starts at 00:00."""
        key = (provider, model, day)
        if key not in self._cache:
            override = self._override(provider, model, day)
            if override:
                self._cache[key] = (Period(time(0), override),)
            else:
                self._cache[key] = self._schedules.periods(provider, model, day)
        return self._cache[key]

    def rates(self, provider: str | None, model: str, at: datetime | date) -> Rates | None:
        """The rates in force at an instant (naive means UTC); a date alone stands for its
        noon, UTC (what `pricing list` shows for a day): price a request by its instant."""
        if not isinstance(at, datetime):
            at = datetime.combine(at, time(12))
        elif at.tzinfo is not None:
            at = at.astimezone(UTC).replace(tzinfo=None)
        periods = self.periods(provider, model, at.date())
        starts = [period.start for period in periods]
        return periods[bisect_right(starts, at.time()) - 1].rates

    def costs(
        self, provider: str | None, model: str, day: date, times: Sequence[Any], usages: Usages
    ) -> Priced | None:
        """Each usage's exact cost at its instant and the price data that priced it (None
        where the model has no price then), or None when it has no price all day. `times`
        are the usages' instants on `day`: UTC text as db.types.utc_text writes it, or
        datetimes (naive means UTC). One period (most days of most models): one call, no look
        at the times. Several: usages are split by period and each part priced at once."""
        periods = self.periods(provider, model, day)
        if len(periods) == 1:
            rates = periods[0].rates
            if rates is None:
                return None
            costs: list[int | None] = list(self._priced(rates, usages))
            return Priced(costs, [rates.price_data] * len(costs))
        if all(period.rates is None for period in periods):
            return None
        starts = [period.start.isoformat("microseconds") for period in periods]
        parts: dict[int, list[int]] = {}
        for index, moment in enumerate(times):
            part = bisect_right(starts, _time_of_day(moment)) - 1
            parts.setdefault(part, []).append(index)
        found = Priced([None] * len(times), [None] * len(times))
        for part, indexes in parts.items():
            rates = periods[part].rates
            if rates is None:
                continue
            for index, cost in zip(indexes, self._priced(rates, usages.pick(indexes)), strict=True):
                found.costs[index], found.price_data[index] = cost, rates.price_data
        return found

    def _priced(self, rates: Rates, usages: Usages) -> list[int]:
        costs = rates.scaled.costs(usages)
        if rates.override:
            self.override_rows += len(costs)
        return costs

    def scoped_providers(self, model: str) -> list[str]:
        """The providers an override of `model` is limited to, in the config's order."""
        found = [o.provider for o in self._overrides if o.model.lower() == model.lower()]
        return list(dict.fromkeys(p for p in found if p is not None))

    def _override(self, provider: str | None, model: str, day: date) -> Rates | None:
        matching = [
            o
            for o in self._overrides
            if o.model.lower() == model.lower()
            and (o.provider is None or (provider or "").lower() == o.provider.lower())
            and (o.effective_from is None or o.effective_from <= day)
        ]
        if not matching:
            return None
        chosen = max(matching, key=lambda o: (o.effective_from or date.min, o.provider is not None))
        since = f" from {chosen.effective_from}" if chosen.effective_from else ""
        return Rates(
            input=Tiered(chosen.input),
            output=Tiered(chosen.output),
            cache_read=None if chosen.cache_read is None else Tiered(chosen.cache_read),
            cache_write=None if chosen.cache_write is None else Tiered(chosen.cache_write),
            cache_write_1h=None if chosen.cache_write_1h is None else Tiered(chosen.cache_write_1h),
            per_thousand_requests=None,
            source=f"config override{since}",
            override=True,
            price_data=OVERRIDE,
        )


def _time_of_day(moment: Any) -> str:
    """A UTC instant's time of day as 'HH:MM:SS.ffffff', from utc_text or a datetime."""
    if isinstance(moment, str):
        return moment[11:]
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.time().isoformat("microseconds")


@dataclass(frozen=True)
class PriceData:
    """The price list in use: genai-prices' data, bundled with the installed release.

    The data carries no date of its own; its installation's date is a lower bound of its age
    (the data is at least that old). A newer genai-prices release in chatvault's range
    (pyproject.toml) brings newer prices: `pip install -U genai-prices`.
    """

    name: str
    version: str
    installed: date | None  # when this release was installed, UTC; None if unknown

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


def price_data() -> PriceData:
    """The installed genai-prices release and the day it was installed."""
    from importlib.metadata import distribution

    found = distribution("genai-prices")
    metadata = [f for f in found.files or () if f.name == "METADATA"]
    try:
        stamp = Path(str(metadata[0].locate())).stat().st_mtime if metadata else None
    except OSError:
        stamp = None
    installed = None if stamp is None else datetime.fromtimestamp(stamp, UTC).date()
    return PriceData("genai-prices", found.version, installed)


@dataclass(frozen=True)
class Listing:
    provider: str
    model: str
    rates: Rates


def catalog(day: date, search: str | None = None, overrides: tuple = ()) -> list[Listing]:
    """Every model with token prices on `day`: the config's overrides, then genai-prices'."""
    from genai_prices.data_snapshot import get_snapshot

    wanted = (search or "").lower()
    book = PriceBook(overrides)
    found = [
        Listing(o.provider or "*", o.model, rates)
        for o in overrides
        if wanted in o.model.lower() and (rates := book.rates(o.provider, o.model, day))
    ]
    for provider in get_snapshot().providers:
        for model in provider.models:
            if wanted and wanted not in f"{provider.id} {model.id} {model.name or ''}".lower():
                continue
            rates = rates_at(provider, model, datetime.combine(day, time(12), tzinfo=UTC))
            if rates is not None:
                found.append(Listing(provider.id, model.id, rates))
    return found
