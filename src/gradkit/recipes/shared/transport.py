"""The transportation problem: instances, its LP form, entropic transport and rounding.

A :class:`Transport` holds supplies ``s`` (m), demands ``d`` (n) and unit costs ``C``
(m x n), with ``sum(s) >= sum(d)``: ship ``X >= 0`` with row sums at most ``s`` and
column sums equal to ``d`` at least cost. :func:`standard_form` writes it as
``min c.z, A z = b, z >= 0`` (a slack per source), the form
:func:`gradkit.optim.barrier_lp` and HiGHS solve. :func:`sinkhorn` solves its entropic
regularisation in the log domain, :func:`round_plan` makes any nonnegative plan exactly
feasible, and :func:`finite_difference_descent` is the seed's method, kept to show why
it is not one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as onp

from ...errors import GradkitError

__all__ = ["Transport", "dantzig", "read_orlib", "standard_form", "variables", "split_prices",
           "highs", "round_plan",
           "sinkhorn", "Entropic", "finite_difference_descent", "DANTZIG_JSON"]

DANTZIG_JSON = Path(__file__).parent.parent / "data" / "transport" / "dantzig_trnsport.json"


@dataclass(frozen=True)
class Transport:
    """A transportation problem: ``supply`` (m,), ``demand`` (n,), unit ``cost`` (m, n)."""

    name: str
    supply: onp.ndarray
    demand: onp.ndarray
    cost: onp.ndarray

    def __post_init__(self) -> None:
        m, n = self.supply.size, self.demand.size
        if self.cost.shape != (m, n):
            raise GradkitError(f"Transport {self.name}: cost must be ({m}, {n}) for {m} "
                               f"supplies and {n} demands, got {self.cost.shape}")
        if (self.supply < 0).any() or (self.demand < 0).any() or \
                not onp.isfinite(self.cost).all():
            raise GradkitError(f"Transport {self.name}: supplies and demands must be "
                               f"nonnegative and costs finite")
        if self.supply.sum() < self.demand.sum() * (1 - 1e-12):
            raise GradkitError(f"Transport {self.name}: total supply {self.supply.sum():g} "
                               f"is below total demand {self.demand.sum():g} (infeasible)")

    @property
    def balanced(self) -> bool:
        return bool(abs(self.supply.sum() - self.demand.sum()) <= 1e-12 * self.supply.sum())

    def plan_cost(self, plan: onp.ndarray) -> float:
        return float((plan * self.cost).sum())

    def violation(self, plan: onp.ndarray) -> float:
        """The largest breach of the constraints by ``plan``, in units shipped."""
        return float(max(onp.max(plan.sum(axis=1) - self.supply, initial=0.0),
                         onp.abs(plan.sum(axis=0) - self.demand).max(),
                         -plan.min()))


def dantzig() -> Transport:
    """Dantzig's example (shipped): 2 plants, 3 markets, optimum 153.675 thousand dollars.

    Examples
    --------
    >>> p = dantzig()
    >>> p.cost.shape, float(p.supply.sum()), float(p.demand.sum())
    ((2, 3), 950.0, 900.0)
    """
    raw = json.loads(DANTZIG_JSON.read_text())
    miles = onp.array(raw["distance_thousand_miles"], dtype=float)
    unit = raw["freight_usd_per_case_per_thousand_miles"] * miles / 1000.0
    return Transport("dantzig", onp.array(raw["supply_cases"], dtype=float),
                     onp.array(raw["demand_cases"], dtype=float), unit)


def read_orlib(path) -> Transport:
    """An OR-Library capacitated warehouse file as a transportation problem.

    The format (Beasley): ``m n``; ``m`` lines ``capacity fixed_cost``; then for each
    customer its demand and the ``m`` costs of serving all of it from each warehouse. Every
    warehouse is open (fixed costs ignored); the unit cost is the cost over the demand.
    """
    path = Path(path)
    try:
        tokens = onp.array(path.read_text().split(), dtype=float)
    except (OSError, ValueError) as err:
        raise GradkitError(f"supply: cannot read OR-Library file {path}: {err}") from None
    if tokens.size < 2:
        raise GradkitError(f"supply: {path} is empty, not an OR-Library file")
    m, n = int(tokens[0]), int(tokens[1])
    if m < 1 or n < 1 or tokens.size != 2 + 2 * m + n * (m + 1):
        raise GradkitError(f"supply: {path} holds {tokens.size} numbers; an OR-Library file "
                           f"of {m} warehouses and {n} customers holds {2 + 2 * m + n * (m + 1)}")
    capacity = tokens[2:2 + 2 * m:2]
    customers = tokens[2 + 2 * m:].reshape(n, m + 1)
    demand = customers[:, 0]
    if (demand <= 0).any():
        raise GradkitError(f"supply: {path} has a customer with demand <= 0")
    return Transport(path.stem, capacity, demand, (customers[:, 1:] / demand[:, None]).T)


def standard_form(p: Transport, sparse: bool = False) -> tuple:
    """``(c, A, b)`` with ``z = (X row by row, slacks)``: supplies first, then demands.

    A balanced problem (total supply equal to total demand) has no slacks, since they
    would all be forced to 0 and leave no interior, and drops its last demand row, which
    the others imply: its price is 0 by that convention. ``sparse=True`` gives ``A`` as a
    SciPy CSR matrix (for HiGHS on large instances).

    Examples
    --------
    >>> c, A, b = standard_form(dantzig())
    >>> A.shape, b.tolist()
    ((5, 8), [350.0, 600.0, 325.0, 300.0, 275.0])
    """
    if sparse:
        from scipy import sparse as sp
        eye, ones, zeros, hstack, vstack = (sp.eye_array, lambda s: sp.csr_array(onp.ones(s)),
                                            sp.csr_array, sp.hstack, sp.vstack)

        def kron(a, b):
            return sp.kron(a, b, format="csr")
    else:
        eye, ones, zeros, kron = onp.eye, onp.ones, onp.zeros, onp.kron
        hstack, vstack = onp.hstack, onp.vstack
    m, n = p.cost.shape
    rows = kron(eye(m), ones((1, n)))
    cols = kron(ones((1, m)), eye(n))
    if p.balanced:
        A = vstack([rows, cols[:-1]])
        b = onp.concatenate([p.supply, p.demand[:-1]])
        c = p.cost.ravel()
    else:
        A = vstack([hstack([rows, eye(m)]), hstack([cols, zeros((n, m))])])
        b = onp.concatenate([p.supply, p.demand])
        c = onp.concatenate([p.cost.ravel(), onp.zeros(m)])
    return c, (A.tocsr() if sparse else A), b


def variables(p: Transport, plan: onp.ndarray) -> onp.ndarray:
    """``plan`` as :func:`standard_form`'s ``z`` (with the slacks unless balanced)."""
    return plan.ravel() if p.balanced else onp.concatenate([plan.ravel(),
                                                            p.supply - plan.sum(axis=1)])


def split_prices(p: Transport, prices: onp.ndarray) -> tuple[onp.ndarray, onp.ndarray]:
    """The supply and the demand prices of :func:`standard_form`'s rows."""
    m = p.supply.size
    demand = prices[m:]
    return prices[:m], onp.append(demand, 0.0) if p.balanced else demand


def highs(p: Transport) -> dict:
    """HiGHS's optimum (``scipy.optimize.linprog``): plan, cost, marginals, basis size."""
    from scipy.optimize import linprog

    c, A, b = standard_form(p, sparse=True)
    res = linprog(c, A_eq=A, b_eq=b, method="highs")
    if res.status != 0:
        raise GradkitError(f"supply: HiGHS failed on {p.name}: {res.message}")
    m, n = p.cost.shape
    return {"plan": res.x[:m * n].reshape(m, n), "cost": float(res.fun),
            "prices": res.eqlin.marginals, "positive": int((res.x > 1e-9 * b.max()).sum()),
            "rank": A.shape[0]}   # full row rank, by construction


def round_plan(plan: onp.ndarray, supply: onp.ndarray, demand: onp.ndarray) -> onp.ndarray:
    """The nearest exactly feasible plan in the sense of Altschuler et al. (2017).

    Rows over their supply and columns over their demand are scaled down, then each
    column's shortfall is shipped from the sources' spare supply in proportion to it
    (there is enough: total supply is at least total demand). The cost moves by at most
    the largest cost times the mass moved.

    Examples
    --------
    >>> import numpy as np
    >>> X = round_plan(np.full((2, 2), 1.0), np.array([1.0, 3.0]), np.array([2.0, 1.0]))
    >>> X.sum(axis=1).round(12).tolist(), X.sum(axis=0).round(12).tolist()
    ([0.888888888889, 2.111111111111], [2.0, 1.0])
    """
    plan = onp.maximum(plan, 0.0)
    rows = plan.sum(axis=1)
    plan = plan * onp.minimum(1.0, supply / onp.maximum(rows, 1e-300))[:, None]
    cols = plan.sum(axis=0)
    plan = plan * onp.minimum(1.0, demand / onp.maximum(cols, 1e-300))[None, :]
    spare = onp.maximum(supply - plan.sum(axis=1), 0.0)
    short = onp.maximum(demand - plan.sum(axis=0), 0.0)
    if short.sum() > 0 and spare.sum() > 0:
        plan = plan + onp.outer(spare / spare.sum(), short)
    return plan


def _logsumexp(M: onp.ndarray, axis: int) -> onp.ndarray:
    top = M.max(axis=axis, keepdims=True)
    return (top + onp.log(onp.exp(M - top).sum(axis=axis, keepdims=True))).squeeze(axis)


@dataclass(frozen=True)
class Entropic:
    """What :func:`sinkhorn` found: the rounded plan and the entropic potentials."""

    plan: onp.ndarray
    f: onp.ndarray          # per source, in cost units (defined up to a constant)
    g: onp.ndarray          # per destination
    iterations: int
    marginal_error: float   # of the unrounded plan, relative to the total mass
    dual_bound: float       # a lower bound on the optimal cost, from g's c-transform
    converged: bool         # the marginal error met ``tol`` within ``max_iter``


def sinkhorn(p: Transport, eps: float = 1e-5, *, scaling: float = 0.5, omega: float = 1.8,
             tol: float = 1e-7, stage_tol: float = 1e-4, check: int = 10,
             max_iter: int = 100_000) -> Entropic:
    """Entropic transport by log-domain Sinkhorn with epsilon-scaling, rounded to a plan.

    A dummy destination of cost 0 takes the excess supply, so the problem is balanced;
    masses are divided by the total and costs by the largest. The regularisation starts at
    1 (the largest cost) and shrinks by ``scaling`` to ``eps``, each stage warm-started
    from the last and iterated to an L1 marginal error of ``stage_tol`` (``tol`` at the
    last). The updates are over-relaxed by ``omega`` (Thibault et al., 2017): the
    potentials move ``omega`` times the Sinkhorn step, which keeps the fixed point and
    converges in far fewer iterations. Every update is a log-sum-exp, so no kernel
    ``exp(-C / eps)`` is formed and nothing overflows at small ``eps``.

    Examples
    --------
    >>> r = sinkhorn(dantzig())
    >>> round(dantzig().plan_cost(r.plan), 3)
    153.675
    """
    m, n = p.cost.shape
    mass = float(p.supply.sum())
    excess = max(mass - float(p.demand.sum()), 0.0)
    C = onp.hstack([p.cost, onp.zeros((m, 1))])
    scale = max(float(C.max()), 1e-300)
    C = C / scale
    a = p.supply / mass
    b = onp.concatenate([p.demand, [excess]]) / mass
    rows, cols = a > 0, b > 0              # empty sources and sinks carry nothing
    C, la, lb = C[rows][:, cols], onp.log(a[rows]), onp.log(b[cols])
    f, g = onp.zeros(rows.sum()), onp.zeros(cols.sum())
    e, its, err = 1.0, 0, onp.inf
    while True:
        e = max(e, eps)
        goal = tol if e <= eps else stage_tol
        while its < max_iter:
            its += 1
            f = (1 - omega) * f + omega * e * (la - _logsumexp((g[None, :] - C) / e, 1))
            g = (1 - omega) * g + omega * e * (lb - _logsumexp((f[:, None] - C) / e, 0))
            if its % check == 0:
                logP = (f[:, None] + g[None, :] - C) / e
                err = float(onp.abs(onp.exp(_logsumexp(logP, 1)) - a[rows]).sum()
                            + onp.abs(onp.exp(_logsumexp(logP, 0)) - b[cols]).sum())
                if err < goal:
                    break
        if e <= eps or its >= max_iter:
            break
        e *= scaling
    full = onp.zeros((m, n + 1))
    full[onp.ix_(rows, cols)] = onp.exp((f[:, None] + g[None, :] - C) / e)
    plan = round_plan(full, a, b)[:, :n] * mass
    # f's c-transform of g is dual feasible: its objective bounds the optimum from below.
    fc = C.min(axis=1) if g.size == 0 else (C - g[None, :]).min(axis=1)
    bound = (float(fc @ a[rows]) + float(g @ b[cols])) * scale * mass
    ff, gg = onp.full(m, onp.nan), onp.full(n + 1, onp.nan)
    ff[rows], gg[cols] = f * scale, g * scale
    if not onp.isfinite(plan).all():
        raise GradkitError(f"supply: Sinkhorn lost its plan on {p.name} (eps={eps:g})")
    return Entropic(plan=plan, f=ff, g=gg[:n], iterations=its, marginal_error=err,
                    dual_bound=bound, converged=err < tol)


def finite_difference_descent(p: Transport, steps: int = 2000, h: float = 1e-3,
                              rate: float = 0.01) -> tuple[onp.ndarray, onp.ndarray]:
    """The seed's method: descent on a penalised cost by forward differences.

    The cost ``sum(C X) + P (sum(max(0, rowsum - s)) + sum(|colsum - d|))`` with ``P``
    the largest unit cost is not differentiable at any feasible plan; its forward
    differences (every entry at once) step ``rate`` times the mean demand along the
    difference quotient scaled to a largest entry of 1, and the plan is clipped at 0.
    Starting from the proportional plan ``s_i d_j / sum(s)``. Returns the plan and the
    penalised cost after each step.
    """
    penalty = float(p.cost.max())

    def cost(X):  # X: (..., m, n)
        over = onp.maximum(X.sum(axis=-1) - p.supply, 0.0).sum(axis=-1)
        miss = onp.abs(X.sum(axis=-2) - p.demand).sum(axis=-1)
        return (X * p.cost).sum(axis=(-2, -1)) + penalty * (over + miss)

    m, n = p.cost.shape
    X = onp.outer(p.supply, p.demand) / p.supply.sum()
    bumps = h * onp.eye(m * n).reshape(m * n, m, n)
    step = rate * float(p.demand.mean())
    history = onp.empty(steps)
    for k in range(steps):
        here = cost(X)
        slope = ((cost(X[None] + bumps) - here) / h).reshape(m, n)
        X = onp.maximum(X - step * slope / max(onp.abs(slope).max(), 1e-300), 0.0)
        history[k] = cost(X)
    return X, history
