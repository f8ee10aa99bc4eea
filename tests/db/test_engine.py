"""The process's engines: one per URL, whichever threads ask for it first."""

from __future__ import annotations

import threading

import pytest

from chatvault.db.engine import dispose_all, get_engine


def test_threads_asking_at_once_share_one_engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    dispose_all()
    start, found = threading.Barrier(8), []

    def ask() -> None:
        start.wait()
        found.append(get_engine(url))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 8 and len({id(engine) for engine in found}) == 1


def test_a_failed_statement_is_told_without_its_sql(sqlite_url):
    """What cli/common.py prints of a statement that failed: never the statement."""
    from sqlalchemy import Column, DateTime, MetaData, Table, insert
    from sqlalchemy.exc import DBAPIError, StatementError

    from chatvault.db.engine import query_failure, without_statement
    from chatvault.errors import DatabaseError

    table = Table("t", MetaData(), Column("at", DateTime))
    with get_engine(sqlite_url).connect() as conn:
        with pytest.raises(DBAPIError) as refused:
            conn.exec_driver_sql("SELECT secret_column FROM nowhere")
        table.create(conn)
        with pytest.raises(StatementError) as unbound:  # SQLAlchemy's own check of a value
            conn.execute(insert(table), {"at": "not a datetime"})
    told = query_failure(refused.value)
    assert isinstance(told, DatabaseError) and told.exit_code == 3
    assert str(told) == (
        "the database failed a query: no such table: nowhere "
        "(run: CHATVAULT_DEBUG=1 chatvault ... to see the statement)"
    )
    assert "SELECT" in str(refused.value) and "SELECT" not in str(told)
    assert query_failure(unbound.value) is None  # not the database's doing: a bug
    assert "INSERT" in str(unbound.value)
    assert "INSERT" not in str(without_statement(unbound.value))
    assert isinstance(without_statement(unbound.value), TypeError)
    plain = ValueError("x")
    assert query_failure(plain) is None and without_statement(plain) is plain
