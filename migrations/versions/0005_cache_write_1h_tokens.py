"""Record which cache writes had a 1-hour TTL: they cost more than 5-minute ones.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

cache_write_1h_tokens is the part of cache_write_tokens written with a 1-hour lifetime
(Anthropic bills it at 2x the input price, against 1.25x for the 5-minute default), so
costs can be computed, and recomputed, exactly.
"""

import sqlalchemy as sa

from chatvault.migrations import idempotent

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tokens = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    idempotent.add_columns(
        "usage_logs",
        sa.Column("cache_write_1h_tokens", tokens, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    idempotent.drop_columns("usage_logs", "cache_write_1h_tokens")
