"""Configuration: lookup order, strict validation, Decimal money, ${VAR} secrets."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from chatvault.cli.config import dump_yaml, effective_config
from chatvault.config import (
    Config,
    find_config_file,
    load_config,
    load_settings,
    parse_config,
)
from chatvault.errors import ConfigError

ROOT_CONFIG = Path(__file__).parents[1] / "config.yaml"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_documented_example_is_valid_and_matches_the_defaults_it_states():
    config = load_config(ROOT_CONFIG)
    defaults = Config()
    assert config.timezone == defaults.timezone == "UTC"
    assert config.database == defaults.database
    assert config.cost_calculation.budget_alerts == defaults.cost_calculation.budget_alerts
    tiers = config.cost_calculation.tiered_pricing.tiers
    assert [t.discount_percentage for t in tiers] == [
        Decimal("0.0"),
        Decimal("5.0"),
        Decimal("10.0"),
    ]
    assert all(type(t.discount_percentage) is Decimal for t in tiers)


def test_defaults_without_any_file(tmp_path):
    settings = load_settings()
    assert settings.config_file is None
    assert settings.config == Config()
    assert (
        settings.database_url == f"sqlite:///{tmp_path / 'xdg-data' / 'chatvault' / 'chatvault.db'}"
    )


def test_lookup_order(tmp_path, monkeypatch):
    user = write(tmp_path / "xdg-config" / "chatvault" / "config.yaml", "timezone: Asia/Kolkata\n")
    assert find_config_file() == user
    local = write(tmp_path / "config.yaml", "timezone: Europe/Paris\n")
    assert find_config_file() == Path("config.yaml")
    env = write(tmp_path / "env.yaml", "timezone: America/New_York\n")
    monkeypatch.setenv("CHATVAULT_CONFIG", str(env))
    assert find_config_file() == env
    explicit = write(tmp_path / "explicit.yaml", "timezone: UTC\n")
    assert find_config_file(explicit) == explicit
    assert local.exists() and load_settings().config.timezone == "America/New_York"


def test_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        find_config_file(tmp_path / "nope.yaml")


def test_database_precedence_and_relative_sqlite_paths(tmp_path, monkeypatch):
    config = write(
        tmp_path / "etc" / "chatvault.yaml", "database:\n  url: sqlite:///data/usage.db\n"
    )
    assert load_settings(config_file=config).database_url == (
        f"sqlite:///{tmp_path / 'etc' / 'data' / 'usage.db'}"
    )
    assert load_settings("sqlite:///x.db", config).database_url == "sqlite:///x.db"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "timezon: UTC\n",
            r"unknown key 'timezon' \(expected one of: "
            r"budgets, cost_calculation, database, pricing, serve, sync, timezone\)",
        ),
        (
            "cost_calculation:\n  budget_alerts:\n    alert_thresholds: [50, 'x']\n",
            r"cost_calculation.budget_alerts.alert_thresholds\[1\]: expected a number, got 'x'",
        ),
        (
            "cost_calculation:\n  cost_prediction:\n    prediction_window_days: 3.5\n",
            "prediction_window_days: expected a whole number",
        ),
        (
            "cost_calculation:\n  tiered_pricing:\n    enabled: 'yes please'\n",
            "tiered_pricing.enabled: expected true or false",
        ),
        ("timezone: Mars/Olympus\n", "not an IANA time zone"),
        ("cost_calculation:\n  currency: EUR\n", "only 'USD' is supported"),
        (
            "cost_calculation:\n  budget_alerts:\n    alert_thresholds: [80, 50]\n",
            "increasing order",
        ),
        (
            "cost_calculation:\n  tiered_pricing:\n    tiers:\n"
            "      - {name: a}\n      - {name: b}\n",
            r"tiers\[0\]: only the last tier may have no monthly_token_limit",
        ),
        (
            "cost_calculation:\n  tiered_pricing:\n    tiers:\n      - {discount_percentage: 5}\n",
            r"tiers\[0\]: missing key 'name'",
        ),
        ("database: sqlite:///x.db\n", "database: expected a mapping"),
        ("database:\n  url: ''\n", "database.url: empty"),
        ("timezone: localtime\n", "not an IANA time zone"),
        ("- just\n- a list\n", "the top level: expected a mapping"),
        (
            "sync:\n  openai:\n    bucket_width: 1m\n",
            r"sync.openai.bucket_width: must be one of 1h, 1d",
        ),
        (
            "sync:\n  anthropic:\n    counts: both\n",
            "sync.anthropic.counts: must be requests or provider",
        ),
        ("sync:\n  openai:\n    base_url: ftp://x\n", "sync.openai.base_url: must start with http"),
        ("sync:\n  openai:\n    revise_days: 40\n", r"sync.openai.revise_days: must be 0..31"),
        ("sync:\n  openai:\n    admin_key: ${CV_UNSET_KEY}\n", "CV_UNSET_KEY is not set"),
        ("sync:\n  mistral: {}\n", "unknown key 'sync.mistral'"),
    ],
)
def test_invalid_configs_name_the_key_and_the_file(tmp_path, text, message):
    path = write(tmp_path / "bad.yaml", text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"config file {path}: ")


def test_yaml_syntax_errors_give_the_line(tmp_path):
    path = write(tmp_path / "bad.yaml", "timezone: UTC\ndatabase: [\n")
    with pytest.raises(ConfigError, match=r"bad.yaml line \d+"):
        load_config(path)


def test_environment_variables_fill_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("PGPASSWORD_TEST", "s3cret")
    path = write(
        tmp_path / "c.yaml", "database:\n  url: postgresql://app:${PGPASSWORD_TEST}@db/x\n"
    )
    settings = load_settings(config_file=path)
    assert settings.database_url == "postgresql://app:s3cret@db/x"
    shown = dump_yaml(effective_config(settings))
    assert "s3cret" not in shown and "app:***@db" in shown
    monkeypatch.delenv("PGPASSWORD_TEST")
    with pytest.raises(
        ConfigError, match=r"database\.url: environment variable PGPASSWORD_TEST is not set"
    ):
        load_settings(config_file=path)


def test_effective_config_dumps_back_to_the_same_config(tmp_path):
    config = load_config(ROOT_CONFIG)
    data = effective_config(load_settings(config_file=ROOT_CONFIG))
    data["database"]["url"] = None
    assert load_config(write(tmp_path / "dumped.yaml", dump_yaml(data))) == config


def test_advanced_costs_off_switches_off_discounts_forecasts_and_alerts(tmp_path):
    path = write(
        tmp_path / "c.yaml",
        "cost_calculation:\n"
        "  enable_advanced_costs: false\n"
        "  tiered_pricing:\n"
        "    enabled: true\n"
        "    tiers: [{name: all, discount_percentage: 10}]\n"
        "  cost_prediction: {enabled: true, prediction_window_days: 7}\n"
        "  budget_alerts: {enabled: true, alert_thresholds: [80]}\n",
    )
    cost = load_config(path).cost_calculation
    assert not cost.enable_advanced_costs
    assert (cost.tiered_pricing.enabled, cost.cost_prediction.enabled) == (False, False)
    assert not cost.budget_alerts.enabled
    # What they would be is kept, for when the switch is on again.
    assert cost.tiered_pricing.tiers[0].discount_percentage == 10
    assert cost.cost_prediction.prediction_window_days == 7
    assert cost.budget_alerts.alert_thresholds == (Decimal(80),)
    on = parse_config({"cost_calculation": {"tiered_pricing": {"enabled": True}}})
    assert on.cost_calculation.tiered_pricing.enabled  # on by default: nothing switched off
    assert on.cost_calculation.cost_prediction.enabled and on.cost_calculation.budget_alerts.enabled


def test_floats_in_yaml_become_exact_decimals(tmp_path):
    path = write(
        tmp_path / "c.yaml",
        "cost_calculation:\n  tiered_pricing:\n    tiers:\n"
        "      - {name: a, discount_percentage: 0.1}\n",
    )
    (tier,) = load_config(path).cost_calculation.tiered_pricing.tiers
    assert tier.discount_percentage == Decimal("0.1")


def test_a_key_given_twice_is_an_error_not_a_silent_override(tmp_path):
    path = write(tmp_path / "twice.yaml", "timezone: UTC\ntimezone: Asia/Kolkata\n")
    with pytest.raises(ConfigError, match=r"twice.yaml line 2: duplicate key 'timezone'"):
        load_config(path)


def test_price_overrides(tmp_path):
    path = write(
        tmp_path / "p.yaml",
        "pricing:\n  overrides:\n"
        "    - {model: house-llm, input: 0.5, output: 1.5, effective_from: 2025-06-01}\n",
    )
    (override,) = load_config(path).pricing.overrides
    assert (override.input, override.output) == (Decimal("0.5"), Decimal("1.5"))
    assert str(override.effective_from) == "2025-06-01"
    bad = write(
        tmp_path / "n.yaml", "pricing:\n  overrides:\n    - {model: m, input: -1, output: 1}\n"
    )
    with pytest.raises(
        ConfigError, match=r"pricing.overrides\[0\].input: a price cannot be negative"
    ):
        load_config(bad)
    when = write(
        tmp_path / "d.yaml",
        "pricing:\n  overrides:\n    - {model: m, input: 1, output: 1, effective_from: soon}\n",
    )
    with pytest.raises(ConfigError, match=r"effective_from: expected a date \(YYYY-MM-DD\)"):
        load_config(when)
