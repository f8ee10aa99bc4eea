"""Forecasts from past origins of a series, scored against what followed: the shared core of
`auto`, calibration and the backtest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from chatvault.forecast.holtwinters import fit_holt_winters
from chatvault.forecast.methods import (
    WEEK,
    Fit,
    fit_mean,
    fit_seasonal_naive,
    fit_trend,
    fit_trend_weekday,
)

FITTERS: dict[str, Callable[[np.ndarray, int, int], Fit]] = {
    "trend-weekday": fit_trend_weekday,
    "holt-winters": fit_holt_winters,
    "seasonal-naive": fit_seasonal_naive,
    "trend": fit_trend,
    "mean": fit_mean,
}
MIN_TRAIN = 28  # an origin needs four weeks behind it


@dataclass(frozen=True)
class Trial:
    """One method's forecast from one origin (index of its first forecast day) and the actuals."""

    origin: int
    actual: np.ndarray
    fit: Fit
    scale: float  # in-sample seasonal-naive MAE before the origin: the MASE denominator


def origins(n: int, step: int, limit: int | None = None) -> list[int]:
    """Origins every `step` days back from the last, at least MIN_TRAIN days in; oldest first."""
    found = list(range(n - step, MIN_TRAIN - 1, -step))[:limit]
    return found[::-1]


def naive_scale(y: np.ndarray) -> float:
    """Mean absolute week-on-week change: what seasonal naive misses in-sample."""
    return float(np.mean(np.abs(y[WEEK:] - y[:-WEEK])))


def trials(
    y: np.ndarray,
    weekday0: int,
    method: str,
    starts: list[int],
    horizon: int,
    cache: dict[tuple[str, int, int], Fit] | None = None,
) -> list[Trial]:
    """Fit `method` before each origin and forecast up to `horizon` days that exist.

    `cache` keeps fits across prefixes of one series (a backtest's nested origins): a fit
    depends only on the days before its origin, and a shorter forecast is its prefix.
    """
    found = []
    for origin in starts:
        key = (method, origin, horizon)
        fit = cache.get(key) if cache is not None else None
        if fit is None:
            fit = FITTERS[method](y[:origin], weekday0, horizon)
            if cache is not None:
                cache[key] = fit
        days = min(horizon, len(y) - origin)
        head = Fit(fit.mean[:days], fit.cov[:days, :days], fit.df)
        found.append(Trial(origin, y[origin : origin + days], head, naive_scale(y[:origin])))
    return found


def mase(found: list[Trial]) -> float:
    """Absolute errors of the (clipped) forecasts, each over its origin's scale, pooled."""
    scaled = [
        np.abs(t.actual - np.maximum(t.fit.mean, 0.0)) / t.scale for t in found if t.scale > 0
    ]
    return float(np.mean(np.concatenate(scaled))) if scaled else float("nan")


def _factor(errors: list[float], halves: list[float], level: float) -> float:
    ratios = [e / h for e, h in zip(errors, halves, strict=True) if h > 0]
    return max(1.0, float(np.quantile(ratios, level))) if ratios else 1.0


def calibration(found: list[Trial], q: Callable[[float], float], level: float) -> tuple[float, ...]:
    """Factors that widen daily and total half-widths to cover `level` of the trials' errors.

    q maps degrees of freedom to the quantile the half-widths use. A total is checked for the
    first 7, 14, 21 and 28 days and the whole horizon of each trial.
    """
    daily_e: list[float] = []
    daily_h: list[float] = []
    total_e: list[float] = []
    total_h: list[float] = []
    for t in found:
        mean = np.maximum(t.fit.mean, 0.0)
        quantile = q(t.fit.df)
        daily_e += list(np.abs(t.actual - mean))
        daily_h += list(quantile * np.sqrt(np.diag(t.fit.cov)))
        for days in sorted({7, 14, 21, 28, len(t.actual)}):
            if days <= len(t.actual):
                total_e.append(abs(float(t.actual[:days].sum() - mean[:days].sum())))
                total_h.append(quantile * float(np.sqrt(t.fit.cov[:days, :days].sum())))
    return _factor(daily_e, daily_h, level), _factor(total_e, total_h, level)
