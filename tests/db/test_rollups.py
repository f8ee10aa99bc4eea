"""The rollups' invariant: every rollup table holds exactly the groups a build from usage_logs
makes (a GROUP BY over the raw rows), after random appends by a writer that keeps them in its
own transaction, and inserts, backfills, updates and deletes by anyone else with a refresh;
on every dialect. The build itself is checked against a Python oracle in test_aggregate."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

from sqlalchemy import delete, insert, select, text, update

from chatvault.db.engine import get_engine, locking_first
from chatvault.db.models import ROLLUPS, rollup_stale, rollup_table, rollup_zones, usage_logs
from chatvault.db.rollup_days import add_appended, claim_hours
from chatvault.db.rollups import refresh
from chatvault.db.types import utc_text
from chatvault.db.writes import insert_usage, take_turn
from tests.db.test_aggregate import ORIGIN, random_rows
from tests.head import at_head

ZONES = ("Asia/Kolkata",)  # a half-hour offset: a UTC hour touches two local days


def _groups(conn, zone: str) -> dict[str, list[tuple]]:
    """Each rollup table's rows of a zone, without their ids, in a stable order."""
    found = {}
    for name in ROLLUPS:
        table = rollup_table(name)
        columns = [c for c in table.c if c.name != "id"]
        found[name] = sorted(conn.execute(select(*columns).where(table.c.zone == zone)), key=repr)
    return found


def _assert_exact(engine) -> None:
    """Each kept zone's rollups equal those built afresh from usage_logs (then rolled back)."""
    with engine.connect() as conn, locking_first(conn), conn.begin() as transaction:
        for zone in conn.execute(select(rollup_zones.c.zone)).scalars().all():
            kept = _groups(conn, zone)
            for name in ROLLUPS:
                conn.execute(delete(rollup_table(name)).where(rollup_table(name).c.zone == zone))
            conn.execute(delete(rollup_zones).where(rollup_zones.c.zone == zone))
            refresh(conn, zone)
            assert kept == _groups(conn, zone), zone
        transaction.rollback()


def _append(engine, rows: list[dict], replaced: bool = False) -> bool:
    """Rows inserted as the server's writer inserts them; whether the rollups were kept."""
    with engine.connect() as conn, locking_first(conn), conn.begin():
        take_turn(conn)
        claim = claim_hours(conn, [utc_text(row["created_at"]) for row in rows])
        insert_usage(conn, rows)
        return add_appended(conn, claim, None if replaced else [r["request_id"] for r in rows])


def _stale_hours(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(text("COUNT(*)")).select_from(rollup_stale)).scalar()


def test_rollups_equal_a_build_from_the_rows_after_random_changes(db_url):
    at_head(db_url)
    engine = get_engine(db_url)
    rnd = random.Random(17)
    rows = random_rows(rnd, 40, days=1)
    with engine.begin() as conn:
        conn.execute(insert(usage_logs), rows)
        for zone in ZONES:
            refresh(conn, zone)
    appender = db_url.split(":")[0] != "mysql+pymysql"
    for step in range(3):  # appends, others' changes, appends with a replaced row
        batch = random_rows(rnd, rnd.randrange(1, 30), days=2)
        for i, row in enumerate(batch):
            row["request_id"] = f"s{step}-{i}"
        if step == 1:  # someone else inserts a backfill, updates and deletes
            with engine.begin() as conn:
                conn.execute(insert(usage_logs), batch)
                model = rnd.choice(("o3", "gpt-4o"))
                c = usage_logs.c
                conn.execute(update(usage_logs).where(c.model == model).values(cost_cents=None))
                conn.execute(delete(usage_logs).where(c.user_id == rnd.choice(("ann", "cy"))))
                moved = ORIGIN + timedelta(days=rnd.choice((-1, 2)), minutes=7)
                conn.execute(
                    update(usage_logs).where(c.id == rnd.randrange(1, 40)).values(created_at=moved)
                )
            assert _stale_hours(engine)
            extra = {**batch[0], "request_id": f"t{step}"}
            assert not _append(engine, [extra])  # its hour is marked already: the mark stays
            with engine.connect() as conn, locking_first(conn), conn.begin():
                refresh(conn)
        else:
            kept = _append(engine, batch, replaced=step == 2)
            assert kept == (appender and step != 2)
            if not kept:
                with engine.connect() as conn, locking_first(conn), conn.begin():
                    refresh(conn)
        assert _stale_hours(engine) == 0
        if step != 1:  # after appends alone, and at the end
            _assert_exact(engine)


def test_a_change_that_waits_on_a_claimed_hour_keeps_its_mark(postgresql_url):
    """PostgreSQL: another transaction's insert into an hour a writer claimed waits for the
    writer's commit, and its mark survives the writer clearing its own."""
    at_head(postgresql_url)
    engine = get_engine(postgresql_url, pool_size=2)
    first, second = random_rows(random.Random(5), 2, days=1)
    second["created_at"] = first["created_at"]
    second["request_id"] = "other"
    with engine.begin() as conn:
        refresh(conn, ZONES[0])
    with engine.connect() as conn, conn.begin():
        claim = claim_hours(conn, [utc_text(first["created_at"])])
        insert_usage(conn, [first])
        other = threading.Thread(target=lambda: _insert(engine, second))
        other.start()
        other.join(0.3)
        assert other.is_alive()  # waiting on the claimed hour's mark
        assert add_appended(conn, claim, [first["request_id"]])
    other.join()
    assert _stale_hours(engine) == 1
    with engine.begin() as conn:
        refresh(conn)
    _assert_exact(engine)


def _insert(engine, row: dict) -> None:
    with engine.begin() as conn:
        conn.execute(insert(usage_logs), [row])
