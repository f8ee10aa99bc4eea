"""A realistic sample database for `chatvault demo`: usage of several providers' models by a
small company, imported through the chatvault JSONL importer so that it is priced exactly as
a real import is (the pinned price list; one custom model stays unpriced), and a config with
two budgets sized to the generated spend.

The rows depend only on the seed, the number of days, the zone and the moment they end at.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from chatvault.errors import InputError
from chatvault.paths import demo_files

if TYPE_CHECKING:
    from chatvault.session import Session

DEFAULT_SEED = 42
DAYS_RANGE = (7, 730)
REQUEST_ID_PREFIX = "demo-"  # every demo request id starts with it: its own rows, told apart
BASE_REQUESTS = 700  # a weekday's requests on the first day, before growth and the launch
GROWTH = 1.7  # how much busier the last day is than the first
LAUNCH = 0.6  # where in the period the launch happens (a fraction of the days)
LAUNCH_PROJECT, LAUNCH_FACTOR = "support-bot", 2.5
WEEKDAYS = (1.0, 1.06, 1.04, 1.0, 0.88, 0.3, 0.22)  # Monday first: weekends are quiet
# Requests per hour of a local day: office hours, a lunch dip, a nightly batch at 2 am.
HOURS = (2, 1, 6, 1, 1, 1, 2, 4, 9, 14, 15, 14, 10, 12, 15, 15, 13, 10, 7, 5, 4, 3, 3, 2)
ERROR_RATE = 0.02
ERRORS = (  # (weight in 10, HTTP status, type, message, median seconds until it failed)
    (5, 429, "rate_limit_error", "Rate limit reached for requests per minute", 0.2),
    (3, 500, "api_error", "The server had an error while processing your request", 2.0),
    (2, 408, "timeout", "Request timed out", 60.0),
)


@dataclass(frozen=True)
class Model:
    provider: str
    name: str
    input: int  # median prompt tokens
    output: int  # median output tokens
    speed: float  # output tokens per second
    cache: bool  # repeated prompt prefixes are read from the provider's cache


SONNET = Model("anthropic", "claude-sonnet-4-5-20250929", 12000, 900, 70, True)
HAIKU = Model("anthropic", "claude-haiku-4-5-20251001", 4000, 400, 150, True)
GPT4O = Model("openai", "gpt-4o", 6000, 600, 90, True)
MINI = Model("openai", "gpt-4o-mini", 3000, 300, 120, True)
FLASH = Model("google", "gemini-2.5-flash", 8000, 500, 180, False)
ACME = Model("acme", "acme-llm-1", 2000, 400, 60, False)  # self-hosted: no public price


@dataclass(frozen=True)
class Project:
    name: str
    share: float  # of the requests on the first day
    users: str  # their names, most active first
    models: tuple[tuple[Model, int], ...]  # (model, weight)
    prefix: int  # tokens of the shared system prompt, cached where the provider does


PROJECTS = (
    Project("support-bot", 0.3, "alice bob carol dan", ((MINI, 4), (HAIKU, 4), (GPT4O, 2)), 3000),
    Project("search", 0.3, "erin frank grace heidi", ((FLASH, 6), (GPT4O, 2), (MINI, 2)), 2000),
    Project("data-pipeline", 0.25, "svc-etl ivan judy", ((ACME, 5), (MINI, 4), (HAIKU, 1)), 1500),
    Project("research", 0.15, "mallory niaj olivia peggy", ((SONNET, 6), (GPT4O, 3)), 8000),
)


def records(days: int, seed: int, zone: ZoneInfo, now: datetime) -> Iterator[dict]:
    """The requests of `days` complete days before today and of today until `now`, oldest
    day first, as chatvault JSONL records without costs."""
    import numpy as np

    rng = np.random.default_rng(seed)
    today = now.astimezone(zone).date()
    launch = round(days * LAUNCH)
    for index in range(days + 1):
        day = today - timedelta(days=days - index)
        level = GROWTH ** (index / days) * WEEKDAYS[day.weekday()] * rng.lognormal(0, 0.08)
        # Each local hour's start in UTC: daylight saving time makes some days 23 or 25 h.
        hours = [datetime.combine(day, time(h), tzinfo=zone).astimezone(UTC) for h in range(24)]
        for project in PROJECTS:
            boost = LAUNCH_FACTOR if project.name == LAUNCH_PROJECT and index >= launch else 1
            count = round(BASE_REQUESTS * project.share * level * boost)
            prefix = f"{REQUEST_ID_PREFIX}{seed}-{day.isoformat()}-{project.name}-"
            for number, record in enumerate(_requests(rng, project, hours, count)):
                if record.pop("at") <= now:  # today's requests still to come are not made yet
                    record["request_id"] = f"{prefix}{number}"
                    yield record


def _requests(rng, project: Project, hours: list[datetime], count: int) -> Iterator[dict]:
    """`count` requests of a project on one day."""
    import numpy as np

    models = [model for model, _ in project.models]
    weights = np.array([weight for _, weight in project.models], dtype=float)
    names = project.users.split()
    users = 1 / np.arange(1, len(names) + 1)  # a few people make most requests
    hour = rng.choice(24, count, p=np.array(HOURS) / sum(HOURS)).tolist()
    second = rng.integers(3600, size=count).tolist()
    chosen = rng.choice(len(models), count, p=weights / weights.sum()).tolist()
    user = rng.choice(len(users), count, p=users / users.sum()).tolist()
    failed = (rng.random(count) < ERROR_RATE).tolist()
    kind = rng.choice(len(ERRORS), count, p=[e[0] / 10 for e in ERRORS]).tolist()
    reuse = rng.random(count).tolist()
    size, length, pace = (rng.lognormal(0, s, count).tolist() for s in (0.6, 0.7, 0.35))
    for i in range(count):
        model = models[chosen[i]]
        at = hours[hour[i]] + timedelta(seconds=second[i])
        record = {
            "at": at,
            "created_at": at.isoformat(),
            "user_id": names[user[i]],
            "project": project.name,
            "provider": model.provider,
            "model": model.name,
        }
        if failed[i]:  # failed requests are not billed: no tokens
            status, kind_name, message, seconds = ERRORS[kind[i]][1:]
            record["status"] = "error"
            record["error_details"] = {"status": status, "type": kind_name, "message": message}
            record["processing_time_seconds"] = round(seconds * pace[i], 3)
            yield record
            continue
        prompt = round(model.input * size[i])
        output = max(1, round(model.output * length[i]))
        cached = written = 0
        # The shared prefix is still cached seven times in ten; Anthropic is told to write
        # an expired one again (a tenth of those), OpenAI caches by itself.
        if model.cache and prompt > project.prefix and reuse[i] < 0.7:
            if model.provider == "anthropic" and reuse[i] < 0.07:
                written = project.prefix
            else:
                cached = project.prefix
        record.update(
            input_tokens=prompt - cached - written,
            output_tokens=output,
            cache_read_tokens=cached,
            cache_write_tokens=written,
            processing_time_seconds=round((0.4 + output / model.speed) * pace[i], 3),
        )
        yield record


CONFIG = """\
# Written by `chatvault demo` for its sample database. Budgets: docs/budgets.md.
timezone: {zone}
budgets:
  - name: {project}
    amount: {team}
    period: monthly
    scope: {{projects: [{project}]}}
  - name: everything
    amount: {overall}
    period: monthly
    thresholds: [80, 100]
"""


@dataclass(frozen=True)
class Result:
    requests: int
    errors: int
    unpriced_requests: int
    cost_cents: Decimal
    first_day: date
    team_budget: Decimal  # USD per month
    overall_budget: Decimal


def create(
    url: str,
    config_path: Path,
    *,
    days: int,
    seed: int,
    zone: ZoneInfo,
    now: datetime,
    note: Callable[[str], None],
) -> Result:
    """Migrate the database, import the sample usage and write the config with its budgets.

    The database must hold no usage: the demo adds its rows to nobody's real data. The
    demo's own file is the exception: made by an earlier run, it is replaced (deleted first),
    so that running the demo again gives fresh sample data.
    """
    from chatvault.config import Config, Settings
    from chatvault.db.engine import mask_url, sqlite_path
    from chatvault.db.filters import UsageFilter
    from chatvault.db.migrate import migrate
    from chatvault.reports import usage
    from chatvault.session import Session

    if not DAYS_RANGE[0] <= days <= DAYS_RANGE[1]:
        raise InputError(f"--days: {days} is not in {DAYS_RANGE[0]}..{DAYS_RANGE[1]}")
    path, own = sqlite_path(url), demo_files()[0]
    if path is not None and path.resolve() == own.resolve():
        if own.exists():
            _refuse_usage(url, besides=REQUEST_ID_PREFIX)  # someone's own rows, added since
            note(f"replacing the demo database {own} (made by an earlier chatvault demo)")
            _remove(own)
    else:
        _refuse_usage(url)
    note(f"creating {days} days of sample usage in {mask_url(url)} (seed {seed}, {zone.key})")
    migrate(url, backup=False)  # the database is empty: nothing to back up
    # The price list only (no overrides): the custom model stays unpriced.
    settings = Settings(Config(timezone=zone.key), None, url)
    with Session(settings, now=now, note=note) as session:
        _import(session, records(days, seed, zone, now))
        team, overall = _budgets(session)
        totals = usage.report(session, UsageFilter(), ()).totals
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(
        CONFIG.format(zone=zone.key, project=LAUNCH_PROJECT, team=team, overall=overall),
        encoding="utf-8",
    )
    return Result(
        totals.requests,
        totals.error_requests,
        totals.unpriced_requests,
        totals.cost_cents or Decimal(0),
        now.astimezone(zone).date() - timedelta(days=days),
        team,
        overall,
    )


def _remove(path: Path) -> None:
    """Delete an SQLite database file and the files SQLite keeps beside it."""
    from chatvault.db.engine import dispose_all

    dispose_all()  # a pooled connection would go on writing to the deleted file
    for name in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{name}").unlink(missing_ok=True)


def _refuse_usage(url: str, besides: str | None = None) -> None:
    """An InputError if the database holds usage rows (besides the demo's own): the demo
    adds to, and deletes, nobody's data."""
    from chatvault.db.engine import connect, database_exists, mask_url
    from chatvault.db.guard import holds_usage

    if not database_exists(url):
        return
    with connect(url) as conn:
        if holds_usage(conn, besides):
            if besides is not None:
                raise InputError(
                    f"the demo database {mask_url(url)} holds usage the demo did not make; "
                    "it is left as it is (move it away to make a new demo)"
                )
            raise InputError(
                f"{mask_url(url)} already holds usage rows; the demo writes only into an empty "
                "database (without --database it replaces its own file)"
            )


def _import(session: Session, rows: Iterator[dict]) -> None:
    import orjson

    from chatvault.ingest.files import Input
    from chatvault.ingest.options import ParseOptions
    from chatvault.ingest.run import Importer

    with tempfile.TemporaryDirectory(prefix="chatvault-demo-") as folder:
        path = Path(folder) / "demo.jsonl"
        with path.open("wb") as out:
            for row in rows:
                out.write(orjson.dumps(row) + b"\n")
        importer = Importer(session=session, options=ParseOptions(now=session.now))
        summary = importer.run([Input(path.name, path, path.stat().st_size)])
    if summary.failed:  # a bug in this module, not the user's doing
        raise RuntimeError(f"the demo data did not import: {summary.failed[0]}")


def _budgets(session: Session) -> tuple[Decimal, Decimal]:
    """Monthly budgets sized to the month the spend just imported is heading for (as
    `costs budget` will see it), whatever day of the month the demo runs on: the team's, which
    its launch pushes about 20% over its forecast, and one for everything, comfortably under."""
    from chatvault.budgets.config import Budget, Scope
    from chatvault.budgets.status import evaluate

    scope = Scope(projects=(LAUNCH_PROJECT,))
    team = evaluate(session, Budget(LAUNCH_PROJECT, Decimal(1), scope=scope))
    overall = evaluate(session, Budget("everything", Decimal(1)))
    # In the month's last hours, when the forecast is nearly all spent, spend stays at 95% of
    # the team's budget at most: a WARNING, never spent out.
    amount = max(_forecast(team) / Decimal("1.2"), team.spent_cents / Decimal("0.95"))
    # Under its 80% threshold (CONFIG) until the month's end.
    return _round(amount / 100), _round(_forecast(overall) * Decimal("1.4") / 100)


def _forecast(status) -> Decimal:
    return status.spent_cents if status.projection is None else status.projection.cents


def _round(usd: Decimal) -> Decimal:
    """A round amount, as people set budgets, within 2.5%: 437.2 -> 435, 1234 -> 1250."""
    step = max(Decimal(10) ** (usd.adjusted() - 1) / 2, Decimal(1))
    return max(Decimal(int((usd / step).to_integral_value() * step)), Decimal(1))
