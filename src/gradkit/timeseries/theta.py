"""The Theta method (Assimakopoulos and Nikolopoulos, 2000), the M3 competition's winner.

As in the competition and in forecast::thetaf: when a 90% test finds seasonality at lag
``m``, the series is divided by classical multiplicative seasonal indices; the
deseasonalised series is forecast by simple exponential smoothing (ETS ``ANN``, its alpha
and initial level fitted by :class:`~gradkit.timeseries.ETS`, gradients by autodiff) plus
half the slope of its linear trend (Hyndman and Billah, 2003)::

    f(h) = l_n + b / 2 * (h - 1 + 1 / alpha - (1 - alpha)^n / alpha)

and the indices are put back. Every step acts on all series at once (ragged series are
padded and masked; no Python loop over series).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import check_int
from .ets import ETS, _as_series_list, _padded

__all__ = ["Theta", "ThetaFit", "seasonality_test"]


def seasonality_test(ys, m: int) -> np.ndarray:
    """Whether each series is seasonal at lag ``m``: the classical 90% test of the Theta
    method (``|r_m| > 1.645 sqrt((1 + 2 sum_{k<m} r_k^2) / n)``, r the autocorrelations).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(96)
    >>> seasonality_test([np.sin(2 * np.pi * t / 12) + 5, np.random.default_rng(0).
    ...                   standard_normal(96) + 5], 12).tolist()
    [True, False]
    """
    ys = _as_series_list(ys, "timeseries.seasonality_test")
    m = check_int(m, "m", "timeseries.seasonality_test", low=1)
    Y, mask = _padded(ys)
    n = mask.sum(axis=1)
    if m < 2:
        return np.zeros(len(ys), dtype=bool)
    centred = np.where(mask, Y - (Y * mask).sum(1, keepdims=True) / n[:, None], 0.0)
    denom = (centred ** 2).sum(axis=1)
    r = np.stack([(centred[:, k:] * centred[:, :-k]).sum(axis=1) for k in range(1, m + 1)],
                 axis=1) / np.where(denom > 0, denom, 1.0)[:, None]
    limit = 1.645 * np.sqrt((1 + 2 * (r[:, :-1] ** 2).sum(axis=1)) / n)
    return (np.abs(r[:, -1]) > limit) & (n >= 3 * m)


def _seasonal_indices(Y: np.ndarray, mask: np.ndarray, m: int) -> np.ndarray:
    """Classical multiplicative indices (centred 2 x m moving average), mean 1, (S, m)."""
    S, T = Y.shape
    n = mask.sum(axis=1)
    c = np.concatenate([np.zeros((S, 1)), np.cumsum(Y, axis=1)], axis=1)
    half = m // 2
    t = np.arange(half, T - half)
    if m % 2 == 0:  # average of two m-term means, each half a step off centre
        ma = ((c[:, t + half] - c[:, t - half]) + (c[:, t + half + 1] - c[:, t - half + 1])) \
            / (2 * m)
    else:
        ma = (c[:, t + half + 1] - c[:, t - half]) / m
    valid = (t[None, :] + half < n[:, None])
    ratio = np.where(valid, Y[:, t] / np.where(valid, ma, 1.0), 0.0)
    season = t % m
    sums = np.zeros((S, m))
    counts = np.zeros((S, m))
    np.add.at(sums, (slice(None), season), ratio)
    np.add.at(counts, (slice(None), season), valid.astype(float))
    index = sums / np.maximum(counts, 1)
    return index / index.mean(axis=1, keepdims=True)


@dataclass
class ThetaFit:
    """A fitted Theta method: what :meth:`forecast` needs, one entry per series."""

    level: np.ndarray
    alpha: np.ndarray
    slope: np.ndarray
    n: np.ndarray
    seasonal: np.ndarray
    indices: np.ndarray

    def forecast(self, h: int) -> np.ndarray:
        """Point forecasts for the next ``h`` periods, shape (n_series, h)."""
        h = check_int(h, "h", "ThetaFit.forecast", low=1)
        steps = np.arange(1, h + 1)[None, :]
        a = self.alpha[:, None]
        drift = self.slope[:, None] / 2 * (steps - 1 + 1 / a - (1 - a) ** self.n[:, None] / a)
        f = self.level[:, None] + drift
        m = self.indices.shape[1]
        season = (self.n[:, None] + steps - 1) % m
        factor = np.where(self.seasonal[:, None],
                          np.take_along_axis(self.indices, season, axis=1), 1.0)
        return f * factor


class Theta:
    """The Theta method for many series at once.

    Parameters
    ----------
    season_length : int, default 1

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(72)
    >>> y = (50 + 0.5 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12))
    >>> f = Theta(12).fit([y]).forecast(12)
    >>> truth = (50 + 0.5 * (t + 72)) * (1 + 0.2 * np.sin(2 * np.pi * (t + 72) / 12))
    >>> bool(np.abs(f[0] / truth[:12] - 1).max() < 0.05)
    True
    """

    def __init__(self, season_length: int = 1) -> None:
        self.season_length = check_int(season_length, "season_length", "Theta", low=1)

    def fit(self, series) -> ThetaFit:
        ys = _as_series_list(series, "Theta.fit")
        m = self.season_length
        Y, mask = _padded(ys)
        n = mask.sum(axis=1)
        seasonal = seasonality_test(ys, m) if m > 1 else np.zeros(len(ys), dtype=bool)
        seasonal &= np.all(np.where(mask, Y, 1.0) > 0, axis=1)  # the ratios need y > 0
        indices = _seasonal_indices(Y, mask, m) if m > 1 else np.ones((len(ys), 1))
        factor = np.where(seasonal[:, None], indices[:, np.arange(Y.shape[1]) % max(m, 1)],
                          1.0)
        deseason = np.where(mask, Y / factor, 0.0)
        # The linear trend's slope by least squares on t = 0..n-1, for all series at once.
        t = np.where(mask, np.arange(Y.shape[1])[None, :], 0.0)
        t_mean = t.sum(1) / n
        y_mean = deseason.sum(1) / n
        cov = (np.where(mask, (t - t_mean[:, None]) * (deseason - y_mean[:, None]), 0.0)).sum(1)
        var = (np.where(mask, (t - t_mean[:, None]) ** 2, 0.0)).sum(1)
        slope = cov / var
        ses = ETS("ANN").fit([deseason[i, :k] for i, k in enumerate(n)])
        return ThetaFit(level=ses.states["level"] * ses.scale, alpha=ses.params["alpha"],
                        slope=slope, n=n, seasonal=seasonal, indices=indices)
