"""Remember every budget alert, so cron-driven checks alert once.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22

A row is written, under a unique key, before its notification is sent: of two checks
started at the same moment only one can write it, and a rerun finds it. A failed send is
kept with its error and the time of the next try.
"""

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from chatvault.migrations import idempotent

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
KEY = ["budget", "period_start", "kind", "threshold_bp", "channel"]


def upgrade() -> None:
    idempotent.create_table(
        "budget_alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("budget", sa.String(100), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("threshold_bp", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("claimed_at", UTC_TIME, nullable=False),
        sa.Column("sent_at", UTC_TIME),
        sa.Column("next_attempt_at", UTC_TIME),
        sa.Column("last_error", sa.String(500)),
    )
    idempotent.create_index("ux_budget_alerts_key", "budget_alerts", KEY, unique=True)


def downgrade() -> None:
    idempotent.drop_table("budget_alerts")
