"""The pathplan recipe: Moving AI readers, the Dijkstra reference, the exact segment test,
and the planner (the contract is checked for every recipe in test_recipe_contract.py)."""

import heapq
import itertools
import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from gradkit import check_grads, recipes
from gradkit.errors import GradkitError
from gradkit.recipes import ConfigError
from gradkit.recipes import pathplan as pp
from gradkit.recipes.shared import grids

pytest.importorskip("skfmm")

MOVINGAI = Path(__file__).resolve().parents[2] / "shared" / "data" / "movingai_grids"


def _movingai(name: str) -> tuple[Path, Path]:
    m = MOVINGAI / name
    s = MOVINGAI / f"{name}.scen"
    if not (m.is_file() and s.is_file()):
        pytest.skip(f"Moving AI benchmark files {m} and {s} are not here (benchmark data, "
                    f"not shipped)")
    return m, s


# -- readers ------------------------------------------------------------------------------


def test_read_map_lf_and_crlf(tmp_path):
    rows = ["@@@@", "@.G@", "@TS@"]
    for eol in ("\n", "\r\n"):
        p = tmp_path / "m.map"
        p.write_bytes(eol.join(["type octile", "height 3", "width 4", "map", *rows, ""]).encode())
        free = grids.read_map(p)
        assert free.tolist() == [[c in ".GS" for c in r] for r in rows]


@pytest.mark.parametrize("text, says", [
    ("type octile\nheight 2\nwidth 3\n.@.\n..T\n", "Moving AI map"),
    ("type octile\nheight x\nwidth 3\nmap\n.@.\n..T\n", "Moving AI map"),
    ("type octile\nheight 2\nwidth 3\nmap\n.@.\n..\n", "2 rows of 3 characters"),
    ("type octile\nheight 3\nwidth 3\nmap\n.@.\n...\n", "3 rows of 3 characters"),
    ("type octile\nheight 2\nwidth 3\nmap\n.@.\n.?.\n", "map characters"),
])
def test_read_map_refuses_bad_files(tmp_path, text, says):
    p = tmp_path / "bad.map"
    p.write_text(text)
    with pytest.raises(GradkitError, match=f"grids.read_map: path must be .*{says}"):
        grids.read_map(p)


def test_read_map_missing_file(tmp_path):
    with pytest.raises(GradkitError, match="grids.read_map: cannot read .*none.map"):
        grids.read_map(tmp_path / "none.map")


def test_read_scen_and_its_errors(tmp_path):
    p = tmp_path / "a.scen"
    p.write_text("version 1\n3\ta.map\t5\t4\t1\t2\t3\t0\t2.82842712\n"
                 "0\ta.map\t5\t4\t0\t0\t4\t3\t5.24264069\n")
    s = grids.read_scen(p)
    assert s.start.tolist() == [[1, 2], [0, 0]] and s.goal.tolist() == [[3, 0], [4, 3]]
    assert s.optimal.tolist() == [2.82842712, 5.24264069] and s.bucket.tolist() == [3, 0]
    assert s.shape == (4, 5) and s.map_name == "a.map"
    for text, says in (("version 2\n", "starting 'version 1'"),
                       ("version 1\n0\ta.map\t5\t4\t1\t2\t3\n", "9 tab-separated"),
                       ("version 1\n0\ta.map\t5\t4\t1\tx\t3\t0\t1.0\n", "line 2"),
                       ("version 1\n", "at least one scenario"),
                       ("version 1\n0\ta.map\t5\t4\t1\t2\t3\t0\t1\n"
                        "0\tb.map\t5\t4\t1\t2\t3\t0\t1\n", "scenarios of one map")):
        p.write_text(text)
        with pytest.raises(GradkitError, match=f"grids.read_scen: path must .*{says}"):
            grids.read_scen(p)


# -- the exact segment test ---------------------------------------------------------------


def _touches_reference(a, b, cx, cy) -> bool:
    """Closed segment a-b meets the closed unit square at (cx, cy): Liang-Barsky clipping
    in exact rational arithmetic."""
    a = [Fraction(v) for v in a]
    b = [Fraction(v) for v in b]
    t0, t1 = Fraction(0), Fraction(1)
    for k, c in ((0, cx), (1, cy)):
        lo, hi = Fraction(c) - Fraction(1, 2), Fraction(c) + Fraction(1, 2)
        d = b[k] - a[k]
        if d == 0:
            if not lo <= a[k] <= hi:
                return False
            continue
        ta, tb = (lo - a[k]) / d, (hi - a[k]) / d
        t0, t1 = max(t0, min(ta, tb)), min(t1, max(ta, tb))
    return t0 <= t1


def _valid_reference(free, a, b) -> bool:
    h, w = free.shape
    for cy in range(-1, h + 1):
        for cx in range(-1, w + 1):
            inside = 0 <= cx < w and 0 <= cy < h
            if (not inside or not free[cy, cx]) and _touches_reference(a, b, cx, cy):
                return False
    return True


def _diagonal_pair():
    free = np.ones((3, 3), bool)
    free[0, 1] = free[1, 0] = False  # cells (1, 0) and (0, 1)
    return free


@pytest.mark.parametrize("free, a, b, valid", [
    # Grazing a blocked cell's corner at (0.5, 0.5) is touching it.
    (np.array([[True, False], [True, True]]), (0, 0), (1, 1), False),
    # Between two diagonally blocked cells: their shared corner.
    (_diagonal_pair(), (0, 0), (1, 1), False),
    (_diagonal_pair(), (2, 2), (1, 1), True),
    # Along a wall half a cell away (the row above is blocked): free; on its edge: not.
    (np.array([[False] * 4, [True] * 4]), (0, 1), (3, 1), True),
    (np.array([[False] * 4, [True] * 4]), (0, 0.5), (3, 0.5), False),
    (np.array([[False] * 4, [True] * 4]), (0, 0.5000001), (3, 0.9), True),
    # Leaving the map touches the border; a point inside a free cell is valid.
    (np.ones((2, 2), bool), (0, 0), (-0.5, 1), False),
    (np.ones((2, 2), bool), (0.2, 0.3), (0.2, 0.3), True),
    (np.array([[True, False]]), (1.2, 0.1), (1.2, 0.1), False),
    # A long shallow segment clipping one cell's corner far from both ends.
    # (cell (6, 1) of the eye's diagonal: y = 1.1 x / 8 crosses it between x = 5.5 and 6.5).
    (~np.eye(3, 9, 5, dtype=bool), (0, 0), (8, 1.1), False),
    (~np.eye(3, 9, 5, dtype=bool), (0, 0), (4, 2), True),
])
def test_segment_cases(free, a, b, valid):
    got = grids.segments_valid(free, np.array([a], float), np.array([b], float))
    assert got.tolist() == [valid] == [_valid_reference(free, a, b)]
    back = grids.segments_valid(free, np.array([b], float), np.array([a], float))
    assert back.tolist() == [valid]


@pytest.mark.parametrize("lattice", [True, False])
def test_segments_agree_with_exact_clipping(lattice):
    rng = np.random.default_rng(7 + lattice)
    free = rng.random((7, 9)) > 0.15
    n = 800
    top = np.array([8.0, 6.0])
    if lattice:  # half-cell lattice: many exact touches of edges and corners
        a = rng.integers(0, 2 * top + 1, size=(n, 2)) / 2.0
        b = np.clip(a + rng.integers(-5, 6, size=(n, 2)) / 2.0, -0.5, top + 0.5)
    else:
        a = rng.uniform(-0.2, top + 0.2, size=(n, 2))
        b = a + rng.normal(0, 1.5, size=(n, 2))
    got = grids.segments_valid(free, a, b)
    want = [_valid_reference(free, p, q) for p, q in zip(a, b)]
    assert got.tolist() == want
    assert 0.1 < np.mean(want) < 0.9  # both kinds are exercised


# -- the Dijkstra reference -----------------------------------------------------------------


def _dijkstra_reference(free, start):
    """Plain heap Dijkstra with the 8 moves written out (no corner cutting)."""
    h, w = free.shape
    dist = {tuple(start): 0.0}
    heap = [(0.0, tuple(start))]
    while heap:
        d, (x, y) = heapq.heappop(heap)
        if d > dist[(x, y)]:
            continue
        for dx, dy in itertools.product((-1, 0, 1), repeat=2):
            nx, ny = x + dx, y + dy
            if (dx, dy) == (0, 0) or not (0 <= nx < w and 0 <= ny < h) or not free[ny, nx]:
                continue
            if dx and dy and not (free[y, nx] and free[ny, x]):
                continue
            nd = d + (math.sqrt(2) if dx and dy else 1.0)
            if nd < dist.get((nx, ny), math.inf):
                dist[(nx, ny)] = nd
                heapq.heappush(heap, (nd, (nx, ny)))
    out = np.full(free.shape, np.inf)
    for (x, y), d in dist.items():
        out[y, x] = d
    return out


def test_dijkstra_matches_a_plain_one_and_cuts_no_corners():
    rng = np.random.default_rng(3)
    free = rng.random((12, 15)) > 0.3
    g = grids.Graph(free)
    for s in np.argwhere(free)[::17][:, ::-1]:
        np.testing.assert_allclose(g.distances(s), _dijkstra_reference(free, s), rtol=1e-12)
    pair = _diagonal_pair()
    assert grids.Graph(pair).distance((0, 0), (1, 1)) == np.inf  # sealed by the corner
    for s in np.argwhere(free)[::23][:, ::-1]:
        for e in np.argwhere(free)[::29][:, ::-1]:
            if np.isfinite(g.distance(s, e)):
                path = g.path(s, e)
                assert grids.path_valid(free, path)
                assert grids.path_length(path) == pytest.approx(g.distance(s, e))
    with pytest.raises(GradkitError, match="grids.Graph: start must be a free cell"):
        g.path(tuple(np.argwhere(~free)[0][::-1]), (0, 0))


def test_largest_region_is_a_connected_component_of_the_graph():
    from scipy.sparse.csgraph import connected_components

    free = np.random.default_rng(5).random((20, 20)) > 0.45
    g = grids.Graph(free)
    _, labels = connected_components(g.matrix, directed=False)
    sizes = np.bincount(labels)
    region = grids.largest_region(free)
    assert region.sum() == sizes.max()
    assert len(set(labels[g.node[region]])) == 1


@pytest.mark.parametrize("name, every", [("arena.map", 1), ("Berlin_0_256.map", 31)])
def test_dijkstra_reproduces_the_scenario_lengths(name, every):
    m, s = _movingai(name)
    free, sc = grids.read_map(m), grids.read_scen(s)
    assert sc.shape == free.shape
    g = grids.Graph(free)
    for k in range(0, len(sc.start), every):
        assert g.distance(sc.start[k], sc.goal[k]) == pytest.approx(sc.optimal[k], abs=1e-7)


# -- the planner ----------------------------------------------------------------------------


def test_travel_time_in_the_open_is_the_distance():
    free = np.ones((40, 40), bool)
    t = pp.travel_time(free, (20, 20)) + 0.25
    yy, xx = np.mgrid[0:40, 0:40]
    r = np.hypot(xx - 20, yy - 20)
    assert np.max(np.abs(t - r)) < 0.45  # first-order errors near the source, then small
    assert np.max(np.abs(t - r)[r > 15]) < 0.3


def test_the_refinement_gradient_is_the_derivative_of_the_cost():
    free = grids.generate_map(32, 2, np.random.default_rng(1))
    planner = pp.Planner(free, pp.Config())
    p = np.array([[5.3, 5.2], [6.1, 5.9], [7.4, 6.6], [8.2, 7.7]])
    i, j = np.floor(p[:, 0]).astype(int) + 1, np.floor(p[:, 1]).astype(int) + 1
    c = planner.clear
    coef = (c[j, i], c[j, i + 1] - c[j, i], c[j + 1, i] - c[j, i],
            c[j + 1, i + 1] - c[j, i + 1] - c[j + 1, i] + c[j, i])
    base = np.column_stack([i - 1, j - 1]).astype(float)
    check_grads(lambda q: planner._path_cost(q, base, coef), (p,), order=1, modes=("rev",))


def test_clearance_is_the_distance_to_the_nearest_blocked_square():
    free = np.ones((9, 9), bool)
    free[4, 6] = False
    planner = pp.Planner(free, pp.Config())
    c = planner.clear[1:-1, 1:-1]
    assert c[4, 6] == -0.5
    assert c[4, 4] == pytest.approx(1.5)  # two cells left of the block: 1.5 to its edge
    assert c[3, 5] == pytest.approx(math.sqrt(0.5))  # diagonal neighbour: to its corner
    assert c[0, 0] == pytest.approx(0.5)  # the map's border is blocked


@pytest.fixture(scope="module")
def generated():
    cfg = pp.Config()
    free = grids.generate_map(cfg.size, cfg.rooms, np.random.default_rng(0))
    start, goal = grids.random_queries(free, 40, np.random.default_rng(1))
    return free, start, goal, pp.Planner(free, cfg)


def test_queries_are_distinct_cells_of_the_largest_region(generated):
    free, start, goal, _ = generated
    region = grids.largest_region(free)
    assert region[start[:, 1], start[:, 0]].all() and region[goal[:, 1], goal[:, 0]].all()
    assert (start != goal).any(axis=1).all()


def test_plans_are_valid_and_within_the_tolerance(generated):
    free, start, goal, planner = generated
    for s, e in zip(start, goal):
        out = planner.plan(s, e)
        path = out["path"]
        assert path[0].tolist() == s.tolist() and path[-1].tolist() == e.tolist()
        assert grids.path_valid(free, path)
        optimal = planner.graph.distance(s, e)
        assert grids.path_length(path) <= pp.TOLERANCE * optimal
        assert not out["fallback"] and out["reason"] == "reached"


def test_a_descent_that_cannot_finish_falls_back_and_says_so(generated, monkeypatch):
    free, start, goal, planner = generated
    monkeypatch.setattr(pp, "descend", lambda field, s, g, step, n: (
        np.array([s], float), "zero gradient"))
    out = planner.plan(start[0], goal[0])
    assert out["fallback"] and out["reason"] == "zero gradient"
    assert grids.path_valid(free, out["path"])
    assert grids.path_length(out["path"]) <= planner.graph.distance(start[0], goal[0]) + 1e-9


def test_repair_replaces_segments_through_walls():
    free = np.ones((7, 9), bool)
    free[0:6, 4] = False  # a wall with a gap at the bottom row
    planner = pp.Planner(free, pp.Config())
    through = np.array([[1.0, 2.0], [3.2, 2.0], [5.1, 2.1], [7.0, 2.0]])
    assert not grids.path_valid(free, through)
    fixed, runs = planner.repair(through)
    assert runs == 1 and grids.path_valid(free, fixed)
    assert fixed[0].tolist() == [1.0, 2.0] and fixed[-1].tolist() == [7.0, 2.0]
    pulled, bad = grids.shortcut(free, fixed)
    assert bad == 0 and grids.path_valid(free, pulled)
    assert grids.path_length(pulled) <= grids.path_length(fixed)


def test_greedy_gets_stuck_behind_a_wall_and_reaches_in_the_open():
    free = np.ones((9, 9), bool)
    free[2:9, 4] = False  # open only at the top, the greedy walks into the wall
    cells, reached = grids.greedy(free, (1, 6), (7, 6))
    assert not reached and cells[-1].tolist() == [3, 6]
    cells, reached = grids.greedy(np.ones((5, 5), bool), (0, 0), (4, 2))
    assert reached and cells[-1].tolist() == [4, 2] and len(cells) == 5


def test_config_refusals():
    with pytest.raises(ConfigError, match="map"):
        pp.Config(scen="x.scen")
    with pytest.raises(ConfigError, match="queries"):
        pp.Config(queries=0)
    with pytest.raises(ConfigError, match="step"):
        pp.Config(step=0.0)


def test_the_run_writes_every_path(tmp_path):
    cfg = pp.Config.smoke()
    m = recipes.run("pathplan", cfg, seed=3, out=tmp_path, verbose=False)
    free = grids.generate_map(cfg.size, cfg.rooms, np.random.default_rng(3))
    start, goal = grids.random_queries(free, cfg.queries, np.random.default_rng(4))
    g = grids.Graph(free)
    with np.load(tmp_path / "paths.npz") as z:
        assert sorted(z.files, key=lambda k: int(k[1:])) == [f"q{k}" for k in range(len(start))]
        ratios = []
        for k, (s, e) in enumerate(zip(start, goal)):
            p = z[f"q{k}"]
            assert p.shape[1] == 2 and p[0].tolist() == s.tolist()
            assert p[-1].tolist() == e.tolist() and grids.path_valid(free, p)
            ratios.append(grids.path_length(p) / g.distance(s, e))
    assert m["value"] == np.mean(np.array(ratios) <= pp.TOLERANCE)
    assert m["length_ratio_max"] == pytest.approx(max(ratios))
    assert m["queries"] == len(start) and m["fallbacks"] == len(m["fallback_queries"])
    assert json.loads((tmp_path / "metrics.json").read_text())["valid"] == len(start)


@pytest.mark.parametrize("name, n", [("arena.map", 40), ("Berlin_0_256.map", 12)])
def test_movingai_queries(name, n, tmp_path):
    m, s = _movingai(name)
    cfg = pp.Config(map=str(m), scen=str(s), queries=n)
    out = recipes.run("pathplan", cfg, out=tmp_path, verbose=False)
    assert out["value"] == 1.0 and out["valid"] == n
    assert out["dijkstra_vs_scenario_max_abs"] < 1e-6


def test_the_run_counts_and_names_its_fallbacks(tmp_path, monkeypatch):
    real = pp.descend

    def stalls_on_odd_goals(field, s, g, step, n):
        if int(g[0]) % 2:
            return np.array([s], float), "too many steps"
        return real(field, s, g, step, n)

    monkeypatch.setattr(pp, "descend", stalls_on_odd_goals)
    cfg = pp.Config.smoke()
    m = recipes.run("pathplan", cfg, seed=0, out=tmp_path, verbose=False)
    free = grids.generate_map(cfg.size, cfg.rooms, np.random.default_rng(0))
    _, goal = grids.random_queries(free, cfg.queries, np.random.default_rng(1))
    odd = [str(k) for k in np.flatnonzero(goal[:, 0] % 2)]
    assert 0 < len(odd) < cfg.queries
    assert m["fallback_queries"] == {k: "too many steps" for k in odd}
    assert m["fallbacks"] == len(odd) and m["value"] == 1.0
