"""Forecasts of daily spend: the methods with their prediction intervals and rolling-origin
backtest (NumPy only: `predict`, `backtest`), and the spend they are made from (`spend`).

The package imports nothing itself, so reading spend does not load NumPy until a forecast is made.
"""
