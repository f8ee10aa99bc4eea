"""`costs budget check`: evaluate each budget, send what it newly crossed exactly once, and
say how it went.

Once means: each (budget, period, actual/forecast, threshold, channel) is claimed in the
alerts table before anything is sent (db/alerts.py), so concurrent checks, reruns and
restarts cannot send it twice; a failed send is kept and retried by a later run after a
backoff, if its condition still holds then (with the figures of then): one that no longer
holds is resolved, not sent. Forecast alerts re-arm when the forecast falls back under
REARM_BELOW percent.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from chatvault.budgets.config import Budget
from chatvault.budgets.notify import Alert, Command, Email, Webhook, describe, without_credentials

if TYPE_CHECKING:
    from chatvault.session import Session
from chatvault.budgets.status import STATES, Status, evaluate, zone_of
from chatvault.errors import ChatvaultError
from chatvault.forecast import LEVEL, LEVEL_LABEL
from chatvault.money import usd_rounded as usd

REARM_BELOW = Decimal(90)  # percent of the amount
FORECAST_BP = 10_000  # a forecast alert is one threshold: ending at or over 100%


@dataclass
class Delivery:
    """One channel's message in a check: what it announced, and how sending it went."""

    channel: str  # describe(): no secret
    crossed: list[str]  # what the message announced: "80%", "forecast"
    error: str | None = None
    retry_at: datetime | None = None


@dataclass
class Outcome:
    """One budget's check: its status, what was sent, what failed and what was held back."""

    budget: Budget
    status: Status | None = None
    error: str | None = None  # why the budget could not be evaluated
    deliveries: list[Delivery] = field(default_factory=list)
    # Failed earlier, still true, retried later: not news, but not delivered either.
    failing: list[Delivery] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # crossed, not sent (--no-notify, --dry-run)
    held_back_by: str = "--no-notify or --dry-run"  # why `pending` was not sent

    @property
    def state(self) -> str:
        if self.error is not None or self.status is None:
            return "UNKNOWN"
        state = self.status.state
        if any(d.error for d in [*self.deliveries, *self.failing]) and state == "OK":
            return "WARNING"  # a failed notification is worth a look
        return state


def worst(outcomes: list[Outcome]) -> str:
    return max((o.state for o in outcomes), key=STATES.index, default="OK")


def check(
    session: Session,
    budgets: list[Budget],
    notify: bool,
    send_for_real: bool,
    at: datetime | None = None,
) -> list[Outcome]:
    """Every budget's outcome (in its period holding `at`, default now: see `evaluate`).
    Without `notify` nothing is claimed or sent; without `send_for_real` (a dry run) neither.
    Either way the check lists what it did not send; a status (neither) does not look."""
    switched_off = notify and not session.config.cost_calculation.budget_alerts.enabled
    notify = notify and not switched_off
    # A database that cannot be used fails the whole check, once; the rollups of every zone
    # read are brought up to date before any is read.
    session.prepare([zone_of(budget, session) for budget in budgets])
    outcomes = []
    for budget in budgets:
        outcome = Outcome(budget)
        if switched_off:
            outcome.held_back_by = "notifications are off in the config"
        try:
            outcome.status = evaluate(session, budget, at)
            if notify and send_for_real:
                _notify(session, outcome)
            elif notify or send_for_real:
                _unsent(session, outcome)
        except ChatvaultError as exc:
            outcome.error = str(exc)
        outcomes.append(outcome)
    return outcomes


def _notify(session: Session, outcome: Outcome) -> None:
    from chatvault.budgets.notify import NotifyError, send
    from chatvault.db import alerts

    status = outcome.status
    assert status is not None
    budget, start, now = status.budget, status.period.start, session.now
    # Autocommit: each claim and each mark is its own transaction, so a message is never
    # sent under a lock, and what was sent stays recorded whatever fails next.
    with session.writer() as conn:
        if status.projection is not None and status.projection.cents * 100 < (
            REARM_BELOW * status.amount_cents
        ):
            alerts.rearm_forecast(conn, budget.name, start)
        for channel in budget.notify:
            target = channel.target
            key = channel_key(target)
            wanted = [alerts.Key(budget.name, start, kind, bp, key) for kind, bp in _wanted(status)]
            # A failed alert is retried only while it holds: the rest are resolved, unsent.
            failed = alerts.failed(conn, budget.name, start, key)
            held = [alerts.Key(budget.name, start, r["kind"], r["threshold_bp"], key)
                    for r in failed]  # fmt: skip
            alerts.resolve(conn, [k for k in held if k not in wanted])
            claimed = alerts.claim(conn, wanted, now)
            if claimed:
                labels = [_label(k.kind, k.threshold_bp) for k in claimed]
                delivery = Delivery(describe(target), labels)
                try:
                    send(target, message(status, claimed))
                    alerts.mark_sent(conn, claimed, now)
                except NotifyError as exc:
                    delivery.error = str(exc)
                    delivery.retry_at = alerts.mark_failed(conn, claimed, str(exc), now)
                outcome.deliveries.append(delivery)
            waiting = [r for r, k in zip(failed, held, strict=True)
                       if k in wanted and k not in claimed]  # fmt: skip
            if waiting:
                outcome.failing.append(_still_failing(describe(target), waiting))


def _wanted(status: Status) -> list[tuple[str, int]]:
    wanted = [("actual", int(t * 100)) for t in status.crossed]
    return wanted + ([("forecast", FORECAST_BP)] if status.forecast_over else [])


def _still_failing(channel: str, rows: list[dict]) -> Delivery:
    """Alerts that failed earlier and still hold, on one channel: until delivered, every
    check says so."""
    labels = [_label(r["kind"], r["threshold_bp"]) for r in rows]
    retry_at = min(r["next_attempt_at"] for r in rows)
    return Delivery(channel, labels, rows[-1]["last_error"], retry_at)


def _unsent(session: Session, outcome: Outcome) -> None:
    """What a check that does not send would have announced (`pending`: crossed, never tried
    on some channel) and which earlier failures still hold (`failing`)."""
    from chatvault.db import alerts

    status = outcome.status
    assert status is not None
    if not status.budget.notify:
        return
    rows = alerts.recorded(session.connection, status.budget.name, status.period.start)
    by_key = {(r["channel"], r["kind"], r["threshold_bp"]): r for r in rows}
    wanted = _wanted(status)
    untried = set()
    for channel in status.budget.notify:
        key = channel_key(channel.target)
        found = [by_key.get((key, kind, bp)) for kind, bp in wanted]
        failed = [r for r in found if r is not None and r["status"] == "failed"]
        if failed:
            outcome.failing.append(_still_failing(describe(channel.target), failed))
        # Resolved alerts were never delivered: news again.
        untried |= {w for w, r in zip(wanted, found, strict=True)
                    if r is None or r["status"] == "resolved"}  # fmt: skip
    outcome.pending = [_label(kind, bp) for kind, bp in wanted if (kind, bp) in untried]


def _label(kind: str, bp: int) -> str:
    return "forecast" if kind == "forecast" else f"{(Decimal(bp) / 100).normalize():f}%"


def channel_key(target: Webhook | Command | Email) -> str:
    """A stable name for a channel in the alerts table, that reveals nothing of it: a hash
    of what it delivers to (reordering a budget's channels does not re-send)."""
    if isinstance(target, Webhook):  # not its credentials: a new password is the same channel
        kind, identity = "webhook", [without_credentials(target.url)]
    elif isinstance(target, Command):
        kind, identity = "command", list(target.run)
    else:
        kind, identity = "email", [target.host, str(target.port), *sorted(target.to)]
    digest = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]
    return f"{kind}:{digest}"


def summary(status: Status) -> str:
    """'team-a 83% of $500.00, forecast $540.00 (80% $505.00-$575.00)'."""
    text = f"{status.budget.name} {status.percent:.0f}% of {usd(status.amount_cents)}"
    end = status.projection
    if end is not None:
        text += f", forecast {usd(end.cents)} ({LEVEL_LABEL} {usd(end.lower)}-{usd(end.upper)})"
    return text


def message(status: Status, claimed: list) -> Alert:
    """One budget's message for the thresholds claimed in this run."""
    budget, period = status.budget, status.period
    severity = "CRITICAL" if status.state == "CRITICAL" else "WARNING"
    lines = []
    for key in claimed:
        if key.kind == "forecast":
            end = status.projection
            lines.append(
                f"forecast to end the {budget.period} period at {usd(end.cents)} "
                f"({LEVEL_LABEL}: {usd(end.lower)}-{usd(end.upper)}), over the budget of "
                f"{usd(status.amount_cents)}"
                if end is not None
                else "forecast to end the period over budget"
            )
        else:
            percent = Decimal(key.threshold_bp) / 100
            at = status.amount_cents * percent / 100
            lines.append(f"crossed {_label(key.kind, key.threshold_bp)} ({usd(at)}) of the "
                         f"{budget.period} budget")  # fmt: skip
    when = f"{period.start} to {period.last} ({period.zone.key})"
    fields = [
        ("Spent", usd(status.spent_cents)),
        ("Budget", usd(status.amount_cents)),
        ("Used", f"{status.percent:.1f}%"),
        ("Remaining", usd(status.remaining_cents)),
        ("Period", when),
    ]
    if status.projection is not None:
        end = status.projection
        interval = f"{LEVEL_LABEL}: {usd(end.lower)}-{usd(end.upper)}"
        fields.append(("Forecast", f"{usd(end.cents)} ({interval})"))
    return Alert(
        budget=budget.name,
        severity=severity,
        title=f"BUDGET {severity} - {summary(status)}",
        lines=tuple(lines),
        fields=tuple(fields),
        document=document(status, [_label(k.kind, k.threshold_bp) for k in claimed]),
    )


def document(status: Status, announced: list[str]) -> dict:
    """The alert for programs (a command's stdin): schema chatvault.budget.alert/1."""
    return {
        "schema": "chatvault.budget.alert/1",
        "budget": status.budget.name,
        **status_json(status),
        "announced": announced,
    }


def status_json(status: Status) -> dict:
    """A budget's status as the JSON documents show it: money as exact decimal strings."""
    from chatvault.money import dollars

    end, period = status.projection, status.period
    return {
        "state": status.state,
        "period": {
            "kind": period.kind,
            "first_day": period.start.isoformat(),
            "last_day": period.last.isoformat(),
            "time_zone": period.zone.key,
        },
        "basis": status.budget.basis,  # 'estimated' (chatvault's) or 'billed' (the providers')
        "amount_usd": dollars(status.amount_cents),
        "spent_usd": dollars(status.spent_cents),
        "percent": float(round(status.percent, 2)),
        "remaining_usd": dollars(status.remaining_cents),
        "unpriced_requests": status.unpriced_requests,
        "thresholds": [f"{t:f}" for t in status.thresholds],
        "crossed": [f"{t:f}" for t in status.crossed],
        "forecast": None
        if end is None
        else {
            "forecast_usd": dollars(end.cents),
            "lower_usd": dollars(end.lower),
            "upper_usd": dollars(end.upper),
            "level": LEVEL,
            "over_budget": status.forecast_over,
        },
        "forecast_note": status.no_projection,
    }
