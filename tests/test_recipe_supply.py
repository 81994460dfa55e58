"""The supply recipe's parts: instances, rounding, Sinkhorn, the seed's descent, prices."""

from pathlib import Path

import numpy as np
import pytest

from gradkit.errors import GradkitError
from gradkit.recipes import supply
from gradkit.recipes.shared import transport as T

CAP41 = Path(__file__).resolve().parents[2] / "shared" / "data" / "transport" / "cap41.txt"


def _random(seed, m=5, n=8, excess=1.3):
    rng = np.random.default_rng(seed)
    demand = rng.uniform(10, 20, n)
    supply = rng.dirichlet(np.ones(m)) * demand.sum() * excess
    return T.Transport(f"random{seed}", supply, demand, rng.uniform(1, 10, (m, n)))


def test_dantzig_is_shipped_and_solved_by_highs():
    p = T.dantzig()
    assert T.highs(p)["cost"] == pytest.approx(153.675, rel=1e-12)


def test_orlib_reader_on_a_written_file(tmp_path):
    f = tmp_path / "tiny.txt"
    # 2 warehouses (capacity, fixed cost), 3 customers: demand, then the cost of serving
    # all of it from each warehouse.
    f.write_text("2 3\n 10 7.5\n 12 0\n 4\n 8 4\n 2\n 2 6\n 5\n 10 15\n")
    p = T.read_orlib(f)
    np.testing.assert_array_equal(p.supply, [10, 12])
    np.testing.assert_array_equal(p.demand, [4, 2, 5])
    np.testing.assert_allclose(p.cost, [[2, 1, 2], [1, 3, 3]])


@pytest.mark.parametrize("text, match", [("", "is empty"), ("2 3\n1 2 3\n", "holds 5 numbers"),
                                         ("1 1\n 5 0\n 0\n 3\n", "demand <= 0"),
                                         ("1 1\n 5 0\n x 3\n", "cannot read")])
def test_orlib_reader_refuses_bad_files(tmp_path, text, match):
    f = tmp_path / "bad.txt"
    f.write_text(text)
    with pytest.raises(GradkitError, match=match):
        T.read_orlib(f)


def test_infeasible_and_misshapen_instances_are_refused():
    with pytest.raises(GradkitError, match="below total demand"):
        T.Transport("x", np.array([1.0]), np.array([2.0]), np.ones((1, 1)))
    with pytest.raises(GradkitError, match=r"cost must be \(1, 2\)"):
        T.Transport("x", np.array([3.0]), np.array([1.0, 1.0]), np.ones((2, 1)))


def test_standard_form_holds_a_feasible_plan():
    p = _random(0)
    X = T.round_plan(np.ones_like(p.cost), p.supply, p.demand)
    c, A, b = T.standard_form(p)
    z = np.concatenate([X.ravel(), p.supply - X.sum(axis=1)])
    np.testing.assert_allclose(A @ z, b, rtol=1e-12)
    assert c @ z == pytest.approx(p.plan_cost(X))


def test_round_plan_is_exactly_feasible_and_keeps_a_feasible_plan():
    rng = np.random.default_rng(3)
    for seed in range(5):
        p = _random(seed)
        X = T.round_plan(rng.uniform(0, 5, p.cost.shape), p.supply, p.demand)
        assert p.violation(X) < 1e-12 * p.supply.sum()
        assert X.min() >= 0
        again = T.round_plan(X, p.supply, p.demand)
        np.testing.assert_allclose(again, X, rtol=1e-12, atol=1e-12)


def test_sinkhorn_reaches_the_optimum_to_one_in_a_million():
    for seed in range(3):
        p = _random(seed)
        best = T.highs(p)["cost"]
        e = T.sinkhorn(p)
        assert p.violation(e.plan) < 1e-9 * p.supply.sum()
        assert abs(p.plan_cost(e.plan) - best) / best < 1e-6
        assert e.dual_bound <= best * (1 + 1e-12)       # a lower bound


def test_sinkhorn_at_tiny_regularisation_and_huge_costs_stays_finite():
    p = _random(4)
    p = T.Transport("huge", p.supply, p.demand, p.cost * 1e8)
    e = T.sinkhorn(p, eps=1e-8, max_iter=3000)          # -W error: no overflow warning
    assert np.isfinite(e.plan).all() and np.isfinite(e.f).all() and np.isfinite(e.g).all()
    assert p.violation(e.plan) < 1e-9 * p.supply.sum()


def test_sinkhorn_with_an_empty_source_and_a_balanced_problem():
    p = _random(5)
    supply = p.supply.copy()
    supply[0] = 0.0
    supply *= p.demand.sum() / supply.sum()             # balanced, one source empty
    q = T.Transport("balanced", supply, p.demand, p.cost)
    e = T.sinkhorn(q)
    assert np.all(e.plan[0] == 0)
    best = T.highs(q)["cost"]
    assert abs(q.plan_cost(e.plan) - best) / best < 1e-6


def test_the_seeds_descent_ends_infeasible_and_above_the_optimum():
    p = T.dantzig()
    X, history = T.finite_difference_descent(p, steps=300)
    assert history.shape == (300,)
    assert p.violation(X) > 1.0                         # units short or over
    rounded = T.round_plan(X, p.supply, p.demand)
    assert p.plan_cost(rounded) > 153.675 * (1 + 1e-3)


def test_prices_check_reports_degenerate_optima_by_complementary_slackness():
    # Supply equal to one destination's demand on two routes: a degenerate vertex.
    p = T.Transport("degenerate", np.array([5.0, 5.0]), np.array([5.0, 5.0]),
                    np.array([[1.0, 2.0], [2.0, 1.0]]))
    h = T.highs(p)
    assert h["positive"] < h["rank"]
    from gradkit import grad
    from gradkit.optim import lp_value
    prices = grad(lp_value, argnums=2)(*T.standard_form(p))
    check = supply._price_check(p, prices, {"positive": h["positive"], "rank": h["rank"],
                                            "cost": h["cost"]}, h)
    assert not check["nondegenerate"] and check["max_price_difference"] is None
    assert check["dual_infeasibility"] < 1e-9 and check["complementary_slackness"] < 1e-9
    assert check["dual_objective_gap"] < 1e-9


def test_config_refuses_a_missing_file():
    with pytest.raises(GradkitError, match="data"):
        supply.Config(data="/no/such/file.txt")


@pytest.mark.skipif(not CAP41.is_file(), reason="../shared/data/transport/cap41.txt absent "
                                                 "(benchmark data, not shipped)")
def test_cap41_to_the_known_optimum(tmp_path):
    from gradkit import recipes
    m = recipes.run("supply", supply.Config(data=str(CAP41), descent_steps=10), seed=0,
                    out=tmp_path, verbose=False)
    assert m["optimum"] == pytest.approx(938249.625, rel=1e-9)
    assert m["value"] < 1e-6 and m["entropic_gap"] < 1e-6
    assert m["nondegenerate"] and m["max_price_difference"] < 1e-6
