"""What each schema revision looks like, so a database can be recognised without a version table."""

from __future__ import annotations

# chatvault's own Alembic version table: it can share a database with another app's Alembic history.
VERSION_TABLE = "chatvault_alembic_version"

# The newest revision this chatvault knows; tests check it against the migration scripts,
# so commands can compare it with the database without loading Alembic.
HEAD = "0012"

_LEGACY = frozenset(
    {
        "id",
        "user_id",
        "session_id",
        "model",
        "provider",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "processing_duration_seconds",
        "session_duration_seconds",
        "status",
        "created_at",
    }
)
_FIXED = (_LEGACY - {"cost_usd", "processing_duration_seconds"}) | {
    "cost_cents",
    "billable",
    "processing_time_seconds",
}
_WITH_ERRORS = _FIXED | {"error_details"}
_HEAD = _WITH_ERRORS | {
    "request_id",
    "project",
    "api_key",
    "request_count",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_source",
}

# The usage_logs columns at each revision: literal, as the migrations made them (tests check
# the head's against db/models.py), so commands need not build the tables to check one.
USAGE_LOGS_COLUMNS: dict[str, frozenset[str]] = {
    "0001": _LEGACY,
    "0002": _FIXED,
    "0003": _WITH_ERRORS,
    "0004": _HEAD,
    "0005": _HEAD | {"cache_write_1h_tokens"},
    "0006": _HEAD | {"cache_write_1h_tokens", "service_tier", "context_window"},
}
# 0007 added the rollup tables and left usage_logs as it was.
USAGE_LOGS_COLUMNS["0007"] = USAGE_LOGS_COLUMNS["0006"]
# 0008 added the budget alerts table.
USAGE_LOGS_COLUMNS["0008"] = USAGE_LOGS_COLUMNS["0007"]
USAGE_LOGS_COLUMNS["0009"] = USAGE_LOGS_COLUMNS["0008"] | {"price_data"}
# 0010 added the providers' usage, billed costs and sync cursors (chatvault sync).
USAGE_LOGS_COLUMNS["0010"] = USAGE_LOGS_COLUMNS["0009"]
# 0011 added the machine a row came from, and the ingest checkpoints table.
USAGE_LOGS_COLUMNS["0011"] = USAGE_LOGS_COLUMNS["0010"] | {"machine"}
# 0012 added the sessions whose logs were imported (their telemetry no longer counts).
USAGE_LOGS_COLUMNS["0012"] = USAGE_LOGS_COLUMNS["0011"]


def recognise(columns: set[str] | frozenset[str]) -> str | None:
    """The revision whose usage_logs has exactly these columns, if any."""
    for revision, expected in USAGE_LOGS_COLUMNS.items():
        if set(columns) == expected:
            return revision
    return None
