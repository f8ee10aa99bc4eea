"""`chatvault costs dashboard` and `chatvault costs budget` as whole processes against the
stack's import floor, on the demo database.

    python bench/commands.py [--repeat 15] [--days 90] [--keep] [--chatvault PATH]
    python bench/commands.py --smoke       # a 7-day demo, 2 repeats, goal not judged

Creates the demo database with `chatvault demo` in a new temporary directory that also holds
HOME, XDG_DATA_HOME, XDG_CONFIG_HOME, XDG_CACHE_HOME and XDG_STATE_HOME and is every process's
working directory, so nothing reads or writes the user's data or config (nor a ./config.yaml).
The commands then run on it through CHATVAULT_DATABASE_URL and CHATVAULT_CONFIG (the config
the demo writes, with its two monthly budgets), as the `chatvault` script installed beside
this Python (`--chatvault` for another), stdout to /dev/null.

Per command: one first run, timed and shown apart (it may build or refresh rollups), then
--repeat runs alternated with `python -c "import typer, sqlalchemy"` (floor, command, floor,
command, ...), so a machine that slows down moves both. Goal: each command's median within
1.5x of the floor's median in the same run. Progress goes to stderr, the table to stdout.
Exit status 0; 1 if a goal is missed (never with --smoke); 2 if a command or the setup failed.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from timing import FLOOR, GOAL_PROCESS, Run, paired_runs, run_measured

# The commands timed, as `chatvault` arguments; the database and config come from the
# environment, as they would for a user who ran the `export` line `chatvault demo` prints.
COMMANDS: list[list[str]] = [["costs", "dashboard"], ["costs", "budget"]]
REPO = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def fail(what: str, run: Run) -> NoReturn:
    """A failed process: its exit code and whole stderr, then exit status 2."""
    print(f"\nFAILED: {what} (exit {run.returncode})", file=sys.stderr)
    print(run.stderr.rstrip() or "(no stderr)", file=sys.stderr)
    raise SystemExit(2)


def die(message: str) -> NoReturn:
    """A setup problem: exit status 2, as for a failed command (1 is a missed goal)."""
    print(message, file=sys.stderr)
    raise SystemExit(2)


def isolated_env(root: Path) -> dict[str, str]:
    """This environment without any CHATVAULT_* variable, its home and XDG dirs in root, and
    bytecode cached in root for every process: with PYTHONDONTWRITEBYTECODE set, an editable
    install would recompile chatvault's sources on every run while the floor's packages load
    the bytecode pip compiled, which no installed chatvault pays."""
    skipped = ("CHATVAULT_", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skipped)}
    env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    for name, folder in (
        ("HOME", "home"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_STATE_HOME", "state"),
    ):
        (root / folder).mkdir()
        env[name] = str(root / folder)
    return env


def make_demo(
    chatvault: str, root: Path, days: int, env: dict[str, str]
) -> tuple[dict[str, str], float]:
    """Run `chatvault demo` into root: the environment that points the commands at its
    database and config, and the demo's seconds."""
    database = root / "demo.db"
    url = f"sqlite:///{database}"
    log(f"chatvault demo --days {days} --database {url}")
    argv = [chatvault, "demo", "--days", str(days), "--database", url]
    run = run_measured(argv, cwd=root, env=env)
    if run.returncode != 0:
        fail(" ".join(argv), run)
    configs = sorted(p for p in root.rglob("config.yaml") if p.is_file())
    if not database.is_file() or len(configs) != 1:
        die(
            f"chatvault demo did not leave one database and one config.yaml in {root}: "
            f"database {'found' if database.is_file() else 'missing'}, configs {configs}"
        )
    summary = next((line for line in run.stdout.splitlines() if line.startswith("Sample")), "")
    log(f"  {run.seconds:.1f} s: {summary or 'done'}")
    env = {**env, "CHATVAULT_DATABASE_URL": url, "CHATVAULT_CONFIG": str(configs[0])}
    return env, run.seconds


def code_state(env: dict[str, str], root: Path) -> str:
    """Where chatvault is imported from, and the repository's commit if it is this one."""
    where = subprocess.run(
        [sys.executable, "-c", "import chatvault; print(chatvault.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
    ).stdout.strip()
    state = f"chatvault from {Path(where).parent if where else '(not importable?)'}"
    if where and Path(where).is_relative_to(REPO / "src"):
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        state += f" at {head or '?'}" + (" with uncommitted changes in src/" if dirty else "")
    return state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="paired runs [default: 15]")
    parser.add_argument("--days", type=int, default=90, help="the demo's days [default: 90]")
    parser.add_argument(
        "--smoke", action="store_true", help="a 7-day demo, 2 repeats, goal not judged"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--chatvault", help="the chatvault executable [default: beside python]")
    args = parser.parse_args()
    if args.smoke:
        args.repeat, args.days = 2, 7
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    chatvault = args.chatvault or str(Path(sys.executable).parent / "chatvault")
    if not Path(chatvault).is_file():
        die(f"no chatvault script at {chatvault}: install chatvault or pass --chatvault")

    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="cvbench-commands-"))
    try:
        env, demo_seconds = make_demo(chatvault, root, args.days, isolated_env(root))
        state = code_state(env, root)
        log(f"{state}; import floor, first run")
        floor_first = run_measured(FLOOR, cwd=root, env=env, discard_stdout=True)
        if floor_first.returncode != 0:
            fail(" ".join(FLOOR), floor_first)
        rows = []
        for argv in COMMANDS:
            name = "chatvault " + " ".join(argv)
            log(f"{name}: first run")
            first = run_measured([chatvault, *argv], cwd=root, env=env, discard_stdout=True)
            if first.returncode != 0:
                fail(name, first)
            log(f"  {first.seconds:.2f} s; {args.repeat} runs alternated with the floor")
            seconds, floor, last = paired_runs(
                [chatvault, *argv],
                FLOOR,
                args.repeat,
                root,
                env=env,
                discard_stdout=True,
                warm_up=False,
            )
            if seconds is None or floor is None:
                fail(f"{name} or the floor, in the paired runs", last)
            rows.append((name, first.seconds, seconds, floor))
    finally:
        if args.keep:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    p = print
    mode = " (smoke: goal not judged)" if args.smoke else ""
    p(f"## `bench/commands.py`: {datetime.now():%Y-%m-%d %H:%M}{mode}\n")
    p(
        f"{os.cpu_count()} cores; Python {platform.python_version()}; SQLite "
        f"{sqlite3.sqlite_version}; {state}; `{chatvault}`."
    )
    p(
        f"Demo database: `chatvault demo --days {args.days}` "
        f"({demo_seconds:.1f} s). Medians of {args.repeat} runs of each command, "
        'alternated with the import floor (`python -c "import typer, sqlalchemy"`), '
        "after a first run of each.\n"
    )
    p("| command | first run s | median s | floor median s | ratio | goal | verdict |")
    p("|---|---|---|---|---|---|---|")
    missed = 0
    for name, first_seconds, seconds, floor in rows:
        ratio = seconds / floor
        ok = ratio <= GOAL_PROCESS
        missed += not ok
        verdict = "not judged" if args.smoke else ("PASS" if ok else "MISS")
        p(
            f"| `{name}` | {first_seconds:.3f} | {seconds:.3f} | {floor:.3f} | {ratio:.2f}x "
            f"| <= {GOAL_PROCESS}x | {verdict} |"
        )
    p(f"\nWall time of the whole benchmark: {time.perf_counter() - started:.1f} s.")
    if not args.smoke:
        p(f"**Goal: {len(rows) - missed} PASS, {missed} MISS.**")
        if missed:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
