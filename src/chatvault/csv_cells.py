"""CSV cells a spreadsheet would run as formulas, and how every CSV chatvault writes defuses
them: OWASP's rule for CSV injection, a `'` before a text cell that starts with = + - @ tab or
CR. Numbers are not text and stay as they are. The export applies the same rule in SQL
(db/export_rows.py)."""

from __future__ import annotations

from typing import Any

TRIGGERS = "=+-@\t\r"


def neutralised(cell: Any) -> Any:
    """The cell as a spreadsheet may safely open it."""
    if isinstance(cell, str) and cell[:1] in TRIGGERS and cell:
        return "'" + cell
    return cell
