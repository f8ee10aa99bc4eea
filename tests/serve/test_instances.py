"""Several `chatvault serve` processes on one PostgreSQL database, one of them with two
workers: the same batch sent to both at once is stored once, different batches sent at
once are all stored, and nobody answers 5xx."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from chatvault.db.migrate import migrate
from tests.serve.conftest import READ, SEND
from tests.serve.test_otlp import PROTOBUF, claude_code_event, proto_logs, rows

pytestmark = pytest.mark.postgresql


@contextmanager
def instance(database: str, *options: str) -> Iterator[str]:
    """`chatvault serve` as its own process on a free port; its URL once it is ready."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "CHATVAULT_SERVE_READ_TOKENS": READ, "CHATVAULT_SERVE_SEND_TOKENS": SEND}
    argv = [sys.executable, "-m", "chatvault", "serve", "--database", database,
            "--port", str(port), *options]  # fmt: skip
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
        assert b"Traceback" not in stderr, stderr.decode()


def test_two_instances_one_with_two_workers_count_each_request_once(postgresql_url):
    migrate(postgresql_url)
    same = [
        proto_logs([claude_code_event(100 * n + i) for i in range(50)]).SerializeToString()
        for n in range(4)
    ]
    different = [
        proto_logs([claude_code_event(10_000 + 100 * n + i) for i in range(50)]).SerializeToString()
        for n in range(8)
    ]
    with (
        instance(postgresql_url, "--workers", "2") as first,
        instance(postgresql_url) as second,
    ):
        sends = [(url, body) for body in same for url in (first, second)]
        sends += [((first, second)[n % 2], body) for n, body in enumerate(different)]
        statuses: list[int] = []
        start = threading.Barrier(len(sends))

        def send(url: str, body: bytes) -> None:
            headers = {**PROTOBUF, "Authorization": f"Bearer {SEND}"}
            with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
                start.wait()
                statuses.append(http.post("/v1/logs", content=body).status_code)

        threads = [threading.Thread(target=send, args=pair) for pair in sends]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert statuses == [200] * len(sends)
    stored = rows(postgresql_url)
    assert len(stored) == 50 * (len(same) + len(different))
    assert sum(row["input_tokens"] for row in stored.values()) == 120 * len(stored)
