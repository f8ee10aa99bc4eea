"""The read API over real HTTP: the CLI's documents, the CLI's messages, tokens and scopes,
health and readiness (a schema to migrate is a 503 with the CLI's line, never a 500)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from chatvault.cli.app import app
from chatvault.db.migrate import migrate
from chatvault.db.shapes import HEAD
from tests.serve.conftest import BOTH, READ, SEND, serving


def cli_json(url: str, *args: str) -> dict:
    result = CliRunner().invoke(app, ["--database", url, *args, "-f", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def cli_error(url: str, *args: str) -> str:
    result = CliRunner().invoke(app, ["--database", url, *args])
    assert result.exit_code == 2, result.output
    return result.stderr.strip().removeprefix("error: ")


def test_usage_is_the_clis_document(usage_each):
    with usage_each.client() as http:
        answer = http.get("/v1/usage", params={"group_by": "model,user", "sort": "requests"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    document = answer.json()
    cli = cli_json(usage_each.database, "usage", "-g", "model,user", "--sort", "requests")
    assert document == cli
    assert document["schema"] == "chatvault.usage/1"
    by_model = {row["model"]: row for row in document["rows"]}
    assert by_model["claude-sonnet-4-5"]["cost_usd"] == "0.01234567"  # exact, as a string
    assert by_model["no-such-model"]["cost_usd"] is None  # unknown, never $0


def test_filters_repeat_and_paginate(usage):
    with usage.client() as http:
        answer = http.get(
            "/v1/usage",
            params=[
                ("model", "gpt-*"),
                ("model", "claude-*"),
                ("group_by", "model"),
                ("limit", "1"),
                ("page", "2"),
            ],
        )
    document = answer.json()
    assert document["filters"]["models"] == ["gpt-*", "claude-*"]
    assert (document["page"], document["pages"], document["groups"]) == (2, 2, 2)
    assert document == cli_json(usage.database, "usage", "--model", "gpt-*", "--model",
                                "claude-*", "-g", "model", "-n", "1", "--page", "2")  # fmt: skip


def test_csv_streams_with_formula_cells_defused(usage):
    with usage.client() as http:
        answer = http.get("/v1/usage", params={"group_by": "user", "format": "csv"})
        raw = http.get("/v1/usage", params={"group_by": "user", "format": "csv", "raw": "true"})
    assert answer.headers["content-type"].startswith("text/csv")
    users = [row["user"] for row in csv.DictReader(io.StringIO(answer.text))]
    assert "'=bob" in users and "=bob" not in users
    assert "=bob" in [row["user"] for row in csv.DictReader(io.StringIO(raw.text))]
    assert answer.text.endswith("\r\n")


def test_logs_insights_budget_dashboard_predictions(usage):
    with usage.client() as http:
        logs = http.get("/v1/usage/logs", params={"limit": "2"}).json()
        insights = http.get("/v1/usage/insights").json()
        dashboard = http.get("/v1/costs/dashboard").json()
        budget = http.get("/v1/costs/budget")
        predictions = http.get("/v1/usage/predictions")
        page = http.get("/")
    assert logs == cli_json(usage.database, "usage", "logs", "-n", "2")
    assert [row["user_id"] for row in logs["rows"]] == ["alice", "=bob"]
    assert insights["schema"] == "chatvault.usage.insights/1"
    assert dashboard["schema"] == "chatvault.dashboard/1"
    assert dashboard["requests"] == 3 and dashboard["unpriced_requests"] == 1
    # No budgets configured, too little history: the CLI's lines, never a 500.
    assert budget.status_code == 404
    assert budget.json()["error"].startswith("no budgets configured")
    assert predictions.status_code == 400
    assert predictions.json()["error"] == cli_error(usage.database, "costs", "predict")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<!DOCTYPE html>" in page.text and page.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("path", "params", "cli"),
    [
        ("/v1/usage", {"group_by": "bogus"}, ["usage", "-g", "bogus"]),
        ("/v1/usage", {"sort": "nope"}, ["usage", "--sort", "nope"]),
        ("/v1/usage", {"page": "2"}, ["usage", "--page", "2"]),
        ("/v1/usage", {"since": "someday"}, ["usage", "--since", "someday"]),
        ("/v1/usage", {"status": "failed"}, ["usage", "--status", "failed"]),
        ("/v1/usage", {"tz": "Mars/Base"}, ["usage", "--tz", "Mars/Base"]),
        (
            "/v1/usage/logs",
            {"after": "3", "page": "2"},
            ["usage", "logs", "--after", "3", "--page", "2"],
        ),
        (
            "/v1/usage/predictions",
            {"days": "3", "to": "end-of-month"},
            ["costs", "predict", "--days", "3", "--to", "end-of-month"],
        ),
    ],
)
def test_bad_parameters_are_400_with_the_clis_line(usage, path, params, cli):
    with usage.client() as http:
        answer = http.get(path, params=params)
    assert answer.status_code == 400
    assert answer.json() == {"error": cli_error(usage.database, *cli)}


def test_bad_parameters_the_cli_never_sees(server):
    with server.client() as http:
        assert http.get("/v1/usage", params={"limit": "0"}).status_code == 400
        assert http.get("/v1/usage", params={"limit": "x"}).json()["error"].startswith("--limit")
        assert http.get("/v1/usage", params={"colour": "red"}).status_code == 400
        assert (
            http.get("/v1/usage", params=[("sort", "cost"), ("sort", "group")]).status_code == 400
        )
        assert http.get("/v1/usage/predictions", params={"level": "nan"}).status_code == 400


PROTECTED = [
    ("GET", "/"),
    ("GET", "/metrics"),
    ("GET", "/v1/usage"),
    ("GET", "/v1/usage/logs"),
    ("GET", "/v1/usage/insights"),
    ("GET", "/v1/usage/predictions"),
    ("GET", "/v1/costs/budget"),
    ("GET", "/v1/costs/dashboard"),
    ("POST", "/v1/logs"),
    ("POST", "/v1/traces"),
    ("POST", "/v1/metrics"),
]


def test_every_route_needs_a_token_with_its_scope(server):
    for method, path in PROTECTED:
        wrong_scope = SEND if method == "GET" else READ
        for token, status in ((None, 401), ("not-a-known-token-at-all", 401), (wrong_scope, 403)):
            with server.client(token) as http:
                answer = http.request(method, path, headers={"Content-Type": "application/json"},
                                      content=b"{}" if method == "POST" else None)  # fmt: skip
            assert answer.status_code == status, (method, path, token)
            assert READ not in answer.text and SEND not in answer.text
        with server.client(BOTH) as http:
            answer = http.request(method, path, headers={"Content-Type": "application/json"},
                                  content=b"{}" if method == "POST" else None)  # fmt: skip
        assert answer.status_code not in (401, 403), (method, path)
    with server.client("Basic abc") as http:
        assert http.get("/v1/usage", headers={"Authorization": "Basic abc"}).status_code == 401


def test_health_and_openapi_need_no_token(server):
    with server.client(None) as http:
        assert http.get("/healthz").json() == {"status": "alive"}
        assert http.get("/readyz").status_code == 200
        spec = http.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert {"/v1/usage", "/v1/usage/predictions", "/v1/logs", "/metrics"} <= set(spec["paths"])


def test_a_schema_to_migrate_is_503_with_the_clis_line(sqlite_url, tokens):
    migrate(sqlite_url, "0007")
    with serving(sqlite_url) as running, running.client() as http:
        ready = http.get("/readyz")
        usage = http.get("/v1/usage")
        alive = http.get("/healthz")
    line = (
        f"the database schema is out of date (revision 0007, chatvault needs {HEAD}) "
        "(run: chatvault db migrate)"
    )
    assert (ready.status_code, ready.json()) == (503, {"error": line})
    assert (usage.status_code, usage.json()) == (503, {"error": line})
    assert alive.status_code == 200


def test_no_password_in_an_error(tokens):
    url = "postgresql://chatvault:s3cret-pass@127.0.0.1:1/nothing"
    with serving(url) as running, running.client() as http:
        answer = http.get("/readyz")
        usage = http.get("/v1/usage")
    assert answer.status_code == 503 and usage.status_code == 503
    assert "s3cret-pass" not in answer.text + usage.text
    assert "cannot open the database" in answer.json()["error"]


def test_no_tokens_no_server(sqlite_url, monkeypatch):
    from chatvault.errors import ConfigError
    from chatvault.serve.main import Options, build

    monkeypatch.delenv("CHATVAULT_SERVE_READ_TOKENS", raising=False)
    monkeypatch.delenv("CHATVAULT_SERVE_SEND_TOKENS", raising=False)
    with pytest.raises(ConfigError, match="no tokens"):
        build(Options(database=sqlite_url))
    with pytest.raises(ConfigError, match="loopback"):
        build(Options(database=sqlite_url, no_auth=True, host="0.0.0.0"))
    assert build(Options(database=sqlite_url, no_auth=True)) is not None


def test_more_requests_at_once_than_a_commands_pool_all_answer(usage_each):
    """Requests are served in threads, each with its own session: more of them at once than
    a command's pool of connections (1 + 4) must all be answered, none time out. (On MariaDB
    the first reports all build the zone's rollups: one builds, the others wait for it.)"""
    from concurrent.futures import ThreadPoolExecutor

    from chatvault.db.engine import get_engine

    def ask(_):
        with usage_each.client() as http:
            answer = http.get("/v1/usage", params={"group_by": "model"})
            return answer.status_code, answer.text if answer.status_code != 200 else ""

    with ThreadPoolExecutor(24) as pool:
        assert set(pool.map(ask, range(24))) == {(200, "")}
    # They were served from the server's own pool, not a command's.
    assert get_engine(usage_each.database, pool_size=8).pool.checkedin() >= 1
