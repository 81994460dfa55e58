"""Sequences: differences, integrals, interpolation, convolution, polynomials, cross, kron.

Every function here is a composite of gradkit primitives (no new derivative rules), so
derivatives of any order come for free. Called on plain arrays only, each one is NumPy's
own function (same values, same dtype); given a :class:`~gradkit.Tensor` it runs the
composite, which computes the same numbers in the same order.
"""

from __future__ import annotations

import builtins
import math
import operator

from ._rules import _axis_index as _axis  # a non-negative axis, or an error naming the call
from ._rules import _dtype, _ndim, _shape
from .arguments import as_array, holds_tensor
from .backend import array_of, is_chunked, maybe_any, namespace, xp
from .backend import xp as _XP
from .errors import GradkitError
from .graph import Tensor, holds_batch, op_error, plain, raw, rebatch
from .ops import (
    _cast_to,
    astype,
    broadcast_to,
    clip,
    concatenate,
    equal,
    expand_dims,
    flip,
    getitem,
    greater,
    isnan,
    less,
    less_equal,
    logical_and,
    matmul,
    moveaxis,
    not_equal,
    pad,
    ravel,
    reshape,
    sliding_window_view,
    stack,
    subtract,
    sum,
    where,
)

__all__ = ["diff", "ediff1d", "gradient", "interp", "trapezoid", "convolve", "correlate",
           "polyval", "cross", "kron", "vander", "unwrap"]

_NOVALUE = xp._NoValue


# -- helpers ------------------------------------------------------------------------------


def _numpy(name: str, fn, *args, **kw):
    """NumPy's own function on plain input, its errors as gradkit's (naming the call)."""
    for a in (*args, *kw.values()):
        if holds_batch(a):
            raise GradkitError(f"vmap: {name} has no batching rule (NumPy computes it on "
                               f"one array; its result's shape may differ between examples)")
    try:
        return fn(*args, **kw)
    except GradkitError:
        raise
    except (ValueError, TypeError, IndexError) as e:
        raise op_error(name, args, kw, e) from e


def _traced(*objs) -> bool:
    """Whether any argument is (or holds) a Tensor: then the composite runs."""
    return builtins.any(holds_tensor(o) for o in objs)


def _along(nd: int, axis: int, index) -> tuple:
    return (slice(None),) * axis + (index,) + (slice(None),) * (nd - axis - 1)


def _constant(name: str, arg: str, value):
    """``value`` as a plain array; a traced one is refused, its derivative is not supported."""
    if type(value) is Tensor and value._trace >= 0:
        raise GradkitError(f"{name}: the argument {arg} is not differentiable; pass a "
                           f"constant (got a traced value of shape {_shape(value)})")
    return raw(value)


# -- differences ---------------------------------------------------------------------------


def diff(a, n=1, axis=-1, prepend=_NOVALUE, append=_NOVALUE):
    """n-th discrete difference along ``axis`` (as ``numpy.diff``), differentiable in ``a``,
    ``prepend`` and ``append``.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> gnp.diff(gnp.array([1.0, 4.0, 9.0]), prepend=0.0)
    array([1., 3., 5.])
    """
    if not _traced(a, prepend, append):
        return _numpy("diff", xp.diff, a, n, axis, prepend=prepend, append=append)
    a = as_array(a)
    n = operator.index(n)
    if n < 0:
        raise GradkitError(f"diff: order must be non-negative but got {n}")
    if n == 0:
        return a
    nd = _ndim(a)
    if nd == 0:
        raise GradkitError("diff requires input that is at least one dimensional")
    axis = _axis(axis, nd, "diff")
    parts = []
    for extra in (prepend, None, append):
        if extra is None:
            parts.append(a)
        elif extra is not _NOVALUE:
            extra = as_array(extra)
            if _ndim(extra) == 0:
                shape = list(_shape(a))
                shape[axis] = 1
                extra = broadcast_to(extra, tuple(shape))
            parts.append(extra)
    if len(parts) > 1:
        a = concatenate(parts, axis=axis)
    hi, lo = _along(nd, axis, slice(1, None)), _along(nd, axis, slice(None, -1))
    step = not_equal if _dtype(a).kind == "b" else subtract  # NumPy's diff of booleans
    for _ in range(n):
        a = step(getitem(a, hi), getitem(a, lo))
    return a


def ediff1d(ary, to_end=None, to_begin=None):
    """Differences between consecutive elements of the flattened array (as
    ``numpy.ediff1d``); ``to_begin`` and ``to_end`` are cast to ``ary``'s dtype.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> gnp.ediff1d(gnp.array([1.0, 2.0, 4.0]), to_begin=-1.0)
    array([-1.,  1.,  2.])
    """
    if not _traced(ary, to_end, to_begin):
        return _numpy("ediff1d", xp.ediff1d, ary, to_end=to_end, to_begin=to_begin)
    ary = ravel(as_array(ary))
    dtype = _dtype(ary)
    parts = []
    for extra, arg in ((to_begin, "to_begin"), (None, ""), (to_end, "to_end")):
        if arg == "":
            parts.append(getitem(ary, slice(1, None)) - getitem(ary, slice(None, -1)))
        elif extra is not None:
            extra = as_array(extra)
            if not xp.can_cast(_dtype(extra), dtype, casting="same_kind"):
                raise GradkitError(f"ediff1d: dtype of `{arg}` must be compatible with input "
                                   f"`ary` under the `same_kind` rule.")
            extra = ravel(extra)
            parts.append(extra if _dtype(extra) == dtype else astype(extra, dtype))
    return concatenate(parts) if len(parts) > 1 else parts[0]


# -- numerical gradient ----------------------------------------------------------------------


def _spacing(d, n: int, otype, name: str):
    """One axis' spacing: a scalar step, or the array of the n - 1 steps between coordinates.

    Constant coordinates follow NumPy (evenly spaced ones reduce to a scalar step); traced
    coordinates always keep the array of steps, so the derivative with respect to each
    coordinate is exact, also where they happen to be evenly spaced.
    """
    if _ndim(d) == 0:
        if type(d) is Tensor and d._trace >= 0:
            return d, True
        d = raw(d)
        return (d if is_chunked(d) else float(d)), True  # (a lazy step stays lazy)
    if _ndim(d) != 1:
        raise GradkitError(f"{name}: distances must be either scalars or 1d, got shape "
                           f"{_shape(d)}")
    if _shape(d)[0] != n:
        raise GradkitError(f"{name}: when 1d, distances must match the length of the "
                           f"corresponding dimension ({_shape(d)[0]} != {n})")
    if type(d) is Tensor and d._trace >= 0:
        steps = diff(d)
        return steps if _dtype(steps) == otype else astype(steps, otype), False
    d = array_of(raw(d))
    if xp.issubdtype(d.dtype, xp.integer):
        d = d.astype(xp.float64)
    steps = xp.diff(d)
    if is_chunked(steps):  # not computed to find out: the general formula is right too
        return steps, False
    if (steps == steps[0]).all():
        return float(steps[0]), True
    return steps, False


def _coefficients(d, otype):
    """Finite-difference weights computed from constant steps as NumPy does, then in the
    result's dtype (a float64 array would widen a float32 result)."""
    return d if type(d) is Tensor else array_of(d).astype(otype, copy=False)


def _gradient_axis(f, axis: int, d, uniform: bool, edge_order: int, otype):
    nd = _ndim(f)

    def part(index):
        return getitem(f, _along(nd, axis, index))

    def along(c):  # steps laid along ``axis`` so that they broadcast against f
        shape = [1] * nd
        shape[axis] = -1
        return reshape(c, tuple(shape)) if type(c) is Tensor else xp.reshape(c, shape)

    if uniform:
        interior = (part(slice(2, None)) - part(slice(None, -2))) / (2.0 * d)
    else:
        dx1, dx2 = getitem(d, slice(0, -1)), getitem(d, slice(1, None))
        a = -dx2 / (dx1 * (dx1 + dx2))
        b = (dx2 - dx1) / (dx1 * dx2)
        c = dx1 / (dx2 * (dx1 + dx2))
        a, b, c = (along(_coefficients(v, otype)) for v in (a, b, c))
        interior = a * part(slice(None, -2)) + b * part(slice(1, -1)) + c * part(slice(2, None))
    if edge_order == 1:
        d0 = d if uniform else _coefficients(getitem(d, slice(0, 1)), otype)
        dn = d if uniform else _coefficients(getitem(d, slice(-1, None)), otype)
        first = (part(slice(1, 2)) - part(slice(0, 1))) / (d0 if uniform else along(d0))
        last = (part(slice(-1, None)) - part(slice(-2, -1))) / (dn if uniform else along(dn))
    else:
        if uniform:
            a, b, c = -1.5 / d, 2.0 / d, -0.5 / d
        else:
            dx1, dx2 = getitem(d, slice(0, 1)), getitem(d, slice(1, 2))
            a = -(2.0 * dx1 + dx2) / (dx1 * (dx1 + dx2))
            b = (dx1 + dx2) / (dx1 * dx2)
            c = -dx1 / (dx2 * (dx1 + dx2))
            a, b, c = (along(_coefficients(v, otype)) for v in (a, b, c))
        first = a * part(slice(0, 1)) + b * part(slice(1, 2)) + c * part(slice(2, 3))
        if uniform:
            a, b, c = 0.5 / d, -2.0 / d, 1.5 / d
        else:
            dx1, dx2 = getitem(d, slice(-2, -1)), getitem(d, slice(-1, None))
            a = dx2 / (dx1 * (dx1 + dx2))
            b = -(dx2 + dx1) / (dx1 * dx2)
            c = (2.0 * dx2 + dx1) / (dx2 * (dx1 + dx2))
            a, b, c = (along(_coefficients(v, otype)) for v in (a, b, c))
        last = a * part(slice(-3, -2)) + b * part(slice(-2, -1)) + c * part(slice(-1, None))
    out = concatenate([first, interior, last], axis=axis)
    return out if _dtype(out) == otype else astype(out, otype)


def gradient(f, *varargs, axis=None, edge_order=1):
    """Second-order accurate central differences (as ``numpy.gradient``).

    Differentiable in ``f`` and in the spacings: scalar steps or coordinate arrays.
    Traced coordinates always use the formula for uneven spacing, whose derivative with
    respect to every coordinate is exact (NumPy switches to the even-spacing formula when
    the steps are equal, which would lose it). Returns one array for one axis, a tuple
    for several, as NumPy.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> gnp.gradient(gnp.array([1.0, 4.0, 9.0, 16.0]), 2.0)
    array([1.5, 2. , 3. , 3.5])
    """
    if not _traced(f, *varargs):
        return _numpy("gradient", xp.gradient, f, *varargs, axis=axis,
                      edge_order=edge_order)
    f = as_array(f)
    nd = _ndim(f)
    if axis is None:
        axes = tuple(range(nd))
    else:
        axes = (axis,) if isinstance(axis, int | xp.integer) else tuple(axis)
        axes = tuple(_axis(a, nd, "gradient") for a in axes)
        if len(set(axes)) != len(axes):
            raise GradkitError(f"gradient: repeated axis in {axis}")
    if len(varargs) == 0:
        spacings = [1.0] * len(axes)
    elif len(varargs) == 1 and _ndim(varargs[0]) == 0:
        spacings = list(varargs) * len(axes)
    elif len(varargs) == len(axes):
        spacings = [as_array(v) if holds_tensor(v) else v for v in varargs]
    else:
        raise GradkitError(f"gradient: invalid number of arguments: {len(varargs)} spacings "
                           f"for {len(axes)} axes")
    if edge_order not in (1, 2):
        raise GradkitError(f"gradient: 'edge_order' must be 1 or 2, got {edge_order!r}")
    otype = _dtype(f)
    if not xp.issubdtype(otype, xp.inexact):
        f, otype = astype(f, xp.float64), xp.dtype(xp.float64)
    outs = []
    for ax, spacing in zip(axes, spacings):
        n = _shape(f)[ax]
        if n < edge_order + 1:
            raise GradkitError(
                f"gradient: shape {_shape(f)} is too small along axis {ax} to calculate a "
                f"numerical gradient, at least (edge_order + 1) elements are required.")
        d, uniform = _spacing(spacing if type(spacing) is Tensor else array_of(spacing),
                              n, otype, "gradient")
        outs.append(_gradient_axis(f, ax, d, uniform, edge_order, otype))
    return outs[0] if len(outs) == 1 else tuple(outs)


# -- interpolation and integration --------------------------------------------------------------


def interp(x, xp, fp, left=None, right=None, period=None):
    """Piecewise-linear interpolation (as ``numpy.interp``), differentiable in ``x``,
    ``xp``, ``fp``, ``left`` and ``right``.

    The derivative in ``x`` is the slope of the segment NumPy evaluates: at an interior
    knot ``x == xp[i]`` that is the segment to its right, ``[xp[i], xp[i+1]]``; at
    ``x == xp[-1]`` NumPy returns ``fp[-1]`` itself, so the derivative in ``x`` is 0 there
    (and 1 in ``fp[-1]``). Outside ``[xp[0], xp[-1]]`` the value is ``left``/``right``
    (``fp[0]``/``fp[-1]`` by default): derivative 0 in ``x``. ``xp`` must be increasing
    (as NumPy assumes); ``period`` must be a constant. Traced input is computed in the
    dtype of ``x`` and ``fp``: float32 stays float32 (NumPy computes in float64).

    Examples
    --------
    >>> import gradkit as gk
    >>> import gradkit.numpy as gnp
    >>> float(gk.grad(lambda x: gnp.interp(x, [0.0, 1.0, 3.0], [0.0, 2.0, 3.0]))(1.0))
    0.5
    """
    xp_, xp = xp, _XP  # NumPy's parameter name, and this module's array library
    if not _traced(x, xp_, fp, left, right, period):
        return _numpy("interp", xp.interp, x, xp_, fp, left=left, right=right,
                      period=period)
    x, xp_, fp = as_array(x), as_array(xp_), as_array(fp)
    if _ndim(xp_) != 1 or _ndim(fp) != 1:
        raise GradkitError(f"interp: xp and fp must be 1-D, got shapes {_shape(xp_)} and "
                           f"{_shape(fp)}")
    n = _shape(xp_)[0]
    if n == 0:
        raise GradkitError("interp: array of sample points is empty")
    if _shape(fp)[0] != n:
        raise GradkitError(f"interp: fp and xp are not of the same length ({_shape(fp)[0]} "
                           f"!= {n})")
    # The sample positions do not set the precision: float32 x and fp give float32.
    ftype = xp.result_type(_dtype(x), _dtype(fp), xp.float16)
    if not xp.issubdtype(ftype, xp.floating):
        raise GradkitError(f"interp: only real inputs can be traced, got dtype {ftype}")
    x, xp_, fp = (v if _dtype(v) == ftype else astype(v, ftype) for v in (x, xp_, fp))
    if period is not None:
        period = _constant("interp", "period", period)
        if period == 0:
            raise GradkitError("interp: period must be a non-zero value")
        period = builtins.abs(float(period))
        left = right = None
        # Same values as NumPy's remainders, with derivative 1 (the shift is constant); on
        # plain values, rebatched: inside vmap each example keeps its own.
        x = (x - raw(x)) + rebatch(xp.remainder(plain(x), period).astype(ftype), x)
        xpr = xp.remainder(plain(xp_), period).astype(ftype)
        order = rebatch(xp.argsort(xpr, axis=-1), xp_)
        xp_ = getitem((xp_ - raw(xp_)) + rebatch(xpr, xp_), order)
        fp = getitem(fp, order)
        xp_ = concatenate([getitem(xp_, slice(-1, None)) - period, xp_,
                           getitem(xp_, slice(0, 1)) + period])
        fp = concatenate([getitem(fp, slice(-1, None)), fp, getitem(fp, slice(0, 1))])
        n += 2
    # Masks from gradkit's comparisons: inside vmap they stay one per example; whether a
    # branch is needed at all is decided on the plain values of the whole batch.
    xr, knots = raw(x), raw(xp_)
    first, last = getitem(fp, 0), getitem(fp, -1)
    with xp.errstate(invalid="ignore", divide="ignore"):  # inf inputs: NumPy's NaN/inf
        if n > 1:
            j = _segments(xr, knots, n)
            x0, x1 = getitem(xp_, j), getitem(xp_, j + 1)
            y0, y1 = getitem(fp, j), getitem(fp, j + 1)
            slope = (y1 - y0) / (x1 - x0)
            inner = slope * (x - x0) + y0
            if maybe_any(xp.isnan(plain(inner))):  # NumPy's fallbacks for infinite samples
                inner = where(isnan(raw(inner)), slope * (x - x1) + y1, inner)
                inner = where(logical_and(isnan(raw(inner)), equal(raw(y0), raw(y1))), y0,
                              inner)
            inner = where(equal(xr, getitem(knots, -1)), last, inner)
        else:
            inner = broadcast_to(last, _shape(x))
        below = less(xr, getitem(knots, 0))
        above = greater(xr, getitem(knots, -1))
        out = inner
        if maybe_any(plain(above)):
            out = where(above, last if right is None else _cast(right, ftype), out)
        if maybe_any(plain(below)):
            out = where(below, first if left is None else _cast(left, ftype), out)
        if n > 1 and maybe_any(xp.isnan(plain(xr))):  # NumPy's loop over one sample point never
            out = where(isnan(xr), x, out)      # checks for NaN
    return out


def _segments(xr, knots, n: int):
    """For each query, the segment ``j`` in ``0..n-2`` that NumPy's interp evaluates: after
    the last knot at or below the query (``searchsorted(knots, x, 'right') - 1``, clipped)."""
    if not holds_batch(knots):
        # Knots shared by every example: NumPy's searchsorted on the batch of queries.
        j = _search_right(knots, plain(xr)) - 1
        return rebatch(xp.clip(j, 0, n - 2), xr)
    # Knots of each example's own (NumPy's searchsorted takes one sorted array): count the
    # knots at or below each query, a comparison per pair, in one batched operation.
    count = sum(less_equal(knots, expand_dims(xr, -1)), axis=-1)
    return clip(count - 1, 0, n - 2)


def _search_right(knots, q):
    """NumPy's ``searchsorted(knots, q, side="right")``, in the library of ``q`` or the
    knots: Dask searches only its own 1-D knots, with queries of one axis or more."""
    if not (is_chunked(q) or is_chunked(knots)):
        return xp.searchsorted(knots, q, side="right")
    ns = namespace(knots, q)
    flat = ns.reshape(ns.asarray(q), (-1,))
    return ns.reshape(ns.searchsorted(ns.asarray(knots), flat, side="right"), _shape(q))


def _cast(v, dtype):
    return _cast_to(v, dtype) if type(v) is Tensor else array_of(v, dtype=dtype)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integral by the composite trapezoidal rule (as ``numpy.trapezoid``), differentiable
    in ``y``, ``x`` and ``dx``.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> float(gnp.trapezoid(gnp.array([1.0, 2.0, 3.0]), x=[0.0, 1.0, 3.0]))
    6.5
    """
    if not _traced(y, x, dx):
        _axis(axis, _ndim(y), "trapezoid")  # NumPy's own error names no axis
        return _numpy("trapezoid", xp.trapezoid, y, x=x, dx=dx, axis=axis)
    y = as_array(y)
    nd = _ndim(y)
    axis = _axis(axis, nd, "trapezoid")
    if x is None:
        d = dx
    else:
        x = as_array(x)
        if _ndim(x) == 1:
            d = diff(x)
            shape = [1] * nd
            shape[axis] = _shape(d)[0]
            d = reshape(d, tuple(shape))
        else:
            d = diff(x, axis=axis)
    hi, lo = _along(nd, axis, slice(1, None)), _along(nd, axis, slice(None, -1))
    return sum(d * (getitem(y, hi) + getitem(y, lo)) / 2.0, axis=axis - nd)


# -- convolution ---------------------------------------------------------------------------


_MODES = {"valid": 0, "same": 1, "full": 2, 0: 0, 1: 1, 2: 2}


def _mode(mode, name: str) -> int:
    try:
        return _MODES[mode]
    except (KeyError, TypeError):
        raise GradkitError(f"{name}: mode must be one of 'valid', 'same' or 'full' (or 0, "
                           f"1, 2), got {mode!r}") from None


def _sequence(a, name: str, arg: str):
    a = as_array(a)
    if _ndim(a) == 0:
        a = reshape(a, (1,))
    if _ndim(a) != 1:
        raise GradkitError(f"{name}: {arg} must be 1-D, got shape {_shape(a)}")
    if _shape(a)[0] == 0:
        raise GradkitError(f"{name}: {arg} cannot be empty")
    return a


def _correlate_slice(a, v, start: int, length: int):
    """Entries ``start ... start + length - 1`` of the full cross-correlation, whose entry
    ``k`` is ``sum_n a[n + k - (len(v) - 1)] * v[n]`` (a zero-padded): one matrix-vector
    product over sliding windows, differentiable in both arguments."""
    m = _shape(v)[0]
    na = _shape(a)[0]
    lo = builtins.max(m - 1 - start, 0)  # zeros needed before a
    hi = builtins.max(start + length - na, 0)  # and after it
    if lo or hi:
        a = pad(a, ((lo, hi),))
    begin = start - (m - 1) + lo
    a = getitem(a, slice(begin, begin + length + m - 1))
    return matmul(sliding_window_view(a, m), v)


def correlate(a, v, mode="valid"):
    """Cross-correlation of two 1-D sequences (as ``numpy.correlate``), differentiable in
    both; when ``v`` is longer than ``a`` the output is NumPy's (the lags run the same way).

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> gnp.correlate(gnp.array([1.0, 2.0, 3.0]), gnp.array([0.0, 1.0, 0.5]), "same")
    array([2. , 3.5, 3. ])
    """
    if not _traced(a, v):
        return _numpy("correlate", xp.correlate, a, v, mode)
    m = _mode(mode, "correlate")
    a = _sequence(a, "correlate", "the first array argument")
    v = _sequence(v, "correlate", "the second array argument")
    na, nv = _shape(a)[0], _shape(v)[0]
    full = na + nv - 1
    # NumPy slides the shorter sequence along the longer one; in the full cross-correlation
    # of a with v the 'valid' and 'same' outputs start at these lags.
    if na >= nv:
        start, length = ((nv - 1, na - nv + 1), ((nv - 1) // 2, na), (0, full))[m]
    else:
        start, length = ((na - 1, nv - na + 1), (na // 2, nv), (0, full))[m]
    return _correlate_slice(a, v, start, length)


def convolve(a, v, mode="full"):
    """Discrete linear convolution of two 1-D sequences (as ``numpy.convolve``),
    differentiable in both; NumPy swaps them when ``v`` is longer, and so does this.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> gnp.convolve(gnp.array([1.0, 2.0, 3.0]), gnp.array([0.0, 1.0, 0.5]))
    array([0. , 1. , 2.5, 4. , 1.5])
    """
    if not _traced(a, v):
        return _numpy("convolve", xp.convolve, a, v, mode)
    m = _mode(mode, "convolve")
    a = _sequence(a, "convolve", "a")
    v = _sequence(v, "convolve", "v")
    if _shape(v)[0] > _shape(a)[0]:
        a, v = v, a
    na, nv = _shape(a)[0], _shape(v)[0]
    start, length = ((nv - 1, na - nv + 1), ((nv - 1) // 2, na), (0, na + nv - 1))[m]
    return _correlate_slice(a, flip(v), start, length)


# -- polynomials, products -------------------------------------------------------------------


def polyval(p, x):
    """Evaluate the polynomial with coefficients ``p`` (highest power first) at ``x`` by
    Horner's scheme, as ``numpy.polyval``; differentiable in ``p`` and ``x``.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> float(gnp.polyval(gnp.array([3.0, 0.0, 1.0]), 5.0))
    76.0
    """
    if not _traced(p, x):
        return _numpy("polyval", xp.polyval, p, x)
    p, x = as_array(p), as_array(x)
    if _ndim(p) == 0:
        raise GradkitError(f"polyval: p must be a sequence of coefficients, got shape "
                           f"{_shape(p)}")
    y = xp.zeros(_shape(x), dtype=_dtype(x))
    for k in range(_shape(p)[0]):
        y = y * x + getitem(p, k)
    return y


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors, or of 2-vectors (as ``numpy.cross``), differentiable in
    both arguments.

    NumPy 2 deprecates 2-vectors (with a DeprecationWarning) but still computes them: the
    z component when both are 2-vectors, a 3-vector when one of them is. gradkit returns
    the same values and warns nothing.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> gnp.cross(gnp.array([1.0, 0.0, 0.0]), gnp.array([0.0, 1.0, 0.0]))
    array([0., 0., 1.])
    """
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = as_array(a), as_array(b)
    if _ndim(a) == 0 or _ndim(b) == 0:
        raise GradkitError(f"cross: the arguments must be arrays of vectors, got shapes "
                           f"{_shape(a)} and {_shape(b)}")
    a = moveaxis(a, _axis(axisa, _ndim(a), "cross (axisa)"), -1)
    b = moveaxis(b, _axis(axisb, _ndim(b), "cross (axisb)"), -1)
    na, nb = _shape(a)[-1], _shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise GradkitError(f"cross: incompatible dimensions for cross product (dimension "
                           f"must be 2 or 3), got vectors of length {na} and {nb}")
    a0, a1, b0, b1 = (getitem(v, (Ellipsis, i)) for v, i in ((a, 0), (a, 1), (b, 0), (b, 1)))
    z = a0 * b1 - a1 * b0
    if na == 2 and nb == 2:
        return z
    if na == 2:
        b2 = getitem(b, (Ellipsis, 2))
        parts = [a1 * b2, -(a0 * b2), z]
    elif nb == 2:
        a2 = getitem(a, (Ellipsis, 2))
        parts = [-(a2 * b1), a2 * b0, z]
    else:
        a2, b2 = getitem(a, (Ellipsis, 2)), getitem(b, (Ellipsis, 2))
        parts = [a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, z]
    shape = xp.broadcast_shapes(*(_shape(p) for p in parts))
    out = stack([broadcast_to(p, shape) for p in parts], axis=-1)
    return moveaxis(out, -1, _axis(axisc, len(shape) + 1, "cross (axisc)"))


def kron(a, b):
    """Kronecker product (as ``numpy.kron``), differentiable in both arguments.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> gnp.kron(gnp.array([1.0, 10.0]), gnp.array([1.0, 2.0]))
    array([ 1.,  2., 10., 20.])
    """
    if not _traced(a, b):
        return _numpy("kron", xp.kron, a, b)
    a, b = as_array(a), as_array(b)
    na, nb = _ndim(a), _ndim(b)
    if na == 0 or nb == 0:
        return a * b
    nd = builtins.max(na, nb)
    sa = (1,) * (nd - na) + _shape(a)
    sb = (1,) * (nd - nb) + _shape(b)
    # a's axes interleaved with length-1 axes, b's the other way round: their product
    # holds every a[i] * b[j] at (i0, j0, i1, j1, ...).
    a = reshape(a, tuple(x for s in sa for x in (s, 1)))
    b = reshape(b, tuple(x for s in sb for x in (1, s)))
    return reshape(a * b, tuple(i * j for i, j in zip(sa, sb)))


def vander(x, N=None, increasing=False):  # noqa: N803 - NumPy's name
    """Vandermonde matrix (as ``numpy.vander``), differentiable in ``x``; powers are
    repeated products, as NumPy computes them.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> gnp.vander(gnp.array([2.0, 3.0]), 3)
    array([[4., 2., 1.],
           [9., 3., 1.]])
    """
    if not _traced(x):
        return _numpy("vander", xp.vander, x, N, increasing)
    x = as_array(x)
    if _ndim(x) != 1:
        raise GradkitError(f"vander: x must be a one-dimensional array or sequence, got "
                           f"shape {_shape(x)}")
    n = _shape(x)[0] if N is None else operator.index(N)
    # NumPy promotes with its integer type (float32 -> float64); a float x keeps its dtype.
    dtype = _dtype(x) if xp.issubdtype(_dtype(x), xp.inexact) else xp.promote_types(
        _dtype(x), int)
    if _dtype(x) != dtype:
        x = astype(x, dtype)
    cols = []
    for k in range(n):
        if k == 0:
            cols.append(xp.ones(_shape(x), dtype=dtype))
        elif k == 1:
            cols.append(x)
        else:
            cols.append(cols[-1] * x)
    if n == 0:
        return xp.empty((_shape(x)[0], 0), dtype=dtype)
    cols = [broadcast_to(c, _shape(x)) if type(c) is not Tensor else c for c in cols]
    out = stack(cols, axis=1)
    return out if increasing else flip(out, axis=1)


def unwrap(p, discont=None, axis=-1, *, period=2 * math.pi):
    """Unwrap a phase by adding multiples of ``period`` (as ``numpy.unwrap``).

    The added multiples are piecewise constant in ``p``: the derivative is the identity
    (almost everywhere; at a jump of exactly ``discont`` the choice is NumPy's).
    ``discont`` and ``period`` must be constants.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> gnp.unwrap(gnp.array([0.0, 3.0, 6.0]), period=4.0)
    array([ 0., -1., -2.])
    """
    if not _traced(p, discont, period):
        return _numpy("unwrap", xp.unwrap, p, discont=discont, axis=axis,
                      period=period)
    p = as_array(p)
    discont = _constant("unwrap", "discont", discont)
    period = _constant("unwrap", "period", period)
    nd = _ndim(p)
    axis = _axis(axis, nd, "unwrap")
    # On plain(p), along a negative axis: inside vmap the batch axes stand in front and
    # each example gets its own correction (rebatched, a constant).
    neg = axis - nd
    if not xp.issubdtype(_dtype(p), xp.floating):
        return rebatch(xp.unwrap(plain(p), discont=discont, axis=neg, period=period), p)
    # NumPy's correction, computed on the values in NumPy's order: it is constant where
    # it is defined.
    dd = xp.diff(plain(p), axis=neg)
    if discont is None:
        discont = period / 2
    dtype = xp.result_type(_dtype(dd), period)
    high = period / 2
    ddmod = xp.mod(dd - (-high), period) + (-high)
    if is_chunked(dd):  # Dask has no copyto: the same choices by where
        ddmod = xp.where((ddmod == -high) & (dd > 0), high, ddmod)
        correction = xp.where(xp.abs(dd) < discont, 0, ddmod - dd)
    else:
        xp.copyto(ddmod, high, where=(ddmod == -high) & (dd > 0))
        correction = ddmod - dd
        xp.copyto(correction, 0, where=xp.abs(dd) < discont)
    if _dtype(p) != dtype:
        p = astype(p, dtype)
    return concatenate([getitem(p, _along(nd, axis, slice(0, 1))),
                        getitem(p, _along(nd, axis, slice(1, None)))
                        + rebatch(correction.cumsum(neg), p)], axis=axis)
