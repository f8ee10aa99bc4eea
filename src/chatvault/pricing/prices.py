"""What a request costs: rates from genai-prices or the config's overrides, exact Decimal cents.

Rates are looked up once per (provider, model, day) and cached; the cost of each row is then
integer arithmetic (`rates.py`, which says how it follows genai-prices' rules).

An unknown model has no rates and its cost is None (unpriced), never 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
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

if TYPE_CHECKING:
    from chatvault.config import PriceOverride

__all__ = [
    "PRICED_BY",
    "Listing",
    "PriceBook",
    "Rates",
    "ScaledRates",
    "Tiered",
    "TokenUsage",
    "Usages",
    "catalog",
    "cost_cents",
    "usage_of",
]


class PriceBook:
    """Rates by (provider, model, day): config overrides first, then genai-prices.

    `override_rows` counts the rows `costs` priced with the config's overrides, for a
    summary to say how many rows the config file's prices changed.
    """

    def __init__(self, overrides: tuple[PriceOverride, ...] = ()) -> None:
        self._overrides = overrides
        self._cache: dict[tuple[str | None, str, date], Rates | None] = {}
        self.override_rows = 0

    def costs(
        self, provider: str | None, model: str, day: date, usages: Usages
    ) -> list[int] | None:
        """Each usage's exact cost in millionths of a cent, or None if the model has no price:
        integer arithmetic a column at a time."""
        rates = self.rates(provider, model, day)
        if rates is None:
            return None
        costs = rates.scaled.costs(usages)
        if rates.override:
            self.override_rows += len(costs)
        return costs

    def rates(self, provider: str | None, model: str, day: date) -> Rates | None:
        key = (provider, model, day)
        if key not in self._cache:
            self._cache[key] = self._override(provider, model, day) or _listed(provider, model, day)
        return self._cache[key]

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
        )


def _listed(provider: str | None, model: str, day: date) -> Rates | None:
    """The model's rates in genai-prices' bundled (offline) price list, or None if unknown."""
    from genai_prices.data_snapshot import get_snapshot

    snapshot = get_snapshot()
    try:
        found_provider, found_model = snapshot.find_provider_model(model, None, provider, None)
    except LookupError:
        if provider is None:
            return None
        try:  # a provider name genai-prices does not use (a proxy's, say): match the model alone
            snapshot.find_provider(model, provider, None)
            return None  # the provider is known, and does not list this model
        except LookupError:
            try:
                found_provider, found_model = snapshot.find_provider_model(model, None, None, None)
            except LookupError:
                return None
    return _rates_of(found_provider, found_model, day)


def _rates_of(found_provider: Any, found_model: Any, day: date) -> Rates | None:
    import genai_prices

    prices = found_model.get_prices(datetime.combine(day, time(12), tzinfo=UTC))
    rates = {
        name: _tiered(getattr(prices, f"{name}_mtok", None))
        for name in ("input", "output", "cache_read", "cache_write", "cache_write_1h")
    }
    if rates["input"] is None or rates["output"] is None:
        return None  # not priced by tokens (images, audio minutes...): unpriced, not $0
    per_thousand = getattr(prices, "requests_kcount", None)
    return Rates(
        **rates,
        per_thousand_requests=per_thousand,
        source=f"genai-prices {genai_prices.__version__}: {found_provider.id}/{found_model.id}",
    )


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
            rates = _rates_of(provider, model, day)
            if rates is not None:
                found.append(Listing(provider.id, model.id, rates))
    return found


def _tiered(price: Any) -> Tiered | None:
    if price is None:
        return None
    if isinstance(price, Decimal):
        return Tiered(price)
    return Tiered(price.base, tuple((tier.start, tier.price) for tier in price.tiers))
