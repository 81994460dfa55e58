"""Derivatives of functions of arrays: gradient, Jacobian, Hessian, directional derivative.

Each is a set of one-dimensional problems ``g(t) = f(x + t v)`` along directions ``v``,
solved together by the engine of :func:`~gradkit.numeric.derivative` (adaptive steps,
Richardson extrapolation, error estimates, fallbacks). A coordinate direction is scaled by
the typical scale of its coordinate, ``v_i = s_i e_i`` with ``s_i`` the power of two nearest
``1 + log(max(|x_i|, 1))``, so every problem starts at ``t = 0`` with the same relative step
and the points ``x_i + t s_i`` stay exact.

Function evaluations are batched: with ``vectorized=True`` (the default) ``f`` is first
tried on an array of shape ``x.shape + (B,)`` holding ``B`` points along a trailing axis,
as ``scipy.differentiate`` does; it must then return ``f(x).shape + (B,)``. Functions that
reduce over all axes (``np.sum(x**2)``) fail that check and are called once per point
instead. Hessians take ``m (m + 1) / 2`` second derivatives: along each ``e_i`` and each
``e_i + e_j``, ``H_ij = (D(e_i + e_j) - D(e_i) - D(e_j)) / 2``.
"""

from __future__ import annotations

from collections.abc import Callable

from ..backend import xp
from ..validation import check_callable, invalid
from .arguments import as_points, check_accuracy, check_method, check_n
from .errors import DerivativeArgumentError, FunctionOutputError
from .evaluation import VectorFunction, along
from .finite import estimate
from .result import DerivativeResult, build
from .richardson import typical_scale


def _scale(x):
    """Per-coordinate step scales: powers of two near the typical scale."""
    return 2.0 ** xp.round(xp.log2(typical_scale(x)))

__all__ = ["gradient", "jacobian", "hessian", "directional_derivative"]


def _solve(f, x, vectorized, directions, argmag, n, method, accuracy, scalar=None):
    """Derivatives along ``directions`` (m, P): (VectorFunction, Estimate, notes)."""
    fun = VectorFunction(f, x, bool(vectorized))
    if scalar and fun.out_shape != ():
        raise invalid(scalar, "f", "scalar-valued (use numeric.jacobian for vector-valued f)",
                      got=f"f(x) of shape {fun.out_shape}", error=FunctionOutputError)
    npts = directions.shape[1]
    at_origin = xp.broadcast_to(fun.f0, (npts, fun.k))
    est, notes = estimate(along(fun, directions, False), along(fun, directions, True),
                          xp.zeros(npts), xp.ones(npts), argmag, fun.k, n, method, accuracy,
                          at_origin=at_origin)
    return fun, est, notes


def _inputs(f, x, method, accuracy, call: str,
            allowed=("central", "forward", "backward", "complex")):
    check_callable(f, "f", call, error=FunctionOutputError)
    method = check_method(method, call, allowed)
    acc = check_accuracy(accuracy, call, method)
    x = as_points(x, call)
    if x.size == 0:
        raise invalid(call, "x", "non-empty (at least one coordinate)", x,
                      error=DerivativeArgumentError)
    return x, method, acc


def gradient(f: Callable, x, method: str = "central", vectorized: bool = True, *,
             accuracy: int | None = None) -> DerivativeResult:
    """The gradient of a scalar function of an array, with error estimates.

    Parameters
    ----------
    f : callable
        ``f(x)`` returns a scalar. With ``vectorized=True`` it may also accept a batch of
        points along a trailing axis (shape ``x.shape + (B,)``, returning ``(B,)``), which
        is detected and used to evaluate all directions in one call per stencil level.
    x : array_like
        The point; finite real numbers, any shape.
    method : {"central", "forward", "backward", "complex"}
        As for :func:`~gradkit.numeric.derivative`.
    vectorized : bool
        Try batched calls first (see ``f``); ``False`` calls ``f`` once per point.
    accuracy : int, optional
        Order of the base stencil, as for :func:`~gradkit.numeric.derivative`.

    Returns
    -------
    DerivativeResult
        ``df`` and ``error`` shaped like ``x``; ``nfev`` the total number of points at
        which ``f`` was evaluated; ``success`` and ``message`` per entry.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.numeric import gradient
    >>> def rosen(x):  # works on one point and on a batch along a trailing axis
    ...     return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2, axis=0)
    >>> res = gradient(rosen, np.array([1.0, 2.0, 3.0]))
    >>> res.df.round(8)
    array([-400., 1002., -200.])
    >>> bool(np.all(res.error < 1e-9)), bool(res.success.all())
    (True, True)
    """
    call = "numeric.gradient"
    x, method, acc = _inputs(f, x, method, accuracy, call)
    scale = _scale(x.ravel())
    fun, est, notes = _solve(f, x, vectorized, xp.diag(scale), xp.abs(x.ravel()) / scale, 1,
                             method, acc, call)
    return build(est.value[:, 0] / scale, est.error[:, 0] / scale, fun.count,
                 est.status[:, 0], notes, x.shape)


def jacobian(f: Callable, x, method: str = "central", vectorized: bool = True, *,
             accuracy: int | None = None) -> DerivativeResult:
    """The Jacobian ``df_i / dx_j`` of an array function of an array, with error estimates.

    Parameters are those of :func:`gradient`, except that ``f(x)`` may have any shape
    (batched: ``f(x).shape + (B,)``).

    Returns
    -------
    DerivativeResult
        ``df`` and ``error`` of shape ``f(x).shape + x.shape``; ``nfev`` the total number
        of points at which ``f`` was evaluated; ``success`` and ``message`` per entry.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.numeric import jacobian
    >>> def polar(p):
    ...     return np.stack([p[0] * np.cos(p[1]), p[0] * np.sin(p[1])])
    >>> res = jacobian(polar, [2.0, 0.0])
    >>> res.df.round(10)
    array([[1., 0.],
           [0., 2.]])
    >>> res.df.shape, int(res.nfev) < 40
    ((2, 2), True)
    """
    x, method, acc = _inputs(f, x, method, accuracy, "numeric.jacobian")
    scale = _scale(x.ravel())
    fun, est, notes = _solve(f, x, vectorized, xp.diag(scale), xp.abs(x.ravel()) / scale, 1,
                             method, acc)
    shape = fun.out_shape + x.shape
    m = x.size
    notes = xp.broadcast_to(notes[None, :], (fun.k, m))
    return build((est.value / scale[:, None]).T, (est.error / scale[:, None]).T, fun.count,
                 est.status.T, notes, shape)


def hessian(f: Callable, x, method: str = "central", vectorized: bool = True, *,
            accuracy: int | None = None) -> DerivativeResult:
    """The Hessian of a scalar function of an array, with error estimates.

    Second derivatives along each coordinate ``e_i`` and each pair ``e_i + e_j`` (both
    scaled by the coordinates' typical scales) give the diagonal and
    ``H_ij = (D(e_i + e_j) - D(e_i) - D(e_j)) / 2``; the error estimate of ``H_ij`` adds
    the three errors. ``f(x)`` is evaluated once and shared.

    Parameters
    ----------
    f, x, vectorized, accuracy
        As for :func:`gradient`.
    method : {"central", "forward", "backward"}
        The complex step gives first derivatives only.

    Returns
    -------
    DerivativeResult
        ``df`` and ``error`` of shape ``x.shape + x.shape`` (symmetric); ``nfev`` the
        total number of points at which ``f`` was evaluated.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.numeric import hessian
    >>> res = hessian(lambda x: x[0] ** 2 * x[1] + np.exp(x[1]), [1.0, 0.0])
    >>> res.df.round(8)
    array([[0., 2.],
           [2., 1.]])
    >>> bool(np.all(res.error < 1e-8))
    True
    """
    call = "numeric.hessian"
    x, method, acc = _inputs(f, x, method, accuracy, call, ("central", "forward", "backward"))
    m = x.size
    scale = _scale(x.ravel())
    mag = xp.abs(x.ravel()) / scale
    iu, ju = xp.triu_indices(m, 1)
    directions = xp.zeros((m, m + iu.size))
    directions[xp.arange(m), xp.arange(m)] = scale
    directions[iu, m + xp.arange(iu.size)] = scale[iu]
    directions[ju, m + xp.arange(iu.size)] = scale[ju]
    argmag = xp.concatenate([mag, xp.maximum(mag[iu], mag[ju])])
    fun, est, notes = _solve(f, x, vectorized, directions, argmag, 2, method, acc, call)
    d, e, st = est.value[:, 0], est.error[:, 0], est.status[:, 0]
    value = xp.empty((m, m))
    error = xp.empty((m, m))
    status = xp.empty((m, m), dtype=int)
    note = xp.empty((m, m), dtype=object)
    diag = xp.arange(m)
    value[diag, diag] = d[:m] / scale ** 2
    error[diag, diag] = e[:m] / scale ** 2
    status[diag, diag] = st[:m]
    note[diag, diag] = notes[:m]
    pair = m + xp.arange(iu.size)
    off = (d[pair] - d[iu] - d[ju]) / (2.0 * scale[iu] * scale[ju])
    off_err = (e[pair] + e[iu] + e[ju]) / (2.0 * scale[iu] * scale[ju])
    off_status = xp.maximum(st[pair], xp.maximum(st[iu], st[ju]))
    for rows, cols in ((iu, ju), (ju, iu)):
        value[rows, cols] = off
        error[rows, cols] = off_err
        status[rows, cols] = off_status
        note[rows, cols] = notes[pair]
    shape = x.shape + x.shape
    return build(value, error, fun.count, status, note, shape)


def directional_derivative(f: Callable, x, v, n: int = 1, method: str = "central",
                           vectorized: bool = True, *,
                           accuracy: int | None = None) -> DerivativeResult:
    """The ``n``-th derivative of ``t -> f(x + t v)`` at ``t = 0``, with an error estimate.

    Parameters
    ----------
    f : callable
        A function of an array like ``x``, returning an array of any shape (batched as for
        :func:`gradient`).
    x, v : array_like
        The point and the direction, of the same shape; ``v`` is not normalised.
    n : {1, 2, 3, 4}
        The derivative order.
    method, vectorized, accuracy
        As for :func:`gradient`.

    Returns
    -------
    DerivativeResult
        ``df`` and ``error`` shaped like ``f(x)``; ``nfev`` the total number of points at
        which ``f`` was evaluated.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.numeric import directional_derivative
    >>> f = lambda x: np.sum(x ** 3, axis=0)
    >>> res = directional_derivative(f, [1.0, 2.0], [1.0, -1.0])
    >>> round(float(res.df), 10)  # 3 * 1 - 3 * 4
    -9.0
    >>> round(float(directional_derivative(f, [1.0, 2.0], [1.0, 1.0], n=2).df), 8)
    18.0
    """
    call = "numeric.directional_derivative"
    x, method, acc = _inputs(f, x, method, accuracy, call)
    n = check_n(n, call, method)
    v = as_points(v, call, "v")
    if v.shape != x.shape:
        raise invalid(call, "v", f"an array of the shape of x, {x.shape}", v,
                      error=DerivativeArgumentError)
    vmax = float(xp.max(xp.abs(v)))
    if vmax == 0:
        raise invalid(call, "v", "a nonzero direction", got="all zeros",
                      error=DerivativeArgumentError)
    sigma = float(_scale(xp.max(xp.abs(x))) / 2.0 ** xp.round(xp.log2(vmax)))
    argmag = xp.array([float(xp.max(xp.abs(x))) / (sigma * vmax)])
    fun, est, notes = _solve(f, x, vectorized, (sigma * v.ravel())[:, None], argmag, n, method,
                             acc)
    notes = xp.broadcast_to(notes, (fun.k,))
    return build(est.value[0] / sigma ** n, est.error[0] / sigma ** n, fun.count, est.status[0],
                 notes, fun.out_shape)
