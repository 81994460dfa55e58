"""Time series: exponential smoothing (ETS) fitted by autodiff, data readers and metrics.

>>> import numpy as np
>>> from gradkit.timeseries import AutoETS
>>> y = 20 + 5 * np.sin(np.arange(60) * np.pi / 6) + 0.1 * np.arange(60)
>>> fit = AutoETS(season_length=12, models=("ANA", "AAA")).fit([y])
>>> fit.forecast(6, level=(80,))["mean"].shape
(1, 6)
"""

from .datasets import M3_COLUMNS, Series, read_m3, read_series
from .ets import ETS, MODELS, AutoETS, ETSFit
from .metrics import (
    coverage,
    mase,
    mean_mase,
    mean_smape,
    seasonal_naive,
    ses_fixed,
    smape,
)
from .theta import Theta, ThetaFit, seasonality_test

__all__ = ["ETS", "AutoETS", "ETSFit", "MODELS", "Series", "read_m3", "read_series",
           "M3_COLUMNS", "smape", "mean_smape", "mase", "mean_mase", "coverage",
           "seasonal_naive", "ses_fixed", "Theta", "ThetaFit", "seasonality_test"]
