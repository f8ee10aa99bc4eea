"""The OTLP/HTTP receiver: POST /v1/logs, /v1/traces, /v1/metrics, protobuf or JSON, gzip
or not (the OTLP specification's HTTP transport). Usage found in a batch is stored once
(retries add nothing); a bad item is refused through the response's partial success and
the rest of the batch is kept."""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from chatvault.errors import InputError
from chatvault.serve import telemetry

if TYPE_CHECKING:
    from chatvault.serve.app import Server

PROTOBUF, JSON = "application/x-protobuf", "application/json"
MOST_ERRORS = 5  # quoted in a partial success's message; the count says how many in all
CHUNK = 128  # items checked and priced between two looks for reports waiting (serve/priority.py)


class TooLarge(Exception):
    pass


async def body(request: Request, most: int) -> bytes:
    """The request's body, gunzipped; TooLarge past `most` bytes either way."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > most:
        raise TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > most:
            raise TooLarge
        chunks.append(chunk)
    data = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding == "gzip":
        inflate = zlib.decompressobj(wbits=31)
        try:
            data = inflate.decompress(data, most + 1)
        except zlib.error:
            raise InputError("the body is not valid gzip") from None
        if len(data) > most or inflate.unconsumed_tail:
            raise TooLarge
        if not inflate.eof:
            raise InputError("the gzip body is truncated")
    elif encoding != "identity":
        raise InputError(f"Content-Encoding {encoding!r}: send gzip or none")
    return data


def _hex_ids(node: Any) -> Any:
    """OTLP/JSON writes trace and span ids in hex; protobuf's JSON mapping reads bytes as
    base64: the ids are converted before parsing."""
    import base64

    if isinstance(node, dict):
        out = {}
        for key, item in node.items():
            if key in ("traceId", "spanId", "parentSpanId") and isinstance(item, str):
                try:
                    item = base64.b64encode(bytes.fromhex(item)).decode()
                except ValueError:
                    raise InputError(f"{key} {item[:40]!r} is not hex") from None
            out[key] = _hex_ids(item)
        return out
    if isinstance(node, list):
        return [_hex_ids(item) for item in node]
    return node


def decode(data: bytes, kind: str, message: Any) -> Any:
    request = message()
    try:
        if kind == PROTOBUF:
            request.ParseFromString(data)
        else:
            import json

            document = json.loads(data)
            if not isinstance(document, dict):
                raise ValueError("the body is not a JSON object")
            json_format.ParseDict(_hex_ids(document), request, ignore_unknown_fields=True)
    except (DecodeError, ValueError, TypeError, json_format.ParseError, RecursionError) as exc:
        what = "protobuf" if kind == PROTOBUF else "OTLP JSON"
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise InputError(f"not a valid {what} export request: {first}") from None
    return request


def encode(response: Any, kind: str) -> Response:
    if kind == PROTOBUF:
        return Response(response.SerializeToString(), media_type=PROTOBUF)
    return JSONResponse(json_format.MessageToDict(response))


def _kind(request: Request) -> str | None:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type if content_type in (PROTOBUF, JSON) else None


def store(server: Server, items: Iterator[tuple[str, telemetry.Item]]) -> tuple[int, list[str]]:
    """Store the usage items that pass every check (a request's items are of one source:
    one transaction); (items refused, the first reasons why)."""
    fields: dict[str, list[dict[str, Any]]] = {}
    refused: Counter[str] = Counter()
    errors: list[str] = []
    deadline = server.first.deadline()
    for number, (source, item) in enumerate(items):
        if number % CHUNK == 0:
            server.first.wait(deadline)
        if item.fields is None:
            refused[source] += 1
            errors.append(str(item.error))
        else:
            fields.setdefault(source, []).append(item.fields)
    for source, found in fields.items():
        rows: list[tuple] = []
        for start in range(0, len(found), CHUNK):
            server.first.wait(deadline)
            chunk, problems = server.writer.rows(found[start : start + CHUNK])
            rows += chunk
            refused[source] += len(problems)
            errors += problems
        with server.session() as session:
            stored = server.writer.write(session, rows)
        server.received.note(source, rows=stored, duplicates=len(rows) - stored)
    for source, n in refused.items():
        server.received.note(source, rejected=n)
    return refused.total(), errors


Handling = Callable[["Server", Any], Any]


def _logs(server: Server, request: Any) -> Any:
    rejected, errors = store(server, telemetry.log_items(request))
    partial = logs.ExportLogsPartialSuccess(
        rejected_log_records=rejected, error_message=_message(rejected, errors)
    )
    return logs.ExportLogsServiceResponse(partial_success=partial if rejected else None)


def _traces(server: Server, request: Any) -> Any:
    rejected, errors = store(server, telemetry.span_items(request))
    partial = trace.ExportTracePartialSuccess(
        rejected_spans=rejected, error_message=_message(rejected, errors)
    )
    return trace.ExportTraceServiceResponse(partial_success=partial if rejected else None)


def _metrics(server: Server, request: Any) -> Any:
    for source, points in telemetry.metric_points(request):
        server.received.note(source, points=points)
    return metrics.ExportMetricsServiceResponse()


def _message(rejected: int, errors: list[str]) -> str:
    if not rejected:
        return ""
    shown = "; ".join(errors[:MOST_ERRORS])
    more = f" (and {rejected - MOST_ERRORS} more)" if rejected > MOST_ERRORS else ""
    return f"{rejected} item(s) refused: {shown}{more}"


def handlers(server: Server) -> dict[str, Callable[[Request], Any]]:
    def route(message: Any, handle: Handling) -> Callable[[Request], Any]:
        async def receive(request: Request) -> Response:
            kind = _kind(request)
            if kind is None:
                return JSONResponse(
                    {"error": f"send Content-Type {PROTOBUF} or {JSON}"}, status_code=415
                )
            try:
                data = await body(request, server.max_body)
            except TooLarge:
                most = f"{server.max_body:,}"
                return JSONResponse(
                    {"error": f"the body is larger than {most} bytes: send smaller batches"},
                    status_code=413,
                )
            export = decode(data, kind, message)
            return encode(await server.first.receive(handle, server, export), kind)

        return receive

    return {
        "/v1/logs": route(logs.ExportLogsServiceRequest, _logs),
        "/v1/traces": route(trace.ExportTraceServiceRequest, _traces),
        "/v1/metrics": route(metrics.ExportMetricsServiceRequest, _metrics),
    }
