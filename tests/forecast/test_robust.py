"""Level shifts, one-offs, compound growth, unit invariance and degenerate series."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from chatvault.forecast.methods import fit_growth
from chatvault.forecast.predict import predict
from chatvault.forecast.robust import cleaned, level_shift, prepare

START = date(2026, 3, 2)  # a Monday
QUIET_WEEKENDS = np.array([1.0, 1.1, 1.05, 1.0, 0.9, 0.3, 0.2])


def weekly(days: int, level: float = 100.0, noise: float = 0.1, seed: int = 0) -> np.ndarray:
    t = np.arange(days)
    rng = np.random.default_rng(seed)
    return level * QUIET_WEEKENDS[t % 7] * np.exp(rng.normal(0, noise, days))


def stepped(seed: int = 0) -> np.ndarray:
    y = weekly(90, seed=seed)
    y[55:] *= 0.5  # a model switch five weeks ago halved the spend
    return y


def test_a_step_that_is_over_is_fitted_from_the_step_not_extrapolated():
    y = stepped()
    found = level_shift(y)
    assert 53 <= found <= 57
    fc = predict(y, START, 30)
    assert fc.level_shift and fc.fit_start == START + timedelta(days=found)
    # The month ahead is at the new level, not a decline continued: about 30 days at 45.
    mean, lower, upper = fc.total(28)
    new_level = 50 * QUIET_WEEKENDS.mean() * 28
    assert 0.85 * new_level <= mean <= 1.15 * new_level
    assert lower < mean < upper < 1.5 * new_level


def test_steady_spend_has_no_shift_and_growth_is_not_a_step():
    assert not prepare(weekly(120, seed=3)).shifted
    assert level_shift(weekly(90, seed=4) * 1.003 ** np.arange(90)) == 0


def test_a_one_off_spike_is_set_aside_but_the_last_week_is_kept():
    y = weekly(90, seed=5)
    y[40] *= 20
    y[87] *= 20
    clean, count = cleaned(y)
    assert count == 1 and clean[40] < 3 * y[33] and clean[87] == y[87]


def test_growth_follows_compounding_spend_within_its_log_offset_bias():
    t = np.arange(84)
    y = 20 * 1.02**t * QUIET_WEEKENDS[t % 7]
    fit = fit_growth(y, 0, 14)
    expected = 20 * 1.02 ** np.arange(84, 98) * QUIET_WEEKENDS[np.arange(84, 98) % 7]
    # log(y + a tenth of the mean day) is not quite linear: within 12% on 2% a day.
    np.testing.assert_allclose(fit.mean, expected, rtol=0.12)
    assert np.all(np.diff(fit.mean[::7]) > 0)


@pytest.mark.parametrize(
    "y",
    [
        weekly(120, seed=1),
        stepped(seed=2),
        np.concatenate([np.full(60, 10.0), [500.0], np.full(29, 10.0)]),
        weekly(70, seed=6) * 1.01 ** np.arange(70),
    ],
    ids=["weekly", "step", "spike", "growth"],
)
def test_a_forecast_of_100_times_the_spend_is_100_times_the_forecast(y):
    small, large = predict(y, START, 30), predict(100 * y, START, 30)
    assert (small.method, small.fit_start) == (large.method, large.fit_start)
    for a, b in ((small.mean, large.mean), (small.lower, large.lower), (small.upper, large.upper)):
        np.testing.assert_allclose(100 * a, b, rtol=1e-9, atol=1e-9)
    for days in (1, 7, 30):
        np.testing.assert_allclose(np.array(small.total(days)) * 100, large.total(days), rtol=1e-9)


def test_a_constant_day_after_a_spike_has_a_sensible_interval():
    # 60 days at $10, one at $500, 29 at $10: the interval must not be rounding noise, and
    # the one spike must not blow up the total's.
    y = np.concatenate([np.full(60, 10.0), [500.0], np.full(29, 10.0)])
    for method in ("mean", "auto"):
        fc = predict(y, START, 30, method=method)
        assert np.all(fc.upper - fc.lower > 0.1) and np.all(fc.upper < 12)
        mean, lower, upper = fc.total()
        assert mean == pytest.approx(300) and 250 < lower < 300 < upper < 400


@pytest.mark.parametrize(
    ("name", "y"),
    [
        ("constant", np.full(90, 7.0)),
        ("zero", np.zeros(90)),
        ("weekend-only", np.where(np.arange(90) % 7 >= 5, 25.0, 0.0)),
    ],
)
def test_degenerate_series_give_finite_sensible_intervals(name, y):
    fc = predict(y, START, 30)
    assert np.all(np.isfinite(fc.lower)) and np.all(np.isfinite(fc.upper))
    assert np.all(fc.lower <= fc.mean) and np.all(fc.mean <= fc.upper)
    mean, lower, upper = fc.total()
    assert np.isfinite(upper) and lower <= mean <= upper
    if name == "zero":
        assert upper == 0
    else:
        # within a tenth of the 30-day total either way
        assert y[-30:].sum() * 0.9 <= lower <= upper <= y[-30:].sum() * 1.1
