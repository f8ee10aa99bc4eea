"""Volume discounts by monthly token volume, applied like tax brackets.

The first `monthly_token_limit` tokens of a calendar month (in the configured time zone) get
the first tier's discount, the next ones the second's, and so on. Usage is taken in time
order; an item that straddles a bracket boundary is split by its tokens. Reports call this
with a month's usage in time order (requests, or daily sums from SQL).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple

from chatvault.config import Tier
from chatvault.db.types import to_cents

HUNDRED = Decimal(100)


class DiscountedCost(NamedTuple):
    """A month's cost before and after its volume discount, in cents."""

    list_cents: Decimal  # before the discount
    discount_cents: Decimal
    net_cents: Decimal


def monthly_discount(tiers: Iterable[Tier], usage: Iterable[tuple[int, Decimal]]) -> DiscountedCost:
    """The discount on one month's usage: (tokens, cost in cents) pairs, oldest first.

    Unpriced usage (cost None) is not part of either total: its cost is unknown.
    """
    brackets = list(tiers)
    used = 0  # tokens of the month before the current item
    list_total = discount = Decimal(0)
    for tokens, cents in usage:
        if cents is None:
            used += tokens
            continue
        list_total += cents
        discount += _item_discount(brackets, used, tokens, cents)
        used += tokens
    discount = to_cents(discount)
    return DiscountedCost(to_cents(list_total), discount, to_cents(list_total) - discount)


def _item_discount(brackets: list[Tier], used: int, tokens: int, cents: Decimal) -> Decimal:
    if tokens == 0:
        return Decimal(0)
    total = Decimal(0)
    floor = 0
    for tier in brackets:
        ceiling = tier.monthly_token_limit  # None: no upper bound
        start = max(used, floor)
        end = used + tokens if ceiling is None else min(used + tokens, ceiling)
        if end > start:
            total += cents * (end - start) / tokens * tier.discount_percentage / HUNDRED
        if ceiling is None or used + tokens <= ceiling:
            break
        floor = ceiling
    return total
