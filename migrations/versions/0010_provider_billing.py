"""What the providers' admin APIs report: usage buckets, billed costs, and sync cursors.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

`chatvault sync` (docs/sync.md) keeps the providers' own figures apart from usage_logs:
request-level rows stay what totals count unless the config says otherwise, so the same
traffic is never added twice. A billed amount is kept exactly as sent (`amount`, in the
provider's unit) and in cents (`cost_cents`, exact like every cost).
"""

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from chatvault.migrations import idempotent

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
TOKENS = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CENTS = sa.Numeric(20, 6).with_variant(sa.BigInteger(), "sqlite")


def _required(name: str, kind: sa.types.TypeEngine) -> sa.Column:
    return sa.Column(name, kind, nullable=False)


def upgrade() -> None:
    idempotent.create_table(
        "sync_cursors",
        sa.Column("provider", sa.String(20), primary_key=True),
        sa.Column("organization", sa.String(100), primary_key=True),
        sa.Column("endpoint", sa.String(40), primary_key=True),
        _required("synced_until", UTC_TIME),
        _required("updated_at", UTC_TIME),
    )
    idempotent.create_table(
        "provider_usage",
        sa.Column("id", sa.Integer(), primary_key=True),
        _required("provider", sa.String(20)),
        _required("organization", sa.String(100)),
        _required("endpoint", sa.String(40)),
        _required("bucket_start", UTC_TIME),
        _required("bucket_end", UTC_TIME),
        _required("model", sa.String(100)),
        sa.Column("project", sa.String(100)),
        sa.Column("api_key_id", sa.String(100)),
        sa.Column("user_id", sa.String(64)),
        sa.Column("service_tier", sa.String(20)),
        sa.Column("context_window", sa.String(20)),
        _required("request_count", sa.Integer()),
        *(
            _required(name, TOKENS)
            for name in (
                "input_tokens",
                "output_tokens",
                "cache_read_tokens",
                "cache_write_tokens",
                "cache_write_1h_tokens",
            )
        ),
    )
    idempotent.create_index(
        "ix_provider_usage_bucket",
        "provider_usage",
        ["provider", "organization", "endpoint", "bucket_start"],
    )
    idempotent.create_table(
        "provider_costs",
        sa.Column("id", sa.Integer(), primary_key=True),
        _required("provider", sa.String(20)),
        _required("organization", sa.String(100)),
        _required("bucket_start", UTC_TIME),
        _required("bucket_end", UTC_TIME),
        sa.Column("project", sa.String(100)),
        sa.Column("line_item", sa.String(200)),
        sa.Column("model", sa.String(100)),
        sa.Column("cost_type", sa.String(40)),
        sa.Column("service_tier", sa.String(20)),
        sa.Column("context_window", sa.String(20)),
        _required("currency", sa.String(3)),
        _required("amount", sa.String(60)),
        _required("cost_cents", CENTS),
    )
    idempotent.create_index(
        "ix_provider_costs_bucket", "provider_costs", ["provider", "organization", "bucket_start"]
    )


def downgrade() -> None:
    for table in ("provider_costs", "provider_usage", "sync_cursors"):
        idempotent.drop_table(table)
