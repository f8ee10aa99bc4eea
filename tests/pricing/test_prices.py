"""Costs: hand-computed from published prices, and equal to genai-prices' own calculation."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import genai_prices
import pytest

from chatvault.config import PriceOverride
from chatvault.pricing.prices import PriceBook, Rates, Tiered, TokenUsage, Usages, cost_cents
from tests.pricing.reference import genai_cents

DAY = date(2025, 10, 1)
book = PriceBook()


def cents(provider: str | None, model: str, **usage: int) -> Decimal | None:
    rates = book.rates(provider, model, DAY)
    return None if rates is None else cost_cents(TokenUsage(**usage), rates)


def test_hand_computed_claude_sonnet_4():
    """$3 input, $15 output, $0.30 cache read, $3.75 5-minute and $6 1-hour cache writes."""
    assert cents("anthropic", "claude-sonnet-4-20250514", input=1_000_000) == Decimal("300")
    assert cents("anthropic", "claude-sonnet-4-20250514", output=1000) == Decimal("1.5")
    assert cents("anthropic", "claude-sonnet-4-20250514", cache_read=10_000) == Decimal("0.3")
    # 10k cache writes, 4k of them with a 1-hour lifetime: 6k x 3.75 + 4k x 6 per million
    assert cents(
        "anthropic", "claude-sonnet-4-20250514", cache_write=10_000, cache_write_1h=4_000
    ) == Decimal("4.65")
    assert cents("anthropic", "claude-sonnet-4-20250514", input=1) == Decimal("0.0003")


def test_long_context_tier_applies_to_the_whole_request():
    """claude-sonnet-4-5 doubles input (and 1.5x output) once the prompt passes 200k tokens."""
    at_threshold = cents("anthropic", "claude-sonnet-4-5", input=200_000, output=1000)
    assert at_threshold == Decimal("60") + Decimal("1.5")  # 200k x $3, 1k x $15
    past = cents("anthropic", "claude-sonnet-4-5", input=250_000, output=1000)
    assert past == Decimal("150") + Decimal("2.25")  # 250k x $6, 1k x $22.50
    # cached tokens count toward the threshold: 150k fresh + 100k cache reads
    mixed = cents("anthropic", "claude-sonnet-4-5", input=150_000, cache_read=100_000)
    assert mixed == Decimal("90") + Decimal("6")  # 150k x $6 + 100k x $0.60


def test_cache_without_its_own_price_is_billed_as_input():
    """gemini-2.5-pro lists no cache-write price: writes cost what input costs."""
    assert cents("google", "gemini-2.5-pro", cache_write=100_000) == Decimal("12.5")  # x $1.25


def test_unknown_model_is_unpriced_not_free():
    assert book.rates(None, "my-finetuned-llama", DAY) is None
    assert book.rates("anthropic", "claude-nonexistent-9", DAY) is None


def test_a_provider_name_genai_prices_does_not_use_still_finds_the_model():
    rates = book.rates("my-litellm-proxy", "gpt-4o", DAY)
    assert rates is not None and rates.input.base == Decimal("2.5")


MODELS = [
    ("anthropic", "claude-sonnet-4-20250514"),
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-opus-4-1"),
    ("anthropic", "claude-3-5-haiku-20241022"),
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("openai", "o1"),
    ("google", "gemini-2.5-pro"),
    ("google", "gemini-2.0-flash"),
]
USAGES = [
    TokenUsage(input=1234, output=567),
    TokenUsage(input=10, output=0, cache_read=90_000),
    TokenUsage(input=3, output=800, cache_read=120_000, cache_write=30_000, cache_write_1h=12_000),
    TokenUsage(input=250_000, output=4000, cache_read=1000, cache_write=500),
    TokenUsage(input=0, output=0),
]


@pytest.mark.parametrize(("provider", "model"), MODELS)
def test_equal_to_genai_prices(provider, model):
    rates = book.rates(provider, model, DAY)
    assert rates is not None
    moment = datetime(2025, 10, 1, 12, tzinfo=UTC)
    for usage in USAGES:
        expected = genai_cents(provider, model, moment, usage)
        assert cost_cents(usage, rates) == expected, (model, usage)


def test_overrides_win_and_follow_effective_dates():
    overrides = (
        PriceOverride(model="gpt-4o", input=Decimal("1"), output=Decimal("2")),
        PriceOverride(
            model="GPT-4o", input=Decimal("5"), output=Decimal("6"), effective_from=date(2025, 6, 1)
        ),
        PriceOverride(
            model="house-model", provider="ollama", input=Decimal("0"), output=Decimal("0")
        ),
    )
    priced = PriceBook(overrides)
    before = priced.rates("openai", "gpt-4o", date(2025, 5, 31))
    after = priced.rates("openai", "gpt-4o", date(2025, 6, 1))
    assert (before.input.base, after.input.base) == (Decimal("1"), Decimal("5"))
    assert after.source == "config override from 2025-06-01"
    free = priced.rates("ollama", "house-model", DAY)
    assert cost_cents(TokenUsage(input=10**6, output=10**6), free) == Decimal("0")
    assert priced.rates("other", "house-model", DAY) is None  # the override names its provider
    # cache prices default to the input price
    assert cost_cents(TokenUsage(cache_read=10**6), after) == Decimal("500")


def test_list_prices_are_worked_out_once_per_model_not_per_day(monkeypatch):
    import chatvault.pricing.schedules as schedules

    calls = []
    real = schedules.listed
    monkeypatch.setattr(schedules, "listed", lambda *a: calls.append(a) or real(*a))
    fresh = PriceBook()
    for _, day in itertools.product(range(1000), (DAY, date(2025, 10, 2), date(2026, 3, 1))):
        fresh.rates("openai", "gpt-4o", day)
    made = len(calls)
    PriceBook().rates("openai", "gpt-4o", DAY)  # a new run: from the cache folder
    assert len(calls) == made
    monkeypatch.setattr(schedules, "listed", real)
    assert made == len(schedules.worked_out("openai", "gpt-4o"))  # once per stretch of days


def test_a_bucket_is_judged_by_its_average_prompt_or_what_its_source_says():
    rates = book.rates("anthropic", "claude-sonnet-4-5", DAY)
    ten_small = TokenUsage(input=1_000_000, requests=10)  # 100k each: under the 200k tier
    assert cost_cents(ten_small, rates) == Decimal("300")
    told_long = TokenUsage(input=1_000_000, requests=10, context_window="200k-1M")
    assert cost_cents(told_long, rates) == Decimal("600")
    told_short = TokenUsage(input=1_000_000, requests=1, context_window="0-200k")
    assert cost_cents(told_short, rates) == Decimal("300")


def test_batch_costs_half():
    rates = book.rates("openai", "gpt-4o", DAY)
    usage = TokenUsage(input=1_000_000, output=1_000_000)
    assert cost_cents(usage, rates) == Decimal("1250")
    assert cost_cents(
        TokenUsage(input=10**6, output=10**6, service_tier="batch"), rates
    ) == Decimal("625")


def _reference_cents(usage: TokenUsage, rates: Rates) -> Decimal:
    """The cost as plain Decimal arithmetic, rounded half up to a millionth of a cent."""
    basis = (usage.input + usage.cache_read + usage.cache_write) // max(usage.requests, 1)
    input_price = rates.input.at(basis)
    write = rates.cache_write.at(basis) if rates.cache_write else input_price
    dollars = (
        usage.input * input_price
        + usage.output * rates.output.at(basis)
        + usage.cache_read * (rates.cache_read.at(basis) if rates.cache_read else input_price)
        + (usage.cache_write - usage.cache_write_1h) * write
        + usage.cache_write_1h * (rates.cache_write_1h.at(basis) if rates.cache_write_1h else write)
    ) / 1_000_000 + usage.requests * (rates.per_thousand_requests or Decimal(0)) / 1000
    if usage.service_tier == "batch":
        dollars /= 2
    return (dollars * 100).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def test_integer_costs_equal_decimal_arithmetic_rounded_half_up():
    """Prices with many decimals, tiers, per-request prices and the batch tier, at random."""
    rng = random.Random(11)

    def price() -> Decimal:
        return Decimal(rng.randrange(0, 10**7)).scaleb(-rng.randrange(0, 7))

    for _ in range(3000):
        threshold = rng.choice([1000, 200_000])
        rates = Rates(
            input=Tiered(price(), ((threshold, price()),)),
            output=Tiered(price()),
            cache_read=rng.choice([None, Tiered(price(), ((threshold, price()),))]),
            cache_write=rng.choice([None, Tiered(price())]),
            cache_write_1h=rng.choice([None, Tiered(price())]),
            per_thousand_requests=rng.choice([None, price()]),
            source="test",
        )
        write = rng.randrange(0, 10**6)
        usage = TokenUsage(
            input=rng.randrange(0, 10**7),
            output=rng.randrange(0, 10**6),
            cache_read=rng.randrange(0, 10**6),
            cache_write=write,
            cache_write_1h=rng.randrange(0, write + 1),
            requests=rng.randrange(1, 50),
            service_tier=rng.choice([None, "batch", "default"]),
        )
        assert cost_cents(usage, rates) == _reference_cents(usage, rates), (usage, rates)


def test_half_a_millionth_of_a_cent_rounds_up():
    rates = Rates(Tiered(Decimal("0.005")), Tiered(Decimal(0)), None, None, None, None, "test")
    assert cost_cents(TokenUsage(input=1), rates) == Decimal("0.000001")  # 0.0000005 cents
    assert cost_cents(TokenUsage(input=1, service_tier="batch"), rates) == Decimal("0")


def test_a_book_counts_the_rows_its_overrides_priced():
    """What the ingest summary reports: how many rows the config's overrides priced."""
    priced = PriceBook((PriceOverride(model="house-llm", input=Decimal(1), output=Decimal(2)),))
    usages = Usages(
        [[10, 20, 30], [1, 1, 1], [0] * 3, [0] * 3, [0] * 3, [1] * 3], [None] * 3, [None] * 3
    )
    times = ["2025-10-01 10:00:00.000000"] * 3
    overridden = priced.costs(None, "house-llm", DAY, times, usages)
    assert overridden.costs == [1200, 2200, 3200]
    assert overridden.price_data == ["config override"] * 3
    listed = priced.costs("openai", "gpt-4o", DAY, times, usages)
    assert listed.price_data == [f"genai-prices {genai_prices.__version__}"] * 3
    assert priced.costs(None, "no-such-model", DAY, times, usages) is None
    assert priced.override_rows == 3
