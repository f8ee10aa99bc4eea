"""The same Claude Code session as telemetry and as its imported log counts once, from the
log (db/overlap.py; docs/serve.md "Telemetry and session logs")."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from chatvault.cli.app import app
from tests.serve.test_otlp import PROTOBUF, claude_code_event, post, proto_logs, rows

SESSION = "0b1c2d3e-0000-4000-8000-00000000beef"


def log_line(n: int) -> str:
    """An assistant message of the session's log, as Claude Code writes it."""
    return json.dumps(
        {
            "sessionId": SESSION,
            "type": "assistant",
            "requestId": f"req_{n}",
            "cwd": "/home/dev/shop",
            "timestamp": f"2026-01-01T00:00:0{n}.000Z",
            "message": {
                "id": f"msg_{n}",
                "role": "assistant",
                "model": "claude-sonnet-4-5",
                "usage": {"input_tokens": 120, "output_tokens": 30,
                          "cache_read_input_tokens": 1000, "cache_creation_input_tokens": 200},
            },
        }
    )  # fmt: skip


def send(server, *events) -> None:
    answer = post(server, "/v1/logs", proto_logs(list(events)).SerializeToString(), PROTOBUF)
    assert answer.status_code == 200, answer.text


def kinds(server) -> dict[str, int]:
    found: dict[str, int] = {}
    for request_id, row in rows(server.database).items():
        kind = f"{request_id.split(':')[0]}/{row['session_id']}/{row['status']}"
        found[kind] = found.get(kind, 0) + 1
    return found


def test_a_sessions_imported_log_replaces_its_telemetry(server, tmp_path):
    ours = {"session.id": SESSION}
    send(server, claude_code_event(1, **ours), claude_code_event(2, **ours),
         claude_code_event(3, **ours, **{"event.name": "api_error", "error": "overloaded"}),
         claude_code_event(4, **{"session.id": "another"}))  # fmt: skip
    assert kinds(server) == {
        f"otel-cc/{SESSION}/success": 2,
        f"otel-cc/{SESSION}/error": 1,
        "otel-cc/another/success": 1,
    }

    log = tmp_path / "projects" / "-home-dev-shop" / f"{SESSION}.jsonl"
    log.parent.mkdir(parents=True)
    log.write_text(log_line(1) + "\n" + log_line(2) + "\n")
    imported = CliRunner().invoke(
        app, ["ingest", "--database", server.database, "--user", "dev", str(log)]
    )
    assert imported.exit_code == 0, imported.stderr
    expected = {
        f"cc/{SESSION}/success": 2,  # the log counts the session's requests
        f"otel-cc/{SESSION}/error": 1,  # a request given up on: the log has no row of it
        "otel-cc/another/success": 1,  # no log of it imported: its telemetry counts
    }
    assert kinds(server) == expected

    send(server, claude_code_event(5, **ours))  # the session goes on: its log will say
    assert kinds(server) == expected
