"""Building and rearranging arrays: select, partition, rotations, stacking, splitting, grids.

Every function here is a composite of the primitives of :mod:`gradkit.ops` (indexing,
reshaping, concatenation, ``where``), so derivatives of any order come for free. Where
a result is a rearrangement that NumPy computes from the values (``partition``,
``insert``, ``block``, ``choose``...), NumPy computes it on plain index arrays and the
traced values are then gathered with ``take``: the gradient follows each element to
its place, and the values are NumPy's own.
"""

from __future__ import annotations

import builtins
import math
import operator

from . import ops
from ._rules import _axis_index as _axis  # a non-negative axis, or an error naming the call
from ._rules import _axis_indices, _dtype, _ndim, _neg_axes, _shape
from .arguments import as_array, holds_tensor, refuse_out
from .backend import along_axis, array_of, is_chunked, is_foreign, maybe_any, namespace, xp
from .errors import GradkitError
from .graph import Tensor, holds_batch, nondifferentiable, plain, raw, rebatch, refuse_standard
from .ops import (
    _cast_to,
    astype,
    broadcast_to,
    concatenate,
    diag,
    expand_dims,
    flip,
    floor,
    getitem,
    moveaxis,
    multiply,
    nonzero,
    power,
    ravel,
    reshape,
    swapaxes,
    take,
    take_along_axis,
    transpose,
    where,
)

__all__ = [
    "select", "partition", "rot90", "flipud", "fliplr", "rollaxis", "atleast_3d",
    "column_stack", "dstack", "append", "array_split", "hsplit", "vsplit", "dsplit",
    "meshgrid", "broadcast_arrays", "linspace", "empty_like", "r_", "c_", "diagflat",
    "resize", "trim_zeros", "delete", "insert", "block", "unstack", "concat",
    "permute_dims", "matrix_transpose", "compress", "extract", "choose", "full", "full_like",
    "logspace",
]

_PY_SCALARS = (int, float, complex)


# -- helpers ------------------------------------------------------------------------------


def _ndmin(x, n: int):
    """``numpy.array(x, ndmin=n)``: ones prepended to the shape."""
    nd = _ndim(x)
    return reshape(x, (1,) * (n - nd) + _shape(x)) if nd < n else x


def _weak_dtype(x):
    """What ``numpy.result_type`` needs: Python numbers stay weakly typed (NEP 50)."""
    return x if type(x) in _PY_SCALARS else array_of(plain(x)).dtype  # a batch: its dtype


def _batch_in_front(x, nd: int):
    """``plain(x)`` of a vmap batch with ones inserted between its batch axes and one
    example's axes, up to ``nd`` of those: NumPy's broadcasting then lines up each example
    with unbatched arrays of ``nd`` axes."""
    v = plain(x)
    k = v.ndim - _ndim(x)
    return v.reshape(v.shape[:k] + (1,) * (nd - _ndim(x)) + v.shape[k:])


def _gather(pieces, labels_of, arrange, like=None):
    """Rearrange ``pieces`` as ``arrange`` rearranges their element labels.

    Each piece is replaced by an integer array that numbers its elements (after the
    pieces before it); ``arrange`` applies NumPy's own function to those labels, and the
    traced elements are then picked with ``take``: values exactly NumPy's, gradients
    summed back wherever an element was repeated. ``arrange`` may work on ``plain(like)``,
    a vmap batch: its result is then rebatched like ``like`` (one arrangement per example).
    """
    offset = 0
    labels = []
    for p in pieces:
        n = math.prod(_shape(p))
        labels.append(xp.arange(offset, offset + n, dtype=xp.intp).reshape(_shape(p)))
        offset += n
    index = arrange(labels_of(labels))
    if like is not None:
        index = rebatch(index, like)
    if not pieces:
        return index
    pool = concatenate([ravel(p) for p in pieces]) if len(pieces) > 1 else ravel(pieces[0])
    return getitem(pool, index)  # a 1-D pool: take, with a batched index too


# -- choosing and partitioning ------------------------------------------------------------


def select(condlist, choicelist, default=0):
    """Elements from ``choicelist``, by the first condition of ``condlist`` that holds.

    The gradient reaches each chosen element (and ``default`` where no condition holds).

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit.numpy as gnp
    >>> x = np.arange(4.0)
    >>> gnp.select([x < 1, x > 2], [x, x ** 2], default=-1.0)
    array([ 0., -1., -1.,  9.])
    """
    condlist, choicelist = list(condlist), list(choicelist)
    if len(condlist) != len(choicelist):
        raise GradkitError(f"select: list of cases must be same length as list of conditions "
                           f"(got {len(choicelist)} and {len(condlist)})")
    if not condlist:
        raise GradkitError("select: select with an empty condition list is not possible")
    try:
        dtype = xp.result_type(*[_weak_dtype(c) for c in choicelist], _weak_dtype(default))
    except TypeError as e:
        raise GradkitError(f"select: choicelist and default value do not have a common "
                           f"dtype: {e}") from None
    # A condition batched by vmap stays a batch (one mask per example) for ``where``.
    conds = [raw(c) if holds_batch(c) else array_of(raw(c)) for c in condlist]
    for i, c in enumerate(conds):
        if plain(c).dtype != bool:
            raise GradkitError(f"select: invalid entry {i} in condlist: should be boolean "
                               f"ndarray, got dtype {plain(c).dtype}")
    out = default
    for cond, choice in zip(conds[::-1], choicelist[::-1]):
        out = where(cond, choice, out)
    return _cast_to(out, dtype)


def partition(a, kth, axis=-1, kind="introselect", order=None):
    """Partially sorted copy: the ``kth`` element in its sorted place, smaller ones before,
    larger ones after. The gradient follows each element to its place.

    The positions are NumPy's ``argpartition`` of the values, so the order of the other
    elements is NumPy's (unspecified) one.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> float(gnp.partition(gnp.array([3.0, 1.0, 2.0]), 1)[1])
    2.0
    """
    if order is not None:
        raise GradkitError("partition: order= (fields of structured arrays) is not supported")
    a = as_array(a)
    if axis is None:
        a, axis = ravel(a), -1
    try:
        # On the plain array (a vmap batch in front) along a negative axis, rebatched.
        ax = int(axis) - _ndim(a) if int(axis) >= 0 else int(axis)
        index = rebatch(along_axis(xp.argpartition, plain(a), ax, kth=raw(kth), kind=kind), a)
    except (ValueError, TypeError) as e:
        raise GradkitError(f"partition(kth={kth!r}, axis={axis!r}, kind={kind!r}): {e}") from None
    return take_along_axis(a, index, axis)


def choose(a, choices, out=None, mode="raise"):
    """Elements of ``choices`` picked by the index array ``a`` (as ``numpy.choose``);
    differentiable in the choices."""
    refuse_out("choose", out)
    choices = [c if type(c) in _PY_SCALARS else as_array(c) for c in choices]
    try:
        dtype = xp.result_type(*[_weak_dtype(c) for c in choices])
    except TypeError as e:
        raise GradkitError(f"choose: the choices have no common dtype: {e}") from None
    pieces = [_cast_to(c if type(c) not in _PY_SCALARS else array_of(c, dtype), dtype)
              for c in choices]
    like, index = None, raw(a)
    if holds_batch(a):  # one index array per example: NumPy's choose on the batch of them
        like = a
        index = _batch_in_front(a, builtins.max([_ndim(a)] + [_ndim(p) for p in pieces]))
    try:
        return _gather(pieces, list, lambda labels: xp.choose(index, labels, mode=mode), like)
    except (ValueError, TypeError) as e:
        raise GradkitError(f"choose(mode={mode!r}): {e}") from None


def compress(condition, a, axis=None, out=None):
    """Slices of ``a`` along ``axis`` where ``condition`` is true (as ``numpy.compress``)."""
    refuse_out("compress", out)
    a = as_array(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axis(axis, _ndim(a), "compress")
    if holds_batch(condition):
        raise GradkitError("vmap: compress with a condition per example gives results whose "
                           "shape depends on the values, which no batch can hold; use "
                           "gradkit.numpy.where(condition, a, 0) to keep the shape")
    try:
        index = xp.compress(raw(condition), xp.arange(_shape(a)[axis]))
    except (ValueError, TypeError, IndexError) as e:
        raise GradkitError(f"compress: {e}") from None
    return take(a, index, axis=axis)


def extract(condition, arr):
    """The elements of ``arr`` where ``condition`` is true, flattened."""
    return take(ravel(as_array(arr)), nonzero(ravel(raw(condition)))[0])


# -- rotations, flips and axes ------------------------------------------------------------


def rot90(m, k=1, axes=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes`` (first towards second).

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit.numpy as gnp
    >>> gnp.rot90(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[2., 4.],
           [1., 3.]])
    """
    m = as_array(m)
    axes = tuple(axes)
    nd = _ndim(m)
    if len(axes) != 2:
        raise GradkitError(f"rot90: len(axes) must be 2, got axes={axes}")
    if axes[0] == axes[1] or abs(axes[0] - axes[1]) == nd:
        raise GradkitError(f"rot90: axes must be different, got axes={axes}")
    if not (-nd <= axes[0] < nd and -nd <= axes[1] < nd):
        raise GradkitError(f"rot90: axes={axes} out of range for an array of dimension {nd}")
    k = operator.index(k) % 4
    if k == 0:
        return m
    if k == 2:
        return flip(m, axes)
    perm = list(range(nd))
    perm[axes[0]], perm[axes[1]] = perm[axes[1]], perm[axes[0]]
    if k == 1:
        return transpose(flip(m, axes[1]), perm)
    return flip(transpose(m, perm), axes[1])


def flipud(m):
    """Reverse the order of the rows (axis 0)."""
    m = as_array(m)
    if _ndim(m) < 1:
        raise GradkitError("flipud: input must be >= 1-d")
    return flip(m, 0)


def fliplr(m):
    """Reverse the order of the columns (axis 1)."""
    m = as_array(m)
    if _ndim(m) < 2:
        raise GradkitError(f"fliplr: input must be >= 2-d, got shape {_shape(m)}")
    return flip(m, 1)


def rollaxis(a, axis, start=0):
    """Move ``axis`` backwards until it lies before position ``start`` (as NumPy)."""
    a = as_array(a)
    n = _ndim(a)
    axis = _axis(axis, n, "rollaxis")
    start = operator.index(start)
    if start < 0:
        start += n
    if not 0 <= start < n + 1:
        raise GradkitError(f"rollaxis: 'start' arg requires {-n} <= start < {n + 1}, "
                           f"got {start if start >= 0 else start - n}")
    if axis < start:
        start -= 1
    if axis == start:
        return a
    axes = list(range(n))
    axes.remove(axis)
    axes.insert(start, axis)
    return transpose(a, axes)


def permute_dims(a, axes=None):
    """Permute the axes (the Array API name of ``transpose``)."""
    a = as_array(a)
    return transpose(a, None if axes is None else _axis_indices(axes, _ndim(a), "permute_dims"))


def matrix_transpose(x):
    """Swap the last two axes."""
    x = as_array(x)
    if _ndim(x) < 2:
        raise GradkitError(f"matrix_transpose: input array must be at least 2-dimensional, "
                           f"got shape {_shape(x)}")
    return swapaxes(x, -1, -2)


def _at_least_3d(a):
    a = as_array(a)
    shape = _shape(a)
    if len(shape) == 0:
        return reshape(a, (1, 1, 1))
    if len(shape) == 1:
        return reshape(a, (1, shape[0], 1))
    if len(shape) == 2:
        return reshape(a, shape + (1,))
    return a


def atleast_3d(*arys):
    """Arrays with at least three dimensions (``(N,)`` becomes ``(1, N, 1)``); a tuple
    when given several arrays."""
    out = tuple(_at_least_3d(a) for a in arys)
    return out[0] if len(out) == 1 else out


# -- joining ------------------------------------------------------------------------------


def concat(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """Join arrays along an existing axis (the Array API name of ``concatenate``)."""
    return concatenate(arrays, axis, out, dtype=dtype, casting=casting)


def column_stack(tup):
    """Stack 1-D arrays as columns of a 2-D array (2-D arrays are joined as they are)."""
    arrays = [as_array(v) for v in tup]
    return concatenate([reshape(v, (-1, 1)) if _ndim(v) < 2 else v for v in arrays], axis=1)


def dstack(tup):
    """Stack arrays along the third axis."""
    return concatenate([_at_least_3d(a) for a in tup], axis=2)


def append(arr, values, axis=None):
    """``values`` appended at the end of ``arr`` (both flattened when ``axis`` is None)."""
    arr = as_array(arr)
    if axis is None:
        if _ndim(arr) != 1:
            arr = ravel(arr)
        values = ravel(as_array(values))
        axis = _ndim(arr) - 1
    return concatenate((arr, values), axis=axis)


def block(arrays):
    """An array assembled from nested lists of blocks (as ``numpy.block``).

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit.numpy as gnp
    >>> gnp.block([[np.eye(2), np.zeros((2, 1))]])
    array([[1., 0., 0.],
           [0., 1., 0.]])
    """
    if not holds_tensor(arrays):
        return xp.block(arrays)
    leaves = []

    def collect(obj):
        if isinstance(obj, list):
            for o in obj:
                collect(o)
        else:
            leaves.append(obj if type(obj) is Tensor else array_of(obj))

    def relabel(obj, labels):
        if isinstance(obj, list):
            return [relabel(o, labels) for o in obj]
        return next(labels)

    collect(arrays)
    try:
        return _gather(leaves, lambda labels: relabel(arrays, iter(labels)), xp.block)
    except (ValueError, TypeError) as e:
        raise GradkitError(f"block: {e}") from None


def insert(arr, obj, values, axis=None):
    """``values`` inserted before the indices ``obj`` along ``axis`` (as ``numpy.insert``);
    differentiable in ``arr`` and ``values``."""
    arr = as_array(arr)
    if axis is None:
        if _ndim(arr) != 1:
            arr = ravel(arr)
        axis = _ndim(arr) - 1
    values = _cast_to(as_array(values), _dtype(arr))  # NumPy casts values to arr's dtype
    try:
        return _gather([arr, values], tuple,
                       lambda lab: xp.insert(lab[0], raw(obj), lab[1], axis=axis))
    except (ValueError, TypeError, IndexError) as e:
        raise GradkitError(f"insert(axis={axis}): {e}") from None


# -- splitting ----------------------------------------------------------------------------


def array_split(ary, indices_or_sections, axis=0):
    """Split into sub-arrays along ``axis``; a number of sections need not divide it."""
    ary = as_array(ary)
    axis = _axis(axis, _ndim(ary), "array_split")
    total = _shape(ary)[axis]
    try:
        points = [0] + [int(i) for i in indices_or_sections] + [total]
        count = len(points) - 1
    except TypeError:
        count = operator.index(indices_or_sections)
        if count <= 0:
            raise GradkitError("array_split: number sections must be larger than 0.") from None
        each, extras = divmod(total, count)
        sizes = [0] + extras * [each + 1] + (count - extras) * [each]
        points = [int(p) for p in xp.cumsum(sizes)]
    lead = (slice(None),) * axis
    return [getitem(ary, lead + (slice(points[i], points[i + 1]),)) for i in range(count)]


def _split(name, ary, indices_or_sections, axis):
    try:
        sections = operator.index(indices_or_sections)
    except TypeError:
        return array_split(ary, indices_or_sections, axis)
    if sections > 0 and _shape(ary)[axis] % sections:
        raise GradkitError(f"{name}: array split does not result in an equal division "
                           f"({_shape(ary)[axis]} into {sections})")
    return array_split(ary, sections, axis)


def hsplit(ary, indices_or_sections):
    """Split along axis 1 (axis 0 for 1-D arrays)."""
    ary = as_array(ary)
    if _ndim(ary) == 0:
        raise GradkitError("hsplit only works on arrays of 1 or more dimensions")
    return _split("hsplit", ary, indices_or_sections, 1 if _ndim(ary) > 1 else 0)


def vsplit(ary, indices_or_sections):
    """Split along axis 0 (arrays of 2 or more dimensions)."""
    ary = as_array(ary)
    if _ndim(ary) < 2:
        raise GradkitError("vsplit only works on arrays of 2 or more dimensions")
    return _split("vsplit", ary, indices_or_sections, 0)


def dsplit(ary, indices_or_sections):
    """Split along axis 2 (arrays of 3 or more dimensions)."""
    ary = as_array(ary)
    if _ndim(ary) < 3:
        raise GradkitError("dsplit only works on arrays of 3 or more dimensions")
    return _split("dsplit", ary, indices_or_sections, 2)


def unstack(x, *, axis=0):
    """The slices of ``x`` along ``axis``, as a tuple."""
    x = as_array(x)
    if _ndim(x) == 0:
        raise GradkitError("unstack: input array must be at least 1-d")
    axis = _axis(axis, _ndim(x), "unstack")
    lead = (slice(None),) * axis
    return tuple(getitem(x, lead + (i,)) for i in range(_shape(x)[axis]))


# -- removing, trimming, resizing ----------------------------------------------------------


def delete(arr, obj, axis=None):
    """A copy without the sub-arrays ``obj`` along ``axis`` (flattened when None)."""
    arr = as_array(arr)
    if axis is None:
        if _ndim(arr) != 1:
            arr = ravel(arr)
        axis = _ndim(arr) - 1
    axis = _axis(axis, _ndim(arr), "delete")
    try:
        keep = xp.delete(xp.arange(_shape(arr)[axis]), raw(obj))
    except (ValueError, TypeError, IndexError) as e:
        raise GradkitError(f"delete: {e}") from None
    return take(arr, keep, axis=axis)


def trim_zeros(filt, trim="fb", axis=None):
    """``filt`` without its leading and/or trailing zeros (as ``numpy.trim_zeros``); the
    slice is found on the values, the gradient flows to the elements kept."""
    if type(filt) is not Tensor:
        return xp.trim_zeros(filt, trim, axis)
    trim = trim.lower()
    if trim not in {"fb", "bf", "f", "b"}:
        raise GradkitError(f"trim_zeros: unexpected character(s) in `trim`: {trim!r}")
    value = array_of(raw(filt))
    nd = value.ndim
    axes = {a + nd for a in _neg_axes(axis, nd)} if nd else set()
    if not axes:
        return filt
    nonzero = xp.argwhere(value)
    if nonzero.size == 0:
        start = stop = [0] * nd
    else:
        start = nonzero.min(axis=0) if "f" in trim else [None] * nd
        stop = nonzero.max(axis=0) + 1 if "b" in trim else [None] * nd
    return getitem(filt, tuple(slice(start[d], stop[d]) if d in axes else slice(None)
                               for d in range(nd)))


def resize(a, new_shape):
    """A new array of shape ``new_shape`` that repeats ``a``'s elements in order."""
    a = as_array(a)
    if isinstance(new_shape, int | xp.integer):
        new_shape = (new_shape,)
    new_shape = tuple(operator.index(s) for s in new_shape)
    if any(s < 0 for s in new_shape):
        raise GradkitError(f"resize: all elements of `new_shape` must be non-negative, "
                           f"got {new_shape}")
    size = math.prod(_shape(a))
    new_size = math.prod(new_shape)
    if size == 0 or new_size == 0:
        return xp.zeros(new_shape, dtype=_dtype(a))
    return reshape(take(ravel(a), xp.arange(new_size) % size), new_shape)


def diagflat(v, k=0):
    """A 2-D array with the flattened input on its ``k``-th diagonal."""
    return diag(ravel(as_array(v)), k)


# -- grids and ranges ---------------------------------------------------------------------


def broadcast_arrays(*args, subok=False):
    """The arguments broadcast against each other, as a tuple."""
    arrays = [as_array(a) for a in args]
    if not any(type(a) is Tensor for a in arrays):
        return xp.broadcast_arrays(*arrays, subok=subok)
    try:
        shape = xp.broadcast_shapes(*[_shape(a) for a in arrays])
    except ValueError as e:
        raise GradkitError(f"broadcast_arrays: {e}") from None
    return tuple(broadcast_to(a, shape) for a in arrays)


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """Coordinate arrays from coordinate vectors (as ``numpy.meshgrid``), differentiable.

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit.numpy as gnp
    >>> [g.shape for g in gnp.meshgrid(np.arange(3.0), np.arange(2.0))]
    [(2, 3), (2, 3)]
    """
    if indexing not in ("xy", "ij"):
        raise GradkitError(f"meshgrid: valid values for `indexing` are 'xy' and 'ij', "
                           f"got {indexing!r}")
    xi = [as_array(x) for x in xi]
    if not any(type(x) is Tensor for x in xi):
        return xp.meshgrid(*xi, copy=copy, sparse=sparse, indexing=indexing)
    nd = len(xi)
    ones = (1,) * nd
    out = [reshape(x, ones[:i] + (-1,) + ones[i + 1:]) for i, x in enumerate(xi)]
    if indexing == "xy" and nd > 1:
        out[0] = reshape(out[0], (1, -1) + ones[2:])
        out[1] = reshape(out[1], (-1, 1) + ones[2:])
    return broadcast_arrays(*out) if not sparse else tuple(out)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *,
             device=None):
    """``num`` evenly spaced samples from ``start`` to ``stop``, differentiable in both
    (arrays too); the values are NumPy's, computed in the same order.

    Examples
    --------
    >>> import gradkit as gk
    >>> import gradkit.numpy as gnp
    >>> gnp.linspace(0.0, 1.0, 5)
    array([0.  , 0.25, 0.5 , 0.75, 1.  ])
    >>> float(gk.grad(lambda s: gnp.linspace(s, 1.0, 5)[1])(0.0))
    0.75
    """
    if device not in (None, "cpu"):
        raise GradkitError(f"linspace: device={device!r} is not supported (only 'cpu')")
    num = operator.index(num)
    if num < 0:
        raise GradkitError(f"linspace: number of samples, {num}, must be non-negative")
    div = num - 1 if endpoint else num
    dt = xp.result_type(_weak_dtype(start), _weak_dtype(stop), 1.0)
    # NumPy computes everything in dt: the endpoints are cast first.
    start, stop = (_cast_to(x, dt) if type(x) is Tensor else array_of(x, dtype=dt)
                   for x in (start, stop))
    delta = stop - start
    nd = _ndim(delta)
    y = xp.arange(0, num, dtype=dt).reshape((-1,) + (1,) * nd)
    if div > 0:
        step = delta / div
        zero = plain(step) == 0  # inside vmap: every example's steps
        if not maybe_any(zero):
            y = multiply(y, step)
        elif not (holds_batch(step) or is_chunked(zero)):  # a denormal step: NumPy scales
            y = multiply(y / div, delta)
        else:  # NumPy decides on each example's whole array (or a lazy one's)
            y = where(ops.any(raw(step) == 0), multiply(y / div, delta), multiply(y, step))
    else:
        step = xp.nan
        y = multiply(y, delta)
    y = y + start
    if endpoint and num > 1:
        y = where((xp.arange(num) == num - 1).reshape((-1,) + (1,) * nd), stop, y)
    if axis != 0:
        y = moveaxis(y, 0, _axis(axis, _ndim(y), "linspace"))
    if dtype is not None:
        if xp.issubdtype(dtype, xp.integer):
            y = floor(y)
        y = _cast_to(y, xp.dtype(dtype))
    return (y, step) if retstep else y


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """``base ** linspace(start, stop)`` (as ``numpy.logspace``), differentiable in
    ``start``, ``stop`` and ``base``.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> gnp.logspace(0.0, 2.0, 3)
    array([  1.,  10., 100.])
    """
    if not holds_tensor([start, stop, base]):
        return xp.logspace(start, stop, num=num, endpoint=endpoint, base=base, dtype=dtype,
                           axis=axis)
    if isinstance(base, int | float):  # a Python number keeps float32 exponents float32
        y = linspace(start, stop, num=num, endpoint=endpoint, axis=axis)
        out = power(base, y)
        return out if dtype is None else astype(out, dtype)
    start, stop, base = as_array(start), as_array(stop), as_array(base)
    nd = builtins.max(_ndim(start), _ndim(stop), _ndim(base))
    start, stop, base = (_ndmin(a, nd) for a in (start, stop, base))
    y = linspace(start, stop, num=num, endpoint=endpoint, axis=axis)
    out = power(expand_dims(base, axis), y)
    return out if dtype is None else astype(out, dtype)


empty_like = nondifferentiable(xp.empty_like, "empty_like")


def full(shape, fill_value, dtype=None, order="C", *, device=None, like=None):
    """An array of ``shape`` filled with ``fill_value`` (as ``numpy.full``); differentiable
    in the fill value, whose gradient is the sum of the cotangent over the copies.

    Examples
    --------
    >>> import gradkit as gk, gradkit.numpy as gnp
    >>> float(gk.grad(lambda v: gnp.sum(gnp.full((2, 3), v)))(1.5))
    6.0
    """
    if not holds_tensor(fill_value):
        return xp.full(shape, fill_value, dtype=dtype, order=order, device=device, like=like)
    if device not in (None, "cpu") or like is not None:
        raise GradkitError("full: device= and like= are not supported for a traced fill value")
    value = as_array(fill_value)
    if dtype is not None and _dtype(value) != xp.dtype(dtype):
        value = astype(value, dtype)
    shape = (operator.index(shape),) if not isinstance(shape, tuple | list) else tuple(shape)
    return broadcast_to(value, shape)


def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """An array like ``a`` filled with ``fill_value`` (as ``numpy.full_like``);
    differentiable in the fill value, not in ``a`` (only its shape and dtype are read)."""
    if not holds_tensor(fill_value) and type(raw(a)) is not Tensor:  # else batched: full
        if is_foreign(raw(a)):  # Dask and CuPy take the standard's arguments only
            return namespace(raw(a)).full_like(raw(a), fill_value, dtype=dtype)
        return xp.full_like(raw(a), fill_value, dtype=dtype, order=order, subok=subok,
                            shape=shape, device=device)
    return full(_shape(a) if shape is None else shape, fill_value,
                dtype=_dtype(a) if dtype is None else dtype, device=device)


# -- r_ and c_ ----------------------------------------------------------------------------


class _Concatenator:
    """The object behind ``r_`` and ``c_``: ``r_[a, b, 0:3, 0:1:5j]`` joins its items."""

    def __init__(self, name: str, axis: int, ndmin: int, trans1d: int):
        self._name = name
        self._defaults = (axis, ndmin, trans1d)

    def __repr__(self):
        return f"gradkit.numpy.{self._name}"

    def _directive(self, item: str, k: int, axis, ndmin, trans1d):
        if k != 0:
            raise GradkitError(f"{self._name}: special directives must be the first entry, "
                               f"got {item!r} at position {k}")
        if item in ("r", "c"):
            raise GradkitError(f"{self._name}: the directive {item!r} (a numpy.matrix "
                               f"result) is not supported")
        try:
            if "," in item:
                vec = item.split(",")
                axis, ndmin = (int(x) for x in vec[:2])
                if len(vec) == 3:
                    trans1d = int(vec[2])
            else:
                axis = int(item)
        except ValueError:
            raise GradkitError(f"{self._name}: unknown special directive {item!r}") from None
        return axis, ndmin, trans1d

    def __getitem__(self, key):
        try:
            return self._join(key)
        except GradkitError:
            raise
        except Exception as e:
            refuse_standard(self._name, key if isinstance(key, tuple) else (key,), {}, e)
            raise

    def _join(self, key):
        if isinstance(key, str):
            raise GradkitError(f"{self._name}: the matrix-building string form ({key!r}) is "
                               f"not supported")
        if not isinstance(key, tuple):
            key = (key,)
        axis, ndmin, trans1d = self._defaults
        objs, kinds = [], []
        for k, item in enumerate(key):
            if isinstance(item, str):
                axis, ndmin, trans1d = self._directive(item, k, axis, ndmin, trans1d)
                continue
            if isinstance(item, slice):
                start = 0 if item.start is None else item.start
                step = 1 if item.step is None else item.step
                if isinstance(step, complex | xp.complexfloating):
                    obj = linspace(start, item.stop, num=int(abs(step)))
                else:
                    obj = xp.arange(raw(start), raw(item.stop), raw(step))
                if ndmin > 1:
                    obj = _ndmin(obj, ndmin)
                    if trans1d != -1:
                        obj = swapaxes(obj, -1, trans1d)
                kinds.append(_dtype(obj))
            elif type(item) in xp.ScalarType:
                obj = item
                kinds.append(item)
            else:
                obj = as_array(item)
                item_ndim = _ndim(obj)
                obj = _ndmin(obj, ndmin)
                if trans1d != -1 and item_ndim < ndmin:
                    k2 = ndmin - item_ndim
                    k1 = trans1d + k2 + 1 if trans1d < 0 else trans1d
                    order = list(range(ndmin))
                    obj = transpose(obj, order[:k1] + order[k2:] + order[k1:k2])
                kinds.append(_dtype(obj))
            objs.append(obj)
        if kinds:
            final = xp.result_type(*kinds)
            objs = [xp.array(o, dtype=final, ndmin=ndmin) if type(o) in xp.ScalarType
                    else _cast_to(o, final) for o in objs]
        return concatenate(objs, axis=axis)


r_ = _Concatenator("r_", 0, 1, -1)
r_.__doc__ = """Join slices, scalars and arrays along the first axis: ``r_[x, 0.0, y]``.

Traced items keep their gradient; ``a:b:c`` becomes ``arange(a, b, c)``, ``a:b:nj`` a
``linspace`` of ``n`` points, and a leading string such as ``'1'`` or ``'0,2'`` sets the
axis (and the minimum number of dimensions). The matrix directives ``'r'`` and ``'c'``
are not supported.

Examples
--------
>>> import numpy as np
>>> import gradkit.numpy as gnp
>>> gnp.r_[np.array([1.0, 2.0]), 0.0, 5:7]
array([1., 2., 0., 5., 6.])
"""
c_ = _Concatenator("c_", -1, 2, 0)
c_.__doc__ = """Join along the last axis, 1-D items as columns: ``c_[x, y]`` for two
vectors is a two-column matrix. Otherwise as ``r_``.

Examples
--------
>>> import numpy as np
>>> import gradkit.numpy as gnp
>>> gnp.c_[np.array([1.0, 2.0]), np.array([3.0, 4.0])]
array([[1., 3.],
       [2., 4.]])
"""
