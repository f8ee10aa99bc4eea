"""docs/reference.md is every command's --help, as the commands say it today."""

from __future__ import annotations

from pathlib import Path

from chatvault.cli.reference import markdown

PAGE = Path(__file__).parents[2] / "docs" / "reference.md"


def test_the_command_reference_is_in_sync():
    assert PAGE.read_text() == markdown(), (
        "docs/reference.md is out of date: run python -m chatvault.cli.reference > "
        "docs/reference.md"
    )


def test_every_command_is_in_it():
    page = PAGE.read_text()
    for command in ("usage insights", "costs dashboard", "costs budget check", "demo"):
        assert f"## `chatvault {command}`" in page
