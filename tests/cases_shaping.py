"""Primitive cases: shaping (select, partition, rotations, stacking, splitting, grids,
linspace, r_ and c_) and einsum with repeated subscripts or the sublist form."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradkit.numpy as gnp
from cases_core import draw_einsum
from primtable import Ex, case, distinct, nonzero, reals, shape


def joined(pieces, mod):
    """Several outputs as one array, each piece weighted differently (as the split case)."""
    return mod.concatenate([mod.ravel(p) * (k + 1.0) for k, p in enumerate(pieces)])


def shapes_along(draw, n, axis_of=None, min_dims=1):
    """``n`` shapes equal except along one axis; returns them and that axis."""
    base = shape(draw, min_dims=min_dims)
    axis = draw(st.integers(0, len(base) - 1)) if axis_of is None else axis_of(base)
    return [base[:axis] + (draw(st.integers(1, 3)),) + base[axis + 1:] for _ in range(n)], axis


# -- choosing and partitioning ------------------------------------------------------------


@case("select")
def _(draw):
    n = draw(st.integers(1, 3))
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2 * n + 1, max_dims=2,
                                                    max_side=3)).input_shapes
    conds = [draw(hnp.arrays(np.bool_, s)) for s in shapes[:n]]
    choices = [reals(draw, s) for s in shapes[n:2 * n]]
    if draw(st.booleans()):  # an array default, differentiated too
        default = reals(draw, shapes[-1])
        return Ex(lambda d, *cs: gnp.select(conds, list(cs), d), (default, *choices),
                  "select(default=array)", lambda d, *cs: np.select(conds, list(cs), d))
    return Ex(lambda *cs: gnp.select(conds, list(cs), 0.5), tuple(choices), "select",
              lambda *cs: np.select(conds, list(cs), 0.5))


@case("choose")
def _(draw):
    sa, sx, sy = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=2,
                                                        max_side=3)).input_shapes
    a = draw(hnp.arrays(np.int64, sa, elements=st.integers(0, 1)))
    return Ex(lambda x, y: gnp.choose(a, [x, y]), (reals(draw, sx), reals(draw, sy)),
              f"choose({a.tolist()})", lambda x, y: np.choose(a, [x, y]))


@case("partition")
def _(draw):
    shp = shape(draw, min_dims=1)
    axis = draw(st.none() | st.integers(-len(shp), len(shp) - 1))
    n = math.prod(shp) if axis is None else shp[axis]
    kth = draw(st.integers(-n, n - 1) | st.lists(st.integers(0, n - 1), min_size=1,
                                                  max_size=3))
    return Ex(lambda x: gnp.partition(x, kth, axis), (distinct(draw, shp),),
              f"partition({kth}, axis={axis})", lambda x: np.partition(x, kth, axis))


@case("compress")
def _(draw):
    shp = shape(draw, min_dims=1)
    axis = draw(st.none() | st.integers(-len(shp), len(shp) - 1))
    n = math.prod(shp) if axis is None else shp[axis]
    cond = draw(hnp.arrays(np.bool_, (draw(st.integers(0, n)),)))
    return Ex(lambda x: gnp.compress(cond, x, axis), (reals(draw, shp),),
              f"compress({cond.tolist()}, axis={axis})", lambda x: np.compress(cond, x, axis))


@case("extract")
def _(draw):
    shp = shape(draw)
    cond = draw(hnp.arrays(np.bool_, shp))
    return Ex(lambda x: gnp.extract(cond, x), (reals(draw, shp),), "extract",
              lambda x: np.extract(cond, x))


# -- rotations, flips and axes ------------------------------------------------------------


@case("rot90")
def _(draw):
    shp = shape(draw, min_dims=2)
    nd = len(shp)
    a0, a1 = draw(st.permutations(range(nd)))[:2]
    axes = (a0 - nd * draw(st.booleans()), a1 - nd * draw(st.booleans()))
    k = draw(st.integers(-5, 5))
    return Ex(lambda x: gnp.rot90(x, k, axes), (reals(draw, shp),),
              f"rot90(k={k}, axes={axes})", lambda x: np.rot90(x, k, axes))


@case("flipud")
def _(draw):
    return Ex(gnp.flipud, (reals(draw, shape(draw, min_dims=1)),), "flipud", np.flipud)


@case("fliplr")
def _(draw):
    return Ex(gnp.fliplr, (reals(draw, shape(draw, min_dims=2)),), "fliplr", np.fliplr)


@case("rollaxis")
def _(draw):
    shp = shape(draw, min_dims=1)
    nd = len(shp)
    axis = draw(st.integers(-nd, nd - 1))
    start = draw(st.integers(-nd, nd))
    return Ex(lambda x: gnp.rollaxis(x, axis, start), (reals(draw, shp),),
              f"rollaxis({axis}, {start})", lambda x: np.rollaxis(x, axis, start))


@case("permute_dims")
def _(draw):
    shp = shape(draw)
    axes = draw(st.none() | st.permutations(range(len(shp))).map(tuple))
    return Ex(lambda x: gnp.permute_dims(x, axes), (reals(draw, shp),),
              f"permute_dims({axes})", lambda x: np.permute_dims(x, axes))


@case("matrix_transpose")
def _(draw):
    return Ex(gnp.matrix_transpose, (reals(draw, shape(draw, min_dims=2)),),
              "matrix_transpose", np.matrix_transpose)


@case("atleast_3d")
def _(draw):
    n = draw(st.integers(1, 3))
    args = tuple(reals(draw, shape(draw, max_dims=4)) for _ in range(n))
    if n == 1:
        return Ex(gnp.atleast_3d, args, "atleast_3d", np.atleast_3d)
    return Ex(lambda *xs: joined(gnp.atleast_3d(*xs), gnp), args, f"atleast_3d({n} arrays)",
              lambda *xs: joined(np.atleast_3d(*xs), np))


# -- joining ------------------------------------------------------------------------------


@case("concat")
def _(draw):
    shapes, axis = shapes_along(draw, draw(st.integers(1, 3)))
    return Ex(lambda *xs: gnp.concat(xs, axis=axis), tuple(reals(draw, s) for s in shapes),
              f"concat(axis={axis})", lambda *xs: np.concat(xs, axis=axis))


@case("hstack")
def _(draw):
    shapes, _ = shapes_along(draw, draw(st.integers(1, 3)),
                             lambda base: 0 if len(base) == 1 else 1)
    return Ex(lambda *xs: gnp.hstack(xs), tuple(reals(draw, s) for s in shapes), "hstack",
              lambda *xs: np.hstack(xs))


@case("vstack")
def _(draw):
    if draw(st.booleans()):  # 1-D arrays become rows
        n = draw(st.integers(1, 3))
        shapes = [(n,)] * draw(st.integers(1, 3))
    else:
        shapes, _ = shapes_along(draw, draw(st.integers(1, 3)), lambda base: 0, min_dims=2)
    return Ex(lambda *xs: gnp.vstack(xs), tuple(reals(draw, s) for s in shapes), "vstack",
              lambda *xs: np.vstack(xs))


@case("column_stack")
def _(draw):
    n = draw(st.integers(1, 3))
    shapes = [draw(st.sampled_from([(n,), (n, draw(st.integers(1, 3)))]))
              for _ in range(draw(st.integers(1, 3)))]
    return Ex(lambda *xs: gnp.column_stack(xs), tuple(reals(draw, s) for s in shapes),
              "column_stack", lambda *xs: np.column_stack(xs))


@case("dstack")
def _(draw):
    if draw(st.booleans()):  # 1-D or 2-D arrays of one shape
        shp = shape(draw, min_dims=1, max_dims=2)
        shapes = [shp] * draw(st.integers(1, 3))
    else:
        shapes, _ = shapes_along(draw, draw(st.integers(1, 3)), lambda base: 2, min_dims=3)
    return Ex(lambda *xs: gnp.dstack(xs), tuple(reals(draw, s) for s in shapes), "dstack",
              lambda *xs: np.dstack(xs))


@case("append")
def _(draw):
    if draw(st.booleans()):
        sa, sv, axis = shape(draw), shape(draw), None
    else:
        (sa, sv), axis = shapes_along(draw, 2)
    return Ex(lambda a, v: gnp.append(a, v, axis), (reals(draw, sa), reals(draw, sv)),
              f"append(axis={axis})", lambda a, v: np.append(a, v, axis))


@case("block")
def _(draw):
    r1, r2, c1, c2 = (draw(st.integers(1, 3)) for _ in range(4))
    if draw(st.booleans()):
        shapes = [(r1, c1), (r1, c2), (r2, c1), (r2, c2)]
        return Ex(lambda a, b, c, d: gnp.block([[a, b], [c, d]]),
                  tuple(reals(draw, s) for s in shapes), "block 2x2",
                  lambda a, b, c, d: np.block([[a, b], [c, d]]))
    return Ex(lambda a, b: gnp.block([a, b, a]), (reals(draw, (r1,)), reals(draw, (r2,))),
              "block 1-D, a block used twice", lambda a, b: np.block([a, b, a]))


@case("insert")
def _(draw):
    shp = shape(draw, min_dims=1)
    if draw(st.booleans()):  # flattened, one index or several
        n = math.prod(shp)
        obj = draw(st.integers(-n, n) | st.lists(st.integers(0, n), min_size=1, max_size=3))
        vshape = draw(st.sampled_from([(), (1,)] if isinstance(obj, int) else [(), (len(obj),)]))
        axis = None
    else:
        axis = draw(st.integers(-len(shp), len(shp) - 1))
        obj = draw(st.integers(-shp[axis], shp[axis]))
        vshape = draw(st.sampled_from([(), shp[:axis % len(shp)] + shp[axis % len(shp) + 1:]]))
    return Ex(lambda a, v: gnp.insert(a, obj, v, axis), (reals(draw, shp), reals(draw, vshape)),
              f"insert({obj}, axis={axis})", lambda a, v: np.insert(a, obj, v, axis))


# -- splitting ----------------------------------------------------------------------------


def _sections(draw, n, equal):
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    counts = st.sampled_from(divisors) if equal else st.integers(1, n + 2)
    return draw(counts | st.lists(st.integers(-n, n), max_size=3).map(sorted))


@case("array_split")
def _(draw):
    shp = shape(draw, min_dims=1, max_side=5)
    axis = draw(st.integers(-len(shp), len(shp) - 1))
    sections = _sections(draw, shp[axis], equal=False)
    return Ex(lambda x: joined(gnp.array_split(x, sections, axis), gnp), (reals(draw, shp),),
              f"array_split({sections}, axis={axis})",
              lambda x: joined(np.array_split(x, sections, axis), np))


def _split_case(name, min_dims, axis_of):
    @case(name)
    def _(draw):
        shp = shape(draw, min_dims=min_dims, max_side=5)
        sections = _sections(draw, shp[axis_of(shp)], equal=True)
        return Ex(lambda x: joined(getattr(gnp, name)(x, sections), gnp), (reals(draw, shp),),
                  f"{name}({sections})", lambda x: joined(getattr(np, name)(x, sections), np))


_split_case("hsplit", 1, lambda s: 0 if len(s) == 1 else 1)
_split_case("vsplit", 2, lambda s: 0)
_split_case("dsplit", 3, lambda s: 2)


@case("unstack")
def _(draw):
    shp = shape(draw, min_dims=1)
    axis = draw(st.integers(-len(shp), len(shp) - 1))
    return Ex(lambda x: joined(gnp.unstack(x, axis=axis), gnp), (reals(draw, shp),),
              f"unstack(axis={axis})", lambda x: joined(np.unstack(x, axis=axis), np))


# -- removing, trimming, resizing ----------------------------------------------------------


@case("delete")
def _(draw):
    shp = shape(draw, min_dims=1)
    axis = draw(st.none() | st.integers(-len(shp), len(shp) - 1))
    n = math.prod(shp) if axis is None else shp[axis]
    obj = draw(st.integers(-n, n - 1) | st.lists(st.integers(0, n - 1), max_size=3)
               | st.just(slice(None, None, 2)) | hnp.arrays(np.bool_, (n,)))
    return Ex(lambda x: gnp.delete(x, obj, axis), (reals(draw, shp),),
              f"delete({obj!r}, axis={axis})", lambda x: np.delete(x, obj, axis))


@case("trim_zeros")
def _(draw):
    shp = shape(draw, min_dims=1, max_dims=2, max_side=5)
    # zeros at the edges that stay zero under perturbation: the slice cannot move
    mask = np.ones(shp, dtype=bool)
    for d, n in enumerate(shp):
        lo, hi = draw(st.integers(0, n // 2)), draw(st.integers(0, n // 2))
        mask[(slice(None),) * d + (slice(0, lo),)] = False
        mask[(slice(None),) * d + (slice(n - hi, n),)] = False
    trim = draw(st.sampled_from(["fb", "f", "b", "BF"]))
    axis = draw(st.none() | st.integers(-len(shp), len(shp) - 1))
    return Ex(lambda x: gnp.trim_zeros(x * mask, trim, axis), (nonzero(draw, shp),),
              f"trim_zeros({trim!r}, axis={axis}) of x * {mask.tolist()}",
              lambda x: np.trim_zeros(x * mask, trim, axis))


@case("resize")
def _(draw):
    shp = shape(draw)
    new = draw(st.integers(1, 7) | st.lists(st.integers(1, 4), max_size=3).map(tuple))
    return Ex(lambda x: gnp.resize(x, new), (reals(draw, shp),), f"resize({new})",
              lambda x: np.resize(x, new))


@case("diagflat")
def _(draw):
    k = draw(st.integers(-2, 2))
    return Ex(lambda x: gnp.diagflat(x, k), (reals(draw, shape(draw, max_dims=2)),),
              f"diagflat(k={k})", lambda x: np.diagflat(x, k))


# -- grids and ranges ---------------------------------------------------------------------


@case("broadcast_arrays")
def _(draw):
    n = draw(st.integers(1, 3))
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=n, max_dims=3,
                                                    max_side=3)).input_shapes
    return Ex(lambda *xs: joined(gnp.broadcast_arrays(*xs), gnp),
              tuple(reals(draw, s) for s in shapes), "broadcast_arrays",
              lambda *xs: joined(np.broadcast_arrays(*xs), np))


@case("meshgrid")
def _(draw):
    n = draw(st.integers(1, 3))
    vectors = tuple(reals(draw, shape(draw, min_dims=1, max_dims=1)) for _ in range(n))
    sparse = draw(st.booleans())
    indexing = draw(st.sampled_from(["xy", "ij"]))
    return Ex(lambda *xs: joined(gnp.meshgrid(*xs, sparse=sparse, indexing=indexing), gnp),
              vectors, f"meshgrid(sparse={sparse}, indexing={indexing!r})",
              lambda *xs: joined(np.meshgrid(*xs, sparse=sparse, indexing=indexing), np))


@case("linspace_endpoints")
def _(draw):
    s_start, s_stop = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2,
                                                             max_side=3)).input_shapes
    num = draw(st.integers(0, 6))
    endpoint = draw(st.booleans())
    nd = len(np.broadcast_shapes(s_start, s_stop)) + 1
    axis = draw(st.integers(-nd, nd - 1))
    kw = {"num": num, "endpoint": endpoint, "axis": axis}
    return Ex(lambda a, b: gnp.linspace(a, b, **kw), (reals(draw, s_start), reals(draw, s_stop)),
              f"linspace({kw})", lambda a, b: np.linspace(a, b, **kw))


@case("linspace_retstep")
def _(draw):
    num = draw(st.integers(2, 6))
    endpoint = draw(st.booleans())

    def f(mod):
        def g(a, b):
            y, step = mod.linspace(a, b, num, endpoint=endpoint, retstep=True)
            return y * step

        return g

    return Ex(f(gnp), (reals(draw, shape(draw, max_dims=1)), reals(draw, ())),
              f"linspace({num}, endpoint={endpoint}, retstep=True)", f(np))


@case("r_")
def _(draw):
    sx = shape(draw, min_dims=1, max_dims=1)
    sy = draw(st.sampled_from([(), (2,)]))
    # (slices make int64 or float64 ranges, which NumPy promotes to: see test_shaping.py)
    return Ex(lambda x, y: gnp.r_[x, 1.5, y], (reals(draw, sx), reals(draw, sy)),
              "r_[x, 1.5, y]", lambda x, y: np.r_[x, 1.5, y])


@case("r__directive")
def _(draw):
    n = draw(st.integers(1, 3))
    directive = draw(st.sampled_from(["0,2", "1,2", "-1,2,0", "0,3,-1"]))
    return Ex(lambda x, y: gnp.r_[directive, x, y], (reals(draw, (n,)), reals(draw, (n,))),
              f"r_[{directive!r}, x, y]", lambda x, y: np.r_[directive, x, y])


@case("c_")
def _(draw):
    n = draw(st.integers(1, 3))
    sy = draw(st.sampled_from([(n,), (n, 2)]))
    return Ex(lambda x, y: gnp.c_[x, y, x], (reals(draw, (n,)), reals(draw, sy)),
              "c_[x, y, x]", lambda x, y: np.c_[x, y, x])


# -- einsum: repeated subscripts and the sublist form ----------------------------------------

EINSUMS = ["ii->", "ii->i", "ii", "iij->j", "iij", "iji->j", "ij,jj->i", "ii,i->i",
           "...ii->...i", "iijj->ij"]


def _einsum(subscripts):
    @case(f"einsum_{subscripts}")
    def _(draw):
        return draw_einsum(draw, subscripts)


for _subscripts in EINSUMS:
    _einsum(_subscripts)


@case("einsum_sublist")
def _(draw):
    i, j, k = (draw(st.integers(1, 3)) for _ in range(3))
    shapes, subs, out = draw(st.sampled_from([
        ([(i, j), (j, k)], [[0, 1], [1, 2]], [[0, 2]]),
        ([(i, j), (j, k)], [[0, 1], [1, 2]], []),
        ([(i, i), (i,)], [[5, 5], [5]], [[5]]),
        ([(2, i, j), (j,)], [[Ellipsis, 0, 1], [1]], [[Ellipsis, 0]]),
        ([(i, i)], [[0, 0]], []),
    ]))

    def f(mod):
        def g(*xs):
            return mod.einsum(*[a for pair in zip(xs, subs) for a in pair], *out)

        return g

    return Ex(f(gnp), tuple(reals(draw, s) for s in shapes), f"einsum sublist {subs} {out}",
              f(np))


@case("full")
def _(draw):
    shp = shape(draw, max_dims=2)
    target = shape(draw, max_dims=2) + shp
    return Ex(lambda v: gnp.full(target, v), (reals(draw, shp),), f"full({target}, v)",
              lambda v: np.full(target, v))


@case("full_like")
def _(draw):
    like = np.zeros(shape(draw, max_dims=3))
    # the result takes a's dtype, as in NumPy: a in v's dtype keeps float32 float32
    return Ex(lambda v: gnp.full_like(like.astype(v.dtype), v) * 2.0, (reals(draw, ()),),
              "full_like(a, v)", lambda v: np.full_like(like.astype(v.dtype), v) * 2.0)


@case("logspace")
def _(draw):
    shp = shape(draw, max_dims=1)
    num = draw(st.integers(1, 5))
    endpoint = draw(st.booleans())
    return Ex(lambda a, b, base: gnp.logspace(a, b, num, endpoint=endpoint, base=base),
              (reals(draw, shp, -1.0, 1.0), reals(draw, shp, -1.0, 1.0),
               reals(draw, (), 1.5, 3.0)), f"logspace(num={num}, endpoint={endpoint})",
              lambda a, b, base: np.logspace(a, b, num, endpoint=endpoint, base=base))
