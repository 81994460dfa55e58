"""The one place where gradkit's core imports its array library.

Every core module reaches NumPy through ``xp`` from here, so that an Array-API
backend (CuPy on a GPU, Dask for out-of-core data) can later be swapped in
without touching each derivative rule.
"""

import numpy as xp
from numpy.lib.stride_tricks import as_strided
from numpy.lib.stride_tricks import sliding_window_view as _sliding_window_view

__all__ = ["xp", "sliding_window_view", "as_strided", "ndarray", "array_of", "is_foreign",
           "namespace", "broadcast_like", "zeros_like_library", "scatter_sum"]

ndarray = xp.ndarray
sliding_window_view = _sliding_window_view

# Python and NumPy values: NumPy's own, never looked at further.
_NATIVE = (xp.ndarray, xp.generic, float, int, complex, bool, list, tuple, range, type(None))


def is_foreign(x) -> bool:
    """Whether ``x`` is an array of another library (Dask, CuPy...): gradkit computes on
    it in its own library, through NumPy's dispatch protocols, and never converts it.

    Examples
    --------
    >>> import numpy as np
    >>> is_foreign(np.ones(2)), is_foreign([1.0])
    (False, False)
    """
    if isinstance(x, _NATIVE) or type(x).__module__.startswith("gradkit"):
        return False
    from array_api_compat import is_array_api_obj  # only when such an array arrives

    return is_array_api_obj(x)


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

    libraries = {type(v).__module__.split(".")[0] for v in foreign}
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


def zeros_like_library(like, shape: tuple, dtype):
    """Zeros of ``shape`` in the library of ``like`` (NumPy for NumPy and Python values)."""
    ns = namespace(like)
    return xp.zeros(shape, dtype=dtype) if ns is xp else ns.zeros(shape, dtype=dtype)


def scatter_sum(positions, weights, size: int):
    """The sums of ``weights`` (an array of another library) by their ``positions`` (a
    NumPy integer array of the same shape) into ``size`` bins, in the weights' library:
    ``numpy.add.at`` for the libraries that have none."""
    w = weights.reshape(-1)
    p = positions.reshape(-1)
    chunks = getattr(w, "chunks", None)
    if chunks is not None:  # Dask: positions chunked as the weights
        import dask.array as da

        return da.bincount(da.from_array(p, chunks=chunks), weights=w, minlength=size)
    ns = namespace(weights)
    return ns.bincount(ns.asarray(p), weights=w, minlength=size)
