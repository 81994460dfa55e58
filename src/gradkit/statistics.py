"""Statistics over axes: cumprod, median, quantiles, averages, NaN-ignoring reductions, cov.

Everything but ``cumprod`` is a composite of existing primitives (sort, indexing,
where, sum...), so its derivatives of every order come from theirs. Conventions:

* products (``cumprod``, ``prod``, ``nanprod``) never divide by the factors: the
  gradient is exact when factors are zero;
* order statistics (``median``, ``quantile``...) pass the gradient to the sorted
  elements they interpolate, with NumPy's interpolation weights; at ties the stable
  sort decides which of the equal elements gets it; ``q`` is a constant;
* NaN-ignoring functions give NaN entries a zero gradient; all-NaN slices give NumPy's
  value and RuntimeWarning.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from ._rules import _dtype, _ndim, _neg_axes, _shape
from .arguments import as_array, refuse_complex, refuse_out
from .backend import array_of, dtype_kind, is_chunked, ones_like_library, xp
from .errors import GradkitError
from .graph import CONST, Tensor, defprimitive, holds_batch, plain, raw, rebatch
from .ops import (
    _cast_to,
    _masked,
    _reduced_count,
    amax,
    amin,
    astype,
    broadcast_to,
    clip,
    concatenate,
    cumsum,
    diagonal,
    flip,
    getitem,
    isnan,
    logical_and,
    logical_not,
    matmul,
    maximum,
    mean,
    minimum,
    pad,
    prod,
    ravel,
    reshape,
    sort,
    sqrt,
    squeeze,
    sum,
    transpose,
    where,
)

__all__ = ["cumprod", "median", "quantile", "percentile", "average", "ptp", "nansum",
           "nanmean", "nanvar", "nanstd", "nanmax", "nanmin", "nanmedian", "nanquantile",
           "nanpercentile", "nanprod", "nancumsum", "nancumprod", "cov", "corrcoef"]

_NO_VALUE = xp._NoValue


# -- shifts along one axis, in gradkit ops ----------------------------------------------------


def _shift(x, s: int, ax: int, fill: float, forward: bool):
    """``x`` moved ``s`` places along negative axis ``ax`` (towards higher indices when
    ``forward``), the vacated places filled with ``fill``; the length is kept."""
    nd = _ndim(x)
    tail = (slice(None),) * (-ax - 1)
    widths = [(0, 0)] * nd
    if forward:
        kept = getitem(x, (Ellipsis, slice(None, -s)) + tail)
        widths[nd + ax] = (s, 0)
    else:
        kept = getitem(x, (Ellipsis, slice(s, None)) + tail)
        widths[nd + ax] = (0, s)
    return pad(kept, widths, constant_values=fill)


def _exclusive_cumprod(x, ax: int, reverse: bool = False):
    """Products of the factors strictly before (after, when ``reverse``) each place."""
    if reverse:
        return flip(_exclusive_cumprod(flip(x, ax), ax), ax)
    return _shift(_cumprod(x, ax), 1, ax, 1, forward=True)


def _others_product(x, axis):
    """The product of every other factor along the reduced ``axis``: prod's derivative,
    computed without dividing by ``x`` (exact with zero factors)."""
    shape = _shape(x)
    nd = len(shape)
    axes = sorted(a % nd for a in _neg_axes(axis, nd)) if nd else []
    m = math.prod(shape[a] for a in axes)
    if not axes or m == 0:
        return ones_like_library(plain(x), shape, _dtype(x))
    kept = [i for i in range(nd) if i not in axes]
    order = kept + axes
    flat = reshape(transpose(x, order), tuple(shape[i] for i in kept) + (m,))
    others = _exclusive_cumprod(flat, -1) * _exclusive_cumprod(flat, -1, reverse=True)
    others = reshape(others, tuple(shape[i] for i in order))
    return transpose(others, [order.index(i) for i in range(nd)])


# -- cumprod ----------------------------------------------------------------------------------


def _linear_scan_reverse(h, c, ax: int):
    """r with r_k = h_k + c_k r_{k+1} along negative axis ``ax`` (r past the end is 0),
    by doubling: log2(n) steps of whole-array products, no division."""
    n = _shape(h)[ax]
    s = 1
    while s < n:
        h = h + c * _shift(h, s, ax, 0, forward=False)
        c = c * _shift(c, s, ax, 0, forward=False)
        s *= 2
    return h


def _cumprod_rule(g, ans, x, ax):
    # d y_i / d x_k = prod_{j <= i, j != k} x_j, so the cotangent of x_k is
    # (prod_{j < k} x_j) * sum_{i >= k} g_i prod_{k < j <= i} x_j: the exclusive product
    # from the left times a reverse linear recurrence with coefficients x_{k+1}.
    if _shape(x)[ax] == 0:
        return g
    left = _shift(ans, 1, ax, 1, forward=True)
    right = _linear_scan_reverse(g, _shift(x, 1, ax, 0, forward=False), ax)
    return left * right


_cumprod = defprimitive(lambda x, ax: xp.cumprod(x, axis=ax), "cumprod", _cumprod_rule)


def cumprod(a: Any, axis: int | None = None, dtype: Any = None, out: Any = None) -> Any:
    """Cumulative product along an axis (of the flattened array when ``axis`` is None).

    The gradient is exact when factors are zero (nothing is divided by them).

    Examples
    --------
    >>> import gradkit as gk, gradkit.numpy as gnp
    >>> gnp.cumprod(gnp.array([2.0, 0.0, 3.0]))
    array([2., 0., 0.])
    >>> gk.grad(lambda x: gnp.sum(gnp.cumprod(x)))(gnp.array([2.0, 0.0, 3.0]))
    array([1., 8., 0.])
    """
    refuse_out("cumprod", out)
    a = as_array(a)
    refuse_complex("cumprod", a)
    a = _cast_to(a, dtype)
    if axis is None:
        return _cumprod(ravel(a), -1)
    return _cumprod(a, _neg_axes(axis, _ndim(a), "cumprod")[0])


# -- reductions over several axes: the reduced axes merged into the last one ------------------


def _reduced_axes(name: str, a, axis) -> list:
    nd = _ndim(a)
    if axis is None:
        return list(range(nd))
    axes = [ax % nd for ax in _neg_axes(axis, nd, name)]
    if len(set(axes)) != len(axes):
        raise GradkitError(f"{name}: repeated axis in axis={axis!r}")
    return sorted(axes)


def _to_last(name: str, a, axis):
    """``a`` with the reduced axes moved to the end and merged into one; the shape of the
    other axes; the shape of the result with keepdims."""
    shape = _shape(a)
    axes = _reduced_axes(name, a, axis)
    kept = [i for i in range(len(shape)) if i not in axes]
    m = math.prod(shape[i] for i in axes)
    moved = transpose(a, kept + axes) if kept + axes != list(range(len(shape))) else a
    flat = reshape(moved, tuple(shape[i] for i in kept) + (m,))
    keep_shape = tuple(1 if i in axes else s for i, s in enumerate(shape))
    return flat, tuple(shape[i] for i in kept), keep_shape


def _gather_last(v, idx):
    """``v[..., idx]`` per slice: ``v`` has shape K + (n,), ``idx`` has shape Q + K; the
    result has shape Q + K."""
    kept = _shape(v)[:-1]
    qn = len(_shape(idx)) - len(kept)
    index = []
    for d, size in enumerate(kept):
        shape = [1] * (qn + len(kept))
        shape[qn + d] = size
        index.append(xp.arange(size).reshape(shape))
    return getitem(v, tuple(index) + (idx,))


def _warn(message: str, stacklevel: int = 3) -> None:
    warnings.warn(message, RuntimeWarning, stacklevel=stacklevel)


def _nan_mask(a):
    """Where ``a`` is NaN (a constant): inside ``vmap`` a batched mask, one per example."""
    if holds_batch(a):
        return isnan(raw(a)) if dtype_kind(_dtype(a)) in "fc" else xp.zeros(_shape(a), dtype=bool)
    r = array_of(raw(a))
    return xp.isnan(r) if r.dtype.kind in "fc" else xp.zeros(r.shape, dtype=bool)


# Masks and counts of NaN are constants. Outside ``vmap`` they are plain arrays and NumPy
# computes them; inside, they are batched and the gradkit functions keep one per example.
# A decision for the whole batch (warn? replace empty slices by NaN?) looks at every
# example at once, with ``plain``: the replacing branch is right for each example either way.


def _somewhere(mask, warning: str | None = None) -> bool:
    """Whether ``mask`` may hold anywhere (in any example of a batch): False only where it
    surely holds nowhere, after NumPy's RuntimeWarning ``warning`` where it holds. A lazy
    (Dask) mask is not computed to find out: True, without a warning."""
    m = plain(mask)
    if is_chunked(m):
        return True
    if not xp.any(m):
        return False
    if warning:
        _warn(warning, stacklevel=4)  # (one frame deeper than the statistics' own calls)
    return True


def _count(mask, axis, keepdims=False):
    """How many entries of ``mask`` hold along ``axis`` (a batched mask too)."""
    if holds_batch(mask):
        return sum(mask, axis=axis, keepdims=keepdims)
    return xp.sum(mask, axis=axis, keepdims=keepdims)


def _divisor(bad, count, dt):
    """``count`` to divide by (as ``dt`` when inexact), 1 where ``bad`` (the caller puts
    NaN there), so that no division by zero warns."""
    dt = dt if dtype_kind(dt) == "f" else None
    if holds_batch(count):
        d = where(bad, 1, count)
        return d if dt is None else astype(d, dt)
    return array_of(xp.where(bad, 1, count), dtype=dt)


def _of_counts(fn, count, extra_axes: int = 0):
    """``fn(count)``, NumPy arithmetic on counts giving a tuple of constants (or None).

    Inside ``vmap`` it runs once on the whole batch of counts, ``extra_axes`` unit axes
    put after the batch axes (for ``fn`` to broadcast into), and the results are boxed
    in the batches of ``count``.
    """
    if not holds_batch(count):
        return fn(count)
    c = plain(count)
    lead = c.ndim - len(_shape(count))
    c = c.reshape(c.shape[:lead] + (1,) * extra_axes + c.shape[lead:])
    return tuple(None if r is None else rebatch(r, count) for r in fn(c))


# -- quantiles --------------------------------------------------------------------------------

# Hyndman and Fan's continuous methods: virtual index n q + alpha + q (1 - alpha - beta) - 1
_ALPHA_BETA = {"interpolated_inverted_cdf": (0.0, 1.0), "hazen": (0.5, 0.5),
               "weibull": (0.0, 0.0), "median_unbiased": (1 / 3.0, 1 / 3.0),
               "normal_unbiased": (3 / 8.0, 3 / 8.0)}
_DISCRETE = ("inverted_cdf", "closest_observation", "lower", "higher", "nearest")
_METHODS = ("inverted_cdf", "averaged_inverted_cdf", "closest_observation",
            "interpolated_inverted_cdf", "hazen", "weibull", "linear", "median_unbiased",
            "normal_unbiased", "lower", "higher", "midpoint", "nearest")

# The methods that pick one of the values (integers stay integers, as in NumPy)
_PICKING = ("inverted_cdf", "closest_observation", "lower", "higher", "nearest")


def _boundary_index(index, at_floor):
    # NumPy's rule for the discrete methods: the floor where ``at_floor`` holds, else the
    # next index, never below 0.
    below = xp.floor(index)
    return xp.maximum(xp.where(at_floor(index - below, below), below, below + 1), 0)


def _plan(n, q, method: str):
    """Where each quantile lies in the sorted values: the indices below and above and the
    weight of the one above, as NumPy computes them. ``n`` (the number of values of each
    slice) broadcasts against ``q``."""
    n = array_of(n)
    if method in _DISCRETE:
        if method == "inverted_cdf":
            idx = _boundary_index(n * q - 1, lambda g, fl: g == 0)
        elif method == "closest_observation":
            idx = _boundary_index(n * q - 1 - 0.5, lambda g, fl: (g == 0) & (fl % 2 == 1))
        elif method == "lower":
            idx = xp.floor((n - 1) * q)
        elif method == "higher":
            idx = xp.ceil((n - 1) * q)
        else:
            idx = xp.around((n - 1) * q)
        idx = xp.minimum(idx, xp.maximum(n - 1, 0)).astype(xp.intp)
        return idx, idx, None
    if method == "linear":
        virtual = (n - 1) * q
    elif method == "averaged_inverted_cdf":
        virtual = n * q - 1
    elif method == "midpoint":
        virtual = 0.5 * (xp.floor((n - 1) * q) + xp.ceil((n - 1) * q))
    else:
        alpha, beta = _ALPHA_BETA[method]
        virtual = n * q + (alpha + q * (1 - alpha - beta)) - 1
    below = xp.floor(virtual)
    gamma = virtual - below
    if method == "averaged_inverted_cdf":
        gamma = xp.where(gamma == 0, 0.5, 1.0)
    elif method == "midpoint":
        gamma = xp.where(virtual % 1 == 0, 0.0, 0.5)
    last = xp.maximum(n - 1, 0)
    outside = (virtual >= n - 1) | (virtual < 0)
    below = xp.where(virtual >= n - 1, last, xp.where(virtual < 0, 0, below))
    above = xp.where(outside, below, below + 1)
    return below.astype(xp.intp), above.astype(xp.intp), xp.where(outside, 0.0, gamma)


def _lerp(lo, hi, t):
    # NumPy's formula, from whichever end is nearer: equal values, not just close ones.
    diff = hi - lo
    return where(t >= 0.5, hi - diff * (1 - t), lo + diff * t)


def _quantile_core(name, a, q, axis, method, keepdims, skip_nan):
    """Quantiles ``q`` (a constant array) of ``a`` over ``axis``: shape q.shape + rest."""
    if method not in _METHODS:
        raise GradkitError(f"{name}: {method!r} is not a valid method. Use one of: "
                           f"{', '.join(_METHODS)}")
    flat, kept, keep_shape = _to_last(name, a, axis)
    if method not in _PICKING and xp.dtype(_dtype(flat)).kind in "iu":
        flat = astype(flat, xp.float64)  # NumPy's interpolating methods give floats
    n = _shape(flat)[-1]
    nan = _nan_mask(flat)
    values = sort(flat, axis=-1)  # NaN sort last; ties keep their order (stable)
    if skip_nan:
        count = n - _count(nan, -1)
        empty = count == 0
        _somewhere(empty, "All-NaN slice encountered")
    else:
        count = n
        empty = _count(nan, -1) > 0
        if n == 0:
            raise GradkitError(f"{name}: cannot take a quantile of an empty slice "
                               f"(shape {_shape(a)})")
    qk = xp.reshape(q, xp.shape(q) + (1,) * len(kept))
    below, above, gamma = _of_counts(lambda c: _plan(c, qk, method), count, xp.ndim(q))
    out = _gather_last(values, below)
    if gamma is not None:
        dt = _dtype(values)
        t = astype(gamma, dt) if holds_batch(gamma) else array_of(gamma, dtype=dt)
        out = _lerp(out, _gather_last(values, above), t)
    if _somewhere(empty):
        out = where(empty, xp.nan, out)  # empty broadcasts against q's axes in front
    if keepdims:
        out = reshape(out, xp.shape(q) + keep_shape)
    return out


def _constant_q(name: str, q, scale: float):
    if holds_batch(q):
        raise GradkitError(f"{name}: q batched by vmap is not supported (q is a constant); "
                           f"map over `a` only (in_axes None for q)")
    if isinstance(q, Tensor) and q._trace != CONST:
        raise GradkitError(f"{name}: q is a constant for gradkit (the gradient flows to `a` "
                           f"only); pass q as a number or a plain array")
    q = xp.true_divide(raw(q), scale) if scale != 1 else array_of(raw(q))
    if xp.ndim(q) > 2:
        raise GradkitError(f"{name}: q must be a scalar or 1d")
    if not (xp.all(q >= 0) and xp.all(q <= 1)):
        what = "Percentiles must be in the range [0, 100]" if scale != 1 else \
            "Quantiles must be in the range [0, 1]"
        raise GradkitError(f"{name}: {what}")
    return array_of(q, dtype=xp.float64)


def _quantile_entry(name, a, q, axis, out, method, keepdims, weights, scale, skip_nan):
    refuse_out(name, out)
    a = as_array(a)
    refuse_complex(name, a)
    if weights is not None:
        raise GradkitError(f"{name}: weights= is not supported by gradkit")
    q = _constant_q(name, q, scale)
    return _quantile_core(name, a, q, axis, method, bool(keepdims), skip_nan)


def quantile(a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
             method: str = "linear", keepdims: bool = False, *, weights: Any = None) -> Any:
    """The ``q``-th quantiles of ``a`` over ``axis``, as ``numpy.quantile``, every method.

    Differentiable in ``a`` (``q`` is a constant): the gradient goes to the one or two
    sorted values that the method interpolates, with its interpolation weights. At ties
    the stable sort decides which of the equal elements gets it. ``weights=`` is not
    supported. float32 input gives float32 quantiles even for an array ``q``.

    Examples
    --------
    >>> import gradkit as gk, gradkit.numpy as gnp
    >>> x = gnp.array([3.0, 1.0, 2.0, 4.0])
    >>> float(gnp.quantile(x, 0.5))
    2.5
    >>> gk.grad(lambda x: gnp.quantile(x, 0.25))(x)
    array([0.  , 0.25, 0.75, 0.  ])
    """
    return _quantile_entry("quantile", a, q, axis, out, method, keepdims, weights, 1, False)


def percentile(a: Any, q: Any, axis: Any = None, out: Any = None,
               overwrite_input: bool = False, method: str = "linear", keepdims: bool = False,
               *, weights: Any = None) -> Any:
    """The ``q``-th percentiles (``q`` in [0, 100]) of ``a``; see :func:`quantile`.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> float(gnp.percentile(gnp.array([1.0, 2.0, 3.0]), 50))
    2.0
    """
    return _quantile_entry("percentile", a, q, axis, out, method, keepdims, weights, 100,
                           False)


def nanquantile(a: Any, q: Any, axis: Any = None, out: Any = None,
                overwrite_input: bool = False, method: str = "linear",
                keepdims: bool = False, *, weights: Any = None) -> Any:
    """:func:`quantile` ignoring NaN; NaN entries get a zero gradient.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> float(gnp.nanquantile(gnp.array([1.0, gnp.nan, 3.0]), 0.5))
    2.0
    """
    return _quantile_entry("nanquantile", a, q, axis, out, method, keepdims, weights, 1,
                           True)


def nanpercentile(a: Any, q: Any, axis: Any = None, out: Any = None,
                  overwrite_input: bool = False, method: str = "linear",
                  keepdims: bool = False, *, weights: Any = None) -> Any:
    """:func:`percentile` ignoring NaN; NaN entries get a zero gradient."""
    return _quantile_entry("nanpercentile", a, q, axis, out, method, keepdims, weights,
                           100, True)


def _median_core(name, a, axis, out, keepdims, skip_nan):
    refuse_out(name, out)
    a = as_array(a)
    refuse_complex(name, a)
    flat, kept, keep_shape = _to_last(name, a, axis)
    n = _shape(flat)[-1]
    nan = _nan_mask(flat)
    values = sort(flat, axis=-1)
    if skip_nan:
        count = n - _count(nan, -1)
        empty = count == 0
        _somewhere(empty, "All-NaN slice encountered")
    else:
        if n == 0:
            _warn("Mean of empty slice")
            return xp.full(keep_shape if keepdims else kept, xp.nan)
        count = xp.full(kept, n)
        empty = _count(nan, -1) > 0
    # The mean of the two middle values (one value twice for odd counts), as NumPy.
    lo, hi = _of_counts(lambda c: (xp.maximum(c - 1, 0) // 2, c // 2 - (c == 0)), count)
    out = (_gather_last(values, lo) + _gather_last(values, hi)) / 2
    if _somewhere(empty):
        out = where(empty, xp.nan, out)
    if keepdims:
        out = reshape(out, keep_shape)
    return out


def median(a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
           keepdims: bool = False) -> Any:
    """The median over ``axis``, as ``numpy.median``: the mean of the two middle values
    for an even count. Slices with NaN give NaN.

    The gradient goes to the middle element(s) of the stable sort (1/2 each for an even
    count); at ties the stable order decides which of the equal elements gets it.

    Examples
    --------
    >>> import gradkit as gk, gradkit.numpy as gnp
    >>> x = gnp.array([3.0, 1.0, 2.0, 4.0])
    >>> float(gnp.median(x))
    2.5
    >>> gk.grad(gnp.median)(x)
    array([0.5, 0. , 0.5, 0. ])
    """
    return _median_core("median", a, axis, out, keepdims, False)


def nanmedian(a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
              keepdims: bool = False) -> Any:
    """:func:`median` ignoring NaN; NaN entries get a zero gradient, all-NaN slices give
    NaN with NumPy's RuntimeWarning.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> float(gnp.nanmedian(gnp.array([1.0, gnp.nan, 3.0, 10.0])))
    3.0
    """
    return _median_core("nanmedian", a, axis, out, keepdims, True)


# -- averages and spreads ---------------------------------------------------------------------


def average(a: Any, axis: Any = None, weights: Any = None, returned: bool = False, *,
            keepdims: bool = False) -> Any:
    """Weighted average over ``axis``, as ``numpy.average``, differentiable in ``a`` and
    in ``weights``.

    Examples
    --------
    >>> import gradkit as gk, gradkit.numpy as gnp
    >>> float(gnp.average(gnp.array([1.0, 3.0]), weights=gnp.array([3.0, 1.0])))
    1.5
    >>> gk.grad(lambda w: gnp.average(gnp.array([1.0, 3.0]), weights=w))(
    ...     gnp.array([3.0, 1.0]))
    array([-0.125,  0.375])
    """
    a = as_array(a)
    weights = None if weights is None else as_array(weights)
    refuse_complex("average", a, weights)
    shape = _shape(a)
    axes = None if axis is None else tuple(_reduced_axes("average", a, axis))
    # NumPy matches the weights' axes to ``axis`` in the order given
    given = None if axis is None else tuple(ax % len(shape)
                                            for ax in _neg_axes(axis, len(shape)))
    if dtype_kind(_dtype(a)) in "biu":
        a = astype(a, xp.result_type(_dtype(a), xp.float64) if weights is None else
                   xp.result_type(_dtype(a), _dtype(weights), xp.float64))
    if weights is None:
        avg = mean(a, axis=axes, keepdims=keepdims)
        scl = array_of(math.prod(shape) / max(math.prod(_shape(avg)), 1), dtype=_dtype(avg))
        scl = scl[()] if not _shape(avg) else scl
    else:
        w = weights
        wshape = _shape(w)
        if wshape != shape:
            if axes is None:
                raise GradkitError("average: axis must be specified when shapes of a and "
                                   f"weights differ ({shape} and {wshape})")
            if wshape != tuple(shape[ax] for ax in given):
                raise GradkitError(f"average: shape of weights {wshape} must be consistent "
                                   f"with shape of a {shape} along axis {axis}")
            w = reshape(transpose(w, [int(i) for i in xp.argsort(given)]),
                        tuple(s if i in axes else 1 for i, s in enumerate(shape)))
        scl = sum(w, axis=axes, keepdims=keepdims)
        if xp.any(plain(scl) == 0):  # (NumPy's check: computes lazy weights' sum)
            raise GradkitError("average: weights sum to zero, can't be normalized")
        avg = sum(a * w, axis=axes, keepdims=keepdims) / scl
    if returned:
        if _shape(scl) != _shape(avg):
            scl = broadcast_to(scl, _shape(avg))
        return avg, scl
    return avg


def ptp(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    """Range (maximum minus minimum) over ``axis``; repeated extrema share the gradient.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> float(gnp.ptp(gnp.array([3.0, -1.0, 2.0])))
    4.0
    """
    refuse_out("ptp", out)
    a = as_array(a)
    return amax(a, axis=axis, keepdims=keepdims) - amin(a, axis=axis, keepdims=keepdims)


# -- NaN-ignoring reductions ------------------------------------------------------------------


def _valid(a, where_mask):
    """Entries that count: not NaN, and inside NumPy's ``where=`` mask."""
    nan = _nan_mask(a)
    given = where_mask is not _NO_VALUE and where_mask is not True
    if holds_batch(nan) or given and holds_batch(where_mask):
        valid = logical_not(nan)
        return logical_and(valid, raw(where_mask)) if given else valid
    valid = ~nan
    if given:
        valid = valid & array_of(raw(where_mask), dtype=bool)
    return valid


def nansum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
           keepdims: bool = False, initial: Any = _NO_VALUE, where: Any = _NO_VALUE) -> Any:
    """Sum treating NaN as 0, as ``numpy.nansum``; NaN entries get a zero gradient.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> float(gnp.nansum(gnp.array([1.0, gnp.nan, 2.0])))
    3.0
    """
    refuse_out("nansum", out)
    a = as_array(a)
    refuse_complex("nansum", a)
    return sum(a, axis=axis, dtype=dtype, keepdims=keepdims, initial=initial,
               where=_valid(a, where))


def nanprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
            keepdims: bool = False, initial: Any = _NO_VALUE, where: Any = _NO_VALUE) -> Any:
    """Product treating NaN as 1, as ``numpy.nanprod``; exact gradient with zero factors.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> float(gnp.nanprod(gnp.array([2.0, gnp.nan, 3.0])))
    6.0
    """
    refuse_out("nanprod", out)
    a = as_array(a)
    refuse_complex("nanprod", a)
    return prod(a, axis=axis, dtype=dtype, keepdims=keepdims, initial=initial,
                where=_valid(a, where))


def nanmean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
            keepdims: bool = False, *, where: Any = _NO_VALUE) -> Any:
    """Mean ignoring NaN, as ``numpy.nanmean``; NaN entries get a zero gradient and
    all-NaN slices give NaN with NumPy's RuntimeWarning.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> float(gnp.nanmean(gnp.array([1.0, gnp.nan, 2.0])))
    1.5
    """
    refuse_out("nanmean", out)
    a = as_array(a)
    refuse_complex("nanmean", a)
    return _nanmean(a, _valid(a, where), axis, dtype, keepdims)


def _nanmean(a, valid, axis, dtype, keepdims):
    a = _cast_to(a, dtype)
    total = sum(_masked(a, valid, 0), axis=axis, keepdims=keepdims)
    cnt = _reduced_count(a, axis, keepdims, valid)
    empty = cnt == 0
    avg = total / _divisor(empty, cnt, _dtype(total))
    if _somewhere(empty, "Mean of empty slice"):
        avg = where(empty, xp.nan, avg)
    return avg


def nanvar(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: float = 0,
           keepdims: bool = False, *, where: Any = _NO_VALUE, mean: Any = _NO_VALUE,
           correction: Any = _NO_VALUE) -> Any:
    """Variance ignoring NaN, as ``numpy.nanvar`` (``ddof`` or ``correction``, a given
    ``mean``); NaN entries get a zero gradient.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> float(gnp.nanvar(gnp.array([1.0, gnp.nan, 3.0])))
    1.0
    """
    return _nanvar("nanvar", a, axis, dtype, out, ddof, keepdims, where, mean, correction)


def _nanvar(name, a, axis, dtype, out, ddof, keepdims, where_mask, avg, correction):
    refuse_out(name, out)
    a = as_array(a)
    refuse_complex(name, a)
    if correction is not _NO_VALUE:
        if ddof != 0:
            raise GradkitError(f"{name}: ddof and correction can't be provided "
                               f"simultaneously")
        ddof = correction
    valid = _valid(a, where_mask)
    a = _cast_to(a, dtype)
    if avg is _NO_VALUE:
        count = plain(_reduced_count(a, axis, True, valid))
        # (a lazy count is not computed to choose: the quiet mean is right either way)
        avg = _nanmean(a, valid, axis, None, True) \
            if not is_chunked(count) and xp.all(count) else _quiet_nanmean(a, valid, axis)
    dev = _masked(a - avg, valid, 0)
    dof = _reduced_count(a, axis, keepdims, valid) - ddof
    bad = dof <= 0
    var = sum(dev * dev, axis=axis, keepdims=keepdims) / _divisor(bad, dof, _dtype(dev))
    if _somewhere(bad, "Degrees of freedom <= 0 for slice."):
        var = where(bad, xp.nan, var)
    return var


def _quiet_nanmean(a, valid, axis):
    # The mean of empty slices only feeds a variance that is NaN there: no second warning.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _nanmean(a, valid, axis, None, True)


def nanstd(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: float = 0,
           keepdims: bool = False, *, where: Any = _NO_VALUE, mean: Any = _NO_VALUE,
           correction: Any = _NO_VALUE) -> Any:
    """Standard deviation ignoring NaN, as ``numpy.nanstd``; see :func:`nanvar`.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> float(gnp.nanstd(gnp.array([1.0, gnp.nan, 3.0])))
    1.0
    """
    return sqrt(_nanvar("nanstd", a, axis, dtype, out, ddof, keepdims, where, mean,
                        correction))


def _nan_extremum(name, a, axis, out, keepdims, initial, where_mask, larger):
    refuse_out(name, out)
    a = as_array(a)
    refuse_complex(name, a)
    if where_mask is not _NO_VALUE and initial is _NO_VALUE:
        raise GradkitError(f"{name}: where= needs initial= (the reduction has no identity)")
    valid = _valid(a, where_mask)
    inexact = dtype_kind(_dtype(a)) == "f"
    fill = -xp.inf if larger else xp.inf
    if inexact or not xp.all(plain(valid)):
        a = _masked(a, valid, fill)
    reduce = amax if larger else amin
    m = reduce(a, axis=axis, keepdims=keepdims)
    if initial is not _NO_VALUE:
        return (maximum if larger else minimum)(m, initial)
    empty = _count(valid, None if axis is None else _neg_axes(axis, _ndim(a)), keepdims) == 0
    if _somewhere(empty, "All-NaN slice encountered"):
        m = where(empty, xp.nan, m)
    return m


def nanmax(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
           initial: Any = _NO_VALUE, where: Any = _NO_VALUE) -> Any:
    """Maximum ignoring NaN, as ``numpy.nanmax``; repeated maxima share the gradient
    equally, NaN entries get none, all-NaN slices give NaN with NumPy's RuntimeWarning.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> float(gnp.nanmax(gnp.array([1.0, gnp.nan, 2.0])))
    2.0
    """
    return _nan_extremum("nanmax", a, axis, out, keepdims, initial, where, True)


def nanmin(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
           initial: Any = _NO_VALUE, where: Any = _NO_VALUE) -> Any:
    """Minimum ignoring NaN, as ``numpy.nanmin``; see :func:`nanmax`.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> float(gnp.nanmin(gnp.array([1.0, gnp.nan, 2.0])))
    1.0
    """
    return _nan_extremum("nanmin", a, axis, out, keepdims, initial, where, False)


def nancumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """Cumulative sum treating NaN as 0, as ``numpy.nancumsum``.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> gnp.nancumsum(gnp.array([1.0, gnp.nan, 2.0]))
    array([1., 1., 3.])
    """
    refuse_out("nancumsum", out)
    a = as_array(a)
    refuse_complex("nancumsum", a)
    return cumsum(_cast_to(_masked(a, _valid(a, True), 0), dtype), axis=axis)


def nancumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """Cumulative product treating NaN as 1, as ``numpy.nancumprod``.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> gnp.nancumprod(gnp.array([2.0, gnp.nan, 3.0]))
    array([2., 2., 6.])
    """
    a = as_array(a)
    return cumprod(_masked(a, _valid(a, True), 1), axis=axis, dtype=dtype, out=out)


# -- covariance -------------------------------------------------------------------------------


def _as_rows(name, v, dtype):
    nd = _ndim(v)
    if nd > 2:
        raise GradkitError(f"{name}: {nd}-d input; at most 2 dimensions are supported")
    v = _cast_to(v, dtype)
    return reshape(v, (1,) * (2 - nd) + _shape(v)) if nd < 2 else v


def cov(m: Any, y: Any = None, rowvar: bool = True, bias: bool = False, ddof: Any = None,
        fweights: Any = None, aweights: Any = None, *, dtype: Any = None) -> Any:
    """Covariance matrix, as ``numpy.cov`` (float64 unless ``dtype`` says otherwise, as
    NumPy). Differentiable in ``m``, ``y`` and ``aweights``; ``fweights`` are constants.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> gnp.cov(gnp.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))
    array([[ 1., -1.],
           [-1.,  1.]])
    """
    m, y = as_array(m), None if y is None else as_array(y)
    refuse_complex("cov", m, y)
    if ddof is not None and ddof != int(ddof):
        raise GradkitError("cov: ddof must be integer")
    if dtype is None:
        dtype = xp.result_type(_dtype(m), xp.float64) if y is None else \
            xp.result_type(_dtype(m), _dtype(y), xp.float64)
    x = _as_rows("cov", m, dtype)
    if not rowvar and _ndim(m) != 1:
        x = transpose(x)
    if _shape(x)[0] == 0:
        return xp.array([]).reshape(0, 0)
    if y is not None:
        yy = _as_rows("cov", y, dtype)
        if not rowvar and _shape(yy)[0] != 1:
            yy = transpose(yy)
        x = concatenate((x, yy), axis=0)
    if ddof is None:
        ddof = 1 if bias == 0 else 0
    n = _shape(x)[1]
    w = None
    if fweights is not None:
        fw = array_of(plain(fweights), dtype=float)  # every example's, inside vmap
        if not xp.all(fw == xp.around(fw)):
            raise GradkitError("cov: fweights must be integer")
        _check_weights("fweights", fweights, n)
        # a constant; batched inside vmap, as the fweights given
        w = _cast_to(raw(fweights), xp.dtype(xp.float64)) if holds_batch(fweights) else fw
    if aweights is not None:
        _check_weights("aweights", aweights, n)
        aw = _cast_to(aweights, xp.dtype(xp.float64))
        w = aw if w is None else w * aw
    if w is not None:  # float64 weights make it float64 (NumPy's), cast here explicitly
        x = _cast_to(x, xp.result_type(_dtype(x), _dtype(w)))
    avg, w_sum = average(x, axis=1, weights=w, returned=True)
    w_sum = getitem(w_sum, 0)
    if w is None:
        fact = n - ddof
    elif ddof == 0:
        fact = w_sum
    elif aweights is None:
        fact = w_sum - ddof
    else:
        fact = w_sum - ddof * sum(w * aw) / w_sum
    no_dof = bool(xp.any(plain(fact) <= 0))  # in any example, inside vmap
    if no_dof:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=2)
        if not holds_batch(fact):
            fact = 0.0
    x = x - reshape(avg, (-1, 1))
    xt = transpose(x if w is None else x * w)
    if no_dof and holds_batch(fact):  # NumPy's inf for the examples without, 1 / fact else
        bad = raw(fact) <= 0
        scale = where(bad, xp.inf, 1 / where(bad, 1, fact))
    elif isinstance(fact, Tensor):
        scale = 1 / fact
    else:  # a Python float keeps a float32 product float32; 1 / 0 is NumPy's inf
        scale = 1 / float(fact) if fact != 0 else math.inf
    return squeeze(matmul(x, xt) * scale)


def _check_weights(name, w, n):
    # one example's shape (inside vmap), every example's values
    shape = _shape(w)
    if len(shape) > 1:
        raise GradkitError(f"cov: cannot handle multidimensional {name}")
    if shape[0] != n:
        raise GradkitError(f"cov: incompatible numbers of samples ({n}) and {name} "
                           f"({shape[0]})")
    if xp.any(array_of(plain(w), dtype=float) < 0):
        raise GradkitError(f"cov: {name} cannot be negative")


def corrcoef(x: Any, y: Any = None, rowvar: bool = True, *, dtype: Any = None) -> Any:
    """Pearson correlation coefficients, as ``numpy.corrcoef`` (clipped to [-1, 1]).

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> gnp.corrcoef(gnp.array([0.0, 1.0, 2.0]), gnp.array([1.0, 3.0, 5.0]))
    array([[1., 1.],
           [1., 1.]])
    """
    c = cov(x, y, rowvar, dtype=dtype)
    if _ndim(c) != 2:
        return c / c
    std = sqrt(diagonal(c))
    c = c / reshape(std, (-1, 1))
    c = c / reshape(std, (1, -1))
    return clip(c, -1, 1)
