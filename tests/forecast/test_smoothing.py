"""level-weekday: its smoothed log level, unit invariance and degenerate series."""

from __future__ import annotations

import numpy as np
import pytest

from chatvault.forecast.smoothing import _innovations, fit_level_weekday

QUIET_WEEKENDS = np.array([1.0, 1.1, 1.05, 1.0, 0.9, 0.3, 0.2])


def test_level_weekday_takes_the_recent_level_and_every_week_s_profile():
    t = np.arange(112)
    level = np.where(t < 84, 100.0, 130.0)  # the last four weeks 30% up
    y = level * QUIET_WEEKENDS[t % 7] * np.exp(np.random.default_rng(4).normal(0, 0.1, 112))
    fit = fit_level_weekday(y, 0, 14)
    np.testing.assert_allclose(fit.mean, 130 * QUIET_WEEKENDS[np.arange(112, 126) % 7], rtol=0.1)
    assert fit.sums().sum() > fit.mean.sum()  # totals add expected days, above the medians


def test_a_forecast_of_100_y_is_100_times_the_forecast_of_y():
    t = np.arange(90)
    y = 3 * QUIET_WEEKENDS[t % 7] * np.exp(np.random.default_rng(2).normal(0, 0.3, 90))
    small, large = fit_level_weekday(y, 3, 30), fit_level_weekday(100 * y, 3, 30)
    np.testing.assert_allclose(large.mean, 100 * small.mean, rtol=1e-9)
    np.testing.assert_allclose(large.sums(), 100 * small.sums(), rtol=1e-9)
    np.testing.assert_allclose(large.cov, 1e4 * small.cov, rtol=1e-9)


def test_steady_growth_is_followed_and_a_steady_level_is_not_given_a_trend():
    t = np.arange(120)
    noise = np.exp(np.random.default_rng(5).normal(0, 0.05, 120))
    growing = fit_level_weekday(20 * 1.02**t * QUIET_WEEKENDS[t % 7] * noise, 0, 28)
    ahead = np.arange(120, 148)
    expected = 20 * 1.02**ahead * QUIET_WEEKENDS[ahead % 7]
    np.testing.assert_allclose(growing.mean, expected, rtol=0.1)
    steady = fit_level_weekday(20 * QUIET_WEEKENDS[t % 7] * noise, 0, 28)
    np.testing.assert_allclose(steady.mean, 20 * QUIET_WEEKENDS[ahead % 7], rtol=0.05)


def test_errors_grow_with_the_horizon_and_are_positive_definite():
    t = np.arange(90)
    y = 50 * QUIET_WEEKENDS[t % 7] * np.exp(np.random.default_rng(7).normal(0, 0.2, 90))
    fit = fit_level_weekday(y, 0, 30)
    variance = np.diag(fit.cov) / fit.sums() ** 2
    assert variance[28] > variance[0] > 0  # the same weekday, four weeks further
    assert np.all(np.linalg.eigvalsh(fit.cov) > 0)


@pytest.mark.parametrize(
    "y",
    [
        np.full(60, 10.0),
        np.zeros(60),
        np.concatenate([np.full(60, 10.0), [500.0], np.full(29, 10.0)]),
        np.where(np.arange(70) % 7 >= 5, 40.0, 0.0),
        np.where(np.arange(70) % 7 < 5, 40.0, 0.0),
    ],
    ids=["constant", "zero", "single-spike", "weekend-only", "weekday-only"],
)
def test_degenerate_series_give_finite_forecasts(y):
    fit = fit_level_weekday(y, 0, 30)
    assert np.all(np.isfinite(fit.mean)) and np.all(np.isfinite(fit.cov))
    assert np.all(np.isfinite(fit.sums()))


def test_the_innovations_of_a_local_level_add_alpha_of_each_earlier_error():
    L = _innovations(0.2, 0.0, 1.0, 4)
    np.testing.assert_allclose(
        L, [[1, 0, 0, 0], [0.2, 1, 0, 0], [0.2, 0.2, 1, 0], [0.2, 0.2, 0.2, 1]]
    )
    damped = _innovations(0.2, 0.1, 0.5, 3)
    np.testing.assert_allclose(damped[1, 0], 0.2 + 0.1 * 0.5)
    np.testing.assert_allclose(damped[2, 0], 0.2 + 0.1 * (0.5 + 0.25))
