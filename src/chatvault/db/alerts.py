"""The budget alerts table: an alert is claimed (written under its unique key) before it is
sent, then marked sent or failed; a failed one whose condition no longer holds is marked
resolved (never sent, and claimable again should it hold again). Every call is its own short
transaction, committed at once, so a claim is visible to every other check before anything
goes out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from chatvault.db.models import budget_alerts

RETRY_FIRST = timedelta(minutes=5)
RETRY_MAX = timedelta(hours=6)
c = budget_alerts.c


@dataclass(frozen=True)
class Key:
    """What is alerted once: a threshold of a budget's period, actual or forecast, on a channel."""

    budget: str
    period_start: date
    kind: str  # "actual" or "forecast"
    threshold_bp: int  # hundredths of a percent: 8000 = 80%
    channel: str

    def where(self):
        return and_(
            c.budget == self.budget,
            c.period_start == self.period_start,
            c.kind == self.kind,
            c.threshold_bp == self.threshold_bp,
            c.channel == self.channel,
        )


def claim(conn: Connection, keys: list[Key], now: datetime) -> list[Key]:
    """Write the alerts as being sent and return those this check got: not those another
    check (or an earlier run) has, unless that one failed and its retry is due, or was
    resolved (never sent: its condition had cleared) and holds again.

    One transaction, keys in a fixed order: a concurrent check blocks on the first key this
    one wrote until it commits, then finds every key taken, so one message goes out, not
    one per check with some of the thresholds each.
    """
    got = []
    with conn.begin():
        for key in sorted(keys, key=lambda k: (k.kind, k.threshold_bp)):
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(budget_alerts).values(
                            **key.__dict__, status="sending", attempts=0, claimed_at=now
                        )
                    )
                got.append(key)
                continue
            except IntegrityError:
                pass
            retry = conn.execute(
                update(budget_alerts)
                .where(
                    key.where(),
                    or_(
                        and_(c.status == "failed", c.next_attempt_at <= now),
                        c.status == "resolved",
                    ),
                )
                .values(status="sending", claimed_at=now)
            )
            if retry.rowcount == 1:
                got.append(key)
    return got


def mark_sent(conn: Connection, keys: list[Key], now: datetime) -> None:
    with conn.begin():
        for key in keys:
            conn.execute(
                update(budget_alerts)
                .where(key.where())
                .values(status="sent", sent_at=now, attempts=c.attempts + 1, last_error=None)
            )


def mark_failed(conn: Connection, keys: list[Key], error: str, now: datetime) -> datetime:
    """Record a failed send; it is retried after a backoff that doubles with each attempt.
    Returns when the next try is due."""
    attempts = conn.execute(
        select(func.max(c.attempts)).where(or_(*(key.where() for key in keys)))
    ).scalar()
    conn.rollback()
    due = now + min(RETRY_FIRST * 2 ** (attempts or 0), RETRY_MAX)
    with conn.begin():
        for key in keys:
            conn.execute(
                update(budget_alerts)
                .where(key.where())
                .values(
                    status="failed",
                    attempts=c.attempts + 1,
                    next_attempt_at=due,
                    last_error=error[:500],
                )
            )
    return due


def resolve(conn: Connection, keys: list[Key]) -> None:
    """Mark failed alerts resolved: their condition no longer holds, so they are not retried."""
    if not keys:
        return
    with conn.begin():
        for key in keys:
            conn.execute(
                update(budget_alerts)
                .where(key.where(), c.status == "failed")
                .values(status="resolved", next_attempt_at=None)
            )


def failed(conn: Connection, budget: str, period_start: date, channel: str) -> list[dict]:
    """The failed alerts of a budget's period on a channel: kind, threshold_bp, last_error,
    next_attempt_at."""
    rows = conn.execute(
        select(c.kind, c.threshold_bp, c.last_error, c.next_attempt_at)
        .where(
            c.budget == budget,
            c.period_start == period_start,
            c.channel == channel,
            c.status == "failed",
        )
        .order_by(c.kind, c.threshold_bp)
    ).mappings()
    found = [dict(row) for row in rows]
    conn.rollback()
    return found


def rearm_forecast(conn: Connection, budget: str, period_start: date) -> int:
    """Forget a period's forecast alerts, so they can fire again; how many were forgotten."""
    with conn.begin():
        done = conn.execute(
            delete(budget_alerts).where(
                c.budget == budget, c.period_start == period_start, c.kind == "forecast"
            )
        )
    return done.rowcount


def recorded(conn: Connection, budget: str, period_start: date) -> list[dict]:
    """A budget's alerts of a period, for its status."""
    rows = conn.execute(
        select(budget_alerts)
        .where(c.budget == budget, c.period_start == period_start)
        .order_by(c.kind, c.threshold_bp, c.channel)
    ).mappings()
    found = [dict(row) for row in rows]
    conn.rollback()
    return found
