"""What the ingest tests share: the fixtures folder, running `chatvault ingest`, reading rows."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from chatvault.cli.app import app
from chatvault.db.engine import connect
from chatvault.db.models import usage_logs

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ingest"
USER = "dev"  # the user_id of sources that record none (Claude Code, llm)
runner = CliRunner()


def ingest(url: str, *args: str, input: bytes | None = None):
    return runner.invoke(app, ["ingest", "--database", url, "--user", USER, *args], input=input)


def rows(url: str) -> dict[str, dict]:
    """Every stored row, by request_id."""
    with connect(url) as conn:
        found = conn.execute(select(usage_logs)).mappings().all()
    return {r["request_id"]: dict(r) for r in found}
