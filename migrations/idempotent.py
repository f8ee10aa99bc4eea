"""DDL steps that are skipped when already done.

On MySQL/MariaDB every DDL statement commits on its own, so a migration that fails halfway
cannot be rolled back; instead each step checks the live schema first, and rerunning
`chatvault db migrate` completes the work. On PostgreSQL and SQLite the checks are cheap
and the whole migration is one transaction anyway. In offline (--sql) mode there is no
database to look at, so every step is emitted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op


def dialect() -> str:
    return context.get_context().dialect.name


def _inspector() -> sa.engine.Inspector | None:
    # A fresh inspector each time: reflection is cached per inspector, and the schema moves.
    return None if context.is_offline_mode() else sa.inspect(op.get_bind())


def columns(table: str) -> set[str] | None:
    """The table's column names, or None when offline (unknown)."""
    inspector = _inspector()
    return None if inspector is None else {c["name"] for c in inspector.get_columns(table)}


def create_table(table: str, *columns: sa.Column) -> None:
    inspector = _inspector()
    if inspector is None or not inspector.has_table(table):
        op.create_table(table, *columns)


def drop_table(table: str) -> None:
    inspector = _inspector()
    if inspector is None or inspector.has_table(table):
        op.drop_table(table)


def has_column(table: str, column: str) -> bool:
    existing = columns(table)
    return existing is None or column in existing


def add_columns(table: str, *new: sa.Column) -> None:
    existing = columns(table)
    todo = [c for c in new if existing is None or c.name not in existing]
    if todo:
        with op.batch_alter_table(table) as batch:
            for column in todo:
                batch.add_column(column)


def drop_columns(table: str, *names: str) -> None:
    existing = columns(table)
    todo = [n for n in names if existing is None or n in existing]
    if todo:
        with op.batch_alter_table(table) as batch:
            for name in todo:
                batch.drop_column(name)


def rename_column(table: str, old: str, new: str, existing_type: sa.types.TypeEngine) -> None:
    existing = columns(table)
    if existing is None or (old in existing and new not in existing):
        with op.batch_alter_table(table) as batch:
            batch.alter_column(old, new_column_name=new, existing_type=existing_type)


def create_index(name: str, table: str, cols: list[str], unique: bool = False) -> None:
    inspector = _inspector()
    if inspector is None or name not in {i["name"] for i in inspector.get_indexes(table)}:
        op.create_index(name, table, cols, unique=unique)


def drop_index(name: str, table: str) -> None:
    inspector = _inspector()
    if inspector is None or name in {i["name"] for i in inspector.get_indexes(table)}:
        op.drop_index(name, table_name=table)
