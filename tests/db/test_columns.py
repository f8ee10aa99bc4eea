"""The usage_logs columns are declared once, in db/models.py. The write path, export, the
counts, the defaults and the rollups derive from it; ingest's record and `usage logs` must
place a column added there, or these fail."""

from __future__ import annotations

from dataclasses import MISSING, fields

from chatvault.db.models import (
    COUNT_COLUMNS,
    DEFAULTS,
    ROLLUP_COUNTS,
    TOKEN_COLUMNS,
    TOTAL_COLUMNS,
    usage_logs,
)
from chatvault.db.queries import LOG_COLUMNS, LOG_LEFT_OUT, LOG_QUANTITIES
from chatvault.db.writes import COST, ROW_COLUMNS
from chatvault.ingest.chatvault_format import FIELDS
from chatvault.ingest.record import UsageRecord
from chatvault.reports import export

ALL = tuple(usage_logs.c.keys())


def test_rows_written_carry_every_column_but_the_key_with_the_cost_last():
    assert sorted(ROW_COLUMNS) == sorted(set(ALL) - {"id"})
    assert ROW_COLUMNS[COST:] == ("cost_cents", "cost_source", "price_data")


def test_export_writes_every_column_in_the_tables_order():
    assert export.COLUMNS == ALL


def test_what_export_writes_ingest_reads_back():
    assert set(ALL) <= FIELDS


def test_the_listing_places_every_column():
    assert len(set(LOG_COLUMNS)) == len(LOG_COLUMNS)
    assert set(LOG_COLUMNS).isdisjoint(LOG_LEFT_OUT)
    assert set(LOG_COLUMNS) | LOG_LEFT_OUT == set(ALL)
    assert LOG_COLUMNS[-len(LOG_QUANTITIES) :] == LOG_QUANTITIES


def test_ingests_record_has_every_column_written_with_the_tables_defaults():
    record = {field.name: field.default for field in fields(UsageRecord)}
    # pricing says where a cost came from, and which price data priced it
    assert set(record) == set(ROW_COLUMNS) - {"cost_source", "price_data"}
    assert MISSING not in (record[name] for name in DEFAULTS)
    assert {name: record[name] for name in DEFAULTS} == DEFAULTS


def test_counts_and_the_token_total_are_read_off_the_table():
    assert set(COUNT_COLUMNS) == {"request_count", *TOKEN_COLUMNS}
    # What dedupe compares: the 1-hour cache writes are already part of the cache writes.
    assert TOTAL_COLUMNS == (
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
    )
    assert set(TOKEN_COLUMNS) <= set(ROLLUP_COUNTS)
    assert {name: DEFAULTS[name] for name in COUNT_COLUMNS} == {
        "request_count": 1,
        **dict.fromkeys(TOKEN_COLUMNS, 0),
    }
