"""Tokens and the address from the config's `serve:` section: `${ENV}` secrets, scopes,
checked when the config is read, never printed; reading the config imports no server."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from chatvault.cli.app import app
from chatvault.db.migrate import migrate
from tests.serve.conftest import serving

GRAFANA = "grafana-token-0123456789abcdef"
AGENT = "agent-token-0123456789abcdef"
CONFIG = """
serve:
  host: 0.0.0.0
  port: 9999
  tokens:
    - token: ${GRAFANA_TOKEN}
      scopes: [read]
    - token: agent-token-0123456789abcdef
      scopes: [send]
"""


def write_config(tmp_path, text: str = CONFIG) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return str(path)


def test_config_tokens_with_their_scopes(tmp_path, sqlite_url, monkeypatch):
    monkeypatch.setenv("GRAFANA_TOKEN", GRAFANA)
    migrate(sqlite_url)
    with serving(sqlite_url, write_config(tmp_path)) as running:
        with running.client(GRAFANA) as http:
            read = http.get("/v1/usage")
            send = http.post("/v1/logs", content=b"", headers={"Content-Type": "application/json"})
        with running.client(AGENT) as http:
            agent_reads = http.get("/v1/usage")
    assert (read.status_code, send.status_code, agent_reads.status_code) == (200, 403, 403)


def test_config_show_masks_the_tokens(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAFANA_TOKEN", GRAFANA)
    result = CliRunner().invoke(app, ["config", "show", "--config", write_config(tmp_path)])
    assert result.exit_code == 0, result.output
    assert GRAFANA not in result.stdout and AGENT not in result.stdout
    assert result.stdout.count("token: '***'") == 2
    assert "port: 9999" in result.stdout


def test_bad_tokens_are_one_line_naming_the_key_not_the_token(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAFANA_TOKEN", "short-secret")
    config = write_config(tmp_path)
    result = CliRunner().invoke(app, ["serve", "--config", config])
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"error: config file {config}: serve.tokens[0].token: shorter than 16 characters"
    )
    assert "short-secret" not in result.stderr and len(result.stderr.splitlines()) == 1
    scopes = write_config(tmp_path, CONFIG.replace("[send]", "[write]"))
    monkeypatch.setenv("GRAFANA_TOKEN", GRAFANA)
    result = CliRunner().invoke(app, ["serve", "--config", scopes])
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: config file {scopes}: serve.tokens[1].scopes: a list of read and/or send\n",
    )


def test_the_configs_host_is_the_default(tmp_path, sqlite_url, monkeypatch):
    monkeypatch.setenv("GRAFANA_TOKEN", GRAFANA)
    migrate(sqlite_url)
    argv = ["serve", "--config", write_config(tmp_path), "--database", sqlite_url, "--no-auth"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2
    assert "--no-auth serves only on the loopback interface, not 0.0.0.0" in result.stderr


def test_reading_a_serve_section_imports_no_server(tmp_path):
    script = (
        "import sys; from pathlib import Path; from chatvault.config import load_settings; "
        f"s = load_settings(None, Path({write_config(tmp_path)!r})); "
        "assert len(s.config.serve.tokens) == 2; "
        "print(sorted(m for m in ('starlette', 'uvicorn', 'google.protobuf') if m in sys.modules))"
    )
    env = {"GRAFANA_TOKEN": GRAFANA, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=env, check=False)  # fmt: skip
    assert (result.returncode, result.stdout, result.stderr) == (0, "[]\n", "")
