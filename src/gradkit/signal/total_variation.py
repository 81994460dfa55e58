"""Total-variation regularised differentiation (Chartrand's method) for very noisy data."""

from __future__ import annotations

import math

from .. import numpy as gnp
from ..backend import xp
from ..graph import Tensor, defprimitive, raw
from ..validation import check_axis, check_finite_array, check_int, invalid
from ._common import as_samples, check_grid, check_spacing, is_uniform, moved
from .noise import noise_std
from .smoothing import _choose as _choose_window
from .smoothing import _local_fit_weights, _local_fits, _trace, savgol_filter_weights
from .stencils import diff

__all__ = ["tv_derivative"]

EPS = 1e-3  # psi(t) = sqrt(t^2 + eps^2), eps = EPS * (max y - min y) / N
PROBES = 16  # random vectors for the trace estimate in the choice of alpha
SCAN_ITER = 20  # most Newton steps per weight while the weight is searched


# -- symmetric pentadiagonal systems by block cyclic reduction -----------------------------


def _inv2(m):
    """Inverses of a stack of 2x2 matrices, in closed form."""
    a, b, c, d = m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1]
    det = a * d - b * c
    out = xp.empty(xp.broadcast_shapes(m.shape), dtype=m.dtype)
    out[..., 0, 0], out[..., 0, 1] = d / det, -b / det
    out[..., 1, 0], out[..., 1, 1] = -c / det, a / det
    return out


def _mv(m, v):
    return (m @ v[..., None])[..., 0]


def _pad_identity(a, b, c, d):
    """Append one block row ``I x = 0`` (so that the number of blocks is odd)."""
    zero = xp.zeros(a.shape[:-3] + (1, 2, 2))
    eye = xp.broadcast_to(xp.eye(2), b.shape[:-3] + (1, 2, 2))
    return (xp.concatenate([a, zero], -3), xp.concatenate([b, eye], -3),
            xp.concatenate([c, zero], -3), xp.concatenate([d, xp.zeros(d.shape[:-2] + (1, 2))
                                                           ], -2))


def _block_cr(a, b, c, d):
    """Solve a block-tridiagonal system with 2x2 blocks by cyclic reduction.

    Block row i reads ``a[i] x[i-1] + b[i] x[i] + c[i] x[i+1] = d[i]``. Each level
    eliminates the even-numbered unknowns from the odd-numbered equations, halving the
    system; the loop is over the log2(N) levels, every level is vectorised. For a
    symmetric positive definite matrix every reduced system is too (a Schur
    complement), so no pivoting is needed. Leading axes are independent systems.
    """
    m = b.shape[-3]
    if m == 1:
        return _mv(_inv2(b), d)
    padded = m % 2 == 0
    if padded:
        a, b, c, d = _pad_identity(a, b, c, d)
    odd = slice(1, None, 2)
    left, right = slice(0, -1, 2), slice(2, None, 2)
    binv = _inv2(b[..., ::2, :, :])
    alpha = -a[..., odd, :, :] @ binv[..., :-1, :, :]
    gamma = -c[..., odd, :, :] @ binv[..., 1:, :, :]
    a2 = alpha @ a[..., left, :, :]
    b2 = b[..., odd, :, :] + alpha @ c[..., left, :, :] + gamma @ a[..., right, :, :]
    c2 = gamma @ c[..., right, :, :]
    d2 = d[..., odd, :] + _mv(alpha, d[..., left, :]) + _mv(gamma, d[..., right, :])
    x_odd = _block_cr(a2, b2, c2, d2)
    rhs = d[..., ::2, :].copy()
    rhs[..., 1:, :] -= _mv(a[..., 2::2, :, :], x_odd)
    rhs[..., :-1, :] -= _mv(c[..., 0:-1:2, :, :], x_odd)
    x_even = _mv(binv, rhs)
    x = xp.empty(x_even.shape[:-2] + (m + padded, 2))
    x[..., ::2, :] = x_even
    x[..., 1::2, :] = x_odd
    return x[..., :m, :]


def _penta_solve(diagonals, rhs):
    """Solve ``H x = rhs`` for symmetric pentadiagonal ``H`` (diagonals d0, d1, d2).

    ``diagonals`` have shapes (..., N), (..., N-1), (..., N-2); ``rhs`` (..., N) may
    carry extra leading axes, which broadcast.
    """
    d0, d1, d2 = diagonals
    size = d0.shape[-1]
    even = size + size % 2
    pad = even - size

    def padded(v, length, fill):
        return xp.concatenate([v, xp.full(v.shape[:-1] + (length - v.shape[-1],), fill)], -1)

    d0 = padded(d0, even, 1.0)
    d1 = padded(d1, even, 0.0)
    d2 = padded(d2, even + 1, 0.0)
    m = even // 2
    b = xp.empty(d0.shape[:-1] + (m, 2, 2))
    b[..., 0, 0], b[..., 1, 1] = d0[..., 0::2], d0[..., 1::2]
    b[..., 0, 1] = b[..., 1, 0] = d1[..., 0::2]
    c = xp.zeros_like(b)
    c[..., :-1, 0, 0] = d2[..., 0:even - 2:2]
    c[..., :-1, 1, 0] = d1[..., 1:even - 1:2]
    c[..., :-1, 1, 1] = d2[..., 1:even - 1:2]
    a = xp.zeros_like(b)
    a[..., 1:, :, :] = xp.swapaxes(c[..., :-1, :, :], -1, -2)
    r = padded(xp.asarray(rhs, dtype=xp.float64), even, 0.0) if pad else \
        xp.asarray(rhs, dtype=xp.float64)
    lead = xp.broadcast_shapes(r.shape[:-1], b.shape[:-3])
    shape4 = lead + b.shape[-3:]
    x = _block_cr(xp.broadcast_to(a, shape4), xp.broadcast_to(b, shape4),
                  xp.broadcast_to(c, shape4), xp.broadcast_to(r, lead + (even,)).reshape(
                      lead + (m, 2)))
    return x.reshape(lead + (even,))[..., :size]


class _Grid:
    """The discrete operators of the model on a grid of samples, in units of the mean
    spacing ``hbar``: ``G v`` the change of slope between neighbouring intervals (times
    ``hbar``; the second difference on a uniform grid) and ``omega`` the length of each
    sample's cell (divided by ``hbar``; all ones on a uniform grid), which weights the
    data term as the integral of Chartrand's functional does."""

    def __init__(self, size: int, x=None):
        if x is None:
            self.hbar = 1.0
            self.a = self.c = xp.ones(size - 2)
            self.b = xp.full(size - 2, -2.0)
            self.omega = xp.ones(size)
            return
        h = xp.abs(xp.diff(x))
        self.hbar = float(h.mean())
        h = h / self.hbar
        self.a, self.c = 1.0 / h[:-1], 1.0 / h[1:]
        self.b = -(self.a + self.c)
        self.omega = xp.concatenate([h[:1], 0.5 * (h[:-1] + h[1:]), h[-1:]])

    @property
    def coefficients(self):
        return self.a, self.b, self.c

    def apply(self, v):
        """``G v`` along the last axis."""
        return self.a * v[..., :-2] + self.b * v[..., 1:-1] + self.c * v[..., 2:]

    def add_adjoint(self, out, t):
        """``out += G^T t`` (in place)."""
        m = t.shape[-1]
        for i, coef in enumerate(self.coefficients):
            out[..., i:i + m] += coef * t

    def normal_diagonals(self, weights, lam):
        """Diagonals of ``diag(omega) + lam * G^T diag(weights) G`` (pentadiagonal)."""
        m = weights.shape[-1]
        lw = lam[..., None] * weights
        d0 = xp.broadcast_to(self.omega, weights.shape[:-1] + (m + 2,)).copy()
        d1 = xp.zeros(weights.shape[:-1] + (m + 1,))
        coef = self.coefficients
        for i in range(3):
            d0[..., i:i + m] += coef[i] * coef[i] * lw
            if i < 2:
                d1[..., i:i + m] += coef[i] * coef[i + 1] * lw
        return d0, d1, coef[0] * coef[2] * lw


# -- the model ------------------------------------------------------------------------------


def _lagged_diffusivity(y, lam, eps, v, max_iter: int, tol: float, grid: _Grid):
    """Minimise 1/2 sum omega (v - y)^2 + lam * sum sqrt((G v)^2 + eps^2) by lagged
    diffusivity.

    Each step solves ``(Omega + lam G^T W G) v_new = Omega y`` with ``W = 1/sqrt((G v)^2
    + eps^2)``: the quadratic that majorises the objective at ``v``, so the objective
    never increases (a majorise-minimise iteration, Vogel & Oman 1996).
    """
    scale = xp.maximum(xp.abs(y).max(axis=-1, keepdims=True), 1e-300)
    rhs = grid.omega * y
    for it in range(1, max_iter + 1):
        weights = 1.0 / xp.sqrt(grid.apply(v) ** 2 + eps[..., None] ** 2)
        new = _penta_solve(grid.normal_diagonals(weights, lam), rhs)
        change = xp.abs(new - v).max(axis=-1, keepdims=True) / scale
        v = new
        if (change <= tol).all():
            return v, it
    return v, max_iter


def _minimise(y, lam, eps, v, max_iter: int, tol: float, grid: _Grid):
    """Lagged diffusivity (global, monotone), then Newton (fast local convergence)."""
    v, _ = _lagged_diffusivity(y, lam, eps, v, 30, tol, grid)
    return _newton(y, lam, eps, v, max_iter, tol, grid)


def _objective(y, lam, eps, v, grid: _Grid):
    t = grid.apply(v)
    return (0.5 * (grid.omega * (v - y) ** 2).sum(-1)
            + lam * xp.sqrt(t * t + eps[..., None] ** 2).sum(-1))


def _newton(y, lam, eps, v, max_iter: int, tol: float, grid: _Grid):
    """Polish ``v`` with Newton steps on the smoothed objective (pentadiagonal Hessian),
    each with a backtracking (Armijo) line search; quadratic convergence near the
    minimiser, where lagged diffusivity is slow."""
    scale = xp.maximum(xp.abs(y).max(axis=-1, keepdims=True), 1e-300)
    steps = 0.5 ** xp.arange(40.0)
    for it in range(1, max_iter + 1):
        t = grid.apply(v)
        root = xp.sqrt(t * t + eps[..., None] ** 2)
        grad = grid.omega * (v - y)
        grid.add_adjoint(grad, lam[..., None] * t / root)
        step = -_hessian_solver(v, lam, eps, grid)(grad)
        slope = (grad * step).sum(-1)
        trial = v[None] + steps.reshape((-1,) + (1,) * v.ndim) * step[None]
        ok = _objective(y, lam, eps, trial, grid) <= (
            _objective(y, lam, eps, v, grid)
            + 1e-4 * steps.reshape((-1,) + (1,) * (v.ndim - 1)) * slope)
        first = xp.argmax(ok, axis=0)
        first = xp.where(ok.any(axis=0), first, len(steps) - 1)
        size = steps[first][..., None]
        v = v + size * step
        if (xp.abs(size * step).max(axis=-1, keepdims=True) <= tol * scale).all():
            return v, it
    return v, max_iter


def _dof(lam, eps, v, probes, grid: _Grid):
    """Degrees of freedom ``tr(dv/dy) = tr(H^-1 Omega)`` of the solution, by Hutchinson's
    estimator with fixed Rademacher probes (H: Hessian of the smoothed objective)."""
    z = probes.reshape(probes.shape[:1] + (1,) * (v.ndim - 1) + probes.shape[1:])
    return (z * _hessian_solver(v, lam, eps, grid)(grid.omega * z)).sum(-1).mean(0)


def _hessian_solver(v, lam, eps, grid: _Grid):
    t = grid.apply(v)
    curvature = eps[..., None] ** 2 / (t * t + eps[..., None] ** 2) ** 1.5
    diagonals = grid.normal_diagonals(curvature, lam)
    return lambda rhs: _penta_solve(diagonals, rhs)


def _scan(y, sigma, eps, grid: _Grid, probes, top: float):
    """Total variation over weights ``lam = sigma 10**k``: ``k`` from ``top`` (about a
    straight line) down by halves until BIC has risen twice in a row, then a quarter
    step either side of the best. Each fit starts from its neighbour's solution (Newton
    steps only, after lagged diffusivity for the first). Per series: (lowest BIC, its
    lam, its solution)."""
    size = y.shape[-1]
    lead = y.shape[:-1]

    def fit(k, v, first=False):
        lam = sigma * 10.0 ** k
        if first:
            v, _ = _lagged_diffusivity(y, lam, eps, v, 30, 1e-6, grid)
        v, _ = _newton(y, lam, eps, v, SCAN_ITER, 1e-5, grid)
        rss = (grid.omega * (v - y) ** 2).sum(-1) / sigma ** 2
        return rss + math.log(size) * _dof(lam, eps, v, probes, grid), v

    best = xp.full(lead, xp.inf)
    best_k = xp.zeros(lead)
    best_v = y.copy()
    v = y.copy()
    worse = 0
    for k in xp.arange(top, -1.5, -0.5):
        bic, v = fit(xp.full(lead, k), v, first=k == top)
        better = bic < best
        best = xp.where(better, bic, best)
        best_k = xp.where(better, k, best_k)
        best_v = xp.where(better[..., None], v, best_v)
        worse = worse + 1 if (bic > best).all() else 0
        if worse >= 2:  # the fit only gets more complex from here
            break
    for step in (-0.25, 0.25):
        bic, v = fit(best_k + step, best_v)
        better = bic < best
        best = xp.where(better, bic, best)
        best_v = xp.where(better[..., None], v, best_v)
        best_k = xp.where(better, best_k + step, best_k)
    return best, sigma * 10.0 ** best_k, best_v


def _smooth_fit(data, x):
    """The smooth model: Savitzky-Golay smoothing with the window and degree that
    :func:`~gradkit.signal.savgol_window` chooses for the derivative (pooled over the
    series), on the coordinates ``x`` when given. Returns (window, polyorder, the
    smoothed series, the trace of the smoothing matrix)."""
    size = data.shape[-1]
    window, polyorder = _choose_window(data.reshape(-1, size), 1, None, None)
    if x is None:
        f = savgol_filter_weights(window, polyorder, 0)
        return window, polyorder, f.apply_numpy(data), _trace(f, size)
    nodes, weights = _local_fit_weights(x, window, polyorder, 0)
    own = weights[xp.arange(size), xp.arange(size) - nodes[:, 0]]
    smooth = xp.einsum("...ij,ij->...i", data[..., nodes], weights)
    return window, polyorder, smooth, float(own.sum())


def _choose_model(y, sigma, eps, grid: _Grid, x):
    """Per series: whether the smooth model wins, and the total-variation weight and
    solution ``(smooth, lam, v)``; also the smooth model's (window, polyorder).

    Total variation (kinks allowed) is fitted over its weight, which the Bayesian
    information criterion ``|v - y|^2 / sigma^2 + log(N) dof`` picks; the smooth model
    is a local polynomial fit (Savitzky-Golay, window and degree chosen for the
    derivative from the data). The model with the lower BIC wins.
    """
    size = y.shape[-1]
    probes = xp.random.default_rng(0).choice([-1.0, 1.0], size=(PROBES, size))
    top = math.ceil(2 * math.log10(size)) + 1.0  # lam = sigma N^2: about a straight line
    bic_tv, lam, v = _scan(y, sigma, eps, grid, probes, top)
    window, polyorder, v_sg, dof_sg = _smooth_fit(y, x)
    bic_sg = (grid.omega * (v_sg - y) ** 2).sum(-1) / sigma ** 2 + math.log(size) * dof_sg
    return bic_sg < bic_tv, lam, v, (window, polyorder)


def tv_derivative(y, dx: float = 1.0, alpha=None, axis: int = -1, eps=None,
                  max_iter: int = 100, tol: float = 1e-10, *, x=None):
    """Derivative of very noisy data by total-variation regularisation (Chartrand).

    The derivative ``u`` minimises Chartrand's functional (R. Chartrand, "Numerical
    differentiation of noisy, nonsmooth data", ISRN Applied Mathematics, 2011)::

        alpha * integral |u'| + 1/2 * integral (A u - y)^2

    where ``A u`` is the antiderivative of ``u`` plus a free constant. It is solved for
    the antiderivative ``v = A u`` (samples ``v_i``, slope ``(v_{i+1} - v_i) / dx``),
    which turns the dense integration operator into a banded problem::

        minimise  1/2 sum (v_i - y_i)^2 + (alpha / dx^2) sum psi(v_{i+2} - 2 v_{i+1} + v_i)

    with ``psi(t) = sqrt(t^2 + eps^2)``. The derivative returned is ``diff(v, dx)``
    (second order, one-sided at the ends), so it has the shape of ``y``.

    Iterative scheme: lagged diffusivity (Vogel & Oman), the iteration of Chartrand's
    paper. Each step solves ``(I + lam D2^T W D2) v_new = y``, ``W = 1 / psi(D2 v)``,
    a symmetric pentadiagonal system (block cyclic reduction, vectorised over the
    samples and the series), and never increases the objective. Lagged diffusivity
    is slow close to the minimiser, so after 30 steps Newton steps on the same
    objective (same pentadiagonal structure, backtracking line search) finish the
    solve to ``tol``.

    Choosing ``alpha`` and the model (when ``alpha`` is None), from the data only: total
    variation is fitted over half powers of ten of the weight, from ``10 sigma N^2``
    (nearly a straight line) down until the Bayesian information criterion ``|v - y|^2 /
    sigma^2 + log(N) * dof`` has risen twice in a row, then refined by a quarter power
    (``sigma`` from :func:`noise_std`; ``dof = trace(dv/dy)``, estimated with 16 fixed
    random probes; each weight starts from its neighbour's solution). The alternative
    is a smooth model: local polynomial fits (Savitzky-Golay, window and degree chosen
    for the derivative by the rule of :func:`savgol_window`, ``dof`` the exact trace of
    the smoothing matrix). The model with the lower BIC wins, per series: its ``log(N)``
    penalty favours few kinks, so piecewise-linear data keep total variation, while
    smooth data, where a total-variation derivative is a staircase, get the local
    polynomial derivative (that of :func:`savgol_derivative` with the same window and
    degree). Data without noise (``sigma = 0``) are differentiated as they are.

    Non-uniform grid (``x`` given): the data term is weighted by each sample's cell
    length (as the integral is) and the penalty is on the change of slope between
    neighbouring intervals, ``(v_{i+2} - v_{i+1}) / h_{i+1} - (v_{i+1} - v_i) / h_i``;
    the weight is relative to the mean spacing ``hbar`` (``lam = alpha / hbar^2``), and
    the derivative returned is ``diff(v, x=x)``. A uniform ``x`` takes the uniform path.

    Differentiable with respect to ``y``: the solver runs on constants, and the
    gradient comes from the implicit function theorem at the solution, ``dv/dy =
    H^-1`` with ``H`` the Hessian of the objective. It is exact for fixed ``alpha`` and
    ``eps``; when they are chosen from the data, that choice is held constant (as are
    the model and the local polynomials' window, whose derivative is linear in ``y``).

    Parameters
    ----------
    y : array_like or Tensor
        Samples; several series along other axes are solved at once, each with its own
        ``alpha``.
    dx : float, default 1.0
        Sample spacing of a uniform grid (ignored when ``x`` is given).
    alpha : float or array_like, optional
        Regularisation weight (broadcast over the series). Chosen from the data when
        None.
    axis : int, default -1
    eps : float or array_like, optional
        Smoothing of ``|t|`` in the total variation; by default ``1e-3 * (max(y) -
        min(y)) / N``: slope changes below 1e-3 of the data's overall slope scale are
        penalised quadratically rather than by their absolute value.
    max_iter : int, default 100
        Most Newton steps of the final solve.
    tol : float, default 1e-10
        Stop when no sample of ``v`` moves by more than ``tol * max|y|``.
    x : array_like, optional
        Coordinates of the samples along ``axis`` (1-D, strictly monotonic), for a
        non-uniform grid; a constant (no gradient flows to it).

    Returns
    -------
    ndarray or Tensor
        The derivative, with the shape of ``y``.

    Raises
    ------
    GradkitError
        NaN or inf in ``y``, fewer than 4 samples, a negative ``alpha``, ``eps <= 0``.

    See Also
    --------
    savgol_derivative : for smooth signals.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.signal import tv_derivative
    >>> x = np.linspace(0, 1, 200)
    >>> y = np.abs(x - 0.5) + np.random.default_rng(0).normal(0, 0.01, 200)
    >>> u = tv_derivative(y, dx=x[1] - x[0])
    >>> np.round([u[20], u[180]], 1)  # slopes -1 and +1, despite the noise
    array([-1.,  1.])
    """
    fn = "signal.tv_derivative"
    y = as_samples(y, fn)
    shape = raw(y).shape
    axis = check_axis(axis, "axis", fn, len(shape))
    max_iter = check_int(max_iter, "max_iter", fn, low=1)
    if shape[axis] < 4:
        raise invalid(fn, "y", "at least 4 samples long along the axis",
                      got=f"{shape[axis]} samples")
    grid = None
    if x is not None:
        grid = check_grid(x, shape[axis], fn)
        if is_uniform(grid):
            dx, grid = (grid[-1] - grid[0]) / (grid.shape[0] - 1), None
    if grid is None:
        dx = check_spacing(dx, fn)
        model = _Grid(shape[axis])
    else:
        model = _Grid(shape[axis], grid)
        dx = model.hbar
    z = moved(y, axis)
    data = xp.asarray(raw(z), dtype=xp.float64)
    sigma = xp.asarray(noise_std(data, axis=-1), dtype=xp.float64)
    scale = xp.abs(data).max(axis=-1)
    if eps is None:
        # |t| turns quadratic below a slope change of EPS times (range of y) / (N dx)
        eps = xp.maximum(EPS * xp.ptp(data, axis=-1) / data.shape[-1], 1e-12 * scale + 1e-300)
    else:
        eps = xp.broadcast_to(check_finite_array(eps, "eps", fn, low=0.0, low_open=True)
                              .astype(xp.float64, copy=False), data.shape[:-1])
    keep_data = None
    smooth = xp.zeros(data.shape[:-1], dtype=bool)
    if alpha is None:
        keep_data = sigma == 0  # no noise: alpha = 0, v = y
        # (series without noise are solved with a stand-in sigma, then replaced)
        safe = xp.where(keep_data, 1.0, sigma)
        eps = xp.where(keep_data, 1e-6, eps)
        smooth, lam, v, (window, polyorder) = _choose_model(data, safe, eps, model, grid)
        smooth &= ~keep_data
        if not smooth.all():
            v, _ = _minimise(data, lam, eps, v, max_iter, tol, model)
    else:
        alpha = xp.broadcast_to(check_finite_array(alpha, "alpha", fn, low=0.0)
                                .astype(xp.float64, copy=False), data.shape[:-1])
        lam = alpha / dx ** 2
        v, _ = _minimise(data, lam, eps, data.copy(), max_iter, tol, model)
    out = None
    if not smooth.all():
        if isinstance(z, Tensor):
            v = _with_implicit_gradient(z, data, v, lam, eps, model)
        if keep_data is not None and keep_data.any():
            v = gnp.where(keep_data[..., None], z, v)
        out = diff(v, dx=dx, n=1, accuracy=2) if grid is None else diff(v, x=grid, n=1,
                                                                            accuracy=2)
    if smooth.any():
        if grid is None:
            fit = savgol_filter_weights(window, polyorder, 1).scaled(1.0 / dx)(z, -1)
        else:
            fit = _local_fits(z, grid, 1, window, polyorder, -1)
        out = fit if out is None else gnp.where(smooth[..., None], fit, out)
    nd = len(shape)
    return out if axis == nd - 1 else gnp.moveaxis(out, -1, axis)

def _with_implicit_gradient(z, data, v, lam, eps, grid: _Grid):
    """``v`` as a function of the samples ``z``, with the implicit-function gradient.

    At the minimiser, ``dv/dy = H^-1 Omega`` with ``H`` the Hessian of the smoothed
    objective, ``Omega + lam G^T diag(psi''(G v)) G``. ``v + H^-1 Omega (z - z_const)``
    has the value ``v`` and that derivative (to every order, as H is held constant).
    """
    solve = defprimitive(_hessian_solver(v, lam, eps, grid), "tv_solve",
                         lambda g, ans, rhs: solve(g))
    delta = z - data
    if grid.hbar != 1.0 or not bool(xp.all(grid.omega == 1.0)):
        delta = delta * xp.asarray(grid.omega, dtype=raw(delta).dtype)
    return solve(delta) + v
