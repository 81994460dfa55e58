"""Primitive cases: series (differences, integrals, interpolation, convolution, polynomials,
products) and counting (unique values, weighted bincount and histogram, bin edges)."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradkit.numpy as gnp
from primtable import Ex, case, distinct, reals, shape

# -- differences ---------------------------------------------------------------------------


@case("diff")
def _(draw):
    shp = shape(draw, min_dims=1)
    n = draw(st.integers(0, 2))
    axis = draw(st.integers(-len(shp), len(shp) - 1))
    return Ex(lambda a: gnp.diff(a, n, axis), (reals(draw, shp),), f"diff(n={n}, axis={axis})",
              lambda a: np.diff(a, n, axis))


@case("diff_prepend_append")
def _(draw):
    shp = shape(draw, min_dims=1)
    axis = draw(st.integers(-len(shp), len(shp) - 1))
    k = axis % len(shp)
    pre = shp[:k] + (draw(st.integers(1, 2)),) + shp[k + 1:]
    scalar = draw(st.booleans())
    app = () if scalar else shp[:k] + (1,) + shp[k + 1:]
    args = (reals(draw, shp), reals(draw, pre), reals(draw, app))
    return Ex(lambda a, p, q: gnp.diff(a, 2, axis, prepend=p, append=q), args,
              f"diff(axis={axis}, prepend, append{' scalar' if scalar else ''})",
              lambda a, p, q: np.diff(a, 2, axis, prepend=p, append=q))


@case("ediff1d")
def _(draw):
    args = (reals(draw, shape(draw)), reals(draw, shape(draw, max_dims=2)),
            reals(draw, shape(draw, max_dims=1)))
    return Ex(lambda a, b, e: gnp.ediff1d(a, to_end=e, to_begin=b), args, "ediff1d",
              lambda a, b, e: np.ediff1d(a, to_end=e, to_begin=b))


def _coordinates(draw, n):
    """Increasing coordinates at least 1 apart: the finite differences of the
    coefficients (whose third derivatives grow as 1 / spacing ** 4) stay accurate."""
    return np.sort(distinct(draw, (n,), step=2.0))


@case("gradient")
def _(draw):
    shp = shape(draw, min_dims=1, min_side=2)
    edge = draw(st.sampled_from([1, 2])) if min(shp) >= 3 else 1

    def f(y, h):
        out = gnp.gradient(y, h, edge_order=edge)
        return gnp.stack(out) if isinstance(out, tuple) else out

    def ref(y, h):
        out = np.gradient(y, h, edge_order=edge)
        return np.stack(out) if isinstance(out, tuple) else out

    return Ex(f, (reals(draw, shp), reals(draw, (), 0.5, 2.0)), f"gradient(edge={edge})", ref)


@case("gradient_coordinates")
def _(draw):
    shp = shape(draw, min_dims=1, min_side=2, max_side=5)
    axis = draw(st.integers(-len(shp), len(shp) - 1))
    return Ex(lambda y, x: gnp.gradient(y, x, axis=axis),
              (reals(draw, shp), _coordinates(draw, shp[axis])), f"gradient(x, axis={axis})",
              lambda y, x: np.gradient(y, x, axis=axis))


@case("gradient_edge2")
def _(draw):
    shp = shape(draw, min_dims=2, max_dims=2, min_side=3, max_side=5)

    def f(y, x):
        return gnp.stack(gnp.gradient(y, 0.7, x, edge_order=2))

    return Ex(f, (reals(draw, shp), _coordinates(draw, shp[1])),
              "gradient(0.7, x, edge_order=2)",
              lambda y, x: np.stack(np.gradient(y, 0.7, x, edge_order=2)))


# -- interpolation and integration ----------------------------------------------------------


def _queries(draw, shp, knots):
    """Query points at least 0.05 from every knot (knots are 0.7 or more apart)."""
    q = reals(draw, shp, knots.min() - 1.0, knots.max() + 1.0)
    near = np.abs(q[..., None] - knots).min(axis=-1, initial=np.inf) < 0.05
    return np.where(near, q + 0.1, q)


@case("interp")
def _(draw):
    n = draw(st.integers(1, 5))
    knots = _coordinates(draw, n)
    x = _queries(draw, shape(draw), knots)
    return Ex(gnp.interp, (x, knots, reals(draw, (n,))), f"interp({n} knots)", np.interp)


@case("interp_left_right")
def _(draw):
    n = draw(st.integers(2, 5))
    knots = _coordinates(draw, n)
    x = _queries(draw, shape(draw), knots)
    return Ex(lambda x, fp, lo, hi: gnp.interp(x, knots, fp, left=lo, right=hi),
              (x, reals(draw, (n,)), reals(draw, ()), reals(draw, ())), "interp(left, right)",
              lambda x, fp, lo, hi: np.interp(x, knots, fp, left=lo, right=hi))


@case("interp_period")
def _(draw):
    n = draw(st.integers(2, 4))
    # knots in [0, 4), unsorted, 0.7 or more apart also across the period
    slots = np.array(draw(st.permutations(range(4)))[:n], dtype=np.float64)
    knots = slots + reals(draw, (n,), 0.0, 0.3)
    wrapped = np.sort(knots)
    grid = np.concatenate([wrapped - 4.0, wrapped, wrapped + 4.0])
    x = _queries(draw, shape(draw), grid)
    return Ex(lambda x, fp: gnp.interp(x, knots, fp, period=4.0), (x, reals(draw, (n,))),
              "interp(period=4)", lambda x, fp: np.interp(x, knots, fp, period=4.0))


@case("trapezoid")
def _(draw):
    shp = shape(draw, min_dims=1)
    axis = draw(st.integers(-len(shp), len(shp) - 1))
    return Ex(lambda y, d: gnp.trapezoid(y, dx=d, axis=axis),
              (reals(draw, shp), reals(draw, (), 0.2, 2.0)), f"trapezoid(dx, axis={axis})",
              lambda y, d: np.trapezoid(y, dx=d, axis=axis))


@case("trapezoid_x")
def _(draw):
    shp = shape(draw, min_dims=1)
    axis = draw(st.integers(-len(shp), len(shp) - 1))
    xshape = draw(st.sampled_from([(shp[axis],), shp]))
    return Ex(lambda y, x: gnp.trapezoid(y, x, axis=axis),
              (reals(draw, shp), reals(draw, xshape)), f"trapezoid(x{xshape}, axis={axis})",
              lambda y, x: np.trapezoid(y, x, axis=axis))


# -- convolution ---------------------------------------------------------------------------


def _sliding(name, mode):
    fn, ref = getattr(gnp, name), getattr(np, name)

    @case(f"{name}_{mode}")
    def _(draw):
        # lengths 1-5 each: v longer than a, as long, and shorter
        a = reals(draw, (draw(st.integers(1, 5)),))
        v = reals(draw, (draw(st.integers(1, 5)),))
        return Ex(lambda a, v: fn(a, v, mode), (a, v), f"{name}({a.size}, {v.size}, {mode})",
                  lambda a, v: ref(a, v, mode))


for _name in ("convolve", "correlate"):
    for _mode in ("full", "same", "valid"):
        _sliding(_name, _mode)


# -- polynomials and products ---------------------------------------------------------------


@case("polyval")
def _(draw):
    p = reals(draw, (draw(st.integers(1, 4)),))
    return Ex(gnp.polyval, (p, reals(draw, shape(draw), -1.5, 1.5)), f"polyval(deg {p.size - 1})",
              np.polyval)


@case("cross")
def _(draw):
    na, nb = draw(st.sampled_from([(3, 3), (3, 3), (2, 3), (3, 2), (2, 2)]))
    sa, sb = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2,
                                                    max_side=3)).input_shapes
    axisc = draw(st.sampled_from([-1, 0]))

    def ref(a, b):
        with warnings.catch_warnings():  # NumPy 2 deprecates 2-vectors
            warnings.simplefilter("ignore", DeprecationWarning)
            return np.cross(a, b, axisc=axisc)

    return Ex(lambda a, b: gnp.cross(a, b, axisc=axisc),
              (reals(draw, sa + (na,)), reals(draw, sb + (nb,))),
              f"cross({na}-vectors, {nb}-vectors, axisc={axisc})", ref)


@case("cross_axes")
def _(draw):
    a, b = reals(draw, (3, 2)), reals(draw, (2, 3))
    return Ex(lambda a, b: gnp.cross(a, b, axisa=0, axisb=1, axisc=0), (a, b),
              "cross(axisa=0, axisb=1, axisc=0)",
              lambda a, b: np.cross(a, b, axisa=0, axisb=1, axisc=0))


@case("kron")
def _(draw):
    sa = shape(draw, max_dims=2, max_side=3)
    sb = shape(draw, max_dims=3, max_side=3)
    return Ex(gnp.kron, (reals(draw, sa), reals(draw, sb)), f"kron({sa}, {sb})", np.kron)


@case("vander")
def _(draw):
    # N >= 2: with fewer columns the result does not depend on x (a targeted test)
    n = draw(st.none() | st.integers(2, 4))
    increasing = draw(st.booleans())
    return Ex(lambda x: gnp.vander(x, n, increasing), (reals(draw, (draw(st.integers(2, 4)),)),),
              f"vander(N={n}, increasing={increasing})", lambda x: np.vander(x, n, increasing))


@case("unwrap")
def _(draw):
    # steps well inside (-pi, pi) or well outside it: no jump near the threshold
    steps = draw(hnp.arrays(np.float64, (draw(st.integers(1, 6)),),
                            elements=st.sampled_from([-5.0, -2.0, -0.5, 0.5, 2.0, 5.0])))
    p = np.cumsum(steps + reals(draw, steps.shape, -0.3, 0.3))
    return Ex(gnp.unwrap, (p,), "unwrap", np.unwrap)


# -- counting -------------------------------------------------------------------------------


@case("unique")
def _(draw):
    # distinct values (ties would change the output's length under finite differences;
    # repeated values have targeted tests)
    shp = shape(draw)
    flags = draw(st.booleans())

    def f(x):
        out = gnp.unique(x, return_index=flags, return_counts=flags)
        return out[0] if flags else out

    def ref(x):
        out = np.unique(x, return_index=flags, return_counts=flags)
        return out[0] if flags else out

    return Ex(f, (distinct(draw, shp),), f"unique(flags={flags})", ref)


@case("unique_axis")
def _(draw):
    shp = shape(draw, min_dims=2, max_dims=2)
    return Ex(lambda x: gnp.unique(x, axis=0), (distinct(draw, shp),), "unique(axis=0)",
              lambda x: np.unique(x, axis=0))


@case("unique_values")
def _(draw):
    return Ex(gnp.unique_values, (distinct(draw, shape(draw)),), "unique_values",
              np.unique_values)


@case("unique_counts")
def _(draw):
    return Ex(lambda x: gnp.unique_counts(x).values, (distinct(draw, shape(draw)),),
              "unique_counts", lambda x: np.unique_counts(x).values)


@case("unique_inverse")
def _(draw):
    return Ex(lambda x: gnp.unique_inverse(x).values, (distinct(draw, shape(draw)),),
              "unique_inverse", lambda x: np.unique_inverse(x).values)


@case("unique_all")
def _(draw):
    return Ex(lambda x: gnp.unique_all(x).values, (distinct(draw, shape(draw)),),
              "unique_all", lambda x: np.unique_all(x).values)


@case("bincount_weights")
def _(draw):
    n = draw(st.integers(0, 6))
    x = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, 4)))
    minlength = draw(st.integers(0, 7))
    return Ex(lambda w: gnp.bincount(x, w, minlength), (reals(draw, (n,)),),
              f"bincount({x.tolist()}, minlength={minlength})",
              lambda w: np.bincount(x, w, minlength))


def _binned(draw, n):
    """n values in [0, 4], none within 0.1 of an integer (the edges of bins=4 or 8 over
    the range (0, 4)); the first two are 0 and 4 themselves (the data's own range)."""
    inner = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, 3))) + 0.5
    inner = inner + reals(draw, (n,), -0.35, 0.35)
    return np.concatenate([[0.0, 4.0], inner])


@case("histogram_weights")
def _(draw):
    a = _binned(draw, draw(st.integers(0, 5)))
    bins = draw(st.sampled_from([4, 8, np.array([0.0, 1.0, 3.0, 4.0])]))
    rng = draw(st.sampled_from([None, (0.0, 4.0), (1.0, 3.0)])) if np.ndim(bins) == 0 \
        else None
    return Ex(lambda w: gnp.histogram(a, bins, rng, weights=w)[0], (reals(draw, a.shape),),
              f"histogram(bins={bins}, range={rng})",
              lambda w: np.histogram(a, bins, rng, weights=w)[0])


@case("histogram_density")
def _(draw):
    a = _binned(draw, draw(st.integers(0, 5)))
    positive = reals(draw, a.shape, 0.5, 2.0)
    return Ex(lambda a, w: gnp.histogram(a, 4, density=True, weights=w)[0], (a, positive),
              "histogram(a, 4, density=True, weights)",
              lambda a, w: np.histogram(a, 4, density=True, weights=w)[0])


@case("histogram_edges")
def _(draw):
    a = _binned(draw, draw(st.integers(0, 5)))
    return Ex(lambda a: gnp.histogram(a, 4)[1], (a,), "histogram(a, 4) edges",
              lambda a: np.histogram(a, 4)[1])


@case("histogram_bin_edges")
def _(draw):
    a = reals(draw, (draw(st.integers(2, 6)),))
    a[:2] = [-3.5, 3.5]  # a unique minimum and maximum, 0.5 beyond every other value
    bins = draw(st.sampled_from([1, 3, "sturges"]))
    return Ex(lambda a: gnp.histogram_bin_edges(a, bins), (a,),
              f"histogram_bin_edges(bins={bins})", lambda a: np.histogram_bin_edges(a, bins))
