"""Small text charts for the terminal: one column per day, drawn with block characters
(or plain ASCII when the output is not a terminal)."""

from __future__ import annotations

from collections.abc import Sequence

# (actual, forecast, interval above the forecast, empty)
UNICODE = ("█", "▓", "░", " ")
ASCII = ("#", "=", ":", " ")


def day_columns(
    actual: Sequence[float],
    forecast: Sequence[float],
    upper: Sequence[float],
    height: int = 8,
    ascii_only: bool = False,
) -> list[str]:
    """Rows of a column chart, top first: the actual days, then the forecast days with the
    upper end of their interval shaded above them. Each cell is filled when the column's
    value reaches the middle of the cell's band, so a column's height rounds to a cell."""
    full, planned, band, empty = ASCII if ascii_only else UNICODE
    top = max([*actual, *upper, 0.0])
    if top <= 0:
        top = 1.0
    lines = []
    for row in range(height, 0, -1):
        level = (row - 0.5) / height * top
        cells = [full if value >= level else empty for value in actual]
        cells += [
            planned if mean >= level else band if high >= level else empty
            for mean, high in zip(forecast, upper, strict=True)
        ]
        lines.append("".join(cells).rstrip())
    return lines


def stacked_columns(series: Sequence[Sequence[float]], height: int) -> list[list[int | None]]:
    """Rows of a stacked column chart, top first: in each cell, the index of the series whose
    slice of the column holds the cell's middle, or None above the column."""
    days = len(series[0]) if series else 0
    totals = [sum(s[d] for s in series) for d in range(days)]
    top = max([*totals, 0.0]) or 1.0
    grid = []
    for row in range(height, 0, -1):
        level = (row - 0.5) / height * top
        cells: list[int | None] = []
        for d in range(days):
            running, found = 0.0, None
            for i, s in enumerate(series):
                running += s[d]
                if running >= level:
                    found = i
                    break
            cells.append(found)
        grid.append(cells)
    return grid
