"""Money stays exact and time stays UTC through the repository, on every dialect."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text

from chatvault.db.engine import connect
from chatvault.db.queries import get_by_user_and_date_range, total_cost
from chatvault.db.types import to_cents
from chatvault.db.writes import insert_usage
from tests.head import at_head

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def row(user: str, at: datetime, cents: str | None, **extra) -> dict:
    values = {
        "request_id": f"{user}-{at.isoformat()}-{cents}",
        "created_at": at,
        "user_id": user,
        "model": "gpt-4o",
        "cost_cents": None if cents is None else Decimal(cents),
    }
    return values | extra


def test_sums_are_exact_and_unpriced_is_not_zero(db_url):
    at_head(db_url)
    rng = random.Random(7)
    amounts = [Decimal(rng.randrange(0, 10**12)).scaleb(-6) for _ in range(500)]
    amounts += [Decimal("0.000001"), Decimal("100.5"), Decimal("0.1"), Decimal("0.2")]
    rows = [row("u", T0 + timedelta(seconds=i), str(a)) for i, a in enumerate(amounts)]
    rows += [row("u", T0 + timedelta(days=1, seconds=i), None, request_count=3) for i in range(4)]
    with connect(db_url) as conn:
        insert_usage(conn, rows)
        conn.commit()
        total = total_cost(conn)
        first_day = total_cost(conn, T0, T0 + timedelta(days=1))
    assert total.cost_cents == sum(amounts)
    assert isinstance(total.cost_cents, Decimal)
    assert (total.requests, total.unpriced_requests) == (len(amounts) + 12, 12)
    assert first_day.cost_cents == sum(amounts) and first_day.unpriced_requests == 0


def test_empty_range_totals_zero_requests(db_url):
    at_head(db_url)
    with connect(db_url) as conn:
        assert total_cost(conn) == total_cost(conn, T0, T0)
        assert total_cost(conn).requests == 0


def test_user_and_date_range_is_half_open_and_in_utc(db_url):
    at_head(db_url)
    paris = timezone(timedelta(hours=1))
    with connect(db_url) as conn:
        insert_usage(
            conn,
            [
                row("ana", T0 - timedelta(microseconds=1), "1"),
                row("ana", T0, "2"),
                row("ana", datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=paris), "3"),  # 11:00 UTC
                row("ana", T0 + timedelta(days=1), "4"),
                row("ben", T0, "5"),
            ],
        )
        conn.commit()
        found = get_by_user_and_date_range(conn, "ana", T0, T0 + timedelta(days=1))
    assert [r["cost_cents"] for r in found] == [Decimal("2"), Decimal("3")]
    assert found[1]["created_at"] == datetime(2026, 3, 1, 11, 0, 0, 250_000, tzinfo=UTC)


def test_naive_datetimes_are_refused(sqlite_url):
    at_head(sqlite_url)
    with connect(sqlite_url) as conn, pytest.raises(Exception, match="naive datetime"):
        insert_usage(conn, [row("ana", datetime(2026, 3, 1), "1")])


def test_floats_never_reach_the_money_column():
    with pytest.raises(TypeError, match="never float"):
        to_cents(0.1)
    assert to_cents("0.0000005") == Decimal("0.000001")  # half away from zero, as the databases
    assert to_cents(Decimal("-0.0000005")) == Decimal("-0.000001")


def test_server_defaults_serve_another_applications_inserts(db_url):
    """The legacy service inserts only the columns it knows; the rest must default."""
    at_head(db_url)
    with connect(db_url) as conn:
        conn.execute(
            text(
                "INSERT INTO usage_logs (user_id, model, created_at, cost_cents,"
                " processing_time_seconds, session_duration_seconds, error_details)"
                " VALUES ('legacy-app', 'gpt-4o', '2026-03-01 10:00:00', NULL, 0.5, NULL, NULL)"
            )
        )
        conn.commit()
        found = get_by_user_and_date_range(conn, "legacy-app", T0, T0 + timedelta(days=1))
    (only,) = found
    assert (only["billable"], only["request_count"], only["status"]) == (True, 1, "success")
    assert (only["input_tokens"], only["cache_read_tokens"], only["request_id"]) == (0, 0, None)


def test_the_fast_write_path_stores_what_sqlalchemy_would(sqlite_url):
    """insert_usage hands the driver its own conversions: the stored text must be identical."""
    from sqlalchemy import insert

    from chatvault.db.models import usage_logs

    at_head(sqlite_url)
    at = datetime(2026, 3, 1, 12, 30, 5, tzinfo=timezone(timedelta(hours=-5)))
    with connect(sqlite_url) as conn:
        insert_usage(conn, [row("fast", at, "12.3456789")])
        conn.execute(insert(usage_logs), [row("orm", at, "12.3456789")])
        conn.commit()
        stored = conn.execute(
            text("SELECT user_id, created_at, cost_cents, typeof(cost_cents) FROM usage_logs")
        ).all()
    (fast,) = [r[1:] for r in stored if r[0] == "fast"]
    (orm,) = [r[1:] for r in stored if r[0] == "orm"]
    assert fast == orm == ("2026-03-01 17:30:05.000000", 12345679, "integer")
