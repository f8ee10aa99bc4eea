"""The one output layer: the same Result as a table, JSON with its schema id, or CSV."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from chatvault.cli.output import Result, emit, money_cells
from chatvault.csv_cells import neutralised

RESULT = Result(
    show=lambda: print("for people"),
    document={"rows": [{"name": "-2+3", "cost_usd": "1.50", "requests": -1}]},
    schema="chatvault.example/1",
    columns=["name", "cost_usd", "requests"],
    records=[
        {"name": "-2+3", "cost_usd": "-1.50", "requests": -1},  # money is no formula
        {"name": "\tTAB", "cost_usd": None, "requests": 2},
    ],
    text=["name"],
)


def test_table_json_and_csv_of_one_result(capsys):
    emit(RESULT, "table")
    assert capsys.readouterr().out == "for people\n"
    emit(RESULT, "json")
    document = json.loads(capsys.readouterr().out)
    assert list(document) == ["schema", "rows"] and document["schema"] == "chatvault.example/1"
    emit(RESULT, "csv")
    text = capsys.readouterr().out
    assert text.endswith("\r\n")  # RFC 4180 line ends
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["name", "cost_usd", "requests"], ["'-2+3", "-1.50", "-1"], ["'\tTAB", "", "2"]]
    emit(RESULT, "csv", raw=True)
    assert list(csv.reader(io.StringIO(capsys.readouterr().out)))[1][0] == "-2+3"


def test_owasp_triggers_are_defused_and_nothing_else():
    for cell in ("=1+1", "+1", "-1", "@x", "\tx", "\rx"):
        assert neutralised(cell) == "'" + cell
    for cell in ("", "a=b", "'=x", " =x", 5, -5, None):
        assert neutralised(cell) == cell


def test_a_money_column_has_one_number_of_decimals():
    cents = [Decimal("14695.71"), Decimal("12436.2552"), Decimal("1922.94615"), None]
    assert money_cells(cents) == ["$146.96", "$124.36", "$19.23", "-"]
    assert money_cells([Decimal("123456.5"), Decimal("-0.84"), Decimal(0)]) == [
        "$1,234.5650",
        "-$0.0084",
        "$0.0000",
    ]
    assert money_cells([Decimal("0.000001"), Decimal(100)]) == ["$0.00000001", "$1.00000000"]
    assert money_cells([None], empty="") == [""]
