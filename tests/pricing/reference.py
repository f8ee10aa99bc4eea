"""genai-prices' own cost of a usage, the reference chatvault's costs are checked against."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import genai_prices

from chatvault.pricing.prices import TokenUsage


def genai_cents(provider: str, model: str, at: datetime, usage: TokenUsage) -> Decimal:
    """calc_price's total in US cents, rounded half up to a millionth of a cent as chatvault's."""
    price = genai_prices.calc_price(
        genai_prices.Usage(
            input_tokens=usage.input + usage.cache_read + usage.cache_write,
            output_tokens=usage.output,
            cache_read_tokens=usage.cache_read,
            cache_write_tokens=usage.cache_write,
            cache_write_1h_tokens=usage.cache_write_1h,
        ),
        model,
        provider_id=provider,
        genai_request_timestamp=at,
    )
    return (price.total_price * 100).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
