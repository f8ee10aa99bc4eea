"""Where chatvault keeps its files by default (XDG conventions on Linux)."""

from pathlib import Path

APP_NAME = "chatvault"


def user_config_file() -> Path:
    from platformdirs import user_config_path

    return user_config_path(APP_NAME) / "config.yaml"


def default_database_file() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP_NAME) / "chatvault.db"


def demo_files() -> tuple[Path, Path]:
    """The database file and config `chatvault demo` writes, apart from the default database."""
    folder = default_database_file().parent / "demo"
    return folder / "chatvault-demo.db", folder / "config.yaml"


def demo_export() -> str | None:
    """The `export` line `chatvault demo` printed, when its database exists: what a command
    it suggested needs, if it was run without it."""
    import shlex

    database, config = demo_files()
    if not database.exists():
        return None
    line = f"export CHATVAULT_DATABASE_URL={shlex.quote(f'sqlite:///{database}')}"
    if config.exists():
        line += f" CHATVAULT_CONFIG={shlex.quote(str(config))}"
    return line


def write_atomically(path: Path, text: str) -> None:
    """Write a text file whole or not at all: a temporary file beside it, renamed over it."""
    import os
    import tempfile

    from chatvault.errors import InputError

    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        umask = os.umask(0)  # mkstemp makes the file private; a report is for sharing
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
