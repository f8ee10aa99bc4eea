"""Daily spend forecasts with prediction intervals, and their rolling-origin backtest.

NumPy only; the series comes in dense (zero days included), oldest first.
"""

from __future__ import annotations

from chatvault.forecast.backtest import MethodScore, backtest
from chatvault.forecast.predict import METHODS, Forecast, predict

__all__ = ["METHODS", "Forecast", "MethodScore", "backtest", "predict"]
