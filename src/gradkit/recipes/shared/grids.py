"""Grid maps for path planning: Moving AI files, the 8-connected graph and Dijkstra, the
exact segment test, generated rooms-and-corridors maps and the seed's greedy planner.

A map is a boolean array ``free[y, x]`` (row ``y``, column ``x``); a point ``(x, y)`` is in
cell units, the centre of the cell in column ``x``, row ``y`` at ``(x, y)``, so a cell is
the closed unit square centred there. Moves are 8-connected with no corner cutting (a
diagonal move needs both orthogonal neighbours free), orthogonal cost 1, diagonal
``sqrt(2)``: the Moving AI benchmarks' rules (Sturtevant 2012). A segment is *valid* when
every point of it lies in free cells only: it may not touch a blocked cell's closed square
(an edge or a corner) nor leave the map.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as onp

from ...errors import GradkitError
from ...validation import invalid

__all__ = ["Scenarios", "read_map", "read_scen", "Graph", "moves_allowed", "padded_blocked",
           "segments_valid", "path_valid", "path_length", "shortcut", "largest_region",
           "cell_of", "MOVES", "generate_map", "random_queries", "greedy"]

_FREE, _BLOCKED = ".GS", "@OTW"
SQRT2 = float(onp.sqrt(2.0))


def read_map(path) -> onp.ndarray:
    """A Moving AI ``.map`` file as ``free[y, x]``.

    The format: ``type octile``, ``height H``, ``width W``, ``map``, then ``H`` rows of
    ``W`` characters: ``.``, ``G`` and ``S`` passable, ``@``, ``O``, ``T`` and ``W``
    blocked. Line endings may be LF or CRLF.

    Raises
    ------
    GradkitError
        A missing file, a bad header, a row of the wrong length or an unknown character.

    Examples
    --------
    >>> import tempfile
    >>> text = "type octile\\nheight 2\\nwidth 3\\nmap\\n.@.\\n..T\\n"
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "tiny.map"
    ...     _ = p.write_text(text)
    ...     read_map(p).astype(int).tolist()
    [[1, 0, 1], [1, 1, 0]]
    """
    call = "grids.read_map"
    lines = _lines(path, call)
    head = [ln.split() for ln in lines[:4]]
    try:
        ok = (head[0] == ["type", "octile"] and head[1][0] == "height"
              and head[2][0] == "width" and head[3] == ["map"])
        height, width = int(head[1][1]), int(head[2][1])
    except (IndexError, ValueError):
        ok = False
    if not ok or height < 1 or width < 1:
        raise invalid(call, "path", "a Moving AI map ('type octile', 'height H', 'width W', "
                      "'map', then the rows)", got=f"{path} starting {lines[:4]!r}")
    rows = [ln.rstrip() for ln in lines[4:4 + height]]
    if len(rows) != height or any(len(r) != width for r in rows):
        lengths = sorted({len(r) for r in rows})
        raise invalid(call, "path", f"{height} rows of {width} characters",
                      got=f"{len(rows)} rows of lengths {lengths} in {path}")
    chars = onp.array([list(r) for r in rows])
    unknown = sorted(set(chars.ravel()) - set(_FREE + _BLOCKED))
    if unknown:
        raise invalid(call, "path", f"map characters from {_FREE + _BLOCKED!r}",
                      got=f"{unknown!r} in {path}")
    return onp.isin(chars, list(_FREE))


@dataclass
class Scenarios:
    """A Moving AI ``.scen`` file: one query per row, points as ``(x, y)``."""

    start: onp.ndarray  # (n, 2) int
    goal: onp.ndarray  # (n, 2) int
    optimal: onp.ndarray  # (n,) float: the optimal 8-connected length
    bucket: onp.ndarray  # (n,) int
    map_name: str
    shape: tuple[int, int]  # (height, width)


def read_scen(path) -> Scenarios:
    """A Moving AI ``.scen`` file (``version 1``; tab-separated: bucket, map, width,
    height, start x, start y, goal x, goal y, optimal length).

    Raises
    ------
    GradkitError
        A missing file, another version, a row that does not parse, or rows naming
        different maps or sizes.

    Examples
    --------
    >>> import tempfile
    >>> text = "version 1\\n0\\ta.map\\t3\\t2\\t0\\t0\\t2\\t1\\t2.41421356\\n"
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "a.map.scen"
    ...     _ = p.write_text(text)
    ...     s = read_scen(p)
    >>> s.start.tolist(), s.goal.tolist(), s.optimal.tolist(), s.shape
    ([[0, 0]], [[2, 1]], [2.41421356], (2, 3))
    """
    call = "grids.read_scen"
    lines = [ln for ln in _lines(path, call) if ln.strip()]
    if not lines or lines[0].split() != ["version", "1"]:
        raise invalid(call, "path", "a Moving AI scenario file starting 'version 1'",
                      got=f"{path} starting {lines[:1]!r}")
    rows = []
    for k, ln in enumerate(lines[1:], start=2):
        parts = ln.split("\t")
        try:
            if len(parts) != 9:
                raise ValueError
            rows.append((int(parts[0]), parts[1], int(parts[2]), int(parts[3]),
                         *map(int, parts[4:8]), float(parts[8])))
        except ValueError:
            raise invalid(call, "path", "rows of 9 tab-separated fields (bucket, map, "
                          "width, height, start x, start y, goal x, goal y, length)",
                          got=f"line {k} {ln!r} of {path}") from None
    if not rows:
        raise invalid(call, "path", "at least one scenario", got=f"none in {path}")
    kinds = {(r[1], r[2], r[3]) for r in rows}
    if len(kinds) != 1:
        raise invalid(call, "path", "scenarios of one map", got=f"{sorted(kinds)} in {path}")
    a = onp.array([r[4:8] for r in rows], dtype=onp.int64)
    name, width, height = kinds.pop()
    return Scenarios(a[:, :2], a[:, 2:], onp.array([r[8] for r in rows]),
                     onp.array([r[0] for r in rows]), name, (height, width))


def _lines(path, call: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="ascii", errors="strict").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise GradkitError(f"{call}: cannot read {path}: {e}") from None


# The 8 moves (dx, dy) and their costs: orthogonal first.
MOVES = onp.array([(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)])
_COSTS = onp.where(onp.abs(MOVES).sum(axis=1) == 2, SQRT2, 1.0)


def moves_allowed(free: onp.ndarray) -> onp.ndarray:
    """``allowed[k, y, x]``: whether move ``k`` of :data:`MOVES` from cell ``(x, y)`` is
    legal (both cells free, and for a diagonal both orthogonal neighbours free).

    Examples
    --------
    >>> free = onp.array([[True, False], [True, True]])
    >>> MOVES[moves_allowed(free)[:, 0, 0]].tolist()
    [[0, 1]]
    """
    h, w = free.shape
    pad = onp.zeros((h + 2, w + 2), bool)
    pad[1:-1, 1:-1] = free

    def shifted(dx, dy):
        return pad[1 + dy:h + 1 + dy, 1 + dx:w + 1 + dx]

    out = onp.empty((8, h, w), bool)
    for k, (dx, dy) in enumerate(MOVES):
        out[k] = free & shifted(dx, dy) & shifted(dx, 0) & shifted(0, dy)
    return out


class Graph:
    """The 8-connected, no-corner-cutting graph of a map's free cells (a sparse matrix
    for :mod:`scipy.sparse.csgraph`), and Dijkstra's shortest paths on it.

    Examples
    --------
    >>> free = onp.ones((3, 3), bool)
    >>> free[1, 1] = False
    >>> g = Graph(free)
    >>> round(g.distance((0, 0), (2, 2)), 6), g.path((0, 0), (2, 0)).tolist()
    (4.0, [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    """

    def __init__(self, free: onp.ndarray) -> None:
        from scipy.sparse import csr_matrix

        self.free = onp.asarray(free, bool)
        h, w = self.free.shape
        self.node = onp.full((h, w), -1, onp.int64)
        self.node[self.free] = onp.arange(int(self.free.sum()))
        allowed = moves_allowed(self.free)
        k, y, x = onp.nonzero(allowed)
        src = self.node[y, x]
        dst = self.node[y + MOVES[k, 1], x + MOVES[k, 0]]
        n = len(onp.flatnonzero(self.free))
        self.matrix = csr_matrix((_COSTS[k], (src, dst)), shape=(n, n))
        self.cells = onp.argwhere(self.free)[:, ::-1]  # node -> (x, y)

    def _node(self, p, name: str) -> int:
        x, y = int(p[0]), int(p[1])
        h, w = self.free.shape
        if not (0 <= x < w and 0 <= y < h and self.free[y, x]):
            raise invalid("grids.Graph", name, "a free cell (x, y) of the map", tuple(p))
        return int(self.node[y, x])

    def distances(self, source) -> onp.ndarray:
        """Shortest 8-connected lengths from cell ``source`` to every cell (inf where
        unreachable or blocked), as ``[y, x]``."""
        from scipy.sparse.csgraph import dijkstra

        d = dijkstra(self.matrix, indices=self._node(source, "source"))
        out = onp.full(self.free.shape, onp.inf)
        out[self.free] = d
        return out

    def distance(self, start, goal) -> float:
        return float(self.distances(start)[int(goal[1]), int(goal[0])])

    def path(self, start, goal, limit: float = onp.inf) -> onp.ndarray:
        """Dijkstra's shortest path of cell centres ``(x, y)`` from ``start`` to ``goal``.

        ``limit`` bounds the search (csgraph's ``limit``): cells farther than it from the
        goal are not explored. Raises GradkitError when the goal cannot be reached.
        """
        from scipy.sparse.csgraph import dijkstra

        s, g = self._node(start, "start"), self._node(goal, "goal")
        # From the goal, so that the predecessors lead from the start to the goal.
        _, pred = dijkstra(self.matrix, indices=g, return_predecessors=True, limit=limit)
        if s != g and pred[s] < 0:
            raise invalid("grids.Graph.path", "goal", f"reachable from start {tuple(start)}",
                          tuple(goal))
        chain = [s]
        while chain[-1] != g:
            chain.append(int(pred[chain[-1]]))
        return self.cells[chain].astype(float)


def cell_of(points: onp.ndarray) -> onp.ndarray:
    """The cell ``(x, y)`` holding each point (half-way points go to the higher cell).

    Examples
    --------
    >>> cell_of([[0.4, 1.5], [2.6, -0.2]]).tolist()
    [[0, 2], [3, 0]]
    """
    return onp.floor(onp.asarray(points, float) + 0.5).astype(onp.int64)


def padded_blocked(free: onp.ndarray) -> onp.ndarray:
    """``~free`` with a border of blocked cells around it (what :func:`segments_valid`
    looks cells up in; pass it as ``blocked=`` to save rebuilding it on every call)."""
    free = onp.asarray(free, bool)
    blocked = onp.ones((free.shape[0] + 2, free.shape[1] + 2), bool)
    blocked[1:-1, 1:-1] = ~free
    return blocked


def segments_valid(free: onp.ndarray | None, a, b, *,
                   blocked: onp.ndarray | None = None) -> onp.ndarray:
    """Whether each segment ``a[i] -> b[i]`` lies in free cells only.

    Exact: a segment is invalid when it meets a blocked cell's closed unit square (an
    edge or a corner is enough, so a segment between two diagonally blocked cells is
    invalid) or leaves the map. For each segment the cells along its major axis are
    enumerated (at most four candidates per column, vectorised over all segments), and
    each candidate square is tested by separating axes: the two axes and the segment's
    normal, with cross products that are exact for coordinates on a half-cell lattice.

    Parameters
    ----------
    free : bool array (H, W), or None with ``blocked``
    a, b : arrays (n, 2) of points (x, y)
    blocked : bool array (H + 2, W + 2), optional
        :func:`padded_blocked` of the map, precomputed.

    Examples
    --------
    >>> free = onp.ones((2, 2), bool)
    >>> free[0, 1] = False  # the cell at (1, 0)
    >>> a = onp.array([[0.0, 0.0], [0.0, 1.0], [0.0, 0.4]])
    >>> b = onp.array([[1.0, 1.0], [1.0, 1.0], [0.4, 0.4]])
    >>> segments_valid(free, a, b).tolist()  # grazing the corner at (0.5, 0.5)
    [False, True, True]
    """
    if blocked is None:
        blocked = padded_blocked(free)
    a = onp.asarray(a, float).reshape(-1, 2)
    b = onp.asarray(b, float).reshape(-1, 2)
    n = len(a)
    if n == 0:
        return onp.zeros(0, bool)
    h, w = blocked.shape[0] - 2, blocked.shape[1] - 2
    d = b - a
    steep = onp.abs(d[:, 1]) > onp.abs(d[:, 0])
    # (u, v): the major and minor axis of each segment, u increasing from p to q.
    major = steep.astype(onp.int64)
    idx = onp.arange(n)
    pu, pv, qu, qv = a[idx, major], a[idx, 1 - major], b[idx, major], b[idx, 1 - major]
    flip = pu > qu
    pu, qu = onp.where(flip, qu, pu), onp.where(flip, pu, qu)
    pv, qv = onp.where(flip, qv, pv), onp.where(flip, pv, qv)
    eps = 1e-9
    first = onp.ceil(pu - 0.5 - eps).astype(onp.int64)
    count = onp.floor(qu + 0.5 + eps).astype(onp.int64) - first + 1
    seg = onp.repeat(idx, count)
    offset = onp.arange(len(seg)) - onp.repeat(onp.cumsum(count) - count, count)
    cu = first[seg] + offset
    du = qu - pu
    slope = onp.divide(qv - pv, du, out=onp.zeros(n), where=du > 0)
    lo_u = onp.maximum(cu - 0.5, pu[seg])
    hi_u = onp.minimum(cu + 0.5, qu[seg])
    v_lo = pv[seg] + (lo_u - pu[seg]) * slope[seg]
    v_hi = pv[seg] + (hi_u - pu[seg]) * slope[seg]
    cv0 = onp.ceil(onp.minimum(v_lo, v_hi) - 0.5 - eps).astype(onp.int64)
    # Four candidates per column cover [v_min - 0.5, v_max + 0.5] (|slope| <= 1).
    seg = onp.repeat(seg, 4)
    cu = onp.repeat(cu, 4)
    cv = (cv0[:, None] + onp.arange(4)).ravel()
    steep_c = steep[seg]
    cx, cy = onp.where(steep_c, cv, cu), onp.where(steep_c, cu, cv)
    hit = blocked[onp.clip(cy + 1, 0, h + 1), onp.clip(cx + 1, 0, w + 1)]
    hit &= _touches_square(a[seg], b[seg], cx, cy)
    return onp.bincount(seg[hit], minlength=n) == 0


def _touches_square(a, b, cx, cy) -> onp.ndarray:
    """Whether closed segments ``a -> b`` meet the closed unit squares centred at
    ``(cx, cy)`` (separating axis test)."""
    xlo, xhi = onp.minimum(a[:, 0], b[:, 0]), onp.maximum(a[:, 0], b[:, 0])
    ylo, yhi = onp.minimum(a[:, 1], b[:, 1]), onp.maximum(a[:, 1], b[:, 1])
    boxes = (cx - 0.5 <= xhi) & (cx + 0.5 >= xlo) & (cy - 0.5 <= yhi) & (cy + 0.5 >= ylo)
    dx, dy = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
    rx, ry = cx - a[:, 0], cy - a[:, 1]
    centre = dx * ry - dy * rx
    reach = 0.5 * (onp.abs(dx) + onp.abs(dy))  # the largest |cross| change at a corner
    return boxes & (centre - reach <= 0) & (centre + reach >= 0)


def path_valid(free: onp.ndarray | None, points, *, blocked: onp.ndarray | None = None
               ) -> bool:
    """Whether every segment of the polyline (and every point of it) lies in free cells.

    Examples
    --------
    >>> free = onp.array([[True, True], [True, False]])
    >>> path_valid(free, [[0, 0], [1, 0]]), path_valid(free, [[0, 1], [1, 0]])
    (True, False)
    """
    p = onp.asarray(points, float).reshape(-1, 2)
    if len(p) == 1:
        return bool(segments_valid(free, p, p, blocked=blocked)[0])
    return bool(segments_valid(free, p[:-1], p[1:], blocked=blocked).all())


def path_length(points) -> float:
    """The Euclidean length of a polyline of points (x, y).

    Examples
    --------
    >>> path_length([[0, 0], [3, 4], [3, 5]])
    6.0
    """
    p = onp.asarray(points, float).reshape(-1, 2)
    return float(onp.hypot(*onp.diff(p, axis=0).T).sum()) if len(p) > 1 else 0.0


def shortcut(free: onp.ndarray | None, points, window: int = 32, *,
             blocked: onp.ndarray | None = None) -> tuple[onp.ndarray, int]:
    """String-pull a polyline with the exact line-of-sight test: from each kept vertex,
    jump to the farthest later point the segment to which is valid.

    The candidates are tested in windows of ``window`` points (doubled while the farthest
    one is visible), a dozen of a window at once: its first 8 points and more sparsely
    (geometrically spaced) up to its last, for dense polylines (a descent's points) need
    not all be tried. Where not even the next point is visible
    (the polyline crosses a wall there), the vertex is kept and the walk goes on from the
    next point: the second return value counts those invalid steps (0: the result is a
    valid path whenever the input's points are valid points). The result is never longer
    than the input (the triangle inequality).

    Examples
    --------
    >>> free = onp.ones((3, 4), bool)
    >>> free[1, 1] = False
    >>> corner = onp.array([[0, 0], [0, 1], [0, 2], [1, 2], [2, 2], [3, 2]], float)
    >>> p, bad = shortcut(free, corner)
    >>> p.tolist(), bad
    ([[0.0, 0.0], [0.0, 2.0], [3.0, 2.0]], 0)
    """
    if blocked is None:
        blocked = padded_blocked(free)
    p = onp.asarray(points, float).reshape(-1, 2)
    n = len(p)
    keep, bad, i = [0], 0, 0
    while i < n - 1:
        best, lo, size = -1, i + 1, window
        while lo < n:
            hi = min(n, lo + size)
            far = onp.rint(onp.geomspace(max(lo + 8 - i, 1), hi - 1 - i, 12)).astype(onp.int64)
            cand = onp.unique(onp.concatenate([onp.arange(lo, min(hi, lo + 8)), i + far]))
            cand = cand[(cand >= lo) & (cand < hi)]
            ok = segments_valid(None, onp.repeat(p[i:i + 1], len(cand), axis=0), p[cand],
                                blocked=blocked)
            if ok.any():
                best = int(cand[onp.flatnonzero(ok)[-1]])
            if not ok[-1] or hi == n:
                break
            lo, size = hi, 2 * size
        if best < 0:
            bad, best = bad + 1, i + 1
        keep.append(best)
        i = best
    return p[keep], bad


def largest_region(free: onp.ndarray) -> onp.ndarray:
    """The largest connected region of free cells, as a boolean map.

    With no corner cutting a diagonal move needs both orthogonal neighbours free, so
    8-connected regions are exactly the 4-connected ones (SciPy's default labelling).

    Examples
    --------
    >>> free = onp.array([[1, 0, 1], [0, 1, 1]], bool)  # (0, 0) touches only a corner
    >>> largest_region(free).astype(int).tolist()
    [[0, 0, 1], [0, 1, 1]]
    """
    from scipy import ndimage

    labels, count = ndimage.label(free)
    if count == 0:
        raise invalid("grids.largest_region", "free", "a map with a free cell",
                      got="no free cell")
    sizes = onp.bincount(labels.ravel())[1:]
    return labels == 1 + int(onp.argmax(sizes))


# -- generated maps and the seed's greedy planner ---------------------------------------


def generate_map(size: int, rooms: int, rng: onp.random.Generator) -> onp.ndarray:
    """A seeded rooms-and-corridors map ``free[y, x]``: one room per block of a
    ``rooms x rooms`` lattice, corridors (1 or 2 cells wide, L-shaped) joining
    neighbouring rooms along a random spanning tree plus a few extra links, and pillars
    and diagonal pairs of blocked cells inside the rooms (the narrow gaps between them are
    where descents stall and corners get cut).

    Examples
    --------
    >>> free = generate_map(32, 2, onp.random.default_rng(0))
    >>> free.shape, bool(free[0].any() or free[:, 0].any())
    ((32, 32), False)
    """
    free = onp.zeros((size, size), bool)
    block = size // rooms
    centre = {}
    for i in range(rooms):
        for j in range(rooms):
            w, h = rng.integers(block // 2, block - 2, size=2)
            x0 = j * block + 1 + rng.integers(0, block - w - 1)
            y0 = i * block + 1 + rng.integers(0, block - h - 1)
            free[y0:y0 + h, x0:x0 + w] = True
            centre[i, j] = (int(x0 + w // 2), int(y0 + h // 2))
            for _ in range(int(w * h) // 24):
                px, py = x0 + 1 + rng.integers(0, max(w - 2, 1)), y0 + 1 + rng.integers(
                    0, max(h - 2, 1))
                if rng.random() < 0.5:  # a pillar
                    free[py:py + rng.integers(1, 3), px:px + rng.integers(1, 3)] = False
                else:  # a diagonal pair: no corner cutting between them
                    free[py, px] = False
                    free[min(py + 1, size - 2), min(px + 1, size - 2)] = False
    links = [((i, j), (i, j + 1)) for i in range(rooms) for j in range(rooms - 1)]
    links += [((i, j), (i + 1, j)) for i in range(rooms - 1) for j in range(rooms)]
    order = rng.permutation(len(links))
    parent = {k: k for k in centre}

    def root(k):
        while parent[k] != k:
            k = parent[k]
        return k

    for n in order:
        a, b = links[n]
        joined = root(a) != root(b)
        if joined:
            parent[root(a)] = root(b)
        if joined or rng.random() < 0.3:
            _corridor(free, centre[a], centre[b], int(rng.integers(1, 3)), rng.random() < 0.5)
    free[[0, -1], :] = False
    free[:, [0, -1]] = False
    return free


def _corridor(free, a, b, width: int, across_first: bool) -> None:
    (ax, ay), (bx, by) = a, b
    corner = (bx, ay) if across_first else (ax, by)
    for (x0, y0), (x1, y1) in ((a, corner), (corner, b)):
        xs, ys = sorted((x0, x1)), sorted((y0, y1))
        free[ys[0]:ys[1] + width, xs[0]:xs[1] + width] = True


def random_queries(free: onp.ndarray, n: int, rng: onp.random.Generator):
    """``n`` (start, goal) pairs of distinct random cells of the largest connected region,
    as two ``(n, 2)`` arrays of (x, y).

    Examples
    --------
    >>> start, goal = random_queries(onp.ones((4, 4), bool), 3, onp.random.default_rng(0))
    >>> start.shape, bool((start != goal).any(axis=1).all())
    ((3, 2), True)
    """
    cells = onp.argwhere(largest_region(free))[:, ::-1]
    first = rng.integers(0, len(cells), size=n)
    shift = rng.integers(1, len(cells), size=n)  # never the same cell twice
    return cells[first], cells[(first + shift) % len(cells)]


def greedy(free: onp.ndarray, start, goal, max_steps: int | None = None):
    """The seed's planner reconstructed: from each cell step to the 8-neighbour (no corner
    cutting) nearest the goal in straight-line distance; it is stuck where no neighbour is
    nearer than the cell it is on. Returns ``(cells, reached)``.

    Examples
    --------
    >>> free = onp.ones((5, 5), bool)
    >>> free[0:4, 2] = False  # a wall between start and goal, open at the bottom
    >>> cells, reached = greedy(free, (0, 1), (4, 1))
    >>> reached, cells[-1].tolist()
    (False, [1, 1])
    """
    allowed = moves_allowed(free)
    x, y = int(start[0]), int(start[1])
    gx, gy = int(goal[0]), int(goal[1])
    cells = [(x, y)]
    for _ in range(max_steps or free.size):
        if (x, y) == (gx, gy):
            return onp.array(cells), True
        ok = allowed[:, y, x]
        nx, ny = x + MOVES[:, 0], y + MOVES[:, 1]
        d = onp.where(ok, onp.hypot(nx - gx, ny - gy), onp.inf)
        k = int(onp.argmin(d))
        if not d[k] < math.hypot(x - gx, y - gy):
            break
        x, y = int(nx[k]), int(ny[k])
        cells.append((x, y))
    return onp.array(cells), False
