"""Additive Holt-Winters with a damped trend and a weekly season (ETS(A,Ad,A)).

The smoothing parameters minimise the one-step squared error over a grid, all candidates run
at once as NumPy vectors. Forecast errors come from the innovations form: step k's error is
e_k + sum_j c_j e_(k-j), c_j = alpha + beta (phi + ... + phi^j) + gamma [j divisible by 7],
so the covariance over the horizon is s^2 L L' with L lower triangular of the c_j.
"""

from __future__ import annotations

import itertools

import numpy as np

from chatvault.forecast.methods import WEEK, Fit

FIT_WINDOW = 182  # half a year: older weeks barely weigh at the smoothing the grid allows
_ALPHA = (0.05, 0.1, 0.2, 0.35, 0.5)
_BETA = (0.0, 0.01, 0.05)  # beta <= alpha, as the innovations form requires
_GAMMA = (0.05, 0.15, 0.3)
_PHI = (0.9, 0.98)
_GRID = np.array([g for g in itertools.product(_ALPHA, _BETA, _GAMMA, _PHI) if g[1] <= g[0]]).T
_PARAMETERS = 4 + 2 + WEEK  # smoothing, initial level and trend, initial season


def _run(y: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, ...]:
    """One-step SSE and final states (level, trend, season by position) per grid column."""
    alpha, beta, gamma, phi = grid
    first, second = y[:WEEK].mean(), y[WEEK : 2 * WEEK].mean()
    trend0 = (second - first) / WEEK
    season0 = (y[:WEEK] + y[WEEK : 2 * WEEK]) / 2 - (first + second) / 2
    size = grid.shape[1]
    level = np.full(size, first - (WEEK + 1) / 2 * trend0)  # the level just before day 0
    trend = np.full(size, trend0)
    season = np.tile(season0, (size, 1))
    sse = np.zeros(size)
    for t, value in enumerate(y):
        pos = t % WEEK
        damped = phi * trend
        error = value - (level + damped + season[:, pos])
        sse += error * error
        level = level + damped + alpha * error
        trend = damped + beta * error
        season[:, pos] += gamma * error
    return sse, level, trend, season


def fit_holt_winters(y: np.ndarray, weekday0: int, horizon: int) -> Fit:
    """Additive damped Holt-Winters, weekly season, parameters by least one-step SSE."""
    y = y[-FIT_WINDOW:]
    n = len(y)
    sse, level, trend, season = _run(y, _GRID)
    best = int(np.argmin(sse))
    alpha, beta, gamma, phi = _GRID[:, best]
    k = np.arange(1, horizon + 1)
    damped_sum = np.cumsum(phi**k)  # phi + ... + phi^k
    mean = level[best] + damped_sum * trend[best] + season[best][(n + k - 1) % WEEK]
    c = alpha + beta * damped_sum + gamma * (k % WEEK == 0)
    lower = np.zeros((horizon, horizon))
    for j in range(horizon):
        lower[j, : j + 1] = np.concatenate((c[:j][::-1], [1.0]))
    df = max(n - _PARAMETERS, 1)
    s2 = float(sse[best]) / df
    return Fit(mean, s2 * lower @ lower.T, df)
