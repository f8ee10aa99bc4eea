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


@dataclass(frozen=True)
class Prepared:
    """The series a method fits: one-offs replaced, from `start` (a level shift) on."""

    values: np.ndarray  # the days from `start`, one-offs replaced by their neighbours
    start: int  # index of the first day fitted in the original series
    shifted: bool  # a level shift was found at `start`
    one_offs: int  # days set aside as one-off spikes or dips


def prepare(y: np.ndarray) -> Prepared:
    """The days to fit and where they start."""
    clean, one_offs = cleaned(y)
    start = level_shift(clean)
    return Prepared(clean[start:], start, start > 0, one_offs)


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
    if base_error <= 0:
        return 0
    best, best_error, best_step = 0, base_error, 0.0
    for c in range(SHIFT_BEFORE, n - SHIFT_AFTER + 1):
        ramp = np.clip((day - c + 1) / WEEK, 0.0, 1.0)
        X = np.column_stack([line, ramp])
        coef, *_ = np.linalg.lstsq(X, run, rcond=None)
        error = float(np.sum((run - X @ coef) ** 2))
        if error < best_error:
            best, best_error, best_step = c, error, float(coef[2])
    level = float(np.mean(np.abs(run)))
    if best and best_error <= SHIFT_GAIN * base_error and abs(best_step) >= SHIFT_SIZE * level:
        return offset + best
    return 0


def _squared_error(X: np.ndarray, y: np.ndarray) -> float:
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    return float(np.sum((y - X @ coef) ** 2))
