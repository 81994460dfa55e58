"""Path planning on grid maps: an eikonal travel-time field, descended and refined by
gradient, made exactly valid.

For each query the travel time ``T`` from the goal is the eikonal equation's solution
(scikit-fmm's fast marching, obstacles masked). A path descends ``-grad T`` from the start
in steps of ``step`` cells (the upwind gradient at cell centres, interpolated
bilinearly), is resampled every ``spacing`` cells, and is refined by gradient descent on
its length plus a smooth obstacle-clearance penalty, the derivative of that whole cost by
:func:`gradkit.value_and_grad` (the clearance is a distance transform interpolated
bilinearly, differentiably). Then the path is made exactly valid: any segment meeting a
blocked cell's closed square is replaced by a bounded Dijkstra detour between the cells
around it, and the result is string-pulled with the exact line-of-sight test of
:func:`gradkit.recipes.shared.grids.segments_valid`. A query the descent cannot finish
(a zero gradient, a saddle at a narrow gap) falls back to Dijkstra's path, shortcut the
same way, and says so (``fallback`` per query).

The default map is generated (rooms and corridors, seeded) with ``queries`` random pairs
of cells of its largest connected region; ``--set map=PATH --set scen=PATH`` runs Moving
AI benchmark files (the first ``queries`` scenarios; 0 for all). The exact reference is
Dijkstra on the 8-connected grid with no corner cutting (``scipy.sparse.csgraph``), and
the seed's greedy planner (step to the 8-neighbour nearest the goal) is shown beside it,
stuck where it gets stuck. Every returned path is written to ``paths.npz`` (``q0``,
``q1``, ...: arrays of (x, y) points, the start first and the goal last).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as onp

from .. import numpy as gnp
from ..errors import GradkitError
from ..transforms import value_and_grad
from ._rundir import RunDir
from ._spec import Spec, at_least, in_range, positive, refuse
from .shared import grids
from .shared.figures import new_figure, save_figure

__all__ = ["Config", "SPEC", "run", "Planner", "travel_time", "descent_field", "descend",
           "TOLERANCE"]

TOLERANCE = 1.01
"""A path counts when it is valid, reaches the goal and is at most this times the optimal
8-connected length."""

SPEC = Spec(
    name="pathplan",
    summary="grid path planning: eikonal travel time (fast marching), gradient descent "
            "and a gradkit-refined path made exactly valid, against Dijkstra",
    metric="valid_within_1.01_fraction", higher_is_better=True, goal=1.0,
    baseline="scipy.sparse.csgraph Dijkstra, 8-connected, no corner cutting",
    baseline_source="measured", requires=("skfmm", "matplotlib"),
    timing_keys=("seconds", "timing"))


@dataclass(frozen=True)
class Config:
    """Settings of the pathplan recipe.

    Parameters
    ----------
    map, scen : str, default "" (a generated map)
        A Moving AI ``.map`` file and its ``.scen`` scenarios. A map without scenarios
        gets ``queries`` random queries like the generated one.
    size : int, default 64
        The generated map's side in cells.
    rooms : int, default 4
        Rooms per side of the generated map.
    queries : int, default 100
        Queries: random pairs of cells, or the first scenarios (0: every scenario).
    step : float, default 0.25
        The gradient descent's step on the travel-time field, in cells.
    spacing : float, default 0.5
        The descended path is resampled every ``spacing`` cells before its refinement.
    refine_steps : int, default 15
        Gradient steps of the refinement (one gradkit ``value_and_grad`` each).
    refine_rate : float, default 0.2
        The refinement's step size (cells per unit of gradient).
    clearance : float, default 0.5
        The clearance (distance to the nearest blocked square, cells) below which the
        penalty rises.
    clearance_weight : float, default 1.0
        The penalty's weight per path point, against the path's length.
    sharpness : float, default 8.0
        The penalty is ``weight * softplus(sharpness * (clearance - c)) / sharpness``.
    chunk : int, default 50
        Queries per checkpointed stage.
    """

    map: str = ""
    scen: str = ""
    size: int = 64
    rooms: int = 4
    queries: int = 100
    step: float = 0.25
    spacing: float = 0.5
    refine_steps: int = 15
    refine_rate: float = 0.2
    clearance: float = 0.5
    clearance_weight: float = 1.0
    sharpness: float = 8.0
    chunk: int = 50

    def __post_init__(self) -> None:
        if self.scen and not self.map:
            raise refuse(self, "map", f"the map of scen={self.scen!r} (--set map=PATH)")
        at_least(self, "size", 16)
        in_range(self, "rooms", 1, self.size // 8)
        at_least(self, "queries", 0 if self.scen else 1)
        in_range(self, "step", 0.05, 1.0)
        in_range(self, "spacing", 0.25, 4.0)
        at_least(self, "refine_steps", 0)
        in_range(self, "refine_rate", 0.0, 1.0)
        in_range(self, "clearance", 0.0, 2.0)
        in_range(self, "clearance_weight", 0.0, 100.0)
        positive(self, "sharpness")
        at_least(self, "chunk", 1)

    @classmethod
    def smoke(cls) -> Config:
        return cls(size=32, rooms=2, queries=12, refine_steps=10, chunk=6)


# -- the planner ------------------------------------------------------------------------

_FAR = 1e12  # stands for the travel time of blocked and unreached cells


def travel_time(free: onp.ndarray, goal) -> onp.ndarray:
    """The eikonal travel time (speed 1, cells) from ``goal`` to every cell, ``[y, x]``,
    by scikit-fmm's fast marching with the blocked cells masked; ``_FAR`` where blocked
    or unreachable. The front starts on a circle of radius 0.25 around the goal's centre,
    so ``T + 0.25`` approximates the distance.

    Examples
    --------
    >>> t = travel_time(onp.ones((5, 9), bool), (0, 2))
    >>> abs(float(t[2, 8] + 0.25) - 8.0) < 0.05  # 8 cells along the row
    True
    """
    import skfmm

    h, w = free.shape
    yy, xx = onp.mgrid[0:h, 0:w]
    phi = onp.hypot(xx - goal[0], yy - goal[1]) - 0.25
    t = skfmm.travel_time(onp.ma.MaskedArray(phi, ~free), onp.ones(free.shape), dx=1.0)
    return onp.ma.filled(t, _FAR).astype(float)


def descent_field(t: onp.ndarray) -> onp.ndarray:
    """``-grad T`` at every cell centre, by upwind differences (towards the smaller
    neighbour on each axis, as fast marching computed it), zero at blocked cells; shape
    ``(2, H + 2, W + 2)`` (a zero border) for the bilinear lookups of :func:`descend`."""
    h, w = t.shape
    pad = onp.full((h + 2, w + 2), _FAR)
    pad[1:-1, 1:-1] = t
    out = onp.zeros((2, h + 2, w + 2))
    for axis, (lo, hi) in enumerate(((pad[1:-1, :-2], pad[1:-1, 2:]),
                                     (pad[:-2, 1:-1], pad[2:, 1:-1]))):
        down_hi = (hi < lo) & (hi < t)
        down_lo = ~down_hi & (lo < t)
        out[axis, 1:-1, 1:-1] = onp.where(down_hi, t - hi, 0.0) - onp.where(down_lo, t - lo,
                                                                           0.0)
    out[:, 1:-1, 1:-1] *= t < _FAR
    return out


def descend(field: onp.ndarray, start, goal, step: float, max_steps: int):
    """Descend the field from ``start`` in steps of ``step`` (the bilinearly interpolated
    direction, normalised) until within one step of ``goal``.

    Returns ``(points, reason)``: ``reason`` is ``"reached"`` (the goal is the last
    point), ``"zero gradient"`` or ``"too many steps"`` (a saddle or an oscillation).

    Examples
    --------
    >>> field = descent_field(travel_time(onp.ones((5, 9), bool), (8, 2)))
    >>> points, reason = descend(field, (0, 2), (8, 2), 0.5, 100)
    >>> reason, len(points), points[-1].tolist()
    ('reached', 17, [8.0, 2.0])
    """
    fx, fy = field[0], field[1]
    w = field.shape[2]
    gx, gy = float(goal[0]), float(goal[1])
    x, y = float(start[0]), float(start[1])
    xs, ys = [x], [y]
    hmax, wmax = field.shape[1] - 2, w - 2
    for _ in range(max_steps):
        if (x - gx) ** 2 + (y - gy) ** 2 <= step * step:
            xs.append(gx)
            ys.append(gy)
            return onp.column_stack([xs, ys]), "reached"
        # Padded index of the cell centre at or below-left of (x, y).
        i = min(max(math.floor(x), -1), wmax - 1)
        j = min(max(math.floor(y), -1), hmax - 1)
        ax, ay = x - i, y - j
        k = (j + 1) * w + (i + 1)
        w00, w10, w01, w11 = (1 - ax) * (1 - ay), ax * (1 - ay), (1 - ax) * ay, ax * ay
        dx = (w00 * fx.item(k) + w10 * fx.item(k + 1) + w01 * fx.item(k + w)
              + w11 * fx.item(k + w + 1))
        dy = (w00 * fy.item(k) + w10 * fy.item(k + 1) + w01 * fy.item(k + w)
              + w11 * fy.item(k + w + 1))
        norm = math.hypot(dx, dy)
        if norm < 1e-9:
            return onp.column_stack([xs, ys]), "zero gradient"
        x, y = x + step * dx / norm, y + step * dy / norm
        xs.append(x)
        ys.append(y)
    return onp.column_stack([xs, ys]), "too many steps"


def _resample(points: onp.ndarray, spacing: float) -> onp.ndarray:
    """Points every ``spacing`` along the polyline (its first and last kept)."""
    s = onp.concatenate([[0.0], onp.cumsum(onp.hypot(*onp.diff(points, axis=0).T))])
    n = max(int(math.ceil(s[-1] / spacing)), 1)
    at = onp.linspace(0.0, s[-1], n + 1)
    return onp.column_stack([onp.interp(at, s, points[:, 0]), onp.interp(at, s, points[:, 1])])


class Planner:
    """The planner of this recipe on one map: the per-map parts (the Dijkstra graph, the
    clearance field, the padded obstacle grid) are built once, then :meth:`plan` answers
    queries.

    Examples
    --------
    >>> free = onp.ones((6, 8), bool)
    >>> free[1:5, 4] = False
    >>> out = Planner(free, Config()).plan((1, 3), (6, 3))
    >>> out["reason"], grids.path_valid(free, out["path"]), out["path"][[0, -1]].tolist()
    ('reached', True, [[1.0, 3.0], [6.0, 3.0]])
    """

    def __init__(self, free: onp.ndarray, cfg: Config) -> None:
        from scipy import ndimage

        self.free = onp.asarray(free, bool)
        self.cfg = cfg
        self.blocked = grids.padded_blocked(self.free)
        self.graph = grids.Graph(self.free)
        # Clearance at cell centres: the distance to the nearest blocked cell's square
        # (through its centre, the nearest blocked centre), -0.5 inside blocked cells, so
        # that the bilinear interpolation is 0 half-way between a free and a blocked centre.
        dist, (iy, ix) = ndimage.distance_transform_edt(~self.blocked, return_indices=True)
        yy, xx = onp.indices(self.blocked.shape)
        gap_x = onp.maximum(onp.abs(ix - xx) - 0.5, 0.0)
        gap_y = onp.maximum(onp.abs(iy - yy) - 0.5, 0.0)
        self.clear = onp.where(self.blocked, -0.5, onp.hypot(gap_x, gap_y))
        self._cost = value_and_grad(self._path_cost)

    def _path_cost(self, p, base, coef):
        """Length + clearance penalty of the whole path ``p`` (n, 2). ``base`` holds the
        cells below-left of the points (constants) and ``coef`` the bilinear
        coefficients of the clearance there: ``c = A + ax B + ay (C + ax D)``."""
        cfg = self.cfg
        d = p[1:] - p[:-1]
        length = gnp.sum(gnp.sqrt(gnp.sum(d * d, axis=1) + 1e-12))
        a = p - base
        ax, ay = a[:, 0], a[:, 1]
        near = coef[0] + ax * coef[1] + ay * (coef[2] + ax * coef[3])
        k = cfg.sharpness
        return length + (cfg.clearance_weight / k) * gnp.sum(
            gnp.softplus(k * (cfg.clearance - near)))

    def refine(self, points: onp.ndarray) -> onp.ndarray:
        """Gradient descent on length + clearance penalty, the end points fixed."""
        if len(points) < 3 or self.cfg.refine_steps == 0:
            return points
        p = points.copy()
        c = self.clear
        hmax, wmax = c.shape[0] - 2, c.shape[1] - 2
        for _ in range(self.cfg.refine_steps):
            # The cell corners around each point, fixed for this step (indices into the
            # padded clearance field; outside the map the border's values extrapolate).
            i = onp.clip(onp.floor(p[:, 0]).astype(onp.int64), -1, wmax - 1) + 1
            j = onp.clip(onp.floor(p[:, 1]).astype(onp.int64), -1, hmax - 1) + 1
            c00, c10, c01, c11 = c[j, i], c[j, i + 1], c[j + 1, i], c[j + 1, i + 1]
            coef = (c00, c10 - c00, c01 - c00, c11 - c10 - c01 + c00)
            base = onp.column_stack([i - 1, j - 1]).astype(float)
            _, g = self._cost(p, base, coef)
            g = onp.asarray(g)
            g[[0, -1]] = 0.0
            p -= self.cfg.refine_rate * g
        return p

    def repair(self, points: onp.ndarray) -> tuple[onp.ndarray, int]:
        """Replace each run of invalid segments by a Dijkstra detour (bounded search)
        between the cells of the valid points around it; the number of runs replaced."""
        p = points
        ok_seg = grids.segments_valid(None, p[:-1], p[1:], blocked=self.blocked)
        if ok_seg.all():
            return p, 0
        # Anchors: valid points whose onward segment is valid (the goal is one).
        anchor = grids.segments_valid(None, p, p, blocked=self.blocked)
        anchor[:-1] &= ok_seg
        pieces, done, runs = [], 0, 0
        for i in onp.flatnonzero(~ok_seg):
            if i < done:  # inside the run just replaced
                continue
            b = i + 1 + int(onp.argmax(anchor[i + 1:]))
            ca, cb = grids.cell_of(p[i]), grids.cell_of(p[b])
            bound = 2.0 * float(onp.hypot(*(cb - ca))) + 8.0
            pieces += [p[done:i + 1], self.graph.path(ca, cb, limit=bound)]
            done, runs = b, runs + 1
        return onp.concatenate([*pieces, p[done:]]), runs

    def plan(self, start, goal) -> dict:
        """One query: ``path`` (an (n, 2) array of (x, y), the start first and the goal
        last), ``descent`` (the initial path), ``refined``, ``reason`` (how the descent
        ended), ``fallback`` (Dijkstra's path was returned) and ``repairs``."""
        cfg = self.cfg
        start = onp.asarray(start, float)
        goal = onp.asarray(goal, float)
        t = travel_time(self.free, goal.astype(int))
        t0 = t[int(start[1]), int(start[0])]
        if t0 >= _FAR:
            raise refuse(cfg, "map", f"a map where goal {tuple(goal)} is reachable from "
                                     f"start {tuple(start)}")
        descent, reason = descend(descent_field(t), start, goal, cfg.step,
                                  int(3 * (t0 + 2) / cfg.step) + 20)
        out = {"descent": descent, "reason": reason, "repairs": 0, "fallback": False}
        if reason == "reached":
            refined = self.refine(_resample(descent, cfg.spacing))
            out["refined"] = refined
            try:
                chain, out["repairs"] = self.repair(refined)
            except GradkitError:  # a detour beyond the bounded search
                chain = None
            if chain is not None:
                path, bad = grids.shortcut(None, chain, blocked=self.blocked)
                if bad == 0 and grids.path_valid(None, path, blocked=self.blocked):
                    out["path"] = path
                    return out
            out["reason"] = "not repaired"
        else:
            out["refined"] = descent
        out["fallback"] = True
        out["path"] = grids.shortcut(None, self.graph.path(start, goal),
                                     blocked=self.blocked)[0]
        return out


# -- the recipe -------------------------------------------------------------------------


def _load(cfg: Config, seed: int):
    """The map and the queries (start, goal, scenario optimum or NaN)."""
    if cfg.map:
        free = grids.read_map(cfg.map)
    else:
        free = grids.generate_map(cfg.size, cfg.rooms, onp.random.default_rng(seed))
    if cfg.scen:
        sc = grids.read_scen(cfg.scen)
        if sc.shape != free.shape:
            raise refuse(cfg, "scen", f"scenarios of a {free.shape[0]}x{free.shape[1]} map")
        n = cfg.queries or len(sc.start)
        return free, sc.start[:n], sc.goal[:n], sc.optimal[:n]
    start, goal = grids.random_queries(free, cfg.queries, onp.random.default_rng(seed + 1))
    return free, start, goal, onp.full(len(start), onp.nan)


def run(cfg: Config, rd: RunDir) -> dict:
    """Plan every query; check each path exactly against Dijkstra's optimum.

    Figures: ``field.png`` (the travel-time field of the longest query with its
    gradient, the descended, refined and returned paths) and ``paths.png`` (every path,
    the greedy planner stuck, and each path's length over the optimum).
    """
    free, start, goal, scen_opt = _load(cfg, rd.seed)
    n = len(start)

    def reference():
        g = grids.Graph(free)
        found = [g.path(s, e) for s, e in zip(start, goal)]
        return {"dijkstra": onp.array([grids.path_length(p) for p in found]),
                "dijkstra_valid": onp.array([grids.path_valid(free, p) for p in found])}, {}

    ref, _ = rd.stage("reference", reference)
    optimal = onp.where(onp.isnan(scen_opt), ref["dijkstra"], scen_opt)
    baseline = ref["dijkstra_valid"] & (ref["dijkstra"] <= TOLERANCE * optimal + 1e-12)
    planner = Planner(free, cfg)
    paths, flags, times, why = [], [], [], {}
    for lo in range(0, n, cfg.chunk):
        arrays, vals = rd.stage(f"plan-{lo}", lambda lo=lo: _plan_chunk(
            planner, start[lo:lo + cfg.chunk], goal[lo:lo + cfg.chunk]))
        cut = onp.cumsum(arrays["sizes"])[:-1]
        paths += onp.split(arrays["points"], cut)
        flags.append(arrays["flags"])
        times += vals["ms"]
        why.update({str(lo + int(k)): r for k, r in vals["fallbacks"].items()})
        rd.say(f"  queries {lo + 1}-{min(lo + cfg.chunk, n)} of {n} planned")
    flags = onp.concatenate(flags)
    greedy_out, _ = rd.stage("greedy", lambda: _greedy_all(free, start, goal))
    reached = greedy_out["reached"].astype(bool)
    lengths = onp.array([grids.path_length(p) for p in paths])
    valid = onp.array([grids.path_valid(None, p, blocked=planner.blocked) for p in paths])
    ends = onp.array([onp.array_equal(p[0], s) and onp.array_equal(p[-1], e)
                      for p, s, e in zip(paths, start, goal)])
    ratio = lengths / optimal
    good = valid & ends & (ratio <= TOLERANCE + 1e-12)
    onp.savez(rd.path / "paths.npz", **{f"q{k}": p for k, p in enumerate(paths)})
    _plot_field(planner, start, goal, optimal, flags, rd.figure_path("field"))
    _plot_paths(free, paths, start, goal, ratio, flags, reached, rd.figure_path("paths"))
    return {
        "value": float(good.mean()), "baseline_value": float(baseline.mean()), "queries": n,
        "map": cfg.map or f"generated {cfg.size}x{cfg.size}, {cfg.rooms}x{cfg.rooms} rooms",
        "valid": int(valid.sum()), "reach_goal": int(ends.sum()),
        "within_tolerance": int(good.sum()),
        "length_ratio_max": float(ratio.max()), "length_ratio_mean": float(ratio.mean()),
        "shorter_than_optimal": int((ratio < 1 - 1e-9).sum()),
        "fallbacks": int(flags[:, 0].sum()),
        "fallback_queries": why,
        "repaired_segment_runs": int(flags[:, 1].sum()),
        "dijkstra_vs_scenario_max_abs": (None if onp.isnan(scen_opt).all() else float(
            onp.abs(ref["dijkstra"] - scen_opt).max())),
        "greedy_reached": int(reached.sum()), "greedy_stuck": int(n - reached.sum()),
        "timing": {"median_ms_per_query": float(onp.median(times)),
                   "max_ms_per_query": float(onp.max(times))},
    }


def _plan_chunk(planner: Planner, starts, goals):
    paths, flags, ms, why = [], [], [], {}
    for k, (s, g) in enumerate(zip(starts, goals)):
        t0 = time.perf_counter()
        out = planner.plan(s, g)
        ms.append(1e3 * (time.perf_counter() - t0))
        paths.append(out["path"])
        flags.append((out["fallback"], out["repairs"]))
        if out["fallback"]:
            why[str(k)] = out["reason"]
    return ({"points": onp.concatenate(paths), "sizes": onp.array([len(p) for p in paths]),
             "flags": onp.array(flags, dtype=onp.int64)}, {"ms": ms, "fallbacks": why})


def _greedy_all(free, start, goal):
    return {"reached": onp.array([grids.greedy(free, s, g)[1] for s, g in zip(start, goal)])}, {}


def _plot_field(planner: Planner, start, goal, optimal, flags, path: Path) -> None:
    """The longest query's travel time, its gradient and its paths."""
    order = onp.argsort(-optimal)
    k = int(next((q for q in order if not flags[q, 0]), order[0]))
    out = planner.plan(start[k], goal[k])
    t = travel_time(planner.free, goal[k])
    field = descent_field(t)[:, 1:-1, 1:-1]
    # The paths' surroundings: a margin of a fifth of their extent (8 cells at least).
    pts = onp.concatenate([out["descent"], out["path"]])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    margin = max(8.0, 0.2 * float((hi - lo).max()))
    (x0, y0), (x1, y1) = onp.maximum(onp.floor(lo - margin), 0).astype(int), onp.minimum(
        onp.ceil(hi + margin), onp.array(t.shape[::-1]) - 1).astype(int)
    t, free = t[y0:y1 + 1, x0:x1 + 1], planner.free[y0:y1 + 1, x0:x1 + 1]
    field = field[:, y0:y1 + 1, x0:x1 + 1]
    h, w = t.shape
    fig, ax = new_figure(figsize=(7.5, 7.5 * h / w + 0.6))
    extent = (x0 - 0.5, x1 + 0.5, y1 + 0.5, y0 - 0.5)
    im = ax.imshow(onp.ma.masked_where(t >= _FAR, t), cmap="viridis", extent=extent)
    ax.imshow(onp.ma.masked_where(free, onp.ones_like(t)), cmap="gray_r", vmin=0, vmax=1.3,
              extent=extent)
    fig.colorbar(im, ax=ax, fraction=0.04, label="travel time from the goal (cells)")
    every = max(1, max(h, w) // 32)
    yy, xx = onp.mgrid[y0:y1 + 1:every, x0:x1 + 1:every]
    fx, fy = field[0][::every, ::every], field[1][::every, ::every]
    norm = onp.maximum(onp.hypot(fx, fy), 1e-12)
    keep = free[::every, ::every]
    ax.quiver(xx[keep], yy[keep], (fx / norm)[keep], (fy / norm)[keep], color="w",
              angles="xy", scale_units="xy", scale=1.0 / every * 1.4, width=0.002)
    for pts, style, label in ((out["descent"], ":", "gradient descent"),
                              (out["refined"], "--", "refined (gradkit)"),
                              (out["path"], "-", "returned (exactly valid)")):
        ax.plot(pts[:, 0], pts[:, 1], style, lw=1.4, label=f"{label}: "
                f"{grids.path_length(pts):.2f}")
    ax.plot(*start[k], "o", color="tab:green", label="start")
    ax.plot(*goal[k], "*", color="tab:red", ms=10, label="goal")
    ax.set_title(f"query {k}: optimal 8-connected length {optimal[k]:.2f}; arrows: -grad T",
                 fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    save_figure(fig, path, dpi=80)


def _plot_paths(free, paths, start, goal, ratio, flags, reached, path: Path) -> None:
    fig, (ax1, ax2) = new_figure(1, 2, figsize=(12, 5.6))
    ax1.imshow(~free, cmap="gray_r", vmin=0, vmax=1.3, origin="upper")
    for p in paths:
        ax1.plot(p[:, 0], p[:, 1], "-", color="tab:blue", lw=0.6, alpha=0.6)
    shown = onp.flatnonzero(~reached)[:6]
    for q in shown:
        cells, _ = grids.greedy(free, start[q], goal[q])
        ax1.plot(cells[:, 0], cells[:, 1], "-", color="tab:red", lw=1.2)
        ax1.plot(*cells[-1], "x", color="tab:red", ms=8, mew=2)
        ax1.plot(*goal[q], "*", color="tab:red", ms=8)
    ax1.set_title(f"{len(paths)} returned paths (blue); the greedy planner stuck on "
                  f"{int((~reached).sum())} (red, x where it stops)", fontsize=9)
    fb = flags[:, 0].astype(bool)
    ax2.plot(onp.flatnonzero(~fb), ratio[~fb], ".", label="descent + refinement")
    ax2.plot(onp.flatnonzero(fb), ratio[fb], "s", color="tab:orange", mfc="none",
             label=f"Dijkstra fallback ({int(fb.sum())})")
    ax2.axhline(TOLERANCE, color="tab:red", lw=0.8, label=f"{TOLERANCE}x optimal")
    ax2.axhline(1.0, color="0.6", lw=0.6)
    ax2.set_xlabel("query")
    ax2.set_ylabel("length / optimal 8-connected length")
    ax2.set_title(f"max {ratio.max():.4f}; shorter than the 8-connected optimum on "
                  f"{int((ratio < 1 - 1e-9).sum())} (any-angle)", fontsize=9)
    ax2.legend(fontsize=8)
    save_figure(fig, path, dpi=80)
