"""L-BFGS for many independent problems at once: one batch of rows, each its own problem.

Fitting a model to thousands of time series (or of starting points) is thousands of
small, separate minimisations. Run jointly as one big problem, they would share one step
size and one curvature estimate, and the slowest would hold back all. Here each row keeps
its own L-BFGS history, its own line search and its own stopping rule, while every
function evaluation acts on all the rows still running, as one vectorised call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import GradkitError
from ..validation import check_int, check_real

__all__ = ["minimize_rows", "RowsResult"]


@dataclass
class RowsResult:
    """The outcome of :func:`minimize_rows`, one entry per row.

    Attributes
    ----------
    x : ndarray (B, P)
    fun : ndarray (B,)
    grad : ndarray (B, P)
    nit : ndarray of int (B,)
        Iterations each row took.
    converged : ndarray of bool (B,)
        Whether the row met ``gtol`` or ``ftol`` (otherwise it stopped at ``max_iter`` or
        because no step along its direction decreased it).
    nfev : int
        Calls of ``fun`` (each on a subset of the rows).
    """

    x: np.ndarray
    fun: np.ndarray
    grad: np.ndarray
    nit: np.ndarray
    converged: np.ndarray
    nfev: int


def _two_loop(g, S, Y, rho, count):
    """``-H g`` for each row from its stored pairs (newest last), vectorised over rows."""
    q = g.copy()
    m = S.shape[0]
    alphas = np.zeros((m, g.shape[0]))
    for j in range(m - 1, -1, -1):  # newest to oldest; rows with fewer pairs skip theirs
        use = j >= m - count
        a = np.where(use, rho[j] * np.einsum("bp,bp->b", S[j], q), 0.0)
        alphas[j] = a
        q -= a[:, None] * Y[j]
    newest_y, newest_s = Y[-1], S[-1]
    yy = np.einsum("bp,bp->b", newest_y, newest_y)
    gamma = np.where(count > 0, np.einsum("bp,bp->b", newest_s, newest_y) / np.where(
        yy > 0, yy, 1.0), 1.0)
    r = gamma[:, None] * q
    for j in range(m):
        use = j >= m - count
        b = np.where(use, rho[j] * np.einsum("bp,bp->b", Y[j], r), 0.0)
        r += (alphas[j] - b)[:, None] * S[j]
    return -r


def minimize_rows(fun: Callable, x0, *, m: int = 10, max_iter: int = 200,
                  gtol: float = 1e-6, ftol: float = 1e-10, c1: float = 1e-4,
                  max_ls: int = 20) -> RowsResult:
    """Minimise ``B`` independent functions of ``P`` variables with per-row L-BFGS.

    Parameters
    ----------
    fun : callable
        ``fun(x, rows) -> (values, grads)``: for ``x`` of shape ``(len(rows), P)`` holding
        the points of the rows ``rows`` (an int array indexing the batch), the value of
        each row's function, shape ``(len(rows),)``, and its gradient, ``(len(rows), P)``.
        A non-finite value counts as "too far" in the line search.
    x0 : array_like (B, P)
        Starting points, finite.
    m : int, default 10
        Stored correction pairs per row.
    max_iter : int, default 200
    gtol : float, default 1e-6
        A row stops when its largest gradient component is at most ``gtol``...
    ftol : float, default 1e-10
        ... or when an iteration lowers it by at most ``ftol * max(1, |f|)``.
    c1 : float, default 1e-4
        Armijo's sufficient-decrease constant; steps are halved until it holds.
    max_ls : int, default 20
        Halvings before a row gives up (it stops, not converged).

    Returns
    -------
    RowsResult

    Examples
    --------
    Three quadratics with their minima at 1, 2 and 3:

    >>> import numpy as np
    >>> centres = np.array([[1.0], [2.0], [3.0]])
    >>> def fun(x, rows):
    ...     d = x - centres[rows]
    ...     return (d**2).sum(1), 2 * d
    >>> res = minimize_rows(fun, np.zeros((3, 1)))
    >>> np.round(res.x.ravel(), 6), bool(res.converged.all())
    (array([1., 2., 3.]), True)
    """
    x = np.array(x0, dtype=np.float64)
    if x.ndim != 2 or not np.all(np.isfinite(x)):
        raise GradkitError(f"minimize_rows: x0 must be a finite 2-D array (rows, variables), "
                           f"got shape {x.shape}")
    m = check_int(m, "m", "minimize_rows", low=1)
    max_iter = check_int(max_iter, "max_iter", "minimize_rows", low=1)
    max_ls = check_int(max_ls, "max_ls", "minimize_rows", low=1)
    gtol = check_real(gtol, "gtol", "minimize_rows", low=0.0)
    ftol = check_real(ftol, "ftol", "minimize_rows", low=0.0)
    B, P = x.shape
    everyone = np.arange(B)
    f, g = (np.asarray(a, dtype=np.float64) for a in fun(x, everyone))
    nfev = 1
    if not np.all(np.isfinite(f)):
        bad = int(np.flatnonzero(~np.isfinite(f))[0])
        raise GradkitError(f"minimize_rows: the function is not finite at the starting point "
                           f"of row {bad}")
    S, Y = np.zeros((m, B, P)), np.zeros((m, B, P))
    rho = np.zeros((m, B))
    count = np.zeros(B, dtype=np.int64)
    nit = np.zeros(B, dtype=np.int64)
    d = np.zeros((B, P))
    slope = np.zeros(B)
    t = np.zeros(B)
    tries = np.zeros(B, dtype=np.int64)
    converged = np.max(np.abs(g), axis=1) <= gtol
    active = ~converged
    fresh = active.copy()  # rows that need a new direction
    # Rounds: in each, every running row is at its own stage (a new direction, or the
    # next halving of its step), and all their trial points go to ``fun`` in one call.
    while True:
        new = np.flatnonzero(fresh & active)
        if new.size:
            gn = g[new]
            dn = _two_loop(gn, S[:, new], Y[:, new], rho[:, new], count[new])
            sl = np.einsum("bp,bp->b", gn, dn)
            restart = ~(sl < 0)
            if restart.any():  # not a descent direction: forget the history, go downhill
                dn[restart] = -gn[restart]
                sl[restart] = -np.einsum("bp,bp->b", gn[restart], gn[restart])
                count[new[restart]] = 0
            d[new], slope[new] = dn, sl
            # Without curvature information, a first step of length 1 in x.
            t[new] = np.where(count[new] == 0, np.minimum(1.0, 1.0 / np.maximum(
                np.linalg.norm(dn, axis=1), 1e-300)), 1.0)
            tries[new] = 0
            fresh[new] = False
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        step = t[rows, None] * d[rows]
        ft, gt = (np.asarray(a, dtype=np.float64) for a in fun(x[rows] + step, rows))
        nfev += 1
        ok = np.isfinite(ft) & (ft <= f[rows] + c1 * t[rows] * slope[rows])
        failed = rows[~ok]
        tries[failed] += 1
        t[failed] *= 0.5
        active[failed[tries[failed] >= max_ls]] = False  # no decrease: stop where it is
        r = rows[ok]
        s, gnew, fnew = step[ok], gt[ok], ft[ok]
        y = gnew - g[r]
        sy = np.einsum("bp,bp->b", s, y)
        keep = sy > 1e-10 * np.linalg.norm(s, axis=1) * np.linalg.norm(y, axis=1)
        kr = r[keep]
        S[:, kr], Y[:, kr], rho[:, kr] = (np.roll(S[:, kr], -1, 0), np.roll(Y[:, kr], -1, 0),
                                          np.roll(rho[:, kr], -1, 0))
        S[-1, kr], Y[-1, kr], rho[-1, kr] = s[keep], y[keep], 1.0 / sy[keep]
        count[kr] = np.minimum(count[kr] + 1, m)
        small_change = np.abs(f[r] - fnew) <= ftol * np.maximum(1.0, np.abs(fnew))
        x[r] += s
        f[r], g[r] = fnew, gnew
        nit[r] += 1
        finished = (np.max(np.abs(gnew), axis=1) <= gtol) | small_change
        converged[r[finished]] = True
        active[r[finished]] = False
        active[r[nit[r] >= max_iter]] = False
        fresh[r] = True
    return RowsResult(x, f, g, nit, converged, nfev)
