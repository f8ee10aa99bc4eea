"""Fix the drift that broke production: cost_usd -> cost_cents, billable, processing_time_seconds.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

cost_cents = cost_usd x 100, exactly, NULL staying NULL (unpriced). On PostgreSQL and
MySQL that is NUMERIC arithmetic. On SQLite, cents are stored as integer millionths of a
cent and the legacy REAL dollars are rounded to the nearest 1e-8 dollar, which recovers the
decimal the legacy service wrote (1.005 stored as 1.00499999999999989... becomes 100.5
cents) for any amount within the legacy NUMERIC(12, 6) range.
"""

import sqlalchemy as sa
from alembic import op

from chatvault.migrations import checks, idempotent

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CENTS = sa.Numeric(20, 6).with_variant(sa.BigInteger(), "sqlite")
USD = sa.Numeric(12, 6).with_variant(sa.REAL(), "sqlite")
SECONDS = sa.Double().with_variant(sa.REAL(), "sqlite")


def upgrade() -> None:
    if idempotent.dialect() == "sqlite" and idempotent.has_column("usage_logs", "cost_usd"):
        # SQLite's REAL column accepts any value; only numbers below 1e7 dollars convert
        # exactly (x 1e8 stays under 2^53). Text would become 0, an unknown cost shown as $0.
        checks.refuse_rows(
            "SELECT id, cost_usd FROM usage_logs WHERE cost_usd IS NOT NULL AND "
            "(typeof(cost_usd) NOT IN ('real', 'integer') OR abs(cost_usd) >= 10000000)",
            "cost_usd is not a number chatvault can convert exactly (dollars under $10,000,000)",
        )
    idempotent.add_columns(
        "usage_logs",
        sa.Column("billable", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("cost_cents", CENTS),
    )
    if idempotent.has_column("usage_logs", "cost_usd"):
        to_cents = (
            "CAST(ROUND(cost_usd * 100000000) AS INTEGER)"
            if idempotent.dialect() == "sqlite"
            else "cost_usd * 100"
        )
        op.execute(f"UPDATE usage_logs SET cost_cents = {to_cents} WHERE cost_usd IS NOT NULL")
    idempotent.drop_columns("usage_logs", "cost_usd")
    idempotent.rename_column(
        "usage_logs", "processing_duration_seconds", "processing_time_seconds", SECONDS
    )


def downgrade() -> None:
    """Exact for every amount the legacy column can hold (whole millionths of a dollar)."""
    idempotent.add_columns("usage_logs", sa.Column("cost_usd", USD))
    if idempotent.has_column("usage_logs", "cost_cents"):
        to_usd = (
            "cost_cents / 100000000.0"
            if idempotent.dialect() == "sqlite"
            else "ROUND(cost_cents / 100, 6)"
        )
        op.execute(f"UPDATE usage_logs SET cost_usd = {to_usd} WHERE cost_cents IS NOT NULL")
    idempotent.drop_columns("usage_logs", "billable", "cost_cents")
    idempotent.rename_column(
        "usage_logs", "processing_time_seconds", "processing_duration_seconds", SECONDS
    )
