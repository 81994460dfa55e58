"""Finite-difference stencils of any order and accuracy: Fornberg's weights and ``diff``."""

from __future__ import annotations

from .. import numpy as gnp
from ..backend import xp
from ..graph import plain, raw
from ..validation import check_axis, check_finite_array, check_int, invalid, real_value
from ._common import EdgeFilter, as_samples, check_grid, check_spacing, is_uniform, moved

__all__ = ["fornberg_weights", "diff"]


def _fornberg(z, x, m: int):
    """Weights of derivatives 0..m at points ``z`` (P,) from nodes ``x`` (P, S).

    Fornberg's recursion (Math. Comp. 51, 1988), run on P stencils at once: the loops
    are over the S nodes and the m orders, never over the stencils. Returns (P, S, m+1).
    """
    z = xp.asarray(z, dtype=xp.float64)
    x = xp.asarray(x, dtype=xp.float64)
    p, s = x.shape
    c = xp.zeros((p, s, m + 1))
    c[:, 0, 0] = 1.0
    c1 = xp.ones(p)
    c4 = x[:, 0] - z
    for i in range(1, s):
        mn = min(i, m)
        c2 = xp.ones(p)
        c5 = c4
        c4 = x[:, i] - z
        for j in range(i):
            c3 = x[:, i] - x[:, j]
            c2 = c2 * c3
            if j == i - 1:
                for k in range(mn, 0, -1):
                    c[:, i, k] = c1 * (k * c[:, i - 1, k - 1] - c5 * c[:, i - 1, k]) / c2
                c[:, i, 0] = -c1 * c5 * c[:, i - 1, 0] / c2
            for k in range(mn, 0, -1):
                c[:, j, k] = (c4 * c[:, j, k] - k * c[:, j, k - 1]) / c3
            c[:, j, 0] = c4 * c[:, j, 0] / c3
        c1 = c2
    return c


def fornberg_weights(x, x0: float = 0.0, n: int = 1):
    """Finite-difference weights for the n-th derivative at ``x0`` from nodes ``x``.

    The weights ``w`` make ``sum(w * f(x))`` exact for every polynomial of degree below
    ``len(x)``; they are computed by Fornberg's recursion, which is stable for any
    distinct nodes (uniform or not, on either side of ``x0``).

    Parameters
    ----------
    x : array_like, shape (S,)
        Distinct nodes.
    x0 : float, default 0.0
        Where the derivative is taken.
    n : int, default 1
        Derivative order (0 gives interpolation weights); at most ``S - 1``.

    Returns
    -------
    numpy.ndarray, shape (S,)

    Raises
    ------
    GradkitError
        If ``n`` is out of range, or the nodes are not distinct finite numbers.

    Examples
    --------
    >>> from gradkit.signal import fornberg_weights
    >>> fornberg_weights([-1.0, 0.0, 1.0], 0.0, n=1)
    array([-0.5,  0. ,  0.5])
    >>> fornberg_weights([-1.0, 0.0, 1.0], 0.0, n=2)
    array([ 1., -2.,  1.])
    >>> fornberg_weights([0.0, 1.0, 2.0], 0.0, n=1)  # one-sided, second order
    array([-1.5,  2. , -0.5])
    """
    fn = "signal.fornberg_weights"
    nodes = check_finite_array(x, "x", fn).astype(xp.float64)
    if nodes.ndim != 1 or nodes.size == 0:
        raise invalid(fn, "x", "a non-empty 1-D array of nodes", x)
    at = real_value(x0)
    if at is None or not xp.isfinite(at):
        raise invalid(fn, "x0", "a finite number", x0)
    n = check_int(n, "n", fn, low=0, high=nodes.size - 1)
    if xp.unique(nodes).size != nodes.size:
        raise invalid(fn, "x", "distinct nodes", x)
    return _fornberg(xp.asarray([at]), nodes[None, :], n)[0, :, n]


def _central_size(n: int, accuracy: int) -> int:
    """Nodes of the symmetric stencil of order >= accuracy (findiff's rule)."""
    return 2 * ((n + 1) // 2) - 1 + accuracy + accuracy % 2


def uniform_filter(n: int, accuracy: int) -> EdgeFilter:
    """Unit-spacing stencils: central inside, the first/last n + accuracy nodes near ends."""
    sc = _central_size(n, accuracy)
    h = sc // 2
    se = n + accuracy
    kernel = _fornberg([0.0], xp.arange(-h, h + 1.0)[None, :], n)[0, :, n]
    nodes = xp.broadcast_to(xp.arange(float(se)), (h, se))
    left = _fornberg(xp.arange(float(h)), nodes, n)[:, :, n]
    right = _fornberg(xp.arange(float(se - h), float(se)), nodes, n)[:, :, n]
    return EdgeFilter(kernel, (left,), (right,))


def diff(y, x=None, dx: float = 1.0, n: int = 1, accuracy: int = 2, axis: int = -1):
    """Derivative of sampled data by finite differences of any order and accuracy.

    Interior samples use the symmetric stencil whose error is ``O(h**accuracy)``
    (the next even order when ``accuracy`` is odd); the samples near each end, where
    it does not fit, use the ``n + accuracy`` first (last) samples, so the output has
    the shape of ``y`` and the error is ``O(h**accuracy)`` everywhere. On a
    non-uniform grid every sample uses the ``n + accuracy`` nearest-centred samples.
    Weights come from Fornberg's recursion (:func:`fornberg_weights`); they are
    constants, and the data path is made of gradkit operations, so the result can be
    differentiated with respect to ``y`` (with :func:`gradkit.grad` and friends).

    Parameters
    ----------
    y : array_like or Tensor
        Samples; any number of dimensions.
    x : array_like, optional
        Coordinates of the samples along ``axis`` (1-D, strictly monotonic). When
        given, ``dx`` is ignored. A uniform ``x`` gives the same result as ``dx``.
        ``x`` is a constant: no gradient flows to it.
    dx : float, default 1.0
        Spacing of a uniform grid.
    n : int, default 1
        Derivative order (>= 1).
    accuracy : int, default 2
        Order of the truncation error (>= 1).
    axis : int, default -1

    Returns
    -------
    ndarray or Tensor
        The n-th derivative, with the shape of ``y``.

    Raises
    ------
    GradkitError
        NaN or inf in ``y`` or ``x``, ``x`` not strictly monotonic or of the wrong
        length, ``n`` or ``accuracy`` out of range, or too few samples for the stencil.

    See Also
    --------
    savgol_derivative, tv_derivative : for noisy data.

    Notes
    -----
    With ``n=1, accuracy=2`` this is ``numpy.gradient(y, dx or x, edge_order=2)``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.signal import diff
    >>> x = np.linspace(0.0, 1.0, 6)
    >>> np.round(diff(x ** 3, dx=x[1] - x[0]), 10)  # second order
    array([-0.08,  0.16,  0.52,  1.12,  1.96,  2.92])
    >>> np.round(diff(x ** 3, x=x, accuracy=3), 10) + 0.0  # exact for cubics
    array([0.  , 0.12, 0.48, 1.08, 1.92, 3.  ])

    It is differentiable, e.g. a smoothness penalty on a signal:

    >>> import gradkit as gk, gradkit.numpy as gnp
    >>> rough = lambda s: gnp.sum(diff(s, n=2) ** 2)
    >>> gk.grad(rough)(np.array([0.0, 1.0, 0.0, 1.0, 0.0]))
    array([ -28.,   84., -112.,   84.,  -28.])
    """
    fn = "signal.diff"
    y = as_samples(y, fn)
    shape = raw(y).shape
    axis = check_axis(axis, "axis", fn, len(shape))
    size = shape[axis]
    n = check_int(n, "n", fn, low=1)
    accuracy = check_int(accuracy, "accuracy", fn, low=1)
    if x is not None:
        grid = check_grid(x, size, fn)
        if size > 1 and is_uniform(grid):
            x, dx = None, (grid[-1] - grid[0]) / (size - 1)
    else:
        dx = check_spacing(dx, fn)
    if x is None:
        stencil = uniform_filter(n, accuracy)
        need = stencil.min_size()
        _check_size(size, need, n, accuracy, fn)
        return stencil.scaled(float(dx) ** -n)(y, axis)
    need = n + accuracy
    _check_size(size, need, n, accuracy, fn)
    return _nonuniform(y, grid, n, need, axis)


def _check_size(size: int, need: int, n: int, accuracy: int, fn: str) -> None:
    if size < need:
        raise invalid(fn, "y", f"at least {need} samples long along the axis for n={n} with "
                               f"accuracy={accuracy} (or lower n or accuracy)",
                      got=f"{size} samples")


def _nonuniform(y, grid, n: int, s: int, axis: int):
    size = grid.shape[0]
    starts = xp.clip(xp.arange(size) - (s - 1) // 2, 0, size - s)
    nodes = starts[:, None] + xp.arange(s)
    weights = _fornberg(grid, grid[nodes], n)[:, :, n]
    z = moved(y, axis)
    dtype = xp.result_type(plain(z).dtype, xp.float32)
    out = None
    for k in range(s):
        term = gnp.take(z, nodes[:, k], axis=-1) * weights[:, k].astype(dtype)
        out = term if out is None else out + term
    nd = len(raw(y).shape)
    return out if axis == nd - 1 else gnp.moveaxis(out, -1, axis)
