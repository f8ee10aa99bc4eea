"""`chatvault costs budget` and `budget check` as cron runs them: stdout, stderr, exit codes."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from chatvault.cli.app import app
from chatvault.db.engine import get_engine
from chatvault.db.migrate import migrate
from chatvault.db.models import budget_alerts, usage_logs
from tests.head import at_head
from tests.servers import webhook_receiver

runner = CliRunner()
NOW = datetime.now(UTC)


def run(*args: str, env: dict | None = None):
    return runner.invoke(app, list(args), env=env)


@pytest.fixture
def receiver():
    with webhook_receiver() as r:
        yield r


@pytest.fixture
def setup(sqlite_url, tmp_path, receiver):
    """$60 spent an hour ago; a $100 monthly budget (UTC) alerting a webhook whose URL comes
    from the environment, and a $1,000 one without channels."""
    at_head(sqlite_url)
    row = {
        "request_id": "r1",
        "created_at": max(NOW - timedelta(hours=1), NOW.replace(day=1, hour=0, minute=1)),
        "user_id": "ann",
        "model": "gpt-4o",
        "provider": "openai",
        "cost_cents": Decimal(6000),
        "status": "success",
    }
    with get_engine(sqlite_url).begin() as conn:
        conn.execute(insert(usage_logs), [row])
    config = tmp_path / "config.yaml"
    config.write_text(
        "budgets:\n"
        "  - name: team-a\n"
        "    amount: 100\n"
        "    forecast_alerts: false\n"
        "    notify:\n"
        "      - webhook: {url: '${HOOK_URL}', timeout_seconds: 2}\n"
        "  - name: everything\n"
        "    amount: 1000\n"
    )
    env = {"HOOK_URL": receiver.url}
    return ["--database", sqlite_url, "--config", str(config)], env


def test_status_table_and_json(setup):
    args, env = setup
    result = run("costs", "budget", *args, env=env)
    assert result.exit_code == 0, result.stderr
    assert "| team-a " in result.stdout and "[############--------] 60%" in result.stdout
    assert "| WARNING " in result.stdout and "| OK " in result.stdout
    data = json.loads(run("costs", "budget", "-f", "json", *args, env=env).stdout)
    assert data["schema"] == "chatvault.budget/1"
    team = data["budgets"][0]
    assert team["spent_usd"] == "60.00" and team["percent"] == 60.0
    assert team["crossed"] == ["50"] and team["state"] == "WARNING"
    assert team["period"]["first_day"] == NOW.date().replace(day=1).isoformat()
    # No complete day of usage: no forecast, and no advice about an option it lacks.
    assert team["forecast_note"].startswith("too little usage to forecast from: 0 day(s)")
    assert "--history" not in team["forecast_note"]


def test_check_alerts_once_and_speaks_the_monitoring_convention(setup, receiver):
    args, env = setup
    result = run("costs", "budget", "check", *args, env=env)
    assert result.exit_code == 1, result.stderr
    first, *rest = result.stdout.splitlines()
    assert first.startswith("BUDGET WARNING - team-a 60% of $100.00")
    assert first.endswith(
        "| 'team-a'=60.00;50.00;100.00;0;100.00 'everything'=60.00;500.00;1000.00;0;1000.00"
    )
    assert any(line.startswith("  sent to webhook 127.0.0.1:") for line in rest)
    assert len(receiver.bodies) == 1
    quiet = run("costs", "budget", "check", "--quiet", *args, env=env)
    assert quiet.exit_code == 1 and quiet.stdout == ""  # nothing new: cron mails nothing
    assert len(receiver.bodies) == 1


def test_quiet_speaks_when_it_sends(setup, receiver):
    args, env = setup
    result = run("costs", "budget", "check", "-q", *args, env=env)
    assert result.exit_code == 1 and result.stdout.startswith("BUDGET WARNING")
    assert len(receiver.bodies) == 1


def test_dry_run_and_no_notify_send_and_record_nothing(setup, receiver):
    args, env = setup
    for flag in ("--dry-run", "--no-notify"):
        result = run("costs", "budget", "check", flag, *args, env=env)
        assert result.exit_code == 1
        assert "not sent (--no-notify or --dry-run): 50%" in result.stdout
    assert receiver.bodies == []
    with get_engine(args[1]).connect() as conn:
        assert conn.execute(select(func.count()).select_from(budget_alerts)).scalar() == 0
    # Once sent, a dry run has nothing left to announce.
    assert run("costs", "budget", "check", *args, env=env).exit_code == 1
    after = run("costs", "budget", "check", "--dry-run", *args, env=env)
    assert "not sent" not in after.stdout and len(receiver.bodies) == 1


def test_json_check(setup):
    args, env = setup
    result = run("costs", "budget", "check", "-f", "json", "--budget", "team-a", *args, env=env)
    data = json.loads(result.stdout)
    assert data["schema"] == "chatvault.budget.check/1" and data["exit_code"] == 1
    assert [b["name"] for b in data["budgets"]] == ["team-a"]
    (note,) = data["budgets"][0]["notifications"]
    assert note["sent"] and note["announced"] == ["50%"] and note["channel"].startswith("webhook")


def test_a_failing_webhook_is_reported_without_its_secret(setup, receiver):
    args, env = setup
    receiver.status = 500
    result = run("costs", "budget", "check", *args, env=env)
    assert result.exit_code == 1
    assert "NOT sent to webhook 127.0.0.1:" in result.stdout and "HTTP 500" in result.stdout
    assert "secret-token" not in result.stdout + result.stderr


def test_a_failed_alert_is_shown_by_every_check_until_it_is_delivered(setup, receiver):
    args, env = setup
    receiver.status = 500
    assert run("costs", "budget", "check", *args, env=env).exit_code == 1
    # The retry is not due yet: nothing is sent, and the check still says what is missing.
    later = run("costs", "budget", "check", "--budget", "team-a", *args, env=env)
    assert later.exit_code == 1 and later.stderr == ""
    [line] = [line for line in later.stdout.splitlines() if "NOT sent" in line]
    assert re.fullmatch(
        r"  still NOT sent to webhook 127\.0\.0\.1:\d+ \(50%\): webhook 127\.0\.0\.1:\d+: "
        r"HTTP 500; retry after \d{4}-\d\d-\d\d \d\d:\d\d UTC",
        line,
    )
    assert "secret-token" not in later.stdout
    quiet = run("costs", "budget", "check", "-q", *args, env=env)
    assert quiet.exit_code == 1 and quiet.stdout == ""  # not news: cron mailed it already
    data = json.loads(run("costs", "budget", "check", "-f", "json", *args, env=env).stdout)
    team = data["budgets"][0]
    assert team["notifications"] == []
    [failing] = team["failing"]
    assert failing["announced"] == ["50%"] and failing["error"].endswith("HTTP 500")
    assert failing["channel"].startswith("webhook 127.0.0.1:") and failing["retry_after"]
    assert data["budgets"][1]["failing"] == []
    # A dry run shows the failure too, not as an alert merely held back.
    dry = run("costs", "budget", "check", "--dry-run", "--budget", "team-a", *args, env=env)
    assert dry.exit_code == 1 and dry.stderr == ""
    assert "still NOT sent to webhook 127.0.0.1:" in dry.stdout
    assert "not sent (--no-notify or --dry-run)" not in dry.stdout


def test_critical_is_exit_2(setup):
    args, env = setup
    result = run("costs", "budget", "check", "--no-notify", *args, env=env)
    assert result.exit_code == 1
    config = args[3]
    with open(config, "a") as f:
        f.write("  - name: tiny\n    amount: 10\n")
    result = run("costs", "budget", "check", "--no-notify", *args, env=env)
    assert result.exit_code == 2 and result.stdout.startswith("BUDGET CRITICAL - tiny 600%")


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        ("no database", "no chatvault database at sqlite://"),
        ("old schema", "the database schema is out of date"),
        ("bad config", "budgets[0].amount: must be a positive number of USD"),
        ("no budgets", "no budgets configured"),
        ("unknown budget", "no budget named 'nope'"),
    ],
)
def test_unknown_is_exit_3_with_one_line(tmp_path, problem, expected):
    database = tmp_path / "usage.db"
    if problem == "old schema":
        migrate(f"sqlite:///{database}", "0007")
    elif problem != "no database":
        migrate(f"sqlite:///{database}")
    amount = -5 if problem == "bad config" else 100
    config = tmp_path / "config.yaml"
    config.write_text(
        "" if problem == "no budgets" else f"budgets:\n- {{name: a, amount: {amount}}}\n"
    )
    extra = ["--budget", "nope"] if problem == "unknown budget" else []
    args = ["--database", f"sqlite:///{database}", "--config", str(config), *extra]
    result = run("costs", "budget", "check", *args)
    assert result.exit_code == 3, result.stdout + result.stderr
    assert result.stdout.startswith("BUDGET UNKNOWN - could not check: ")
    assert expected in result.stdout
    assert result.stdout.count("\n") == 1 and "Traceback" not in result.stderr
    data = json.loads(run("costs", "budget", "check", "-f", "json", *args).stdout)
    assert data["state"] == "UNKNOWN" and data["exit_code"] == 3


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        ("{name: a, amount: 10, period: fortnightly}", "budgets[0].period: 'fortnightly'"),
        ("{name: a, amount: 10, thresholds: [80, 50]}", "thresholds must be in increasing order"),
        ("{name: a, amount: 10, notify: [{}]}", "give exactly one of webhook, command, email"),
        ("{name: a, amount: 10, notify: [{webhook: {url: '${NOPE_URL}'}}]}", "NOPE_URL is not set"),
    ],
)
def test_invalid_budgets_are_one_config_error(tmp_path, budget, message):
    config = tmp_path / "config.yaml"
    config.write_text(f"budgets:\n- {budget}\n")
    result = run("config", "validate", str(config))
    assert result.exit_code == 2
    assert message in result.stderr


def test_config_show_masks_channel_secrets(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        "budgets:\n- name: a\n  amount: 10\n  notify:\n"
        "  - webhook: {url: 'https://hooks.slack.com/services/T0/B0/SECRET'}\n"
        "  - email: {host: smtp.example.com, from: a@example.com, to: [b@example.com],"
        " user: a, password: hunter2}\n"
    )
    result = run("config", "show", "--config", str(config))
    assert result.exit_code == 0, result.stderr
    assert "SECRET" not in result.stdout and "hunter2" not in result.stdout
    assert (
        "url: https://hooks.slack.com/***" in result.stdout and "password: '***'" in result.stdout
    )


def test_alerts_switched_off_in_the_config_send_nothing(setup, receiver):
    args, env = setup
    config = Path(args[3])
    config.write_text("cost_calculation:\n  budget_alerts: {enabled: false}\n" + config.read_text())
    result = run("costs", "budget", "check", *args, env=env)
    assert result.exit_code == 1 and "not sent" in result.stdout
    assert receiver.bodies == []


def test_advanced_costs_off_sends_nothing_and_forecasts_nothing(setup, receiver):
    args, env = setup
    config = Path(args[3])
    config.write_text("cost_calculation:\n  enable_advanced_costs: false\n" + config.read_text())
    result = run("costs", "budget", "check", "--budget", "team-a", *args, env=env)
    assert result.exit_code == 1
    assert result.stderr == "building the daily rollups for UTC (once per time zone)\n"
    assert "no forecast (forecasts are off: cost_calculation.enable_advanced_costs" in result.stdout
    assert "  not sent (notifications are off in the config): 50%" in result.stdout
    assert "  sent to" not in result.stdout and receiver.bodies == []


def test_ok_is_exit_0_and_quiet_is_silent(setup):
    args, env = setup
    result = run("costs", "budget", "check", "--budget", "everything", *args, env=env)
    assert result.exit_code == 0
    assert result.stdout.startswith("BUDGET OK - everything 6% of $1,000.00")
    quiet = run("costs", "budget", "check", "-q", "--budget", "everything", *args, env=env)
    assert quiet.exit_code == 0 and quiet.stdout == ""


def test_an_alert_by_e_mail_arrives_once(setup):
    import socket

    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope.content.decode())
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        args, env = setup
        config = Path(args[3])
        email = (
            f"{{host: 127.0.0.1, port: {port}, security: none, from: cv@example.com, "
            "to: [ops@example.com]}"
        )
        config.write_text(
            config.read_text().replace(
                "amount: 1000\n", f"amount: 100\n    notify:\n      - email: {email}\n"
            )
        )
        first = run("costs", "budget", "check", "--budget", "everything", *args, env=env)
        assert first.exit_code == 1, first.stdout
        assert "sent to email to ops@example.com via 127.0.0.1:" in first.stdout
        again = run("costs", "budget", "check", "--budget", "everything", *args, env=env)
        assert again.exit_code == 1 and "sent to" not in again.stdout
    finally:
        controller.stop()
    (text,) = inbox.messages
    assert "Subject: BUDGET WARNING - everything 60% of $100.00" in text
    assert "crossed 50% ($50.00) of the monthly budget" in text


def test_a_query_the_database_fails_is_unknown_on_stdout_for_cron(sqlite_url, tmp_path):
    """Sums too large for the database's integers: cron still gets its UNKNOWN line."""
    at_head(sqlite_url)
    at = max(NOW - timedelta(hours=1), NOW.replace(day=1, hour=0, minute=1))
    huge = {"user_id": "a", "model": "m", "input_tokens": 2**62 + 1, "created_at": at}
    with get_engine(sqlite_url).begin() as conn:
        conn.execute(insert(usage_logs), [{**huge, "request_id": f"r{i}"} for i in (1, 2)])
    config = tmp_path / "config.yaml"
    config.write_text("budgets:\n  - {name: all, amount: 100}\n")
    args = ["costs", "budget", "check", "--config", str(config), "--database", sqlite_url]
    result = run(*args)
    assert result.exit_code == 3, result.stdout + result.stderr
    assert result.stdout == (
        "BUDGET UNKNOWN - could not check: the database failed a query: integer overflow "
        "(run: CHATVAULT_DEBUG=1 chatvault ... to see the statement)\n"
    )
    assert "SELECT" not in result.stdout + result.stderr


@pytest.mark.parametrize("command", [["costs", "budget"], ["costs", "budget", "check"]])
def test_without_the_demos_export_budgets_point_at_the_demos_config(command):
    """`chatvault demo` suggests `costs budget`: run without its `export` line, no config
    holds budgets, and the error says how to use the demo's."""
    from chatvault.paths import demo_files

    demo, config = demo_files()
    migrate(f"sqlite:///{demo}")
    config.write_text("budgets:\n  - {name: all, amount: 10}\n")
    result = run(*command)
    export = f"export CHATVAULT_DATABASE_URL=sqlite:///{demo} CHATVAULT_CONFIG={config}"
    line = f"no budgets configured; `chatvault demo` made some (run: {export})"
    if command[-1] == "check":  # cron's convention: UNKNOWN, on stdout
        assert (result.exit_code, result.stderr) == (3, "")
        assert result.stdout == f"BUDGET UNKNOWN - could not check: {line}\n"
    else:
        assert (result.exit_code, result.stdout) == (2, "")
        assert result.stderr == f"error: {line}\n"
