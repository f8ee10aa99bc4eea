"""The OTLP/HTTP receiver over real HTTP, fed by the OpenTelemetry SDK's own exporters and by
hand-made batches: rows checked exactly, a retry adds nothing, a bad item is refused through
the partial success and the rest is kept, Claude Code's metrics never count twice."""

from __future__ import annotations

import gzip
import json
import time
from decimal import Decimal

import httpx
import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    Metric,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as ProtoResource
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from chatvault.db.models import rollup_stale, rollup_table, usage_logs
from tests.serve.conftest import SEND

NOW_NS = time.time_ns() - 3_600 * 10**9
PROTOBUF = {"Content-Type": "application/x-protobuf"}


def rows(url: str) -> dict[str, dict]:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        found = {r.request_id: r._asdict() for r in conn.execute(select(usage_logs))}
    engine.dispose()
    return found


def claude_code_event(sequence: int, **attrs: str) -> dict[str, str]:
    """An api_request event's attributes as Claude Code's monitoring docs list them."""
    return {
        "event.name": "api_request",
        "event.timestamp": "2026-01-01T00:00:00Z",
        "event.sequence": str(sequence),
        "session.id": "session-1",
        "user.email": "dev@example.com",
        "user.account_uuid": "acct-1",
        "model": "claude-sonnet-4-5",
        "input_tokens": "120",
        "output_tokens": "30",
        "cache_read_tokens": "1000",
        "cache_creation_tokens": "200",
        "cost_usd": "0.012345",
        "duration_ms": "1500",
        **attrs,
    }


def proto_logs(events: list[dict[str, str]]) -> ExportLogsServiceRequest:
    def kv(key: str, value: str) -> KeyValue:
        return KeyValue(key=key, value=AnyValue(string_value=value))

    records = [
        LogRecord(
            time_unix_nano=NOW_NS + i,
            body=AnyValue(string_value="claude_code.api_request"),
            attributes=[kv(k, v) for k, v in attrs.items()],
        )
        for i, attrs in enumerate(events)
    ]
    resource = ProtoResource(attributes=[kv("service.name", "claude-code")])
    return ExportLogsServiceRequest(
        resource_logs=[ResourceLogs(resource=resource, scope_logs=[ScopeLogs(log_records=records)])]
    )


def scrape(server) -> str:
    with server.client() as http:
        return http.get("/metrics").text


def post(server, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    with server.client(SEND) as http:
        return http.post(path, content=body, headers=headers)


def test_the_sdk_log_exporter_sends_claude_code_events(server):
    provider = LoggerProvider(resource=Resource.create({"service.name": "claude-code"}))
    exporter = OTLPLogExporter(endpoint=f"{server.url}/v1/logs",
                               headers={"Authorization": f"Bearer {SEND}"},
                               compression=Compression.Gzip)  # fmt: skip
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("com.anthropic.claude_code.events")
    name = "claude_code.api_request"
    logger.emit(timestamp=NOW_NS, body=name, event_name=name, attributes=claude_code_event(1))
    logger.emit(timestamp=NOW_NS, body="claude_code.user_prompt",
                attributes={"event.name": "user_prompt", "session.id": "session-1"})  # fmt: skip
    provider.shutdown()
    (row,) = rows(server.database).values()
    assert row["request_id"].startswith("otel-cc:")
    assert (row["model"], row["provider"], row["user_id"], row["session_id"]) == (
        "claude-sonnet-4-5", "anthropic", "dev@example.com", "session-1")  # fmt: skip
    assert (row["input_tokens"], row["output_tokens"]) == (120, 30)
    assert (row["cache_read_tokens"], row["cache_write_tokens"]) == (1000, 200)
    assert row["cost_cents"] == Decimal("1.2345")  # $0.012345, exact
    assert row["cost_source"] == "reported"
    assert row["processing_time_seconds"] == pytest.approx(1.5)
    assert row["created_at"].timestamp() == pytest.approx(NOW_NS / 1e9, abs=1e-3)


def test_a_retry_adds_nothing_in_either_encoding(server_each):
    server = server_each
    batch = proto_logs([claude_code_event(1), claude_code_event(2, input_tokens="7")])
    body = batch.SerializeToString()
    first = post(server, "/v1/logs", body, PROTOBUF)
    assert first.status_code == 200
    assert not ExportLogsServiceResponse.FromString(first.content).HasField("partial_success")
    stored = rows(server.database)
    assert len(stored) == 2
    again = post(server, "/v1/logs", gzip.compress(body), {**PROTOBUF, "Content-Encoding": "gzip"})
    as_json = json.dumps(json_format.MessageToDict(batch)).encode()
    in_json = post(server, "/v1/logs", as_json, {"Content-Type": "application/json"})
    assert again.status_code == in_json.status_code == 200
    assert in_json.json() == {}
    assert rows(server.database) == stored
    metrics = scrape(server)
    assert 'chatvault_received_rows_total{source="claude-code"} 2.0' in metrics
    assert 'chatvault_received_duplicates_total{source="claude-code"} 4.0' in metrics


def test_a_bad_item_is_refused_and_the_rest_kept(server):
    batch = proto_logs([
        claude_code_event(1),
        claude_code_event(2, input_tokens="-5"),
        claude_code_event(3, model=""),
        claude_code_event(4, cost_usd="lots"),
    ])  # fmt: skip
    answer = post(server, "/v1/logs", batch.SerializeToString(), PROTOBUF)
    assert answer.status_code == 200
    partial = ExportLogsServiceResponse.FromString(answer.content).partial_success
    assert partial.rejected_log_records == 3
    assert "input_tokens: must be a whole number" in partial.error_message
    assert "model: missing" in partial.error_message
    assert len(rows(server.database)) == 1
    as_json = json.dumps(json_format.MessageToDict(batch)).encode()
    in_json = post(server, "/v1/logs", as_json, {"Content-Type": "application/json"})
    assert in_json.json()["partialSuccess"]["rejectedLogRecords"] == "3"


def test_api_error_events_are_error_rows(server):
    failed = claude_code_event(1, **{"event.name": "api_error", "error": "Overloaded",
                                     "status_code": "529", "attempt": "11"})  # fmt: skip
    for key in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens",
                "cost_usd"):  # fmt: skip
        del failed[key]
    body = proto_logs([claude_code_event(1), failed]).SerializeToString()
    assert post(server, "/v1/logs", body, PROTOBUF).status_code == 200
    assert post(server, "/v1/logs", body, PROTOBUF).status_code == 200  # a retry
    by_status = {row["status"]: row for row in rows(server.database).values()}
    assert sorted(by_status) == ["error", "success"]
    error = by_status["error"]
    assert json.loads(error["error_details"]) == {
        "error": "Overloaded",
        "status_code": "529",
        "attempt": "11",
    }
    assert (error["model"], error["user_id"], error["session_id"]) == (
        "claude-sonnet-4-5", "dev@example.com", "session-1")  # fmt: skip
    assert error["input_tokens"] == error["output_tokens"] == 0
    assert error["processing_time_seconds"] == pytest.approx(1.5)
    assert error["request_id"] != by_status["success"]["request_id"]
    # No tokens: priced from the price list at $0 (a known price of nothing), not unknown.
    assert (error["cost_cents"], error["cost_source"]) == (0, "estimated")


def test_claude_code_metrics_do_not_count_twice(server):
    post(server, "/v1/logs", proto_logs([claude_code_event(1)]).SerializeToString(), PROTOBUF)
    before = rows(server.database)

    def metric(name: str, value: float, kind: str) -> Metric:
        attrs = [KeyValue(key="model", value=AnyValue(string_value="claude-sonnet-4-5")),
                 KeyValue(key="type", value=AnyValue(string_value=kind))]  # fmt: skip
        point = NumberDataPoint(as_double=value, time_unix_nano=NOW_NS, attributes=attrs)
        return Metric(name=name, sum=Sum(data_points=[point], is_monotonic=True))

    request = ExportMetricsServiceRequest(resource_metrics=[ResourceMetrics(scope_metrics=[
        ScopeMetrics(metrics=[metric("claude_code.token.usage", 120, "input"),
                              metric("claude_code.token.usage", 30, "output"),
                              metric("claude_code.cost.usage", 0.012345, "")])])])  # fmt: skip
    answer = post(server, "/v1/metrics", request.SerializeToString(), PROTOBUF)
    assert answer.status_code == 200
    assert rows(server.database) == before
    metrics = scrape(server)
    assert 'chatvault_received_metric_points_total{source="claude-code-metrics"} 3.0' in metrics
    assert 'chatvault_month_tokens_by_model{model="claude-sonnet-4-5",type="input"}' in metrics


def test_the_sdk_span_exporter_sends_genai_spans(server):
    provider = TracerProvider(resource=Resource.create({"service.name": "my-agent"}))
    exporter = OTLPSpanExporter(endpoint=f"{server.url}/v1/traces",
                                headers={"Authorization": f"Bearer {SEND}"})  # fmt: skip
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("chat gpt-4o") as span:
        span.set_attributes({
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.usage.input_tokens": 1500,
            "gen_ai.usage.output_tokens": 40,
            "gen_ai.usage.cache_read.input_tokens": 1000,
            "user.id": "alice",
        })  # fmt: skip
        trace_id, span_id = span.get_span_context().trace_id, span.get_span_context().span_id
    with tracer.start_as_current_span("failed call") as failed:
        failed.set_attributes({"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 9})
        failed.set_status(Status(StatusCode.ERROR))
    with tracer.start_as_current_span("no usage here"):
        pass
    provider.shutdown()
    found = rows(server.database)
    assert len(found) == 2
    row = found[f"otel-span:{trace_id:032x}:{span_id:016x}"]
    assert (row["model"], row["provider"], row["user_id"]) == (
        "gpt-4o-2024-08-06",
        "openai",
        "alice",
    )
    # The conventions count cache reads within input_tokens; chatvault does not.
    assert (row["input_tokens"], row["cache_read_tokens"], row["output_tokens"]) == (500, 1000, 40)
    assert row["cost_source"] == "estimated" and row["cost_cents"] > 0  # priced like any other
    assert sorted(r["status"] for r in found.values()) == ["error", "success"]


def test_bodies_are_capped_and_checked(sqlite_url, tokens):
    from chatvault.db.migrate import migrate
    from tests.serve.conftest import serving

    migrate(sqlite_url)
    with serving(sqlite_url, max_body=4096) as server:
        big = post(server, "/v1/logs", b"\0" * 5000, PROTOBUF)
        bomb = post(server, "/v1/logs", gzip.compress(b"\0" * 100_000),
                    {**PROTOBUF, "Content-Encoding": "gzip"})  # fmt: skip
        garbage = post(server, "/v1/logs", b"\xff\xff\xff", PROTOBUF)
        not_json = post(server, "/v1/logs", b"{", {"Content-Type": "application/json"})
        not_gzip = post(server, "/v1/logs", b"abc", {**PROTOBUF, "Content-Encoding": "gzip"})
        other = post(server, "/v1/logs", b"", {"Content-Type": "text/plain"})
    assert (big.status_code, bomb.status_code) == (413, 413)
    assert garbage.status_code == not_json.status_code == not_gzip.status_code == 400
    assert garbage.json()["error"].startswith("not a valid protobuf export request")
    assert other.status_code == 415


def test_batches_sent_at_once_are_each_stored_once(server):
    """Sixteen requests at once, two of each batch: written by one thread at a time, in
    groups (serve/write.py), every event stored once and counted once in /metrics, and
    in the daily rollups by the time the answers go (no hour left stale)."""
    from concurrent.futures import ThreadPoolExecutor

    with server.client() as http:  # the rollups of the server's zone, built
        assert http.get("/v1/usage", params={"group_by": "day"}).json()["rows"] == []

    batches = [
        proto_logs([claude_code_event(100 * n + i) for i in range(20)]).SerializeToString()
        for n in range(8)
    ]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda body: post(server, "/v1/logs", body, PROTOBUF),
                                batches * 2))  # fmt: skip
    assert [a.status_code for a in answers] == [200] * 16
    assert len(rows(server.database)) == 160
    engine = create_engine(server.database, poolclass=NullPool)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(rollup_stale)).scalar() == 0
        days = select(func.sum(rollup_table("rollup_days").c.requests))
        assert conn.execute(days).scalar() == 160
    engine.dispose()
    metrics = scrape(server)
    assert 'chatvault_received_rows_total{source="claude-code"} 160.0' in metrics
    assert 'chatvault_received_duplicates_total{source="claude-code"} 160.0' in metrics
