"""Values no record may hold, in every source: refused per record with `file:line`, the field
and the problem (skipped with --skip-invalid), never a traceback; and the maxima, which keep
every sum within the database's integers."""

from __future__ import annotations

import gzip
import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from chatvault.cli.app import app
from chatvault.ingest.record import MAX_CENTS, MAX_REQUESTS, MAX_TOKENS
from tests.head import at_head
from tests.ingest.helpers import ingest, rows, runner

DEEP = b"[" * 3000 + b"]" * 3000  # deeper than either JSON parser goes
BAD_UTF8 = b"\xff\xfe"
WHEN = "2025-10-01T12:00:00Z"


@pytest.fixture
def db(sqlite_url) -> str:
    at_head(sqlite_url)
    return sqlite_url


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


# chatvault JSONL: a good line, then a line with `{bad}` where a value goes.
def chatvault_jsonl(bad: bytes) -> bytes:
    good = {"request_id": "good", "created_at": WHEN, "user_id": "a", "model": "gpt-4o"}
    line = b'{"request_id": "bad", "created_at": "%s", "user_id": "a", "model": "gpt-4o", %s}'
    return _json(good) + b"\n" + line % (WHEN.encode(), bad) + b"\n"


def chatvault_csv(column: str, cell: bytes) -> bytes:
    head = f"request_id,created_at,user_id,model,{column}\n".encode()
    return head + f"good,{WHEN},a,gpt-4o,1\n".encode() + f"bad,{WHEN},a,gpt-4o,".encode() + cell


def claude_code(usage: bytes) -> bytes:
    def line(message_id: str, usage: bytes) -> bytes:
        return (
            b'{"sessionId": "s", "type": "assistant", "timestamp": "%s", "message": {"id": "%s", '
            b'"model": "claude-sonnet-4-20250514", "usage": %s}}'
            % (WHEN.encode(), message_id.encode(), usage)
        )

    return line("good", b'{"input_tokens": 1}') + b"\n" + line("bad", usage) + b"\n"


def openai_pages(result: bytes) -> bytes:
    def page(result: bytes) -> bytes:
        return (
            b'{"object": "page", "data": [{"start_time": 1759276800, "end_time": 1759363200, '
            b'"results": [{"object": "organization.usage.completions.result", %s}]}]}' % result
        )

    good = b'"num_model_requests": 1, "input_tokens": 5, "model": "gpt-4o", "user_id": "good"'
    return page(good) + b"\n" + page(b'"num_model_requests": 1, "model": "gpt-4o", ' + result)


def anthropic_pages(result: bytes) -> bytes:
    def page(result: bytes) -> bytes:
        return (
            b'{"data": [{"starting_at": "%s", "ending_at": "2025-10-02T00:00:00Z", '
            b'"results": [{"uncached_input_tokens": 0, %s}]}]}' % (WHEN.encode(), result)
        )

    good = b'"output_tokens": 5, "model": "claude-sonnet-4-20250514", "api_key_id": "good"'
    return page(good) + b"\n" + page(b'"model": "claude-sonnet-4-20250514", ' + result)


def litellm_jsonl(bad: bytes) -> bytes:
    def line(request_id: str, bad: bytes) -> bytes:
        return b'{"request_id": "%s", "startTime": "%s", "model": "gpt-4o", "spend": 0.01, %s}' % (
            request_id.encode(),
            WHEN.encode(),
            bad,
        )

    return line("good", b'"prompt_tokens": 1') + b"\n" + line("bad", bad) + b"\n"


def litellm_csv(column: str, cell: bytes) -> bytes:
    head = f"request_id,startTime,model,spend,{column}\n".encode()
    rows = f"good,{WHEN},gpt-4o,0.01,\nbad,{WHEN},gpt-4o,0.01,".encode()
    return head + rows + cell


MANY, WHOLE, DEAR = "more than 1,000,000,000,000", "must be a whole number", "more than $50,000"
UTF8, DEEPER, JSON = "not valid UTF-8", "nested deeper than", "not valid JSON"
CASES = [
    # (name, content, line, field, problem)
    ("jsonl-int64-max", chatvault_jsonl(b'"output_tokens": 9223372036854775807'),
     2, "output_tokens", MANY),
    ("jsonl-2^31-requests", chatvault_jsonl(b'"request_count": %d' % 2**31),
     2, "request_count", "more than 1,000,000,000"),
    ("jsonl-superscript", chatvault_jsonl('"input_tokens": "²"'.encode()),
     2, "input_tokens", WHOLE + ", got '²'"),
    ("jsonl-1e300", chatvault_jsonl(b'"cost_usd": 1e300'), 2, "cost_usd", DEAR),
    ("jsonl-1e300-text", chatvault_jsonl(b'"cost_cents": "1e300"'), 2, "cost_cents", DEAR),
    ("jsonl-NaN", chatvault_jsonl(b'"cost_usd": NaN'), 2, "record", JSON),
    ("jsonl-Infinity", chatvault_jsonl(b'"cost_cents": Infinity'), 2, "record", JSON),
    ("jsonl-NaN-text", chatvault_jsonl(b'"cost_usd": "NaN"'), 2, "cost_usd", "not a number"),
    ("jsonl-utf8-cost", chatvault_jsonl(b'"cost_usd": 1, "project": "%s"' % BAD_UTF8),
     2, "record", UTF8),
    ("jsonl-deep-cost", chatvault_jsonl(b'"cost_usd": 1, "error_details": ' + DEEP),
     2, "record", DEEPER),
    ("csv-2^63", chatvault_csv("input_tokens", b"9223372036854775808"), 3, "input_tokens", MANY),
    ("csv-superscript", chatvault_csv("input_tokens", "²".encode()), 3, "input_tokens", WHOLE),
    ("csv-1e300", chatvault_csv("cost_usd", b"1e300"), 3, "cost_usd", DEAR),
    ("csv-NaN", chatvault_csv("cost_usd", b"NaN"), 3, "cost_usd", "not a number"),
    ("csv-Infinity", chatvault_csv("cost_cents", b"-Infinity"), 3, "cost_cents", "not a number"),
    ("csv-utf8", chatvault_csv("project", BAD_UTF8), 3, "record", UTF8),
    ("litellm-1e300", litellm_jsonl(b'"prompt_tokens": 1, "spend": 1e300'), 2, "spend", DEAR),
    ("litellm-NaN", litellm_jsonl(b'"spend": NaN'), 2, "record", JSON),
    ("litellm-utf8", litellm_jsonl(b'"user": "%s"' % BAD_UTF8), 2, "record", UTF8),
    ("litellm-deep", litellm_jsonl(b'"metadata": ' + DEEP), 2, "record", DEEPER),
    ("litellm-csv-superscript", litellm_csv("prompt_tokens", "²".encode()),
     3, "prompt_tokens", WHOLE),
    ("litellm-csv-Infinity", litellm_csv("completion_tokens", b"Infinity"),
     3, "completion_tokens", WHOLE),
    ("litellm-csv-deep-metadata", litellm_csv("metadata", b'"' + DEEP + b'"'),
     3, "metadata", DEEPER),
    ("litellm-csv-utf8", litellm_csv("user", BAD_UTF8), 3, "record", UTF8),
]  # fmt: skip


def _every_json_source(name: str, build, where: str, key: str = "output_tokens") -> list[tuple]:
    """What every JSON source refuses alike: a count too large or written in other digits than
    ASCII, a line that is not UTF-8, one nested too deep."""
    return [
        (f"{name}-2^63", build(b'"%s": %d' % (key.encode(), 2**63)), 2, where + key, MANY),
        (f"{name}-superscript", build(f'"{key}": "²"'.encode()), 2, where + key, WHOLE),
        (f"{name}-utf8", build(b'"x": "%s"' % BAD_UTF8), 2, "record", UTF8),
        (f"{name}-deep", build(b'"x": ' + DEEP), 2, "record", DEEPER),
    ]  # fmt: skip


CASES += [
    *_every_json_source("jsonl", chatvault_jsonl, ""),
    *_every_json_source("claude", lambda f: claude_code(b'{"input_tokens": 1, %s}' % f),
                        "message.usage."),
    *_every_json_source("openai", openai_pages, "data[0].results[0]."),
    *_every_json_source("anthropic", anthropic_pages, "data[0].results[0]."),
    *_every_json_source("litellm", litellm_jsonl, "", "completion_tokens"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "content", "line", "field", "problem"),
    CASES,
    ids=[case[0] for case in CASES],
)
def test_a_value_no_record_may_hold_is_refused_where_it_is(
    db, tmp_path, name, content, line, field, problem
):
    path = tmp_path / name
    path.write_bytes(content)
    refused = ingest(db, str(path))
    assert refused.exit_code == 2, refused.output
    assert refused.stdout == ""
    (error,) = [text for text in refused.stderr.splitlines() if text.startswith("error:")]
    assert error.startswith(f"error: {path}:{line}: {field}: "), error
    assert problem in error and error.endswith("; nothing of this file was imported"), error
    assert "Traceback" not in refused.stderr and len(error) < 300
    assert rows(db) == {}
    skipped = ingest(db, "--skip-invalid", str(path))
    assert skipped.exit_code == 0, skipped.output
    assert "1 inserted" in skipped.stderr and "1 rejected" in skipped.stderr
    assert len(rows(db)) == 1


def _logs_db(path: Path, bad: str) -> Path:
    """An llm logs.db with a good response, then one with `bad` as an SQL value's expression."""
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE responses (id TEXT PRIMARY KEY, model TEXT, conversation_id TEXT, "
        "duration_ms INTEGER, datetime_utc TEXT, input_tokens INTEGER, output_tokens INTEGER, "
        "token_details TEXT)"
    )
    insert = "INSERT INTO responses VALUES ('{}', {}, 'c', {}, '2025-09-01T12:00:00', {}, 1, {})"
    values = {"model": "'gpt-4o'", "duration_ms": "10", "input_tokens": "5"}
    values["token_details"] = "NULL"
    db.execute(insert.format("good", *values.values()))
    column, expression = bad.split("=", 1)
    db.execute(insert.format("bad", *{**values, column: expression}.values()))
    db.commit()
    db.close()
    return path


LLM_CASES = [
    ("input_tokens=9223372036854775807", "responses.input_tokens", "more than 1,000,000,000,000"),
    ("input_tokens='²'", "responses.input_tokens", "must be a whole number"),
    ("model=CAST(x'ff' AS TEXT)", "responses.model", "not valid UTF-8"),
    ("duration_ms='soon'", "responses.duration_ms", "must be a number of milliseconds"),
    ("token_details='{'", "responses.token_details", "not valid JSON"),
    ("token_details='" + DEEP.decode() + "'", "responses.token_details", "nested deeper than"),
]


@pytest.mark.parametrize(("bad", "field", "problem"), LLM_CASES, ids=[c[0][:20] for c in LLM_CASES])
def test_llm_logs_values_no_record_may_hold(db, tmp_path, bad, field, problem):
    logs = _logs_db(tmp_path / "logs.db", bad)
    refused = ingest(db, str(logs))
    assert refused.exit_code == 2, refused.output
    (error,) = [text for text in refused.stderr.splitlines() if text.startswith("error:")]
    assert error.startswith(f"error: {logs}:2: {field}: ") and problem in error, error
    assert "Traceback" not in refused.stderr and rows(db) == {}
    skipped = ingest(db, "--skip-invalid", str(logs))
    assert skipped.exit_code == 0 and set(rows(db)) == {"llm:good"}, skipped.output


def test_a_file_that_says_sqlite_but_is_not_one_is_refused(db, tmp_path):
    broken = tmp_path / "logs.db"
    broken.write_bytes(b"SQLite format 3\x00" + b"\x07" * 200)
    result = ingest(db, str(broken))
    assert result.exit_code == 2 and result.stdout == ""
    assert f"error: {broken}: not a readable SQLite database" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_maxima_are_documented():
    text = (Path(__file__).parents[2] / "docs" / "ingest.md").read_text()
    assert f"{MAX_TOKENS:,}" in text and f"{MAX_REQUESTS:,}" in text
    assert f"${MAX_CENTS // 100:,}" in text
    # a million records at the maximum still sum within a signed 64-bit integer, the token
    # total (four columns) and the cost in millionths of a cent (SQLite) alike
    assert 10**6 * 4 * MAX_TOKENS < 2**63 and 10**6 * MAX_CENTS * 10**6 < 2**63


@pytest.fixture
def any_db(db_url) -> str:
    at_head(db_url)
    return db_url


def test_records_at_the_maxima_are_stored_and_summed(any_db, tmp_path):
    """Where 2^63 - 1 tokens in one record made `usage` fail with an integer overflow."""
    record = {
        "created_at": WHEN,
        "user_id": "a",
        "model": "gpt-4o",
        "request_count": MAX_REQUESTS,
        **dict.fromkeys(("input_tokens", "output_tokens", "cache_read_tokens"), MAX_TOKENS),
        "cache_write_tokens": MAX_TOKENS,
        "cache_write_1h_tokens": MAX_TOKENS,
        "cost_cents": str(MAX_CENTS),
    }
    path = tmp_path / "max.jsonl"
    path.write_text("\n".join(json.dumps({**record, "request_id": f"r{i}"}) for i in range(3)))
    assert ingest(any_db, str(path)).exit_code == 0
    assert {r["cost_cents"] for r in rows(any_db).values()} == {Decimal(MAX_CENTS)}
    usage = runner.invoke(
        app,
        ["usage", "--database", any_db, "--since", "2025-10-01", "--until", "2025-10-02",
         "--tz", "UTC", "-f", "json"],
    )  # fmt: skip
    assert usage.exit_code == 0, usage.output
    assert "Traceback" not in usage.stderr and "overflow" not in usage.stderr
    totals = json.loads(usage.stdout)["totals"]
    assert (totals["requests"], totals["input_tokens"]) == (3 * MAX_REQUESTS, 3 * MAX_TOKENS)
    assert totals["cost_usd"] == f"{3 * MAX_CENTS // 100}.00"


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_an_estimated_cost_beyond_the_maximum_is_refused_where_it_is(db, tmp_path, suffix):
    """10^10 output tokens of gpt-4o ($10 a million) would cost $100,000: beyond $50,000."""
    fields = ("request_id", "created_at", "user_id", "model", "output_tokens")
    records = [("good", WHEN, "a", "gpt-4o", 10), ("dear", WHEN, "a", "gpt-4o", 10**10)]
    path = tmp_path / f"dear.{suffix}"
    if suffix == "jsonl":  # plain lines: checked a column at a time
        lines = (json.dumps(dict(zip(fields, r, strict=True))) for r in records)
        path.write_text("\n".join(lines) + "\n")
    else:  # read record by record
        path.write_text("\n".join(",".join(map(str, r)) for r in [fields, *records]) + "\n")
    line = 2 if suffix == "jsonl" else 3
    refused = ingest(db, str(path))
    assert (refused.exit_code, refused.stdout) == (2, "")
    (error,) = [text for text in refused.stderr.splitlines() if text.startswith("error:")]
    assert error == (
        f"error: {path}:{line}: cost: estimated at $100,000.00 at gpt-4o's price, more than "
        "$50,000, the most one record may cost; nothing of this file was imported"
    )
    assert rows(db) == {}
    rejects = tmp_path / "rejects.jsonl"
    skipped = ingest(db, "--skip-invalid", "--rejects", str(rejects), str(path))
    assert skipped.exit_code == 0 and "1 inserted" in skipped.stderr, skipped.output
    assert set(rows(db)) == {"good"}
    (reason,) = map(json.loads, rejects.read_text().splitlines())
    assert reason["where"] == f"{path}:{line}" and "dear" in reason["record"]


def test_a_cut_short_gzip_file_is_refused_in_one_line(db, tmp_path):
    path = tmp_path / "usage.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"created_at": "2025-10-01T12:00:00Z"}\n' * 100)[:40])
    result = ingest(db, str(path))
    assert (result.exit_code, result.stdout) == (2, "")
    (error,) = [text for text in result.stderr.splitlines() if text.startswith("error:")]
    assert error.startswith(f"error: {path}: a damaged or cut-short gzip file (")
    assert error.endswith("; nothing of this file was imported")


def test_a_cost_with_an_exponent_beyond_decimal_is_refused(db, tmp_path):
    path = tmp_path / "u.csv"
    path.write_bytes(chatvault_csv("cost_cents", b"1e999999999"))
    result = ingest(db, str(path))
    assert result.exit_code == 2
    assert f"error: {path}:3: cost_cents: more than $50,000" in result.stderr


def test_a_decimal_is_shown_as_written_not_as_its_repr():
    from decimal import Decimal

    from chatvault.ingest.record import RecordError, count

    with pytest.raises(RecordError, match=r"must be a whole number, got 1\.5$"):
        count(Decimal("1.5"), "input_tokens")
