"""A sync killed with SIGKILL at a random moment leaves the database consistent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

from tests.sync.helpers import FIRST, fill_openai, migrated, run_sync, stored
from tests.sync.replica import replica


def test_sigkill_mid_sync_then_rerun(sqlite_url, tmp_path):
    url = migrated(sqlite_url)
    with replica("openai") as state:
        fill_openai(state)
        state.page_buckets = 1  # 24 pages a day: a window is many pages
        state.delay = 0.002
        env = {
            **os.environ,
            "CHATVAULT_DATABASE_URL": url,
            "OPENAI_ADMIN_KEY": state.key,
        }
        args = ["sync", "openai", "--base-url", state.url, "-q"]
        args += ["--since", "2026-11-06", "--until", "2026-11-20"]
        child = subprocess.Popen([sys.executable, "-m", "chatvault", *args], env=env)
        deadline = time.monotonic() + 30
        while state.served_pages < 200 and time.monotonic() < deadline:
            time.sleep(0.005)
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert 200 <= state.served_pages < 14 * 24 * 2  # killed before it ended
        half = stored(url)
        cursor = half["cursors"]["completions"]
        assert cursor == FIRST + timedelta(days=7)  # one week written
        written = [r for r in state.usage if r["endpoint"] == "completions" and r["at"] < cursor]
        assert half["usage"]["completions"][6] == len(written)  # whole windows only
        assert "embeddings" not in half["usage"]
        since, until = FIRST, FIRST + timedelta(days=14)
        run_sync(url, state, since=since, until=until)
    done = stored(url)
    completions = state.usage_totals("completions")
    assert done["usage"]["completions"][0] == (
        completions["input_tokens"] - completions["input_cached_tokens"]
    )
    assert done["billed"] == state.cost_total()
