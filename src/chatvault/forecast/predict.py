"""`predict`: the forecast of a daily spend series, its method chosen and intervals calibrated."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from chatvault.errors import InputError
from chatvault.forecast import (
    BACKTEST_HORIZON_DAYS,
    BACKTEST_STEP_DAYS,
    LEVEL,
    METHODS,
    first_days,
    horizon_warning,
)
from chatvault.forecast.evaluate import (
    FITTERS,
    Trial,
    calibration,
    combine,
    fit,
    mase,
    origins,
    trials,
)
from chatvault.forecast.methods import Fit
from chatvault.forecast.quantiles import t_quantile
from chatvault.forecast.robust import SHIFT_AFTER, cleaned, prepare

MIN_DAYS = 14  # below this, only the run-rate: two weeks are the least to see a weekly pattern
AUTO_DAYS = 42  # auto backtests from six weeks: four to fit, two weekly origins to score
CALIBRATE_DAYS = 60  # intervals are widened by the series' own backtest errors from here
TRUST_DAYS = 28  # a shorter history gets a warning whatever the method
AUTO_ORIGINS = 8  # auto and calibration score the last eight weekly origins
# level-weekday weighs a level that holds, one that drifts and growth that goes on by the
# likelihood of every day (smoothing.py): auto's forecast between MIN_DAYS and AUTO_DAYS, too
# few weeks to backtest, and from AUTO_DAYS on half of it, beside the backtest's best method
ANCHOR = "level-weekday"
MIN_ORIGINS = 2  # auto and calibration need two origins since a level shift
SHIFT_METHOD = "weekday-mean"  # auto's pick when a shift leaves fewer: a level, no trend
TIE = 1.1  # when ANCHOR ranks first, auto averages it with a method within 10% of it


@dataclass(frozen=True)
class Forecast:
    """Daily point forecasts and prediction intervals (all >= 0), and why this method."""

    method: str
    reason: str
    level: float
    history_days: int
    calibrated: bool
    warnings: list[str]
    dates: list[date]
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    daily_scale: float  # calibration factor applied to daily half-widths (1: none)
    total_scale: float  # the same for totals
    fit: Fit = field(repr=False)
    fit_start: date | None = None  # the first day the method was fitted on
    level_shift: bool = False  # fit_start is the first day after a level shift
    one_offs: int = 0  # days set aside as one-off spikes, dips or spells

    def total(self, days: int | None = None) -> tuple[float, float, float]:
        """(mean, lower, upper) of the sum of the first `days` forecast days (default all)."""
        days = first_days(days, len(self.mean))
        # The expected sum: for growth, above the sum of the median days shown (methods.py).
        mean = float(np.maximum(self.fit.sums()[:days], 0.0).sum())
        # The sum's variance is 1'C1 over those days: correlated errors add up, daily widths
        # would not.
        sd = float(np.sqrt(max(self.fit.cov[:days, :days].sum(), 0.0)))
        half = _quantile(self.level, self.fit.df) * sd * self.total_scale
        return mean, max(mean - half, 0.0), mean + half


def _quantile(level: float, df: float) -> float:
    return t_quantile((1 + level) / 2, df)


def validate(values: np.ndarray, horizon: int, method: str, level: float) -> None:
    """Raise InputError unless the arguments make a forecast."""
    if values.ndim != 1 or len(values) < 2:
        raise InputError(f"a forecast needs at least 2 days of history, got {values.size}")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise InputError("daily spend must be finite and not negative")
    if horizon < 1:
        raise InputError(f"the horizon must be at least 1 day, got {horizon}")
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    if not 0 < level < 1:
        raise InputError(f"the level must be between 0 and 1, got {level}")


def _warnings(y: np.ndarray, horizon: int) -> list[str]:
    n = len(y)
    found = []
    if n < MIN_DAYS:
        found.append(
            f"only {n} days of history: the forecast is the mean day so far, "
            "without trend or weekly pattern, and its interval is rough"
        )
    elif n < TRUST_DAYS:
        found.append(
            f"only {n} days of history: too short to trust the trend and the intervals "
            f"({TRUST_DAYS}+ days recommended)"
        )
    if horizon_warning(horizon, n):
        found.append(horizon_warning(horizon, n))
    if not y.any():
        found.append("no spend in the history: the forecast is zero")
    return found


def choose(
    y: np.ndarray, weekday0: int, starts: list[int], cache: dict | None = None
) -> tuple[list[str], str, dict[str, list[Trial]]]:
    """auto's methods (the backtest's best and ANCHOR, or ANCHOR and a method within 10% of
    it, whose mean is the forecast; ANCHOR alone when clearly best) and reason from the
    trials at `starts`, and those trials."""
    actual = cleaned(y)[0]
    scored = {
        m: trials(y, weekday0, m, starts, BACKTEST_HORIZON_DAYS, cache, actual) for m in FITTERS
    }
    score = {m: mase(t) for m, t in scored.items()}
    if all(np.isnan(s) for s in score.values()):
        reason = "the history has no week-on-week change to scale errors by: trend-weekday"
        return ["trend-weekday"], reason, scored
    ranked = sorted(FITTERS, key=lambda m: np.inf if np.isnan(score[m]) else score[m])
    others = ", ".join(f"{m} {score[m]:.2f}" for m in ranked[1:])
    best = f"({score[ranked[0]]:.2f}; {others}) over {len(starts)} origins"
    # Eight origins pick the best method often enough to help, not reliably enough to trust
    # alone, while ANCHOR is chosen by the likelihood of every day of the history: their mean
    # beat either alone on the shapes bench.
    if ranked[0] != ANCHOR:
        return [ranked[0], ANCHOR], f"mean of {ANCHOR} and the lowest backtest MASE {best}", scored
    # Within 10%, which of two methods eight origins rank first is largely chance: their
    # mean is safer than either (forecast combination).
    if score[ranked[1]] <= TIE * score[ranked[0]]:
        within = f"{TIE - 1:.0%}"
        reason = f"mean of the two lowest backtest MASEs, within {within} of each other {best}"
        return ranked[:2], reason, scored
    return ranked[:1], f"lowest backtest MASE {best}", scored


def predict(
    values: np.ndarray, start: date, horizon: int, method: str = "auto", level: float = LEVEL
) -> Forecast:
    """Forecast `horizon` days after a dense daily series that starts on `start`."""
    y = np.asarray(values, dtype=float)
    validate(y, horizon, method, level)
    return forecast(y, start, horizon, method, level)


def forecast(
    y: np.ndarray, start: date, horizon: int, method: str, level: float, cache: dict | None = None
) -> Forecast:
    """`predict` on a validated series; `cache` shares backtest fits across its prefixes."""
    n, weekday0 = len(y), start.weekday()
    # One cache for every method's trials: each origin's history is prepared once.
    cache = {} if cache is None else cache
    ready = cache.get(("prepared", n))  # a backtest's forecasts are prefixes of one series
    if ready is None:
        ready = cache[("prepared", n)] = prepare(y)
    starts = origins(n, BACKTEST_STEP_DAYS, AUTO_ORIGINS)
    if ready.shifted:
        # Origins before the shift forecast a level that is gone: they judge nothing now.
        starts = [o for o in starts if o >= ready.start + SHIFT_AFTER]
    scored: dict[str, list[Trial]] = {}
    if n < MIN_DAYS:
        chosen = ["mean"]
        reason = f"only {n} days of history (< {MIN_DAYS}): mean run-rate"
        if method not in ("auto", "mean"):
            reason += f" instead of {method}"
    elif method != "auto":
        chosen, reason = [method], "chosen with --method"
    elif n < AUTO_DAYS:
        chosen = [ANCHOR]
        reason = f"only {n} days of history (< {AUTO_DAYS} needed to backtest): {ANCHOR}"
    elif len(starts) < MIN_ORIGINS:
        chosen = [SHIFT_METHOD]
        reason = f"too few backtest origins since the level shift ({len(starts)}): {SHIFT_METHOD}"
    else:
        chosen, reason, scored = choose(y, weekday0, starts, cache)
    found = combine([fit(m, y, weekday0, horizon, ready) for m in chosen])
    daily_scale = total_scale = 1.0
    calibrated = n >= CALIBRATE_DAYS and len(starts) >= MIN_ORIGINS
    if calibrated:
        # Scored against the series with its one-offs set aside (robust.cleaned): a spike
        # that came once says nothing of the next month, and would decide the widths. Spells
        # stay: a week off happens again (holidays), and the next month's total may hold one.
        actual = cleaned(y, spells=False)[0]
        each = [
            scored.get(m) or trials(y, weekday0, m, starts, BACKTEST_HORIZON_DAYS, cache)
            for m in chosen
        ]
        tried = [
            Trial(
                t[0].origin,
                actual[t[0].origin : t[0].origin + len(t[0].actual)],
                combine([one.fit for one in t]),
                t[0].scale,
            )
            for t in zip(*each, strict=True)
        ]
        daily_scale, total_scale = calibration(tried, lambda df: _quantile(level, df), level)
    mean = np.maximum(found.mean, 0.0)
    half = _quantile(level, found.df) * np.sqrt(np.diag(found.cov)) * daily_scale
    return Forecast(
        method="+".join(chosen),
        reason=reason,
        level=level,
        history_days=n,
        calibrated=calibrated,
        warnings=_warnings(y, horizon),
        dates=[start + timedelta(days=n + k) for k in range(horizon)],
        mean=mean,
        lower=np.maximum(mean - half, 0.0),
        upper=mean + half,
        daily_scale=daily_scale,
        total_scale=total_scale,
        fit=found,
        fit_start=start + timedelta(days=ready.start),
        level_shift=ready.shifted,
        one_offs=ready.one_offs,
    )
