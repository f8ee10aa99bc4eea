"""Record with each estimated cost the price data that priced it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

`price_data` says which price list an estimated cost came from: 'genai-prices 0.2.3' (the
release whose bundled data priced it) or 'config override'. NULL for a cost the source
reported, for an unpriced row, and for rows priced before this revision (not recorded).
`chatvault pricing check` counts rows by it, so costs from older price data can be found and
repriced.
"""

import sqlalchemy as sa

from chatvault.migrations import idempotent

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    idempotent.add_columns("usage_logs", sa.Column("price_data", sa.String(40)))


def downgrade() -> None:
    idempotent.drop_columns("usage_logs", "price_data")
