"""Savitzky-Golay derivatives of noisy series, with a window chosen from the data."""

from __future__ import annotations

import math

from .. import numpy as gnp
from ..backend import xp
from ..graph import plain, raw
from ..validation import check_axis, check_int, invalid
from ._common import EdgeFilter, _cast, as_samples, check_grid, check_spacing, is_uniform, moved
from .noise import noise_std

__all__ = ["savgol_derivative", "savgol_window", "savgol_filter_weights"]

_FIT_ELEMENTS = 4_000_000  # elements of the blocks of windows formed at once


def _poly_rows(window: int, polyorder: int, n: int, positions):
    """Rows, factored as ``(E, P)``, of the n-th derivative at ``positions`` (sample
    units, 0 = first sample of the window) of the least-squares polynomial of degree
    ``polyorder`` through the ``window`` samples. ``P`` maps the samples to the
    polynomial's coefficients in a centred, scaled variable; ``E`` evaluates the
    derivative. Centring and scaling keep the fit well conditioned for long windows.
    """
    centre = (window - 1) / 2
    scale = max(centre, 1.0)
    z = (xp.arange(window) - centre) / scale
    powers = xp.arange(polyorder + 1)
    q, r = xp.linalg.qr(z[:, None] ** powers)
    to_coef = xp.linalg.solve(r, q.T)
    t = (xp.asarray(positions, dtype=xp.float64) - centre) / scale
    falling = xp.array([math.perm(int(k), n) for k in powers], dtype=xp.float64)
    evaluate = falling * t[:, None] ** xp.maximum(powers - n, 0) / scale ** n
    return evaluate, to_coef


def savgol_filter_weights(window: int, polyorder: int, n: int = 1) -> EdgeFilter:
    """The Savitzky-Golay derivative as an :class:`~gradkit.signal._common.EdgeFilter`.

    Unit sample spacing. Inside, the kernel is the derivative at the centre of the
    window; the first and last ``window // 2`` samples take the derivative of the
    polynomial fitted to the first (last) ``window`` samples, as SciPy's
    ``savgol_filter(mode="interp")``.
    """
    m = window // 2
    evaluate, to_coef = _poly_rows(window, polyorder, n, xp.arange(window))
    kernel = evaluate[m] @ to_coef
    return EdgeFilter(kernel, (evaluate[:m], to_coef), (evaluate[m + 1:], to_coef))


def _trace(f: EdgeFilter, size: int) -> float:
    """Trace of a square smoothing filter (its degrees of freedom)."""
    h = f.h
    total = (size - 2 * h) * f.kernel[h]
    if h:
        ev, to_coef = f.left
        total += xp.einsum("ij,ji->", ev, to_coef[:, :h])
        ev, to_coef = f.right
        total += xp.einsum("ij,ji->", ev, to_coef[:, -h:])
    return float(total)


def _windows(low: int, size: int, count: int = 40) -> list:
    """Odd window lengths from ``low`` to the series length, spaced geometrically."""
    top = size if size % 2 else size - 1
    low = low + 1 - low % 2
    if low > top:
        return []
    grid = xp.geomspace(low, top, count)
    return sorted({min(int(w) // 2 * 2 + 1, top) for w in grid} | {low, top})


def _as_series(y, axis: int):
    z = xp.asarray(raw(y), dtype=xp.float64)
    z = xp.moveaxis(z, axis, -1)
    return z.reshape(-1, z.shape[-1])


class _Risk:
    """Estimated mean squared error of Savitzky-Golay derivatives of the series ``ys``.

    Noise variance from :func:`noise_std`; bias from a pilot (see ``savgol_window``).
    """

    def __init__(self, ys, n: int, pilot_order: int):
        self.ys = ys
        self.n = n
        self.size = ys.shape[-1]
        self.var = noise_std(ys, axis=-1) ** 2
        self.pilot_window = self._pilot_window(pilot_order)
        smooth = savgol_filter_weights(self.pilot_window, pilot_order, 0)
        self.pilot = smooth.apply_numpy(ys)
        # The pilot's own derivative, by interpolating stencils of degree pilot_order + 1
        # (the central differences of that accuracy inside): near-exact on the smooth
        # pilot. The pilot's long derivative filter would smooth it a second time and
        # count its own bias as the candidates' (too short windows on narrow features).
        exact = savgol_filter_weights(pilot_order + 2, pilot_order + 1, n)
        self.pilot_slope = exact.apply_numpy(self.pilot)

    def _pilot_window(self, order: int) -> int:
        size = self.size
        scores = []
        for w in _windows(order + 2, size):
            f = savgol_filter_weights(w, order, 0)
            resid = ((self.ys - f.apply_numpy(self.ys)) ** 2).sum()
            scores.append((resid + 2 * self.var.sum() * _trace(f, size), w))
        # One-standard-error rule: the longest window whose Mallows' Cp is within one
        # standard error of the minimum (the smoothest pilot the data cannot reject).
        best = min(s for s, _ in scores)
        spread = math.sqrt(2 * size * float((self.var ** 2).sum()))
        return max(w for s, w in scores if s <= best + spread)

    def __call__(self, window: int, polyorder: int) -> float:
        f = savgol_filter_weights(window, polyorder, self.n)
        bias = f.apply_numpy(self.pilot) - self.pilot_slope
        noise = self.var.sum() * f.row_norms2(self.size).sum()
        return float(((bias ** 2).sum() + noise) / (self.size * self.ys.shape[0]))


def savgol_window(y, dx: float = 1.0, n: int = 1, axis: int = -1, window: int | None = None,
                  polyorder: int | None = None) -> tuple[int, int]:
    """The window and polynomial order that :func:`savgol_derivative` uses by default.

    The rule (documented here once; it runs on plain NumPy constants):

    1. The noise standard deviation ``sigma`` of each series is estimated with
       :func:`noise_std` (robust scale of high-order differences).
    2. A *pilot* smooth ``f`` of the data is a Savitzky-Golay fit of odd degree (a
       smoother's ``p - 0`` odd; the first odd degree above the highest candidate, 7
       for ``n = 1``); its window is the longest one whose Mallows' Cp
       (``|y - S y|^2 + 2 sigma^2 tr S``) is within one standard error
       (``sigma^2 sqrt(2N)``) of the smallest.
    3. For every candidate (window ``W``, degree ``p``) the mean squared error of the
       derivative over all samples, edges included, is estimated as
       ``mean((L f - f')^2) + sigma^2 mean(|L_i|^2)``: the bias is the candidate
       ``L`` applied to the pilot minus the pilot's own derivative ``f'``, taken by
       interpolating stencils one degree above the pilot's (central differences of
       that accuracy inside, one-sided ones at the ends), so that it is near-exact and
       smooths nothing; the variance is exact given ``sigma`` (``L_i`` is the weight
       row of sample ``i``).
    4. Candidates: ``p`` in ``n+1, n+3, n+5`` (``p - n`` odd, as Fan & Gijbels
       recommend: inside the window a fit of degree ``n + 2k`` gives the same
       derivative as one of degree ``n + 2k - 1`` and would only add variance at the
       edges) and 40 odd windows spaced geometrically up to the series length; the
       best window is then refined on a finer grid within 15 %. The smallest estimate
       wins (ties: the longer window).

    A series too short for the pilot (its longest odd window below ``n + 9``) gets
    one polynomial of degree ``n + 1`` (or less) through all samples. Arguments that
    are passed are kept fixed.

    Parameters
    ----------
    y : array_like
        Samples; all series along ``axis`` share one choice (their errors are pooled).
    dx : float, default 1.0
        Sample spacing (the choice does not depend on it).
    n : int, default 1
        Derivative order.
    axis : int, default -1
    window, polyorder : int, optional
        Fix one of them and choose only the other.

    Returns
    -------
    (window, polyorder) : tuple of int

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.signal import savgol_window
    >>> x = np.linspace(0, 2 * np.pi, 1000)
    >>> y = np.sin(x) + np.random.default_rng(0).normal(0, 0.01, 1000)
    >>> savgol_window(y, dx=x[1] - x[0])
    (625, 6)
    """
    fn = "signal.savgol_window"
    y = as_samples(y, fn)
    shape = raw(y).shape
    axis = check_axis(axis, "axis", fn, len(shape))
    check_spacing(dx, fn)
    n = check_int(n, "n", fn, low=1)
    size = shape[axis]
    window, polyorder = _check_window(window, polyorder, n, size, fn)
    return _choose(_as_series(y, axis), n, window, polyorder)


def _check_window(window, polyorder, n: int, size: int, fn: str):
    if window is not None:
        window = check_int(window, "window", fn, low=1)
        if window % 2 == 0:
            raise invalid(fn, "window", "odd (the derivative is taken at the centre sample)",
                          window)
        if window > size:
            raise invalid(fn, "window", f"at most the length of the series ({size} samples "
                                        f"along the axis)", window)
    if polyorder is not None:
        polyorder = check_int(polyorder, "polyorder", fn, low=0)
        if polyorder < n:
            raise invalid(fn, "polyorder", f"at least n={n} (the n-th derivative of a fit of "
                                           f"lower degree is zero)", polyorder)
        if window is not None and polyorder >= window:
            raise invalid(fn, "polyorder", f"less than window={window}", polyorder)
    smallest = n + 2 if n % 2 else n + 1  # the shortest odd window above degree n
    if size < smallest:
        raise invalid(fn, "y", f"at least {smallest} samples long along the axis for n={n}",
                      got=f"{size} samples")
    return window, polyorder


def _choose(ys, n: int, window, polyorder) -> tuple[int, int]:
    size = ys.shape[-1]
    if window is not None and polyorder is not None:
        return window, polyorder
    orders = [polyorder] if polyorder is not None else [n + 1, n + 3, n + 5]
    if window is not None:
        orders = [p for p in orders if p < window] or [max(n, window - 1)]
    # The pilot smooths (n = 0), so its degree is odd (Fan & Gijbels' p - n odd), one or
    # two above the highest candidate: degree 7 for the first derivative.
    pilot_order = max(orders) + 1 + max(orders) % 2
    top = size if size % 2 else size - 1
    if max(orders) + 4 > top:
        # Too short to estimate a bias: one polynomial through all samples.
        w = window if window is not None else top
        p = polyorder if polyorder is not None else max(n, min(n + 1, w - 1))
        return w, p
    risk = _Risk(ys, n, pilot_order)
    scored = []
    for p in orders:
        for w in [window] if window is not None else _windows(p + 2, size):
            scored.append((risk(w, p), -w, p))
    best, neg_w, p = min(scored)
    if window is None:
        w = -neg_w
        low, high = max(int(w * 0.85), p + 2), min(int(w * 1.15) + 1, top)
        for w2 in _windows(low, high, 25):
            scored.append((risk(w2, p), -w2, p))
        best, neg_w, p = min(scored)
    return -neg_w, p


def savgol_derivative(y, dx: float = 1.0, n: int = 1, window: int | None = None,
                      polyorder: int | None = None, axis: int = -1, *, x=None):
    """Smoothing derivative of a noisy series (Savitzky-Golay), tuned from the data.

    Each sample gets the n-th derivative of the least-squares polynomial of degree
    ``polyorder`` fitted to the ``window`` samples centred on it; the first and last
    ``window // 2`` samples use the polynomial fitted to the first (last) ``window``
    samples. With both ``window`` and ``polyorder`` given this equals
    ``scipy.signal.savgol_filter(y, window, polyorder, deriv=n, delta=dx,
    mode="interp")``. Left out, they are chosen from the data by the rule of
    :func:`savgol_window` (noise estimate and a pilot estimate of the bias, minimising
    the estimated mean squared error of the derivative over all samples).

    The weights are constants; the data path is made of gradkit operations, so the
    result can be differentiated with respect to ``y`` (the automatic choice of the
    window is a constant and is not differentiated).

    Parameters
    ----------
    y : array_like or Tensor
        Samples; any number of dimensions.
    dx : float, default 1.0
        Sample spacing of a uniform grid (ignored when ``x`` is given).
    n : int, default 1
        Derivative order (>= 1, <= polyorder).
    window : int, optional
        Odd number of samples in each fit, at most the series length.
    polyorder : int, optional
        Degree of the fitted polynomials (>= n, < window).
    axis : int, default -1
    x : array_like, optional
        Coordinates of the samples along ``axis`` (1-D, strictly monotonic), for a
        non-uniform grid: each sample gets the n-th derivative, at its coordinate, of the
        least-squares polynomial fitted to its window on the actual coordinates (the
        window centred on it; the first or last ``window`` samples near the ends). A
        uniform ``x`` gives the result of ``dx``. The automatic window is chosen in
        sample counts as if the samples were equally spaced (fine for jittered or
        smoothly graded grids; pass ``window`` for very irregular ones). ``x`` is a
        constant: no gradient flows to it.

    Returns
    -------
    ndarray or Tensor
        The derivative, with the shape of ``y``.

    Raises
    ------
    GradkitError
        NaN or inf in ``y`` or ``x``, a window that is even or longer than the series,
        an order out of range, ``x`` not strictly monotonic or of the wrong length.

    See Also
    --------
    savgol_window : the rule that chooses the window.
    tv_derivative : for very noisy data whose derivative jumps.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.signal import savgol_derivative
    >>> x = np.linspace(0, 2 * np.pi, 1000)
    >>> y = np.sin(x) + np.random.default_rng(0).normal(0, 0.01, 1000)
    >>> d = savgol_derivative(y, dx=x[1] - x[0])
    >>> float(np.sqrt(np.mean((d - np.cos(x)) ** 2))) < 3e-3
    True
    >>> t = np.arange(7.0)
    >>> np.round(savgol_derivative(t ** 2, window=5, polyorder=2), 12) + 0.0  # exact
    array([ 0.,  2.,  4.,  6.,  8., 10., 12.])
    >>> s = np.array([0.0, 0.5, 1.5, 2.0, 3.5, 4.0])  # a non-uniform grid
    >>> np.round(savgol_derivative(s ** 2, x=s, window=5, polyorder=2), 12) + 0.0
    array([0., 1., 3., 4., 7., 8.])
    """
    fn = "signal.savgol_derivative"
    y = as_samples(y, fn)
    shape = raw(y).shape
    axis = check_axis(axis, "axis", fn, len(shape))
    grid = None
    if x is not None:
        grid = check_grid(x, shape[axis], fn)
        if is_uniform(grid):
            dx, grid = (grid[-1] - grid[0]) / max(grid.shape[0] - 1, 1), None
    dx = check_spacing(dx, fn) if grid is None else 1.0
    n = check_int(n, "n", fn, low=1)
    window, polyorder = _check_window(window, polyorder, n, shape[axis], fn)
    if window is None or polyorder is None:
        window, polyorder = _choose(_as_series(y, axis), n, window, polyorder)
    if grid is None:
        return savgol_filter_weights(window, polyorder, n).scaled(dx ** -n)(y, axis)
    return _local_fits(y, grid, n, window, polyorder, axis)


def _local_fit_weights(grid, window: int, polyorder: int, n: int):
    """Per sample ``i``: the indices ``nodes[i]`` of its window and the weights ``w[i]``
    with ``w[i] @ y[nodes[i]]`` the n-th derivative at ``x_i`` of the least-squares
    polynomial through those samples, on their actual coordinates.

    The window is centred on ``i`` (the first or last ``window`` samples near the ends,
    as on a uniform grid). Each fit is in ``t = (x - x_i) / s`` with ``s`` the farthest
    node, by QR, all windows of a block at once (the loop is over blocks of samples).
    """
    size = grid.shape[0]
    starts = xp.clip(xp.arange(size) - window // 2, 0, size - window)
    nodes = starts[:, None] + xp.arange(window)
    weights = xp.empty((size, window))
    block = max(1, _FIT_ELEMENTS // (window * (polyorder + 1)))
    powers = xp.arange(polyorder + 1)
    for lo in range(0, size, block):
        rows = slice(lo, lo + block)
        offset = grid[nodes[rows]] - grid[rows, None]
        s = xp.abs(offset).max(axis=1)
        q, r = xp.linalg.qr((offset / s[:, None])[..., None] ** powers)
        to_coef = xp.linalg.solve(r, xp.swapaxes(q, -1, -2))
        weights[rows] = math.factorial(n) * to_coef[:, n, :] / s[:, None] ** n
    return nodes, weights


def _local_fits(y, grid, n: int, window: int, polyorder: int, axis: int):
    """The Savitzky-Golay derivative on a non-uniform grid, by gradkit operations."""
    nodes, weights = _local_fit_weights(grid, window, polyorder, n)
    z = moved(y, axis)
    dtype = xp.result_type(plain(z).dtype, xp.float32)
    lead = raw(z).shape[:-1]
    if nodes.size * max(1, int(xp.prod(lead))) <= _FIT_ELEMENTS:
        out = gnp.sum(gnp.take(z, nodes, axis=-1) * weights.astype(dtype), axis=-1)
    else:  # one gather per window offset, without forming every window
        out = None
        for k in range(window):
            term = gnp.take(z, nodes[:, k], axis=-1) * weights[:, k].astype(dtype)
            out = term if out is None else out + term
    nd = len(raw(y).shape)
    return out if axis == nd - 1 else gnp.moveaxis(out, -1, axis)


def causal_derivative(y, window: int, n: int = 1, polyorder: int = 2, dx: float = 1.0):
    """The n-th derivative of each sample from the samples up to it: a streaming derivative.

    Sample ``t`` gets the n-th derivative, at ``t``, of the least-squares polynomial of
    degree ``polyorder`` through samples ``t - window + 1 .. t`` (a one-sided
    Savitzky-Golay filter): no sample after ``t`` is read, so feeding a series one
    sample at a time gives the same values as one call. Before ``window`` samples exist,
    the missing ones are taken equal to the first (so the first derivatives are 0 for a
    series that starts flat). Differentiable with respect to ``y``, along the last axis.

    Parameters
    ----------
    y : array_like or Tensor
        Samples along the last axis (any leading axes: many series at once).
    window : int
        Samples in each fit, more than ``polyorder``.
    n : int, default 1
        Derivative order, at most ``polyorder``.
    polyorder : int, default 2
    dx : float, default 1.0
        Sample spacing.

    Returns
    -------
    ndarray or Tensor
        The shape of ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.signal import causal_derivative
    >>> t = np.arange(10.0)
    >>> causal_derivative(t ** 2, window=5, n=1)[5:]   # exact for a quadratic: 2 t
    array([10., 12., 14., 16., 18.])
    >>> y = np.sin(t); bool(np.allclose(causal_derivative(y, 7)[:6],
    ...                                 causal_derivative(y[:6], 7)))  # no look-ahead
    True
    """
    fn = "signal.causal_derivative"
    y = as_samples(y, fn)
    window = check_int(window, "window", fn, low=2)
    polyorder = check_int(polyorder, "polyorder", fn, low=0, high=window - 1)
    n = check_int(n, "n", fn, low=0, high=polyorder)
    h = check_spacing(dx, fn)
    evaluate, to_coef = _poly_rows(window, polyorder, n, [window - 1])
    kernel = (evaluate[0] @ to_coef) / h ** n
    first = gnp.getitem(y, (Ellipsis, slice(0, 1)))
    lead = raw(y).shape[:-1]
    padded = gnp.concatenate([gnp.broadcast_to(first, lead + (window - 1,)), y], axis=-1)
    windows = gnp.sliding_window_view(padded, window, axis=-1)
    return gnp.matmul(windows, _cast(kernel, y))
