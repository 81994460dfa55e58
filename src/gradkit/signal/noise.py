"""Estimating the noise level of a sampled signal from the data alone."""

from __future__ import annotations

import math

from ..backend import xp
from ..graph import raw
from ..validation import check_axis, check_int, invalid
from ._common import as_samples

__all__ = ["noise_std"]

_MAD_TO_STD = 1.482602218505602  # 1 / Phi^-1(3/4): the MAD of a normal sample is 0.6745 sd


def noise_std(y, axis: int = -1, max_order: int = 6):
    """Standard deviation of white noise on a smooth signal, estimated from the data.

    Differences of order ``k`` cancel a smooth signal (up to ``h**k f^(k)``) and turn
    noise of standard deviation ``sigma`` into noise of standard deviation
    ``sigma * sqrt(C(2k, k))``. The estimate is the smallest, over ``k = 1 ..
    max_order``, of the robust scale ``1.4826 * MAD(diff(y, k)) / sqrt(C(2k, k))``:
    the median absolute deviation ignores outliers and the few differences that
    straddle a jump, and the smallest value comes from the order at which the signal
    has been cancelled best.

    Parameters
    ----------
    y : array_like
        Samples (a Tensor is read as a constant).
    axis : int, default -1
        Axis along which the samples are ordered.
    max_order : int, default 6
        Highest difference order tried.

    Returns
    -------
    float or numpy.ndarray
        One estimate per series (a float for 1-D input).

    Raises
    ------
    GradkitError
        NaN or inf in ``y``, or fewer than 3 samples along ``axis``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.signal import noise_std
    >>> x = np.linspace(0, 2 * np.pi, 1000)
    >>> y = np.sin(x) + np.random.default_rng(0).normal(0, 0.1, 1000)
    >>> round(float(noise_std(y)), 2)
    0.1
    """
    fn = "signal.noise_std"
    y = xp.asarray(raw(as_samples(y, fn)), dtype=xp.float64)
    axis = check_axis(axis, "axis", fn, y.ndim)
    max_order = check_int(max_order, "max_order", fn, low=1)
    size = y.shape[axis]
    if size < 3:
        raise invalid(fn, "y", "at least 3 samples long along the axis", got=f"{size} samples")
    z = xp.moveaxis(y, axis, -1)
    best = xp.full(z.shape[:-1], xp.inf)
    for k in range(1, min(max_order, size - 2) + 1):
        d = xp.diff(z, k, axis=-1)
        mad = xp.median(xp.abs(d - xp.median(d, axis=-1, keepdims=True)), axis=-1)
        best = xp.minimum(best, _MAD_TO_STD * mad / math.sqrt(math.comb(2 * k, k)))
    return float(best) if best.ndim == 0 else best
