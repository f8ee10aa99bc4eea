"""How the live schema is compared with the models (by `db verify`, tests and Alembic)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean

from chatvault.db.models import metadata
from chatvault.db.shapes import VERSION_TABLE


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Only chatvault's tables: the database may be shared with another application."""
    if type_ == "table":
        return name in metadata.tables or bool(name and name.startswith("chatvault_"))
    return True


def compare_server_default(
    context: Any,
    inspected_column: Any,
    metadata_column: Any,
    inspected_default: str | None,
    metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    """MySQL reflects a BOOLEAN default of true as 1; anything else: Alembic's own comparison."""
    if not isinstance(metadata_column.type, Boolean) or None in (
        inspected_default,
        rendered_metadata_default,
    ):
        return None
    return _boolean(inspected_default) != _boolean(rendered_metadata_default)


def _boolean(default: str | None) -> str:
    text = (default or "").strip("'\"() ").lower()
    return {"true": "1", "false": "0"}.get(text, text)


OPTIONS = {
    "target_metadata": metadata,
    "version_table": VERSION_TABLE,
    "compare_type": True,
    "compare_server_default": compare_server_default,
    "include_name": include_name,
}
