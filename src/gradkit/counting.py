"""Searching and counting: unique, bincount, histogram, searchsorted, digitize...

Indices, counts and bin numbers are piecewise constant in the values they are computed
from (derivative 0 almost everywhere), so they come back as plain arrays, also for traced
input. What does carry a derivative is differentiable: the unique *values* (each one is
an element of the input: the gradient goes to its first occurrence), the weighted counts
of ``bincount`` and ``histogram`` (linear in the weights), and histogram bin edges that
are computed from the data (they move with its minimum and maximum).
"""

from __future__ import annotations

import builtins

from ._rules import _dtype, _nb, _shape
from .arguments import as_array, holds_tensor
from .backend import array_of, is_chunked, scatter_sum, xp, zeros_like_library
from .errors import GradkitError
from .graph import Tensor, defprimitive, nondifferentiable, raw
from .ops import (
    amax,
    amin,
    astype,
    concatenate,
    getitem,
    reshape,
    sum,
    take,
)
from .series import _numpy, _traced, diff

__all__ = ["unique", "unique_values", "unique_counts", "unique_inverse", "unique_all",
           "bincount", "histogram", "histogram_bin_edges", "searchsorted", "digitize",
           "flatnonzero", "argwhere", "count_nonzero", "isin", "lexsort"]

_searchsorted = nondifferentiable(xp.searchsorted, "searchsorted")


def searchsorted(a, v, side="left", sorter=None):
    """Indices where the elements of ``v`` would go in the sorted ``a`` (as NumPy's;
    inside ``vmap`` each example may have its own ``a`` and ``sorter``)."""
    return _searchsorted(a, v, side, sorter)


searchsorted.differentiable = False


digitize = nondifferentiable(xp.digitize, "digitize")
flatnonzero = nondifferentiable(xp.flatnonzero, "flatnonzero")
argwhere = nondifferentiable(xp.argwhere, "argwhere")
count_nonzero = nondifferentiable(xp.count_nonzero, "count_nonzero")
isin = nondifferentiable(xp.isin, "isin")
lexsort = nondifferentiable(xp.lexsort, "lexsort")


# -- unique ----------------------------------------------------------------------------------


def _first_occurrences(values_raw, found, axis, equal_nan: bool):
    """For each unique value NumPy returned in ``found``, the index (along ``axis``, or in
    the flattened array) of its first occurrence in ``values_raw``."""
    nan_ok = xp.issubdtype(values_raw.dtype, xp.inexact)
    ordered, first = xp.unique(values_raw, return_index=True, axis=axis, equal_nan=equal_nan)
    if ordered.shape == found.shape and xp.array_equal(ordered, found, equal_nan=nan_ok):
        return first
    if axis is None:  # NumPy's hash-table order (sorted=False): find each value by value
        pos = xp.searchsorted(ordered, found)
        nan = xp.isnan(found) if nan_ok else xp.zeros(found.shape, bool)
        if nan.any():  # each NaN is its own value; they are sorted last
            pos[nan] = xp.flatnonzero(xp.isnan(ordered))[:int(nan.sum())]
        pos = xp.minimum(pos, builtins.max(len(ordered) - 1, 0))
        if len(ordered) and xp.array_equal(ordered[pos], found, equal_nan=nan_ok):
            return first[pos]
    raise GradkitError(f"unique: could not match the {len(found)} unique values to their "
                       f"first occurrences in the input of shape {values_raw.shape}")


def _values(ar, found, axis, equal_nan: bool):
    idx = _first_occurrences(raw(ar), found, axis, equal_nan)
    return take(ar, idx, axis=axis)


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
           equal_nan=True, sorted=True):  # noqa: A002 - NumPy's name
    """The unique elements of an array (as ``numpy.unique``, every keyword).

    The unique values are differentiable: each one is an element of ``ar``, and its
    gradient goes to the first occurrence of that value (NumPy's ``return_index``).
    Indices, inverse and counts are plain integer arrays.

    Examples
    --------
    >>> import gradkit as gk
    >>> import gradkit.numpy as gnp
    >>> gk.grad(lambda x: gnp.sum(gnp.unique(x) ** 2))(gnp.array([3.0, 1.0, 3.0]))
    array([6., 2., 0.])
    """
    traced = holds_tensor(ar)
    if traced:
        ar = as_array(ar)
    res = _numpy("unique", xp.unique, raw(ar), return_index=return_index,
                 return_inverse=return_inverse, return_counts=return_counts, axis=axis,
                 equal_nan=equal_nan, sorted=sorted)
    if not traced:
        return res
    if isinstance(res, tuple):
        first = res[1] if return_index else _first_occurrences(raw(ar), res[0], axis,
                                                                equal_nan)
        return (take(ar, first, axis=axis), *res[1:])
    return _values(ar, res, axis, equal_nan)


def unique_values(x):
    """Unique elements (as ``numpy.unique_values``, in NumPy's order); differentiable, the
    gradient going to each value's first occurrence."""
    if not holds_tensor(x):
        return _numpy("unique_values", xp.unique_values, x)
    x = as_array(x)
    return _values(x, xp.unique_values(raw(x)), None, False)


def _with_values(fn, x):
    if not holds_tensor(x):
        return _numpy(fn.__name__, fn, x)
    x = as_array(x)
    res = fn(raw(x))
    return res._replace(values=_values(x, res.values, None, False))


def unique_counts(x):
    """``numpy.unique_counts``: differentiable values, plain counts."""
    return _with_values(xp.unique_counts, x)


def unique_inverse(x):
    """``numpy.unique_inverse``: differentiable values, plain inverse indices."""
    return _with_values(xp.unique_inverse, x)


def unique_all(x):
    """``numpy.unique_all``: differentiable values; indices, inverse and counts plain."""
    if not holds_tensor(x):
        return _numpy("unique_all", xp.unique_all, x)
    x = as_array(x)
    res = xp.unique_all(raw(x))
    return res._replace(values=take(x, res.indices))


# -- weighted counts ---------------------------------------------------------------------------


def _weighted_counts(positions, w, size: int):
    """The sums of another library's weights ``w`` by their NumPy ``positions`` into
    ``size`` bins, in the weights' library and dtype (lazy on Dask)."""
    if not positions.size:
        return zeros_like_library(w, (size,), w.dtype)
    return scatter_sum(positions, w, size).astype(w.dtype)


def _bincount_fwd(w, x, minlength):
    if is_chunked(w) and type(x) is xp.ndarray:
        return _weighted_counts(x, w, builtins.max(minlength, int(x.max(initial=-1)) + 1))
    out = xp.bincount(x, weights=w, minlength=minlength)
    # NumPy sums in float64; the result keeps a float32 weights' dtype (gradkit's rule).
    w_dtype = xp.result_type(w)
    return out.astype(w_dtype, copy=False) if xp.issubdtype(w_dtype, xp.floating) else out


# The weights are scattered into their bins: the cotangent is gathered back from them.
_bincount = defprimitive(_bincount_fwd, "bincount",
                         lambda g, ans, w, x, minlength: take(g, x, axis=-1), None, None)


def bincount(x, weights=None, minlength=0):
    """Occurrences of each non-negative integer (as ``numpy.bincount``), differentiable in
    ``weights``: bin ``k`` sums the weights of the entries equal to ``k``, and the
    gradient of a weight is the cotangent of its bin. ``x`` holds integers (no gradient).
    Traced float32 weights give float32 counts (NumPy gives float64).

    Examples
    --------
    >>> import gradkit as gk
    >>> import gradkit.numpy as gnp
    >>> gk.grad(lambda w: gnp.sum(gnp.bincount([0, 2, 2], w) * gnp.array([1.0, 5.0, 7.0])))(
    ...     gnp.array([1.0, 1.0, 1.0]))
    array([1., 7., 7.])
    """
    if not _traced(weights):
        return _numpy("bincount", xp.bincount, raw(x), weights=raw(weights),
                      minlength=minlength)
    w = as_array(weights)
    xr = array_of(raw(x))
    if xr.ndim != 1 or not (xp.issubdtype(xr.dtype, xp.integer) or xr.size == 0):
        raise GradkitError(f"bincount: x must be a 1-D array of non-negative integers, got "
                           f"{xr.dtype}{list(xr.shape)}")
    if _shape(w) != xr.shape:
        raise GradkitError(f"bincount: the weights and list don't have the same length "
                           f"({_shape(w)} and {xr.shape})")
    if xr.size and xr.min() < 0:
        raise GradkitError("bincount: x must hold non-negative integers")
    return _bincount(w, xr.astype(xp.intp, copy=False), int(minlength))


def _histogram_fwd(w, a, bins, range_, index):
    if is_chunked(w) and type(a) is xp.ndarray:
        # NumPy's bins of NumPy data: the weights summed where ``index`` puts them
        n = xp.histogram(a, bins, range_)[0].size
        return _weighted_counts(index, w, n + 1)[:n]
    return xp.histogram(a, bins, range_, weights=w)[0]


def _histogram_rule(g, ans, w, a, bins, range_, index):
    # index[i] is the bin of element i, len(bins) - 1 (a zero appended to g) where the
    # element falls outside every bin.
    nb = _nb(g, ans)
    batch = _shape(g)[:nb]
    g = concatenate([g, xp.zeros(batch + (1,), dtype=_dtype(g))], axis=-1)
    return reshape(take(g, index, axis=-1), batch + _shape(w))


_histogram = defprimitive(_histogram_fwd, "histogram", _histogram_rule, None, None, None, None)


def _bin_index(a, edges, counts):
    """The bin of each element of ``a`` (len(edges) - 1 where it is outside all bins),
    by NumPy's rule: bins are half-open, the last one closed; checked against NumPy's
    counts so that the derivative can never follow a different assignment."""
    n = len(edges) - 1
    a = xp.ravel(a)
    with xp.errstate(invalid="ignore"):
        v = a.astype(xp.result_type(a.dtype, edges.dtype), copy=False)
        index = xp.searchsorted(edges, v, side="right") - 1
        index[v == edges[-1]] = n - 1
        index[~((v >= edges[0]) & (v <= edges[-1]))] = n
    if not xp.array_equal(xp.bincount(index, minlength=n + 1)[:n], counts):
        raise GradkitError("histogram: could not reproduce NumPy's assignment of values to "
                           "bins (values within rounding of a bin edge); the gradient with "
                           "respect to the weights is not available for this input")
    return index


def _linspace_edges(first, last, n: int, dtype):
    """``numpy.linspace(first, last, n + 1)`` in gradkit operations (same arithmetic)."""
    fr, lr = raw(first), raw(last)
    dt = xp.result_type(*(v if isinstance(v, int | float) else xp.result_type(v)
                          for v in (fr, lr)))
    if not xp.issubdtype(dt, xp.inexact):
        dt = xp.dtype(xp.float64)
    first, last = (astype(v, dt) if type(v) is Tensor and _dtype(v) != dt else v
                   for v in (first, last))
    delta = last - first
    steps = xp.arange(n + 1, dtype=dt)
    step = delta / n
    if raw(step) == 0:  # denormal range, as NumPy
        y = (steps / n) * delta + first
    else:
        y = steps * step + first
    last = last if type(last) is Tensor else array_of(last, dt)
    y = concatenate([getitem(y, slice(0, -1)), reshape(last, (1,))])
    return y if _dtype(y) == dtype else astype(y, dtype)


def _edges(a, bins, range_, edges_np):
    """The bin edges, traced where they depend on traced input: the bins array itself, or
    evenly spaced edges between the (traced) range or minimum and maximum of ``a``."""
    if not isinstance(bins, str) and xp.ndim(raw(bins)) == 1:
        return as_array(bins) if holds_tensor(bins) else edges_np
    if range_ is not None:
        if not holds_tensor(range_):
            return edges_np
        first, last = range_
    elif type(a) is Tensor and xp.size(raw(a)) and a._trace >= 0:
        first, last = amin(a), amax(a)
    else:
        return edges_np
    if raw(first) == raw(last):
        first, last = first - 0.5, last + 0.5
    return _linspace_edges(first, last, len(edges_np) - 1, edges_np.dtype)


def _raw_bins(bins):
    return bins if isinstance(bins, str) else raw(as_array(bins)) if holds_tensor(bins) else bins


def _raw_range(range_):
    return None if range_ is None else tuple(raw(v) for v in range_)


def histogram_bin_edges(a, bins=10, range=None, weights=None):  # noqa: A002
    """Bin edges as ``numpy.histogram_bin_edges``; differentiable where they depend on the
    data: evenly spaced edges from the minimum to the maximum of ``a`` (when ``range`` is
    None) move with them, edges from a traced ``range`` or ``bins`` array follow it.
    The number of bins a string estimator picks is piecewise constant (no derivative).

    Examples
    --------
    >>> import gradkit as gk
    >>> import gradkit.numpy as gnp
    >>> gk.jacobian(lambda a: gnp.histogram_bin_edges(a, bins=2))(gnp.array([0.0, 4.0]))
    array([[1. , 0. ],
           [0.5, 0.5],
           [0. , 1. ]])
    """
    if not _traced(a, bins, range, weights):
        return _numpy("histogram_bin_edges", xp.histogram_bin_edges, a, bins, range, weights)
    a = as_array(a)
    edges_np = _numpy("histogram_bin_edges", xp.histogram_bin_edges, raw(a), _raw_bins(bins),
                      _raw_range(range), None if weights is None else raw(as_array(weights)))
    return _edges(a, bins, range, edges_np)


def histogram(a, bins=10, range=None, density=None, weights=None):  # noqa: A002
    """Histogram as ``numpy.histogram`` (every keyword), differentiable in ``weights``.

    A weighted bin is the sum of the weights of the values in it: linear in the weights,
    and the gradient of a weight is the cotangent of its bin (0 for values outside every
    bin). The counts are piecewise constant in ``a`` and in a ``bins`` array: a traced
    ``a`` or ``bins`` gets derivative 0 through them (exact almost everywhere). The
    edges are differentiable as in :func:`histogram_bin_edges`, and ``density=True``
    divides by their widths and the total, in gradkit operations.

    Examples
    --------
    >>> import gradkit as gk
    >>> import gradkit.numpy as gnp
    >>> a = gnp.array([0.5, 1.5, 1.7])
    >>> gk.grad(lambda w: gnp.histogram(a, bins=2, range=(0, 2), weights=w)[0][1])(
    ...     gnp.array([1.0, 1.0, 1.0]))
    array([0., 1., 1.])
    """
    if not _traced(a, bins, range, weights):
        return _numpy("histogram", xp.histogram, a, bins, range, density, weights)
    a = as_array(a)
    ar, br, rr = raw(a), _raw_bins(bins), _raw_range(range)
    w = None if weights is None else as_array(weights)
    wr = None if w is None else raw(w)
    if type(w) is Tensor and is_chunked(wr) and type(ar) is xp.ndarray:  # weighted below
        wr = None
    counts, edges_np = _numpy("histogram", xp.histogram, ar, br, rr, weights=wr)
    edges = _edges(a, bins, range, edges_np)
    if type(w) is Tensor:
        if _shape(w) != xp.shape(ar):
            raise GradkitError(f"histogram: weights should have the same shape as a, got "
                               f"{_shape(w)} and {xp.shape(ar)}")
        index = _bin_index(ar, edges_np, xp.histogram(ar, edges_np)[0])
        counts = _histogram(w, ar, br, rr, index)
    if density:
        ftype = (_dtype(counts) if type(counts) is Tensor
                 else _dtype(edges) if type(edges) is Tensor else xp.dtype(xp.float64))
        widths = diff(edges)
        widths = widths if _dtype(widths) == ftype else astype(widths, ftype)
        if type(counts) is Tensor and _dtype(counts) != ftype:
            counts = astype(counts, ftype)
        counts = counts / widths / sum(counts)
    return counts, edges
