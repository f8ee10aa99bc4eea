"""Forecasts kept in the user's cache directory, keyed by everything they are made from.

A forecast learns from complete days only, so its input changes once a day (or when old
days are backfilled): the dashboard, `costs budget` and the budget check cron runs every few
minutes would otherwise refit and backtest the same series each time, and import NumPy to do
it. A stored forecast is plain JSON (floats round-trip exactly), read without NumPy; its key
also covers the forecasting code, so a changed method never serves an old result. The cache
is an optimisation only: unreadable, unwritable or corrupt, the forecast is computed.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

from chatvault import cache
from chatvault.forecast import first_days

FORMAT = 2


class Prediction(NamedTuple):
    """A forecast's daily estimates, the estimate of each horizon's total, and its method."""

    method: str
    reason: str
    level: float
    history_days: int
    calibrated: bool
    warnings: tuple[str, ...]
    dates: tuple[date, ...]
    mean: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    totals: tuple[tuple[float, float, float], ...]  # (mean, lower, upper) of the first k+1 days
    daily_scale: float = 1.0  # calibration factor of the daily half-widths
    total_scale: float = 1.0  # and of the totals'
    fit_start: date | None = None  # the first day the method was fitted on
    level_shift: bool = False  # fit_start is the first day after a level shift
    one_offs: int = 0  # days set aside as one-off spikes, dips or spells

    def total(self, days: int | None = None) -> tuple[float, float, float]:
        """(mean, lower, upper) of the sum of the first `days` forecast days (default all)."""
        return self.totals[first_days(days, len(self.mean)) - 1]


def predicted(values: list[float], start: date, horizon: int, method: str, level: float):
    """The forecast of a dense daily series starting on `start`, from the cache if stored."""
    folder = cache.folder("forecasts")
    key = _key(values, start, horizon, method, level)
    found = _load(cache.load(folder, key)) if folder else None
    if found is not None:
        return found
    from chatvault.forecast.predict import predict

    fc = predict(values, start, horizon, method, level)
    made = Prediction(
        method=fc.method,
        reason=fc.reason,
        level=fc.level,
        history_days=fc.history_days,
        calibrated=fc.calibrated,
        warnings=tuple(fc.warnings),
        dates=tuple(fc.dates),
        mean=tuple(map(float, fc.mean)),
        lower=tuple(map(float, fc.lower)),
        upper=tuple(map(float, fc.upper)),
        totals=tuple(fc.total(days) for days in range(1, len(fc.mean) + 1)),
        daily_scale=fc.daily_scale,
        total_scale=fc.total_scale,
        fit_start=fc.fit_start,
        level_shift=fc.level_shift,
        one_offs=fc.one_offs,
    )
    if folder:
        cache.store(folder, key, _stored(made))
    return made


def _key(values: list[float], start: date, horizon: int, method: str, level: float) -> str:
    """A digest of the inputs and of the forecasting code (each module's size and mtime)."""
    code = Path(__file__).parent
    stamps = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in code.glob("*.py"))
    text = json.dumps([FORMAT, stamps, values, start.isoformat(), horizon, method, level])
    return hashlib.sha256(text.encode()).hexdigest()


def _load(data: Any) -> Prediction | None:
    """A stored forecast, or None for none or one this code cannot read."""
    try:
        return Prediction(
            **{
                **data,
                "warnings": tuple(data["warnings"]),
                "dates": tuple(map(date.fromisoformat, data["dates"])),
                "mean": tuple(data["mean"]),
                "lower": tuple(data["lower"]),
                "upper": tuple(data["upper"]),
                "totals": tuple(tuple(t) for t in data["totals"]),
                "fit_start": data["fit_start"] and date.fromisoformat(data["fit_start"]),
            }
        )
    except (ValueError, TypeError, KeyError):  # TypeError: nothing stored (None)
        return None


def _stored(made: Prediction) -> dict:
    data = made._asdict()
    data["dates"] = [day.isoformat() for day in made.dates]
    data["fit_start"] = made.fit_start.isoformat() if made.fit_start else None
    return data
