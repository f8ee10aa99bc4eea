"""The one output layer: a command builds a Result, and `emit` shows it as a table (or text)
for people, JSON or CSV for programs. stdout carries the data only; diagnostics go to stderr
(cli/common.py `info`)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import typer

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

MONEY_DECIMALS = 8  # of a dollar: chatvault keeps a millionth of a cent


class TableOrJson(StrEnum):
    table = "table"
    json = "json"


class TableJsonCsv(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


FormatOpt = Annotated[
    TableOrJson, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
]
CsvFormatOpt = Annotated[
    TableJsonCsv, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
]
RawOpt = Annotated[
    bool,
    typer.Option(
        "--raw",
        help="CSV: text cells exactly as stored, without the ' put before a leading "
        "=, +, -, @, tab or CR.",
    ),
]


class Result(NamedTuple):
    """What a command found, ready for every format it offers."""

    show: Callable[[], None]  # for people: a table, a chart, lines of text
    document: Any  # for JSON: an object (after its schema id) or a list
    schema: str | None = None  # the JSON document's schema id, first in it
    columns: Sequence[str] = ()  # for CSV: the header
    records: Iterable[Mapping[str, Any]] = ()  # for CSV: the rows, by column name
    text: Collection[str] = ()  # the CSV columns holding text (names, ids), not numbers


def emit(result: Result, output: str = "table", raw: bool = False) -> None:
    """The result on stdout, in the format asked for."""
    if output == "json":
        document = result.document
        dump_json(document if result.schema is None else {"schema": result.schema, **document})
    elif output == "csv":
        write_csv(result.columns, result.records, () if raw else result.text)
    else:
        result.show()


def write_csv(
    columns: Sequence[str], records: Iterable[Mapping[str, Any]], text: Collection[str] = ()
) -> None:
    """RFC 4180 CSV on stdout, row by row (see `csv_lines`)."""
    sys.stdout.writelines(csv_lines(columns, records, text))


def csv_lines(
    columns: Sequence[str], records: Iterable[Mapping[str, Any]], text: Collection[str] = ()
) -> Iterator[str]:
    """RFC 4180 CSV, a line at a time; in the `text` columns, a cell that would start a
    spreadsheet formula is defused (csv_cells.py). Numbers, money included, are written as
    they are. `chatvault serve` streams the same lines."""
    import csv
    import io
    import itertools

    from chatvault.csv_cells import neutralised

    def cell(record: Mapping[str, Any], name: str) -> Any:
        value = record[name]
        if value is None:
            return ""
        return neutralised(value) if name in text else value

    line = io.StringIO()
    writer = csv.writer(line, lineterminator="\r\n")
    rows = ([cell(record, name) for name in columns] for record in records)
    for row in itertools.chain([columns], rows):  # lazily: a long CSV streams
        writer.writerow(row)
        yield line.getvalue()
        line.seek(0)
        line.truncate()


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
    from rich.table import Table
    from rich.text import Text

    console = stdout_console()
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
    draw(console, grid)


def stdout_console(piped_width: int | None = None) -> Console:
    """The console a command draws on for people: Rich's own on a terminal. Piped or
    redirected, one without colour, `piped_width` columns wide (narrower when $COLUMNS says
    so), or without one as wide as each line needs: no wrapping at Rich's default 80."""
    from rich.console import Console

    # No emoji codes: a project called "x:fire:" is shown as it is called.
    console = Console(highlight=False, emoji=False)
    if console.is_terminal:
        return console
    columns = os.environ.get("COLUMNS", "")
    width = piped_width or 10_000
    if piped_width and columns.isdigit() and int(columns) > 0:
        width = min(width, int(columns))
    return Console(highlight=False, emoji=False, no_color=True, width=width)


def draw(console: Console, *parts: RenderableType) -> None:
    """The parts on stdout. Off a terminal, lines end at their last character: Rich pads
    panels and grids to the console's width, and a pipe needs none of that."""
    if console.is_terminal:
        for part in parts:
            console.print(part)
        return
    with console.capture() as captured:
        for part in parts:
            console.print(part)
    sys.stdout.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def money_cells(cents: Sequence[Decimal | None], empty: str = "-") -> list[str]:
    """A table's money column, from cents: every amount to the same number of decimals, the
    cent unless the column's smallest amount needs more to show two digits (at most 8: every
    digit kept), with thousands separators. JSON and CSV keep the exact values."""
    amounts = [None if c is None else c / 100 for c in cents]
    smallest = min((abs(a) for a in amounts if a), default=Decimal(1))
    decimals = min(MONEY_DECIMALS, max(2, 1 - smallest.adjusted()))
    step = Decimal(1).scaleb(-decimals)

    def cell(amount: Decimal | None) -> str:
        if amount is None:
            return empty
        text = f"{abs(amount).quantize(step, ROUND_HALF_EVEN):,.{decimals}f}"
        return f"-${text}" if amount < 0 else f"${text}"

    return [cell(a) for a in amounts]


def dump_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
