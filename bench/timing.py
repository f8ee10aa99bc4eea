"""Timing helpers shared by the benchmarks: whole processes (wall time, peak RSS, CPU time),
timed alternately with the stack's import floor, and in-process calls.

Standard library only, so importing it costs nothing: `from timing import ...` from a script
in bench/ (its folder is on sys.path when it is run as `python bench/NAME.py`).
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GOAL_PROCESS = 1.5  # a whole chatvault process within this multiple of the import floor
FLOOR = [sys.executable, "-c", "import typer, sqlalchemy"]  # the stack's start-up floor


@dataclass
class Run:
    seconds: float
    peak: int  # bytes
    cpu: float
    returncode: int
    stdout: str
    stderr: str


def run_measured(
    argv: list[str],
    timeout: float = 7200,
    cwd: Path | None = None,
    *,
    env: dict[str, str] | None = None,
    discard_stdout: bool = False,
) -> Run:
    """Wall time, peak RSS and CPU time of one process (os.wait4: this child's own).

    env is the child's whole environment [default: this one without CHATVAULT_DATABASE_URL];
    discard_stdout sends its output to /dev/null (Run.stdout is then empty)."""
    if env is None:
        env = {k: v for k, v in os.environ.items() if k != "CHATVAULT_DATABASE_URL"}
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        open(os.devnull, "wb") as null,
    ):
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=null if discard_stdout else out,
            stderr=err,
            cwd=cwd,
            env=env,
        )
        timer = threading.Timer(timeout, lambda: os.kill(proc.pid, signal.SIGKILL))
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
        peak = usage.ru_maxrss * 1024  # an upper bound: see PEAK
        lines = stderr.splitlines()
        reported = [line for line in lines if line.startswith("CVBENCH_PEAK ")]
        if reported:
            peak = int(reported[-1].split()[1])
            stderr = "\n".join(line for line in lines if not line.startswith("CVBENCH_PEAK "))
        return Run(
            seconds,
            peak,
            usage.ru_utime + usage.ru_stime,
            proc.returncode,
            out.read().decode(errors="replace"),
            stderr,
        )


def median_runs(argv: list[str], repeat: int, cwd: Path) -> tuple[float | None, Run]:
    """Median wall seconds over `repeat` runs after one warm-up; None if a run failed."""
    warm = run_measured(argv, cwd=cwd)
    if warm.returncode != 0:
        return None, warm
    times = []
    for _ in range(repeat):
        run = run_measured(argv, cwd=cwd)
        if run.returncode != 0:
            return None, run
        times.append(run.seconds)
    return statistics.median(times), run


def paired_runs(
    argv: list[str],
    floor: list[str],
    repeat: int,
    cwd: Path,
    *,
    env: dict[str, str] | None = None,
    discard_stdout: bool = False,
    warm_up: bool = True,
) -> tuple[float | None, float | None, Run]:
    """Median wall seconds of a command and of the floor, their runs alternated after a
    warm-up of each: a machine that speeds up or slows down during the benchmark (other
    work, the page cache) moves both, and their ratio stays fair. warm_up=False: the caller
    has run both once already. env and discard_stdout: as run_measured's."""
    options: dict[str, Any] = {"cwd": cwd, "env": env, "discard_stdout": discard_stdout}
    run = None
    for command in (floor, argv) if warm_up else ():
        run = run_measured(command, **options)
        if run.returncode != 0:
            return None, None, run
    times: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(repeat):
        for i, command in enumerate((floor, argv)):
            run = run_measured(command, **options)
            if run.returncode != 0:
                return None, None, run
            times[i].append(run.seconds)
    if run is None:
        raise ValueError("paired_runs: nothing was run (repeat 0 and no warm-up)")
    return statistics.median(times[1]), statistics.median(times[0]), run


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds of fn() over `repeat` calls after one warm-up call, and its result."""
    result = fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


# Peak RSS is read from the process's own VmHWM at exit: wait4's ru_maxrss would include
# the memory of the (v)forked harness, which Linux carries over into the exec'd child.
# Prepend PEAK to a `python -c` script; run_measured reads and removes the line it writes.
PEAK = r"""
import atexit as _atexit, sys as _sys
def _cvbench_peak():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                _sys.stderr.write(f"\nCVBENCH_PEAK {int(line.split()[1]) * 1024}\n")
_atexit.register(_cvbench_peak)
"""
