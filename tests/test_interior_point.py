"""The log-barrier interior point for linear programs, against HiGHS."""

import numpy as np
import pytest
from scipy.optimize import linprog

from gradkit.errors import GradkitError
from gradkit.optim import barrier_lp


def _transport(cost, supply, demand):
    """Standard form: shipments (row-major) then a slack per source, A z = b, z >= 0."""
    m, n = cost.shape
    rows = np.hstack([np.kron(np.eye(m), np.ones((1, n))), np.eye(m)])
    cols = np.hstack([np.kron(np.ones((1, m)), np.eye(n)), np.zeros((n, m))])
    return (np.concatenate([cost.ravel(), np.zeros(m)]), np.vstack([rows, cols]),
            np.concatenate([supply, demand]))


def test_dantzigs_transportation_problem_to_the_optimum():
    # Dantzig (1963): 2 plants, 3 markets, $90 a case per thousand miles.
    miles = np.array([[2.5, 1.7, 1.8], [2.5, 1.8, 1.4]])
    c, A, b = _transport(90 * miles / 1000, np.array([350.0, 600.0]),
                         np.array([325.0, 300.0, 275.0]))
    r = barrier_lp(c, A, b)
    highs = linprog(c, A_eq=A, b_eq=b, method="highs")
    assert r.fun == pytest.approx(highs.fun, rel=1e-9)
    assert r.fun == pytest.approx(153.675, rel=1e-9)
    assert r.gap < 1e-9 and r.infeasibility < 1e-9
    assert np.all(r.x > 0)
    # The duals are dual feasible (reduced costs >= 0) and complementary to x.
    reduced = c - A.T @ r.y
    assert reduced.min() > -1e-7
    assert abs(float(reduced @ r.x)) < 1e-6


def test_a_random_transportation_problem_equals_highs():
    rng = np.random.default_rng(0)
    cost = rng.uniform(1, 10, (5, 8))
    demand = rng.uniform(10, 20, 8)
    supply = np.full(5, demand.sum() / 4)          # supply exceeds demand
    c, A, b = _transport(cost, supply, demand)
    r = barrier_lp(c, A, b)
    assert r.fun == pytest.approx(linprog(c, A_eq=A, b_eq=b, method="highs").fun, rel=1e-8)


def test_bad_shapes_are_refused():
    with pytest.raises(GradkitError, match="optim.barrier_lp: A must be a"):
        barrier_lp(np.ones(3), np.ones((2, 2)), np.ones(2))
