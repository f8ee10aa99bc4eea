"""Frozen legacy databases for the tests: the original service's DDL plus edge-case rows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from chatvault.db.engine import parse_url

FIXTURES = Path(__file__).parent / "fixtures" / "legacy"

# (user_id, session_id, model, provider, input, output, cost_usd, latency, session, status, time)
# cost_usd is the decimal the legacy service meant; on SQLite it was stored as a REAL.
ROWS = [
    (
        "alice",
        "s-1",
        "gpt-4o",
        "openai",
        1200,
        300,
        "1.005",
        0.75,
        30.5,
        "success",
        datetime(2025, 9, 30, 23, 59, 59),
    ),
    (
        "bob",
        None,
        "claude-3-5-sonnet",
        "anthropic",
        0,
        0,
        None,
        None,
        None,
        "error",
        datetime(2025, 10, 1, 0, 0, 0),
    ),
    (
        "José",
        "s-2",
        "gpt-4o-mini",
        "openai",
        10,
        5,
        "0.000001",
        0.01,
        None,
        "success",
        datetime(2025, 10, 1, 8, 30, 0),
    ),
    (
        "用户-7",
        "s-3",
        "claude-3-opus",
        None,
        2_000_000,
        1_000_000,
        "999999.999999",
        120.0,
        3600.0,
        "success",
        datetime(2025, 10, 2, 12, 0, 0),
    ),
    (
        "émoji-😀",
        None,
        "gpt-4o",
        "openai",
        7,
        3,
        "0.1",
        0.2,
        1.0,
        "success",
        datetime(2025, 10, 3, 1, 2, 3),
    ),
    (
        "carol",
        "s-4",
        "gpt-4o",
        "openai",
        1,
        1,
        "0.3",
        0.3,
        2.0,
        "success",
        datetime(2025, 10, 3, 4, 5, 6),
    ),
    (
        "dave",
        "s-5",
        "local-llama",
        "ollama",
        50,
        50,
        "0",
        1.5,
        9.0,
        "success",
        datetime(2025, 10, 4, 0, 0, 1),
    ),
    (
        "erin",
        "s-6",
        "gpt-4o",
        "openai",
        100,
        200,
        "2.675",
        0.9,
        None,
        "success",
        datetime(2025, 10, 5, 13, 14, 15),
    ),
    (
        "frank",
        "s-7",
        "o1",
        "openai",
        999,
        999,
        "123.456789",
        None,
        None,
        "error",
        datetime(2025, 10, 6, 23, 0, 0),
    ),
    (
        "grace",
        None,
        "gpt-4o",
        "openai",
        3,
        4,
        "0.000005",
        0.05,
        None,
        "success",
        datetime(2025, 10, 7, 6, 6, 6),
    ),
]


def expected_cents(cost_usd: str | None) -> Decimal | None:
    return None if cost_usd is None else Decimal(cost_usd) * 100


def create_legacy_database(url: str, rows: list[tuple] = ROWS) -> None:
    """What the original service left behind: its table, its rows, no version table."""
    parsed = parse_url(url)
    dialect = parsed.get_backend_name()
    ddl_file = {"sqlite": "sqlite", "postgresql": "postgresql"}.get(dialect, "mysql")
    ddl = (FIXTURES / f"usage_logs_{ddl_file}.sql").read_text()
    engine = create_engine(parsed, poolclass=NullPool)
    with engine.begin() as conn:
        for statement in filter(str.strip, ddl.split(";")):
            conn.execute(text(statement))
        for row in rows:
            values = dict(zip(COLUMNS, row, strict=True))
            if values["cost_usd"] is not None:
                # The legacy SQLite column is REAL: the service wrote Python floats there.
                cost = values["cost_usd"]
                values["cost_usd"] = float(cost) if dialect == "sqlite" else Decimal(cost)
            conn.execute(INSERT, values)
    engine.dispose()


COLUMNS = (
    "user_id",
    "session_id",
    "model",
    "provider",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "processing_duration_seconds",
    "session_duration_seconds",
    "status",
    "created_at",
)
INSERT = text(
    f"INSERT INTO usage_logs ({', '.join(COLUMNS)}) VALUES ({', '.join(':' + c for c in COLUMNS)})"
)


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)
