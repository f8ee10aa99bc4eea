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
    fit_growth,
    fit_mean,
    fit_seasonal_naive,
    fit_trend,
    fit_trend_weekday,
    fit_weekday_mean,
)
from chatvault.forecast.robust import Prepared, prepare
from chatvault.forecast.smoothing import fit_level_weekday

FITTERS: dict[str, Callable[[np.ndarray, int, int], Fit]] = {
    "trend-weekday": fit_trend_weekday,
    "holt-winters": fit_holt_winters,
    "growth": fit_growth,
    "seasonal-naive": fit_seasonal_naive,
    "trend": fit_trend,
    "mean": fit_mean,
    "weekday-mean": fit_weekday_mean,
    "level-weekday": fit_level_weekday,
}
MIN_TRAIN = 28  # an origin needs four weeks behind it
FLOOR = 0.02  # no day's error sd below 2% of the recent mean day: rounding is not certainty
MIN_SCALE = 0.5  # calibration narrows intervals to half the model's at most
# A day's factor is the typical origin's score, not an upper quantile of them: each score is
# already the `level` quantile of its origin's days, and taking the level quantile of those
# again covered ~89% of the days with eight origins (the largest score), not the 80% stated.
TYPICAL = 0.5


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


def fit(method: str, y: np.ndarray, weekday0: int, horizon: int, ready: Prepared | None = None):
    """`method` fitted on the prepared days of `y` (robust.prepare), its error sd floored."""
    ready = ready or prepare(y)
    window = ready.values
    found = FITTERS[method](window, (weekday0 + ready.start) % WEEK, horizon)
    recent = float(np.mean(np.abs(window[-MIN_TRAIN:])))
    floor = FLOOR * recent
    cov = found.cov + floor * floor * np.eye(horizon)
    if ready.drift > 0:
        # The level keeps moving after the last day: a random walk in the log run-rate adds
        # q min(i, j) m_i m_j to the covariance of days i and j ahead, m the expected days.
        level = np.maximum(found.sums(), 0.0)
        k = np.arange(1, horizon + 1)
        cov = cov + ready.drift * np.minimum.outer(k, k) * np.outer(level, level)
    return Fit(found.mean, cov, found.df, found.expected)


def combine(fits: list[Fit]) -> Fit:
    """The mean forecast of `fits`, its covariance that of a mixture of them (calibration
    then scales it, on the mean's own backtest)."""
    if len(fits) == 1:
        return fits[0]
    expected = None
    if any(f.expected is not None for f in fits):
        expected = np.mean([f.sums() for f in fits], axis=0)
    # As a mixture of the fits, equally likely (law of total variance): the mean of their
    # covariances plus that of their expected days about the mean, so that methods that part
    # ways over the horizon (a level that holds, growth that goes on) widen its totals.
    sums = np.array([f.sums() for f in fits])
    apart = sums - sums.mean(axis=0)
    cov = np.mean([f.cov for f in fits], axis=0) + apart.T @ apart / len(fits)
    return Fit(
        np.mean([f.mean for f in fits], axis=0),
        cov,
        min(f.df for f in fits),
        expected,
    )


def trials(
    y: np.ndarray,
    weekday0: int,
    method: str,
    starts: list[int],
    horizon: int,
    cache: dict | None = None,
    actual: np.ndarray | None = None,
) -> list[Trial]:
    """Fit `method` before each origin and forecast up to `horizon` days that exist.

    `cache` keeps fits across prefixes of one series (a backtest's nested origins): a fit
    depends only on the days before its origin, and a shorter forecast is its prefix.
    The forecasts are scored against `actual` (default `y`).
    """
    cache = {} if cache is None else cache
    actual = y if actual is None else actual
    found = []
    for origin in starts:
        key = (method, origin, horizon)
        if key not in cache:
            ready = cache.get(("prepared", origin))
            if ready is None:
                ready = cache[("prepared", origin)] = prepare(y[:origin])
            cache[key] = fit(method, y[:origin], weekday0, horizon, ready)
        days = min(horizon, len(y) - origin)
        head = cache[key].head(days)
        scale = naive_scale(actual[:origin])
        found.append(Trial(origin, actual[origin : origin + days], head, scale))
    return found


def mase(found: list[Trial]) -> float:
    """Absolute errors of the (clipped) forecasts, each over its origin's scale, pooled."""
    scaled = [
        np.abs(t.actual - np.maximum(t.fit.mean, 0.0)) / t.scale for t in found if t.scale > 0
    ]
    return float(np.mean(np.concatenate(scaled))) if scaled else float("nan")


def _widen(found: float, least: float) -> float:
    # A few origins that went well are weaker evidence than the ones that went badly:
    # narrowing goes half the way (on the log scale) and to `least` at most; widening the
    # whole way.
    return found if found >= 1 else max(least, float(np.sqrt(found)))


def conformal(scores: list[float], level: float) -> float:
    """The split-conformal quantile of m scores: the ceil(level (m + 1))-th smallest (the
    largest when m is too small for that), so that one more exchangeable score lies below it
    with probability `level` or more."""
    ordered = sorted(scores)
    k = min(int(np.ceil(level * (len(ordered) + 1))), len(ordered))
    return ordered[k - 1]


def calibration(found: list[Trial], q: Callable[[float], float], level: float) -> tuple[float, ...]:
    """Factors that scale daily and total half-widths to cover `level` of the trials' errors.

    q maps degrees of freedom to the quantile the half-widths use. A trial's days share its
    origin's luck, so each trial gives one score, and a factor is the conformal quantile of
    the trials' scores. Daily: the `level` quantile of the trial's ratios of a day's error
    to its half-width, and the factor their conformal median (TYPICAL). Totals: the worst
    ratio over the totals of its first 7, 14, 21 and 28 days and its whole horizon (one factor
    serves totals of any length, as a month end's), and the factor their `level` quantile: a
    total is one value per origin, so the origins' scores are its errors.
    """
    daily: list[float] = []
    totals: list[float] = []
    for t in found:
        quantile = q(t.fit.df)
        error = np.abs(t.actual - np.maximum(t.fit.mean, 0.0))
        half = quantile * np.sqrt(np.diag(t.fit.cov))
        if (half > 0).any():
            daily.append(float(np.quantile(error[half > 0] / half[half > 0], level)))
        sums = np.maximum(t.fit.sums(), 0.0)
        ratios = []
        for days in sorted({7, 14, 21, 28, len(t.actual)}):
            if days <= len(t.actual):
                half_total = quantile * float(np.sqrt(t.fit.cov[:days, :days].sum()))
                if half_total > 0:
                    miss = abs(float(t.actual[:days].sum() - sums[:days].sum()))
                    ratios.append(miss / half_total)
        if ratios:
            totals.append(max(ratios))
    return (
        _widen(conformal(daily, TYPICAL), MIN_SCALE) if daily else 1.0,
        _widen(conformal(totals, level), MIN_SCALE) if totals else 1.0,
    )
