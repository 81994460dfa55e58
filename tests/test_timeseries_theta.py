"""The Theta method: seasonality test, classical indices, the forecast formula."""

import numpy as np
import pytest

from gradkit.timeseries import ETS, Theta, seasonality_test
from gradkit.timeseries.ets import _padded
from gradkit.timeseries.theta import _seasonal_indices


def test_seasonality_test_by_hand():
    rng = np.random.default_rng(0)
    t = np.arange(120)
    seasonal = 10 + np.sin(2 * np.pi * t / 12) + 0.2 * rng.standard_normal(120)
    noise = 10 + rng.standard_normal(120)
    y = seasonal - seasonal.mean()
    r = np.array([np.sum(y[k:] * y[:-k]) for k in range(1, 13)]) / np.sum(y * y)
    expected = abs(r[11]) > 1.645 * np.sqrt((1 + 2 * np.sum(r[:11] ** 2)) / 120)
    assert seasonality_test([seasonal, noise, seasonal[:30]], 12).tolist() == \
        [expected, False, False]  # the last is too short (under 3 seasons)
    assert expected


def test_classical_indices_recover_a_multiplicative_pattern():
    t = np.arange(96)
    pattern = 1 + 0.3 * np.sin(2 * np.pi * np.arange(12) / 12)
    pattern /= pattern.mean()
    ys = [(100 + 0 * t) * pattern[t % 12], (50 + 0 * t[:60]) * pattern[t[:60] % 12]]
    Y, mask = _padded(ys)
    np.testing.assert_allclose(_seasonal_indices(Y, mask, 12), [pattern, pattern], rtol=1e-12)


def test_forecast_formula_on_a_non_seasonal_series():
    rng = np.random.default_rng(3)
    y = 20 + 0.3 * np.arange(60) + rng.standard_normal(60)
    f = Theta(1).fit([y]).forecast(5)[0]
    ses = ETS("ANN").fit([y])
    alpha, level = ses.params["alpha"][0], ses.states["level"][0] * ses.scale[0]
    b = np.polyfit(np.arange(60), y, 1)[0]
    h = np.arange(1, 6)
    expected = level + b / 2 * (h - 1 + 1 / alpha - (1 - alpha) ** 60 / alpha)
    np.testing.assert_allclose(f, expected, rtol=1e-10)


def test_seasonal_forecasts_carry_the_pattern():
    t = np.arange(84)
    y = (50 + 0.5 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12))
    f = Theta(12).fit([y, y[:72]]).forecast(12)
    truth = (50 + 0.5 * (t[:12] + 84)) * (1 + 0.2 * np.sin(2 * np.pi * (t[:12] + 84) / 12))
    assert np.abs(f[0] / truth - 1).max() < 0.05
    assert f.shape == (2, 12)
    with pytest.raises(Exception, match="h must be a positive integer"):
        Theta(12).fit([y]).forecast(0)
