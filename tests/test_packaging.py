"""The package as users get it: fast start, `python -m`, and a wheel that can migrate."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def test_help_imports_no_heavy_library():
    code = (
        "import sys; from chatvault.cli.app import app; "
        "print(sorted(m for m in ('sqlalchemy', 'alembic', 'numpy', 'yaml') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_python_dash_m(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "chatvault", "--version"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 0 and out.stdout.strip().startswith("chatvault ")


def test_an_unusable_database_path_is_one_line(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "chatvault", "--database", f"sqlite:///{tmp_path}", "db", "migrate"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 3
    assert (
        out.stderr.startswith("error: cannot open the database") and "Traceback" not in out.stderr
    )
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_a_closed_pipe_is_not_an_error(tmp_path):
    """`chatvault db status | head -0`: the reader is gone before anything is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    database = f"sqlite:///{tmp_path / 'x.db'}"
    out = subprocess.run(
        [sys.executable, "-m", "chatvault", "--database", database, "db", "status", "-f", "json"],
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    os.close(write_end)
    assert out.stderr == ""
    assert out.returncode == 1


@pytest.mark.slow
def test_wheel_installs_and_migrates_outside_the_source_tree(tmp_path):
    """The migrations ship inside the package: an installed wheel needs no checkout."""
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
    )
    if build.returncode != 0 and not os.environ.get("CI"):
        pytest.skip(f"cannot build a wheel here: {build.stderr[-300:]}")
    assert build.returncode == 0, build.stderr
    (wheel,) = dist.glob("chatvault-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = str(env_dir / "bin" / "python")
    # The wheel is what is under test, not its dependencies: the new environment borrows this
    # one's (downloading and installing them again was three quarters of the test's time).
    # A path in a .pth file joins sys.path without running the .pth files it holds, so this
    # environment's editable chatvault stays out of sight.
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr
    check = subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout  # the wheel's own requirements, as declared
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    chatvault = str(env_dir / "bin" / "chatvault")
    env = {"PATH": os.environ["PATH"], "HOME": str(elsewhere), "XDG_DATA_HOME": str(elsewhere)}
    database = f"sqlite:///{elsewhere / 'usage.db'}"
    fixture = str(ROOT / "tests" / "fixtures" / "ingest" / "chatvault" / "usage.jsonl")
    commands = (["db", "migrate"], ["ingest", fixture], ["pricing", "check"], ["db", "verify"])
    for command in commands:  # every command group, so every package must be in the wheel
        out = subprocess.run(
            [chatvault, "--database", database, *command],
            cwd=elsewhere,
            capture_output=True,
            text=True,
            env=env,
        )
        assert out.returncode in (0, 1), out.stderr  # pricing check: 1 = an unpriced model
        assert "error:" not in out.stderr, out.stderr
    assert "in sync" in out.stdout
    listing = subprocess.run(
        [
            str(env_dir / "bin" / "python"),
            "-c",
            "import chatvault.migrations as m, pathlib; p = pathlib.Path(m.__file__).parent; "
            "print(sorted(x.name for x in (p / 'versions').glob('0*.py')))",
        ],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        check=True,
    )
    assert (
        "site-packages"
        in subprocess.run(
            [str(env_dir / "bin" / "python"), "-c", "import chatvault; print(chatvault.__file__)"],
            capture_output=True,
            text=True,
            cwd=elsewhere,
            check=True,
        ).stdout
    )
    shipped = sorted(p.name for p in (ROOT / "migrations" / "versions").glob("0*.py"))
    assert listing.stdout.strip() == str(shipped)


def test_every_package_is_in_the_wheel_list():
    """pyproject.toml lists packages by hand (migrations/ is mapped into the package)."""
    import tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {
        ".".join(path.parent.relative_to(ROOT / "src").parts)
        for path in (ROOT / "src").rglob("__init__.py")
    }
    assert found <= set(setuptools["packages"]), f"add to pyproject.toml: {sorted(found)}"


def test_every_library_the_package_imports_is_a_declared_dependency():
    """The wheel test above borrows this environment's libraries: this is what it cannot see,
    an import of a library the package does not require (or requires only for the tests)."""
    import ast
    import importlib.metadata
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    shipped = [*project["dependencies"]]
    for extra in ("postgresql", "mysql", "serve"):
        shipped += project["optional-dependencies"][extra]
    declared = {
        re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0].lower().replace("_", "-") for d in shipped
    }
    providers = importlib.metadata.packages_distributions()
    undeclared = set()
    for path in (ROOT / "src" / "chatvault").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "chatvault":
                    continue
                dists = {d.lower().replace("_", "-") for d in providers.get(top, [top])}
                if not dists & declared:
                    undeclared.add(f"{path.relative_to(ROOT)}: {top} ({', '.join(sorted(dists))})")
    assert sorted(undeclared) == []
