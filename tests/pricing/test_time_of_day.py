"""A price is the one in force at the request's instant: time-of-day prices (DeepSeek's
off-peak hours) and every price change in genai-prices' bundled data, against its calc_price."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import genai_prices
import pytest
from genai_prices.data_snapshot import get_snapshot

from chatvault.db.types import utc_text
from chatvault.pricing.prices import PriceBook, TokenUsage, Usages, cost_cents
from tests.pricing.reference import genai_cents

DAY = date(2025, 10, 1)
USAGE = TokenUsage(input=1234, output=567, cache_read=8901, cache_write=234)
MICRO = timedelta(microseconds=1)


def theirs(provider: str, model: str, at: datetime) -> Decimal:
    return genai_cents(provider, model, at, USAGE)


def test_deepseek_off_peak_input_costs_half_at_20_utc():
    """Issue 13: 27 cents were charged where genai-prices gives 13.5 (1M input tokens)."""
    book = PriceBook()
    million = TokenUsage(input=1_000_000)
    evening = book.rates("deepseek", "deepseek-chat", datetime(2025, 10, 1, 20, tzinfo=UTC))
    noon = book.rates("deepseek", "deepseek-chat", datetime(2025, 10, 1, 12, tzinfo=UTC))
    assert cost_cents(million, evening) == Decimal("13.5")
    assert cost_cents(million, noon) == Decimal("27")


def instants_of(day: date, boundaries: list[time]) -> list[datetime]:
    """Every ten minutes of a day, and a microsecond either side of each boundary."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    found = [start + timedelta(minutes=10 * i) for i in range(144)]
    for boundary in boundaries:
        at = datetime.combine(day, boundary, tzinfo=UTC)
        found += [at - MICRO, at, at + MICRO]
    return sorted(t for t in found if t.date() == day)


@pytest.mark.parametrize("model", ["deepseek-chat", "deepseek-reasoner", "deepseek-v4-pro"])
def test_a_whole_day_costs_what_genai_prices_says_at_each_instant(model):
    book = PriceBook()
    moments = instants_of(DAY, [time(0, 30), time(16, 30), time(1), time(4), time(6), time(10)])
    usages = Usages(
        [[getattr(USAGE, f)] * len(moments) for f in ("input", "output", "cache_read")]
        + [[USAGE.cache_write] * len(moments), [0] * len(moments), [1] * len(moments)],
        [None] * len(moments),
        [None] * len(moments),
    )
    expected = [theirs("deepseek", model, at) for at in moments]
    for times in ([utc_text(at) for at in moments], moments):
        priced = book.costs("deepseek", model, DAY, times, usages)
        assert [Decimal(c) / 1_000_000 for c in priced.costs] == expected
        assert set(priced.price_data) == {f"genai-prices {genai_prices.__version__}"}
    assert len(set(expected)) > 1, "the day has more than one price"
    assert len(book.periods("deepseek", model, DAY)) in (3, 5)  # looked up once per period


def price_changes():
    """(provider, model, instant) a microsecond either side of every change of price in the
    bundled data: a start date's midnight, a time-of-day price's start and end."""
    for provider in get_snapshot().providers:
        for model in provider.models:
            if not isinstance(model.prices, list):
                continue
            for conditional in model.prices:
                constraint = conditional.constraint
                if constraint is None:
                    continue
                if hasattr(constraint, "start_date"):
                    moments = [datetime.combine(constraint.start_date, time(0), tzinfo=UTC)]
                else:
                    moments = [
                        datetime.combine(day, t).replace(tzinfo=t.tzinfo or UTC)
                        for day in (DAY, date(2026, 3, 1))
                        for t in (constraint.start_time, constraint.end_time)
                    ]
                for at in moments:
                    yield provider.id, model.id, at - MICRO
                    yield provider.id, model.id, at


CHANGES = list(price_changes())


def test_every_price_change_in_the_bundled_data_is_charged_at_its_instant():
    assert len(CHANGES) > 100
    book = PriceBook()
    checked = 0
    for provider, model, at in CHANGES:
        rates = book.rates(provider, model, at)
        if rates is None:
            continue  # not priced by tokens (images, audio): unpriced, as before
        assert cost_cents(USAGE, rates) == theirs(provider, model, at), (provider, model, at)
        checked += 1
    assert checked > 100


def test_a_models_prices_are_looked_up_once_then_kept(monkeypatch):
    import chatvault.pricing.schedules as schedules

    calls = []
    real = schedules.rates_at
    monkeypatch.setattr(schedules, "rates_at", lambda *a: calls.append(a) or real(*a))
    per_book = []
    for _ in range(2):  # the second book, a later run's, finds them in the cache folder
        book = PriceBook()
        for minute in range(0, 24 * 60, 7):
            at = datetime.combine(DAY, time(0), tzinfo=UTC) + timedelta(minutes=minute)
            book.rates("deepseek", "deepseek-chat", at)
            book.rates("openai", "gpt-4o", at)
        per_book.append(len(calls) - sum(per_book))
    looked_up = [(model.id, at) for _, model, at in calls]
    assert looked_up and len(set(looked_up)) == len(looked_up)
    assert per_book[1] == 0  # nothing looked up again
