"""Forecasts of daily spend: the methods with their prediction intervals and rolling-origin
backtest (NumPy only: `predict`, `backtest`), and the spend they are made from (`spend`).

The package itself imports nothing, so `--help` and reading spend do not load NumPy; the
defaults every command and module share are defined here, once.
"""

# The methods, with what each does (`costs predict --method`).
METHODS: dict[str, str] = {
    "auto": "level-weekday and the method with the lowest backtest MASE, half and half",
    "trend-weekday": "linear trend plus a level per weekday, least squares",
    "holt-winters": "additive Holt-Winters, damped trend, weekly season",
    "growth": "compound growth: trend plus a level per weekday on the log scale",
    "seasonal-naive": "the same weekday of the last week",
    "trend": "linear trend, least squares (no weekday terms)",
    "mean": "run-rate: the mean day of the last 28 days",
    "weekday-mean": "the mean of each weekday over the last 28 days",
    "level-weekday": "a weekday profile times a smoothed level, on the log scale",
}


def first_days(days: int | None, horizon: int) -> int:
    """How many forecast days a total sums: `days`, default all of the horizon."""
    days = horizon if days is None else days
    if not 1 <= days <= horizon:
        raise ValueError(f"days must be in 1..{horizon}, got {days}")
    return days


LEVEL = 0.8  # coverage of the prediction intervals
LEVEL_LABEL = f"{LEVEL:.0%}"  # as messages and tables name it: "80%"
HISTORY_DAYS = 90  # complete days before today that a forecast learns from
BACKTEST_HORIZON_DAYS = 30  # each backtest origin forecasts this far ahead
BACKTEST_STEP_DAYS = 7  # days between backtest origins


def horizon_warning(days: int, history_days: int) -> str | None:
    """The warning for forecasting further ahead than the history reaches back, if it does."""
    if days <= history_days:
        return None
    return f"forecasting {days} days from {history_days} days of history"
