"""The rest of the head schema: request ids, cache tokens, buckets, labels, indexes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Every new column is nullable or has a server default, so the original service can keep
inserting rows. Existing rows get request_id 'legacy:<id>' and, when priced, cost_source
'reported' (the legacy service recorded those costs; `reprice` leaves them alone by
default). Token counts widen to 64 bits (a pre-aggregated bucket can pass 2^31 tokens);
MySQL timestamps gain microseconds; SQLite timestamps are rewritten in one text format.
"""

import sqlalchemy as sa
from alembic import op

from chatvault.migrations import checks, idempotent

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TOKEN_COLUMNS = ("input_tokens", "output_tokens")
NEW_COLUMNS = (
    "request_id",
    "project",
    "api_key",
    "request_count",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_source",
)
usage_logs = sa.table(
    "usage_logs",
    sa.column("id", sa.Integer()),
    sa.column("request_id", sa.String()),
    sa.column("cost_cents"),
    sa.column("cost_source", sa.String()),
)


# SQLite compares timestamps as text, so every row must have the one format SQLAlchemy
# writes and binds ('YYYY-MM-DD HH:MM:SS.ffffff'); the legacy service wrote no microseconds.
DIGIT = "[0-9]"
CANONICAL = f"{DIGIT * 4}-{DIGIT * 2}-{DIGIT * 2} {DIGIT * 2}:{DIGIT * 2}:{DIGIT * 2}.{DIGIT * 6}"
SPACED = "replace(created_at, 'T', ' ')"
CANONICAL_SQL = (
    f"CASE WHEN length({SPACED}) = 19 THEN {SPACED} || '.000000' "
    f"WHEN substr({SPACED}, 20, 1) = '.' AND length({SPACED}) <= 26 "
    f"THEN substr({SPACED} || '000000', 1, 26) ELSE {SPACED} END"
)


def upgrade() -> None:
    if idempotent.dialect() == "sqlite":
        _canonical_sqlite_timestamps()
    tokens = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    idempotent.add_columns(
        "usage_logs",
        sa.Column("request_id", sa.String(128)),
        sa.Column("project", sa.String(100)),
        sa.Column("api_key", sa.String(100)),
        sa.Column("request_count", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("cache_read_tokens", tokens, nullable=False, server_default="0"),
        sa.Column("cache_write_tokens", tokens, nullable=False, server_default="0"),
        sa.Column("cost_source", sa.String(16)),
    )
    # Replaced by (user_id, created_at) below; dropped first so the backfill maintains less.
    idempotent.drop_index("ix_usage_logs_user_id", "usage_logs")
    # One pass over the table for both backfills (a full-table UPDATE is the slow part).
    priced = usage_logs.c.cost_cents.is_not(None)
    op.execute(
        usage_logs.update()
        .where(usage_logs.c.request_id.is_(None))
        .values(
            request_id=sa.literal("legacy:") + sa.cast(usage_logs.c.id, sa.String()),
            cost_source=sa.case((priced, sa.literal("reported")), else_=usage_logs.c.cost_source),
        )
    )
    _retype(tokens="BIGINT", created_at="DATETIME(6)")
    idempotent.create_index("ix_usage_logs_request_id", "usage_logs", ["request_id"], unique=True)
    idempotent.create_index(
        "ix_usage_logs_user_id_created_at", "usage_logs", ["user_id", "created_at"]
    )
    idempotent.create_index("ix_usage_logs_model_created_at", "usage_logs", ["model", "created_at"])


def downgrade() -> None:
    """Restores the 0003 shape; what only 0004 holds (cache tokens, buckets, labels) is lost."""
    idempotent.create_index("ix_usage_logs_user_id", "usage_logs", ["user_id"])
    for name in (
        "ix_usage_logs_model_created_at",
        "ix_usage_logs_user_id_created_at",
        "ix_usage_logs_request_id",
    ):
        idempotent.drop_index(name, "usage_logs")
    _retype(tokens="INTEGER", created_at="DATETIME")
    idempotent.drop_columns("usage_logs", *NEW_COLUMNS)


def _canonical_sqlite_timestamps() -> None:
    checks.refuse_rows(
        "SELECT id, created_at FROM usage_logs WHERE typeof(created_at) != 'text' "
        f"OR ({CANONICAL_SQL}) NOT GLOB '{CANONICAL}' OR datetime({CANONICAL_SQL}) IS NULL",
        "created_at is not a UTC timestamp chatvault can read (YYYY-MM-DD HH:MM:SS[.ffffff])",
    )
    op.execute(
        f"UPDATE usage_logs SET created_at = {CANONICAL_SQL} "
        f"WHERE created_at NOT GLOB '{CANONICAL}'"
    )


def _retype(tokens: str, created_at: str) -> None:
    """All type changes in one ALTER TABLE, so PostgreSQL and MySQL rewrite the table once.

    SQLite needs none: its INTEGER is already 64-bit and it keeps timestamps as text.
    """
    if idempotent.dialect() == "postgresql":
        op.execute(
            "ALTER TABLE usage_logs "
            + ", ".join(f"ALTER COLUMN {name} TYPE {tokens}" for name in TOKEN_COLUMNS)
        )
    elif idempotent.dialect() in ("mysql", "mariadb"):
        changes = [f"MODIFY {name} {tokens} NOT NULL DEFAULT 0" for name in TOKEN_COLUMNS]
        changes.append(f"MODIFY created_at {created_at} NOT NULL")
        op.execute("ALTER TABLE usage_logs " + ", ".join(changes))
