"""Budget checks alert once: per threshold, per period, across reruns, concurrent runs and
failed sends; new periods start clean in the budget's own zone."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from chatvault.budgets import alerting
from chatvault.budgets.config import Budget, Channel
from chatvault.budgets.notify import Webhook
from chatvault.budgets.status import period_of
from chatvault.config import Config
from chatvault.db.engine import get_engine
from chatvault.db.models import budget_alerts, usage_logs
from tests.head import at_head
from tests.servers import webhook_receiver
from tests.sessions import session_for

KOLKATA = ZoneInfo("Asia/Kolkata")
NEW_YORK = ZoneInfo("America/New_York")
CONFIG = Config()
_ids = iter(range(10**6))


def spend(url: str, at: datetime, cents: str) -> None:
    row = {
        "request_id": f"r{next(_ids)}",
        "created_at": at,
        "user_id": "ann",
        "model": "gpt-4o",
        "provider": "openai",
        "cost_cents": Decimal(cents),
        "status": "success",
    }
    with get_engine(url).begin() as conn:
        conn.execute(insert(usage_logs), [row])


def budget(receiver, amount="100", zone="Asia/Kolkata", **kw) -> Budget:
    channel = Channel(webhook=Webhook(receiver.url, timeout_seconds=2))
    return Budget(
        name="team-a",
        amount=Decimal(amount),
        timezone=zone,
        notify=(channel,),
        forecast_alerts=kw.pop("forecast_alerts", False),
        **kw,
    )


def check(url, b, now):
    with session_for(url, CONFIG, now=now) as session:
        return alerting.check(session, [b], True, True)[0]


def local(day: date, hour: int, zone=KOLKATA) -> datetime:
    return datetime.combine(day, time(hour), zone).astimezone(UTC)


NOW = local(date(2026, 3, 20), 12)
ONLY_FORECAST = {"forecast_alerts": True, "thresholds": (Decimal(100),)}


@pytest.fixture
def receiver():
    with webhook_receiver() as r:
        yield r


@pytest.fixture
def url(sqlite_url):
    at_head(sqlite_url)
    return sqlite_url


def test_thresholds_crossed_one_by_one_alert_one_by_one(url, receiver):
    b = budget(receiver)
    spend(url, NOW - timedelta(hours=1), "5500")  # $55 of $100
    assert check(url, b, NOW).state == "WARNING"
    spend(url, NOW - timedelta(hours=1), "3000")  # $85
    outcome = check(url, b, NOW + timedelta(minutes=1))
    assert [d.crossed for d in outcome.deliveries] == [["80%"]]
    assert len(receiver.bodies) == 2
    assert "crossed 50% ($50.00)" in receiver.texts[0] and "80%" not in receiver.texts[0]
    assert "crossed 80% ($80.00)" in receiver.texts[1] and "50%" not in receiver.texts[1]


def test_a_jump_past_several_thresholds_is_one_message(url, receiver):
    spend(url, NOW - timedelta(hours=1), "9700")
    outcome = check(url, budget(receiver), NOW)
    assert [d.crossed for d in outcome.deliveries] == [["50%", "80%", "90%", "95%"]]
    assert len(receiver.bodies) == 1
    assert receiver.texts[0].startswith("BUDGET WARNING - team-a 97% of $100.00")
    fields = {f["title"]: f["value"] for f in receiver.bodies[0]["attachments"][0]["fields"]}
    assert fields["Spent"] == "$97.00" and fields["Budget"] == "$100.00"


def test_a_rerun_sends_nothing(url, receiver):
    spend(url, NOW - timedelta(hours=1), "10500")
    first = check(url, budget(receiver), NOW)
    assert first.state == "CRITICAL" and len(first.deliveries) == 1
    again = check(url, budget(receiver), NOW + timedelta(minutes=5))
    assert again.state == "CRITICAL" and again.deliveries == []
    assert len(receiver.bodies) == 1


def test_two_checks_at_the_same_moment_alert_once(db_url, receiver):
    at_head(db_url)
    spend(db_url, NOW - timedelta(hours=1), "9000")
    b = budget(receiver)
    check(db_url, b, NOW - timedelta(days=1))  # build the rollups: not what is raced
    start = threading.Barrier(4)
    outcomes = []

    def run() -> None:
        start.wait()
        outcomes.append(check(db_url, b, NOW))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(o.deliveries) for o in outcomes) == 1
    assert len(receiver.bodies) == 1
    sent = next(o for o in outcomes if o.deliveries).deliveries[0]
    assert sent.crossed == ["50%", "80%", "90%"] and sent.error is None


def test_a_failed_send_is_retried_later_once(url, receiver):
    spend(url, NOW - timedelta(hours=1), "8500")
    receiver.status = 500
    failed = check(url, budget(receiver), NOW)
    assert failed.state == "WARNING" and failed.deliveries[0].error.endswith("HTTP 500")
    assert failed.deliveries[0].retry_at == NOW + timedelta(minutes=5)
    assert "secret-token" not in failed.deliveries[0].error
    receiver.status = 200
    assert check(url, budget(receiver), NOW + timedelta(minutes=1)).deliveries == []  # not yet
    late = check(url, budget(receiver), NOW + timedelta(minutes=6))
    assert [d.crossed for d in late.deliveries] == [["50%", "80%"]] and late.deliveries[
        0
    ].error is None
    assert check(url, budget(receiver), NOW + timedelta(minutes=30)).deliveries == []
    assert len(receiver.bodies) == 1
    with get_engine(url).connect() as conn:
        rows = conn.execute(select(budget_alerts.c.status, budget_alerts.c.attempts)).all()
    assert rows == [("sent", 2), ("sent", 2)]


def test_failures_back_off(url, receiver):
    spend(url, NOW - timedelta(hours=1), "6000")
    receiver.status = 503
    at = NOW
    waits = []
    for _ in range(3):
        outcome = check(url, budget(receiver), at)
        waits.append(outcome.deliveries[0].retry_at - at)
        at = outcome.deliveries[0].retry_at
    assert waits == [timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=20)]


@pytest.mark.parametrize("zone", [KOLKATA, NEW_YORK], ids=str)
def test_a_new_month_starts_clean_in_the_budget_zone(url, receiver, zone):
    b = budget(receiver, zone=zone.key)
    march_31 = local(date(2026, 3, 31), 23, zone)
    spend(url, march_31 - timedelta(minutes=30), "6000")  # 23:30 local, the 31st
    assert [d.crossed for d in check(url, b, march_31).deliveries] == [["50%"]]
    april_1 = local(date(2026, 4, 1), 0, zone) + timedelta(minutes=30)
    quiet = check(url, b, april_1)
    assert quiet.state == "OK" and quiet.status.spent_cents == 0 and quiet.deliveries == []
    assert quiet.status.period.start == date(2026, 4, 1)
    spend(url, april_1 - timedelta(minutes=10), "5500")  # 00:20 local: April
    assert [d.crossed for d in check(url, b, april_1).deliveries] == [["50%"]]
    assert len(receiver.bodies) == 2


def test_a_changed_amount_is_re_evaluated_without_re_sending(url, receiver):
    spend(url, NOW - timedelta(hours=1), "8500")
    assert [d.crossed for d in check(url, budget(receiver), NOW).deliveries] == [["50%", "80%"]]
    raised = check(url, budget(receiver, amount="200"), NOW)  # now 42.5%
    assert raised.state == "OK" and raised.status.crossed == ()
    lowered = check(url, budget(receiver, amount="90"), NOW)  # 94.4%: 90% is new
    assert [d.crossed for d in lowered.deliveries] == [["90%"]]
    assert len(receiver.bodies) == 2


def test_forecast_alerts_re_arm_only_when_clearly_back_under(url, receiver):
    first = date(2026, 1, 1)
    for k in range(78):  # $10 a day since January: March will end near $310
        spend(url, local(first + timedelta(days=k), 12), "1000")
    over = check(url, budget(receiver, amount="300", **ONLY_FORECAST), NOW)
    assert over.status.forecast_over and [d.crossed for d in over.deliveries] == [["forecast"]]
    assert "forecast to end the monthly period at $310.00" in receiver.texts[0]
    # Just under the amount: inside the hysteresis band, nothing re-arms or re-sends.
    check(url, budget(receiver, amount="320", **ONLY_FORECAST), NOW)
    assert check(url, budget(receiver, amount="300", **ONLY_FORECAST), NOW).deliveries == []
    # Clearly under (the forecast below 90% of the amount): re-armed, so it alerts again.
    check(url, budget(receiver, amount="400", **ONLY_FORECAST), NOW)
    again = check(url, budget(receiver, amount="300", **ONLY_FORECAST), NOW)
    assert [d.crossed for d in again.deliveries] == [["forecast"]]
    assert len(receiver.bodies) == 2


def test_periods_in_the_budget_zone():
    b = Budget(name="b", amount=Decimal(1), period="weekly", week_start="sunday")
    assert period_of(b, KOLKATA, date(2026, 11, 22)).start == date(2026, 11, 22)  # a Sunday
    assert period_of(b, KOLKATA, date(2026, 11, 28)).end == date(2026, 11, 29)
    quarterly = Budget(name="q", amount=Decimal(1), period="quarterly")
    p = period_of(quarterly, KOLKATA, date(2026, 11, 22))
    assert (p.start, p.end) == (date(2026, 10, 1), date(2027, 1, 1))
    yearly = Budget(name="y", amount=Decimal(1), period="yearly")
    assert period_of(yearly, KOLKATA, date(2026, 2, 3)).end == date(2027, 1, 1)
    daily = Budget(name="d", amount=Decimal(1), period="daily")
    assert period_of(daily, KOLKATA, date(2026, 2, 28)).end == date(2026, 3, 1)


def statuses(url) -> dict[tuple[str, int], str]:
    with get_engine(url).connect() as conn:
        rows = conn.execute(
            select(budget_alerts.c.kind, budget_alerts.c.threshold_bp, budget_alerts.c.status)
        ).all()
    return {(kind, bp): status for kind, bp, status in rows}


def test_a_retried_forecast_alert_that_no_longer_holds_is_resolved_not_sent(url, receiver):
    first = date(2026, 1, 1)
    for k in range(78):  # $10 a day: March is forecast to end at $310
        spend(url, local(first + timedelta(days=k), 12), "1000")
    receiver.status = 500
    failed = check(url, budget(receiver, amount="300", **ONLY_FORECAST), NOW)
    assert [d.crossed for d in failed.deliveries] == [["forecast"]] and failed.deliveries[0].error
    receiver.status = 200
    # Raised: the forecast ($310) is 95% of $326, under the amount, inside the re-arm band.
    raised = budget(receiver, amount="326", **ONLY_FORECAST)
    due = check(url, raised, NOW + timedelta(minutes=6))
    assert due.state == "OK" and due.deliveries == [] and due.failing == []
    assert receiver.bodies == []
    assert statuses(url) == {("forecast", 10_000): "resolved"}
    assert check(url, raised, NOW + timedelta(hours=7)).deliveries == []
    # Over the amount again: never delivered, so it is news, sent with today's figures.
    again = check(url, budget(receiver, amount="305", **ONLY_FORECAST), NOW + timedelta(hours=8))
    assert [d.crossed for d in again.deliveries] == [["forecast"]]
    assert len(receiver.texts) == 1
    assert (
        "at $310.00 (80%" in receiver.texts[0] and "over the budget of $305.00" in receiver.texts[0]
    )
    assert statuses(url) == {("forecast", 10_000): "sent"}


def test_a_retried_threshold_sends_what_still_holds_with_the_current_figures(url, receiver):
    spend(url, NOW - timedelta(hours=1), "8500")  # $85 of $100: 50% and 80%
    receiver.status = 500
    assert check(url, budget(receiver), NOW).deliveries[0].error
    receiver.status = 200
    raised = check(url, budget(receiver, amount="150"), NOW + timedelta(minutes=6))  # 56.7%
    assert [(d.crossed, d.error) for d in raised.deliveries] == [(["50%"], None)]
    [text] = receiver.texts
    assert text.startswith("BUDGET WARNING - team-a 57% of $150.00")
    assert "crossed 50% ($75.00) of the monthly budget" in text and "80%" not in text
    assert statuses(url) == {("actual", 5000): "sent", ("actual", 8000): "resolved"}


def test_a_pending_failure_is_reported_by_every_check_until_delivered(url, receiver):
    spend(url, NOW - timedelta(hours=1), "5500")
    receiver.status = 500
    first = check(url, budget(receiver), NOW)
    retry_at = first.deliveries[0].retry_at
    for minutes in (1, 3):  # before the retry is due: nothing sent, the failure still shown
        later = check(url, budget(receiver), NOW + timedelta(minutes=minutes))
        assert later.deliveries == [] and later.state == "WARNING"
        [pending] = later.failing
        assert (pending.crossed, pending.retry_at) == (["50%"], retry_at)
        assert pending.channel.startswith("webhook 127.0.0.1:")
        assert pending.error.endswith("HTTP 500") and "secret-token" not in pending.error
    receiver.status = 200
    sent = check(url, budget(receiver), NOW + timedelta(minutes=6))
    assert sent.deliveries[0].error is None and sent.failing == []
    assert check(url, budget(receiver), NOW + timedelta(minutes=7)).failing == []
