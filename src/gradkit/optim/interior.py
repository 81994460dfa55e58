"""A log-barrier interior-point method for linear programs, with its derivatives from gradkit.

``min c.x  subject to  A x = b,  x >= 0``: for a falling barrier weight ``mu``, Newton
steps on ``c.x - mu sum(log x)`` restricted to ``A x = b``. The gradient and the Hessian
of the barrier objective are gradkit's (``grad`` and ``hessian``), not written by hand;
each step solves the KKT system of that Newton step, whose multipliers are the dual
prices ``y``, and ``s = mu / x`` the reduced costs. The duality gap ``c.x - b.y`` equals
``sum(x s) = n mu`` on the central path, so the method stops when ``n mu`` is below the
tolerance relative to ``|c.x|``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import numpy as gnp
from ..transforms import grad, hessian
from ..validation import invalid

__all__ = ["barrier_lp", "BarrierResult"]


@dataclass(frozen=True)
class BarrierResult:
    """What :func:`barrier_lp` found.

    Attributes
    ----------
    x : ndarray
        The primal solution (strictly positive).
    y : ndarray
        The dual prices of the equality constraints.
    fun : float
        ``c.x``.
    gap : float
        The final relative duality gap ``|c.x - b.y| / max(1, |c.x|)``.
    infeasibility : float
        ``max |A x - b|``.
    iterations : int
        Newton steps taken.
    """

    x: np.ndarray
    y: np.ndarray
    fun: float
    gap: float
    infeasibility: float
    iterations: int


def _barrier(x, c, mu):
    return gnp.sum(c * x) - mu * gnp.sum(gnp.log(x))


def barrier_lp(c, A, b, *, tol: float = 1e-9, shrink: float = 0.2, max_iter: int = 500
               ) -> BarrierResult:
    """Solve ``min c.x, A x = b, x >= 0`` by Newton steps on the log barrier.

    Parameters
    ----------
    c : (n,) array
    A : (p, n) array of full row rank
    b : (p,) array
    tol : float, default 1e-9
        Stop when the relative duality gap is below it.
    shrink : float, default 0.2
        The barrier weight's factor once a Newton step is short (the point is centred).
    max_iter : int, default 500

    Returns
    -------
    BarrierResult

    Examples
    --------
    >>> import numpy as np
    >>> r = barrier_lp(np.array([1.0, 2.0]), np.array([[1.0, 1.0]]), np.array([1.0]))
    >>> bool(abs(r.fun - 1.0) < 1e-8), np.round(r.y, 6).tolist()
    (True, [1.0])
    """
    call = "optim.barrier_lp"
    c = np.asarray(c, dtype=np.float64)
    A = np.asarray(A, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if c.ndim != 1 or A.ndim != 2 or A.shape[1] != c.size or b.shape != (A.shape[0],):
        raise invalid(call, "A", "a (p, n) matrix with c of length n and b of length p",
                      got=f"c {c.shape}, A {A.shape}, b {b.shape}")
    n, p = c.size, A.shape[0]
    g_of, h_of = grad(_barrier), hessian(_barrier)
    x = np.ones(n)
    mu = max(float(np.abs(c).mean()), 1.0)
    y = np.zeros(p)
    it = 0
    while it < max_iter:
        it += 1
        g = np.asarray(g_of(x, c, mu))
        H = np.asarray(h_of(x, c, mu))
        # Newton's step restricted to A x = b (and restoring it when x is off it).
        K = np.block([[H, A.T], [A, np.zeros((p, p))]])
        rhs = np.concatenate([-g, b - A @ x])
        sol = np.linalg.solve(K, rhs)
        dx, y = sol[:n], -sol[n:]
        shrinking = dx < 0
        step = min(1.0, 0.99 * float(np.min(-x[shrinking] / dx[shrinking]))
                   ) if shrinking.any() else 1.0
        x = x + step * dx
        decrement = float(np.sqrt(dx @ H @ dx))
        feasible = np.max(np.abs(A @ x - b), initial=0.0) <= 1e-9 * max(1.0, np.abs(b).max())
        if step == 1.0 and feasible and decrement < 0.5:
            if n * mu <= tol * max(1.0, abs(float(c @ x))):
                break
            mu *= shrink
    fun = float(c @ x)
    gap = abs(fun - float(b @ y)) / max(1.0, abs(fun))
    return BarrierResult(x=x, y=y, fun=fun, gap=gap,
                         infeasibility=float(np.max(np.abs(A @ x - b), initial=0.0)),
                         iterations=it)
