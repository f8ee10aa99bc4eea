"""A coding agent's sessions seen twice: as telemetry and in their own imported log.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

A coding agent's session can reach chatvault twice: as OpenTelemetry events sent to
`chatvault serve` while it runs, and as its session log read by `chatvault ingest`. The two
share no request id, only the session's id. `logged_sessions` lists, per agent, the sessions
whose log has been imported, `telemetry_sessions` those the receiver stored telemetry rows
of. A session in both has its telemetry rows deleted: its log counts the same requests
(db/overlap.py, docs/serve.md "Telemetry and session logs"). Nothing to backfill: telemetry
already stored is settled when its session's log is next imported.
"""

import sqlalchemy as sa

from chatvault.migrations import idempotent

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


TABLES = ("logged_sessions", "telemetry_sessions")


def upgrade() -> None:
    for table in TABLES:
        idempotent.create_table(
            table,
            sa.Column("agent", sa.String(32), primary_key=True),
            sa.Column("session_id", sa.String(64), primary_key=True),
        )


def downgrade() -> None:
    for table in TABLES:
        idempotent.drop_table(table)
