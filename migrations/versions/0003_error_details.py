"""Add error_details (TEXT holding JSON), as the original service's later release did.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa

from chatvault.migrations import idempotent

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    idempotent.add_columns("usage_logs", sa.Column("error_details", sa.Text()))


def downgrade() -> None:
    idempotent.drop_columns("usage_logs", "error_details")
