"""Usage reports and export against hand-written SQL, DuckDB and the stack's start-up floor.

    pip install -e '.[test]' duckdb   # duckdb is optional: the fast-engine reference
    python bench/usage.py [--rows 10000000] [--days 365] [--dialects sqlite,postgresql]
                          [--workdir /tmp/cvbench] [--repeat 5] [--fresh] [--keep] [--smoke]

Generates a realistic usage_logs table (25 models of 4 providers, 1,000 users with skewed
activity, 8 projects, weekly seasonality, growth over the year, 2% errors, ~1% unpriced),
ending a few minutes before the run, into SQLite and PostgreSQL (schema by `chatvault db
migrate`, rows by plain INSERT / COPY so the schema's triggers fire) and into a DuckDB file of
its own. The databases are cached in --workdir, keyed by rows, days and seed, for a day.

Then measures, in the same run: each report of QUERIES inside one process (the library call
the command makes; start-up, Typer's parsing and rendering excluded) against the same
aggregation as hand-written SQL on the raw table and in DuckDB; each report as a whole
`chatvault` process against `python -c "import typer, sqlalchemy"`;
`chatvault export` against a bare cursor + csv.writer loop (rows/s, peak RSS); and
`chatvault --help`. Progress goes to stderr, the results (markdown) to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from timing import FLOOR, GOAL_PROCESS, PEAK, Run, median_runs, paired_runs, run_measured, timed

# The reports timed, as `chatvault` arguments ({top_model}: the most used model). COMMON_ARGS
# and `--database URL` are added. The hand-written SQL is derived from these same arguments
# (--since, --until, --model, --group-by, --sort cost, --limit), so edit them here only.
QUERIES: list[tuple[str, list[str]]] = [
    ("30 days by model", ["usage", "--since", "30d", "--group-by", "model", "--format", "json"]),
    ("a year by day", ["usage", "--since", "365d", "--group-by", "day", "--format", "json"]),
    (
        "top model, 7 days by day",
        [
            "usage",
            "--model",
            "{top_model}",
            "--since",
            "7d",
            "--group-by",
            "day",
            "--format",
            "json",
        ],
    ),
    (
        "top 20 users, last month",
        [
            *("usage", "--since", "last-month", "--until", "this-month", "--group-by", "user"),
            *("--sort", "cost", "--limit", "20", "--format", "json"),
        ],
    ),
]
COMMON_ARGS = ["--tz", "UTC"]

GOAL_SPEEDUP = 100.0  # chatvault in-process at least this many times faster than raw SQL
GOAL_DUCKDB = 1.0  # and no slower than DuckDB
GOAL_EXPORT_RATE = 0.8  # export rows/s against the bare loop's
GOAL_EXPORT_PEAK = 100_000_000  # bytes (100 MB)
GOAL_HELP = 0.150  # seconds
GOAL_DIALECT = 2.0  # PostgreSQL within this multiple of SQLite

GENERATOR_VERSION = 1  # bump when the data changes: it invalidates cached databases
CHUNK_ROWS = 200_000
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/cvbench"

# name, provider, USD per million tokens (input, output, cache read, cache write; None =
# unpriced), popularity, (first, last) fraction of the year it is used in, token profile.
MODELS = [
    ("gpt-4o", "openai", (2.5, 10, 1.25, 0), 10, (0, 1), "chat"),
    ("gpt-4o-mini", "openai", (0.15, 0.6, 0.075, 0), 14, (0, 1), "small"),
    ("gpt-4.1", "openai", (2, 8, 0.5, 0), 4, (0.1, 1), "chat"),
    ("gpt-4.1-mini", "openai", (0.4, 1.6, 0.1, 0), 6, (0.1, 1), "small"),
    ("gpt-4.1-nano", "openai", (0.1, 0.4, 0.025, 0), 2, (0.1, 1), "small"),
    ("o3", "openai", (2, 8, 0.5, 0), 1.5, (0.2, 1), "reasoning"),
    ("o4-mini", "openai", (1.1, 4.4, 0.275, 0), 3, (0.2, 1), "reasoning"),
    ("text-embedding-3-small", "openai", (0.02, 0, 0, 0), 5, (0, 1), "embedding"),
    ("ft:gpt-4o-mini-2024-07-18:acme:support:9xk2", "openai", None, 1.2, (0, 1), "small"),
    ("claude-sonnet-4-20250514", "anthropic", (3, 15, 0.3, 3.75), 16, (0.05, 1), "agent"),
    ("claude-sonnet-4-5-20250929", "anthropic", (3, 15, 0.3, 3.75), 8, (0.75, 1), "agent"),
    ("claude-3-7-sonnet-20250219", "anthropic", (3, 15, 0.3, 3.75), 3, (0, 0.6), "agent"),
    ("claude-opus-4-20250514", "anthropic", (15, 75, 1.5, 18.75), 0.5, (0.38, 0.7), "agent"),
    ("claude-opus-4-1-20250805", "anthropic", (15, 75, 1.5, 18.75), 1.5, (0.6, 1), "agent"),
    ("claude-3-5-haiku-20241022", "anthropic", (0.8, 4, 0.08, 1), 5, (0, 1), "small"),
    ("claude-haiku-4-5-20251001", "anthropic", (1, 5, 0.1, 1.25), 3, (0.8, 1), "small"),
    ("gemini-2.5-pro", "google", (1.25, 10, 0.31, 0), 4, (0.15, 1), "chat"),
    ("gemini-2.5-flash", "google", (0.3, 2.5, 0.075, 0), 9, (0.15, 1), "small"),
    ("gemini-2.5-flash-lite", "google", (0.1, 0.4, 0.025, 0), 1.5, (0.3, 1), "small"),
    ("gemini-2.0-flash", "google", (0.1, 0.4, 0.025, 0), 3, (0, 0.8), "small"),
    ("gemini-1.5-pro", "google", (1.25, 5, 0.3125, 0), 0.5, (0, 0.4), "chat"),
    ("gemini-1.5-flash", "google", (0.075, 0.3, 0.01875, 0), 0.8, (0, 0.45), "small"),
    ("mistral-large-latest", "mistral", (2, 6, 0, 0), 0.7, (0, 1), "chat"),
    ("mistral-small-latest", "mistral", (0.1, 0.3, 0, 0), 1.5, (0, 1), "small"),
    ("codestral-latest", "mistral", (0.3, 0.9, 0, 0), 1, (0, 1), "chat"),
]
# Median input and output tokens, the chance of cache reads and writes, their medians.
PROFILES = {
    "chat": (2500, 450, 0.35, 6000, 0.0, 0),
    "small": (1200, 250, 0.25, 4000, 0.0, 0),
    "reasoning": (3000, 1600, 0.3, 6000, 0.0, 0),
    "embedding": (400, 0, 0.0, 0, 0.0, 0),
    "agent": (1800, 600, 0.7, 25000, 0.3, 2500),
}
PROJECTS = [
    "web-app",
    "support-bot",
    "data-pipeline",
    "code-review",
    "search",
    "internal-tools",
    "eval-harness",
    "marketing",
]
USERS = 1_000
# Share of the day's requests by UTC hour (users in Europe and the Americas).
HOURLY = [
    *(0.35, 0.3, 0.25, 0.22, 0.22, 0.25, 0.35, 0.55, 0.8, 1.0, 1.05, 1.1),
    *(1.15, 1.2, 1.3, 1.35, 1.3, 1.2, 1.0, 0.85, 0.7, 0.6, 0.5, 0.4),
]
WEEKDAY = [1.0, 1.05, 1.05, 1.0, 0.92, 0.45, 0.4]  # Monday first
COLUMNS = (
    "request_id",
    "created_at",
    "user_id",
    "session_id",
    "project",
    "model",
    "provider",
    "request_count",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_cents",
    "cost_source",
    "billable",
    "processing_time_seconds",
    "status",
)


STRINGS = getattr(np, "strings", np.char)  # numpy 2's fast string functions, or 1.x's
USER_NAMES = np.array([f"user-{k:04d}" for k in range(USERS)], dtype=object)
PROJECT_NAMES = np.array(PROJECTS, dtype=object)
MODEL_NAMES = np.array([m[0] for m in MODELS], dtype=object)
PROVIDER_NAMES = np.array([m[1] for m in MODELS], dtype=object)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the generator ----------------------------------------------------------------------


@dataclass
class Chunk:
    """Consecutive rows in created_at order, as columns; `first` is the first row's index."""

    first: int
    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.columns["created_us"])


class Generator:
    """The rows, deterministic for (rows, days, seed, end): the last row just before `end`."""

    def __init__(self, rows: int, days: int, seed: int, end: datetime) -> None:
        self.rows, self.days, self.seed, self.end = rows, days, seed, end
        self.rng = np.random.default_rng(seed)
        rng = self.rng
        names = [m[0] for m in MODELS]
        self.model_names = MODEL_NAMES
        self.providers = PROVIDER_NAMES
        self.priced = np.array([m[2] is not None for m in MODELS])
        # Prices in 1e-4 USD per million tokens: cost in millionths of a cent is
        # tokens * price / 100, rounded half up; integers throughout, so exact.
        self.prices = np.array(
            [[round(p * 10_000) for p in (m[2] or (0, 0, 0, 0))] for m in MODELS], dtype=np.int64
        )
        profiles = [PROFILES[m[5]] for m in MODELS]
        self.profile = np.array([p[:2] for p in profiles], dtype=float)
        self.cache = np.array([p[2:] for p in profiles], dtype=float)
        self.embedding = np.array([m[5] == "embedding" for m in MODELS])
        self.reporting = np.isin(self.providers, ["openai", "anthropic"])
        popularity = np.array([m[3] for m in MODELS], dtype=float)
        self.window = np.array([m[4] for m in MODELS], dtype=float)
        # Users: Zipf-like activity, a handful of models each, a project or two.
        activity = 1.0 / np.arange(1, USERS + 1) ** 0.95
        self.user_weight = rng.permutation(activity / activity.sum())
        prefs = np.zeros((USERS, len(MODELS)))
        fallback = names.index("gpt-4o-mini")
        for user in range(USERS):
            count = int(np.clip(rng.poisson(3.0), 2, 7))
            chosen = rng.choice(len(MODELS), count, replace=False, p=popularity / popularity.sum())
            prefs[user, chosen] = popularity[chosen] * rng.gamma(1.0, 1.0, count)
            prefs[user, fallback] += 0.02 * prefs[user].sum()  # when the others are not out yet
        self.prefs = prefs
        weights = np.array([0.3, 0.2, 0.12, 0.12, 0.1, 0.08, 0.05, 0.03])
        self.user_projects = np.stack(
            [rng.choice(len(PROJECTS), USERS, p=weights), rng.choice(len(PROJECTS), USERS)], 1
        )
        # Rows per day: growth, weekly seasonality, year-end holidays, noise; today is partial.
        last = end.date()
        self.dates = [last - timedelta(days=days - 1 - i) for i in range(days)]
        hourly = np.array(HOURLY) / sum(HOURLY)
        into_today = (end - datetime.combine(last, datetime.min.time(), UTC)).total_seconds()
        hour, fraction = int(into_today // 3600), (into_today % 3600) / 3600
        self.today_hours = np.where(np.arange(24) < hour, hourly, 0.0)
        self.today_hours[hour] = hourly[hour] * fraction
        self.today_seconds = fraction * 3600
        t = np.arange(days) / max(days - 1, 1)
        day_weight = np.exp(np.log(2.2) * t) * np.array([WEEKDAY[d.weekday()] for d in self.dates])
        holidays = np.array(
            [(d.month, d.day) >= (12, 24) or d.timetuple()[7] == 1 for d in self.dates]
        )
        day_weight *= np.where(holidays, 0.5, 1.0) * rng.lognormal(0.0, 0.08, days)
        day_weight[-1] *= self.today_hours.sum()
        self.per_day = rng.multinomial(rows, day_weight / day_weight.sum())
        self.hourly = hourly
        self.model_requests = np.zeros(len(MODELS), dtype=np.int64)

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[Chunk]:
        pending: list[dict[str, np.ndarray]] = []
        first = done = 0
        for index, day in enumerate(self.dates):
            if self.per_day[index]:
                pending.append(self._day(index, day, int(self.per_day[index])))
                done += int(self.per_day[index])
            if pending and (done - first >= size or index == len(self.dates) - 1):
                columns = {k: np.concatenate([p[k] for p in pending]) for k in pending[0]}
                yield Chunk(first, columns)
                first, pending = done, []

    def _day(self, index: int, day: date, n: int) -> dict[str, np.ndarray]:
        rng = self.rng
        today = index == len(self.dates) - 1
        hours = self.today_hours if today else self.hourly
        hour = rng.choice(24, n, p=hours / hours.sum())
        length = np.full(n, 3600.0)
        if today:
            length[hour == hours.nonzero()[0].max()] = max(self.today_seconds, 1.0)
        start = int(datetime.combine(day, datetime.min.time(), UTC).timestamp()) * 10**6
        created = start + hour * 3_600_000_000 + (rng.random(n) * length * 1e6).astype(np.int64)
        created.sort()
        hour = (created - start) // 3_600_000_000
        users = rng.choice(USERS, n, p=self.user_weight)
        # Models available this day, each user's preferences among them.
        t = index / max(len(self.dates) - 1, 1)
        lo, hi = self.window[:, 0], self.window[:, 1]
        ramp = np.clip(np.minimum((t - lo) / 0.03 + 1, (hi - t) / 0.03 + 1), 0, 1)
        ramp[(lo == 0) & (t < 0.03)] = 1
        ramp[(hi == 1) & (t > 0.97)] = 1
        prefs = self.prefs * ramp
        cumulative = np.cumsum(prefs / prefs.sum(1, keepdims=True), 1)
        model = (rng.random(n)[:, None] > cumulative[users]).sum(1)
        model = np.minimum(model, len(MODELS) - 1)
        project = self.user_projects[users, (rng.random(n) < 0.2).astype(int)]
        # Tokens: log-normal around each profile's medians.
        medians, cache = self.profile[model], self.cache[model]
        inp = np.maximum(1, rng.lognormal(np.log(medians[:, 0]), 1.0)).astype(np.int64)
        out = np.where(medians[:, 1] > 0, rng.lognormal(np.log(medians[:, 1] + 1), 0.9), 0)
        out = out.astype(np.int64)
        reads = rng.random(n) < cache[:, 0]
        cache_read = np.where(reads, rng.lognormal(np.log(cache[:, 1] + 1), 1.1), 0)
        writes = rng.random(n) < cache[:, 2]
        cache_write = np.where(writes, rng.lognormal(np.log(cache[:, 3] + 1), 1.0), 0)
        cache_read, cache_write = cache_read.astype(np.int64), cache_write.astype(np.int64)
        # A few pre-aggregated buckets of many requests.
        count = np.where(rng.random(n) < 0.005, rng.integers(2, 60, n), 1)
        inp, out, cache_read, cache_write = (x * count for x in (inp, out, cache_read, cache_write))
        error = rng.random(n) < 0.02
        out = np.where(error, 0, out)
        cache_read = np.where(error, 0, cache_read)
        cache_write = np.where(error, 0, cache_write)
        prices = self.prices[model]
        cost = (
            inp * prices[:, 0]
            + out * prices[:, 1]
            + cache_read * prices[:, 2]
            + cache_write * prices[:, 3]
            + 50
        ) // 100
        priced = self.priced[model]
        source = np.where(
            priced,
            np.where(self.reporting[model] & (rng.random(n) < 0.5), "reported", "estimated"),
            None,
        ).astype(object)
        seconds = np.where(
            error,
            rng.lognormal(np.log(0.5), 1.0, n),
            rng.lognormal(np.log(0.8 + out / count / 400), 0.45),
        )
        seconds = np.where(self.embedding[model] & ~error, seconds * 0.2, seconds)
        seconds = np.round(np.clip(seconds, 0.02, 600), 3)
        np.add.at(self.model_requests, model, count)
        return {
            "created_us": created,
            "user": users,
            "session": users.astype(np.int64) * 10**6 + index * 8 + hour // 3,
            "session_null": rng.random(n) < 0.05,
            "project": project,
            "model": model,
            "request_count": count,
            "input_tokens": inp,
            "output_tokens": out,
            "cache_read_tokens": cache_read,
            "cache_write_tokens": cache_write,
            "cost_micro": cost,
            "priced": priced,
            "cost_source": source,
            "billable": rng.random(n) >= 0.01,
            "seconds": seconds,
            "seconds_null": rng.random(n) < 0.01,
            "error": error,
        }

    def top_model(self) -> str:
        return str(self.model_names[int(self.model_requests.argmax())])


def text_columns(chunk: Chunk) -> dict[str, np.ndarray]:
    """The chunk's columns as the values inserted (object arrays, None for NULL)."""
    c = chunk.columns
    n = len(chunk)
    created = STRINGS.replace(
        np.datetime_as_string(c["created_us"].astype("datetime64[us]"), unit="us"), "T", " "
    )
    sessions = np.array([f"s-{k:012x}" for k in c["session"].tolist()], dtype=object)
    sessions[c["session_null"]] = None
    seconds = c["seconds"].astype(object)
    seconds[c["seconds_null"]] = None
    model = c["model"]
    return {
        "request_id": np.array(
            [f"cvb-{i:010d}" for i in range(chunk.first, chunk.first + n)], dtype=object
        ),
        "created_at": created.astype(object),
        "user_id": USER_NAMES[c["user"]],
        "session_id": sessions,
        "project": PROJECT_NAMES[c["project"]],
        "model": MODEL_NAMES[model],
        "provider": PROVIDER_NAMES[model],
        "processing_time_seconds": seconds,
        "status": np.where(c["error"], "error", "success").astype(object),
    }


def cost_text(chunk: Chunk) -> np.ndarray:
    """Costs as exact decimal text in cents ('123.456789'), None when unpriced."""
    micro = chunk.columns["cost_micro"]
    whole = STRINGS.mod("%d.", micro // 10**6)
    frac = STRINGS.zfill((micro % 10**6).astype(str), 6)
    text = STRINGS.add(whole, frac).astype(object)
    text[~chunk.columns["priced"]] = None
    return text


# --- loading ----------------------------------------------------------------------------


class Loader:
    name = ""

    def __init__(self) -> None:
        self.seconds = 0.0

    def start(self) -> None: ...

    def write(self, chunk: Chunk, text: dict[str, np.ndarray]) -> None: ...

    def finish(self) -> None: ...


def table_rows(chunk: Chunk, text: dict[str, np.ndarray], cost: np.ndarray, billable: np.ndarray):
    """A chunk as usage_logs rows in COLUMNS order, with the cost and billable columns as
    the target database takes them."""
    c = chunk.columns
    counts = ("request_count", "input_tokens", "output_tokens")
    counts += ("cache_read_tokens", "cache_write_tokens", "cost_source")
    values = {**text, **{k: c[k] for k in counts}, "cost_cents": cost, "billable": billable}
    return zip(*(values[k].tolist() for k in COLUMNS), strict=True)


class SqliteLoader(Loader):
    name = "sqlite"

    def __init__(self, path: Path, chatvault: str) -> None:
        super().__init__()
        self.path, self.chatvault = path, chatvault

    def start(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        migrate(self.chatvault, f"sqlite:///{self.path}")
        self.conn = sqlite3.connect(self.path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = OFF")
        self.conn.execute("PRAGMA cache_size = -262144")
        marks = ", ".join("?" * len(COLUMNS))
        self.sql = f"INSERT INTO usage_logs ({', '.join(COLUMNS)}) VALUES ({marks})"

    def write(self, chunk: Chunk, text: dict[str, np.ndarray]) -> None:
        started = time.perf_counter()
        c = chunk.columns
        cost = c["cost_micro"].astype(object)
        cost[~c["priced"]] = None
        rows = table_rows(chunk, text, cost, c["billable"].astype(np.int64))
        self.conn.execute("BEGIN")
        self.conn.executemany(self.sql, rows)
        self.conn.execute("COMMIT")
        self.seconds += time.perf_counter() - started

    def finish(self) -> None:
        started = time.perf_counter()
        self.conn.execute("ANALYZE")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()
        self.seconds += time.perf_counter() - started


class PostgresLoader(Loader):
    name = "postgresql"

    def __init__(self, url: str, chatvault: str) -> None:
        super().__init__()
        self.url, self.chatvault = url, chatvault

    def start(self) -> None:
        import psycopg

        database = self.url.rsplit("/", 1)[1].split("?")[0]
        with psycopg.connect(admin_url(self.url), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{database}"')
        migrate(self.chatvault, self.url)
        self.conn = psycopg.connect(self.url)
        self.conn.execute("SET synchronous_commit = off")

    def write(self, chunk: Chunk, text: dict[str, np.ndarray]) -> None:
        started = time.perf_counter()
        rows = table_rows(chunk, text, text["cost_text"], chunk.columns["billable"])
        with self.conn.cursor() as cur:
            sql = f"COPY usage_logs ({', '.join(COLUMNS)}) FROM STDIN"
            with cur.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        self.conn.commit()
        self.seconds += time.perf_counter() - started

    def finish(self) -> None:
        started = time.perf_counter()
        self.conn.autocommit = True
        self.conn.execute("VACUUM ANALYZE")
        self.conn.close()
        self.seconds += time.perf_counter() - started


DUCKDB_TABLE = """
CREATE TABLE usage_logs (
    id BIGINT, request_id VARCHAR, created_at TIMESTAMP, user_id VARCHAR, session_id VARCHAR,
    project VARCHAR, model VARCHAR, provider VARCHAR, request_count INTEGER,
    input_tokens BIGINT, output_tokens BIGINT, cache_read_tokens BIGINT,
    cache_write_tokens BIGINT, cost_cents DECIMAL(18, 6), cost_source VARCHAR,
    billable BOOLEAN, processing_time_seconds DOUBLE, status VARCHAR
)
"""


class DuckdbLoader(Loader):
    name = "duckdb"

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def start(self) -> None:
        import duckdb

        self.path.unlink(missing_ok=True)
        Path(f"{self.path}.wal").unlink(missing_ok=True)
        self.conn = duckdb.connect(str(self.path))
        self.conn.execute(DUCKDB_TABLE)

    def write(self, chunk: Chunk, text: dict[str, np.ndarray]) -> None:
        started = time.perf_counter()
        c = chunk.columns
        frame = {  # noqa: F841 (DuckDB reads the local dict of numpy arrays by its name)
            "id": np.arange(chunk.first + 1, chunk.first + len(chunk) + 1),
            **{k: text[k] for k in ("request_id", "created_at", "user_id", "session_id")},
            **{k: text[k] for k in ("project", "model", "provider", "status")},
            **{k: c[k] for k in ("request_count", "input_tokens", "output_tokens")},
            **{k: c[k] for k in ("cache_read_tokens", "cache_write_tokens", "billable")},
            "cost_cents": text["cost_text"],
            "cost_source": c["cost_source"],
            "seconds": c["seconds"],
            "seconds_null": c["seconds_null"],
        }
        self.conn.execute(
            "INSERT INTO usage_logs SELECT id, request_id, created_at::TIMESTAMP, user_id, "
            "session_id, project, model, provider, request_count, input_tokens, output_tokens, "
            "cache_read_tokens, cache_write_tokens, cost_cents::DECIMAL(18, 6), cost_source, "
            "billable, CASE WHEN seconds_null THEN NULL ELSE seconds END, status FROM frame"
        )
        self.seconds += time.perf_counter() - started

    def finish(self) -> None:
        started = time.perf_counter()
        self.conn.execute("CHECKPOINT")
        self.conn.close()
        self.seconds += time.perf_counter() - started


def admin_url(url: str) -> str:
    """The same server, its `postgres` database (to drop and create the benchmark's)."""
    base, _, rest = url.rpartition("/")
    query = rest.partition("?")[2]
    return f"{base}/postgres" + (f"?{query}" if query else "")


def postgres_problem(url: str) -> str | None:
    """Why the PostgreSQL server cannot be used, or None."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[postgresql]')"
    try:
        with psycopg.connect(admin_url(url), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]
    return None


def migrate(chatvault: str, url: str) -> float:
    """`chatvault db migrate`; its seconds. Raises with its stderr when it fails."""
    started = time.perf_counter()
    done = subprocess.run(
        [chatvault, "--database", url, "db", "migrate"], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"chatvault db migrate failed on {url}:\n{done.stderr}")
    return time.perf_counter() - started


# --- the cache of generated databases ---------------------------------------------------


@dataclass
class Dataset:
    rows: int
    days: int
    seed: int
    workdir: Path
    pg_url: str
    chatvault: str
    targets: list[str]  # sqlite, postgresql, duckdb
    max_age: timedelta
    fresh: bool
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"rows={self.rows} days={self.days} seed={self.seed} v{GENERATOR_VERSION}"

    @property
    def sqlite_path(self) -> Path:
        return self.workdir / f"usage-{self.rows}-{self.days}-{self.seed}.sqlite"

    @property
    def duckdb_path(self) -> Path:
        return self.workdir / f"usage-{self.rows}-{self.days}-{self.seed}.duckdb"

    @property
    def meta_path(self) -> Path:
        return self.workdir / "cache.json"

    def url(self, dialect: str) -> str:
        return f"sqlite:///{self.sqlite_path}" if dialect == "sqlite" else self.pg_url

    def cache_id(self, target: str) -> str:
        where = {"sqlite": self.sqlite_path, "duckdb": self.duckdb_path}.get(target, self.pg_url)
        return f"{target} {where}"

    def prepare(self) -> dict[str, Any]:
        """Reuse what the cache holds, generate the rest (all targets from one pass)."""
        cache = json.loads(self.meta_path.read_text()) if self.meta_path.exists() else {}
        now = datetime.now(UTC)
        valid = {}
        for target in self.targets:
            entry = cache.get(self.cache_id(target))
            if self.fresh or not entry or entry["key"] != self.key:
                continue
            if now - datetime.fromisoformat(entry["end"]) > self.max_age:
                continue
            if self._holds(target, entry):
                valid[target] = entry
        ends = {entry["end"] for entry in valid.values()}
        if len(ends) > 1:  # different runs: start again so every engine has the same rows
            valid, ends = {}, set()
        missing = [t for t in self.targets if t not in valid]
        end = datetime.fromisoformat(ends.pop()) if ends else now - timedelta(minutes=5)
        for target, entry in valid.items():
            log(f"{target}: cached ({entry['rows']:,} rows ending {entry['end']})")
            entry["cached"] = True
        if missing:
            entries = self._generate(missing, end)
            for target, entry in entries.items():
                cache[self.cache_id(target)] = dict(entry)
                entry["cached"] = False
            self.workdir.mkdir(parents=True, exist_ok=True)
            self.meta_path.write_text(json.dumps(cache, indent=2))
            valid.update(entries)
        self.meta = valid
        return valid

    def _holds(self, target: str, entry: dict[str, Any]) -> bool:
        try:
            if target == "sqlite":
                if not self.sqlite_path.exists():
                    return False
                with sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True) as conn:
                    return conn.execute("SELECT max(id) FROM usage_logs").fetchone()[0] == self.rows
            if target == "duckdb":
                import duckdb

                if not self.duckdb_path.exists():
                    return False
                with duckdb.connect(str(self.duckdb_path), read_only=True) as conn:
                    return (
                        conn.execute("SELECT count(*) FROM usage_logs").fetchone()[0] == self.rows
                    )
            import psycopg

            with psycopg.connect(self.pg_url, connect_timeout=5) as conn:
                found = conn.execute("SELECT max(id), count(*) FROM usage_logs").fetchone()
                return found == (self.rows, self.rows)
        except Exception as exc:
            log(f"{target}: cache unusable ({str(exc).splitlines()[0]})")
            return False

    def _generate(self, targets: list[str], end: datetime) -> dict[str, dict[str, Any]]:
        loaders: list[Loader] = []
        for target in targets:
            if target == "sqlite":
                loaders.append(SqliteLoader(self.sqlite_path, self.chatvault))
            elif target == "postgresql":
                loaders.append(PostgresLoader(self.pg_url, self.chatvault))
            else:
                loaders.append(DuckdbLoader(self.duckdb_path))
        self.workdir.mkdir(parents=True, exist_ok=True)
        log(f"generating {self.rows:,} rows over {self.days} days into {', '.join(targets)}")
        started = time.perf_counter()
        for loader in loaders:
            loader.start()
        generator = Generator(self.rows, self.days, self.seed, end)
        generating = 0.0
        done, reported = 0, time.perf_counter()
        before = time.perf_counter()
        for chunk in generator.chunks():
            text = text_columns(chunk)
            if any(t != "sqlite" for t in targets):
                text["cost_text"] = cost_text(chunk)
            generating += time.perf_counter() - before
            for loader in loaders:
                loader.write(chunk, text)
            done += len(chunk)
            if time.perf_counter() - reported > 30:
                log(f"  {done:,} rows ({done / (time.perf_counter() - started):,.0f}/s)")
                reported = time.perf_counter()
            before = time.perf_counter()
        for loader in loaders:
            loader.finish()
        total = time.perf_counter() - started
        if done != self.rows:
            raise SystemExit(f"generated {done:,} rows instead of {self.rows:,}: a generator bug")
        log(
            f"generated in {total:.1f} s (generator {generating:.1f} s, "
            + ", ".join(f"{x.name} {x.seconds:.1f} s" for x in loaders)
            + ")"
        )
        requests = {
            str(name): int(count)
            for name, count in zip(generator.model_names, generator.model_requests, strict=True)
        }
        return {
            loader.name: {
                "key": self.key,
                "rows": self.rows,
                "end": end.isoformat(),
                "top_model": generator.top_model(),
                "model_requests": requests,
                "generate_seconds": round(generating, 2),
                "load_seconds": round(loader.seconds, 2),
                "total_seconds": round(total, 2),
                "generated_at": datetime.now(UTC).isoformat(),
            }
            for loader in loaders
        }


# --- measuring (the process timing helpers are in timing.py) ----------------------------


# `chatvault ARGS` as its console script runs it, with the peak reported.
CHATVAULT_MEASURED = (
    PEAK
    + r"""
import sys
from chatvault.cli.app import main
sys.argv = ["chatvault", *sys.argv[1:]]
main()
"""
)

IN_PROCESS = r"""
import json, statistics, sys, time, traceback
spec = json.loads(sys.argv[1])
from typer.testing import CliRunner
from chatvault.cli.app import app
runner = CliRunner()


def library_call(argv):
    from chatvault.reports import usage
    from chatvault.cli.filters import usage_filter, zone_of
    from chatvault.cli.usage import _group_by

    opts, i = {}, 0
    while i < len(argv):  # every option of QUERIES takes a value; "usage" is the command
        if argv[i].startswith("-"):
            opts[argv[i]] = argv[i + 1]
        i += 2 if argv[i].startswith("-") else 1
    zone = zone_of(opts.get("--tz", "UTC"))
    models = [opts["--model"]] if "--model" in opts else None
    rows = usage_filter(zone, opts.get("--since"), opts.get("--until"), models, None, None,
                        None, None, False)
    limit = int(opts["--limit"]) if "--limit" in opts else None
    groups = _group_by(opts.get("--group-by"))
    return lambda: usage.report(opts["--database"], rows, groups, zone, lambda _: None, (),
                                opts.get("--sort"), False, limit, 1)


results = []
for argv in spec["queries"]:
    def failed(r):
        exc = r.exc_info and r.exit_code != 2 and "".join(traceback.format_exception(*r.exc_info))
        return {"ok": False, "exit_code": r.exit_code, "stdout": r.stdout[-3000:],
                "stderr": r.stderr[-3000:], "exception": (exc or "")[-3000:]}
    r = runner.invoke(app, argv)  # the warm-up, not timed; its output is checked
    if r.exit_code != 0:
        results.append(failed(r))
        continue
    # The query time: the library call the command makes (filters, rollups brought up to
    # date, SQL, the report's rows), without Typer's parsing or the rendering.
    query = library_call(argv)
    times = []
    for _ in range(spec["repeat"]):
        started = time.perf_counter()
        query()
        times.append(time.perf_counter() - started)
    results.append({"ok": True, "seconds": statistics.median(times), "stdout": r.stdout})
print("\n" + json.dumps(results))
"""

BARE_EXPORT_SQLITE = (
    PEAK
    + r"""
import csv, sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
cur = conn.execute("SELECT * FROM usage_logs ORDER BY created_at, id")
n = 0
with open(sys.argv[2], "w", newline="") as f:
    out = csv.writer(f)
    out.writerow([d[0] for d in cur.description])
    while rows := cur.fetchmany(10000):
        out.writerows(rows)
        n += len(rows)
print(n)
"""
)

BARE_EXPORT_POSTGRESQL = (
    PEAK
    + r"""
import csv, sys, psycopg
with psycopg.connect(sys.argv[1]) as conn, conn.cursor(name="export") as cur:
    cur.itersize = 10000
    cur.execute("SELECT * FROM usage_logs ORDER BY created_at, id")
    n = 0
    with open(sys.argv[2], "w", newline="") as f:
        out = csv.writer(f)
        rows = cur.fetchmany(10000)
        out.writerow([d[0] for d in cur.description])
        while rows:
            out.writerows(rows)
            n += len(rows)
            rows = cur.fetchmany(10000)
print(n)
"""
)


# --- the same reports as hand-written SQL -----------------------------------------------


@dataclass
class Report:
    """What one `usage` argv asks for, in UTC (the benchmark passes --tz UTC)."""

    group: str
    start: datetime | None
    end: datetime | None
    model: str | None
    sort_cost: bool
    limit: int | None


def option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def utc_point(text: str, now: datetime) -> datetime:
    """--since/--until as chatvault reads them in UTC: `Nd` = the last N days from midnight."""
    today = now.date()
    first = today.replace(day=1)
    previous_month = (first - timedelta(days=1)).replace(day=1)
    monday = today - timedelta(days=today.weekday())
    days = {
        "today": today,
        "yesterday": today - timedelta(days=1),
        "this-week": monday,
        "last-week": monday - timedelta(days=7),
        "this-month": first,
        "last-month": previous_month,
    }
    value = text.strip().lower()
    if value in days:
        day = days[value]
    elif value.endswith("h") and value[:-1].isdigit():
        return now - timedelta(hours=int(value[:-1]))
    elif value.endswith("mo") and value[:-2].isdigit():
        index = first.year * 12 + first.month - 1 - (int(value[:-2]) - 1)
        day = date(index // 12, index % 12 + 1, 1)
    elif value[-1:] in ("d", "w") and value[:-1].isdigit():
        day = today - timedelta(days=int(value[:-1]) * (7 if value[-1] == "w" else 1) - 1)
    elif len(value) == 10:
        day = date.fromisoformat(value)
    else:
        parsed = datetime.fromisoformat(text)
        return parsed.replace(tzinfo=parsed.tzinfo or UTC).astimezone(UTC)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def report_of(argv: list[str], now: datetime) -> Report:
    since, until, limit = option(argv, "--since"), option(argv, "--until"), option(argv, "--limit")
    return Report(
        group=option(argv, "--group-by") or "model",
        start=utc_point(since, now) if since else None,
        end=utc_point(until, now) if until else None,
        model=option(argv, "--model"),
        sort_cost=option(argv, "--sort") == "cost",
        limit=int(limit) if limit else None,
    )


DAY_EXPR = {
    "sqlite": "substr(created_at, 1, 10)",
    "postgresql": "created_at::date",
    "duckdb": "created_at::date",
}
GROUP_EXPR = {"model": "model", "user": "user_id", "provider": "provider", "project": "project"}
AGGREGATES = (
    "count(*), sum(request_count), sum(input_tokens), sum(output_tokens), "
    "sum(cache_read_tokens), sum(cache_write_tokens), sum(cost_cents), "
    "sum(CASE WHEN cost_cents IS NULL THEN request_count ELSE 0 END), "
    "sum(CASE WHEN status = 'error' THEN request_count ELSE 0 END)"
)


def raw_sql(report: Report, engine: str) -> tuple[str, list[Any]]:
    mark = "%s" if engine == "postgresql" else "?"
    key = DAY_EXPR[engine] if report.group == "day" else GROUP_EXPR[report.group]
    where, params = [], []

    def bound(at: datetime) -> Any:
        naive = at.astimezone(UTC).replace(tzinfo=None)
        return naive.isoformat(" ", "microseconds") if engine == "sqlite" else naive

    if report.start:
        where.append(f"created_at >= {mark}")
        params.append(bound(report.start))
    if report.end:
        where.append(f"created_at < {mark}")
        params.append(bound(report.end))
    if report.model:
        where.append(f"model = {mark}")
        params.append(report.model)
    sql = f"SELECT {key} AS key, {AGGREGATES} FROM usage_logs"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " GROUP BY 1 ORDER BY " + ("8 DESC NULLS LAST, 1" if report.sort_cost else "1")
    if report.limit:
        sql += f" LIMIT {report.limit}"
    return sql, params


def normalise(rows: list[tuple], engine: str) -> list[tuple]:
    """Rows comparable across engines: keys as text, counts as int, cost as Decimal cents."""
    result = []
    for row in rows:
        cost = row[7]
        if cost is not None:
            cost = Decimal(cost).scaleb(-6) if engine == "sqlite" else Decimal(cost)
        counts = tuple(int(v or 0) for v in (*row[1:7], *row[8:]))
        result.append((str(row[0]), *counts, cost))
    return result


QueryRunner = Callable[[str, list[Any]], list[tuple]]


def sqlite_runner(path: Path) -> tuple[Any, QueryRunner]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.execute("PRAGMA cache_size = -16384")  # what chatvault's own connections use
    return conn, lambda sql, params: conn.execute(sql, params).fetchall()


def postgres_runner(url: str) -> tuple[Any, QueryRunner]:
    import psycopg

    conn = psycopg.connect(url, autocommit=True)
    return conn, lambda sql, params: conn.execute(sql, params).fetchall()


def duckdb_runner(path: Path) -> tuple[Any, QueryRunner]:
    import duckdb

    conn = duckdb.connect(str(path), read_only=True)
    return conn, lambda sql, params: conn.execute(sql, params).fetchall()


def check_json(stdout: str, expected: list[tuple], group: str) -> str:
    """Does chatvault's JSON hold the same groups, requests, tokens and costs as the SQL?

    Reads the `rows` of `chatvault.usage/1` (the group's name as key, cost_usd as text);
    anything else is reported as '?' rather than guessed at.
    """
    try:
        data = json.loads(stdout)
    except ValueError:
        return "not JSON"
    rows = data.get("rows") if isinstance(data, dict) else data
    if not isinstance(rows, list) or (rows and not isinstance(rows[0], dict)):
        return "?"
    key_name = next((k for k in (group, f"{group}_id") if rows and k in rows[0]), None)
    if rows and key_name is None:
        return "? (no group column)"
    got = {str(r[key_name]): r for r in rows if r.get("requests")}
    fields = ("requests", "input_tokens", "output_tokens", "cache_read_tokens")
    fields += ("cache_write_tokens", "unpriced_requests")
    for row in expected:
        key, counts, cost = row[0], row[1:-1], row[-1]
        want = dict(zip(fields, (counts[1], *counts[2:6], counts[6]), strict=True))
        mine = got.pop(key, None)
        if mine is None:
            return f"DIFF: group {key} missing"
        for name, value in want.items():
            if name in mine and int(mine[name]) != value:
                return f"DIFF: {key} {name} {mine[name]} (SQL {value})"
        if "cost_usd" in mine:
            usd = None if mine["cost_usd"] is None else Decimal(str(mine["cost_usd"]))
            if (usd is None) != (cost is None) or (usd is not None and usd * 100 != cost):
                return f"DIFF: {key} cost_usd {mine['cost_usd']} (SQL {cost} cents)"
    if got:
        return f"DIFF: {len(got)} groups more than SQL (e.g. {next(iter(got))})"
    return f"ok ({len(expected)} groups)"


# --- the benchmark ----------------------------------------------------------------------


@dataclass
class QueryResult:
    label: str
    argv: list[str]
    inproc: float | None = None
    inproc_error: str = ""
    raw: float | None = None
    raw_rows: list[tuple] = field(default_factory=list)
    duckdb: float | None = None
    duckdb_rows: list[tuple] = field(default_factory=list)
    process: float | None = None
    floor: float | None = None  # the import floor, measured alternately with `process`
    process_error: str = ""
    check: str = ""


@dataclass
class DialectResult:
    dialect: str
    url: str
    load: dict[str, Any]
    migrate_seconds: float | None = None
    migrate_error: str = ""
    first_query: Run | None = None
    queries: list[QueryResult] = field(default_factory=list)
    export: Run | None = None
    export_rows: int | None = None
    bare_export: Run | None = None
    bare_rows: int | None = None


def short_error(run: Run | dict[str, Any]) -> str:
    if isinstance(run, Run):
        text = run.stderr.strip() or run.stdout.strip()
        code = run.returncode
    else:
        text = (run.get("stderr") or run.get("stdout") or run.get("exception") or "").strip()
        code = run.get("exit_code")
    last = text.splitlines()[-1] if text else ""
    return f"exit {code}: {last[:160]}"


def count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as f:
        while block := f.read(1 << 24):
            lines += block.count(b"\n")
    return lines


def bench_dialect(
    dialect: str, dataset: Dataset, args: argparse.Namespace, now: datetime
) -> DialectResult:
    url = dataset.url(dialect)
    result = DialectResult(dialect, url, dataset.meta[dialect])
    top_model = dataset.meta[dialect]["top_model"]
    cli = args.chatvault
    workdir = args.workdir

    log(f"{dialect}: chatvault db migrate (a cached database may be behind head)")
    try:
        result.migrate_seconds = migrate(cli, url)
    except SystemExit as exc:  # the reports will fail too; the baselines still run
        log(str(exc))
        result.migrate_error = str(exc).strip().splitlines()[-1][:200]

    argvs = [
        [arg.replace("{top_model}", top_model) for arg in argv] + COMMON_ARGS for _, argv in QUERIES
    ]
    log(f"{dialect}: first query (rollup build or refresh)")
    result.first_query = run_measured([cli, "--database", url, *argvs[0]], cwd=workdir)
    if result.first_query.returncode != 0:
        log(f"  failed: {short_error(result.first_query)}")

    log(f"{dialect}: chatvault usage in one process, median of {args.repeat}")
    spec = {"queries": [["--database", url, *argv] for argv in argvs], "repeat": args.repeat}
    inproc = run_measured([sys.executable, "-c", IN_PROCESS, json.dumps(spec)], cwd=workdir)
    try:
        inproc_results = json.loads(inproc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        inproc_results = [{"ok": False, "exit_code": inproc.returncode, "stderr": inproc.stderr}]
        inproc_results *= len(QUERIES)

    if dialect == "sqlite":
        raw_conn, raw_runner = sqlite_runner(dataset.sqlite_path)
    else:
        raw_conn, raw_runner = postgres_runner(url)
    duck_conn, duck = None, None
    if "duckdb" in dataset.meta:
        duck_conn, duck = duckdb_runner(dataset.duckdb_path)

    for (label, _), argv, measured in zip(QUERIES, argvs, inproc_results, strict=True):
        query = QueryResult(label, argv)
        result.queries.append(query)
        report = report_of(argv, datetime.now(UTC))  # the boundaries chatvault sees now
        if measured["ok"]:
            query.inproc = measured["seconds"]
        else:
            query.inproc_error = short_error(measured)
            log(f"  {label}: chatvault failed, {query.inproc_error}")
            for part in ("stdout", "stderr", "exception"):
                if measured.get(part):
                    print(f"    {part}: {measured[part].strip()[-1500:]}", file=sys.stderr)
        log(f"{dialect}: {label}: raw SQL")
        sql, params = raw_sql(report, dialect)
        query.raw, rows = timed(lambda sql=sql, params=params: raw_runner(sql, params), args.repeat)
        query.raw_rows = normalise(rows, dialect)
        if duck is not None:
            sql, params = raw_sql(report, "duckdb")
            query.duckdb, rows = timed(
                lambda sql=sql, params=params: duck(sql, params), args.repeat
            )
            query.duckdb_rows = normalise(rows, "duckdb")
        if measured["ok"]:
            query.check = check_json(measured["stdout"], query.raw_rows, report.group)
        log(f"{dialect}: {label}: whole process")
        seconds, query.floor, run = paired_runs(
            [cli, "--database", url, *argv], FLOOR, args.repeat, workdir
        )
        query.process = seconds
        if seconds is None:
            query.process_error = short_error(run)
    raw_conn.close()
    if duck_conn is not None:
        duck_conn.close()

    if not args.skip_export:
        out = workdir / f"export-{dialect}.csv"
        log(f"{dialect}: chatvault export of every row")
        export = ["export", "--output", str(out), "--format", "csv", "--quiet"]
        result.export = run_measured(
            [sys.executable, "-c", CHATVAULT_MEASURED, "--database", url, *export], cwd=workdir
        )
        if result.export.returncode == 0 and out.exists():
            result.export_rows = max(count_lines(out) - 1, 0)
        else:
            log(f"  failed: {short_error(result.export)}")
        bare_out = workdir / f"export-{dialect}-bare.csv"
        log(f"{dialect}: bare export loop")
        script = BARE_EXPORT_SQLITE if dialect == "sqlite" else BARE_EXPORT_POSTGRESQL
        target = str(dataset.sqlite_path) if dialect == "sqlite" else url
        result.bare_export = run_measured(
            [sys.executable, "-c", script, target, str(bare_out)], cwd=workdir
        )
        if result.bare_export.returncode == 0:
            result.bare_rows = int(result.bare_export.stdout.split()[-1])
        else:
            log(f"  bare loop failed: {short_error(result.bare_export)}")
        if not args.keep:
            out.unlink(missing_ok=True)
            bare_out.unlink(missing_ok=True)
    return result


# --- the report -------------------------------------------------------------------------


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "FAILED"
    if seconds < 0.01:
        return f"{seconds * 1000:.2f}"
    return f"{seconds * 1000:,.1f}" if seconds < 10 else f"{seconds * 1000:,.0f}"


def verdict(value: float | None, goal: float, at_least: bool) -> str:
    if value is None:
        return "n/a"
    ok = value >= goal if at_least else value <= goal
    return f"{value:,.2f}x {'PASS' if ok else 'MISS'}"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def print_report(
    results: list[DialectResult],
    floor: float,
    help_run: tuple[float | None, Run],
    args: argparse.Namespace,
    now: datetime,
    dataset: Dataset,
) -> None:
    p = print
    goals: list[tuple[str, bool | None]] = []
    p(f"## `bench/usage.py`: {args.rows:,} rows over {args.days} days, {now:%Y-%m-%d %H:%M} UTC\n")
    versions = [f"Python {platform.python_version()}", f"SQLite {sqlite3.sqlite_version}"]
    try:
        import duckdb

        versions.append(f"DuckDB {duckdb.__version__}")
    except ImportError:
        versions.append("DuckDB not installed")
    p(
        f"{os.cpu_count()} cores; {', '.join(versions)}; "
        f"medians of {args.repeat} runs after a warm-up."
    )
    p(
        f'Import floor (`python -c "import typer, sqlalchemy"`): {ms(floor)} ms at the start; '
        "each whole process below is timed alternately with the floor, the median of those "
        "floor runs in its row.\n"
    )
    any_load = next(iter(dataset.meta.values()))
    p(
        f"Data: {any_load['rows']:,} rows ending {any_load['end'][:19]} UTC, top model "
        f"{any_load['top_model']}.\n"
    )
    p("| load | generated | rows | generator s | insert s | rows/s | whole pass s |")
    p("|---|---|---|---|---|---|---|")
    for target, load in dataset.meta.items():
        cached = " (cached)" if load.get("cached") else ""
        rate = load["rows"] / max(load["load_seconds"], 1e-9)
        p(
            f"| {target} | {load['generated_at'][:16]}{cached} | {load['rows']:,} "
            f"| {load['generate_seconds']:.1f} | {load['load_seconds']:.1f} | {rate:,.0f} "
            f"| {load['total_seconds']:.1f} |"
        )
    p("\nThe generator's time is shared by every target of one pass; insert s is each one's.\n")
    for r in results:
        load = r.load
        p(f"### {r.dialect}\n")
        if r.migrate_seconds is not None:
            p(f"`db migrate` on it now: {r.migrate_seconds:.2f} s.")
        else:
            p(f"`db migrate` on it now: FAILED ({r.migrate_error}).")
        first = r.first_query
        if first is not None:
            state = "ok" if first.returncode == 0 else short_error(first)
            if load.get("cached"):
                state += "; a cached database keeps its rollups: --fresh times the build"
            p(
                "First query (rollup build/refresh), whole process: "
                f"{first.seconds:.2f} s ({state}).\n"
            )
        p(
            "| query | chatvault in-process ms | raw SQL ms | speedup (goal >= 100x) "
            "| DuckDB ms | vs DuckDB (goal <= 1x) | whole process ms | floor ms "
            "| vs floor (goal <= 1.5x) | JSON vs SQL |"
        )
        p("|---|---|---|---|---|---|---|---|---|---|")
        for q in r.queries:
            speedup = ratio(q.raw, q.inproc)
            vs_duck = ratio(q.inproc, q.duckdb)
            vs_floor = ratio(q.process, q.floor)
            goals.append(
                (f"{r.dialect} {q.label}: >= 100x raw SQL", _ok(speedup, GOAL_SPEEDUP, True))
            )
            if q.duckdb is not None:
                goals.append(
                    (f"{r.dialect} {q.label}: <= DuckDB", _ok(vs_duck, GOAL_DUCKDB, False))
                )
            goals.append(
                (
                    f"{r.dialect} {q.label}: process <= 1.5x floor",
                    _ok(vs_floor, GOAL_PROCESS, False),
                )
            )
            p(
                f"| {q.label} | {ms(q.inproc)} | {ms(q.raw)} | "
                f"{verdict(speedup, GOAL_SPEEDUP, True)} | "
                f"{ms(q.duckdb) if q.duckdb is not None else 'n/a'} | "
                f"{verdict(vs_duck, GOAL_DUCKDB, False)} | {ms(q.process)} | {ms(q.floor)} | "
                f"{verdict(vs_floor, GOAL_PROCESS, False)} | {q.check or 'n/a'} |"
            )
        failures = [(q.label, q.inproc_error or q.process_error) for q in r.queries]
        failures = [(label, e) for label, e in failures if e]
        if failures:
            p("")
            for label, error in failures:
                p(f"- {label}: chatvault FAILED ({error})")
        agree = all(q.raw_rows == q.duckdb_rows for q in r.queries if q.duckdb is not None)
        if any(q.duckdb is not None for q in r.queries):
            p(f"\nRaw SQL and DuckDB results identical: {'yes' if agree else 'NO'}.")
        if r.export is not None or r.bare_export is not None:
            p("\n| export of every row | seconds | rows | rows/s | peak RSS MB |")
            p("|---|---|---|---|---|")
            rates = {}
            for name, run, rows in (
                ("`chatvault export --format csv`", r.export, r.export_rows),
                ("bare cursor + csv.writer", r.bare_export, r.bare_rows),
            ):
                if run is None:
                    continue
                if run.returncode != 0 or rows is None:
                    p(f"| {name} | FAILED ({short_error(run)}) | | | |")
                    continue
                rates[name] = rows / run.seconds
                p(
                    f"| {name} | {run.seconds:.2f} | {rows:,} | {rows / run.seconds:,.0f} "
                    f"| {run.peak / 1e6:.0f} |"
                )
            cv = rates.get("`chatvault export --format csv`")
            bare = rates.get("bare cursor + csv.writer")
            export_ratio = ratio(cv, bare)
            peak = r.export.peak if r.export is not None and cv is not None else None
            p(
                "\nExport rate vs the bare loop (goal >= 0.8x): "
                + verdict(export_ratio, GOAL_EXPORT_RATE, True)
            )
            p(
                "Export peak memory (goal < 100 MB): "
                + (
                    "n/a"
                    if peak is None
                    else f"{peak / 1e6:.0f} MB {'PASS' if peak < GOAL_EXPORT_PEAK else 'MISS'}"
                )
            )
            if r.export_rows is not None and r.export_rows != load["rows"]:
                p(f"Export wrote {r.export_rows:,} data lines for {load['rows']:,} rows: CHECK")
            goals.append(
                (f"{r.dialect} export >= 0.8x bare loop", _ok(export_ratio, GOAL_EXPORT_RATE, True))
            )
            goals.append(
                (
                    f"{r.dialect} export peak < 100 MB",
                    None if peak is None else peak < GOAL_EXPORT_PEAK,
                )
            )
        p("")
    help_seconds, help_last = help_run
    p(
        "`chatvault --help`, whole process (goal < 150 ms): "
        + (
            f"{ms(help_seconds)} ms {'PASS' if help_seconds < GOAL_HELP else 'MISS'}"
            if help_seconds is not None
            else f"FAILED ({short_error(help_last)})"
        )
    )
    goals.append(("--help < 150 ms", None if help_seconds is None else help_seconds < GOAL_HELP))
    by_dialect = {r.dialect: r for r in results}
    if "sqlite" in by_dialect and "postgresql" in by_dialect:
        p("\n### PostgreSQL against SQLite (goal <= 2x)\n")
        p(
            "| query | SQLite in-process ms | PostgreSQL ms | ratio "
            "| SQLite process ms | PostgreSQL ms | ratio |"
        )
        p("|---|---|---|---|---|---|---|")
        for s, g in zip(
            by_dialect["sqlite"].queries, by_dialect["postgresql"].queries, strict=True
        ):
            inproc, process = ratio(g.inproc, s.inproc), ratio(g.process, s.process)
            goals.append((f"PostgreSQL {s.label}: <= 2x SQLite", _ok(inproc, GOAL_DIALECT, False)))
            p(
                f"| {s.label} | {ms(s.inproc)} | {ms(g.inproc)} "
                f"| {verdict(inproc, GOAL_DIALECT, False)} "
                f"| {ms(s.process)} | {ms(g.process)} | {verdict(process, GOAL_DIALECT, False)} |"
            )
        same = all(
            s.raw_rows == g.raw_rows
            for s, g in zip(
                by_dialect["sqlite"].queries, by_dialect["postgresql"].queries, strict=True
            )
        )
        p(f"\nRaw SQL results identical on SQLite and PostgreSQL: {'yes' if same else 'NO'}.")
    passed = sum(1 for _, ok in goals if ok)
    missed = [name for name, ok in goals if ok is False]
    unknown = [name for name, ok in goals if ok is None]
    p(
        f"\n**Goals: {passed} PASS, {len(missed)} MISS, "
        f"{len(unknown)} not measured (failed or n/a).**"
    )
    for name in missed:
        p(f"- MISS: {name}")
    for name in unknown:
        p(f"- not measured: {name}")


def _ok(value: float | None, goal: float, at_least: bool) -> bool | None:
    if value is None:
        return None
    return value >= goal if at_least else value <= goal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dialects", default="sqlite,postgresql")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/cvbench"))
    parser.add_argument(
        "--pg-url",
        help=f"a PostgreSQL database the benchmark may drop and create [default: {DEFAULT_PG}, "
        "or .../cvbench_smoke with --smoke]",
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="regenerate the cached databases")
    parser.add_argument("--keep", action="store_true", help="keep the export CSV files")
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument(
        "--max-age-hours",
        type=float,
        default=24,
        help="reuse a cached database whose rows end at most this long ago [default: 24]",
    )
    parser.add_argument("--no-duckdb", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="20,000 rows, 1 repeat: a quick check")
    parser.add_argument("--chatvault", help="the chatvault executable [default: beside python]")
    args = parser.parse_args()
    if args.smoke:
        args.rows, args.repeat = 20_000, 1
    args.pg_url = args.pg_url or (DEFAULT_PG + "_smoke" if args.smoke else DEFAULT_PG)
    args.chatvault = args.chatvault or str(Path(sys.executable).parent / "chatvault")
    if not Path(args.chatvault).exists():
        args.chatvault = shutil.which("chatvault") or args.chatvault
    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    dialects = [d.strip() for d in args.dialects.split(",") if d.strip()]
    unknown = set(dialects) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown dialects: {', '.join(sorted(unknown))}")
    if "postgresql" in dialects:
        problem = postgres_problem(args.pg_url)
        if problem:
            log(f"PostgreSQL skipped: {problem}")
            dialects.remove("postgresql")
    if not dialects:
        raise SystemExit("no dialect left to measure")
    targets = list(dialects)
    if not args.no_duckdb:
        try:
            import duckdb  # noqa: F401

            targets.append("duckdb")
        except ImportError:
            log("duckdb is not installed: no fast-engine reference")

    dataset = Dataset(
        args.rows,
        args.days,
        args.seed,
        args.workdir,
        args.pg_url,
        args.chatvault,
        targets,
        timedelta(hours=args.max_age_hours),
        args.fresh,
    )
    dataset.prepare()
    now = datetime.now(UTC)

    log("import floor: python -c 'import typer, sqlalchemy'")
    floor, floor_run = median_runs(FLOOR, args.repeat, args.workdir)
    if floor is None:
        raise SystemExit(f"the import floor failed: {floor_run.stderr}")
    log("chatvault --help")
    help_run = median_runs([args.chatvault, "--help"], args.repeat, args.workdir)

    results = [bench_dialect(d, dataset, args, now) for d in dialects]
    print_report(results, floor, help_run, args, now, dataset)


if __name__ == "__main__":
    main()
