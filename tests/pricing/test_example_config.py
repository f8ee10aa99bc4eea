"""The example config.yaml at the repository root, loaded by anyone who runs chatvault there."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from chatvault.config import load_config
from chatvault.pricing.prices import PriceBook

EXAMPLE = Path(__file__).parents[2] / "config.yaml"


def test_the_example_changes_no_real_models_price():
    """Issue 13: it overrode gpt-4o, so an import in the repository stored $0.00405 where the
    list price is $0.0045. Its overrides show the feature on models genai-prices does not know."""
    overrides = load_config(EXAMPLE).pricing.overrides
    assert overrides, "the example shows how to override a price"
    listed = PriceBook()
    for override in overrides:
        for provider in {None, override.provider}:
            for day in (date(2024, 1, 1), date.today(), override.effective_from or date.today()):
                assert listed.rates(provider, override.model, day) is None, override.model
