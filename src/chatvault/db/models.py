"""The ORM models: the schema at head, which `db verify` compares the live database with.

Every column added after the legacy service's own model is nullable or has a server
default, so that service can keep inserting rows into `usage_logs` unchanged.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    REAL,
    BigInteger,
    Boolean,
    Column,
    Date,
    Double,
    Index,
    Integer,
    String,
    Table,
    Text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chatvault.db.types import Cents, UTCDateTime

# SQLite's INTEGER is already 64-bit, and its rowid alias must be spelled INTEGER.
TokenCount = BigInteger().with_variant(Integer(), "sqlite")
# The legacy service declared its float columns REAL on SQLite.
Seconds = Double().with_variant(REAL(), "sqlite")


class Base(DeclarativeBase):
    pass


class UsageLog(Base):
    """One request, or one pre-aggregated bucket of `request_count` requests."""

    __tablename__ = "usage_logs"
    __table_args__ = (
        Index("ix_usage_logs_request_id", "request_id", unique=True),
        Index("ix_usage_logs_created_at", "created_at"),
        Index("ix_usage_logs_user_id_created_at", "user_id", "created_at"),
        Index("ix_usage_logs_model_created_at", "model", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stable id of the request (or bucket) in its source; imports dedupe on it. NULL only for
    # rows another application inserted directly.
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[str | None] = mapped_column(String(64))
    project: Mapped[str | None] = mapped_column(String(100))
    api_key: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(100))
    provider: Mapped[str | None] = mapped_column(String(50))
    request_count: Mapped[int] = mapped_column(Integer, server_default="1")
    # Input tokens exclude cache reads and cache writes, which have their own columns.
    input_tokens: Mapped[int] = mapped_column(TokenCount, server_default="0")
    output_tokens: Mapped[int] = mapped_column(TokenCount, server_default="0")
    cache_read_tokens: Mapped[int] = mapped_column(TokenCount, server_default="0")
    cache_write_tokens: Mapped[int] = mapped_column(TokenCount, server_default="0")
    # The part of cache_write_tokens written with a 1-hour lifetime (billed higher).
    cache_write_1h_tokens: Mapped[int] = mapped_column(TokenCount, server_default="0")
    # US cents, exact to a millionth of a cent. NULL = unpriced (unknown), never 0.
    cost_cents: Mapped[Decimal | None] = mapped_column(Cents)
    # 'reported' by the source, or 'estimated' by chatvault from a price list.
    cost_source: Mapped[str | None] = mapped_column(String(16))
    # Billing dimensions a cost depends on: 'batch' is half price; a context window such as
    # '200k-1M' says which long-context price a bucket of requests was billed at.
    service_tier: Mapped[str | None] = mapped_column(String(20))
    context_window: Mapped[str | None] = mapped_column(String(20))
    billable: Mapped[bool] = mapped_column(Boolean, server_default=true())
    processing_time_seconds: Mapped[float | None] = mapped_column(Seconds)
    session_duration_seconds: Mapped[float | None] = mapped_column(Seconds)
    status: Mapped[str] = mapped_column(String(20), server_default="success")
    error_details: Mapped[str | None] = mapped_column(Text)  # JSON


# Pre-aggregated usage per local day (or month) of a time zone (see db/rollups.py). Reports
# read the smallest one that holds what they group and filter by; triggers on usage_logs mark
# the hours that changed, whoever wrote them.
ROLLUP_DIMENSIONS = ("provider", "model", "project", "status", "billable")
ROLLUP_USER_DIMENSIONS = ("user_id", *ROLLUP_DIMENSIONS)
# Latency histogram: bin k holds processing times in [2^(k/3), 2^((k+1)/3)) x 8 ms; the first
# and last bins are open-ended. A percentile read off it is within 12.2% of the true value.
LATENCY_BINS = 48
LATENCY_BIN_COLUMNS = tuple(f"latency_bin_{k:02d}" for k in range(LATENCY_BINS))
ROLLUP_COUNTS = (
    "rows",
    "requests",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
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
}


def _rollup_table(name: str, grain: str, dimensions: tuple[str, ...]) -> Table:
    times = (
        [Column("month", Date, nullable=False)]  # the 1st of the month
        if grain == "month"
        else [
            Column("day", Date, nullable=False),
            Column("week", Date, nullable=False),  # the Monday of the day's ISO week
            Column("month", Date, nullable=False),
        ]
    )
    table = Table(
        name,
        Base.metadata,
        Column("id", Integer, primary_key=True),
        Column("zone", String(64), nullable=False),
        *times,
        *(Column(d, _DIMENSION_TYPES[d]) for d in dimensions),
        *(Column(c, TokenCount, nullable=False) for c in ROLLUP_COUNTS),
        Column("cost_cents", Cents),  # NULL when no row of the group is priced
    )
    Index(
        f"ix_{name}_zone_{grain}",
        table.c.zone,
        table.c[grain],
        *(table.c[d] for d in dimensions[:1]),
    )
    return table


# From the finest (built from usage_logs) to the smallest; each is built from an earlier one.
ROLLUPS = {
    "rollup_day_user_details": ("day", ROLLUP_USER_DIMENSIONS),
    "rollup_day_details": ("day", ROLLUP_DIMENSIONS),
    "rollup_day_users": ("day", ("user_id",)),
    "rollup_day_models": ("day", ("provider", "model")),
    "rollup_days": ("day", ()),
    "rollup_month_users": ("month", ("user_id",)),
}
ROLLUP_TABLES = {name: _rollup_table(name, *spec) for name, spec in ROLLUPS.items()}

# The time zones whose daily rollups are kept (each built on first use).
rollup_zones = Table(
    "usage_rollup_zones", Base.metadata, Column("zone", String(64), primary_key=True)
)
# UTC hours whose usage_logs rows changed since the rollups were last brought up to date;
# version counts the changes, so a refresh only clears an hour nobody touched meanwhile.
rollup_stale = Table(
    "usage_rollup_stale",
    Base.metadata,
    Column("hour", UTCDateTime, primary_key=True),
    Column("version", BigInteger, nullable=False, server_default="1"),
)
