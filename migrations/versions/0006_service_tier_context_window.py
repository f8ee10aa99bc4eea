"""Keep the billing dimensions a cost depends on: service tier and context window.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

Batch requests cost half (service_tier 'batch'), and Anthropic's usage report says which
long-context price applied to a bucket (context_window '0-200k', '200k-1M'). Stored, they
let `chatvault reprice` recompute a cost exactly as the import computed it.
"""

import sqlalchemy as sa

from chatvault.migrations import idempotent

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    idempotent.add_columns(
        "usage_logs",
        sa.Column("service_tier", sa.String(20)),
        sa.Column("context_window", sa.String(20)),
    )


def downgrade() -> None:
    idempotent.drop_columns("usage_logs", "service_tier", "context_window")
