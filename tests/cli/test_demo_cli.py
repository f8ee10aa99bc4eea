"""`chatvault demo` as a newcomer runs it, then the commands it suggests."""

from __future__ import annotations

import json
import shlex

import pytest
from typer.testing import CliRunner

from chatvault.cli.app import make_app

runner = CliRunner()


@pytest.fixture(scope="module")
def app():
    return make_app(["demo", "usage", "costs", "pricing", "config", "ingest"])


@pytest.fixture
def own(tmp_path):
    """The demo's own files, in the test's user data dir (see the autouse `isolated`)."""
    return tmp_path / "xdg-data" / "chatvault" / "demo"


def suggested(stdout: str) -> tuple[dict[str, str], list[list[str]]]:
    """The environment the demo says to export, and the commands it suggests."""
    export, *lines = stdout.split("and try:\n", 1)[1].splitlines()
    env = dict(part.split("=", 1) for part in shlex.split(export)[1:])
    return env, [shlex.split(line)[1:] for line in lines]  # without the leading `chatvault`


def test_creates_its_own_database_and_every_suggestion_runs(app, own, tmp_path):
    result = runner.invoke(app, ["demo", "--days", "7"])
    assert result.exit_code == 0, result.stderr
    assert "requests (" in result.stdout and "unpriced, not $0" in result.stdout
    assert result.stdout.startswith("+- chatvault: this-month")  # the dashboard comes first
    assert "support-bot" in result.stdout.split("Sample usage", 1)[0]  # with its budgets
    assert "creating 7 days of sample usage" in result.stderr
    assert (own / "chatvault-demo.db").is_file() and (own / "config.yaml").is_file()
    assert not (tmp_path / "xdg-data" / "chatvault" / "chatvault.db").exists()
    env, commands = suggested(result.stdout)
    assert env == {
        "CHATVAULT_DATABASE_URL": f"sqlite:///{own / 'chatvault-demo.db'}",
        "CHATVAULT_CONFIG": str(own / "config.yaml"),
    }
    assert 5 <= len(commands) <= 8
    expected = {"costs budget check --dry-run": 1, "pricing check": 1}  # a WARNING; unpriced
    for args in commands:
        ran = runner.invoke(app, args, env=env)
        assert ran.exit_code == expected.get(" ".join(args), 0), (args, ran.stderr)
        assert ran.stdout.strip()
    assert runner.invoke(app, ["config", "validate", str(own / "config.yaml")]).exit_code == 0


def test_runs_again_on_fresh_data_as_the_readme_says(app, own):
    first = runner.invoke(app, ["demo", "--days", "7"])
    assert first.exit_code == 0, first.stderr
    again = runner.invoke(app, ["demo", "--days", "8"])  # the README's command, run twice
    assert again.exit_code == 0, again.stderr
    assert again.stdout.startswith("+- chatvault: this-month")
    assert "creating 8 days of sample usage" in again.stderr
    assert f"replacing the demo database {own / 'chatvault-demo.db'}" in again.stderr
    assert not any(line.startswith("error") for line in again.stderr.splitlines())
    assert "Sample usage from" in again.stdout and "replaced" not in again.stdout
    # --replace, from before a rerun replaced the demo's own file anyway, is still accepted.
    replaced = runner.invoke(app, ["demo", "--days", "7", "--replace"])
    assert replaced.exit_code == 0, replaced.stderr


def test_its_own_file_is_not_replaced_once_someone_added_real_usage(app, own, tmp_path):
    """After the `export` line, someone ingests their own usage into the demo's database: a
    rerun must not delete it."""
    assert runner.invoke(app, ["demo", "--days", "7"]).exit_code == 0
    database = own / "chatvault-demo.db"
    mine = tmp_path / "mine.jsonl"
    mine.write_text(
        '{"request_id": "mine-1", "created_at": "2026-01-05T10:00:00Z", "user_id": "me", '
        '"model": "gpt-4o", "input_tokens": 5, "output_tokens": 1}\n'
    )
    url = f"sqlite:///{database}"
    ingested = runner.invoke(app, ["ingest", str(mine), "--database", url])
    assert ingested.exit_code == 0, ingested.stderr
    again = runner.invoke(app, ["demo", "--days", "7"])
    assert again.exit_code == 2 and again.stdout == ""
    assert again.stderr.splitlines()[-1] == (
        f"error: the demo database {url} holds usage the demo did not make; "
        "it is left as it is (move it away to make a new demo)"
    )
    args = ["usage", "logs", "--user", "me", "--since", "2026-01-01", "-f", "json"]
    result = runner.invoke(app, [*args, "--database", url])
    assert [row["user_id"] for row in json.loads(result.stdout)["rows"]] == ["me"]


def test_refuses_another_database_with_usage_even_with_replace(app, sqlite_url):
    assert runner.invoke(app, ["demo", "--days", "7", "--database", sqlite_url]).exit_code == 0
    for extra in ([], ["--replace"]):
        result = runner.invoke(app, ["--database", sqlite_url, "demo", "--days", "7", *extra])
        assert result.exit_code == 2 and result.stdout == ""
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"error: {sqlite_url} already holds usage rows;")


def test_the_environment_database_is_left_alone(app, own, sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("CHATVAULT_DATABASE_URL", sqlite_url)
    result = runner.invoke(app, ["demo", "--days", "7"])
    assert result.exit_code == 0, result.stderr
    assert f"Database: sqlite:///{own / 'chatvault-demo.db'}" in result.stdout
    assert sqlite_url.endswith("/chatvault.db") and not (tmp_path / "chatvault.db").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tz", "Mars/Olympus"], "error: --tz: 'Mars/Olympus' is not an IANA time zone"),
        (["--days", "6"], "Invalid value for '--days'"),
    ],
)
def test_bad_options(app, args, message):
    result = runner.invoke(app, ["demo", *args])
    assert result.exit_code == 2 and result.stdout == ""
    assert message in result.stderr
