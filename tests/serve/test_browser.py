"""The dashboard at GET / as a browser gets it from the server: headless Chromium loads it
over HTTP and builds the page, with the usage's figures and charts in it and nothing on its
console (the page has no script, so no script can fail). Skipped where Chromium is not
installed, except in CI, where .ci/run installs it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from chatvault.db.migrate import migrate
from tests.render.test_html import chromium  # noqa: F401  the fixture: the browser's path
from tests.serve.conftest import seeded, serving


def test_chromium_renders_the_served_dashboard(chromium: str, sqlite_url, tmp_path: Path):  # noqa: F811
    migrate(sqlite_url)
    # A browser cannot be given a bearer header: the loopback-only --no-auth serves it.
    with serving(sqlite_url, no_auth=True) as running:
        seeded(running)
        command = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
                   "--disable-background-networking", "--disable-component-update",
                   "--disable-sync", "--no-first-run", "--enable-logging=stderr", "--v=0",
                   f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                   f"{running.url}/"]  # fmt: skip
        browser = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    dom = browser.stdout
    assert "<h1>" in dom and "</html>" in dom
    assert "<svg" in dom  # the charts were parsed as SVG
    assert "gpt-4o" in dom and "claude-sonnet-4-5" in dom  # the served database's rows
    assert "<script" not in dom
    console = [line for line in browser.stderr.splitlines() if "CONSOLE" in line]
    assert console == []
