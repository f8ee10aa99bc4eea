"""The root: a command line that names its command gets a root holding just that one."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from chatvault.cli.app import app, command_named


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["usage", "--since", "7d"], ("usage", "--since")),
        (["--database", "sqlite:///x.db", "db", "status"], ("db", "status")),
        (
            ["--config", "c.yaml", "--database=sqlite:///x.db", "export", "-o", "-"],
            ("export", "-o"),
        ),
        (["costs", "dashboard", "--html", "r.html"], ("costs", "dashboard")),
        (["costs"], ("costs", None)),
        (["--help"], (None, None)),
        (["nonsense"], (None, None)),
        ([], (None, None)),
    ],
)
def test_the_command_a_line_names(args, named):
    assert command_named(args) == named


@pytest.mark.parametrize(
    ("argv", "loaded", "not_loaded"),
    [
        (["costs", "dashboard", "--help"], "chatvault.cli.dashboard", "chatvault.cli.budget"),
        (["costs", "budget", "check", "--help"], "chatvault.cli.budget", "chatvault.cli.dashboard"),
    ],
)
def test_a_groups_named_command_imports_none_of_its_others(argv, loaded, not_loaded):
    script = (
        "import sys; from chatvault.cli.app import main\n"
        f"sys.argv = ['chatvault', *{argv!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('chatvault.cli.')), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert f"Usage: chatvault {' '.join(argv[:-1])}" in done.stdout
    modules = done.stderr.strip().splitlines()[-1]
    assert f"'{loaded}'" in modules and f"'{not_loaded}'" not in modules


def test_the_costs_group_still_lists_all_its_commands():
    result = CliRunner().invoke(app, ["costs", "--help"])
    assert result.exit_code == 0
    assert all(name in result.stdout for name in ("budget", "dashboard", "predict"))


def test_a_named_command_imports_no_other_command_module():
    script = (
        "import sys; from chatvault.cli.app import main\n"
        "sys.argv = ['chatvault', 'usage', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('chatvault.cli.')), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert "Usage: chatvault usage" in done.stdout
    loaded = done.stderr.strip().splitlines()[-1]
    assert "chatvault.cli.usage" in loaded
    assert "chatvault.cli.db'" not in loaded and "chatvault.cli.ingest" not in loaded


def test_python_dash_m_and_version():
    from chatvault import __version__

    done = subprocess.run(
        [sys.executable, "-m", "chatvault", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout == f"chatvault {__version__}\n"


@pytest.mark.parametrize(
    "command", [("usage",), ("usage", "logs"), ("usage", "insights"), ("costs", "dashboard")]
)
@pytest.mark.parametrize("width", [50, 64, 80, 200])
def test_help_breaks_lines_between_words_only(command, width):
    group = typer.main.get_command(app)
    for name in command:
        group = group.commands[name]  # type: ignore[attr-defined]
    words = {word for p in group.params if p.help for word in p.help.split()}
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=width)
    assert result.exit_code == 0, result.stderr
    shown = set(re.sub(r"-\n\s+", "-", result.stdout).split())  # error-|rate is a fair break
    assert words <= shown, sorted(words - shown)
