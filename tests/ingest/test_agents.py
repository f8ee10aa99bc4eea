"""Codex CLI, Gemini CLI, OpenCode and Qwen Code logs: hand-written fixtures imported exactly (the
expected rows worked out by hand from the files), re-imports add nothing, a bad line is
refused with file:line, and each agent's default place is found without a path."""

from __future__ import annotations

import shutil
from decimal import Decimal

import pytest

from tests.head import at_head
from tests.ingest.helpers import FIXTURES, ingest, rows

SESSION = "0199aaaa-1111-7000-8000-000000000001"
CODEX_FILE = next((FIXTURES / "codex").rglob("rollout-*.jsonl"))
# (input, cache read, output, model) per request: the cached part out of the input.
CODEX = {
    f"codex:{SESSION}:12800": (8000, 4000, 800, "gpt-5-codex"),  # its repeat adds nothing
    f"codex:{SESSION}:31500": (6000, 12000, 700, "gpt-5-codex"),
    f"codex:{SESSION}:52500": (8000, 12000, 1000, "gpt-5"),  # from the cumulative totals
}
GEMINI = {  # input - cached + tool, cached, output + thoughts
    "gemini:1f2e3d4c-0000-4000-8000-00000000aaaa:g1": (3000, 6000, 650, "gemini-2.5-pro"),
    "gemini:1f2e3d4c-0000-4000-8000-00000000aaaa:g2": (12150, 0, 90, "gemini-2.5-flash"),
    "gemini:5a6b7c8d-0000-4000-8000-00000000bbbb:g1": (5000, 15000, 420, "gemini-2.5-pro"),
    "gemini:5a6b7c8d-0000-4000-8000-00000000bbbb:g2": (2000, 19000, 50, "gemini-2.5-pro"),
}
QWEN = {  # prompt - cached + tool, cached, candidates + thoughts
    "qwen:7c1d2e3f-0000-4000-8000-00000000cccc:a2": (5000, 9000, 300, "qwen3-coder-plus"),
    "qwen:7c1d2e3f-0000-4000-8000-00000000cccc:a4": (1540, 14000, 60, "qwen3-coder-plus"),
}
OPENCODE = {
    "opencode:msg_02": (12, 15000, 640, "claude-sonnet-4-20250514"),
    "opencode:msg_03": (3000, 1000, 200, "gpt-4o"),
}


@pytest.fixture
def db(db_url) -> str:
    at_head(db_url)
    return db_url


def shape(stored: dict) -> dict:
    return {
        key: (r["input_tokens"], r["cache_read_tokens"], r["output_tokens"], r["model"])
        for key, r in stored.items()
    }


@pytest.mark.parametrize(
    ("folder", "expected"),
    [("codex", CODEX), ("gemini", GEMINI), ("opencode", OPENCODE), ("qwen", QWEN)],
)
def test_each_agent_imports_its_fixtures_exactly_and_once(db, folder, expected):
    first = ingest(db, str(FIXTURES / folder))
    assert first.exit_code == 0, first.stderr
    stored = rows(db)
    assert shape(stored) == expected
    again = ingest(db, str(FIXTURES / folder), "--full")
    assert f"{len(expected)} duplicates" in again.stderr or folder == "gemini"
    assert rows(db) == stored


def test_the_recount_matches_each_agents_own_totals(db):
    """Codex's last cumulative figures are the session's totals: the turns sum to them."""
    ingest(db, str(CODEX_FILE))
    stored = rows(db).values()
    assert sum(r["input_tokens"] + r["cache_read_tokens"] for r in stored) == 50000
    assert sum(r["cache_read_tokens"] for r in stored) == 28000
    assert sum(r["output_tokens"] for r in stored) == 2500


def test_costs_reported_kept_exactly_the_rest_priced_or_unpriced(db):
    result = ingest(db, str(FIXTURES / "opencode"))
    stored = rows(db)
    assert stored["opencode:msg_02"]["cost_cents"] == Decimal("2.34")
    assert stored["opencode:msg_02"]["cost_source"] == "reported"
    assert stored["opencode:msg_03"]["cost_cents"] is None  # 0 from a subscription: no price
    assert "gpt-4o (1)" in result.stderr
    ingest(db, str(FIXTURES / "codex"))
    assert {rows(db)[key]["cost_source"] for key in CODEX} == {"estimated"}


@pytest.mark.parametrize(
    ("name", "bad", "problem"),
    [
        (
            "rollout-x.jsonl",
            '{"timestamp":"2026-03-02T09:00:00Z","type":"event_msg","payload":{"type":'
            '"token_count","info":{"total_token_usage":{"input_tokens":-4}}}}',
            "payload.info.total_token_usage.input_tokens: cannot be negative",
        ),
        ("session-x.jsonl", '{"id":"g9","type":"gemini","tokens":{"input":"', "record: not valid"),
    ],
)
def test_a_bad_line_is_refused_with_its_line(db, tmp_path, name, bad, problem):
    source = (
        CODEX_FILE if name.startswith("rollout") else next((FIXTURES / "gemini").rglob("*.jsonl"))
    )
    path = tmp_path / name
    path.write_text(source.read_text() + bad + "\n")
    lines = len(source.read_text().splitlines())
    result = ingest(db, str(path))
    assert result.exit_code == 2
    assert f"{path}:{lines + 1}: {problem}" in result.stderr
    assert rows(db) == {}


def test_default_places_are_found_without_a_path(db, tmp_path, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(FIXTURES / "codex", home / ".codex")
    shutil.copytree(FIXTURES / "gemini", home / ".gemini")
    shutil.copytree(FIXTURES / "opencode", home / "oc")
    shutil.copytree(FIXTURES / "qwen", home / ".qwen")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("OPENCODE_DATA_DIR", str(home / "oc"))
    for variable in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME"):
        monkeypatch.delenv(variable, raising=False)
    result = ingest(db, "--machine", "desk")
    assert result.exit_code == 0, result.stderr
    stored = rows(db)
    assert shape(stored) == CODEX | GEMINI | OPENCODE | QWEN
    assert {r["machine"] for r in stored.values()} == {"desk"}
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "nowhere"))
    only = ingest(db, "--source", "codex")
    assert only.exit_code == 2 and "(from CODEX_HOME)" in only.stderr


def test_a_grown_qwen_session_is_read_from_where_it_stopped(db, tmp_path):
    path = tmp_path / "s.jsonl"
    source = next((FIXTURES / "qwen").rglob("*.jsonl")).read_text().splitlines(keepends=True)
    path.write_text("".join(source[:2]))
    assert "1 records read, 1 inserted" in ingest(db, str(path)).stderr
    path.write_text("".join(source))
    assert "1 records read, 1 inserted" in ingest(db, str(path)).stderr  # a4 alone
    assert shape(rows(db)) == QWEN
