"""`chatvault config show|validate`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from chatvault.cli.app import app

runner = CliRunner()
ROOT_CONFIG = Path(__file__).parents[2] / "config.yaml"


def test_show_masks_the_password_and_names_the_source():
    result = runner.invoke(
        app,
        [
            "--config",
            str(ROOT_CONFIG),
            "config",
            "show",
            "--database",
            "postgresql://app:hunter2@db:5432/usage",
        ],
    )
    assert result.exit_code == 0
    assert "hunter2" not in result.stdout + result.stderr
    assert "url: postgresql+psycopg2://app:***@db:5432/usage" in result.stdout
    assert result.stderr.strip() == f"# config file: {ROOT_CONFIG}"


def test_show_json_keeps_money_exact():
    result = runner.invoke(app, ["config", "show", "--json", "--config", str(ROOT_CONFIG)])
    data = json.loads(result.stdout)
    assert data["cost_calculation"]["tiered_pricing"]["tiers"][1]["discount_percentage"] == "5.0"
    assert data["timezone"] == "UTC"


def test_validate_the_example():
    result = runner.invoke(app, ["config", "validate", str(ROOT_CONFIG)])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"{ROOT_CONFIG}: valid"


def test_validate_a_bad_file_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("cost_calculation:\n  budget_alerts:\n    alert_treshold: [50]\n")
    result = runner.invoke(app, ["config", "validate", str(bad)])
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: config file {bad}: unknown key ")
    assert "'cost_calculation.budget_alerts.alert_treshold'" in line


def test_every_command_refuses_a_bad_config(tmp_path):
    (tmp_path / "config.yaml").write_text("timezone: Nowhere/Special\n")
    result = runner.invoke(app, ["db", "status"])
    assert result.exit_code == 2
    assert "config.yaml: timezone: 'Nowhere/Special' is not an IANA time zone" in result.stderr


def test_validate_without_any_file():
    result = runner.invoke(app, ["config", "validate"])
    assert result.exit_code == 0 and "built-in defaults" in result.stderr


def test_config_option_beats_the_environment(tmp_path, monkeypatch):
    env_file = tmp_path / "env.yaml"
    env_file.write_text("timezone: Asia/Kolkata\n")
    monkeypatch.setenv("CHATVAULT_CONFIG", str(env_file))
    result = runner.invoke(app, ["--config", str(ROOT_CONFIG), "config", "show", "--json"])
    assert json.loads(result.stdout)["timezone"] == "UTC"
    assert json.loads(runner.invoke(app, ["config", "show", "--json"]).stdout)["timezone"] == (
        "Asia/Kolkata"
    )
