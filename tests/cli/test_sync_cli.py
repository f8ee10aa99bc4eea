"""`chatvault sync` on the command line, against the replicas."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from chatvault.cli.app import app
from tests.sync.helpers import fill_anthropic, fill_openai, migrated
from tests.sync.replica import replica

runner = CliRunner()


def run(url, *args, env=None):
    return runner.invoke(app, ["--database", url, "sync", *args], env=env)


def test_sync_json_never_shows_the_key(sqlite_url, tmp_path):
    url = migrated(sqlite_url)
    with replica("openai") as state:
        fill_openai(state, days=3)
        config = tmp_path / "config.yaml"
        config.write_text(
            "sync:\n  openai:\n    admin_key: ${MY_OPENAI_ADMIN}\n    base_url: " + state.url + "\n"
        )
        env = {"MY_OPENAI_ADMIN": state.key, "CHATVAULT_CONFIG": str(config)}
        result = run(
            url, "openai", "--since", "2026-11-01", "--until", "2026-11-10", "-f", "json", env=env
        )
        shown = runner.invoke(app, ["config", "show"], env=env)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["schema"] == "chatvault.sync/1"
    assert [e["endpoint"] for e in document["endpoints"]] == ["completions", "embeddings", "costs"]
    assert document["endpoints"][0]["from"] == "2026-11-01T00:00:00+00:00"
    assert document["counts"].startswith("openai: request-level rows count in totals")
    assert state.key not in result.output and state.key not in shown.output
    assert "admin_key: '***'" in shown.output


def test_a_wrong_key_is_one_line_and_exit_2(sqlite_url):
    url = migrated(sqlite_url)
    with replica("anthropic") as state:
        env = {"ANTHROPIC_ADMIN_KEY": "sk-ant-api03-NOT-ADMIN"}
        result = run(url, "anthropic", "--base-url", state.url, env=env)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: anthropic refused the admin key (HTTP 401")
    assert "not an admin key" in result.stderr and "NOT-ADMIN" not in result.stderr


def test_no_key_says_where_to_put_it(sqlite_url):
    result = run(migrated(sqlite_url), "openai", env={"OPENAI_ADMIN_KEY": ""})
    assert result.exit_code == 2
    assert result.stderr == (
        "error: no admin key for openai: set OPENAI_ADMIN_KEY, or sync.openai.admin_key: ${VAR} "
        "in the config\n"
    )


def test_dry_run_table_and_quiet(sqlite_url):
    url = migrated(sqlite_url)
    with replica("anthropic") as state:
        fill_anthropic(state, days=2)
        env = {"ANTHROPIC_ADMIN_KEY": state.key}
        shown = run(url, "anthropic", "--base-url", state.url, "--dry-run", env=env)
        quiet = run(url, "anthropic", "--base-url", state.url, "--quiet", env=env)
    assert shown.exit_code == 0 and "messages" in shown.stdout and "costs" in shown.stdout
    assert "would write (dry run)" in shown.stderr
    assert "counted in totals: anthropic: request-level rows count in totals" in shown.stderr
    assert quiet.exit_code == 0 and quiet.stdout == "" and quiet.stderr == ""


def test_the_progress_bar_counts_windows_and_pages_on_a_terminal(sqlite_url):
    import io

    from rich.console import Console

    from chatvault.cli.sync import _progress
    from tests.sync.helpers import run_sync

    url = migrated(sqlite_url)
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    seen = []
    with replica("openai") as state, _progress(console, True) as progress:
        fill_openai(state, days=2)

        def watch(done, total, pages):
            seen.append((done, total, pages))
            progress(done, total, pages)

        run_sync(url, state, progress=watch)
    assert seen[-1][0] == seen[-1][1] >= 3 and seen[-1][2] >= 3
    assert "windows" in screen.getvalue()
    with _progress(Console(file=io.StringIO()), True) as off:  # not a terminal: no bar
        assert off is None
