"""A real chatvault server on a free loopback port, in a thread, for each test that asks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
import uvicorn

from chatvault.db.migrate import migrate
from chatvault.serve.main import Options, build
from chatvault.store import UsageStore
from tests.conftest import DIALECTS

READ = "read-token-0123456789abcdef"
SEND = "send-token-0123456789abcdef"
BOTH = "both-token-0123456789abcdef"
NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass
class Running:
    url: str
    database: str

    def client(self, token: str | None = READ) -> httpx.Client:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@contextmanager
def serving(database: str, config: str | None = None, **options) -> Iterator[Running]:
    app = build(Options(database=database, config=config, **options))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Running(f"http://127.0.0.1:{port}", database)
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def tokens(monkeypatch):
    monkeypatch.setenv("CHATVAULT_SERVE_READ_TOKENS", f"{READ},{BOTH}")
    monkeypatch.setenv("CHATVAULT_SERVE_SEND_TOKENS", f"{SEND},{BOTH}")


@pytest.fixture
def server(sqlite_url, tokens) -> Iterator[Running]:
    migrate(sqlite_url)
    with serving(sqlite_url) as running:
        yield running


@pytest.fixture
def server_on(tokens) -> Callable[..., object]:
    """A server on a database of the test's choosing (db_url: all three dialects)."""
    return serving


@pytest.fixture(params=DIALECTS)
def server_each(request, tokens) -> Iterator[Running]:
    """A server on SQLite, PostgreSQL and MariaDB in turn (marked as tests/conftest.py
    marks them)."""
    url = request.getfixturevalue(f"{request.param}_url")
    migrate(url)
    with serving(url) as running:
        yield running


@pytest.fixture
def usage(server):
    return seeded(server)


@pytest.fixture
def usage_each(server_each):
    """`usage` on SQLite, PostgreSQL and MariaDB in turn."""
    return seeded(server_each)


def seeded(server):
    store = UsageStore(server.database)
    store.record(model="gpt-4o", user_id="alice", request_id="r1", input_tokens=1000,
                 output_tokens=100, created_at=NOW - timedelta(hours=1))  # fmt: skip
    store.record(model="claude-sonnet-4-5", user_id="=bob", request_id="r2", input_tokens=10,
                 cost_cents=Decimal("1.234567"), created_at=NOW - timedelta(hours=2))  # fmt: skip
    store.record(model="no-such-model", user_id="carol", request_id="r3",
                 created_at=NOW - timedelta(hours=3))  # fmt: skip
    return server
