"""The legacy usage_logs table, exactly as the original service deployed it.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Databases created by that service have this table and no version table; `db migrate`
recognises the shape and records this revision before upgrading.
"""

import sqlalchemy as sa

from chatvault.migrations import idempotent

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    idempotent.create_table(
        "usage_logs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64)),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("provider", sa.String(50)),
        sa.Column("input_tokens", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("output_tokens", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cost_usd", sa.Numeric(12, 6).with_variant(sa.REAL(), "sqlite")),
        sa.Column("processing_duration_seconds", sa.Double().with_variant(sa.REAL(), "sqlite")),
        sa.Column("session_duration_seconds", sa.Double().with_variant(sa.REAL(), "sqlite")),
        sa.Column("status", sa.String(20), nullable=False, server_default="success"),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    idempotent.create_index("ix_usage_logs_user_id", "usage_logs", ["user_id"])
    idempotent.create_index("ix_usage_logs_created_at", "usage_logs", ["created_at"])


def downgrade() -> None:
    idempotent.drop_table("usage_logs")
