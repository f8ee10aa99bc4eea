"""The admin API clients against the local replicas: units per provider, retries, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chatvault.sync.http import Client, KeyRejected, SyncError
from chatvault.sync.providers import ANTHROPIC, OPENAI, cost_rows, usage_rows
from tests.sync.replica import ANTHROPIC_KEY, OPENAI_KEY, replica

DAY = datetime(2026, 11, 2, tzinfo=UTC)
NOW = datetime(2026, 11, 20, tzinfo=UTC)


def client(state, key=None, **kwargs) -> tuple[Client, list[float]]:
    waits: list[float] = []
    provider = OPENAI if state.provider == "openai" else ANTHROPIC
    made = Client(
        state.provider,
        state.url,
        provider.headers(key or state.key),
        timeout=kwargs.pop("timeout", 5.0),
        sleep=waits.append,
        **kwargs,
    )
    return made, waits


def params(provider, width="1d", days=1, **more):
    return {**provider.time_params(DAY, DAY + timedelta(days=days)), "bucket_width": width, **more}


def test_openai_cached_tokens_come_out_of_input_and_costs_are_dollars():
    with replica("openai") as state:
        state.usage.append(
            {
                "at": DAY + timedelta(hours=3),
                "endpoint": "completions",
                "model": "gpt-4o-mini",
                "project_id": "proj_1",
                "input_tokens": 1000,
                "input_cached_tokens": 800,
                "output_tokens": 500,
                "num_model_requests": 5,
            }
        )
        # $0.0123456789 exactly: kept as sent, and as cents to a millionth of a cent
        state.costs.append({"at": DAY, "project_id": "proj_1", "amount": Decimal("1.23456789")})
        api, _ = client(state)
        page = api.get(OPENAI.endpoint("completions").path, params(OPENAI, group_by=["model"]))
        (row,) = usage_rows(OPENAI, "completions", page, NOW)
        costs = api.get("/v1/organization/costs", params(OPENAI, group_by=["project_id"]))
        (cost,) = cost_rows(OPENAI, costs)
    assert (row.input_tokens, row.cache_read_tokens, row.output_tokens) == (200, 800, 500)
    assert (row.model, row.request_count, row.bucket_start) == ("gpt-4o-mini", 5, DAY)
    assert cost.amount == "0.0123456789"  # dollars, exactly as the page wrote them
    assert cost.cents == Decimal("1.23456789")
    assert cost.project == "proj_1"


def test_anthropic_cache_writes_are_their_own_and_costs_are_cents():
    with replica("anthropic") as state:
        state.usage.append(
            {
                "at": DAY,
                "endpoint": "messages",
                "model": "claude-sonnet-4-5",
                "workspace_id": "wrkspc_1",
                "uncached_input_tokens": 100,
                "cache_read_input_tokens": 50,
                "ephemeral_5m_input_tokens": 30,
                "ephemeral_1h_input_tokens": 20,
                "output_tokens": 7,
            }
        )
        state.costs.append({"at": DAY, "workspace_id": "wrkspc_1", "amount": Decimal("123.45")})
        api, _ = client(state)
        groups = {"group_by[]": ["model", "workspace_id"]}
        path = ANTHROPIC.endpoint("messages").path
        (row,) = usage_rows(ANTHROPIC, "messages", api.get(path, params(ANTHROPIC, **groups)), NOW)
        page = api.get(
            "/v1/organizations/cost_report", params(ANTHROPIC, **{"group_by[]": ["workspace_id"]})
        )
        (cost,) = cost_rows(ANTHROPIC, page)
    assert (row.input_tokens, row.cache_read_tokens, row.output_tokens) == (100, 50, 7)
    assert (row.cache_write_tokens, row.cache_write_1h_tokens) == (50, 20)
    assert (row.model, row.project) == ("claude-sonnet-4-5", "wrkspc_1")
    assert cost.amount == "123.45" and cost.cents == Decimal("123.45")  # cents: $1.2345


@pytest.mark.parametrize("status", [401, 403])
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_refused_key_is_one_line_without_the_key(provider, status):
    with replica(provider) as state:
        if status == 401:
            api, waits = client(state, key="sk-wrong-SECRET-123")
        else:
            state.faults.append(("403", None))
            api, waits = client(state)
        spec = OPENAI if provider == "openai" else ANTHROPIC
        with pytest.raises(KeyRejected) as caught:
            api.get(spec.endpoints[0].path, params(spec))
    message = str(caught.value)
    assert f"HTTP {status}" in message and "not an admin key" in message
    assert "\n" not in message and "SECRET" not in message and state.key not in message
    assert waits == []  # not retried


def test_429_waits_as_long_as_retry_after_says():
    with replica("openai") as state:
        state.faults += [("429", "7"), ("429", "3")]
        api, waits = client(state)
        page = api.get("/v1/organization/costs", params(OPENAI))
    assert waits == [7.0, 3.0]
    assert page["data"] and api.requests == 3


def test_500_backs_off_exponentially_then_gives_up_in_one_line():
    with replica("anthropic") as state:
        state.faults += [("500", None)] * 4
        api, waits = client(state, retries=3)
        with pytest.raises(SyncError) as caught:
            api.get("/v1/organizations/cost_report", params(ANTHROPIC))
    assert waits == [1.0, 2.0, 4.0]
    assert str(caught.value) == (
        "anthropic answered HTTP 500 for /v1/organizations/cost_report: fault 500 after 4 tries"
    )


def test_retry_after_is_capped():
    with replica("openai") as state:
        state.faults.append(("429", "86400"))
        api, waits = client(state)
        api.get("/v1/organization/costs", params(OPENAI))
    assert waits == [60.0]


@pytest.mark.parametrize(
    "body, problem",
    [
        (b'{"object": "page"', "not JSON"),
        (b'{"object": "page", "has_more": false}', "no 'data' list"),
        (b'{"data": [], "has_more": true}', "has_more without next_page"),
    ],
)
def test_a_malformed_page_is_one_line(body, problem):
    with replica("openai") as state:
        state.faults.append(("malformed", body))
        api, waits = client(state)
        with pytest.raises(SyncError) as caught:
            api.get("/v1/organization/costs", params(OPENAI))
    assert (
        str(caught.value) == f"openai sent a malformed page for /v1/organization/costs: {problem}"
    )
    assert waits == []


def test_a_bad_result_is_named_by_its_place():
    with replica("anthropic") as state:
        state.costs.append({"at": DAY, "amount": Decimal("1")})
        api, _ = client(state)
        page = api.get("/v1/organizations/cost_report", params(ANTHROPIC))
    page["data"][0]["results"][0]["amount"] = 12.5  # a number: Anthropic sends a string
    with pytest.raises(
        ValueError, match=r"data\[0\]\.results\[0\]\.amount: must be a decimal string"
    ):
        cost_rows(ANTHROPIC, page)


def test_a_page_that_times_out_is_retried_then_one_line():
    with replica("openai") as state:
        state.faults += [("hang", 2.0), ("hang", 2.0)]
        api, waits = client(state, timeout=0.3, retries=1)
        with pytest.raises(SyncError) as caught:
            api.get("/v1/organization/costs", params(OPENAI))
    assert "no answer from http://127.0.0.1:" in str(caught.value)
    assert "after 2 tries" in str(caught.value) and "timeout 0.3 s" in str(caught.value)
    assert waits == [1.0]


def test_the_replica_refuses_a_limit_beyond_the_documented_maximum():
    with replica("anthropic") as state:
        api, _ = client(state, retries=0)
        with pytest.raises(SyncError, match=r"HTTP 400.*limit must be between 1 and 168"):
            api.get(ANTHROPIC.endpoints[0].path, params(ANTHROPIC, width="1h", limit=169))
        api.get(ANTHROPIC.endpoints[0].path, params(ANTHROPIC, width="1h", limit=168))


def test_keys_go_in_the_documented_headers():
    with replica("anthropic") as state:
        api, _ = client(state)
        assert api.get(ANTHROPIC.endpoints[0].path, params(ANTHROPIC))["data"]
    assert ANTHROPIC.headers(ANTHROPIC_KEY) == {
        "x-api-key": ANTHROPIC_KEY,
        "anthropic-version": "2023-06-01",
    }
    assert OPENAI.headers(OPENAI_KEY) == {"Authorization": f"Bearer {OPENAI_KEY}"}


def test_retry_after_as_an_http_date():
    from email.utils import format_datetime

    later = datetime.now(UTC) + timedelta(seconds=30)
    with replica("openai") as state:
        state.faults.append(("503", format_datetime(later, usegmt=True)))
        api, waits = client(state)
        api.get("/v1/organization/costs", params(OPENAI))
    assert len(waits) == 1 and 27 <= waits[0] <= 30


def test_a_key_a_server_echoes_back_is_not_repeated():
    with replica("openai") as state:
        state.faults.append(("400", "echo"))
        api, _ = client(state)
        with pytest.raises(SyncError) as caught:
            api.get("/v1/organization/costs", params(OPENAI))
    assert str(caught.value) == "openai answered HTTP 400 for /v1/organization/costs: bad key ***"


def test_a_cost_text_too_long_to_store_is_a_page_error():
    with replica("anthropic") as state:
        state.costs.append({"at": DAY, "workspace_id": "w" * 101, "amount": Decimal("1")})
        api, _ = client(state)
        page = api.get(
            "/v1/organizations/cost_report", params(ANTHROPIC, **{"group_by[]": ["workspace_id"]})
        )
    with pytest.raises(ValueError, match=r"project must be text of at most 100 characters"):
        cost_rows(ANTHROPIC, page)


def test_a_service_tier_that_is_not_text_is_named():
    with replica("openai") as state:
        state.usage.append(
            {"at": DAY, "endpoint": "completions", "model": "m", "num_model_requests": 1}
        )
        api, _ = client(state)
        page = api.get(OPENAI.endpoint("completions").path, params(OPENAI, group_by=["model"]))
    page["data"][0]["results"][0]["service_tier"] = 7
    with pytest.raises(ValueError, match=r"data\[0\]\.results\[0\]\.service_tier: must be text"):
        usage_rows(OPENAI, "completions", page, NOW)
