"""Where chatvault keeps its files by default (XDG conventions on Linux)."""

from pathlib import Path

APP_NAME = "chatvault"


def user_config_file() -> Path:
    from platformdirs import user_config_path

    return user_config_path(APP_NAME) / "config.yaml"


def default_database_file() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP_NAME) / "chatvault.db"
