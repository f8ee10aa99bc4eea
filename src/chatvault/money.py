"""Money: an estimate with its interval, and showing exact US dollars from cents."""

from decimal import Decimal
from typing import NamedTuple

# The most one record may cost, reported or estimated: $50,000. A million records at it still
# sum within a signed 64-bit integer of millionths of a cent (SQLite's cost column).
MAX_CENTS = 5_000_000


class Estimate(NamedTuple):
    """An amount in cents with its interval: a forecast, or exact when lower = upper."""

    cents: Decimal
    lower: Decimal
    upper: Decimal


def dollars(cents: Decimal) -> str:
    """'1.50', '-0.00012': every digit chatvault keeps (a millionth of a cent), at least two."""
    amount = (cents / 100).normalize()  # dividing by 100 only moves the decimal point
    whole, _, fraction = f"{abs(amount):f}".partition(".")
    sign = "-" if amount < 0 else ""
    return f"{sign}{whole}.{fraction.ljust(2, '0')}"


def usd_rounded(cents: Decimal) -> str:
    """'$1,234.57': to the cent, with thousands separators (estimates, and sums at a glance)."""
    text = f"{abs(cents) / 100:,.2f}"
    return f"-${text}" if cents < 0 else f"${text}"


def usd(cents: Decimal) -> str:
    """'$1.50', '-$0.00012'."""
    text = dollars(cents)
    return f"-${text[1:]}" if text.startswith("-") else f"${text}"
