"""A streaming anomaly detector built on derivatives of the series.

For each row ``t`` of a series, from rows up to ``t`` only (feeding a series row by row
or in one call gives the same scores):

* the causal Savitzky-Golay first and second derivatives (slope and curvature,
  :func:`gradkit.signal.causal_derivative`);
* for the level, the slope and the curvature, how far row ``t`` is from what their
  exponentially weighted mean and variance up to row ``t - 1`` expect (a z-score; the
  running statistics are recursive filters, run by ``scipy.signal.lfilter``);
* with a ``period`` (rows per season, say a day), the same for the seasonal difference
  ``x_t - x_{t - period}``: a day unlike the day before;
* the change of variance: the log ratio of the slope's fast and slow running variances.

The features go through ``log1p`` of their magnitude and are combined into one surprise
per row: by default the largest of the level, slope, curvature and seasonal surprises,
or a logistic combination whose weights gradkit's autodiff and L-BFGS fit to labelled
series (:meth:`DerivativeDetector.fit`). The score is the surprise's rarity in its own
series: one minus the exponentially weighted share of earlier rows whose surprise reached
the same level, so that one threshold means the same on a calm series and a spiky one.

A record beyond everything seen before is an anomaly however calm its derivatives: where
the level, or its running mean, leaves the range of all earlier rows by a fraction ``e``
of that range, the score is at least ``1 - record_gap * exp(-e / record_scale)``. Last, a
score only counts where it exceeds the highest score of the preceding ``refractory`` rows,
so that one event raises one alarm, not a run of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .. import numpy as gnp
from ..optim import LBFGS
from ..signal import causal_derivative
from ..transforms import value_and_grad
from ..validation import check_int, check_real, invalid

__all__ = ["DerivativeDetector", "FEATURES", "rows_per_day"]

FEATURES = ("level", "slope", "curvature", "season", "variance")
_SURPRISES = 4  # the first four features are surprises; their largest is the "max"
_WARMUP = 20  # rows whose running statistics are still forming score 0


def _ew_mean(x: np.ndarray, rate: float) -> np.ndarray:
    """Exponentially weighted mean, ``m_t = (1 - rate) m_{t-1} + rate x_t``, from m = x_0."""
    from scipy.signal import lfilter

    return lfilter([rate], [1.0, rate - 1.0], x - x[0]) + x[0]


def _ew_average(x: np.ndarray, rate: float) -> np.ndarray:
    """The exponentially weighted average of the rows seen so far, normalised by the
    weight they carry (Adam's bias correction): the plain mean while few rows exist."""
    from scipy.signal import lfilter

    weight = 1.0 - (1.0 - rate) ** np.arange(1, x.size + 1)
    return lfilter([rate], [1.0, rate - 1.0], x) / weight


_LEVELS = np.arange(-12.0, 12.0, 0.25)  # surprise levels whose running rarity is tracked


def _rarity(surprise: np.ndarray, rate: float) -> np.ndarray:
    """``1 -`` the EW share of the rows before t whose surprise reached the highest level
    row t reaches (1 where no earlier row reached it, 0 where every one did)."""
    from scipy.signal import lfilter

    reached = (surprise[:, None] >= _LEVELS[None, :]).astype(np.float64)
    weight = 1.0 - (1.0 - rate) ** np.arange(1, surprise.size + 1)
    share = lfilter([rate], [1.0, rate - 1.0], reached, axis=0) / weight[:, None]
    before = np.vstack([np.ones((1, _LEVELS.size)), share[:-1]])
    return 1.0 - np.where(reached > 0, before, 1.0).min(axis=1)


def rows_per_day(timestamps) -> int:
    """Rows per day (the detector's ``period`` for a daily season), from the step between
    the first two timestamps, so that a streaming detector knows it from the start.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange("2024-01-01T00:00", "2024-01-02T00:00", 5, dtype="datetime64[m]")
    >>> rows_per_day(t)
    288
    """
    t = np.asarray(timestamps, dtype="datetime64[s]")
    if t.ndim != 1 or t.size < 2 or not t[1] > t[0]:
        raise invalid("anomaly.rows_per_day", "timestamps",
                      "at least two increasing timestamps", got=t[:2])
    step = (t[1] - t[0]).astype(np.int64)
    return max(int(round(86400 / step)), 1)


def _series(values, call: str) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size < 1 or not np.all(np.isfinite(x)):
        raise invalid(call, "values", "a finite 1-D series of at least one row", values)
    return x


def _record(x: np.ndarray) -> np.ndarray:
    """How far row t lies outside the range of the rows before it, as a fraction of that
    range (0 inside it)."""
    high = np.concatenate([x[:1], np.maximum.accumulate(x)[:-1]])
    low = np.concatenate([x[:1], np.minimum.accumulate(x)[:-1]])
    span = high - low + 1e-8 * (abs(x[0]) + 1.0)
    return np.maximum(np.maximum(x - high, low - x), 0.0) / span


def _seasonal_z(x: np.ndarray, period: int, rate: float, floor: float) -> np.ndarray:
    """The lagged z-score of the seasonal difference ``x_t - x_{t - period}`` (0 for the
    first period, which has no row a season earlier)."""
    z = np.zeros_like(x)
    if period and x.size > period:
        z[period:] = _lagged_z(x[period:] - x[:-period], rate, floor)
    return z


def _lagged_z(x: np.ndarray, rate: float, floor: float, warmup: int = 5) -> np.ndarray:
    """``(x_t - m_{t-1}) / s_{t-1}``: m the EW mean of the rows before t, s the EW root
    mean square of their innovations (0 for the first ``warmup`` rows)."""
    m = _ew_mean(x, rate)
    prev = np.concatenate([x[:1], m[:-1]])
    innovation = x - prev
    var = _ew_average(innovation[1:] ** 2, rate)
    prev_var = np.concatenate([[0.0, 0.0], var[:-1]])[:x.size]
    z = innovation / (np.sqrt(prev_var) + floor)
    z[:warmup] = 0.0
    return z


@dataclass(frozen=True)
class DerivativeDetector:
    """Streaming anomaly scores from derivatives of a series.

    Parameters
    ----------
    slope_window, curvature_window : int
        Samples of the causal Savitzky-Golay fits (quadratic) for the first and second
        derivatives.
    slow, fast : float
        Rates of the running statistics (``slow``: the normal behaviour; ``fast``: the
        recent variance).
    refractory : int
        Rows after a score during which only a higher score counts.
    combine : {"max", "logistic"}
        The surprise: the largest of the level, slope and curvature features, or the
        logistic combination of all features with ``weights``.
    weights : tuple of float
        Bias, then one weight per feature (:data:`FEATURES`), of the logistic combination.
    calibration : float
        Rate of the running rarity of the surprise (0: no calibration; the score is then
        the logistic combination itself).
    period : int
        Rows per season (0: none), for the seasonal-difference surprise.
    record_gap, record_scale : float
        The score of a new record of the level or of its running mean (``record_smooth``):
        ``1 - record_gap * exp(-e / record_scale)``, ``e`` its distance beyond the range of
        the earlier rows as a fraction of that range. ``record_gap=0`` turns records off.
    record_smooth : float
        Rate of the running mean whose records count too (a sustained shift that no
        single row makes a record).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.sin(np.arange(3000) / 20.0)
    >>> y[2000:] += 3.0                       # a level shift at row 2000
    >>> s = DerivativeDetector().score(y)
    >>> bool(s[2000:2005].max() > s[500:1995].max()), bool(0 <= s.min() <= s.max() <= 1)
    (True, True)

    The first rows of a series are all "rare" (nothing came before them): NAB's
    probationary period, the first 15% of each file, is not scored.
    """

    slope_window: int = 9
    curvature_window: int = 15
    slow: float = 0.01
    fast: float = 0.2
    refractory: int = 100
    combine: str = "max"
    weights: tuple[float, ...] = field(default=(-6.0, 1.0, 1.0, 1.0, 1.0, 0.0))
    calibration: float = 1e-4
    period: int = 0
    record_gap: float = 0.003
    record_scale: float = 0.01
    record_smooth: float = 0.05

    def __post_init__(self) -> None:
        call = "anomaly.DerivativeDetector"
        check_int(self.slope_window, "slope_window", call, low=3)
        check_int(self.curvature_window, "curvature_window", call, low=3)
        check_real(self.slow, "slow", call, low=0.0, high=1.0, low_open=True)
        check_real(self.fast, "fast", call, low=0.0, high=1.0, low_open=True)
        check_int(self.refractory, "refractory", call, low=0)
        if self.combine not in ("max", "logistic"):
            raise invalid(call, "combine", "'max' or 'logistic'", self.combine)
        check_real(self.calibration, "calibration", call, low=0.0, high=1.0, high_open=True)
        check_int(self.period, "period", call, low=0)
        check_real(self.record_gap, "record_gap", call, low=0.0, high=1.0)
        check_real(self.record_scale, "record_scale", call, low=0.0, low_open=True)
        check_real(self.record_smooth, "record_smooth", call, low=0.0, high=1.0,
                   low_open=True)
        if len(self.weights) != len(FEATURES) + 1:
            raise invalid(call, "weights", f"{len(FEATURES) + 1} numbers (bias, then one per "
                                           f"feature)", self.weights)

    def features(self, values) -> np.ndarray:
        """The features of each row, shape ``(len(values), len(FEATURES))``, causal."""
        x = _series(values, "anomaly.DerivativeDetector.features")
        # A floor under the running scales (a constant stretch has none), from the first
        # row only: anything from later rows would look ahead.
        floor = 1e-8 * (abs(x[0]) + 1.0)
        slope = np.asarray(causal_derivative(x, self.slope_window, n=1))
        curvature = np.asarray(causal_derivative(x, self.curvature_window, n=2))
        fast_var = _ew_average((slope - _ew_mean(slope, self.fast)) ** 2, self.fast)
        slow_var = _ew_average((slope - _ew_mean(slope, self.slow)) ** 2, self.slow)
        variance = np.log((fast_var + floor ** 2) / (slow_var + floor ** 2))
        feats = np.stack([_lagged_z(x, self.slow, floor), _lagged_z(slope, self.slow, floor),
                          _lagged_z(curvature, self.slow, floor),
                          _seasonal_z(x, self.period, self.slow, floor), variance], axis=1)
        return np.log1p(np.abs(feats))

    def records(self, values) -> np.ndarray:
        """The record score of each row (see ``record_gap``): 0 where neither the level
        nor its running mean leaves the range of the earlier rows."""
        x = _series(values, "anomaly.DerivativeDetector.records")
        if self.record_gap == 0:
            return np.zeros_like(x)
        e = np.maximum(_record(x), _record(_ew_average(x, self.record_smooth)))
        r = np.where(e > 0, 1.0 - self.record_gap * np.exp(-e / self.record_scale), 0.0)
        r[:_WARMUP] = 0.0
        return r

    def surprise(self, values) -> np.ndarray:
        """The combined surprise of each row (see ``combine``), before calibration."""
        f = self.features(values)
        if self.combine == "max":
            return f[:, :_SURPRISES].max(axis=1)
        w = np.asarray(self.weights)
        return w[0] + f @ w[1:]

    def raw_score(self, values) -> np.ndarray:
        """The score of each row in [0, 1] before the refractory rule."""
        a = self.surprise(values)
        if self.calibration == 0:
            s = 0.5 * (1.0 + np.tanh(0.5 * a))
        else:
            s = _rarity(a, self.calibration)
        s[:_WARMUP] = 0.0
        return np.maximum(s, self.records(values))

    def score(self, values) -> np.ndarray:
        """The anomaly score of each row, in [0, 1], from rows up to it only."""
        s = self.raw_score(values)
        if self.refractory == 0:
            return s
        padded = np.concatenate([np.zeros(self.refractory), s])
        windows = np.lib.stride_tricks.sliding_window_view(padded[:-1], self.refractory)
        recent = windows.max(axis=1)
        return np.where(s > recent, s, 0.0)

    def fit(self, series: list, labels: list, *, periods: list | None = None,
            balance: float = 0.5) -> DerivativeDetector:
        """A copy with the weights fitted to labelled series (gradkit autodiff + L-BFGS).

        Logistic regression of "row inside an anomaly window" on the features, the two
        classes weighted to ``balance`` and ``1 - balance`` of the loss. The copy combines
        its features with the fitted weights (``combine="logistic"``).

        Parameters
        ----------
        series : list of 1-D arrays
        labels : list of boolean arrays
            True for the rows inside a labelled window, one array per series.
        periods : list of int, optional
            Each series' ``period`` (default: the detector's own for every series).
        balance : float, default 0.5
            The share of the loss carried by the rows inside windows.
        """
        if periods is None:
            periods = [self.period] * len(series)
        if len(periods) != len(series):
            raise invalid("anomaly.DerivativeDetector.fit", "periods", "one per series",
                          got=f"{len(periods)} periods for {len(series)} series")
        X = np.concatenate([replace(self, period=p).features(v)
                            for v, p in zip(series, periods, strict=True)])
        y = np.concatenate([np.asarray(lab, dtype=bool) for lab in labels])
        if X.shape[0] != y.shape[0]:
            raise invalid("anomaly.DerivativeDetector.fit", "labels",
                          "one boolean per row of each series", got=f"{y.shape[0]} labels "
                                                                     f"for {X.shape[0]} rows")
        pos = max(int(y.sum()), 1)
        neg = max(int((~y).sum()), 1)
        weight = np.where(y, balance / pos, (1 - balance) / neg)
        sign = np.where(y, 1.0, -1.0)

        def loss(w):
            z = w[0] + X @ w[1:]
            return gnp.sum(weight * gnp.softplus(-sign * z)) + 1e-3 * gnp.sum(w[1:] ** 2)

        res = LBFGS(gtol=1e-8).minimize(value_and_grad(loss), np.asarray(self.weights),
                                        jac=True)
        return replace(self, combine="logistic", weights=tuple(float(v) for v in res.x))
