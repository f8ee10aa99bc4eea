"""The arithmetic of a cost: a model's rates, and many usages priced at once in integers.

The arithmetic follows genai-prices' own rules (tests check it against `genai_prices.calc_price`):

- a token kind without its own price is billed at the price of the kind it belongs to:
  1-hour cache writes at the cache-write price, cache writes and reads at the input price;
- a long-context tier applies to the whole request once its total input (cache included)
  passes the tier's threshold, as the providers bill it. A pre-aggregated bucket of many
  requests is judged by its average prompt, unless its source says which context window
  applied ('0-200k', '200k-1M');
- the batch service tier costs half the standard price (OpenAI's and Anthropic's batch APIs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from itertools import repeat
from typing import Any

from chatvault.db.types import from_micro_cents


@dataclass(frozen=True)
class Tiered:
    """A price in USD per million tokens, stepping up once total input passes a threshold."""

    base: Decimal
    tiers: tuple[tuple[int, Decimal], ...] = ()  # (threshold in input tokens, price), ascending

    def at(self, total_input: int) -> Decimal:
        return _tier_at(self.base, self.tiers, total_input)


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
    override: bool = False  # set by the config's overrides, not the price list
    # The price data, as recorded with a cost: 'genai-prices 0.2.3', or 'config override'.
    price_data: str = ""

    @cached_property
    def scaled(self) -> ScaledRates:
        return ScaledRates(self)

    def billed(self, kind: str) -> tuple[Tiered, str | None]:
        """The price a token kind is billed at, and the kind whose price it takes when it has
        none of its own ('input' for a cache read, say), else None."""
        own = getattr(self, kind)
        if own is not None or kind in ("input", "output"):
            return own, None
        fallback = "cache_write" if kind == "cache_write_1h" else "input"
        price, inherited = self.billed(fallback)
        return price, inherited or fallback


class ScaledRates:
    """A Rates' prices as integers over one power of ten, so a cost is integer arithmetic.

    A token costs price * 100 millionths of a cent (price in USD per million tokens), a
    request per_thousand * 100_000; every price is multiplied by `scale` to make it whole.
    """

    def __init__(self, rates: Rates) -> None:
        prices = [
            rates.input,
            rates.output,
            rates.cache_read,
            rates.cache_write,
            rates.cache_write_1h,
        ]
        decimals = [
            price for tiered in prices if tiered is not None for price in _all_prices(tiered)
        ]
        if rates.per_thousand_requests is not None:
            decimals.append(rates.per_thousand_requests)
        places = max([0, *(-d.as_tuple().exponent for d in decimals)])
        self.scale = 10**places
        thresholds = sorted({t for tiered in prices if tiered for t, _ in tiered.tiers})
        self.tiers = [(-1, self._at(rates, 0))]  # (threshold, prices once past it), ascending
        self.tiers += [(t, self._at(rates, t + 1)) for t in thresholds]
        per_thousand = rates.per_thousand_requests or Decimal(0)
        self.per_request = int(per_thousand * 100_000 * self.scale)

    def _at(self, rates: Rates, total_input: int) -> tuple[int, int, int, int, int]:
        input_price = rates.input.at(total_input)
        write_price = _price(rates.cache_write, total_input, input_price)
        prices = (
            input_price,
            rates.output.at(total_input),
            _price(rates.cache_read, total_input, input_price),
            write_price,
            _price(rates.cache_write_1h, total_input, write_price),
        )
        return tuple(int(price * 100 * self.scale) for price in prices)  # type: ignore[return-value]

    def costs(self, usages: Usages) -> list[int]:
        """Each usage's exact cost in millionths of a cent, rounded half up: integer
        arithmetic a column at a time (ingest prices thousands of rows per call)."""
        if len(self.tiers) == 1:
            prices: Iterable[tuple[int, ...]] = repeat(self.tiers[0][1])
        else:
            prices = map(self._prices_for, usages.tier_bases())
        per_request = self.per_request
        numerators = [
            i * p[0] + o * p[1] + r * p[2] + (w - w1) * p[3] + w1 * p[4] + n * per_request
            for i, o, r, w, w1, n, p in zip(*usages.counts, prices, strict=False)
        ]
        # cost = numerator / scale (halved on the batch tier), rounded half up
        denominators = [2 * self.scale if batch else self.scale for batch in usages.batch]
        return [(2 * n + d) // (2 * d) for n, d in zip(numerators, denominators, strict=True)]

    def _prices_for(self, tier_basis: int) -> tuple[int, ...]:
        return _tier_at(self.tiers[0][1], self.tiers, tier_basis)


@dataclass(frozen=True)
class Usages:
    """Many usages as columns: `counts` are input, output, cache_read, cache_write,
    cache_write_1h and requests (chatvault's convention, see TokenUsage)."""

    counts: Sequence[Sequence[int]]
    service_tiers: Sequence[str | None]
    context_windows: Sequence[str | None]

    def pick(self, indexes: Sequence[int]) -> Usages:
        """The usages at `indexes`, in that order."""
        return Usages(
            [[column[i] for i in indexes] for column in self.counts],
            [self.service_tiers[i] for i in indexes],
            [self.context_windows[i] for i in indexes],
        )

    @property
    def batch(self) -> list[bool]:
        return [tier == "batch" for tier in self.service_tiers]

    def tier_bases(self) -> list[int]:
        """The prompt size that decides each usage's long-context tier: just above the lower
        bound of the context window its source reported, or else its average prompt."""
        inputs, _, reads, writes, _, requests = self.counts
        averages = [
            (i + r + w) // max(n, 1)
            for i, r, w, n in zip(inputs, reads, writes, requests, strict=True)
        ]
        if not any(self.context_windows):
            return averages
        told = map(_window_basis, self.context_windows)
        return [
            average if basis is None else basis
            for average, basis in zip(averages, told, strict=True)
        ]


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


_WINDOW = re.compile(r"^\s*(\d+)([kKmM]?)\s*-")


def cost_cents(usage: TokenUsage, rates: Rates) -> Decimal:
    """The exact cost in US cents, to a millionth of a cent."""
    counts = (
        usage.input,
        usage.output,
        usage.cache_read,
        usage.cache_write,
        usage.cache_write_1h,
        usage.requests,
    )
    usages = Usages([[count] for count in counts], [usage.service_tier], [usage.context_window])
    (micro_cents,) = rates.scaled.costs(usages)
    return from_micro_cents(micro_cents)


def _window_basis(context_window: str | None) -> int | None:
    """Just above the lower bound of a reported context window ('200k-1M' -> 200_001)."""
    match = _WINDOW.match(context_window or "")
    if not match:
        return None
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    return int(match.group(1)) * scale + 1


def _tier_at(base: Any, tiers: Sequence[tuple[int, Any]], basis: int) -> Any:
    """The value of the last tier whose threshold `basis` passes (thresholds ascending), else
    `base`."""
    for threshold, value in tiers:
        if basis > threshold:
            base = value
    return base


def _price(tiered: Tiered | None, total_input: int, fallback: Decimal) -> Decimal:
    return fallback if tiered is None else tiered.at(total_input)


def _all_prices(tiered: Tiered) -> list[Decimal]:
    return [tiered.base, *(price for _, price in tiered.tiers)]
