"""Rolling-origin backtest of the methods on a series: what `costs predict --backtest` shows.

At each origin every method forecasts exactly as `predict` would have with the history up to
then (auto chooses and calibrates again), and is scored on the days that followed.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from chatvault.errors import InputError
from chatvault.forecast import BACKTEST_HORIZON_DAYS, BACKTEST_STEP_DAYS, LEVEL, METHODS
from chatvault.forecast.evaluate import MIN_TRAIN, naive_scale, origins
from chatvault.forecast.predict import Forecast, forecast, validate

# Float noise must not uncover an exact forecast's zero-width interval: a millionth of a dollar.
SLACK = 1e-6


@dataclass(frozen=True)
class MethodScore:
    """One method's backtest scores; errors and coverages are fractions (0.05 is 5%)."""

    method: str
    origins: int
    days: int  # forecast days scored over all origins
    mase: float  # mean |error| / in-sample seasonal-naive (lag 7) MAE before each origin
    relative_mase: float  # mase / seasonal naive's mase on the same origins
    smape: float  # mean 2|error| / (|actual| + |forecast|), 0 when both are 0; 0..2
    coverage: float  # share of actual days inside the daily interval
    month_ends: int  # origins whose month ends within the horizon and the data
    month_end_error: float  # mean |projected - actual month total| / actual month total
    month_end_coverage: float  # share of month totals inside the projected interval


@dataclass
class _Tally:
    errors: list[np.ndarray]
    scaled: list[np.ndarray]
    smape: list[np.ndarray]
    covered: list[np.ndarray]
    month_errors: list[float]
    month_covered: list[bool]


def month_end(y: np.ndarray, start: date, origin: int, fc: Forecast) -> tuple[float, bool] | None:
    """Relative error and coverage of the projected total of the origin's calendar month.

    The month is the one containing the first forecast day; the projection is the actual
    month-to-date plus the forecast of the month's remaining days. None when the month starts
    before the data, ends after the forecast or the data, or cost nothing.
    """
    day = start + timedelta(days=origin)
    first = origin - (day.day - 1)
    remaining = calendar.monthrange(day.year, day.month)[1] - day.day + 1
    if first < 0 or remaining > len(fc.mean) or origin + remaining > len(y):
        return None
    so_far = float(y[first:origin].sum())
    actual = so_far + float(y[origin : origin + remaining].sum())
    if actual <= 0:
        return None
    mean, lower, upper = fc.total(remaining)
    error = abs(so_far + mean - actual) / actual
    return error, so_far + lower - SLACK <= actual <= so_far + upper + SLACK


def backtest(
    values: np.ndarray,
    start: date,
    methods: list[str] | None = None,
    horizon: int = BACKTEST_HORIZON_DAYS,
    step: int = BACKTEST_STEP_DAYS,
    level: float = LEVEL,
) -> list[MethodScore]:
    """Scores per method over origins every `step` days back from the end of the series."""
    y = np.asarray(values, dtype=float)
    methods = list(METHODS) if methods is None else methods
    for method in methods:
        validate(y, horizon, method, level)
    if step < 1:
        raise InputError(f"the backtest step must be at least 1 day, got {step}")
    starts = origins(len(y), step)
    if not starts:
        raise InputError(f"a backtest needs at least {MIN_TRAIN + step} days of history")
    names = [*methods, *(["seasonal-naive"] if "seasonal-naive" not in methods else [])]
    tallies = {m: _Tally([], [], [], [], [], []) for m in names}
    cache: dict = {}
    for origin in starts:
        days = min(horizon, len(y) - origin)
        actual = y[origin : origin + days]
        scale = naive_scale(y[:origin])
        for method in names:
            fc = forecast(y[:origin], start, days, method, level, cache)
            tally = tallies[method]
            error = np.abs(actual - fc.mean)
            tally.errors.append(error)
            if scale > 0:
                tally.scaled.append(error / scale)
            denominator = np.abs(actual) + np.abs(fc.mean)
            tally.smape.append(
                np.divide(2 * error, denominator, np.zeros(days), where=denominator > 0)
            )
            tally.covered.append((fc.lower - SLACK <= actual) & (actual <= fc.upper + SLACK))
            found = month_end(y, start, origin, fc)
            if found is not None:
                tally.month_errors.append(found[0])
                tally.month_covered.append(found[1])
    naive = _mean(tallies["seasonal-naive"].scaled)
    return [_score(m, tallies[m], len(starts), naive) for m in methods]


def _mean(parts: list[np.ndarray]) -> float:
    return float(np.mean(np.concatenate(parts))) if parts else float("nan")


def _score(method: str, tally: _Tally, count: int, naive: float) -> MethodScore:
    mase = _mean(tally.scaled)
    month = np.array(tally.month_errors)
    return MethodScore(
        method=method,
        origins=count,
        days=sum(len(e) for e in tally.errors),
        mase=mase,
        relative_mase=mase / naive if naive > 0 else float("nan"),
        smape=_mean(tally.smape),
        coverage=_mean([c.astype(float) for c in tally.covered]),
        month_ends=len(month),
        month_end_error=float(month.mean()) if len(month) else float("nan"),
        month_end_coverage=float(np.mean(tally.month_covered)) if len(month) else float("nan"),
    )
