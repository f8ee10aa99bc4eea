"""List prices kept in the cache folder: exactly genai-prices' on every day and at every
instant, from any later run, and never once what they came from has changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from importlib.machinery import ModuleSpec
from pathlib import Path

import pytest
from genai_prices.data_snapshot import get_snapshot

import chatvault.pricing.schedules as schedules
from chatvault import cache
from chatvault.config import PriceOverride
from chatvault.db.types import utc_text
from chatvault.pricing.prices import PriceBook, TokenUsage, Usages, cost_cents
from tests.pricing.reference import genai_cents

DAY = date(2025, 10, 1)
KEPT = [
    ("anthropic", "claude-sonnet-4-20250514"),
    ("anthropic", "claude-sonnet-4-5"),  # a long-context tier
    ("deepseek", "deepseek-chat"),  # off-peak hours, and price changes
    ("openai", "gpt-4o"),
    (None, "my-finetuned-llama"),  # unknown: unpriced, kept as such
]


def days_of(found_model) -> list[date]:
    """Days either side of each of a model's price changes, and a few others."""
    days = {DAY, date(2000, 1, 1), date(2099, 12, 31)}
    for condition in found_model.prices if isinstance(found_model.prices, list) else ():
        start = getattr(condition.constraint, "start_date", None)
        if start is not None:
            days.update((start - timedelta(days=1), start))
    return sorted(days)


def test_every_bundled_models_schedule_gives_genai_prices_periods_each_day(monkeypatch):
    monkeypatch.setattr(schedules, "process_key", lambda: None)  # nothing kept: all in memory
    kept = schedules.Schedules()
    count = 0
    for provider in get_snapshot().providers:
        for model in provider.models:
            schedule = schedules.worked_out(provider.id, model.id)
            assert schedule is not schedules.LIVE, (provider.id, model.id)
            entry = schedules.checked(schedule)
            assert repr(schedules.decoded(entry)) == repr(schedule)
            for day in days_of(model):
                theirs = schedules.listed(provider.id, model.id, day)
                assert repr(kept.periods(provider.id, model.id, day)) == repr(theirs)
                count += 1
    assert count > 5000


def warm() -> None:
    """A run that prices KEPT's models, keeping their schedules."""
    book = PriceBook()
    for provider, model in KEPT:
        book.rates(provider, model, DAY)


def test_a_later_run_prices_from_what_was_kept_exactly(monkeypatch):
    warm()
    monkeypatch.setattr(schedules, "worked_out", lambda *names: pytest.fail(f"{names}"))
    later = schedules.Schedules()
    for provider, model in KEPT:
        for day in (DAY, date(2024, 1, 1), date(2026, 6, 30)):
            theirs = schedules.listed(provider, model, day)
            assert repr(later.periods(provider, model, day)) == repr(theirs)


def test_costs_at_each_instant_and_tier_equal_genai_prices_from_the_cache(monkeypatch):
    warm()
    monkeypatch.setattr(schedules, "worked_out", lambda *names: pytest.fail(f"{names}"))
    moments = [datetime.combine(DAY, time(0), tzinfo=UTC) + timedelta(minutes=m) for m in (
        0, 29, 30, 31, 12 * 60, 16 * 60 + 29, 16 * 60 + 30, 23 * 60 + 59)]  # fmt: skip
    usages = [
        TokenUsage(input=1234, output=567, cache_read=8901, cache_write=234),
        TokenUsage(input=250_000, output=4000, cache_read=1000, cache_write=500),  # past 200k
    ]
    book = PriceBook()
    for provider, model in KEPT[:4]:
        for usage in usages:
            counts = [getattr(usage, f) for f in ("input", "output", "cache_read")]
            counts += [usage.cache_write, usage.cache_write_1h, usage.requests]
            columns = Usages([[n] * len(moments) for n in counts], [None] * len(moments),
                             [None] * len(moments))  # fmt: skip
            priced = book.costs(provider, model, DAY, [utc_text(m) for m in moments], columns)
            expected = [genai_cents(provider, model, at, usage) for at in moments]
            assert [Decimal(c) / 1_000_000 for c in priced.costs] == expected, model


def test_overrides_still_win_over_kept_prices():
    warm()
    free = PriceOverride(model="gpt-4o", provider="openai", input=Decimal(0), output=Decimal(0))
    rates = PriceBook((free,)).rates("openai", "gpt-4o", DAY)
    assert rates.override and cost_cents(TokenUsage(input=10**6), rates) == 0
    listed = PriceBook().rates("openai", "gpt-4o", DAY)
    assert cost_cents(TokenUsage(input=10**6), listed) == Decimal(250)


def kept_file() -> Path:
    return cache.folder("prices") / f"{schedules._key()}.json"


def test_what_was_kept_under_another_key_is_never_used():
    warm()
    entries = json.loads(kept_file().read_text())
    name = json.dumps(["openai", "gpt-4o"])
    for periods in entries[name]:
        for _, rates in periods[1]:
            rates["input"][0] = "1000"  # what an older genai-prices might have said
    cache.store(cache.folder("prices"), "another-genai-prices", entries)
    kept_file().unlink()
    rates = PriceBook().rates("openai", "gpt-4o", DAY)
    assert rates.input.base == Decimal("2.5")


@pytest.mark.parametrize(
    "damage",
    [
        lambda rates: rates["input"].__setitem__(0, 1000.5),  # a float
        lambda rates: rates["input"].__setitem__(0, "NaN"),
        lambda rates: rates.pop("output"),
        lambda rates: rates["input"][1].append(["200000", "9"]),  # a threshold as text
        lambda rates: rates.__setitem__("source", 7),
    ],
)
def test_a_damaged_entry_is_worked_out_again(damage):
    warm()
    entries = json.loads(kept_file().read_text())
    name = json.dumps(["openai", "gpt-4o"])
    for periods in entries[name]:
        for _, rates in periods[1]:
            damage(rates)
    cache.store(cache.folder("prices"), schedules._key(), entries)
    rates = PriceBook().rates("openai", "gpt-4o", DAY)
    assert repr(rates) == repr(schedules.listed("openai", "gpt-4o", DAY)[0].rates)


def test_the_key_covers_genai_prices_files(monkeypatch, tmp_path):
    package = tmp_path / "genai_prices"
    package.mkdir()
    (package / "data.py").write_text("providers = []\n")
    spec = ModuleSpec("genai_prices", None, is_package=True)
    spec.submodule_search_locations = [str(package)]
    monkeypatch.setattr("importlib.util.find_spec", lambda name: spec)
    before = schedules._key()
    (package / "data.py").write_text("providers = [1]\n")  # an upgrade rewrites its files
    assert before is not None and schedules._key() != before
    # Rewritten in place with the same size and time (cp -p, a reproducible build): the
    # bytes are what the key covers.
    stat = (package / "data.py").stat()
    (package / "data.py").write_text("providers = [2]\n")
    os.utime(package / "data.py", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert schedules._key() not in (before, None)
    spec.submodule_search_locations = []
    assert schedules._key() is None  # no genai-prices found: nothing is kept


def test_a_run_with_its_models_kept_does_not_import_genai_prices():
    warm()
    script = (
        "import sys\n"
        "from datetime import date\n"
        "from chatvault.pricing.prices import PriceBook\n"
        "book = PriceBook()\n"
        f"for provider, model in {KEPT!r}:\n"
        f"    print(repr(book.rates(provider, model, date.fromisoformat('{DAY}'))))\n"
        "assert 'genai_prices' not in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=os.environ.copy()
    )
    assert done.returncode == 0, done.stderr
    book = PriceBook()
    assert done.stdout.splitlines() == [repr(book.rates(p, m, DAY)) for p, m in KEPT]


def test_a_process_keeps_the_key_it_first_priced_with(monkeypatch):
    # What it imported then is what it prices with: an upgrade installed while a server runs
    # must not have the old prices kept under the new files' key.
    monkeypatch.setattr(schedules, "_PROCESS_KEY", [])
    keys = iter(["first", "after-an-upgrade"])
    monkeypatch.setattr(schedules, "_key", lambda: next(keys))
    assert schedules.process_key() == schedules.process_key() == "first"


def test_a_run_of_many_new_models_stores_a_few_times_not_each_time(monkeypatch):
    stores = []
    monkeypatch.setattr(cache, "store", lambda place, key, data: stores.append(len(data)))
    monkeypatch.setattr(schedules, "worked_out", lambda provider, model: None)
    kept = schedules.Schedules()
    for k in range(100):
        kept.periods("openai", f"model-{k}", DAY)
    assert stores == [*range(1, schedules.EAGER + 1), 32, 64]
