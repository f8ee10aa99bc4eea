"""Random and mutated input for every source: never a traceback, never an "unexpected error",
never half a file imported. Each record comes out as a checked record or as the reason it
cannot be one."""

from __future__ import annotations

import contextlib
import io
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatvault.errors import InputError
from chatvault.ingest import claude_code, llm_logs
from chatvault.ingest.files import CountingReader, Input
from chatvault.ingest.formats import DETECTABLE, detect
from chatvault.ingest.options import Checked, ParseOptions
from chatvault.ingest.record import RecordError, UsageRecord
from tests.head import at_head
from tests.ingest.helpers import FIXTURES, ingest, rows

OPTIONS = ParseOptions(now=datetime(2026, 1, 1, tzinfo=UTC), user="dev")
SEED_FILES = {  # by source: what each fuzz run mutates
    "chatvault": ["chatvault/usage.jsonl", "chatvault/usage.csv", "chatvault/bad_line.jsonl"],
    "claude-code": ["claude/projects/-home-dev-shop/s-a.jsonl"],
    "openai-usage": ["openai/usage_page.json"],
    "anthropic-usage": ["anthropic/usage_report.jsonl"],
    "litellm": ["litellm/spend_logs.csv", "litellm/spend_logs.json"],
    "codex": ["codex/sessions/2026/03/02/" + next((FIXTURES / "codex").rglob("*.jsonl")).name],
    "gemini": [
        "gemini/tmp/abc123/chats/session-2026-03-03T10-00-1f2e3d4c.json",
        "gemini/tmp/abc123/chats/session-2026-03-04T08-00-5a6b7c8d.jsonl",
    ],
    "opencode": ["opencode/storage/message/ses_1/msg_02.json"],
    "qwen": ["qwen/projects/-home-dev-api/chats/7c1d2e3f-0000-4000-8000-00000000cccc.jsonl"],
}
SEEDS = {module: SEED_FILES[module.NAME] for module in DETECTABLE}  # every source but llm
# Values that broke imports once, or might: too large, not digits, not numbers, not UTF-8,
# too deep, the wrong type.
ODD = [
    b"9223372036854775808", b"18446744073709551616", b"1" * 400, b"-1", b"1.5", b"1e300",
    b"1e-400", b"NaN", b"Infinity", b"-Infinity", b'"\xc2\xb2"', b'"\xd9\xa3"', b'"\xff\xfe"',
    b'"1e999999999"', b'"NaN"', b"[]", b"{}", b"null", b"true", b'""', b'"' + b"x" * 300 + b'"',
    b"[" * 1100 + b"]" * 1100, b'{"a":' * 1030 + b"1" + b"}" * 1030, b'"2025-13-45T99:00:00Z"',
    b"\xff", b"\x00", b'"\\ud800"',
]  # fmt: skip
VALUE = re.compile(rb'(?<=: )("[^"]*"|[^,}\]\s]+)|(?<=,)[^,\n]*')  # a JSON value, or a CSV cell


@st.composite
def mutated(draw, seeds: list[str]) -> bytes:
    """A seed file with a few of its values replaced by odd ones, bytes changed or cut."""
    data = (FIXTURES / draw(st.sampled_from(seeds))).read_bytes()
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["value", "value", "byte", "cut", "insert"]))
        if kind == "value" and (spots := list(VALUE.finditer(data))):
            spot = draw(st.sampled_from(spots))
            data = data[: spot.start()] + draw(st.sampled_from(ODD)) + data[spot.end() :]
        elif kind == "byte" and data:
            at = draw(st.integers(0, len(data) - 1))
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
        elif kind == "cut" and data:
            at = draw(st.integers(0, len(data)))
            data = data[:at] + data[at + draw(st.integers(0, 40)) :]
        else:
            at = draw(st.integers(0, len(data)))
            data = data[:at] + draw(st.binary(max_size=20) | st.sampled_from(ODD)) + data[at:]
    return data


def _parse(module, data: bytes) -> list:
    """Every item the source makes of `data`, each checked to be a record or a RecordError."""
    stream = CountingReader(io.BufferedReader(io.BytesIO(data)))
    source = Input("fuzz", Path("projects/p/fuzz.jsonl"), len(data))
    try:
        if module is claude_code:
            items = list(module.records(stream, source, OPTIONS))
        else:
            items = list(module.records(stream, OPTIONS))
    except InputError:  # a whole file refused, with a sentence
        return []
    for item in items:
        if type(item) is Checked:
            continue
        assert (item.record is None) != (item.error is None)
        assert item.error is None or type(item.error) is RecordError, repr(item.error)
        assert item.record is None or type(item.record) is UsageRecord
    return items


FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.parametrize("module", list(SEEDS), ids=lambda m: m.NAME)
def test_mutated_files_are_records_or_reasons(module):
    @FUZZ
    @given(data=mutated(SEEDS[module]))
    def parses(data: bytes) -> None:
        _parse(module, data)

    parses()


@FUZZ
@given(data=st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_random_bytes_are_records_or_reasons_in_every_source(data):
    stream = CountingReader(io.BufferedReader(io.BytesIO(data)))
    with contextlib.suppress(InputError):
        detect(Input("fuzz", None, None), stream)
    for module in SEEDS:
        _parse(module, data)


SQL_VALUES = (
    st.none()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | st.text(max_size=30)
    | st.binary(max_size=10)
    | st.sampled_from(["²", "2025-09-01T12:00:00", '{"cached_tokens": 1}', "[" * 1100, "{}"])
)
COLUMNS = ("id", "model", "duration_ms", "datetime_utc", "input_tokens", "output_tokens")


@FUZZ
@given(values=st.lists(st.tuples(*[SQL_VALUES] * 7), min_size=1, max_size=3))
def test_random_llm_logs_are_records_or_reasons(tmp_path_factory, values):
    path = tmp_path_factory.mktemp("llm") / "logs.db"
    db = sqlite3.connect(path)
    db.execute(f"CREATE TABLE responses ({', '.join(COLUMNS)}, token_details)")
    db.executemany(f"INSERT INTO responses VALUES ({', '.join('?' * 7)})", values)
    db.commit()
    db.close()
    try:
        items = list(llm_logs.records(Input("logs.db", path, None), OPTIONS))
    except InputError:
        return
    for item in items:
        assert item.error is None or type(item.error) is RecordError, repr(item.error)


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'chatvault.db'}"
    at_head(url)
    return url


ALL_SEEDS = [seed for seeds in SEEDS.values() for seed in seeds]


@settings(FUZZ, max_examples=25)
@given(data=mutated(ALL_SEEDS), skip=st.booleans())
def test_an_import_is_whole_or_nothing_and_says_why(database, tmp_path_factory, data, skip):
    path = tmp_path_factory.mktemp("in") / "input.data"
    path.write_bytes(data)
    before = rows(database)
    result = ingest(database, *(["--skip-invalid"] if skip else []), str(path))
    assert result.exit_code in (0, 2), result.output
    assert result.stdout == ""
    assert "Traceback" not in result.stderr and "unexpected error" not in result.stderr
    if result.exit_code == 2:  # refused: one line saying why, and nothing of it kept
        assert [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert rows(database) == before
