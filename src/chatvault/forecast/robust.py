"""What a forecast learns from: one-off spikes set aside, and the days since a level shift.

Both steps depend only on the series' shape, never on its unit: a series in cents gives the
same days as the same series in dollars. A spike is a day far above or below the same weekday
of the three weeks around it; a level shift is a step in the weekly run-rate (a model switch,
a feature turned off) that a step explains much better than a straight line does, and the
methods then fit only the days after it, so that a step that is over is not extrapolated as
a trend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chatvault.forecast.methods import WEEK

SPIKE_SPREAD = 5.0  # a one-off is this many robust spreads away from its weekday's neighbours
ALONE = 35  # days either side of a one-off without another: more often is a pattern
RECENT = WEEK  # the last week is never set aside: it may be the start of a change
SHIFT_BEFORE = 28  # a shift needs four weeks before it to be told from noise
SHIFT_AFTER = 14  # and two weeks after it to fit from
SHIFT_LOOK = 182  # shifts are looked for in the last half year
SHIFT_SIZE = 0.25  # a shift moves the weekly run-rate by at least a quarter
SHIFT_GAIN = 0.5  # and a step leaves at most half the squared error of a straight line
DRIFT_LAGS = 4  # the run-rate's drift is read from its changes over 1 to 4 weeks
DRIFT_PAIRS = 7  # each lag needs this many pairs of weeks


@dataclass(frozen=True)
class Prepared:
    """The series a method fits: one-offs replaced, from `start` (a level shift) on."""

    values: np.ndarray  # the days from `start`, one-offs replaced by their neighbours
    start: int  # index of the first day fitted in the original series
    shifted: bool  # a level shift was found at `start`
    one_offs: int  # days set aside as one-off spikes or dips
    drift: float = 0.0  # variance per day of the log weekly run-rate's random walk (drift())


def prepare(y: np.ndarray) -> Prepared:
    """The days to fit and where they start."""
    clean, one_offs = cleaned(y)
    start = level_shift(clean)
    return Prepared(clean[start:], start, start > 0, one_offs, drift(clean, start))


def cleaned(y: np.ndarray) -> tuple[np.ndarray, int]:
    """The series with one-off spikes and dips replaced by the median of the same weekday in
    the three weeks before and after, and how many days were replaced."""
    n = len(y)
    if n < 3 * WEEK:
        return y, 0
    t = np.arange(n)
    around = np.full((6, n), np.nan)
    for row, lag in enumerate((-21, -14, -7, 7, 14, 21)):
        inside = (t + lag >= 0) & (t + lag < n)
        around[row, inside] = y[t[inside] + lag]
    base = np.nanmedian(around, axis=0)
    gap = y - base
    spread = max(1.4826 * float(np.median(np.abs(gap))), float(np.mean(np.abs(gap))))
    odd = np.abs(gap) > SPIKE_SPREAD * spread
    odd[n - RECENT :] = False
    # One-off means alone: a day with another odd day within ALONE days recurs (a batch job
    # at each month's start, a weekly report), and is part of the spend to forecast.
    days = np.flatnonzero(odd)
    for day in days:
        odd[day] = np.sum(np.abs(days - day) <= ALONE) == 1
    if spread <= 0 or not odd.any():
        return y, 0
    return np.where(odd, base, y), int(odd.sum())


def level_shift(y: np.ndarray) -> int:
    """Index of the first day after the latest clear step in the weekly run-rate, or 0.

    On the 7-day trailing mean (no weekday pattern in it), a straight line is compared with a
    straight line plus a step at every candidate day: the best step is a shift when it halves
    the squared error and moves the run-rate by SHIFT_SIZE or more of its level.
    """
    offset = max(len(y) - SHIFT_LOOK, 0)
    recent = y[offset:]
    n = len(recent)
    if n < SHIFT_BEFORE + SHIFT_AFTER:
        return 0
    run = np.convolve(recent, np.ones(WEEK) / WEEK, mode="valid")  # run[i]: days i..i+6
    day = np.arange(len(run)) + WEEK - 1
    line = np.column_stack([np.ones(len(run)), day.astype(float)])
    base_error = _squared_error(line, run)
    # A run-rate that bends (compound growth, an adoption curve under way) is not a step:
    # the step must also beat a parabola.
    centred = (day - day.mean()) / max(float(np.ptp(day)), 1.0)
    curve = np.column_stack([line, centred**2])
    base_error = min(base_error, _squared_error(curve, run))
    if base_error <= 0:
        return 0
    # Every candidate step at once: with the line projected out of the run-rate and of each
    # ramp (Frisch-Waugh), a ramp's step and squared error are closed-form.
    candidates = np.arange(SHIFT_BEFORE, n - SHIFT_AFTER + 1)
    ramps = np.clip((day[:, None] - candidates[None, :] + 1) / WEEK, 0.0, 1.0)
    basis = np.linalg.qr(line)[0]
    rest = run - basis @ (basis.T @ run)
    ramps = ramps - basis @ (basis.T @ ramps)
    along = ramps.T @ rest
    size = np.einsum("ij,ij->j", ramps, ramps)
    usable = size > 1e-12 * len(run)
    steps = np.divide(along, size, out=np.zeros_like(along), where=usable)
    errors = np.where(usable, float(rest @ rest) - steps * along, np.inf)
    at = int(np.argmin(errors))
    best, best_error, best_step = 0, base_error, 0.0
    if errors[at] < base_error:
        best, best_error, best_step = int(candidates[at]), float(errors[at]), float(steps[at])
    level = float(np.mean(np.abs(run)))
    if best and best_error <= SHIFT_GAIN * base_error and abs(best_step) >= SHIFT_SIZE * level:
        return offset + best
    return 0


def drift(y: np.ndarray, shift: int = 0) -> float:
    """Variance per day of a random walk in the log of the weekly run-rate, from its variogram.

    The 7-day mean has no weekday pattern. Over lags of 1 to DRIFT_LAGS weeks, the variance
    of the (centred) changes of its log is a constant (the noise of a week's mean) plus q
    times what a random walk of unit variance a day gives those same pairs of weeks, centred
    the same way (computed exactly: centring takes a share of a random walk's changes, the
    more the longer the lag); q is the least-squares slope of one on the other. Centring
    keeps a steady trend (or compound growth) out of q. Pairs of weeks either side of a level
    shift are left out (the shift is in the fit), so that the weeks before a short window
    since a shift still inform it. A ratio of run-rates is the same in any unit.
    """
    recent = y[max(len(y) - SHIFT_LOOK, 0) :]
    shift = max(shift - (len(y) - len(recent)), 0)
    if len(recent) < 3 * WEEK:
        return 0.0
    run = np.convolve(recent, np.ones(WEEK) / WEEK, mode="valid")  # run[i]: days i..i+6
    expected, variances = [], []
    for k in range(1, DRIFT_LAGS + 1):
        lag = WEEK * k
        i = np.arange(len(run) - lag)
        keep = ((i + lag + WEEK - 1 < shift) | (i >= shift)) & (run[i] > 0) & (run[i + lag] > 0)
        if keep.sum() < DRIFT_PAIRS:
            break
        i = i[keep]
        change = np.log(run[i + lag]) - np.log(run[i])
        variances.append(float(np.var(change)))
        expected.append(_walk_variance(keep, lag, len(recent)))
    if len(expected) < 2:
        return 0.0
    slope = np.polyfit(expected, variances, 1)[0]
    return max(float(slope), 0.0)


def _walk_variance(keep: np.ndarray, lag: int, days: int) -> float:
    """The mean centred square of the kept changes run[i + lag] - run[i] of a random walk of
    unit variance a day, observed over `days` days.

    A change is a sum of the walk's steps: step s (it moves every day from s on) weighs the
    share of days i + lag..i + lag + 6 at or after it less that of days i..i + 6, a function
    g of i - s alone, non-zero from -lag - 6 to -1. Centring over the kept pairs takes each
    step's mean weight away: the result is sum over s of (sum g^2 - (sum g)^2 / pairs).
    """
    x = np.arange(-lag - WEEK + 1, 0)
    g = np.clip((x + lag + WEEK) / WEEK, 0.0, 1.0) - np.clip((x + WEEK) / WEEK, 0.0, 1.0)
    steps = np.arange(1, days)
    padded = np.concatenate([np.zeros(lag + WEEK), keep.astype(float), np.zeros(days)])
    first, second = np.zeros(len(steps)), np.zeros(len(steps))
    for offset, weight in zip(x, g, strict=True):
        kept = padded[steps + offset + lag + WEEK]  # keep[s + offset], 0 outside
        first += weight * kept
        second += weight * weight * kept
    pairs = float(keep.sum())
    return float(np.sum(second - first * first / pairs)) / pairs


def _squared_error(X: np.ndarray, y: np.ndarray) -> float:
    basis = np.linalg.qr(X)[0]
    rest = y - basis @ (basis.T @ y)
    return float(rest @ rest)
