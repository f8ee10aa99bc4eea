"""The regression and naive methods: each fits a daily series and returns a `Fit`.

A fit is the point forecast and the covariance matrix of its errors over the horizon, so a
daily interval and the interval of any horizon total come from the same matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WEEK = 7
MEAN_WINDOW = 28  # the run-rate is the mean day of the last four weeks
LOG_OFFSET = 0.1  # growth fits log(y + c), c a tenth of a low day (the lower quartile of days
# with spend): zero days stay finite, in any unit, and c is small beside the days that matter


@dataclass(frozen=True)
class Fit:
    """Point forecast, covariance of its errors, and degrees of freedom for the t quantile."""

    mean: np.ndarray
    cov: np.ndarray
    df: float
    expected: np.ndarray | None = None  # the days' expected spend, when not `mean` (growth)

    def sums(self) -> np.ndarray:
        """What the days add up to on average: `expected`, or `mean` when it is the same."""
        return self.mean if self.expected is None else self.expected

    def head(self, days: int) -> Fit:
        """The fit of the first `days` forecast days."""
        expected = None if self.expected is None else self.expected[:days]
        return Fit(self.mean[:days], self.cov[:days, :days], self.df, expected)


def regression(y: np.ndarray, X: np.ndarray, X0: np.ndarray) -> Fit:
    """Least squares of y on X, forecast at the rows of X0 with the prediction covariance."""
    n, p = X.shape
    xtx_inv = np.linalg.pinv(X.T @ X)
    beta = xtx_inv @ X.T @ y
    resid = y - X @ beta
    df = n - p
    s2 = float(resid @ resid) / df
    # Var(Y0 - X0 b) = s^2 (I + X0 (X'X)^-1 X0'): the new days' noise plus the error of b.
    cov = s2 * (np.eye(len(X0)) + X0 @ xtx_inv @ X0.T)
    return Fit(X0 @ beta, cov, df)


def _design(t: np.ndarray, weekday0: int, trend: bool, weekdays: bool) -> np.ndarray:
    columns = [np.ones(len(t))]
    if trend:
        columns.append(t.astype(float))
    if weekdays:
        day = (weekday0 + t) % WEEK
        # Monday is the baseline; a dummy per other weekday keeps X'X invertible.
        columns += [(day == d).astype(float) for d in range(1, WEEK)]
    return np.column_stack(columns)


def _fit_regression(y: np.ndarray, weekday0: int, horizon: int, trend: bool, weekdays: bool) -> Fit:
    n = len(y)
    t = np.arange(n + horizon)
    X = _design(t, weekday0, trend, weekdays)
    return regression(y, X[:n], X[n:])


def fit_mean(y: np.ndarray, weekday0: int, horizon: int) -> Fit:
    """Run-rate: the mean day of the last four weeks (all days if fewer)."""
    recent = y[-MEAN_WINDOW:]
    return _fit_regression(recent, 0, horizon, trend=False, weekdays=False)


def fit_weekday_mean(y: np.ndarray, weekday0: int, horizon: int) -> Fit:
    """A level per weekday: the last four weeks' mean of each (all days if fewer), no trend."""
    recent = y[-MEAN_WINDOW:]
    first = (weekday0 + len(y) - len(recent)) % WEEK
    return _fit_regression(recent, first, horizon, trend=False, weekdays=True)


def fit_trend(y: np.ndarray, weekday0: int, horizon: int) -> Fit:
    """Straight line through the history."""
    return _fit_regression(y, weekday0, horizon, trend=True, weekdays=False)


def fit_trend_weekday(y: np.ndarray, weekday0: int, horizon: int) -> Fit:
    """Straight line plus a level per weekday."""
    return _fit_regression(y, weekday0, horizon, trend=True, weekdays=True)


def fit_seasonal_naive(y: np.ndarray, weekday0: int, horizon: int) -> Fit:
    """The same weekday of the last week, errors from the series' own week-on-week changes."""
    n = len(y)
    k = np.arange(horizon)
    mean = y[n - WEEK + k % WEEK]
    resid = y[WEEK:] - y[:-WEEK]
    s2 = float(resid @ resid) / len(resid)
    # As a seasonal random walk, step k's error sums ceil(k/7) weekly changes of its weekday:
    # errors grow a season at a time. Changes of different weekdays in the same week share
    # level moves, so they correlate by rho (the mean lag 1-6 autocorrelation, at least 0).
    rho = 0.0
    if s2 > 0 and len(resid) > WEEK:
        lags = [resid[:-j] @ resid[j:] / len(resid) for j in range(1, WEEK)]
        rho = min(max(float(np.mean(lags)) / s2, 0.0), 0.95)
    weeks = k // WEEK + 1
    same_day = k[:, None] % WEEK == k[None, :] % WEEK
    cov = s2 * np.minimum.outer(weeks, weeks) * np.where(same_day, 1.0, rho)
    return Fit(mean.astype(float), cov, len(resid))


def log_offset(y: np.ndarray) -> float:
    """c of log(y + c): a tenth of the lower quartile of the days with spend (0: none)."""
    positive = y[y > 0]
    return LOG_OFFSET * float(np.quantile(positive, 0.25)) if len(positive) else 0.0


def from_log(median: np.ndarray, resid: np.ndarray, day: np.ndarray, ahead: np.ndarray):
    """Medians and expected days from a log-scale fit: the expected day is higher by the mean
    of the exponentiated residuals of the same weekday (Duan's smearing: no assumption on
    their distribution, which zero days and batch jobs make far from normal). A weekday
    that is always zero (or always the same) has nothing to smear."""
    spread = np.exp(resid)
    smear = np.array([spread[day == d].mean() if (day == d).any() else 1.0 for d in range(WEEK)])
    return median, median * smear[ahead]


def fit_growth(y: np.ndarray, weekday0: int, horizon: int) -> Fit:
    """Compound growth: a straight line plus a level per weekday on the log scale.

    The forecast is the line's median, exp(fit) less the offset, and its covariance is the
    log-scale prediction covariance carried over by the delta method: diag(m) C diag(m).
    """
    offset = log_offset(y)
    if offset <= 0:
        return Fit(np.zeros(horizon), np.zeros((horizon, horizon)), max(len(y) - 1, 1))
    logs = np.log(y + offset)
    logged = _fit_regression(logs, weekday0, horizon, trend=True, weekdays=True)
    # exp(fit) is the median day, what the daily errors are scored against; a sum needs the
    # mean (from_log).
    X = _design(np.arange(len(y)), weekday0, trend=True, weekdays=True)
    beta = np.linalg.lstsq(X, logs, rcond=None)[0]
    day = (weekday0 + np.arange(len(y))) % WEEK
    ahead = (weekday0 + len(y) + np.arange(horizon)) % WEEK
    median, expected = from_log(np.exp(logged.mean), logs - X @ beta, day, ahead)
    cov = logged.cov * np.outer(expected, expected)
    return Fit(median - offset, cov, logged.df, expected - offset)
