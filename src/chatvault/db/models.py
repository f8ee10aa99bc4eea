"""The tables: the schema at head, which `db verify` compares the live database with.

Every column added after the legacy service's own model is nullable or has a server
default, so that service can keep inserting rows into `usage_logs` unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    REAL,
    BigInteger,
    Boolean,
    Column,
    Date,
    Double,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    column,
    table,
    true,
)
from sqlalchemy.sql import ColumnElement, TableClause
from sqlalchemy.sql.expression import False_, True_

from chatvault.db.types import Cents, UTCDateTime

# SQLite's INTEGER is already 64-bit, and its rowid alias must be spelled INTEGER.
TokenCount = BigInteger().with_variant(Integer(), "sqlite")
# The legacy service declared its float columns REAL on SQLite.
Seconds = Double().with_variant(REAL(), "sqlite")


_metadata = MetaData()  # complete as `metadata` (below), with every rollup table
NOT_NULL = {"nullable": False}
# What a usage_logs column counts (its `info`): the column lists below are read off the table.
COUNT = {"count": True}  # requests or tokens: checked whole and not negative, summed by rollups
TOKENS = {**COUNT, "tokens": True}  # tokens (rollups keep each under the same name)
TOTALLED = {**TOKENS, "total": True}  # part of a request's token total (see token_total)

# One request, or one pre-aggregated bucket of `request_count` requests. (Core, not the ORM:
# chatvault reads and writes in bulk, and the ORM would double every command's import time.)
usage_logs = Table(
    "usage_logs",
    _metadata,
    Column("id", Integer, primary_key=True),
    # Stable id of the request (or bucket) in its source; imports dedupe on it. NULL only for
    # rows another application inserted directly.
    Column("request_id", String(128)),
    Column("created_at", UTCDateTime, **NOT_NULL),
    Column("user_id", String(64), **NOT_NULL),
    Column("session_id", String(64)),
    Column("project", String(100)),
    Column("api_key", String(100)),
    # The machine a row from a local source (an agent's logs) was imported on (revision 0011).
    Column("machine", String(64)),
    Column("model", String(100), **NOT_NULL),
    Column("provider", String(50)),
    Column("request_count", Integer, server_default="1", info=COUNT, **NOT_NULL),
    # Input tokens exclude cache reads and cache writes, which have their own columns.
    Column("input_tokens", TokenCount, server_default="0", info=TOTALLED, **NOT_NULL),
    Column("output_tokens", TokenCount, server_default="0", info=TOTALLED, **NOT_NULL),
    Column("cache_read_tokens", TokenCount, server_default="0", info=TOTALLED, **NOT_NULL),
    Column("cache_write_tokens", TokenCount, server_default="0", info=TOTALLED, **NOT_NULL),
    # The part of cache_write_tokens written with a 1-hour lifetime (billed higher).
    Column("cache_write_1h_tokens", TokenCount, server_default="0", info=TOKENS, **NOT_NULL),
    # US cents, exact to a millionth of a cent. NULL = unpriced (unknown), never 0.
    Column("cost_cents", Cents),
    # 'reported' by the source, or 'estimated' by chatvault from a price list.
    Column("cost_source", String(16)),
    # The price data an estimated cost came from: 'genai-prices 0.2.3' or 'config override'.
    # NULL for a reported cost, an unpriced row, or a row priced before revision 0009.
    Column("price_data", String(40)),
    # Billing dimensions a cost depends on: 'batch' is half price; a context window such as
    # '200k-1M' says which long-context price a bucket of requests was billed at.
    Column("service_tier", String(20)),
    Column("context_window", String(20)),
    Column("billable", Boolean, server_default=true(), **NOT_NULL),
    Column("processing_time_seconds", Seconds),
    Column("session_duration_seconds", Seconds),
    Column("status", String(20), server_default="success", **NOT_NULL),
    Column("error_details", Text),  # JSON
    Index("ix_usage_logs_request_id", "request_id", unique=True),
    Index("ix_usage_logs_created_at", "created_at"),
    Index("ix_usage_logs_user_id_created_at", "user_id", "created_at"),
    Index("ix_usage_logs_model_created_at", "model", "created_at"),
)
# The usage_logs columns that count requests or tokens, those that count tokens, and those
# whose sum is a request's token total, in the table's order.
COUNT_COLUMNS = tuple(c.name for c in usage_logs.c if c.info.get("count"))
TOKEN_COLUMNS = tuple(c.name for c in usage_logs.c if c.info.get("tokens"))
TOTAL_COLUMNS = tuple(c.name for c in usage_logs.c if c.info.get("total"))


def _value(column: Column) -> Any:
    """A column's server default as the Python value it reads back as."""
    default = column.server_default.arg
    if isinstance(default, True_ | False_):
        return isinstance(default, True_)
    return column.type.python_type(default)


# What a usage_logs column holds when a row does not say: its server default, else NULL.
DEFAULTS = {c.name: _value(c) for c in usage_logs.c if c.server_default is not None}
# The longest each text column may be, in the table's order.
TEXT_LENGTHS = {
    c.name: c.type.length for c in usage_logs.c if isinstance(c.type, String) and c.type.length
}


def token_total(columns: Any) -> ColumnElement:
    """A request's token total in SQL, over usage_logs' columns or a rollup's (the same
    names): what decides which of two snapshots of one request is kept (db/writes.py), and
    what volume discounts count."""
    first, *rest = (columns[name] for name in TOTAL_COLUMNS)
    return sum(rest, first)


# Pre-aggregated usage per local day (or month) of a time zone (see db/rollups.py). Reports
# read the smallest one that holds what they group and filter by; triggers on usage_logs mark
# the hours that changed, whoever wrote them.
ROLLUP_DIMENSIONS = ("provider", "model", "project", "status", "billable")
# The finest also keeps the machine (revision 0011): reports by machine read it.
ROLLUP_USER_DIMENSIONS = ("user_id", *ROLLUP_DIMENSIONS, "machine")
# Latency histogram: bin k holds processing times in [2^(k/3), 2^((k+1)/3)) x 8 ms; the first
# and last bins are open-ended. A percentile read off it is within 12.2% of the true value.
LATENCY_BINS = 48
LATENCY_BIN_COLUMNS = tuple(f"latency_bin_{k:02d}" for k in range(LATENCY_BINS))
ROLLUP_COUNTS = (
    "rows",
    "requests",
    *TOKEN_COLUMNS,
    "unpriced_requests",
    "error_requests",
    "latency_rows",
    "latency_us",
    *LATENCY_BIN_COLUMNS,
)
_DIMENSION_TYPES = {
    "user_id": String(64),
    "provider": String(50),
    "model": String(100),
    "project": String(100),
    "status": String(20),
    "billable": Boolean,
    "machine": String(64),
}


def _rollup_columns(grain: str, dimensions: tuple[str, ...]) -> list[tuple[str, Any, bool]]:
    """A rollup's columns, the one declaration of them: (name, type, nullable)."""
    times = ["month"] if grain == "month" else ["day", "week", "month"]  # week: its Monday
    return [
        ("id", Integer, False),
        ("zone", String(64), False),
        *((time, Date, False) for time in times),  # month: the 1st of the month
        *((d, _DIMENSION_TYPES[d], True) for d in dimensions),
        *((c, TokenCount, False) for c in ROLLUP_COUNTS),
        ("cost_cents", Cents, True),  # NULL when no row of the group is priced
    ]


def _rollup_table(name: str, grain: str, dimensions: tuple[str, ...]) -> Table:
    rollup = Table(
        name,
        _metadata,
        *(
            Column(c, kind, nullable=nullable, primary_key=c == "id")
            for c, kind, nullable in _rollup_columns(grain, dimensions)
        ),
    )
    Index(
        f"ix_{name}_zone_{grain}",
        rollup.c.zone,
        rollup.c[grain],
        *(rollup.c[d] for d in dimensions[:1]),
    )
    return rollup


# From the finest (built from usage_logs) to the smallest; each is built from an earlier one.
ROLLUPS = {
    "rollup_day_user_details": ("day", ROLLUP_USER_DIMENSIONS),
    "rollup_day_details": ("day", ROLLUP_DIMENSIONS),
    "rollup_day_users": ("day", ("user_id",)),
    "rollup_day_models": ("day", ("provider", "model")),
    "rollup_days": ("day", ()),
    "rollup_month_users": ("month", ("user_id",)),
}
_ROLLUP_TABLES: dict[str, TableClause] = {}


def rollup_table(name: str) -> TableClause:
    """A rollup's table to read and write, defined on first use. Only its columns and their
    types: a full `Table` (events, constraints, metadata) took a report 8M instructions a
    rollup, and `metadata` (below) holds those for the schema's own uses."""
    if name not in _ROLLUP_TABLES:
        grain, dimensions = ROLLUPS[name]
        columns = _rollup_columns(grain, dimensions)
        _ROLLUP_TABLES[name] = table(name, *(column(c, kind) for c, kind, _ in columns))
    return _ROLLUP_TABLES[name]


# The time zones whose daily rollups are kept (each built on first use).
rollup_zones = Table("usage_rollup_zones", _metadata, Column("zone", String(64), primary_key=True))
# UTC hours whose usage_logs rows changed since the rollups were last brought up to date;
# version counts the changes, so a refresh only clears an hour nobody touched meanwhile.
rollup_stale = Table(
    "usage_rollup_stale",
    _metadata,
    Column("hour", UTCDateTime, primary_key=True),
    Column("version", BigInteger, nullable=False, server_default="1"),
)


# The tables below are defined on first use (PEP 562): a report reads none of them, and
# defining them cost every command 10M instructions. `metadata` defines them all.
# Budget alerts, each written under its unique key before it is sent (see chatvault.alerts).
# threshold_bp: the threshold in hundredths of a percent (8000 = 80%).
def _budget_alerts() -> Table:
    alerts = Table(
        "budget_alerts",
        _metadata,
        Column("id", Integer, primary_key=True),
        Column("budget", String(100), **NOT_NULL),
        Column("period_start", Date, **NOT_NULL),
        Column("kind", String(16), **NOT_NULL),  # 'actual' or 'forecast'
        Column("threshold_bp", Integer, **NOT_NULL),
        Column("channel", String(64), **NOT_NULL),
        Column("status", String(16), **NOT_NULL),  # 'sending', 'sent', 'failed' or 'resolved'
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("claimed_at", UTCDateTime, **NOT_NULL),
        Column("sent_at", UTCDateTime),
        Column("next_attempt_at", UTCDateTime),
        Column("last_error", String(500)),
    )
    key = ("budget", "period_start", "kind", "threshold_bp", "channel")
    Index("ux_budget_alerts_key", *(alerts.c[k] for k in key), unique=True)
    return alerts


# --- chatvault sync (revision 0010): what the providers' admin APIs report (docs/sync.md) ---
# Kept apart from usage_logs: totals count request-level rows unless the config says a
# provider's buckets count instead (sync.<provider>.counts), so no default adds them together.
# Where each provider, organisation and endpoint has been read through; a run re-reads
# sync.<provider>.revise_days before it and replaces those buckets.
def _sync_cursors() -> Table:
    return Table(
        "sync_cursors",
        _metadata,
        Column("provider", String(20), primary_key=True),
        Column("organization", String(100), primary_key=True),
        Column("endpoint", String(40), primary_key=True),
        Column("synced_until", UTCDateTime, **NOT_NULL),
        Column("updated_at", UTCDateTime, **NOT_NULL),
    )


# One result of one usage bucket, in chatvault's token convention (input excludes cache).
def _provider_usage() -> Table:
    return Table(
        "provider_usage",
        _metadata,
        Column("id", Integer, primary_key=True),
        Column("provider", String(20), **NOT_NULL),
        Column("organization", String(100), **NOT_NULL),
        Column("endpoint", String(40), **NOT_NULL),
        Column("bucket_start", UTCDateTime, **NOT_NULL),
        Column("bucket_end", UTCDateTime, **NOT_NULL),
        Column("model", String(100), **NOT_NULL),
        Column("project", String(100)),
        Column("api_key_id", String(100)),  # the key's id as the provider names it, never a key
        Column("user_id", String(64)),
        Column("service_tier", String(20)),
        Column("context_window", String(20)),
        Column("request_count", Integer, **NOT_NULL),  # 0 where the provider does not count
        Column("input_tokens", TokenCount, **NOT_NULL),
        Column("output_tokens", TokenCount, **NOT_NULL),
        Column("cache_read_tokens", TokenCount, **NOT_NULL),
        Column("cache_write_tokens", TokenCount, **NOT_NULL),
        Column("cache_write_1h_tokens", TokenCount, **NOT_NULL),
        Index("ix_provider_usage_bucket", "provider", "organization", "endpoint", "bucket_start"),
    )


# One result of one daily cost bucket: the billed amount exactly as sent (`amount`, in the
# provider's unit: dollars for OpenAI, cents for Anthropic) and in cents.
def _provider_costs() -> Table:
    return Table(
        "provider_costs",
        _metadata,
        Column("id", Integer, primary_key=True),
        Column("provider", String(20), **NOT_NULL),
        Column("organization", String(100), **NOT_NULL),
        Column("bucket_start", UTCDateTime, **NOT_NULL),
        Column("bucket_end", UTCDateTime, **NOT_NULL),
        Column("project", String(100)),
        Column("line_item", String(200)),
        Column("model", String(100)),
        Column("cost_type", String(40)),
        Column("service_tier", String(20)),
        Column("context_window", String(20)),
        Column("currency", String(3), **NOT_NULL),
        Column("amount", String(60), **NOT_NULL),
        Column("cost_cents", Cents, **NOT_NULL),
        Index("ix_provider_costs_bucket", "provider", "organization", "bucket_start"),
    )


# Where each file's last import stopped (ingest/checkpoints.py), per machine: the next import
# skips a file that did not change and reads an appended log from `read_to` on. It moves in
# the same transaction as the file's rows. `path_key` is a hash of `path`, short enough for a
# unique index on every database.
def _ingest_checkpoints() -> Table:
    return Table(
        "ingest_checkpoints",
        _metadata,
        Column("machine", String(64), primary_key=True),
        Column("path_key", String(32), primary_key=True),
        Column("path", Text, **NOT_NULL),
        Column("file_id", String(64), **NOT_NULL),  # "device:inode"
        Column("size", BigInteger, **NOT_NULL),
        Column("mtime_ns", BigInteger, **NOT_NULL),
        Column("read_to", BigInteger, **NOT_NULL),  # the offset after the last line imported
        Column("lines", BigInteger, **NOT_NULL),  # lines before read_to
        Column("head_hash", String(32), **NOT_NULL),
        Column("tail_hash", String(32), **NOT_NULL),
        Column("source", String(32), **NOT_NULL),
        Column("updated_at", UTCDateTime, **NOT_NULL),
    )


# A coding agent's sessions whose own log has been imported, and those the receiver stored
# telemetry rows of (revision 0012): a session in both has its telemetry rows deleted, the
# log counts the same requests (db/overlap.py).
def _sessions_table(name: str) -> Table:
    return Table(
        name,
        _metadata,
        Column("agent", String(32), primary_key=True),
        Column("session_id", String(64), primary_key=True),
    )


_LATER: dict[str, Callable[[], Table]] = {
    "budget_alerts": _budget_alerts,
    "sync_cursors": _sync_cursors,
    "provider_usage": _provider_usage,
    "provider_costs": _provider_costs,
    "ingest_checkpoints": _ingest_checkpoints,
    "logged_sessions": lambda: _sessions_table("logged_sessions"),
    "telemetry_sessions": lambda: _sessions_table("telemetry_sessions"),
}
_DEFINING = threading.Lock()  # a server's threads may ask for the same table at once


def __getattr__(name: str) -> Any:
    # `metadata`, the whole schema at head (db verify, the migration tests), has them all.
    if name == "metadata":
        for later in _LATER:
            _defined(later)
        for rollup, (grain, dimensions) in ROLLUPS.items():
            with _DEFINING:
                if rollup not in _metadata.tables:
                    _rollup_table(rollup, grain, dimensions)
        return _metadata
    if name in _LATER:
        return _defined(name)
    raise AttributeError(name)


def _defined(name: str) -> Table:
    """A table of _LATER, defined once and kept as the module's attribute."""
    with _DEFINING:
        if name not in globals():
            globals()[name] = _LATER[name]()
        return globals()[name]
