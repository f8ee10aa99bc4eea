"""What a forecast learns from: one-offs and spells set aside, and the days since a shift.

Every step depends only on the series' shape, never on its unit: a series in cents gives the
same days as the same series in dollars. A spike is a day far above or below the same weekday
of the three weeks around it; a spell (a holiday) is a week or more whose run-rate is far
from that of the same weekdays around it; a level shift is a step in the weekly run-rate (a
model switch, a feature turned off) that a step explains much better than a straight line
does, and the methods then fit only the days after it, so that a step that is over is not
extrapolated as a trend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chatvault.forecast.methods import WEEK

SPIKE_SPREAD = 5.0  # a one-off is this many robust spreads away from its weekday's neighbours
NEAR_LAGS = (-21, -14, -7, 7, 14, 21)  # its neighbours: the same weekday, three weeks around
ALONE = 35  # days either side of a one-off with at most one other: more often is a pattern
ONE_OFF_DAYS = 14  # a longer episode is a level, not a one-off
BACK = 2.0  # spend came back after one when the next week is within 2 sd of its neighbours
SPELL_SPREAD = 4.0  # a spell's week is this many robust spreads of weekly ratios away
SPELL_DAYS = 21  # a spell (days off, a holiday) lasts three weeks at most
SPELL_LAGS = (-28, -21, -14, -7, 7, 14, 21, 28)  # a spell's days are replaced from these
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
    one_offs: int  # days set aside as one-off spikes, dips or spells
    drift: float = 0.0  # variance per day of the log weekly run-rate's random walk (drift())


def prepare(y: np.ndarray) -> Prepared:
    """The days to fit and where they start."""
    clean, one_offs = cleaned(y)
    start = level_shift(clean)
    return Prepared(clean[start:], start, start > 0, one_offs, drift(clean, start))


def cleaned(y: np.ndarray, spells: bool = True) -> tuple[np.ndarray, int]:
    """The series with one-off episodes set aside, and how many days were.

    A one-off day is far from the median of the same weekday in the three weeks before and
    after, and is replaced by that median; with `spells`, a spell of days off (a holiday)
    is replaced by the same weekday of the weeks around it (_spells).
    """
    n = len(y)
    if n < 3 * WEEK:
        return y, 0
    base = _neighbours(y, np.zeros(n, dtype=bool), NEAR_LAGS)
    gap = y - base
    spread = max(1.4826 * float(np.median(np.abs(gap))), float(np.mean(np.abs(gap))))
    if spread <= 0:
        return y, 0
    odd = _one_off(gap / spread, y / spread)
    out = np.where(odd, base, y)
    if spells:
        spell = _spells(out, base)
        if spell.any():
            out = np.where(spell, _neighbours(out, spell, SPELL_LAGS), out)
            odd |= spell
    return (out, int(odd.sum())) if odd.any() else (y, 0)


def _neighbours(y: np.ndarray, skip: np.ndarray, lags: tuple[int, ...]) -> np.ndarray:
    """Each day's median of the same weekday at `lags` days away, days in `skip` left out
    (the day itself where none is left)."""
    t = np.arange(len(y))
    around = np.full((len(lags), len(y)), np.nan)
    for row, lag in enumerate(lags):
        inside = (t + lag >= 0) & (t + lag < len(y))
        around[row, inside] = np.where(skip[t[inside] + lag], np.nan, y[t[inside] + lag])
    empty = np.isnan(around).all(axis=0)
    around[0, empty] = y[empty]
    # The median of each column's values (np.nanmedian, without its masked arrays: ten
    # times faster on these small columns, and cleaned runs once per backtest origin).
    count = (~np.isnan(around)).sum(axis=0)
    ordered = np.sort(around, axis=0)  # NaN last
    return (ordered[(count - 1) // 2, t] + ordered[count // 2, t]) / 2


def _episodes(days: np.ndarray, side: np.ndarray) -> list[np.ndarray]:
    """Runs of `days` of one sign of `side` with gaps of at most two days."""
    found: list[list[int]] = []
    for day in days:
        if found and day - found[-1][-1] <= 2 and side[day] == side[found[-1][-1]]:
            found[-1].append(int(day))
        else:
            found.append([int(day)])
    return [np.array(e) for e in found]


def _recurs(first: int, others: np.ndarray) -> bool:
    """An episode recurs when another of its sign starts a whole number of weeks (up to
    five) or about a month away: a weekly report, a batch job at each month's start."""
    gap = np.abs(others - first)
    gap = gap[gap > 0]
    return bool(np.any((gap % WEEK == 0) & (gap <= ALONE) | (gap >= 26) & (gap <= 35)))


def _one_off(score: np.ndarray, scaled: np.ndarray) -> np.ndarray:
    """The odd days (`score`: a day's robust spreads from its neighbours) that are one-off
    episodes: at most ONE_OFF_DAYS long, not recurring, not one of three or more within
    ALONE days (a level moving), and spend came back after them: the mean score of the week
    after (what there is of it) is within BACK spreads of its noise, and so is its spend
    (`scaled`: the series in spreads) against the same weekdays before the episode (its
    neighbours may have moved with it: spend that stops for good is not a dip). A spike in
    the last week that spend came back from is a one-off like any other; one on the last
    day, or followed by days still off, may be the start of a change."""
    side = np.sign(score)
    episodes = _episodes(np.flatnonzero(np.abs(score) > SPIKE_SPREAD), side)
    firsts = np.array([e[0] for e in episodes])
    signs = np.array([side[e[0]] for e in episodes])
    found = np.zeros(len(score), dtype=bool)
    for at, episode in enumerate(episodes):
        days = np.arange(episode[-1] + 1, min(episode[-1] + 1 + WEEK, len(score)))
        after = score[days] * signs[at]
        back = len(after) > 0 and after.mean() < BACK / np.sqrt(len(after))
        before = days - WEEK * ((days - episode[0]) // WEEK + 1)  # same weekday, before it
        if back and before.min() >= 0:
            change = (scaled[days] - scaled[before]).mean() * signs[at]
            back = change < BACK / np.sqrt(len(days))
        same = firsts[signs == signs[at]]
        crowded = np.sum(np.abs(same - episode[0]) <= ALONE) > 2
        long = episode[-1] - episode[0] + 1 > ONE_OFF_DAYS
        if back and not (crowded or long or _recurs(episode[0], same)):
            found[episode] = True
    return found


def _spells(y: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Days of spells: a week or more whose run-rate is far from that of the same weekdays
    around it, that spend came back from (the two weeks before and the two after, all in
    the history, within SHIFT_SIZE of each other), at most SPELL_DAYS long and not
    recurring: one still going on may be a level shift.

    Day by day a holiday week at a third of the spend is within the noise; its 7-day mean,
    against the 7-day mean of its neighbours, is far outside it.
    """
    n = len(y)
    spell = np.zeros(n, dtype=bool)
    if n < 5 * WEEK:
        return spell
    week = np.ones(WEEK) / WEEK
    run, around = np.convolve(y, week, mode="valid"), np.convolve(base, week, mode="valid")
    both = (run > 0) & (around > 0)
    if not both.any():
        return spell
    ratio = np.where(around > 0, -10.0, 0.0)  # a week without spend against one with: far
    ratio[both] = np.log(run[both] / around[both])
    middle = float(np.median(ratio[both]))
    spread = 1.4826 * float(np.median(np.abs(ratio[both] - middle)))
    if spread <= 0:
        return spell
    far = np.sign(ratio - middle) * (np.abs(ratio - middle) > SPELL_SPREAD * spread)
    runs = []
    for episode in _episodes(np.flatnonzero(far), far):
        first, last = episode[0], episode[-1] + WEEK - 1  # the days its weeks cover
        if last - first + 1 > SPELL_DAYS or first < 2 * WEEK or last + 2 * WEEK >= n:
            continue
        before, after = y[first - 2 * WEEK : first].mean(), y[last + 1 : last + 1 + 2 * WEEK].mean()
        if before > 0 and after > 0 and abs(np.log(after / before)) <= np.log(1 + SHIFT_SIZE):
            runs.append((first, last, far[episode[0]]))
    firsts, signs = np.array([r[0] for r in runs]), np.array([r[2] for r in runs])
    for first, last, sign in runs:
        if not _recurs(first, firsts[signs == sign]):
            days = np.arange(first, last + 1)
            spell[days[np.sign(y[days] - base[days]) == sign]] = True
    return spell


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
