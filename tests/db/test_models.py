"""The schema's tables: those a report never reads are defined on first use, once."""

from __future__ import annotations

import subprocess
import sys

from chatvault.db import models


def test_a_table_defined_on_first_use_is_one_table_in_the_metadata():
    alerts = models.budget_alerts
    assert models.budget_alerts is alerts
    assert models.metadata.tables["budget_alerts"] is alerts
    assert {"sync_cursors", "provider_usage", "provider_costs", "ingest_checkpoints",
            "logged_sessions", "telemetry_sessions"} <= set(models.metadata.tables)  # fmt: skip
    assert [i.name for i in alerts.indexes] == ["ux_budget_alerts_key"]


def test_threads_asking_at_once_get_the_same_table():
    # A fresh interpreter: here the tables are defined already.
    code = """
import threading
from chatvault.db import models
found = []
threads = [threading.Thread(target=lambda: found.append(models.provider_usage)) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
assert len(found) == 8 and all(t is found[0] for t in found), found
assert "budget_alerts" not in vars(models)  # nothing asked for it
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
