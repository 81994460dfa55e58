"""Forecast accuracy (sMAPE, MASE, interval coverage) and two baseline forecasters.

Every function works on one series or on a batch of series at once. Actuals and
forecasts of a batch are 2-D arrays ``(n_series, h)``, all series with the same horizon
``h``; training parts may differ in length, so they are given as a list of 1-D arrays
(or as a 2-D array when they are all equally long). A single series is a 1-D array.

Examples
--------
>>> import numpy as np
>>> from gradkit.timeseries.metrics import seasonal_naive, smape
>>> train = [np.array([1.0, 2.0, 3.0, 4.0]), np.array([5.0, 6.0, 7.0])]
>>> f = seasonal_naive(train, 3, season_length=2)
>>> f
array([[3., 4., 3.],
       [6., 7., 6.]])
>>> smape(np.array([[3.0, 4.0, 3.0], [6.0, 7.0, 8.0]]), f).round(3)
array([0.   , 9.524])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..validation import check_finite_array, check_int, check_real, invalid

__all__ = ["smape", "mean_smape", "mase", "mean_mase", "coverage", "seasonal_naive",
           "ses_fixed"]


def _pair(y, f, names: tuple[str, str], call: str) -> tuple[np.ndarray, np.ndarray]:
    """Actuals and forecasts as float arrays of one shape, (h,) or (n_series, h)."""
    y = check_finite_array(y, names[0], call, min_ndim=1)
    f = check_finite_array(f, names[1], call, min_ndim=1)
    if y.ndim > 2:
        raise invalid(call, names[0], "a 1-D (h,) or 2-D (n_series, h) array", y)
    if f.shape != y.shape:
        raise invalid(call, names[1], f"of the shape of {names[0]}, {y.shape}", f)
    if y.shape[-1] == 0:
        raise invalid(call, names[0], "at least one forecast long (h >= 1)", y)
    return y, f


def _per_series(values: np.ndarray) -> np.ndarray | float:
    """A float for one series (``values`` 0-d), else the array of one value per series."""
    return float(values) if values.ndim == 0 else values


class _Batch:
    """Training parts of varying lengths, laid end to end so that one array op acts on all.

    ``flat`` holds every observation, ``owner[i]`` the series of ``flat[i]``, ``ends[k]``
    the index one past series k's last observation. ``single`` says the input was one
    1-D series (the caller then returns 1-D results).
    """

    def __init__(self, train, name: str, call: str) -> None:
        if isinstance(train, np.ndarray) or not isinstance(train, Sequence) or all(
                np.ndim(a) == 0 for a in train):
            arr = check_finite_array(train, name, call, min_ndim=1)
            if arr.ndim > 2:
                raise invalid(call, name, "a 1-D series, a 2-D (n_series, n) array or a list "
                              "of 1-D series", arr)
            self.single = arr.ndim == 1
            parts = [arr] if self.single else list(arr)
        else:
            self.single = False
            parts = [check_finite_array(a, f"{name}[{k}]", call) for k, a in enumerate(train)]
            for k, a in enumerate(parts):
                if a.ndim != 1:
                    raise invalid(call, f"{name}[{k}]", "a 1-D series", a)
        if not parts:
            raise invalid(call, name, "at least one series", got="none")
        self.lengths = np.array([a.size for a in parts])
        empty = np.flatnonzero(self.lengths == 0)
        if empty.size:
            raise invalid(call, f"{name}[{empty[0]}]", "a non-empty series", got="no values")
        self.flat = np.concatenate(parts).astype(np.float64, copy=False)
        self.ends = np.cumsum(self.lengths)
        self.owner = np.repeat(np.arange(self.lengths.size), self.lengths)
        self.name, self.call = name, call

    def require_length(self, at_least: int, why: str) -> None:
        short = np.flatnonzero(self.lengths < at_least)
        if short.size:
            k = int(short[0])
            where = self.name if self.single else f"{self.name}[{k}]"
            raise invalid(self.call, where, f"at least {at_least} values long ({why})",
                          got=f"{self.lengths[k]} values")

    def shape(self, rows: np.ndarray) -> np.ndarray:
        """Per-series results ``rows`` (n_series, ...) as the caller's input shape wants."""
        return rows[0] if self.single else rows


def smape(y, f) -> np.ndarray | float:
    """Symmetric mean absolute percentage error of each series, as in the M3 competition.

    ``mean over the horizon of 200 |y - f| / (|y| + |f|)``, in percent (0 to 200). A step
    where actual and forecast are both 0 counts as an exact forecast (error 0).

    Parameters
    ----------
    y, f : array_like
        Actuals and forecasts, of shape ``(h,)`` for one series or ``(n_series, h)``.

    Returns
    -------
    float or ndarray
        The sMAPE of the series, or of each series (shape ``(n_series,)``).

    See Also
    --------
    mean_smape : the mean over series, the figure M3 reports.

    Examples
    --------
    >>> from gradkit.timeseries.metrics import smape
    >>> smape([100.0, 200.0], [110.0, 200.0])  # (200 * 10 / 210 + 0) / 2
    4.761904761904762
    >>> smape([[1.0, 0.0], [2.0, 2.0]], [[3.0, 0.0], [2.0, 2.0]])
    array([50.,  0.])
    """
    y, f = _pair(y, f, ("y", "f"), "timeseries.smape")
    num = 200.0 * np.abs(y - f)
    den = np.abs(y) + np.abs(f)
    ratio = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return _per_series(ratio.mean(axis=-1))


def mean_smape(y, f) -> float:
    """The sMAPE of a batch of series: the mean over series of :func:`smape`.

    Examples
    --------
    >>> from gradkit.timeseries.metrics import mean_smape
    >>> mean_smape([[1.0, 0.0], [2.0, 2.0]], [[3.0, 0.0], [2.0, 2.0]])
    25.0
    """
    return float(np.mean(smape(y, f)))


def mase(y_train, y, f, season_length: int) -> np.ndarray | float:
    """Mean absolute scaled error of each series (Hyndman & Koehler, 2006).

    The mean absolute error of the forecasts divided by the in-sample mean absolute
    error of the seasonal naive forecast on the training part, ``mean |y_t - y_{t-m}|``
    over ``t = m .. n-1`` with ``m = season_length`` (``m = 1``: the naive forecast).
    A series whose training part is constant at that lag has scale 0, and MASE ``inf``
    (``nan`` when the forecasts are exact as well).

    Parameters
    ----------
    y_train : array_like or sequence of array_like
        The training part of each series: a 1-D array for one series, a list of 1-D
        arrays (lengths may differ) or a 2-D array for a batch.
    y, f : array_like
        Actuals and forecasts of the test part, ``(h,)`` or ``(n_series, h)``.
    season_length : int
        The seasonal period ``m`` (12 for monthly data), at least 1; each training part
        must be longer than it.

    Returns
    -------
    float or ndarray
        The MASE of the series, or of each series (shape ``(n_series,)``).

    Examples
    --------
    >>> from gradkit.timeseries.metrics import mase
    >>> # in-sample naive errors |2-1|, |4-2| -> scale 1.5; forecast errors 1, 2 -> MAE 1.5
    >>> mase([1.0, 2.0, 4.0], [5.0, 6.0], [4.0, 4.0], season_length=1)
    1.0
    >>> # lag 2: |3-1|, |4-2| -> scale 2; one series per row
    >>> mase([[1.0, 2.0, 3.0, 4.0]], [[5.0]], [[4.0]], season_length=2)
    array([0.5])
    """
    call = "timeseries.mase"
    y, f = _pair(y, f, ("y", "f"), call)
    m = check_int(season_length, "season_length", call, low=1)
    batch = _Batch(y_train, "y_train", call)
    n_series = 1 if y.ndim == 1 else y.shape[0]
    if y.ndim == 1 and not batch.single:
        raise invalid(call, "y_train", "one 1-D series, as y is 1-D",
                      got=f"a batch of {batch.lengths.size}")
    if y.ndim == 2 and (batch.single or batch.lengths.size != n_series):
        raise invalid(call, "y_train", f"one training series per row of y ({n_series})",
                      got="one 1-D series" if batch.single else f"{batch.lengths.size} series")
    batch.require_length(m + 1, f"more than season_length={m}")
    # Lag-m differences within a series: both ends must belong to the same one.
    same = batch.owner[m:] == batch.owner[:-m]
    diffs = np.abs(batch.flat[m:] - batch.flat[:-m])[same]
    who = batch.owner[m:][same]
    scale = (np.bincount(who, weights=diffs, minlength=n_series)
             / np.bincount(who, minlength=n_series))
    mae = np.abs(y - f).reshape(n_series, -1).mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = mae / scale  # inf or nan where the training part has no seasonal change
    return float(ratio[0]) if batch.single else ratio


def mean_mase(y_train, y, f, season_length: int) -> float:
    """The MASE of a batch of series: the mean over series of :func:`mase`.

    Examples
    --------
    >>> from gradkit.timeseries.metrics import mean_mase
    >>> mean_mase([[1.0, 2.0, 4.0], [0.0, 2.0, 4.0]], [[5.0], [5.0]], [[4.0], [4.0]], 1)
    0.5833333333333333
    """
    return float(np.mean(mase(y_train, y, f, season_length)))


def coverage(y, lo, hi) -> float:
    """The fraction of actuals inside their prediction intervals ``[lo, hi]``.

    Pooled over every series and every step of the horizon: for an 80% interval it
    should come out near 0.8.

    Parameters
    ----------
    y, lo, hi : array_like
        Actuals and the intervals' lower and upper bounds, all of one shape.

    Returns
    -------
    float
        Between 0 and 1; a bound equal to the actual counts as inside.

    Examples
    --------
    >>> from gradkit.timeseries.metrics import coverage
    >>> coverage([[1.0, 5.0], [3.0, 4.0]], [[0.0, 0.0], [3.0, 4.5]], [[2.0, 4.0], [4.0, 5.0]])
    0.5
    """
    call = "timeseries.coverage"
    y, lo = _pair(y, lo, ("y", "lo"), call)
    y, hi = _pair(y, hi, ("y", "hi"), call)
    return float(np.mean((lo <= y) & (y <= hi)))


def seasonal_naive(train, h: int, season_length: int) -> np.ndarray:
    """Forecasts that repeat each series' last ``season_length`` observations.

    Step ``j`` (from 0) of the forecast is ``train[n - m + j % m]``, ``m`` the season
    length; with ``m = 1`` it is the naive forecast, the last value repeated.

    Parameters
    ----------
    train : array_like or sequence of array_like
        One series (1-D) or a batch: a list of 1-D arrays (lengths may differ) or a 2-D
        array; each at least ``season_length`` long.
    h : int
        The forecast horizon, at least 1.
    season_length : int
        The seasonal period ``m``, at least 1.

    Returns
    -------
    ndarray
        Shape ``(h,)`` for one series, ``(n_series, h)`` for a batch.

    Examples
    --------
    >>> from gradkit.timeseries.metrics import seasonal_naive
    >>> seasonal_naive([1.0, 2.0, 3.0, 4.0, 5.0], 4, season_length=3)
    array([3., 4., 5., 3.])
    >>> seasonal_naive([[1.0, 2.0], [7.0, 8.0]], 2, season_length=1)
    array([[2., 2.],
           [8., 8.]])
    """
    call = "timeseries.seasonal_naive"
    h = check_int(h, "h", call, low=1)
    m = check_int(season_length, "season_length", call, low=1)
    batch = _Batch(train, "train", call)
    batch.require_length(m, f"season_length={m}")
    index = batch.ends[:, None] - m + np.arange(h) % m
    return batch.shape(batch.flat[index])


def ses_fixed(train, h: int, alpha: float = 0.3) -> np.ndarray:
    """Simple exponential smoothing with a fixed ``alpha``: a flat forecast at the last level.

    The level starts at the first observation, ``l_0 = y_0``, and follows
    ``l_t = alpha y_t + (1 - alpha) l_{t-1}``; every step of the forecast is the last
    level. It is computed in closed form, ``l_{n-1} = (1 - alpha)^{n-1} y_0 +
    sum_{t>=1} alpha (1 - alpha)^{n-1-t} y_t``, for all series at once.

    Parameters
    ----------
    train : array_like or sequence of array_like
        One series (1-D) or a batch: a list of 1-D arrays (lengths may differ) or a 2-D
        array.
    h : int
        The forecast horizon, at least 1.
    alpha : float, optional
        The smoothing weight of the newest observation, in [0, 1] (default 0.3).

    Returns
    -------
    ndarray
        Shape ``(h,)`` for one series, ``(n_series, h)`` for a batch.

    Examples
    --------
    >>> from gradkit.timeseries.metrics import ses_fixed
    >>> # levels 10, 0.5*20 + 0.5*10 = 15, 0.5*10 + 0.5*15 = 12.5
    >>> ses_fixed([10.0, 20.0, 10.0], 2, alpha=0.5)
    array([12.5, 12.5])
    """
    call = "timeseries.ses_fixed"
    h = check_int(h, "h", call, low=1)
    alpha = check_real(alpha, "alpha", call, low=0.0, high=1.0)
    batch = _Batch(train, "train", call)
    age = batch.ends[batch.owner] - 1 - np.arange(batch.flat.size)  # n-1-t within the series
    weights = alpha * (1.0 - alpha) ** age
    first = batch.ends - batch.lengths
    weights[first] = (1.0 - alpha) ** age[first]
    level = np.bincount(batch.owner, weights=weights * batch.flat, minlength=batch.ends.size)
    return batch.shape(np.repeat(level[:, None], h, axis=1))
