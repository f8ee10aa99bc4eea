"""chatvault.forecast: predict, auto, calibration and the backtest on known series."""

from __future__ import annotations

import re
from datetime import date, timedelta

import numpy as np
import pytest

from chatvault.errors import InputError
from chatvault.forecast import METHODS
from chatvault.forecast.backtest import MethodScore, backtest
from chatvault.forecast.evaluate import FLOOR, Trial, calibration, conformal
from chatvault.forecast.methods import Fit
from chatvault.forecast.predict import predict
from chatvault.forecast.quantiles import t_quantile
from chatvault.forecast.robust import drift

START = date(2026, 3, 2)  # a Monday
WEEKLY = np.array([30.0, 34.0, 33.0, 35.0, 28.0, 6.0, 4.0])


def seasonal(days: int, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """A strongly weekly series (quiet weekends) with a little growth and Gaussian noise."""
    t = np.arange(days)
    rng = np.random.default_rng(seed)
    return np.maximum(WEEKLY[t % 7] * (1 + 0.002 * t) + rng.normal(0, noise, days), 0)


def test_trend_forecast_has_dates_and_an_exact_line():
    y = 10 + 0.5 * np.arange(20)
    fc = predict(y, START, 5, method="trend")
    assert fc.method == "trend" and fc.reason == "chosen with --method"
    assert fc.dates == [START + timedelta(days=20 + k) for k in range(5)]
    np.testing.assert_allclose(fc.mean, 10 + 0.5 * np.arange(20, 25))
    # An exact line is not certainty: the error sd is floored at 2% of the recent mean day.
    floor = FLOOR * np.mean(y[-28:])
    np.testing.assert_allclose(fc.upper - fc.lower, 2 * t_quantile(0.9, 18) * floor)
    assert not fc.calibrated and fc.history_days == 20


def test_daily_and_total_intervals_follow_the_prediction_covariance():
    rng = np.random.default_rng(11)
    y = 40 + 0.3 * np.arange(30) + rng.normal(0, 4, 30)
    fc = predict(y, START, 10, method="trend", level=0.8)
    X = np.column_stack([np.ones(30), np.arange(30.0)])
    X0 = np.column_stack([np.ones(10), np.arange(30.0, 40.0)])
    inverse = np.linalg.inv(X.T @ X)
    b = inverse @ X.T @ y
    s2 = np.sum((y - X @ b) ** 2) / 28
    floor2 = (FLOOR * np.mean(y[-28:])) ** 2
    # The level's random walk after the last day: q min(i, j) m_i m_j (robust.drift).
    k = np.arange(1, 11)
    walk = drift(y) * np.minimum.outer(k, k) * np.outer(X0 @ b, X0 @ b)
    cov = s2 * (np.eye(10) + X0 @ inverse @ X0.T) + floor2 * np.eye(10) + walk
    t = t_quantile(0.9, 28)
    half = t * np.sqrt(np.diag(cov))
    np.testing.assert_allclose(fc.upper, X0 @ b + half)
    np.testing.assert_allclose(fc.lower, X0 @ b - half)
    mean, _, upper = fc.total()
    assert mean == pytest.approx((X0 @ b).sum())
    assert upper - mean == pytest.approx(t * np.sqrt(cov.sum()))
    # Without the walk, the sum's variance is s^2 (h + 1'X0(X'X)^-1 X0'1) + h floor^2.
    total = s2 * (10 + np.ones(10) @ X0 @ inverse @ X0.T @ np.ones(10)) + 10 * floor2
    assert cov.sum() - walk.sum() == pytest.approx(total)
    # Correlated through the fitted line and the walk: narrower than adding the daily widths.
    assert half[0] < upper - mean < half.sum()
    assert fc.total(3)[0] == pytest.approx((X0 @ b)[:3].sum())


def test_daily_coverage_on_gaussian_noise_is_the_level():
    rng = np.random.default_rng(2024)
    hits = []
    for _ in range(300):
        y = 100 + 0.5 * np.arange(63) + WEEKLY[np.arange(63) % 7] + rng.normal(0, 8, 63)
        fc = predict(y[:56], START, 7, method="trend-weekday", level=0.8)
        hits.append((fc.lower <= y[56:]) & (y[56:] <= fc.upper))
    assert 0.74 <= np.mean(hits) <= 0.86


def test_total_coverage_on_gaussian_noise_is_the_level():
    rng = np.random.default_rng(7)
    hits = []
    for _ in range(300):
        y = 50 + rng.normal(0, 10, 50)
        fc = predict(y[:40], START, 10, method="trend", level=0.8)
        _, lower, upper = fc.total()
        hits.append(lower <= y[40:].sum() <= upper)
    assert 0.74 <= np.mean(hits) <= 0.86


@pytest.mark.parametrize("noise", [0.0, 1.0])
def test_auto_picks_a_weekly_method_on_a_weekly_series_and_says_why(noise):
    fc = predict(seasonal(70, noise), START, 30)
    picked = fc.method.split("+")
    # level-weekday, and beside it the backtest's best (or a method within 10% of it).
    assert "level-weekday" in picked and len(picked) == 2
    assert set(picked) - {"level-weekday"} <= {"seasonal-naive", "trend-weekday", "growth"}
    assert "backtest MASE" in fc.reason and "over 6 origins" in fc.reason
    scores = dict(re.findall(r"([a-z-]+) (\d+\.\d\d)", fc.reason.split("; ")[1]))
    assert len(scores) == len(METHODS) - 2  # all but auto and the best
    best = float(re.search(r"\((\d+\.\d\d);", fc.reason).group(1))
    assert all(best <= float(v) for v in scores.values())


def test_auto_averages_the_backtest_s_choice_with_level_weekday_half_and_half():
    y = seasonal(70, 1.0)
    fc = predict(y, START, 30)
    chosen, anchor = (predict(y, START, 30, method=m) for m in fc.method.split("+"))
    np.testing.assert_allclose(fc.mean, (chosen.mean + anchor.mean) / 2)
    apart = (chosen.fit.sums() - anchor.fit.sums()) / 2
    mixture = (chosen.fit.cov + anchor.fit.cov) / 2 + np.outer(apart, apart)
    np.testing.assert_allclose(fc.fit.cov, mixture)


def test_auto_on_a_short_history_is_level_weekday_and_says_so():
    y = seasonal(30, 1.0)
    fc = predict(y, START, 30)
    assert fc.method == "level-weekday"
    assert fc.reason == "only 30 days of history (< 42 needed to backtest): level-weekday"
    np.testing.assert_allclose(fc.mean, predict(y, START, 30, method="level-weekday").mean)


@pytest.mark.parametrize("method", ["auto", "holt-winters", "mean"])
def test_under_two_weeks_is_the_mean_run_rate_with_a_warning(method):
    y = np.array([5.0, 7, 6, 0, 0, 8, 9, 6, 7, 5])
    fc = predict(y, START, 30, method=method)
    assert fc.method == "mean"
    assert fc.reason.startswith("only 10 days of history (< 14): mean run-rate")
    assert ("instead of holt-winters" in fc.reason) == (method == "holt-winters")
    np.testing.assert_allclose(fc.mean, y.mean())
    assert any("only 10 days of history" in w for w in fc.warnings)
    assert any("forecasting 30 days from 10" in w for w in fc.warnings)


def test_a_long_clean_history_has_no_warnings():
    assert predict(seasonal(90, 1.0), START, 30).warnings == []


def test_calibration_widens_intervals_on_a_drifting_series_from_60_days():
    # A wandering level: the line's residuals understate errors 30 days out.
    rng = np.random.default_rng(2)
    y = np.maximum(100 + np.cumsum(rng.normal(0, 3, 120)) + rng.normal(0, 3, 120), 0)
    short = predict(y[:59], START, 30, method="trend-weekday")
    assert not short.calibrated and short.daily_scale == short.total_scale == 1.0
    fc = predict(y, START, 30, method="trend-weekday")
    assert fc.calibrated and fc.daily_scale > 1.3 and fc.total_scale > 3
    model_half = t_quantile(0.9, fc.fit.df) * np.sqrt(np.diag(fc.fit.cov))
    np.testing.assert_allclose(fc.upper - fc.mean, model_half * fc.daily_scale)
    assert predict(y[:60], START, 30, method="trend-weekday").calibrated


def test_calibration_counts_each_origin_once_and_narrows_halfway():
    # The conformal quantile: with m scores, the ceil(0.8 (m + 1))-th smallest, or the largest.
    assert conformal(list(range(1, 20)), 0.8) == 16
    assert conformal([3.0, 1.0, 2.0], 0.8) == 3.0

    def trial(origin: int, error: float, days: int = 30) -> Trial:
        # Unit variance a day, fully correlated: every half-width, a day's or a total's of d
        # days, is what the errors add up to over 1 or d days at a ratio of 1 (q = 1).
        fit = Fit(np.zeros(days), np.ones((days, days)), 100.0)
        return Trial(origin, np.full(days, error), fit, 1.0)

    # Every origin went well (ratio 0.36): narrowing goes half the way on the log scale.
    daily, total = calibration([trial(o, 0.36) for o in range(8)], lambda df: 1.0, 0.8)
    assert daily == pytest.approx(0.6) and total == pytest.approx(0.6)
    # One origin of eight that went badly decides the totals (each origin counts once, and
    # a total is one value per origin): widening is in full. Days take the typical origin's
    # score: that origin's days are one origin's in eight.
    daily, total = calibration(
        [trial(o, 0.36) for o in range(7)] + [trial(7, 2.0)], lambda df: 1.0, 0.8
    )
    assert daily == pytest.approx(0.6) and total == pytest.approx(2.0)
    # Days widen when the typical origin went badly: the conformal median of eight scores is
    # the fifth smallest.
    daily, _ = calibration(
        [trial(o, 0.36) for o in range(3)] + [trial(o, 2.0) for o in range(3, 8)],
        lambda df: 1.0,
        0.8,
    )
    assert daily == pytest.approx(2.0)
    # Never below half the model's width, however well the origins went.
    assert calibration([trial(o, 0.0001) for o in range(8)], lambda df: 1.0, 0.8) == (0.5, 0.5)


@pytest.mark.parametrize("method", list(METHODS))
def test_forecasts_never_go_below_zero(method):
    y = np.maximum(200 - 4 * np.arange(60) + np.random.default_rng(1).normal(0, 5, 60), 0)
    fc = predict(y, START, 30, method=method)
    assert fc.mean.min() >= 0 and fc.lower.min() >= 0
    assert np.all(fc.lower <= fc.mean) and np.all(fc.mean <= fc.upper)
    for days in (1, 7, 30):
        mean, lower, upper = fc.total(days)
        assert 0 <= lower <= mean <= upper


def test_same_input_same_output():
    y = seasonal(150, 3.0, seed=9)
    first, second = predict(y, START, 30), predict(y.copy(), START, 30)
    assert first.method == second.method and first.reason == second.reason
    np.testing.assert_array_equal(first.lower, second.lower)
    np.testing.assert_array_equal(first.upper, second.upper)
    assert first.total() == second.total()


@pytest.mark.parametrize(
    ("values", "horizon", "method", "level"),
    [
        ([5.0], 7, "auto", 0.8),
        ([1.0, -2.0], 7, "auto", 0.8),
        ([1.0, 2.0], 0, "auto", 0.8),
        ([1.0, 2.0], 7, "arima", 0.8),
        ([1.0, 2.0], 7, "auto", 1.0),
    ],
)
def test_bad_input_is_refused(values, horizon, method, level):
    with pytest.raises(InputError):
        predict(np.array(values), START, horizon, method, level)


def test_backtest_scores_every_method_against_seasonal_naive():
    scores = backtest(seasonal(98, 2.0, seed=3), START)
    assert [s.method for s in scores] == list(METHODS)
    by_method = {s.method: s for s in scores}
    naive = by_method["seasonal-naive"]
    assert naive.relative_mase == 1.0
    # Origins every 7 days back from the last, at least 28 days in: 91, 84, ..., 28.
    assert naive.origins == 10 and naive.days == 7 + 14 + 21 + 28 + 30 * 6
    assert by_method["trend-weekday"].relative_mase < 0.9
    for s in scores:
        assert isinstance(s, MethodScore)
        assert 0 <= s.coverage <= 1 and 0 <= s.smape <= 2 and s.month_ends > 0


def test_backtest_month_end_is_exact_on_a_constant_series():
    (score,) = backtest(np.full(70, 10.0), date(2026, 1, 1), methods=["trend"])
    assert score.mase != score.mase  # no week-on-week change: nothing to scale by
    assert score.month_end_error == pytest.approx(0, abs=1e-12)
    assert score.coverage == 1 and score.month_end_coverage == 1  # zero-width, yet covered
    # 2026-01-01 + 28, 35, ..., 63 days: Jan 29, Feb 5, 12, 19, 26; March ends after the data.
    assert score.month_ends == 5


def test_backtest_needs_five_weeks():
    with pytest.raises(InputError, match="at least 35 days"):
        backtest(np.ones(34), START)
