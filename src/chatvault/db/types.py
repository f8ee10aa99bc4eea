"""Column types that keep money exact and time in UTC on every dialect."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

CENTS_SCALE = 6
_QUANTUM = Decimal(1).scaleb(-CENTS_SCALE)


class Cents(TypeDecorator[Decimal]):
    """US cents to 6 decimal places, exact: Decimal in Python, never float.

    Stored as NUMERIC(20, 6), or on SQLite as an integer count of millionths of a cent:
    SQLite has no exact decimal type (its NUMERIC is REAL, and SUM would be a float sum),
    while its integer SUM is exact.
    """

    impl = Numeric(20, CENTS_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(20, CENTS_SCALE))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return cents_param(value, dialect.name)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return from_micro_cents(int(value))
        return Decimal(value).quantize(_QUANTUM)


def cents_param(value: Any, dialect_name: str) -> int | Decimal | None:
    """What the driver is given for an amount in cents (integer millionths on SQLite)."""
    if value is None:
        return None
    return to_micro_cents(value) if dialect_name == "sqlite" else to_cents(value)


def from_micro_cents(value: int) -> Decimal:
    """Cents from a whole number of millionths of a cent (what SQLite stores)."""
    return Decimal(value).scaleb(-CENTS_SCALE)


def to_micro_cents(value: Decimal | int | str) -> int:
    """A cents amount as a whole number of millionths of a cent (rounded as to_cents)."""
    return int(to_cents(value).scaleb(CENTS_SCALE))


def to_cents(value: Decimal | int | str) -> Decimal:
    """A cents amount rounded (half away from zero, as the databases do) to 6 places."""
    if isinstance(value, float):
        raise TypeError("money must be Decimal, int or str, never float")
    return Decimal(value).quantize(_QUANTUM, rounding=ROUND_HALF_UP)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and returned time-zone aware (UTC).

    Naive datetimes are refused on the way in: their zone would be a guess.
    """

    impl = DateTime()
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            from sqlalchemy.dialects import mysql  # here: importing it costs every command

            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return utc_param(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utc_param(value: datetime | None) -> datetime | None:
    """A timestamp as stored: naive UTC. A naive one is refused: its zone would be a guess."""
    if value is None:
        return None
    if value.tzinfo is UTC:  # the common case, and ingest's hot path: no conversion needed
        return value.replace(tzinfo=None)
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()}: give it a time zone")
    return value.astimezone(UTC).replace(tzinfo=None)


def utc_text(value: datetime) -> str:
    """An aware timestamp as UTC text in SQLAlchemy's SQLite storage format, the one every
    row has (SQLite compares timestamps as text: one format, or ranges go wrong)."""
    return utc_param(value).isoformat(" ", "microseconds")  # type: ignore[union-attr]


def from_utc_text(text: str) -> datetime:
    """The aware timestamp of a utc_text()."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
