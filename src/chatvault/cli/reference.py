"""The command reference, docs/reference.md: every command's --help, in the order --help
lists them. `python -m chatvault.cli.reference > docs/reference.md` writes it; a test fails
when the page and the commands disagree."""

from __future__ import annotations

from typing import Any

WIDTH = 100


def markdown() -> str:
    from typer.main import get_command

    from chatvault.cli.app import app

    parts = [
        "# Command reference",
        "",
        "Every command's `--help`, generated from the commands themselves "
        "(`python -m chatvault.cli.reference > docs/reference.md`).",
        "",
    ]
    _walk(get_command(app), [], parts)
    return "\n".join(parts)


def _walk(command: Any, path: list[str], parts: list[str]) -> None:
    from typer.testing import CliRunner

    from chatvault.cli.app import app

    result = CliRunner().invoke(
        app, [*path, "--help"], prog_name="chatvault", env={"COLUMNS": str(WIDTH)}
    )
    title = " ".join(["chatvault", *path])
    parts += [f"## `{title}`", "", "```", result.stdout.rstrip(), "```", ""]
    for name, sub in getattr(command, "commands", {}).items():
        _walk(sub, [*path, name], parts)


if __name__ == "__main__":
    print(markdown(), end="")
