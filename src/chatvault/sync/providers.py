"""What each provider's admin API looks like (docs/sync.md cites the references), and its
pages normalised into chatvault's units.

Usage buckets go through the same normalisation as the saved export files
(`ingest/openai_usage.py`, `ingest/anthropic_usage.py`): OpenAI counts cached tokens inside
`input_tokens` and chatvault does not; Anthropic already keeps them apart. Costs: OpenAI's
`amount.value` is dollars, Anthropic's `amount` is a decimal string of cents; both are kept
exactly as sent (`amount`) and as cents.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from chatvault.ingest import anthropic_usage, openai_usage
from chatvault.ingest.options import ParseOptions
from chatvault.ingest.record import RecordError, UsageRecord, timestamp

HOUR, DAY = "1h", "1d"


@dataclass(frozen=True)
class Endpoint:
    name: str  # 'completions', 'embeddings', 'messages', 'costs'
    path: str
    kind: str  # 'usage' or 'cost'
    widths: tuple[str, ...]  # the bucket widths chatvault asks for (the API may allow more)
    limits: dict[str, int]  # the most buckets one page may hold, per width (documented maxima)
    group_by: tuple[str, ...]  # every dimension the endpoint groups by


@dataclass(frozen=True)
class Provider:
    name: str
    base_url: str
    key_env: str
    endpoints: tuple[Endpoint, ...]
    group_param: str  # 'group_by' (OpenAI) or 'group_by[]' (Anthropic)
    unix_times: bool  # start_time/end_time in Unix seconds, else starting_at/ending_at RFC 3339

    def headers(self, key: str) -> dict[str, str]:
        if self.name == "openai":
            return {"Authorization": f"Bearer {key}"}
        return {"x-api-key": key, "anthropic-version": ANTHROPIC_VERSION}

    def time_params(self, start: datetime, end: datetime) -> dict[str, str | int]:
        if self.unix_times:
            return {"start_time": int(start.timestamp()), "end_time": int(end.timestamp())}
        return {"starting_at": _rfc3339(start), "ending_at": _rfc3339(end)}

    def endpoint(self, name: str) -> Endpoint:
        return next(e for e in self.endpoints if e.name == name)


ANTHROPIC_VERSION = "2023-06-01"
_OPENAI_USAGE_GROUPS = ("model", "project_id", "api_key_id", "user_id", "batch", "service_tier")
OPENAI = Provider(
    "openai",
    "https://api.openai.com",
    "OPENAI_ADMIN_KEY",
    (
        Endpoint(
            "completions",
            "/v1/organization/usage/completions",
            "usage",
            (HOUR, DAY),
            {HOUR: 168, DAY: 31},
            _OPENAI_USAGE_GROUPS,
        ),
        Endpoint(
            "embeddings",
            "/v1/organization/usage/embeddings",
            "usage",
            (HOUR, DAY),
            {HOUR: 168, DAY: 31},
            ("model", "project_id", "api_key_id", "user_id"),
        ),
        Endpoint(
            "costs",
            "/v1/organization/costs",
            "cost",
            (DAY,),
            {DAY: 180},
            ("project_id", "line_item"),
        ),
    ),
    "group_by",
    True,
)
ANTHROPIC = Provider(
    "anthropic",
    "https://api.anthropic.com",
    "ANTHROPIC_ADMIN_KEY",
    (
        Endpoint(
            "messages",
            "/v1/organizations/usage_report/messages",
            "usage",
            (HOUR, DAY),
            {HOUR: 168, DAY: 31},
            ("model", "api_key_id", "workspace_id", "service_tier", "context_window"),
        ),
        Endpoint(
            "costs",
            "/v1/organizations/cost_report",
            "cost",
            (DAY,),
            {DAY: 31},
            ("workspace_id", "description"),
        ),
    ),
    "group_by[]",
    False,
)
PROVIDERS = {p.name: p for p in (OPENAI, ANTHROPIC)}


@dataclass(frozen=True)
class UsageRow:
    """One result of one usage bucket, in chatvault's token convention."""

    endpoint: str
    bucket_start: datetime
    bucket_end: datetime
    model: str
    project: str | None
    api_key_id: str | None
    user_id: str | None
    service_tier: str | None
    context_window: str | None
    request_count: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int


@dataclass(frozen=True)
class CostRow:
    """One result of one cost bucket: `amount` exactly as sent, in the provider's unit, and
    `cents` the same amount in US cents."""

    bucket_start: datetime
    bucket_end: datetime
    project: str | None
    line_item: str | None
    model: str | None
    cost_type: str | None
    service_tier: str | None
    context_window: str | None
    currency: str
    amount: str
    cents: Decimal


# The longest each text of a cost result may be (db/models.py provider_costs).
COST_TEXT_LENGTHS = {
    "project": 100,
    "line_item": 200,
    "model": 100,
    "cost_type": 40,
    "service_tier": 20,
    "context_window": 20,
    "amount": 60,
}


class PageError(ValueError):
    """A bucket or result the page should not hold: what and where."""


def bucket_times(provider: Provider, bucket: Any, where: str) -> tuple[datetime, datetime]:
    if not isinstance(bucket, dict) or not isinstance(bucket.get("results"), list):
        raise PageError(f"{where}: not a bucket with a 'results' list")
    try:
        if provider.unix_times:
            start, end = bucket.get("start_time"), bucket.get("end_time")
            if not all(isinstance(t, int) and not isinstance(t, bool) for t in (start, end)):
                raise PageError(f"{where}: start_time/end_time must be Unix seconds")
            return datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
        return (
            timestamp(bucket.get("starting_at"), "starting_at"),
            timestamp(bucket.get("ending_at"), "ending_at"),
        )
    except (RecordError, OverflowError, OSError, ValueError) as exc:
        raise PageError(f"{where}: {exc}") from None


def usage_rows(provider: Provider, endpoint: str, page: dict, now: datetime) -> list[UsageRow]:
    """Every result of a usage page, normalised; PageError names the first bad one."""
    to_record: Callable[..., UsageRecord | None] = (
        openai_usage.bucket_record if provider.name == "openai" else anthropic_usage.bucket_record
    )
    options = ParseOptions(now=now)
    rows = []
    for b, bucket in enumerate(page["data"]):
        start, end = bucket_times(provider, bucket, f"data[{b}]")
        for r, result in enumerate(bucket["results"]):
            try:
                record = to_record(bucket, _plain(result), options)
                tier = None if record is None else _tier(provider, result)
            except RecordError as exc:
                raise PageError(f"data[{b}].results[{r}].{exc.field}: {exc.problem}") from None
            if record is None:
                continue
            rows.append(
                UsageRow(
                    endpoint,
                    start,
                    end,
                    record.model,
                    record.project,
                    record.api_key,
                    None if record.user_id == openai_usage.ALL else record.user_id,
                    tier,
                    record.context_window,
                    record.request_count if provider.name == "openai" else 0,
                    record.input_tokens,
                    record.output_tokens,
                    record.cache_read_tokens,
                    record.cache_write_tokens,
                    record.cache_write_1h_tokens,
                )
            )
    return rows


def cost_rows(provider: Provider, page: dict) -> list[CostRow]:
    """Every result of a cost page, with its amount exact; PageError names the first bad one."""
    rows = []
    for b, bucket in enumerate(page["data"]):
        start, end = bucket_times(provider, bucket, f"data[{b}]")
        for r, result in enumerate(bucket["results"]):
            where = f"data[{b}].results[{r}]"
            if not isinstance(result, dict):
                raise PageError(f"{where}: not an object")
            rows.append(_cost(provider, start, end, result, where))
    return rows


def _cost(provider: Provider, start: datetime, end: datetime, result: dict, where: str) -> CostRow:
    if provider.name == "openai":
        amount = result.get("amount")
        if not isinstance(amount, dict):
            raise PageError(f"{where}.amount: must be an object with value and currency")
        value, currency = amount.get("value"), amount.get("currency")
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise PageError(f"{where}.amount.value: must be a number (dollars)")
        exact = Decimal(value)
        cents = exact * 100
        text = str(value)
        line_item, model, cost_type = result.get("line_item"), None, None
        tier = context = None
        project = result.get("project_id")
    else:
        text, currency = result.get("amount"), result.get("currency")
        if not isinstance(text, str):
            raise PageError(f"{where}.amount: must be a decimal string (cents)")
        try:
            cents = Decimal(text)
        except InvalidOperation:
            raise PageError(f"{where}.amount: not a decimal: {text[:40]!r}") from None
        if not cents.is_finite():
            raise PageError(f"{where}.amount: not a finite decimal")
        line_item, model, cost_type = (
            result.get("description"),
            result.get("model"),
            result.get("cost_type"),
        )
        tier, context = result.get("service_tier"), result.get("context_window")
        project = result.get("workspace_id")
    if not isinstance(currency, str) or currency.upper() != "USD":
        raise PageError(f"{where}: currency {currency!r}: chatvault keeps US dollars only")
    if abs(cents) >= Decimal(10) ** 12:
        raise PageError(f"{where}.amount: implausibly large ({text[:40]})")
    row = CostRow(
        start, end, project, line_item, model, cost_type, tier, context, "USD", text, cents
    )
    for name, longest in COST_TEXT_LENGTHS.items():
        value = getattr(row, name)
        if value is not None and (not isinstance(value, str) or len(value) > longest):
            raise PageError(f"{where}: {name} must be text of at most {longest} characters")
    return row


def _tier(provider: Provider, result: Any) -> str | None:
    """'batch' for OpenAI's batch results, else the service tier the result names."""
    if provider.name == "openai" and result.get("batch"):
        return "batch"
    tier = result.get("service_tier")
    if tier is not None and (not isinstance(tier, str) or len(tier) > 20):
        raise RecordError("service_tier", "must be text of at most 20 characters")
    return tier


def _plain(result: Any) -> Any:
    """A result with Decimal numbers (the page is read with exact decimals) as ints where
    whole: token counts are integers; a fractional one is refused by the record checks."""
    if not isinstance(result, dict):
        return result
    return {
        k: int(v) if isinstance(v, Decimal) and v == v.to_integral_value() else v
        for k, v in result.items()
    }


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
