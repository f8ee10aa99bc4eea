"""`chatvault serve` on the command line: the ASGI stack is imported by `serve` only, and a
server without tokens is refused with one line."""

from __future__ import annotations

import subprocess
import sys

SERVER_MODULES = ("starlette", "uvicorn", "opentelemetry", "google.protobuf", "prometheus_client")


def test_help_does_not_import_the_server_stack():
    roots = sorted({m.split(".")[0] for m in SERVER_MODULES})
    code = (
        "import sys; from chatvault.cli.app import main; sys.argv = ['chatvault', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print([m for m in sys.modules if m.split('.')[0] in {roots!r}])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "serve" in done.stdout  # listed in the help
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_serve_without_tokens_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("CHATVAULT_SERVE_READ_TOKENS", raising=False)
    monkeypatch.delenv("CHATVAULT_SERVE_SEND_TOKENS", raising=False)
    done = subprocess.run(
        [sys.executable, "-m", "chatvault", "--database", f"sqlite:///{tmp_path}/x.db", "serve"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("error: no tokens: set CHATVAULT_SERVE_READ_TOKENS")
