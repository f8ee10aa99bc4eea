"""A team's machines in one database: eight imports at once into PostgreSQL neither deadlock
nor count anything twice; reports group and filter by machine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from chatvault.config import load_settings
from chatvault.db.engine import connect
from chatvault.db.filters import UsageFilter
from chatvault.db.models import usage_logs
from chatvault.reports import usage
from chatvault.session import Session
from tests.head import at_head
from tests.ingest.helpers import ingest

MACHINES = 8


def write_logs(root: Path, machine: int, sessions: int = 6, lines: int = 40) -> None:
    """Claude Code logs of one machine: every machine's requests in the same hours, so their
    imports mark the same rollup hours stale at once."""
    for s in range(sessions):
        path = root / "projects" / f"-home-dev-p{s % 3}" / f"m{machine}-s{s}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w") as out:
            for i in range(lines):
                entry = {
                    "type": "assistant",
                    "sessionId": f"m{machine}-s{s}",
                    "requestId": f"req_{machine}_{s}_{i}",
                    "timestamp": f"2026-03-0{1 + i % 5}T{(i * 7 + s) % 24:02d}:10:00.000Z",
                    "message": {
                        "id": f"msg_{machine}_{s}_{i}",
                        "model": "claude-sonnet-4-20250514",
                        "usage": {"input_tokens": 1 + i, "output_tokens": 10 * (machine + 1)},
                    },
                }
                out.write(json.dumps(entry, separators=(",", ":")) + "\n")


def test_eight_machines_at_once_into_postgresql(postgresql_url, tmp_path):
    at_head(postgresql_url)
    runs = []
    for m in range(MACHINES):
        root = tmp_path / f"m{m}"
        write_logs(root, m)
        shared = root / "projects" / "-home-dev-shared"  # the same file on every machine
        write_logs(tmp_path / "shared", 99, sessions=1)
        shared.mkdir(parents=True)
        (shared / "same.jsonl").write_bytes(
            next((tmp_path / "shared").rglob("*.jsonl")).read_bytes()
        )
        command = [sys.executable, "-m", "chatvault", "ingest", "--quiet", "--user", "dev"]
        command += ["--machine", f"laptop-{m}", "--database", postgresql_url, str(root)]
        runs.append(subprocess.Popen(command, stderr=subprocess.PIPE, text=True))
    outcomes = [(run.wait(timeout=120), run.stderr.read()) for run in runs]
    assert outcomes == [(0, "")] * MACHINES
    with connect(postgresql_url) as conn:
        count = conn.execute(select(func.count()).select_from(usage_logs)).scalar()
        per_machine = dict(
            conn.execute(
                select(usage_logs.c.machine, func.sum(usage_logs.c.output_tokens)).group_by(
                    usage_logs.c.machine
                )
            ).all()
        )
    assert count == MACHINES * 6 * 40 + 40  # the shared file's requests once
    # each machine's own output tokens, and the shared file counted on one machine only
    own = {f"laptop-{m}": 6 * 40 * 10 * (m + 1) for m in range(MACHINES)}
    shared_tokens = 40 * 10 * 100
    assert sum(per_machine.values()) == sum(own.values()) + shared_tokens
    assert sum(1 for m, t in per_machine.items() if t == own[m] + shared_tokens) == 1


def test_reports_group_and_filter_by_machine(sqlite_url, tmp_path):
    at_head(sqlite_url)
    for m in range(2):
        write_logs(tmp_path / f"m{m}", m, sessions=1, lines=5)
        ingest(sqlite_url, str(tmp_path / f"m{m}"), "--machine", f"box-{m}")
    settings = load_settings(database=sqlite_url)
    with Session(settings) as session:
        grouped = usage.report(session, UsageFilter(), ("machine",))
        by_machine = {row.key[0]: row.output_tokens for row in grouped.rows}
        only = usage.report(session, UsageFilter(machines=("box-1",)), ())
    assert by_machine == {"box-0": 50, "box-1": 100}
    assert only.totals.output_tokens == 100


def test_the_command_line_groups_and_filters_by_machine(sqlite_url, tmp_path):
    from typer.testing import CliRunner

    from chatvault.cli.app import app

    at_head(sqlite_url)
    for m in range(2):
        write_logs(tmp_path / f"m{m}", m, sessions=1, lines=5)
        ingest(sqlite_url, str(tmp_path / f"m{m}"), "--machine", f"box-{m}")
    runner = CliRunner()
    grouped = runner.invoke(app, ["usage", "-g", "machine", "-f", "json", "--database", sqlite_url])
    assert grouped.exit_code == 0, grouped.stderr
    rows = json.loads(grouped.stdout)["rows"]
    assert {row["machine"]: row["output_tokens"] for row in rows} == {"box-0": 50, "box-1": 100}
    args = ["usage", "--machine", "box-1", "-f", "json", "--database", sqlite_url]
    only = runner.invoke(app, args)
    assert json.loads(only.stdout)["totals"]["output_tokens"] == 100
