"""Forecasts kept in the cache directory: the same result as computing, computed once."""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import date

import pytest

import chatvault.forecast.predict as predict_module
from chatvault.forecast.stored import predicted

START = date(2026, 9, 1)
SERIES = [100.0 + 30 * math.sin(k) + (k % 7 == 5) * 80 + k for k in range(70)]


def counting(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = predict_module.predict

    def counted(*args):
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(predict_module, "predict", counted)
    return calls


def test_a_stored_forecast_equals_the_computed_one(monkeypatch):
    calls = counting(monkeypatch)
    made = predicted(SERIES, START, 30, "auto", 0.8)
    again = predicted(SERIES, START, 30, "auto", 0.8)
    assert calls == [1]
    assert again == made
    fc = predict_module.predict(SERIES, START, 30, "auto", 0.8)
    assert (made.method, made.reason, made.calibrated) == (fc.method, fc.reason, fc.calibrated)
    assert list(made.mean) == list(fc.mean) and list(made.upper) == list(fc.upper)
    assert made.total(30) == fc.total(30) and made.total(7) == fc.total(7)
    with pytest.raises(ValueError):
        made.total(31)


def test_any_input_changed_is_another_forecast(monkeypatch):
    calls = counting(monkeypatch)
    predicted(SERIES, START, 30, "auto", 0.8)
    predicted([*SERIES[:-1], SERIES[-1] + 0.01], START, 30, "auto", 0.8)
    predicted(SERIES, date(2026, 9, 2), 30, "auto", 0.8)
    predicted(SERIES, START, 29, "auto", 0.8)
    predicted(SERIES, START, 30, "trend", 0.8)
    predicted(SERIES, START, 30, "auto", 0.9)
    assert len(calls) == 6


def test_a_corrupt_or_unwritable_cache_only_costs_a_recomputation(tmp_path, monkeypatch):
    calls = counting(monkeypatch)
    made = predicted(SERIES, START, 10, "mean", 0.8)
    (entry,) = (tmp_path / "xdg-cache" / "chatvault" / "forecasts").glob("*.json")
    entry.write_text('{"method": "mean"')
    assert predicted(SERIES, START, 10, "mean", 0.8) == made
    monkeypatch.setenv("XDG_CACHE_HOME", str(entry))  # a file: no directory can be made there
    assert predicted(SERIES, START, 10, "mean", 0.8) == made
    assert len(calls) == 3


def test_a_stored_forecast_is_read_without_numpy(tmp_path):
    """What lets the dashboard and budget checks skip NumPy's import once a day is stored."""
    code = (
        "import sys; from datetime import date; from chatvault.forecast.stored import predicted\n"
        f"p = predicted({SERIES!r}, date(2026, 9, 1), 30, 'auto', 0.8)\n"
        "print(p.method, 'numpy' in sys.modules)"
    )
    env = {"XDG_CACHE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert first.stdout.split()[1] == "True"
    assert second.stdout.split() == [first.stdout.split()[0], "False"]
