"""level-weekday: a weekday profile times a smoothed level, on the log scale.

The level is a state-space model of the week-adjusted log spend, chosen by the likelihood of
every day's one-step error rather than by a handful of backtest origins: a local level, a
damped local trend and a straight line, each fitted by least (clipped) one-step squared
error, are averaged with their Akaike weights (AICc), so a level that holds, one that drifts
and growth that goes on are each trusted as far as the whole history supports them.
"""

from __future__ import annotations

import itertools

import numpy as np

from chatvault.forecast.methods import WEEK, Fit, fit_weekday_mean, from_log, log_offset

MEDIAN_VARIANCE = np.pi / 2  # a median of n normal values varies as pi/2 times their mean
CLIP = 2.5  # one-step errors beyond 2.5 robust spreads (a zero day, a batch day) count as that
# The spread's least, in log units (1%): a series without noise (flat, or weekdays seen once)
# has a MAD of 0 or of rounding noise, which would clip every error to nothing and make the
# answer depend on the unit the spend is counted in.
SPREAD_FLOOR = 0.01
VARIANCE_FLOOR = SPREAD_FLOOR**2 / 100  # AICc's least error variance: below it, noise
START_DAYS = 28  # the initial level is the median of the first four weeks
_ALPHA = (0.01, 0.02, 0.04, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5)
_BETA = (0.002, 0.01, 0.03)
_PHI = (0.8, 0.9, 0.95, 0.98, 1.0)
# Local level (beta 0, no slope) then damped local trend (beta <= alpha, as the innovations
# form requires); columns alpha, beta, phi.
_LEVEL = np.array([(a, 0.0, 1.0) for a in _ALPHA])
_TREND = np.array([g for g in itertools.product(_ALPHA, _BETA, _PHI) if g[1] <= g[0]])
_GRID = np.concatenate([_LEVEL, _TREND]).T
_LEVEL_COLUMNS = _GRID[1] == 0
_TREND_COLUMNS = ~_LEVEL_COLUMNS
LEVEL_PARAMETERS = 2  # alpha and the initial level (AICc's k)
TREND_PARAMETERS = 5  # and beta, phi and the initial slope
LINE_PARAMETERS = 2  # intercept and slope


def _profile(logs: np.ndarray, day: np.ndarray):
    """Each weekday's median log against its centred 7-day mean (so a moving level does not
    blur it), the residuals about it, their weekdays and how many weeks each was learnt from."""
    n = len(logs)
    middle = np.convolve(logs, np.ones(WEEK) / WEEK, mode="valid")  # centred on days 3..n-4
    inner = day[3 : n - 3]
    deviation = logs[3 : n - 3] - middle
    profile = np.array([np.median(deviation[inner == d]) for d in range(WEEK)])
    profile -= profile.mean()
    weeks = np.array([(inner == d).sum() for d in range(WEEK)])
    return profile, deviation - profile[inner], inner, weeks


def _smooth(z: np.ndarray, slope0: float, clip: float) -> tuple[np.ndarray, ...]:
    """Clipped one-step SSE and final level and slope of every grid column, run at once."""
    alpha, beta, phi = _GRID
    level = np.full(_GRID.shape[1], float(np.median(z[:START_DAYS])))
    slope = np.where(beta > 0, slope0, 0.0)
    sse = np.zeros(_GRID.shape[1])
    for value in z:
        ahead = level + phi * slope
        # A clipped error neither drags the level after a zero day nor inflates the SSE.
        error = np.clip(value - ahead, -clip, clip)
        sse += error * error
        level = ahead + alpha * error
        slope = phi * slope + beta * error
    return sse, level, slope


def _innovations(alpha: float, beta: float, phi: float, horizon: int) -> np.ndarray:
    """L of the innovations form: step k's error is e_k + sum_j c_j e_(k-j), with
    c_j = alpha + beta (phi + ... + phi^j); the errors' covariance is s^2 L L'."""
    k = np.arange(horizon)
    c = np.concatenate([[1.0], alpha + beta * np.cumsum(phi ** k[1:])])
    gap = k[:, None] - k[None, :]
    return np.where(gap >= 0, c[np.maximum(gap, 0)], 0.0)


def _aicc(sse: float, n: int, k: int) -> float:
    return n * np.log(max(sse / n, VARIANCE_FLOOR)) + 2 * k + 2 * k * (k + 1) / max(n - k - 1, 1)


def _spread(resid: np.ndarray) -> float:
    """The residuals' robust spread (1.4826 MAD); when over half of them are alike, their
    mean absolute deviation (scaled the same way for normal errors); never under the floor."""
    deviation = np.abs(resid - np.median(resid))
    mad = 1.4826 * float(np.median(deviation))
    if mad >= SPREAD_FLOOR:
        return mad
    return max(1.2533 * float(deviation.mean()), SPREAD_FLOOR)


def fit_level_weekday(y: np.ndarray, weekday0: int, horizon: int) -> Fit:
    """A weekday profile times the level of the week-adjusted log spend, the level averaged
    over a local level, a damped local trend and a straight line by their AICc weights."""
    n, offset = len(y), log_offset(y)
    if offset <= 0 or n < 2 * WEEK:
        return fit_weekday_mean(y, weekday0, horizon)
    logs = np.log(y + offset)
    day = (weekday0 + np.arange(n)) % WEEK
    profile, resid, inner, weeks = _profile(logs, day)
    z = logs - profile[day]
    spread = _spread(resid)
    half = min(n // 2, START_DAYS)
    slope0 = float(np.median(z[half : 2 * half]) - np.median(z[:half])) / half
    sse, level, slope = _smooth(z, slope0, CLIP * spread)
    k = np.arange(1, horizon + 1)
    models = []  # (AICc, log-level path, its error covariance)
    for columns, parameters in (
        (_LEVEL_COLUMNS, LEVEL_PARAMETERS),
        (_TREND_COLUMNS, TREND_PARAMETERS),
    ):
        best = int(np.argmin(np.where(columns, sse, np.inf)))
        alpha, beta, phi = _GRID[:, best]
        path = level[best] + np.cumsum(phi**k) * slope[best]
        L = _innovations(alpha, beta, phi, horizon)
        s2 = float(sse[best]) / max(n - parameters, 1)
        models.append((_aicc(float(sse[best]), n, parameters), path, s2 * L @ L.T))
    X = np.column_stack([np.ones(n + horizon), np.arange(n + horizon, dtype=float)])
    xtx_inv = np.linalg.inv(X[:n].T @ X[:n])
    beta = xtx_inv @ X[:n].T @ z
    line = np.clip(z - X[:n] @ beta, -CLIP * spread, CLIP * spread)
    s2 = float(line @ line) / max(n - 2, 1)
    line_cov = s2 * (np.eye(horizon) + X[n:] @ xtx_inv @ X[n:].T)
    models.append((_aicc(float(line @ line), n, LINE_PARAMETERS), X[n:] @ beta, line_cov))
    scores = np.array([m[0] for m in models])
    weights = np.exp(-(scores - scores.min()) / 2)
    weights /= weights.sum()
    path = sum(w * m[1] for w, m in zip(weights, models, strict=True))
    # As a mixture of the three (law of total variance), plus the weekday profile's error,
    # shared by days of the same weekday (a median: MEDIAN_VARIANCE).
    cov_log = sum(
        w * (m[2] + np.outer(m[1] - path, m[1] - path))
        for w, m in zip(weights, models, strict=True)
    )
    ahead = (weekday0 + n + np.arange(horizon)) % WEEK
    s2_day = float(resid @ resid) / max(len(resid) - WEEK, 1) * WEEK / (WEEK - 1)
    same = ahead[:, None] == ahead[None, :]
    cov_log = cov_log + s2_day * MEDIAN_VARIANCE * np.where(same, 1.0 / weeks[ahead], 0.0)
    median, expected = from_log(np.exp(path + profile[ahead]), resid, inner, ahead)
    df = max(n - TREND_PARAMETERS, 1)
    return Fit(median - offset, cov_log * np.outer(expected, expected), df, expected - offset)
