"""What a request costs: rates from genai-prices or the config's overrides, exact Decimal cents.

Rates are looked up once per (provider, model, day) and cached; the cost of each row is then
a few Decimal multiplications. The arithmetic follows genai-prices' own rules (tests check
it against `genai_prices.calc_price`):

- a token kind without its own price is billed at the price of the kind it belongs to:
  1-hour cache writes at the cache-write price, cache writes and reads at the input price;
- a long-context tier applies to the whole request once its total input (cache included)
  passes the tier's threshold, as the providers bill it. A pre-aggregated bucket of many
  requests is judged by its average prompt, unless its source says which context window
  applied ('0-200k', '200k-1M');
- the batch service tier costs half the standard price (OpenAI's and Anthropic's batch APIs).

An unknown model has no rates and its cost is None (unpriced), never 0.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chatvault.db.types import to_cents

if TYPE_CHECKING:
    from chatvault.config import PriceOverride

PER_MILLION = Decimal(1_000_000)
CENTS_PER_DOLLAR = Decimal(100)


@dataclass(frozen=True)
class Tiered:
    """A price in USD per million tokens, stepping up once total input passes a threshold."""

    base: Decimal
    tiers: tuple[tuple[int, Decimal], ...] = ()  # (threshold in input tokens, price), ascending

    def at(self, total_input: int) -> Decimal:
        price = self.base
        for threshold, tier_price in self.tiers:
            if total_input > threshold:
                price = tier_price
        return price


@dataclass(frozen=True)
class Rates:
    """One model's prices on one day. `source` says where they come from, for people."""

    input: Tiered
    output: Tiered
    cache_read: Tiered | None
    cache_write: Tiered | None
    cache_write_1h: Tiered | None
    per_thousand_requests: Decimal | None
    source: str


@dataclass(frozen=True)
class TokenUsage:
    """Token counts in chatvault's convention: `input` excludes cache reads and writes, and
    `cache_write_1h` is the part of `cache_write` with a 1-hour lifetime."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    cache_write_1h: int = 0
    requests: int = 1
    service_tier: str | None = None
    context_window: str | None = None  # as the source reported it, e.g. '200k-1M'


# The usage_logs columns a cost depends on, and the TokenUsage field each one becomes.
PRICED_BY = {
    "input_tokens": "input",
    "output_tokens": "output",
    "cache_read_tokens": "cache_read",
    "cache_write_tokens": "cache_write",
    "cache_write_1h_tokens": "cache_write_1h",
    "request_count": "requests",
    "service_tier": "service_tier",
    "context_window": "context_window",
}


def usage_of(row: Mapping[str, Any]) -> TokenUsage:
    """The usage of a usage_logs row (or of a record's row, before it is stored)."""
    return TokenUsage(**{field: row[column] for column, field in PRICED_BY.items()})


BATCH_FACTOR = Decimal("0.5")
_WINDOW = re.compile(r"^\s*(\d+)([kKmM]?)\s*-")


def cost_cents(usage: TokenUsage, rates: Rates) -> Decimal:
    """The exact cost in US cents, to a millionth of a cent."""
    total_input = _tier_basis(usage)
    input_price = rates.input.at(total_input)
    read_price = _price(rates.cache_read, total_input, input_price)
    write_price = _price(rates.cache_write, total_input, input_price)
    write_1h_price = _price(rates.cache_write_1h, total_input, write_price)
    dollars_per_million = (
        usage.input * input_price
        + usage.output * rates.output.at(total_input)
        + usage.cache_read * read_price
        + (usage.cache_write - usage.cache_write_1h) * write_price
        + usage.cache_write_1h * write_1h_price
    )
    dollars = dollars_per_million / PER_MILLION
    if rates.per_thousand_requests is not None:
        dollars += usage.requests * rates.per_thousand_requests / 1000
    if usage.service_tier == "batch":
        dollars *= BATCH_FACTOR
    return to_cents(dollars * CENTS_PER_DOLLAR)


def _tier_basis(usage: TokenUsage) -> int:
    """The prompt size that decides a long-context tier: just above the lower bound of the
    reported context window, or else the average prompt of the usage's requests."""
    match = _WINDOW.match(usage.context_window or "")
    if match:
        scale = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
        return int(match.group(1)) * scale + 1
    return (usage.input + usage.cache_read + usage.cache_write) // max(usage.requests, 1)


def _price(tiered: Tiered | None, total_input: int, fallback: Decimal) -> Decimal:
    return fallback if tiered is None else tiered.at(total_input)


class PriceBook:
    """Rates by (provider, model, day): config overrides first, then genai-prices."""

    def __init__(self, overrides: tuple[PriceOverride, ...] = ()) -> None:
        self._overrides = overrides
        self._cache: dict[tuple[str | None, str, date], Rates | None] = {}

    def rates(self, provider: str | None, model: str, day: date) -> Rates | None:
        key = (provider, model, day)
        if key not in self._cache:
            self._cache[key] = self._override(provider, model, day) or _listed(provider, model, day)
        return self._cache[key]

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
