"""Primitive cases: the statistics of ``gradkit.statistics`` (and ``prod`` at zero factors)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradkit.numpy as gnp
from primtable import Ex, axis_arg, case, distinct, reals, reduced_count, shape

# -- products with exact zero factors ---------------------------------------------------------


def with_zeros(draw, shp):
    """Values in [-1.5, 1.5] with exact zeros at drawn positions (products are polynomials:
    zeros are no kink, and the gradient there is the product of the other factors)."""
    x = reals(draw, shp, -1.5, 1.5)
    return np.where(draw(hnp.arrays(np.bool_, shp)), 0.0, x)


@case("cumprod")
def _(draw):
    shp = shape(draw)
    axis = axis_arg(draw, len(shp), tuples=False)
    return Ex(lambda x: gnp.cumprod(x, axis=axis), (with_zeros(draw, shp),),
              f"cumprod(axis={axis}), zeros included", lambda x: np.cumprod(x, axis=axis))


@case("prod_zeros")
def _(draw):
    shp = shape(draw, max_side=3)
    axis = axis_arg(draw, len(shp))
    keepdims = draw(st.booleans())
    return Ex(lambda x: gnp.prod(x, axis=axis, keepdims=keepdims), (with_zeros(draw, shp),),
              f"prod(axis={axis}, keepdims={keepdims}), zeros included",
              lambda x: np.prod(x, axis=axis, keepdims=keepdims))


@case("prod_keywords")
def _(draw):
    shp = shape(draw, min_dims=1, max_side=3)
    axis = axis_arg(draw, len(shp))
    mask = draw(hnp.arrays(np.bool_, shp))
    initial = draw(st.sampled_from([1.5, -0.5]))
    return Ex(lambda x: gnp.prod(x, axis=axis, where=mask, initial=initial),
              (with_zeros(draw, shp),), f"prod(axis={axis}, where=mask, initial={initial})",
              lambda x: np.prod(x, axis=axis, where=mask, initial=initial))


# -- order statistics -------------------------------------------------------------------------


@case("median")
def _(draw):
    shp = shape(draw, min_dims=0)
    return Ex(gnp.median, (distinct(draw, shp),), "median", np.median)


@case("median_axis")
def _(draw):
    shp = shape(draw, min_dims=1)
    axis = axis_arg(draw, len(shp))
    keepdims = draw(st.booleans())
    return Ex(lambda x: gnp.median(x, axis=axis, keepdims=keepdims), (distinct(draw, shp),),
              f"median(axis={axis}, keepdims={keepdims})",
              lambda x: np.median(x, axis=axis, keepdims=keepdims))


METHODS = ["linear", "lower", "higher", "nearest", "midpoint", "inverted_cdf",
           "averaged_inverted_cdf", "closest_observation", "interpolated_inverted_cdf",
           "hazen", "weibull", "median_unbiased", "normal_unbiased"]
QS = st.floats(0.0, 1.0) | st.lists(st.floats(0.0, 1.0), min_size=1, max_size=3)


def _quantile(method):
    @case(f"quantile_{method}")
    def _(draw):
        shp = shape(draw, min_dims=1)
        axis = axis_arg(draw, len(shp))
        keepdims = draw(st.booleans())
        q = draw(QS)
        return Ex(lambda x: gnp.quantile(x, q, axis=axis, method=method, keepdims=keepdims),
                  (distinct(draw, shp),),
                  f"quantile(q={q}, axis={axis}, method={method}, keepdims={keepdims})",
                  lambda x: np.quantile(x, q, axis=axis, method=method, keepdims=keepdims))


for _method in METHODS:
    _quantile(_method)


@case("percentile")
def _(draw):
    shp = shape(draw, min_dims=1)
    axis = axis_arg(draw, len(shp))
    method = draw(st.sampled_from(METHODS))
    q = draw(st.floats(0.0, 100.0) | st.lists(st.floats(0.0, 100.0), min_size=1, max_size=3))
    return Ex(lambda x: gnp.percentile(x, q, axis=axis, method=method), (distinct(draw, shp),),
              f"percentile(q={q}, axis={axis}, method={method})",
              lambda x: np.percentile(x, q, axis=axis, method=method))


@case("ptp")
def _(draw):
    shp = shape(draw, min_dims=1)
    axis = axis_arg(draw, len(shp))
    keepdims = draw(st.booleans())
    return Ex(lambda x: gnp.ptp(x, axis=axis, keepdims=keepdims), (distinct(draw, shp),),
              f"ptp(axis={axis}, keepdims={keepdims})",
              lambda x: np.ptp(x, axis=axis, keepdims=keepdims))


# -- averages ---------------------------------------------------------------------------------


@case("average")
def _(draw):
    shp = shape(draw)
    axis = axis_arg(draw, len(shp))
    keepdims = draw(st.booleans())
    return Ex(lambda a: gnp.average(a, axis=axis, keepdims=keepdims), (reals(draw, shp),),
              f"average(axis={axis}, keepdims={keepdims})",
              lambda a: np.average(a, axis=axis, keepdims=keepdims))


@case("average_weights")
def _(draw):
    """Positive weights of a's shape, or of the reduced axes' shape (NumPy's two forms)."""
    shp = shape(draw, min_dims=1)
    axis = axis_arg(draw, len(shp))
    keepdims = draw(st.booleans())
    if axis is None or draw(st.booleans()):
        wshape = shp
    else:
        axes = (axis,) if isinstance(axis, int) else axis
        wshape = tuple(shp[a] for a in axes)
    returned = draw(st.booleans())

    def combine(avg_scl, multiply):
        return multiply(*avg_scl) if returned else avg_scl

    return Ex(lambda a, w: combine(gnp.average(a, axis, w, returned, keepdims=keepdims),
                                   gnp.multiply),
              (reals(draw, shp), reals(draw, wshape, 0.5, 2.0)),
              f"average(axis={axis}, weights of shape {wshape}, returned={returned}, "
              f"keepdims={keepdims})",
              lambda a, w: combine(np.average(a, axis, w, returned, keepdims=keepdims),
                                   np.multiply))


# -- NaN-ignoring reductions ------------------------------------------------------------------


def with_nans(draw, values, axis, keep=1):
    """NaN at drawn positions, leaving at least ``keep`` numbers in every reduced slice."""
    shp = np.shape(values)
    mask = draw(hnp.arrays(np.bool_, shp))
    if keep:
        left = np.sum(~mask, axis=axis, keepdims=True)
        mask = mask & (left >= keep)
        # a slice with too few numbers loses its NaN, except ones that leave enough
        mask = np.where(np.sum(~mask, axis=axis, keepdims=True) >= keep, mask, False)
    return np.where(mask, np.nan, values)


NAN_REDUCTIONS = [
    # name, distinct values (no ties), extra keywords
    ("nansum", False), ("nanmean", False), ("nanprod", False), ("nanmax", True),
    ("nanmin", True), ("nanmedian", True),
]


def _nan_reduction(name, tie_free):
    @case(name)
    def _(draw):
        shp = shape(draw, min_dims=1, max_side=3)
        axis = axis_arg(draw, len(shp))
        keepdims = draw(st.booleans())
        values = distinct(draw, shp) if tie_free else reals(draw, shp, -1.5, 1.5)
        x = with_nans(draw, values, axis)
        return Ex(lambda x: getattr(gnp, name)(x, axis=axis, keepdims=keepdims), (x,),
                  f"{name}(axis={axis}, keepdims={keepdims})",
                  lambda x: getattr(np, name)(x, axis=axis, keepdims=keepdims))


for _name, _tie_free in NAN_REDUCTIONS:
    _nan_reduction(_name, _tie_free)


def _nan_moment(name):
    @case(name)
    def _(draw):
        shp = shape(draw, min_dims=1, min_side=2, max_side=4)
        axis = axis_arg(draw, len(shp))
        keepdims = draw(st.booleans())
        ddof = draw(st.sampled_from([0, 1]))
        # at least two distinct numbers per slice (and more than ddof): a positive
        # variance, away from the kink of std's square root
        keep = min(ddof + 2, reduced_count(shp, axis))
        x = with_nans(draw, distinct(draw, shp), axis, keep)
        return Ex(lambda x: getattr(gnp, name)(x, axis=axis, ddof=ddof, keepdims=keepdims),
                  (x,), f"{name}(axis={axis}, ddof={ddof}, keepdims={keepdims})",
                  lambda x: getattr(np, name)(x, axis=axis, ddof=ddof, keepdims=keepdims))


_nan_moment("nanvar")
_nan_moment("nanstd")


def _nan_cumulative(name):
    @case(name)
    def _(draw):
        shp = shape(draw)
        axis = axis_arg(draw, len(shp), tuples=False)
        x = with_nans(draw, reals(draw, shp, -1.5, 1.5), axis, keep=0)
        return Ex(lambda x: getattr(gnp, name)(x, axis=axis), (x,), f"{name}(axis={axis})",
                  lambda x: getattr(np, name)(x, axis=axis))


_nan_cumulative("nancumsum")
_nan_cumulative("nancumprod")


def _nan_quantile(name, scale):
    @case(name)
    def _(draw):
        shp = shape(draw, min_dims=1, max_side=4)
        axis = axis_arg(draw, len(shp))
        method = draw(st.sampled_from(METHODS))
        q = draw(st.floats(0.0, scale) | st.lists(st.floats(0.0, scale), min_size=1,
                                                  max_size=3))
        x = with_nans(draw, distinct(draw, shp), axis)
        return Ex(lambda x: getattr(gnp, name)(x, q, axis=axis, method=method), (x,),
                  f"{name}(q={q}, axis={axis}, method={method})",
                  lambda x: getattr(np, name)(x, q, axis=axis, method=method))


_nan_quantile("nanquantile", 1.0)
_nan_quantile("nanpercentile", 100.0)


# -- covariance -------------------------------------------------------------------------------


@case("cov")
def _(draw):
    """dtype=x.dtype: NumPy's cov computes in float64 by default; the case keeps the
    inputs' dtype so that the float32 checks apply."""
    nvar = draw(st.integers(1, 3))
    nobs = draw(st.integers(3, 5))
    rowvar = draw(st.booleans())
    bias = draw(st.booleans())
    shp = (nvar, nobs) if rowvar else (nobs, nvar)
    if nvar == 1 and draw(st.booleans()):
        shp = (nobs,)
    return Ex(lambda x: gnp.cov(x, rowvar=rowvar, bias=bias, dtype=x.dtype),
              (reals(draw, shp),), f"cov(rowvar={rowvar}, bias={bias})",
              lambda x: np.cov(x, rowvar=rowvar, bias=bias, dtype=x.dtype))


@case("cov_weights")
def _(draw):
    nvar = draw(st.integers(1, 3))
    nobs = draw(st.integers(3, 5))
    fw = draw(hnp.arrays(np.int64, (nobs,), elements=st.integers(1, 3)))
    ddof = draw(st.sampled_from([None, 0, 1]))
    use_f = draw(st.booleans())
    kw = {"fweights": fw} if use_f else {}

    def f(x, y, aw):
        # with weights NumPy computes in float64 even for dtype=float32: cast back, so
        # that the float32 checks see the cotangents cov's own casts give the inputs
        return gnp.astype(gnp.cov(x, y, ddof=ddof, aweights=aw, dtype=x.dtype, **kw), x.dtype)

    return Ex(f, (reals(draw, (nvar, nobs)), reals(draw, (nobs,)),
                  reals(draw, (nobs,), 0.5, 2.0)),
              f"cov(x, y, ddof={ddof}, aweights=aw, {kw})",
              lambda x, y, aw: np.cov(x, y, ddof=ddof, aweights=aw, **kw))


@case("corrcoef")
def _(draw):
    nvar = draw(st.integers(2, 3))
    nobs = draw(st.integers(3, 5))
    rowvar = draw(st.booleans())
    shp = (nvar, nobs) if rowvar else (nobs, nvar)
    return Ex(lambda x: gnp.corrcoef(x, rowvar=rowvar, dtype=x.dtype), (distinct(draw, shp),),
              f"corrcoef(rowvar={rowvar})",
              lambda x: np.corrcoef(x, rowvar=rowvar, dtype=x.dtype))
