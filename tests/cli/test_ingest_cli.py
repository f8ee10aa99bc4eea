"""`chatvault ingest` as a user runs it: what it says when there is nothing to import, and
what it says again when the data is already there (stdout, stderr, exit code)."""

from __future__ import annotations

import json

import pytest

from tests.head import at_head
from tests.ingest.helpers import FIXTURES, ingest

USAGE = FIXTURES / "chatvault" / "usage.jsonl"  # three records, one of an unpriced model


@pytest.fixture
def db(sqlite_url) -> str:
    at_head(sqlite_url)
    return sqlite_url


def _summary(stderr: str) -> str:
    return stderr.strip().splitlines()[-1]


def test_importing_the_same_file_again_warns_about_nothing(db):
    first = ingest(db, str(USAGE))
    assert (first.exit_code, first.stdout) == (0, "")
    assert "warning: 1 request(s) of 1 model(s) have no price: house-llama-70b (1)" in first.stderr
    again = ingest(db, str(USAGE), "--full")  # read again, not skipped as unchanged
    assert (again.exit_code, again.stdout) == (0, "")
    assert "warning" not in again.stderr
    assert _summary(again.stderr).startswith(
        "1 of 1 file(s) imported: 3 records read, 0 inserted, 0 replaced, 3 duplicates, "
        "0 rejected, 0 unpriced;"
    )


def test_a_file_that_grew_warns_only_about_the_new_records(db, tmp_path):
    grown = tmp_path / "usage.jsonl"
    grown.write_text(USAGE.read_text())
    assert ingest(db, str(grown)).exit_code == 0
    lines = grown.read_text().splitlines()
    unpriced = json.loads(next(line for line in lines if "house-llama" in line))
    more = [{**unpriced, "request_id": f"new-{i}", "request_count": 2} for i in range(3)]
    # new and old unpriced records mixed in one batch
    grown.write_text("\n".join([json.dumps(more[0]), *lines, *map(json.dumps, more[1:])]) + "\n")
    again = ingest(db, str(grown))
    assert (again.exit_code, again.stdout) == (0, "")
    assert "warning: 6 request(s) of 1 model(s) have no price: house-llama-70b (6)" in again.stderr
    assert "3 inserted, 0 replaced, 3 duplicates, 0 rejected, 6 unpriced;" in again.stderr


def test_an_empty_jsonl_file_is_an_empty_import(db, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.jsonl"
    blank.write_bytes(b"\n  \n")
    result = ingest(db, str(empty), str(blank))
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr.startswith("2 of 2 file(s) imported: 0 records read, 0 inserted")
    assert "cannot tell" not in result.stderr


def test_a_folder_without_usage_files_says_where_it_looked(db, tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "README.md").write_text("not usage")
    result = ingest(db, str(folder))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"error: no usage files in {folder} (chatvault reads *.jsonl, *.json, *.csv, *.ndjson, "
        "*.db and *.sqlite, also gzipped); name the files to import, or another directory\n"
    )


def test_no_agent_logs_says_where_it_looked_and_how_to_point_elsewhere(db, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for variable in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME", "OPENCODE_DATA_DIR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("XDG_DATA_HOME")  # OpenCode's default: ~/.local/share/opencode
    result = ingest(db)
    assert (result.exit_code, result.stdout) == (2, "")
    home = tmp_path / "home"
    opencode = home / ".local" / "share" / "opencode"
    assert result.stderr == (
        f"error: no agent logs in {home / '.claude' / 'projects'}, "
        f"{home / '.config' / 'claude' / 'projects'}, {home / '.codex' / 'sessions'}, "
        f"{home / '.gemini' / 'tmp'}, {opencode / 'storage' / 'message'}, "
        f"{opencode / 'opencode.db'} or {home / '.qwen' / 'projects'}; "
        "set CLAUDE_CONFIG_DIR, CODEX_HOME, GEMINI_CLI_HOME or OPENCODE_DATA_DIR "
        "to where an agent keeps them, or name the files or directories to import: "
        "chatvault ingest PATH...\n"
    )
    only = ingest(db, "--source", "codex")
    assert only.stderr.startswith(f"error: no agent logs in {home / '.codex' / 'sessions'}; ")


def test_claude_code_folders_without_logs_say_where_they_looked(db, tmp_path, monkeypatch):
    config = tmp_path / "claude"
    (config / "projects" / "empty-project").mkdir(parents=True)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    result = ingest(db)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"error: no agent logs in {config / 'projects'}, ")


def test_rows_an_override_priced_are_counted_and_the_config_named(db, tmp_path):
    """An override changes money: the summary says how many rows it priced, and where it
    came from; importing again (nothing written) says nothing."""
    config = tmp_path / "prices.yaml"
    config.write_text(
        "pricing:\n  overrides:\n    - {model: house-llama-70b, input: 1, output: 2}\n"
    )
    first = ingest(db, str(USAGE), "--config", str(config))
    assert (first.exit_code, first.stdout) == (0, "")
    assert first.stderr.splitlines()[-2:] == [
        f"1 row(s) priced by overrides from {config}",
        _summary(first.stderr),
    ]
    assert "no price" not in first.stderr
    again = ingest(db, str(USAGE), "--full", "--config", str(config))
    assert again.exit_code == 0 and "overrides" not in again.stderr
    plain = ingest(db, str(USAGE), "--full")
    assert plain.exit_code == 0 and "overrides" not in plain.stderr


def test_a_provider_whose_synced_buckets_count_is_not_imported_again(db, tmp_path):
    """docs/sync.md: with sync.openai.counts: provider, openai's totals are the synced
    buckets; request-level openai rows from a file would count the same traffic twice."""
    config = tmp_path / "sync.yaml"
    config.write_text("sync:\n  openai: {counts: provider}\n")
    refused = ingest(db, str(USAGE), "--config", str(config))
    assert (refused.exit_code, refused.stdout) == (2, "")
    assert refused.stderr.splitlines()[0] == (
        f"error: {USAGE}: holds openai usage, whose totals count the provider's synced buckets "
        "(sync.<provider>.counts: provider): importing it would count that traffic twice; "
        "nothing of this file was imported"
    )
    config.write_text("sync:\n  anthropic: {counts: provider}\n")  # not this file's provider
    assert ingest(db, str(USAGE), "--config", str(config)).exit_code == 0


def test_the_source_option_offers_every_format_the_import_reads():
    """The option's choices are written out (the command line loads no parser to list them):
    they must stay the formats ingest/formats.py reads."""
    from chatvault.cli.ingest import Source
    from chatvault.ingest.formats import SOURCES

    assert sorted(s.value for s in Source) == sorted(["auto", *SOURCES])
