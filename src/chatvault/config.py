"""Configuration: find the file, load it, validate every key, resolve the database URL.

Lookup order: --config, $CHATVAULT_CONFIG, ./config.yaml, the user config dir, built-in
defaults. Money values are read as Decimal (YAML floats never become Python floats), and
`${VAR}` in a string is replaced by that environment variable, so secrets can stay out of
the file.
"""

from __future__ import annotations

import os
import re
import types
import typing
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from chatvault import paths
from chatvault.errors import ConfigError
from chatvault.period import zone_named
from chatvault.serve.config import ServeConfig
from chatvault.sync.config import SyncConfig
from chatvault.yaml_file import read_yaml

if typing.TYPE_CHECKING:
    # Imported when a config file is read: a command without one need not build them.
    from chatvault.budgets.config import Budget


class DatabaseConfig(NamedTuple):
    """The config's `database:` section."""

    url: str | None = None


class Tier(NamedTuple):
    """One volume-discount tier: a percentage off up to a monthly token limit."""

    name: str
    monthly_token_limit: int | None = None
    discount_percentage: Decimal = Decimal(0)


class TieredPricing(NamedTuple):
    """Volume discounts by monthly tokens (`cost_calculation.tiered_pricing`)."""

    enabled: bool = False
    tiers: tuple[Tier, ...] = ()


class CostPrediction(NamedTuple):
    """`cost_calculation.cost_prediction`: forecasts in budgets."""

    enabled: bool = True
    prediction_window_days: int = 30


class BudgetAlerts(NamedTuple):
    """`cost_calculation.budget_alerts`: whether budgets notify, and at which percents."""

    enabled: bool = True
    alert_thresholds: tuple[Decimal, ...] = tuple(Decimal(t) for t in (50, 80, 90, 95, 100))


class CostCalculation(NamedTuple):
    """The config's `cost_calculation:` section."""

    enable_advanced_costs: bool = True
    currency: str = "USD"
    tiered_pricing: TieredPricing = TieredPricing()
    cost_prediction: CostPrediction = CostPrediction()
    budget_alerts: BudgetAlerts = BudgetAlerts()


class PriceOverride(NamedTuple):
    """A model's prices in USD per million tokens, winning over the price list."""

    model: str
    input: Decimal
    output: Decimal
    provider: str | None = None
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    cache_write_1h: Decimal | None = None
    effective_from: date | None = None


class Pricing(NamedTuple):
    """The config's `pricing:` section."""

    overrides: tuple[PriceOverride, ...] = ()


class Config(NamedTuple):
    """The whole config file, validated; every key has a default."""

    database: DatabaseConfig = DatabaseConfig()
    timezone: str = "UTC"
    cost_calculation: CostCalculation = CostCalculation()
    pricing: Pricing = Pricing()
    budgets: tuple[Budget, ...] = ()
    sync: SyncConfig = SyncConfig()
    serve: ServeConfig = ServeConfig()


class Settings(NamedTuple):
    """What a command runs with: the validated config, where it came from, the database URL."""

    config: Config
    config_file: Path | None
    database_url: str
    # No URL given anywhere: the SQLite file in the user data dir, created on first use.
    default_database: bool = False


CONFIG_ENV = "CHATVAULT_CONFIG"
DATABASE_ENV = "CHATVAULT_DATABASE_URL"


def load_settings(database: str | None = None, config_file: Path | None = None) -> Settings:
    path = find_config_file(config_file)
    config = load_config(path) if path else Config()
    url = resolve_database_url(database, config, path)
    return Settings(config, path, url, default_database=not database and not config.database.url)


def find_config_file(explicit: Path | None = None) -> Path | None:
    explicit = explicit or (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file not found: {explicit}")
        return explicit
    for candidate in (Path("config.yaml"), paths.user_config_file()):
        if candidate.is_file():
            return candidate
    return None


def resolve_database_url(explicit: str | None, config: Config, config_file: Path | None) -> str:
    """--database / $CHATVAULT_DATABASE_URL, then the config, then the default SQLite file.

    A relative SQLite path in a config file is relative to that file, so cron jobs started
    from another directory open the same database.
    """
    if explicit:
        return explicit
    url = config.database.url
    if url is None:
        return "sqlite:///" + str(paths.default_database_file())
    prefix = "sqlite:///"
    if config_file and url.startswith(prefix) and url != "sqlite://":
        db_path = url[len(prefix) :]
        if db_path and db_path != ":memory:" and not Path(db_path).is_absolute():
            return prefix + str((config_file.parent / db_path).resolve())
    return url


def load_config(path: Path) -> Config:
    data = read_yaml(path)
    try:
        return parse_config(data if data is not None else {})
    except ConfigError as exc:
        raise ConfigError(f"config file {path}: {exc.message}") from None


def parse_config(data: Any) -> Config:
    config = _build(Config, data, "")
    _check(config)
    return _advanced_costs(config)


def _advanced_costs(config: Config) -> Config:
    """`cost_calculation.enable_advanced_costs: false` (the original service's master switch)
    turns off the features below it, whatever their own `enabled` says: volume discounts,
    forecasts in budgets, budget notifications. Their other settings are kept."""
    cost = config.cost_calculation
    if cost.enable_advanced_costs:
        return config
    off = {"enabled": False}
    cost = cost._replace(
        tiered_pricing=cost.tiered_pricing._replace(**off),
        cost_prediction=cost.cost_prediction._replace(**off),
        budget_alerts=cost.budget_alerts._replace(**off),
    )
    return config._replace(cost_calculation=cost)


# --- ${NAME} in a string value: the environment's, so secrets stay out of the file -------

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand_env(value: str, where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(f"{where}: environment variable {name} is not set")
        return os.environ[name]

    return _ENV_REF.sub(replace, value)


# --- validation: every key known, every value of the right type -------------------------

_TYPE_NAMES = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "a string",
    Decimal: "a number",
    date: "a date (YYYY-MM-DD)",
}


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'the top level'}: expected a mapping, got {_show(data)}")
    from chatvault.budgets import config as budget_config

    aliases = budget_config.KEY_ALIASES.get(cls, {})
    data = {aliases.get(key, key): value for key, value in data.items()}
    local = {"Budget": budget_config.Budget, "SyncConfig": SyncConfig, "ServeConfig": ServeConfig}
    hints = typing.get_type_hints(cls, localns=local)
    known = set(cls._fields)
    for key in data:
        if key not in known:
            name, expected = _join(where, str(key)), ", ".join(sorted(known))
            raise ConfigError(f"unknown key {name!r} (expected one of: {expected})")
    values = {key: _convert(hints[key], value, _join(where, key)) for key, value in data.items()}
    try:
        return cls(**values)
    except TypeError:
        missing = sorted(set(cls._fields) - set(values) - set(cls._field_defaults))
        raise ConfigError(f"{where}: missing key {missing[0]!r}") from None


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return None if value is None else _convert(options[0], value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {_show(value)}")
        item = typing.get_args(hint)[0]
        return tuple(_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if isinstance(hint, type) and issubclass(hint, tuple) and hasattr(hint, "_fields"):
        return _build(hint, value, where)  # a section: a named tuple
    if hint is Decimal and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return Decimal(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is float and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return float(value)  # a timeout, not money
    if hint is bool and isinstance(value, bool):
        return value
    if hint is str and isinstance(value, str):
        return _expand_env(value, where)
    if hint is date and isinstance(value, date):  # YAML reads 2025-06-01 as a date
        return value
    raise ConfigError(f"{where}: expected {_TYPE_NAMES[hint]}, got {_show(value)}")


def _check(config: Config) -> None:
    """Rules beyond types, each naming the key it is about."""
    if config.database.url is not None and not config.database.url.strip():
        raise ConfigError("database.url: empty; leave it out (or null) for the default database")
    zone_named(config.timezone, "timezone", ConfigError)
    cost = config.cost_calculation
    if cost.currency != "USD":
        raise ConfigError(
            f"cost_calculation.currency: only 'USD' is supported, got {cost.currency!r}"
        )
    window = cost.cost_prediction.prediction_window_days
    if not 1 <= window <= 366:
        raise ConfigError(
            f"cost_calculation.cost_prediction.prediction_window_days: must be 1..366, got {window}"
        )
    thresholds = cost.budget_alerts.alert_thresholds
    from chatvault.budgets.config import check_budgets, check_thresholds

    check_thresholds(thresholds, "cost_calculation.budget_alerts.alert_thresholds")
    _check_tiers(cost.tiered_pricing.tiers)
    _check_overrides(config.pricing.overrides)
    check_budgets(config.budgets)
    from chatvault.serve.config import check_serve
    from chatvault.sync.config import check_sync

    check_sync(config.sync)
    check_serve(config.serve)


def _check_tiers(tiers: tuple[Tier, ...]) -> None:
    where = "cost_calculation.tiered_pricing.tiers"
    limits = [t.monthly_token_limit for t in tiers]
    for i, tier in enumerate(tiers):
        if not 0 <= tier.discount_percentage <= 100:
            raise ConfigError(f"{where}[{i}].discount_percentage: must be 0..100")
        if tier.monthly_token_limit is not None and tier.monthly_token_limit <= 0:
            raise ConfigError(f"{where}[{i}].monthly_token_limit: must be positive")
        if tier.monthly_token_limit is None and i != len(tiers) - 1:
            raise ConfigError(f"{where}[{i}]: only the last tier may have no monthly_token_limit")
    bounded = [limit for limit in limits if limit is not None]
    if bounded != sorted(set(bounded)):
        raise ConfigError(f"{where}: monthly_token_limit must increase from tier to tier")


def _check_overrides(overrides: tuple[PriceOverride, ...]) -> None:
    seen = set()
    for i, override in enumerate(overrides):
        where = f"pricing.overrides[{i}]"
        prices = {
            "input": override.input,
            "output": override.output,
            "cache_read": override.cache_read,
            "cache_write": override.cache_write,
            "cache_write_1h": override.cache_write_1h,
        }
        for name, price in prices.items():
            if price is not None and price < 0:
                raise ConfigError(f"{where}.{name}: a price cannot be negative")
        key = (override.model.lower(), (override.provider or "").lower(), override.effective_from)
        if key in seen:
            raise ConfigError(f"{where}: the same model, provider and effective_from twice")
        seen.add(key)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)
