"""The FOCUS export (`chatvault export --format focus`): usage rows as FinOps Open Cost and
Usage Specification 1.2 charge rows (docs/export.md lists every column and where it comes
from). One row per usage row: what totals count, by the never-count-twice rule.

chatvault's cost is its estimate at list price (or the cost the source reported), so
BilledCost, EffectiveCost, ContractedCost and ListCost are that one amount, in dollars,
exact. An unpriced row has no cost: FOCUS requires one, so it is 0 with x_CostSource
'unpriced' (filter it out, or price it first: chatvault pricing check). What FOCUS has no
column for is in x_ columns: token kinds, requests, user, session, API key id, request id.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, BinaryIO

from chatvault.csv_cells import neutralised
from chatvault.db.export_rows import COLUMNS

# (column, FOCUS data type); FOCUS's own columns first, alphabetical as the spec lists them.
FOCUS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("BilledCost", "Decimal"),
    ("BillingAccountId", "String"),
    ("BillingAccountName", "String"),
    ("BillingCurrency", "String"),
    ("BillingPeriodEnd", "Date/Time"),
    ("BillingPeriodStart", "Date/Time"),
    ("ChargeCategory", "String"),
    ("ChargeClass", "String"),
    ("ChargeDescription", "String"),
    ("ChargeFrequency", "String"),
    ("ChargePeriodEnd", "Date/Time"),
    ("ChargePeriodStart", "Date/Time"),
    ("ConsumedQuantity", "Decimal"),
    ("ConsumedUnit", "String"),
    ("ContractedCost", "Decimal"),
    ("EffectiveCost", "Decimal"),
    ("InvoiceIssuerName", "String"),
    ("ListCost", "Decimal"),
    ("PricingCategory", "String"),
    ("PricingQuantity", "Decimal"),
    ("PricingUnit", "String"),
    ("ProviderName", "String"),
    ("PublisherName", "String"),
    ("ServiceCategory", "String"),
    ("ServiceName", "String"),
    ("ServiceProviderName", "String"),  # FOCUS 1.3's name for ProviderName: both are written
    ("ServiceSubcategory", "String"),
    ("SkuId", "String"),
    ("SubAccountId", "String"),
    ("SubAccountName", "String"),
    ("Tags", "Key-Value Format"),
    ("x_InputTokens", "Decimal"),
    ("x_OutputTokens", "Decimal"),
    ("x_CacheReadTokens", "Decimal"),
    ("x_CacheWriteTokens", "Decimal"),
    ("x_CacheWrite1hTokens", "Decimal"),
    ("x_RequestCount", "Decimal"),
    ("x_UserId", "String"),
    ("x_SessionId", "String"),
    ("x_ApiKeyId", "String"),  # the id or alias a source recorded: never a key
    ("x_RequestId", "String"),
    ("x_Model", "String"),
    ("x_ServiceTier", "String"),
    ("x_Status", "String"),
    ("x_CostSource", "String"),
)
NAMES = tuple(name for name, _ in FOCUS_COLUMNS)
TEXT = frozenset(name for name, kind in FOCUS_COLUMNS if kind == "String")
SERVICES = {"openai": "OpenAI API", "anthropic": "Anthropic API"}
PUBLISHERS = {"openai": "OpenAI", "anthropic": "Anthropic"}
_AT = {name: COLUMNS.index(name) for name in COLUMNS}
_TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def write_focus(stream: BinaryIO, batches: Iterable[Sequence[Sequence[Any]]], defuse: bool) -> int:
    """FOCUS CSV of the export's rows (cells as db/export_rows.py gives them without CSV
    formatting); text cells defused for spreadsheets unless `defuse` is off."""
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    writer = csv.writer(text)
    writer.writerow(NAMES)
    written = 0
    for batch in batches:
        for row in batch:
            record = focus_row(row)
            writer.writerow(
                ""
                if record[n] is None
                else neutralised(record[n])
                if defuse and n in TEXT
                else record[n]
                for n in NAMES
            )
        written += len(batch)
    text.detach()
    return written


def _cell(value: Any, defuse: bool) -> Any:
    if value is None:
        return ""
    return neutralised(value) if defuse else value


def focus_row(row: Sequence[Any]) -> dict[str, Any]:
    """One usage row (export cells: created_at ISO UTC text, cost_cents a decimal string)."""

    def get(name: str) -> Any:
        return row[_AT[name]]

    at = datetime.fromisoformat(get("created_at").replace("Z", "+00:00")).astimezone(UTC)
    hour = at.replace(minute=0, second=0, microsecond=0)
    month = hour.replace(day=1, hour=0)
    following = (month + timedelta(days=32)).replace(day=1)
    provider = get("provider") or "unknown"
    cents = get("cost_cents")
    dollars = _dollars(None if cents is None else Decimal(cents) / 100)
    tokens = sum(int(get(n)) for n in _TOKENS)
    requests = int(get("request_count"))
    model, project = get("model"), get("project")
    tags = {k: v for k, v in (("user", get("user_id")), ("project", project)) if v}
    return {
        "BilledCost": dollars,
        "BillingAccountId": provider,
        "BillingAccountName": PUBLISHERS.get(provider, provider),
        "BillingCurrency": "USD",
        "BillingPeriodEnd": _iso(following),
        "BillingPeriodStart": _iso(month),
        "ChargeCategory": "Usage",
        "ChargeClass": None,
        "ChargeDescription": f"{model}: {tokens:,} tokens, {requests:,} requests",
        "ChargeFrequency": "Usage-Based",
        "ChargePeriodEnd": _iso(hour + timedelta(hours=1)),
        "ChargePeriodStart": _iso(hour),
        "ConsumedQuantity": tokens,
        "ConsumedUnit": "Tokens",
        "ContractedCost": dollars,
        "EffectiveCost": dollars,
        "InvoiceIssuerName": PUBLISHERS.get(provider, provider),
        "ListCost": dollars,
        "PricingCategory": "Standard",
        "PricingQuantity": tokens,
        "PricingUnit": "Tokens",
        "ProviderName": PUBLISHERS.get(provider, provider),
        "PublisherName": PUBLISHERS.get(provider, provider),
        "ServiceCategory": "AI and Machine Learning",
        "ServiceName": SERVICES.get(provider, f"{provider} API"),
        "ServiceProviderName": PUBLISHERS.get(provider, provider),
        "ServiceSubcategory": "Generative AI",
        "SkuId": model,
        "SubAccountId": project,
        "SubAccountName": project,
        "Tags": json.dumps(tags, ensure_ascii=False, sort_keys=True),
        "x_InputTokens": int(get("input_tokens")),
        "x_OutputTokens": int(get("output_tokens")),
        "x_CacheReadTokens": int(get("cache_read_tokens")),
        "x_CacheWriteTokens": int(get("cache_write_tokens")),
        "x_CacheWrite1hTokens": int(get("cache_write_1h_tokens")),
        "x_RequestCount": requests,
        "x_UserId": get("user_id"),
        "x_SessionId": get("session_id"),
        "x_ApiKeyId": get("api_key"),
        "x_RequestId": get("request_id"),
        "x_Model": model,
        "x_ServiceTier": get("service_tier"),
        "x_Status": get("status"),
        "x_CostSource": get("cost_source") if cents is not None else "unpriced",
    }


def _dollars(amount: Decimal | None) -> str:
    """Dollars exactly, in plain notation ('0.00125'), never a float; 0 when unpriced."""
    if amount is None:
        return "0"
    return format(amount.normalize(), "f")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
