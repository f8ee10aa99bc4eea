"""The forecast methods' arithmetic against known series and hand-computed matrices."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chatvault.forecast.holtwinters import fit_holt_winters
from chatvault.forecast.methods import (
    fit_mean,
    fit_seasonal_naive,
    fit_trend,
    fit_trend_weekday,
)
from chatvault.forecast.quantiles import t_quantile

WEEKLY = np.array([10.0, 12.0, 11.0, 13.0, 9.0, 2.0, 1.0])


@pytest.mark.parametrize(
    ("p", "df", "table"),
    [
        (0.9, 1, 3.0777),
        (0.9, 2, 1.8856),
        (0.9, 3, 1.6377),
        (0.9, 5, 1.4759),
        (0.9, 10, 1.3722),
        (0.9, 30, 1.3104),
        (0.975, 2, 4.3027),
        (0.975, 5, 2.5706),
        (0.975, 10, 2.2281),
        (0.95, 6, 1.9432),
        (0.1, 10, -1.3722),
    ],
)
def test_t_quantile_matches_the_tables(p, df, table):
    assert t_quantile(p, df) == pytest.approx(table, rel=2e-3)


def test_t_quantile_is_the_normal_at_infinite_df():
    assert t_quantile(0.975, math.inf) == pytest.approx(1.959964, abs=1e-6)
    assert t_quantile(0.975, 1000) == pytest.approx(1.962339, abs=1e-5)


def test_trend_recovers_a_perfect_line_and_its_interval_collapses():
    y = 5 + 2.5 * np.arange(30)
    fit = fit_trend(y, 0, 10)
    np.testing.assert_allclose(fit.mean, 5 + 2.5 * np.arange(30, 40))
    assert np.abs(fit.cov).max() < 1e-12


def test_trend_weekday_recovers_a_line_with_a_weekly_pattern():
    t = np.arange(42)
    y = 100 + 0.8 * t + WEEKLY[(3 + t) % 7]  # day 0 is a Thursday
    fit = fit_trend_weekday(y, 3, 14)
    future = np.arange(42, 56)
    np.testing.assert_allclose(fit.mean, 100 + 0.8 * future + WEEKLY[(3 + future) % 7])
    assert np.abs(fit.cov).max() < 1e-9


def test_prediction_interval_is_the_hand_computed_formula():
    y = np.array([3.0, 5.0, 4.0, 8.0, 9.0])
    X = np.array([[1, 0], [1, 1], [1, 2], [1, 3], [1, 4]], dtype=float)
    X0 = np.array([[1, 5], [1, 6]], dtype=float)
    inverse = np.linalg.inv(X.T @ X)
    b = inverse @ X.T @ y
    s2 = np.sum((y - X @ b) ** 2) / 3
    fit = fit_trend(y, 0, 2)
    np.testing.assert_allclose(fit.mean, X0 @ b)
    for k in range(2):
        x0 = X0[k]
        assert fit.cov[k, k] == pytest.approx(s2 * (1 + x0 @ inverse @ x0))
    # The total's variance: s^2 (h + 1'X0 (X'X)^-1 X0'1).
    one = np.ones(2)
    assert fit.cov.sum() == pytest.approx(s2 * (2 + one @ X0 @ inverse @ X0.T @ one))
    assert fit.df == 3


def test_mean_is_the_run_rate_of_the_last_four_weeks():
    y = np.concatenate([np.full(10, 100.0), np.arange(28.0)])
    fit = fit_mean(y, 0, 5)
    np.testing.assert_allclose(fit.mean, 13.5)
    s2 = np.var(np.arange(28.0), ddof=1)
    assert fit.cov[0, 0] == pytest.approx(s2 * (1 + 1 / 28))
    assert fit.cov.sum() == pytest.approx(s2 * (5 + 25 / 28))


def test_seasonal_naive_repeats_a_pure_weekly_pattern_exactly():
    y = np.tile(WEEKLY, 5)[2:]  # starts mid-pattern
    fit = fit_seasonal_naive(y, 0, 10)
    np.testing.assert_array_equal(fit.mean, np.tile(WEEKLY, 7)[35:45])
    assert np.abs(fit.cov).max() == 0


def test_seasonal_naive_errors_grow_a_season_at_a_time():
    rng = np.random.default_rng(3)
    y = np.tile(WEEKLY, 8) + rng.normal(0, 1, 56)
    fit = fit_seasonal_naive(y, 0, 21)
    variance = np.diag(fit.cov)
    np.testing.assert_allclose(variance[7:14], 2 * variance[:7])
    np.testing.assert_allclose(variance[14:], 3 * variance[:7])
    resid = y[7:] - y[:-7]
    assert variance[0] == pytest.approx(np.mean(resid**2))
    # The same weekday a week apart shares the first week's error.
    assert fit.cov[0, 7] == pytest.approx(variance[0])


def test_holt_winters_tracks_a_trend_with_a_season():
    t = np.arange(140)
    season = 20 * np.sin(2 * np.pi * t / 7)
    y = 200 + 1.5 * t + season + np.random.default_rng(5).normal(0, 2, 140)
    fit = fit_holt_winters(y, 0, 14)
    future = np.arange(140, 154)
    truth = 200 + 1.5 * future + 20 * np.sin(2 * np.pi * future / 7)
    assert np.max(np.abs(fit.mean - truth) / truth) < 0.03
    sd = np.sqrt(np.diag(fit.cov))
    assert 1 < sd[0] < 4  # the noise is 2
    assert np.all(np.diff(sd) >= 0)  # widening with the horizon


def test_holt_winters_covariance_is_the_innovations_form():
    y = 50 + np.tile(WEEKLY, 10) + np.random.default_rng(8).normal(0, 1, 70)
    fit = fit_holt_winters(y, 0, 9)
    # Steps 1 and 2 share the first day's innovation, weighted c_1 = alpha + beta * phi.
    c1 = fit.cov[0, 1] / fit.cov[0, 0]
    assert fit.cov[1, 1] == pytest.approx(fit.cov[0, 0] * (1 + c1**2))
    assert np.all(np.linalg.eigvalsh(fit.cov) > 0)
