"""The log-barrier interior point for linear programs, against HiGHS."""

import numpy as np
import pytest
from scipy.optimize import linprog

import gradkit as gk
from gradkit.errors import GradkitError
from gradkit.optim import barrier_lp, kkt_residual, lp_value


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


def test_kkt_residual_vanishes_at_the_solution():
    rng = np.random.default_rng(1)
    c, A, b = _transport(rng.uniform(1, 5, (3, 4)), np.full(3, 10.0), rng.uniform(2, 6, 4))
    r = barrier_lp(c, A, b)
    assert np.abs(kkt_residual(r.x, r.y, c, A, b, r.mu)).max() < 1e-8 * np.abs(c).max()


def _nondegenerate_instance(seed):
    rng = np.random.default_rng(seed)
    cost = rng.uniform(1, 10, (4, 6))
    demand = rng.uniform(10, 20, 6)
    supply = rng.uniform(0.3, 0.5, 4) * demand.sum()
    c, A, b = _transport(cost, supply, demand)
    highs = linprog(c, A_eq=A, b_eq=b, method="highs")
    assert (highs.x > 1e-9).sum() == A.shape[0]       # as many positive as constraints
    return c, A, b, highs


def test_shadow_prices_by_implicit_differentiation_equal_highs_marginals():
    for seed in range(3):
        c, A, b, highs = _nondegenerate_instance(seed)
        value, prices = gk.value_and_grad(lp_value, argnums=2)(c, A, b)
        assert value == pytest.approx(highs.fun, rel=1e-9)
        np.testing.assert_allclose(prices, highs.eqlin.marginals, atol=1e-7)


def test_shadow_prices_equal_central_differences_of_highs_optimum():
    c, A, b, _ = _nondegenerate_instance(0)
    prices = gk.grad(lp_value, argnums=2)(c, A, b)
    h = 1e-4
    bumps = np.eye(b.size) * h
    value = lambda bb: linprog(c, A_eq=A, b_eq=bb, method="highs").fun  # noqa: E731
    # Raising a demand needs as much more supply: move both, as a shipment would.
    for k in range(4, b.size):
        both = bumps[k] + bumps[int(np.argmax(prices[:4]))]
        numeric = (value(b + both) - value(b - both)) / (2 * h)
        assert numeric == pytest.approx(prices[k] + prices[:4].max(), abs=1e-6)


def test_lp_value_derivatives_in_c_and_A():
    c, A, b, highs = _nondegenerate_instance(2)
    dc, dA = gk.grad(lp_value, argnums=(0, 1))(c, A, b)
    y = highs.eqlin.marginals
    np.testing.assert_allclose(dc, highs.x, atol=1e-5 * highs.x.max())  # unique plan here
    np.testing.assert_allclose(dA, -np.outer(y, highs.x), atol=1e-4 * highs.x.max())


def test_lp_value_refuses_bad_shapes():
    with pytest.raises(GradkitError, match="optim.lp_value: A must be a"):
        lp_value(np.ones(3), np.ones((2, 2)), np.ones(2))


def test_no_interior_and_no_convergence_are_clear_errors():
    # x1 + x2 = 1 and x2 = 0 (written as x2 + x3 = 0): x2 and x3 are forced to 0.
    A = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    with pytest.raises(GradkitError, match="no interior|leave none|no convergence"):
        barrier_lp(np.array([1.0, 2.0, 0.0]), A, np.array([1.0, 0.0]))
    with pytest.raises(GradkitError, match="no convergence in max_iter=3"):
        barrier_lp(np.array([1.0, 2.0]), np.array([[1.0, 1.0]]), np.array([1.0]), max_iter=3)
