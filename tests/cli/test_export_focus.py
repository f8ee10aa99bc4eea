"""`chatvault export --format focus`: FOCUS 1.2 columns, checked against the specification's
column definitions (https://focus.finops.org/focus-specification/v1-2/)."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime
from decimal import Decimal

from typer.testing import CliRunner

import chatvault
from chatvault.cli.app import app
from chatvault.db.migrate import migrate

runner = CliRunner()

# FOCUS 1.2's Mandatory columns: (data type, may it be null for a usage charge).
MANDATORY = {
    "BilledCost": ("Decimal", False),
    "BillingAccountId": ("String", False),
    "BillingAccountName": ("String", True),
    "BillingCurrency": ("String", False),
    "BillingPeriodEnd": ("Date/Time", False),
    "BillingPeriodStart": ("Date/Time", False),
    "ChargeCategory": ("String", False),
    "ChargeClass": ("String", True),
    "ChargeDescription": ("String", True),
    "ChargePeriodEnd": ("Date/Time", False),
    "ChargePeriodStart": ("Date/Time", False),
    "ContractedCost": ("Decimal", False),
    "EffectiveCost": ("Decimal", False),
    "InvoiceIssuerName": ("String", False),
    "ListCost": ("Decimal", False),
    "PricingQuantity": ("Decimal", True),
    "PricingUnit": ("String", True),
    "ProviderName": ("String", False),
    "PublisherName": ("String", False),
    "ServiceCategory": ("String", False),
    "ServiceName": ("String", False),
}
# Conditional and recommended columns that apply to this data.
OPTIONAL = {
    "ChargeFrequency": "String",
    "ConsumedQuantity": "Decimal",
    "ConsumedUnit": "String",
    "PricingCategory": "String",
    "ServiceSubcategory": "String",
    "SkuId": "String",
    "SubAccountId": "String",
    "SubAccountName": "String",
    "Tags": "Key-Value Format",
    "ServiceProviderName": "String",  # FOCUS 1.3's successor of ProviderName
}
ALLOWED = {
    "ChargeCategory": {"Usage", "Purchase", "Tax", "Credit", "Adjustment"},
    "ChargeClass": {"", "Correction"},
    "ChargeFrequency": {"One-Time", "Recurring", "Usage-Based"},
    "PricingCategory": {"Standard", "Dynamic", "Committed", "Other"},
    "ServiceCategory": {"AI and Machine Learning"},
}
DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
DECIMAL = re.compile(r"-?\d+(\.\d+)?")
KEY = "sk-proj-SECRET-never-exported"


def exported(sqlite_url, tmp_path, *args) -> list[dict]:
    migrate(sqlite_url)
    store = chatvault.UsageStore(database=sqlite_url)
    at = datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)
    store.record(
        model="gpt-4o-mini",
        user_id="=cmd|' /C calc'!A0",
        provider="openai",
        project="proj_a",
        api_key="key-id-7",
        created_at=at,
        input_tokens=1000,
        output_tokens=200,
        cache_read_tokens=300,
        cost_cents=Decimal("12.345678"),
    )
    store.record(model="no-such-model", user_id="u", provider="acme", created_at=at, input_tokens=5)
    out = tmp_path / "focus.csv"
    result = runner.invoke(
        app, ["--database", sqlite_url, "export", "--format", "focus", "-o", str(out), "-q", *args]
    )
    assert result.exit_code == 0, result.output
    with out.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_columns_types_and_required_values_follow_the_specification(sqlite_url, tmp_path):
    rows = exported(sqlite_url, tmp_path)
    header = list(rows[0])
    assert set(MANDATORY) <= set(header)
    assert all(name in MANDATORY or name in OPTIONAL or name.startswith("x_") for name in header)
    for row in rows:
        for name, (_, nullable) in MANDATORY.items():
            assert nullable or row[name] != "", name
        for name, kind in {**{n: k for n, (k, _) in MANDATORY.items()}, **OPTIONAL}.items():
            value = row[name]
            if value == "":
                continue
            if kind == "Decimal":
                assert DECIMAL.fullmatch(value), (name, value)
            elif kind == "Date/Time":
                assert DATETIME.fullmatch(value), (name, value)
            elif kind == "Key-Value Format":
                assert isinstance(json.loads(value), dict)
        for name, allowed in ALLOWED.items():
            assert row[name] in allowed, (name, row[name])
        assert row["ChargePeriodStart"] < row["ChargePeriodEnd"]
        assert row["BillingPeriodStart"] <= row["ChargePeriodStart"] < row["BillingPeriodEnd"]
        assert row["BillingCurrency"] == "USD"


def test_amounts_exact_tokens_in_x_columns_and_no_key(sqlite_url, tmp_path):
    priced, unpriced = exported(sqlite_url, tmp_path)
    assert priced["BilledCost"] == priced["EffectiveCost"] == priced["ListCost"] == "0.12345678"
    assert (priced["ConsumedQuantity"], priced["ConsumedUnit"]) == ("1500", "Tokens")
    assert (priced["x_InputTokens"], priced["x_CacheReadTokens"]) == ("1000", "300")
    assert (priced["SkuId"], priced["SubAccountId"], priced["x_ApiKeyId"]) == (
        "gpt-4o-mini",
        "proj_a",
        "key-id-7",
    )
    assert priced["ChargePeriodStart"] == "2026-11-30T23:00:00Z"
    assert priced["BillingPeriodEnd"] == "2026-12-01T00:00:00Z"
    assert priced["x_UserId"].startswith("'=")  # defused for spreadsheets
    assert priced["ServiceName"] == "OpenAI API" and priced["ProviderName"] == "OpenAI"
    assert unpriced["BilledCost"] == "0" and unpriced["x_CostSource"] == "unpriced"
    assert all(KEY not in value for row in (priced, unpriced) for value in row.values())


def test_raw_keeps_text_as_stored(sqlite_url, tmp_path):
    priced, _ = exported(sqlite_url, tmp_path, "--raw")
    assert priced["x_UserId"] == "=cmd|' /C calc'!A0"
