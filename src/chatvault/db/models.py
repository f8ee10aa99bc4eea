"""The ORM models: the schema at head, which `db verify` compares the live database with.

Every column added after the legacy service's own model is nullable or has a server
default, so that service can keep inserting rows into `usage_logs` unchanged.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import REAL, BigInteger, Boolean, Double, Index, Integer, String, Text, true
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
