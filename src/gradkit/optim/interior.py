"""A log-barrier interior-point method for linear programs, with its derivatives from gradkit.

``min c.x  subject to  A x = b,  x >= 0``: for a falling barrier weight ``mu``, Newton
steps on ``c.x - mu sum(log x)`` restricted to ``A x = b``. The gradient and the Hessian
of the barrier objective are gradkit's (``grad`` and ``hessian``), not written by hand;
each step solves the KKT system of that Newton step, whose multipliers are the dual
prices ``y``, and ``s = mu / x`` the reduced costs. The duality gap ``c.x - b.y`` equals
``sum(x s) = n mu`` on the central path, so the method stops when ``n mu`` is below the
tolerance relative to ``|c.x|``.

:func:`lp_value` is the optimal value as a differentiable function of ``c``, ``A`` and
``b``: its derivative comes from the optimality conditions at the solution (the implicit
function theorem on the KKT residual, whose Jacobians are gradkit's), not from
differentiating through the Newton iterations. With respect to ``b`` it gives the shadow
prices ``y``; with respect to ``c`` the plan ``x``; with respect to ``A``, ``-y x^T``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import numpy as gnp
from ..custom import custom_vjp
from ..errors import GradkitError
from ..graph import raw
from ..transforms import grad, hessian, jacobian, vjp
from ..validation import invalid

__all__ = ["barrier_lp", "BarrierResult", "lp_value", "kkt_residual"]


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
    mu : float
        The final barrier weight: ``(x, y)`` solves :func:`kkt_residual` with it.
    gaps : ndarray
        The relative duality gap after each Newton step (``|c.x - b.y| / max(1, |c.x|)``).
    """

    x: np.ndarray
    y: np.ndarray
    fun: float
    gap: float
    infeasibility: float
    iterations: int
    mu: float
    gaps: np.ndarray


def _barrier(x, c, mu):
    return gnp.sum(c * x) - mu * gnp.sum(gnp.log(x))


def barrier_lp(c, A, b, *, tol: float = 1e-9, shrink: float = 0.1, max_iter: int = 500
               ) -> BarrierResult:
    """Solve ``min c.x, A x = b, x >= 0`` by Newton steps on the log barrier.

    Parameters
    ----------
    c : (n,) array
    A : (p, n) array of full row rank
    b : (p,) array
    tol : float, default 1e-9
        Stop when the relative duality gap is below it.
    shrink : float, default 0.1
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
    c, A, b = _checked("optim.barrier_lp", c, A, b)
    n, p = c.size, A.shape[0]
    g_of, h_of = grad(_barrier), hessian(_barrier)
    x = np.ones(n)
    mu = max(float(np.abs(c).mean()), 1.0)
    y = np.zeros(p)
    it = 0
    gaps = []
    polishing = 0
    while it < max_iter:
        it += 1
        # Without an interior, x collapses and H overflows: checked below, not warned.
        with np.errstate(all="ignore"):
            g = np.asarray(g_of(x, c, mu))
            H = np.asarray(h_of(x, c, mu))
            # Newton's step restricted to A x = b (and restoring it when x is off it).
            K = np.block([[H, A.T], [A, np.zeros((p, p))]])
            rhs = np.concatenate([-g, b - A @ x])
            try:
                sol = np.linalg.solve(K, rhs)
            except np.linalg.LinAlgError:
                sol = np.full(n + p, np.nan)
        if not (np.isfinite(sol).all() and np.isfinite(H).all()):
            raise GradkitError(
                f"optim.barrier_lp: the Newton system became singular after {it} steps: A "
                f"must have full row rank and some x > 0 must satisfy A x = b (a barrier "
                f"needs an interior; constraints that force a variable to 0, such as slacks "
                f"of a balanced transportation problem, leave none)")
        dx, y = sol[:n], -sol[n:]
        shrinking = dx < 0
        step = min(1.0, 0.99 * float(np.min(-x[shrinking] / dx[shrinking]))
                   ) if shrinking.any() else 1.0
        x = x + step * dx
        gaps.append(abs(float(c @ x - b @ y)) / max(1.0, abs(float(c @ x))))
        # Newton's decrement of the barrier over mu (the self-concordant one): scale-free.
        decrement = float(np.sqrt(max(dx @ H @ dx, 0.0) / mu))
        feasible = np.max(np.abs(A @ x - b), initial=0.0) <= 1e-9 * max(1.0, np.abs(b).max())
        if polishing:
            polishing += 1
            if decrement < 1e-9 or polishing > 6:  # rounding bounds it at tiny mu
                break
        if step == 1.0 and feasible and decrement < 0.5 and not polishing:
            # Converged: a few more Newton steps at this mu put (x, y) on the central
            # path to rounding error, where kkt_residual (and lp_value's derivative) holds.
            polishing = int(n * mu <= tol * max(1.0, abs(float(c @ x))))
            if not polishing:
                mu *= shrink
    fun = float(c @ x)
    gap = abs(fun - float(b @ y)) / max(1.0, abs(fun))
    if not polishing:
        raise GradkitError(f"optim.barrier_lp: no convergence in max_iter={max_iter} Newton "
                           f"steps (relative duality gap {gap:.1e}, tol={tol:g}); the LP may "
                           f"be infeasible or unbounded")
    return BarrierResult(x=x, y=y, fun=fun, gap=gap,
                         infeasibility=float(np.max(np.abs(A @ x - b), initial=0.0)),
                         iterations=it, mu=mu, gaps=np.array(gaps))


def _checked(call: str, c, A, b) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c, A, b = (np.asarray(raw(v), dtype=np.float64) for v in (c, A, b))
    if c.ndim != 1 or A.ndim != 2 or A.shape[1] != c.size or b.shape != (A.shape[0],):
        raise invalid(call, "A", "a (p, n) matrix with c of length n and b of length p",
                      got=f"c {c.shape}, A {A.shape}, b {b.shape}")
    return c, A, b


def kkt_residual(x, y, c, A, b, mu):
    """The barrier problem's optimality conditions, zero on the central path at ``mu``.

    ``[c - mu / x - A^T y, A x - b]``: stationarity of ``c.x - mu sum(log x)`` with the
    multipliers ``y``, then primal feasibility. :func:`barrier_lp`'s result solves it
    with its final ``mu``.

    Examples
    --------
    >>> import numpy as np
    >>> c, A, b = np.array([1.0, 2.0]), np.array([[1.0, 1.0]]), np.array([1.0])
    >>> r = barrier_lp(c, A, b)
    >>> bool(np.abs(kkt_residual(r.x, r.y, c, A, b, r.mu)).max() < 1e-6)
    True
    """
    return gnp.concatenate([c - mu / x - A.T @ y, A @ x - b])


@custom_vjp
def lp_value(c, A, b):
    """The optimal value of ``min c.x, A x = b, x >= 0``, differentiable in ``c``, ``A``, ``b``.

    Solved by :func:`barrier_lp` (to a relative gap of 1e-11). Its derivative is the
    implicit function theorem applied to :func:`kkt_residual` at the solution: with
    ``z = (x, y)``, ``dV/dtheta = dV/dtheta|_z - lambda^T dF/dtheta`` where
    ``(dF/dz)^T lambda = dV/dz``, both Jacobians gradkit's. So ``grad`` with respect to
    ``b`` gives the shadow prices (the duals ``y``), with respect to ``c`` the plan
    ``x``. Where the LP's duals are not unique (a degenerate optimum) the value has no
    derivative; the result is then the centre of the optimal dual face, one of its
    subgradients.

    Parameters
    ----------
    c : (n,) array
    A : (p, n) array of full row rank
    b : (p,) array

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np, gradkit as gk
    >>> c, A = np.array([1.0, 2.0]), np.array([[1.0, 1.0]])
    >>> prices = gk.grad(lp_value, argnums=2)(c, A, np.array([3.0]))
    >>> np.round(prices, 6).tolist()
    [1.0]
    """
    return _lp_value_fwd(c, A, b)[0]


def _lp_value_fwd(c, A, b):
    c, A, b = _checked("optim.lp_value", c, A, b)
    r = barrier_lp(c, A, b, tol=1e-11)
    return np.float64(r.fun), (r.x, r.y, c, A, b, r.mu)


def _lp_value_bwd(res, g):
    x, y, c, A, b, mu = res
    dx, dy = jacobian(kkt_residual, argnums=(0, 1))(x, y, c, A, b, mu)
    lam = gnp.linalg.solve(gnp.concatenate([dx, dy], axis=1).T,
                           gnp.concatenate([c, gnp.zeros_like(y)]))
    _, pullback = vjp(lambda c_, A_, b_: kkt_residual(x, y, c_, A_, b_, mu), c, A, b)
    dc, dA, db = pullback(lam)
    return g * (x - dc), g * -dA, g * -db


lp_value.defvjp(_lp_value_fwd, _lp_value_bwd)
