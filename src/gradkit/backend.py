"""The one place where gradkit's core imports its array library.

Every core module reaches NumPy through ``xp`` from here, so that an Array-API
backend (CuPy on a GPU, Dask for out-of-core data) can later be swapped in
without touching each derivative rule.
"""

import numpy as xp
from numpy.lib.stride_tricks import as_strided
from numpy.lib.stride_tricks import sliding_window_view as _sliding_window_view

__all__ = ["xp", "sliding_window_view", "as_strided", "ndarray", "generic", "array_of",
           "is_foreign", "namespace", "broadcast_like", "zeros_like_library",
           "ones_like_library", "eye_like_library", "scatter_sum", "standard_only",
           "NUMPY_ROUTE", "one_library", "library_of", "dtype_of", "dtype_kind", "maybe_any",
           "is_chunked", "along_axis"]

ndarray = xp.ndarray
generic = xp.generic
sliding_window_view = _sliding_window_view

# Python and NumPy values: NumPy's own, never looked at further.
# (and classes: np.float64, say, has its instances' attributes)
_NATIVE = (xp.ndarray, xp.generic, float, int, complex, bool, list, tuple, range, type(None),
           type)


def is_foreign(x) -> bool:
    """Whether ``x`` is an array of another library (Dask, CuPy...): gradkit computes on
    it in its own library, through NumPy's dispatch protocols, and never converts it.

    Examples
    --------
    >>> import numpy as np
    >>> is_foreign(np.ones(2)), is_foreign([1.0])
    (False, False)
    """
    t = type(x)
    if t in NUMPY_ROUTE:
        return False
    if t in _STANDARD_ROUTE or t in _PROTOCOL_ROUTE:
        return True
    return _classify(x)


def library_of(x) -> str:
    """The name of the library of ``x``'s type (``"dask"``, ``"array_api_strict"``...)."""
    return type(x).__module__.split(".")[0]


def _classify(x) -> bool:
    """Put the type of ``x`` in its route (once per type); whether it is foreign."""
    t = type(x)
    if isinstance(x, _NATIVE) or t.__module__.startswith("gradkit"):
        NUMPY_ROUTE.add(t)
        return False
    from array_api_compat import is_array_api_obj  # only when such an array arrives

    foreign = is_array_api_obj(x)
    if not foreign:
        NUMPY_ROUTE.add(t)
    elif hasattr(t, "__array_function__"):
        _PROTOCOL_ROUTE.add(t)
    else:
        _STANDARD_ROUTE.add(t)
    return foreign


def is_chunked(x) -> bool:
    """Whether ``x`` is a chunked array of another library (Dask's): lazy, computed through
    NumPy's protocols, and lacking some NumPy operations that gradkit then writes with
    others that it has.

    Examples
    --------
    >>> import numpy as np
    >>> is_chunked(np.ones(2)), is_chunked(2.0)
    (False, False)
    """
    return (type(x) is not xp.ndarray and getattr(x, "chunks", None) is not None
            and is_foreign(x))


def along_axis(fn, x, axis: int, **kw):
    """NumPy's ``fn(x, axis=axis, **kw)``, an index array of ``x``'s shape (``argsort``,
    ``argpartition``), also for a Dask array, which has no such function: there chunk by
    chunk, lazily, each chunk holding the whole of ``axis``.

    Examples
    --------
    >>> import numpy as np
    >>> along_axis(np.argsort, np.array([[3, 1, 2]]), -1)
    array([[1, 2, 0]])
    """
    if not is_chunked(x):
        return fn(x, axis=axis, **kw)
    return x.rechunk({axis % x.ndim: -1}).map_blocks(fn, axis=axis, dtype=xp.intp, **kw)


def array_of(x, dtype=None):
    """``x`` as an array of its own library: NumPy's ``asarray`` for Python data and NumPy
    arrays, the array itself (cast to ``dtype`` if given) for Dask, CuPy and the like.

    Examples
    --------
    >>> array_of([1, 2], dtype=float)
    array([1., 2.])
    """
    if type(x) is xp.ndarray and (dtype is None or x.dtype == dtype):
        return x
    if is_foreign(x):
        return x if dtype is None or x.dtype == xp.dtype(dtype) else x.astype(dtype)
    return xp.asarray(x, dtype=dtype)


def namespace(*values):
    """The array library of ``values``: NumPy, unless some are arrays of another library
    (then that library's Array-API namespace). Arrays of two other libraries in one call
    (CuPy with Dask) are an error: neither can compute on the other's arrays.

    Examples
    --------
    >>> import numpy as np
    >>> namespace(np.ones(2), 3.0) is xp
    True
    """
    foreign = [v for v in values if is_foreign(v)]
    if not foreign:
        return xp
    from array_api_compat import array_namespace

    libraries = {library_of(v) for v in foreign}
    if len(libraries) > 1:
        from .errors import GradkitError

        raise GradkitError(f"arrays of {' and '.join(sorted(libraries))} in one call: "
                           f"gradkit keeps each library's arrays in that library and cannot "
                           f"mix them; move them to one library first")
    return array_namespace(*foreign)


def broadcast_like(value, shape: tuple, like):
    """``value`` broadcast to ``shape`` in the library of ``like``, an array of that shape.

    A NumPy broadcast met by a Dask array would enter its graph as one full-size chunk
    (pickled and shipped at every evaluation): for Dask, the broadcast is lazy and chunked
    as ``like``.
    """
    ns = namespace(like)
    if ns is xp:
        return xp.broadcast_to(value, shape)
    chunks = getattr(like, "chunks", None)
    if chunks is not None and tuple(like.shape) == tuple(shape):
        import dask.array as da

        return da.broadcast_to(da.asarray(value), shape, chunks=chunks)
    return ns.broadcast_to(ns.asarray(value), shape)


def _created(like, creator: str, size, dtype):
    """NumPy's (and the standard's) ``creator(size, dtype)`` in the library of ``like``,
    on its device; NumPy for NumPy and Python values."""
    if not is_foreign(like):
        return getattr(xp, creator)(size, dtype=dtype)
    from array_api_compat import device

    return getattr(namespace(like), creator)(size, dtype=dtype, device=device(like))


def zeros_like_library(like, shape: tuple, dtype):
    """Zeros of ``shape`` in the library of ``like`` (NumPy for NumPy and Python values)."""
    return _created(like, "zeros", shape, dtype)


def ones_like_library(like, shape: tuple, dtype):
    """Ones of ``shape`` in the library of ``like`` (NumPy for NumPy and Python values)."""
    return _created(like, "ones", shape, dtype)


def eye_like_library(like, n: int, dtype):
    """The identity of size ``n`` in the library of ``like``."""
    return _created(like, "eye", n, dtype)


def scatter_sum(positions, weights, size: int):
    """The sums of ``weights`` (an array of another library) by their ``positions`` (an
    integer array of the same shape, NumPy's or the weights' library's) into ``size``
    bins, in the weights' library: ``numpy.add.at`` for the libraries that have none."""
    w = weights.reshape(-1)
    p = positions.reshape(-1)
    chunks = getattr(w, "chunks", None)
    if chunks is not None:  # Dask: positions chunked as the weights
        import dask.array as da

        p = p.rechunk(chunks) if is_chunked(p) else da.from_array(p, chunks=chunks)
        return da.bincount(p, weights=w, minlength=size)
    ns = namespace(weights)
    return ns.bincount(ns.asarray(p), weights=w, minlength=size)


# -- libraries that only speak the Array API standard --------------------------------------
# Dask and CuPy implement NumPy's dispatch protocols: NumPy's functions, called on their
# arrays, compute in their library. A library without them (array-api-strict...) would be
# converted by NumPy (silently, or with an error for an array on another device), so
# gradkit calls such a library through its own namespace instead.

# Types that go through NumPy's functions: the set grows as new types are met (the check
# on a primitive's hot path is one set lookup an argument).
# Lists and tuples are not looked into: gradkit's primitives take their arrays as
# arguments of their own (a tuple is a shape, an axis or an index).
NUMPY_ROUTE: set = {xp.ndarray, float, int, bool, complex, type(None), str, slice, tuple,
                    list, type(Ellipsis), xp.float64, xp.float32, xp.int64, xp.bool_, xp.dtype,
                    type}
_STANDARD_ROUTE: set = set()
# Arrays of libraries with NumPy's protocols (Dask, CuPy): NumPy's functions, after a check
# that no other library's arrays are in the same call.
_PROTOCOL_ROUTE: set = set()


def standard_only(x) -> bool:
    """Whether ``x`` is an array of a library that NumPy's functions cannot compute on,
    only its own Array-API namespace.

    Examples
    --------
    >>> import numpy as np
    >>> standard_only(np.ones(2)), standard_only(2.0)
    (False, False)
    """
    t = type(x)
    if t in NUMPY_ROUTE:
        return False
    if t in _STANDARD_ROUTE:
        return True
    if t in _PROTOCOL_ROUTE:
        return False
    _classify(x)
    return t in _STANDARD_ROUTE


def one_library(args) -> None:
    """Raise a clear error when ``args`` hold arrays of two libraries other than NumPy
    (CuPy with Dask): neither computes on the other's arrays."""
    libraries = {library_of(a) for a in args if is_foreign(a)}
    if len(libraries) > 1:
        namespace(*args)  # raises, naming them


def dtype_of(x):
    """The dtype of ``x``: NumPy's ``result_type``, or the array's own dtype for a library
    that speaks only the standard (its dtypes are not NumPy's)."""
    if type(x) is xp.ndarray:
        return x.dtype
    return x.dtype if standard_only(x) else xp.result_type(x)


def dtype_kind(dtype) -> str:
    """NumPy's one-letter kind of ``dtype`` ("f", "c", "i", "u", "b"...), also for another
    library's dtype objects (by their name)."""
    kind = getattr(dtype, "kind", None)
    if isinstance(kind, str):
        return kind
    name = str(dtype).rsplit(".", 1)[-1]
    for prefix, k in (("float", "f"), ("complex", "c"), ("uint", "u"), ("int", "i"),
                      ("bool", "b")):
        if name.startswith(prefix):
            return k
    return "O"


def maybe_any(x) -> bool:
    """Whether any element of ``x`` (an array of any library) may be true: the answer, or
    True for a lazy (Dask) array, which is not computed to find out. For the choice of a
    branch that is right either way, taken only to skip work when nothing is true.

    Examples
    --------
    >>> import numpy as np
    >>> maybe_any(np.array([0, 0])), maybe_any(np.array([0, 1]))
    (False, True)
    """
    if type(x) is xp.ndarray:
        return bool(x.any())
    if is_chunked(x):
        return True
    return bool(namespace(x).any(x)) if standard_only(x) else bool(xp.any(x))
