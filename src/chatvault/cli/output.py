"""Rendering data on stdout: a Rich table for people, JSON for programs."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any


def table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    header: bool = True,
    keep_whole: Sequence[str] = (),
    footer: Sequence[str] | None = None,
    right: Sequence[str] = (),
) -> None:
    """A Rich table; plain ASCII without colour when stdout is not a terminal.

    Columns named in `keep_whole` are never wrapped or cut (an identifier cut short is
    useless); the others wrap to fit the terminal.
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    if not console.is_terminal:
        # Piped or redirected: no box-drawing characters, and no wrapping at 80 columns.
        console = Console(highlight=False, width=10_000, no_color=True)
    grid = Table(
        show_header=header,
        show_footer=footer is not None,
        box=box.ROUNDED if console.is_terminal else box.ASCII,
    )
    for i, name in enumerate(columns):
        whole = name in keep_whole
        grid.add_column(
            name,
            footer=Text(footer[i]) if footer is not None else "",
            no_wrap=whole,
            overflow="ellipsis" if whole else "fold",
            justify="right" if name in right else "left",
        )
    for row in rows:
        grid.add_row(*(Text("" if cell is None else str(cell)) for cell in row))  # no markup
    console.print(grid)


def dump_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
