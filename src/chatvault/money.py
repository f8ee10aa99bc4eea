"""Showing money: exact US dollars from cents, never rounded away."""

from decimal import Decimal


def usd(cents: Decimal) -> str:
    """'$1.50', '-$0.00012': every digit chatvault keeps (a millionth of a cent), at least two."""
    dollars = (cents / 100).normalize()  # dividing by 100 only moves the decimal point
    whole, _, fraction = f"{abs(dollars):f}".partition(".")
    sign = "-" if dollars < 0 else ""
    return f"{sign}${whole}.{fraction.ljust(2, '0')}"
