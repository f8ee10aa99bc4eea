"""Data checks a migration runs before converting: refuse rather than guess.

A value a conversion cannot carry over exactly (a cost that is not a number, a timestamp
in no known format) stops the migration; on PostgreSQL and SQLite the whole run rolls back.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op


def refuse_rows(query: str, problem: str) -> None:
    """Fail, naming up to five row ids, if `query` (selecting id, value) finds any row."""
    if context.is_offline_mode():
        return
    rows = op.get_bind().execute(sa.text(f"{query} ORDER BY id LIMIT 5")).all()
    if rows:
        ids = ", ".join(str(row[0]) for row in rows)
        raise ValueError(
            f"{problem} on row{'s' if len(rows) > 1 else ''} {ids} (e.g. {rows[0][1]!r}): "
            "correct them, or set them to NULL where allowed, and run the migration again"
        )
