"""Level shifts, one-offs, compound growth, unit invariance and degenerate series."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from chatvault.forecast.methods import fit_growth
from chatvault.forecast.predict import predict
from chatvault.forecast.robust import cleaned, drift, level_shift, prepare

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


def test_a_one_off_spike_is_set_aside_but_the_last_day_is_kept():
    y = weekly(90, seed=5)
    y[40] *= 20
    y[89] *= 20  # the last day: perhaps the start of a change
    clean, count = cleaned(y)
    assert count == 1 and clean[40] < 3 * y[33] and clean[89] == y[89]
    # A spike in the last week that spend came back from is a one-off like any other.
    y[89] /= 20
    y[86] *= 20
    clean, count = cleaned(y)
    assert count == 2 and clean[86] < 3 * y[79]


def test_a_holiday_spell_is_set_aside_but_not_one_at_the_end_or_one_that_recurs():
    y = weekly(120, noise=0.2, seed=9)
    holiday = y.copy()
    holiday[50:60] *= 0.3  # ten days off at a third of the spend
    clean, count = cleaned(holiday)
    assert 8 <= count <= 14
    np.testing.assert_allclose(clean[50:60].sum(), y[50:60].sum(), rtol=0.2)
    ends = y.copy()
    ends[-10:] *= 0.3  # the last ten days: perhaps the start of a change, not a spell
    assert np.all(cleaned(ends)[0][-10:] == ends[-10:])
    batch = y.copy()
    batch[5::30] += 8 * y.mean()  # a batch job every 30 days recurs: spend to forecast
    assert np.all(cleaned(batch)[0][5::30] == batch[5::30])


def test_growth_follows_compounding_spend_within_its_log_offset_bias():
    t = np.arange(84)
    y = 20 * 1.02**t * QUIET_WEEKENDS[t % 7]
    fit = fit_growth(y, 0, 14)
    expected = 20 * 1.02 ** np.arange(84, 98) * QUIET_WEEKENDS[np.arange(84, 98) % 7]
    # log(y + a tenth of a low day) is not quite linear: within 7% on 2% a day.
    np.testing.assert_allclose(fit.mean, expected, rtol=0.07)
    assert np.all(np.diff(fit.mean[::7]) > 0)


def test_growth_totals_are_the_expected_sum_not_the_sum_of_median_days():
    # Log-normal noise (sd 0.5): the median day is exp(0.125) = 13% below the mean day.
    t = np.arange(154)
    rng = np.random.default_rng(8)
    median = 20 * 1.01**t * QUIET_WEEKENDS[t % 7]
    fc = predict(median[:126] * np.exp(rng.normal(0, 0.5, 126)), START, 28, method="growth")
    mean, lower, upper = fc.total()
    assert mean > 1.08 * fc.mean.sum()
    expected = median[126:].sum() * np.exp(0.5**2 / 2)
    assert 0.95 * expected < mean < 1.05 * expected and lower < expected < upper


def test_a_curve_that_bends_is_not_a_step():
    t = np.arange(120)
    assert level_shift(weekly(120, noise=0.2, seed=4) * 1.02**t) == 0
    adoption = 0.2 + 0.8 / (1 + np.exp(-(t - 90) / 12))
    assert level_shift(weekly(120, seed=7) * adoption) == 0


def test_drift_reads_a_random_walk_in_the_run_rate_and_not_a_steady_trend():
    walk = np.exp(np.cumsum(np.random.default_rng(100).normal(0, 0.03, 180)))
    found = [drift(weekly(180, seed=k) * walk) for k in range(5)]
    assert 0.3 * 0.03**2 < np.median(found) < 2 * 0.03**2
    assert drift(weekly(180, seed=1) * 1.01 ** np.arange(180)) < 0.1 * 0.03**2
    # The same in any unit; the weeks before a level shift still count, across it not.
    y = stepped(seed=3)
    assert drift(100 * y, 55) == pytest.approx(drift(y, 55))
    assert drift(y, 55) < drift(y, 0)


def test_a_wandering_level_widens_the_total_more_than_the_days():
    walk = np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.04, 120)))
    steady, wandering = weekly(120, seed=2), weekly(120, seed=2) * walk
    calm = predict(steady, START, 30, method="weekday-mean")
    moving = predict(
        wandering * steady[-28:].mean() / wandering[-28:].mean(), START, 30, "weekday-mean"
    )

    def width(fc):
        mean, lower, upper = fc.total()
        return (upper - lower) / mean

    assert width(moving) > 1.5 * width(calm)


@pytest.mark.parametrize(
    "y",
    [
        weekly(120, seed=1),
        stepped(seed=2),
        np.concatenate([np.full(60, 10.0), [500.0], np.full(29, 10.0)]),
        weekly(70, seed=6) * 1.01 ** np.arange(70),
        # Short histories, where a weekday is seen once and its residual is exactly 0 (or
        # rounding noise, depending on the unit): level-weekday alone forecasts them.
        np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9.0]),
        weekly(14, seed=7),
        weekly(16, seed=8),
        np.concatenate([np.full(30, 10.0), np.full(20, 4.0)]),  # piecewise constant
        np.concatenate([np.full(60, 10.0), np.zeros(30)]),  # spend that stopped
    ],
    ids=[
        "weekly",
        "step",
        "spike",
        "growth",
        "15-days",
        "14-days",
        "16-days",
        "flat-steps",
        "stop",
    ],
)
@pytest.mark.parametrize("scale", [100.0, 3.0, 0.01])
def test_a_forecast_of_k_times_the_spend_is_k_times_the_forecast(y, scale):
    small, large = predict(y, START, 30), predict(scale * y, START, 30)
    assert (small.method, small.fit_start) == (large.method, large.fit_start)
    for a, b in ((small.mean, large.mean), (small.lower, large.lower), (small.upper, large.upper)):
        np.testing.assert_allclose(scale * a, b, rtol=1e-9, atol=1e-9 * min(scale, 1.0))
    for days in (1, 7, 30):
        np.testing.assert_allclose(
            np.array(small.total(days)) * scale, large.total(days), rtol=1e-9
        )


def test_spend_that_stopped_is_a_shift_not_a_dip_to_set_aside():
    # Neighbours that stopped too must not make the first weeks of zeros look "come back".
    y = np.concatenate([np.full(60, 10.0), np.zeros(30)])
    fc = predict(y, START, 30)
    assert fc.level_shift and fc.fit_start >= START + timedelta(days=53)
    mean, lower, upper = fc.total()
    assert 0 <= lower <= mean < 1 and upper < 0.25 * y[30:60].sum()  # the month before: $240


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
