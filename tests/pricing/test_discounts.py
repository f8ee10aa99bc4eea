"""Graduated volume discounts, checked by hand."""

from decimal import Decimal

from chatvault.config import Tier
from chatvault.pricing.discounts import monthly_discount

TIERS = (
    Tier("starter", 100_000, Decimal(0)),
    Tier("growth", 1_000_000, Decimal(5)),
    Tier("scale", None, Decimal(10)),
)


def test_under_the_first_limit_there_is_no_discount():
    result = monthly_discount(TIERS, [(50_000, Decimal("500"))])
    assert (result.list_cents, result.discount_cents, result.net_cents) == (
        Decimal("500"),
        Decimal("0"),
        Decimal("500"),
    )


def test_brackets_apply_to_the_tokens_inside_them():
    # 2M tokens at 1 cent per 1,000: 100k at 0%, 900k at 5%, 1M at 10%
    result = monthly_discount(TIERS, [(2_000_000, Decimal("2000"))])
    assert result.discount_cents == Decimal("45") + Decimal("100")
    assert result.net_cents == Decimal("1855")


def test_order_decides_which_usage_falls_in_which_bracket():
    cheap_first = [(100_000, Decimal("10")), (100_000, Decimal("1000"))]
    dear_first = list(reversed(cheap_first))
    assert monthly_discount(TIERS, cheap_first).discount_cents == Decimal("50")  # 5% of 1000
    assert monthly_discount(TIERS, dear_first).discount_cents == Decimal("0.5")  # 5% of 10


def test_unpriced_usage_counts_toward_volume_but_not_cost():
    result = monthly_discount(TIERS, [(100_000, None), (10_000, Decimal("100"))])
    assert (result.list_cents, result.discount_cents) == (Decimal("100"), Decimal("5"))


def test_without_tiers_nothing_changes():
    assert monthly_discount((), [(10**9, Decimal("1.5"))]).net_cents == Decimal("1.5")


def test_exact_to_a_millionth_of_a_cent():
    # a third of an item in a 5% bracket: 1 cent x 1/3 x 5% = 0.01666...: rounded once, at the end
    result = monthly_discount(TIERS, [(99_999, Decimal(0)), (3, Decimal(1))])
    assert result.discount_cents == Decimal("0.033333")
