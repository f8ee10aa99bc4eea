"""Daily rollups of usage per time zone, kept exact by triggers that mark changed hours.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22

Reports read pre-aggregated days instead of scanning usage_logs. Triggers on usage_logs
(insert, update, delete: whoever writes, chatvault or the original service) record each UTC
hour whose rows changed in usage_rollup_stale; chatvault recomputes the days touching those
hours before it reads. The rollup tables start empty: a zone is built on its first report.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from chatvault.migrations import idempotent

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COUNTS = (
    "rows",
    "requests",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "unpriced_requests",
    "error_requests",
    "latency_rows",
    "latency_us",
    *(f"latency_bin_{k:02d}" for k in range(48)),
)
DIMENSIONS = {
    "provider": sa.String(50),
    "model": sa.String(100),
    "project": sa.String(100),
    "status": sa.String(20),
    "billable": sa.Boolean(),
}
TOKENS = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CENTS = sa.Numeric(20, 6).with_variant(sa.BigInteger(), "sqlite")
UTC_TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
TRIGGERS = ("usage_logs_mark_insert", "usage_logs_mark_update", "usage_logs_mark_delete")


# Each rollup: its time grain and dimensions (frozen here: later code may change them).
ROLLUPS = {
    "rollup_day_user_details": ("day", ("user_id", *DIMENSIONS)),
    "rollup_day_details": ("day", tuple(DIMENSIONS)),
    "rollup_day_users": ("day", ("user_id",)),
    "rollup_day_models": ("day", ("provider", "model")),
    "rollup_days": ("day", ()),
    "rollup_month_users": ("month", ("user_id",)),
}
TYPES = {"user_id": sa.String(64), **DIMENSIONS}


def _rollup(name: str, grain: str, dimensions: tuple[str, ...]) -> None:
    times = ("month",) if grain == "month" else ("day", "week", "month")
    idempotent.create_table(
        name,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("zone", sa.String(64), nullable=False),
        *(sa.Column(t, sa.Date(), nullable=False) for t in times),
        *(sa.Column(d, TYPES[d]) for d in dimensions),
        *(sa.Column(c, TOKENS, nullable=False) for c in COUNTS),
        sa.Column("cost_cents", CENTS),
    )
    idempotent.create_index(f"ix_{name}_zone_{grain}", name, ["zone", grain, *dimensions[:1]])


def upgrade() -> None:
    for name, (grain, dimensions) in ROLLUPS.items():
        _rollup(name, grain, dimensions)
    idempotent.create_table(
        "usage_rollup_zones", sa.Column("zone", sa.String(64), primary_key=True)
    )
    idempotent.create_table(
        "usage_rollup_stale",
        sa.Column("hour", UTC_TIME, primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False, server_default="1"),
    )
    _drop_triggers()
    for statement in _TRIGGER_SQL[idempotent.dialect()]:
        op.execute(statement)


def downgrade() -> None:
    _drop_triggers()
    for table in ("usage_rollup_stale", "usage_rollup_zones", *ROLLUPS):
        idempotent.drop_table(table)


def _drop_triggers() -> None:
    dialect = idempotent.dialect()
    for trigger in TRIGGERS:
        op.execute(
            f"DROP TRIGGER IF EXISTS {trigger} ON usage_logs"
            if dialect == "postgresql"
            else f"DROP TRIGGER IF EXISTS {trigger}"
        )
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS usage_logs_mark_truncate ON usage_logs")
        op.execute("DROP FUNCTION IF EXISTS usage_logs_mark_stale()")
        op.execute("DROP FUNCTION IF EXISTS usage_logs_clear_rollups()")


def _sqlite_mark(row: str) -> str:
    return (
        "INSERT INTO usage_rollup_stale (hour) "
        f"SELECT strftime('%Y-%m-%d %H:00:00.000000', {row}.created_at) "
        f"WHERE {row}.created_at IS NOT NULL "
        "ON CONFLICT (hour) DO UPDATE SET version = version + 1;"
    )


def _mysql_mark(row: str) -> str:
    hour = f"TIMESTAMPADD(HOUR, TIMESTAMPDIFF(HOUR, '2000-01-01', {row}.created_at), '2000-01-01')"
    return (
        f"IF {row}.created_at IS NOT NULL THEN "
        f"INSERT INTO usage_rollup_stale (hour, version) VALUES ({hour}, 1) "
        "ON DUPLICATE KEY UPDATE version = version + 1; END IF;"
    )


def _pg_mark(rows: str) -> str:
    return (
        "INSERT INTO usage_rollup_stale (hour) "
        f"SELECT DISTINCT date_trunc('hour', created_at) FROM {rows} WHERE created_at IS NOT NULL "
        "ON CONFLICT (hour) DO UPDATE SET version = usage_rollup_stale.version + 1;"
    )


_TRIGGER_SQL = {
    "sqlite": [
        f"CREATE TRIGGER usage_logs_mark_insert AFTER INSERT ON usage_logs "
        f"BEGIN {_sqlite_mark('NEW')} END",
        f"CREATE TRIGGER usage_logs_mark_update AFTER UPDATE ON usage_logs "
        f"BEGIN {_sqlite_mark('OLD')} {_sqlite_mark('NEW')} END",
        f"CREATE TRIGGER usage_logs_mark_delete AFTER DELETE ON usage_logs "
        f"BEGIN {_sqlite_mark('OLD')} END",
    ],
    # Statement-level triggers see all changed rows at once (transition tables): a bulk
    # statement marks each hour once, not once per row.
    "postgresql": [
        "CREATE OR REPLACE FUNCTION usage_logs_mark_stale() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP <> 'DELETE' THEN {_pg_mark('new_rows')} END IF; "
        f"IF TG_OP <> 'INSERT' THEN {_pg_mark('old_rows')} END IF; "
        "RETURN NULL; END $$",
        "CREATE TRIGGER usage_logs_mark_insert AFTER INSERT ON usage_logs "
        "REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION usage_logs_mark_stale()",
        "CREATE TRIGGER usage_logs_mark_update AFTER UPDATE ON usage_logs "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION usage_logs_mark_stale()",
        "CREATE TRIGGER usage_logs_mark_delete AFTER DELETE ON usage_logs "
        "REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION usage_logs_mark_stale()",
        # TRUNCATE fires no row triggers: it empties the rollups too.
        "CREATE OR REPLACE FUNCTION usage_logs_clear_rollups() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        + " ".join(f"DELETE FROM {name};" for name in ROLLUPS)
        + " RETURN NULL; END $$",
        "CREATE TRIGGER usage_logs_mark_truncate AFTER TRUNCATE ON usage_logs "
        "FOR EACH STATEMENT EXECUTE FUNCTION usage_logs_clear_rollups()",
    ],
    "mysql": [
        "CREATE TRIGGER usage_logs_mark_insert AFTER INSERT ON usage_logs FOR EACH ROW "
        f"BEGIN {_mysql_mark('NEW')} END",
        "CREATE TRIGGER usage_logs_mark_update AFTER UPDATE ON usage_logs FOR EACH ROW "
        f"BEGIN {_mysql_mark('OLD')} {_mysql_mark('NEW')} END",
        "CREATE TRIGGER usage_logs_mark_delete AFTER DELETE ON usage_logs FOR EACH ROW "
        f"BEGIN {_mysql_mark('OLD')} END",
    ],
}
_TRIGGER_SQL["mariadb"] = _TRIGGER_SQL["mysql"]
