"""Incremental imports and a team's machines: ingest checkpoints, and the machine of a row.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

`ingest_checkpoints` records, per machine and file, where the last import stopped (the
file's identity, size, modification time, the offset after its last complete line, and
fingerprints of its head and of the bytes before that offset): `chatvault ingest` skips an
unchanged file and reads an appended log from the offset (docs/ingest.md). `usage_logs.machine`
names the machine a row from a local source (an agent's logs) came from (docs/team.md); the
finest daily rollup keeps it as a dimension, so reports group and filter by it. Rows imported
before have none, in the rollups too: nothing to rebuild.
"""

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from chatvault.migrations import idempotent

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def _required(name: str, kind: sa.types.TypeEngine) -> sa.Column:
    return sa.Column(name, kind, nullable=False)


def upgrade() -> None:
    idempotent.add_columns("usage_logs", sa.Column("machine", sa.String(64)))
    idempotent.add_columns("rollup_day_user_details", sa.Column("machine", sa.String(64)))
    idempotent.create_table(
        "ingest_checkpoints",
        sa.Column("machine", sa.String(64), primary_key=True),
        sa.Column("path_key", sa.String(32), primary_key=True),
        _required("path", sa.Text()),
        _required("file_id", sa.String(64)),
        _required("size", sa.BigInteger()),
        _required("mtime_ns", sa.BigInteger()),
        _required("read_to", sa.BigInteger()),
        _required("lines", sa.BigInteger()),
        _required("head_hash", sa.String(32)),
        _required("tail_hash", sa.String(32)),
        _required("source", sa.String(32)),
        _required("updated_at", UTC_TIME),
    )


def downgrade() -> None:
    idempotent.drop_table("ingest_checkpoints")
    idempotent.drop_columns("rollup_day_user_details", "machine")
    idempotent.drop_columns("usage_logs", "machine")
