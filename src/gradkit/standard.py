"""NumPy's names over a library that speaks only the Array API standard.

gradkit's forwards are written once, with NumPy's names (``xp.concatenate``,
``xp.errstate``...). Dask and CuPy arrays go through NumPy's own functions, which hand
them to their library. A library without NumPy's dispatch protocols (array-api-strict,
or any library that keeps to the standard) gets the same forwards run with ``xp`` bound
to :class:`NumpyNames` of its namespace: the standard's functions under NumPy's names and
calling conventions, and nothing more. A NumPy function the standard lacks is an
``AttributeError`` there, which the primitive reports by name.
"""

from __future__ import annotations

import types
from contextlib import nullcontext

import numpy as np

from .backend import dtype_kind

__all__ = ["NumpyNames", "standard_forward", "to_namespace"]

# NumPy's names of functions the standard spells otherwise.
_RENAMED = {
    "absolute": "abs", "arccos": "acos", "arccosh": "acosh", "arcsin": "asin",
    "arcsinh": "asinh", "arctan": "atan", "arctanh": "atanh", "arctan2": "atan2",
    "power": "pow", "invert": "bitwise_invert", "left_shift": "bitwise_left_shift",
    "right_shift": "bitwise_right_shift", "true_divide": "divide",
}


class NumpyNames:
    """The namespace ``ns`` of a standard library, seen through NumPy's names.

    Examples
    --------
    >>> import array_api_strict as xs
    >>> x = xs.asarray([1.0, 4.0])
    >>> names = NumpyNames(xs)
    >>> names.concatenate((names.sqrt(x), x))
    Array([1., 2., 1., 4.], dtype=array_api_strict.float64)
    """

    # ``isinstance(x, xp.ndarray)`` guards NumPy's own fast paths: never taken here.
    ndarray = generic = type("NotNumpy", (), {})
    # NumPy's abstract dtypes, as the kinds ``issubdtype`` below tests for.
    inexact, floating, complexfloating, integer, number = "fc", "f", "c", "iu", "fciu"

    def __init__(self, ns):
        self._ns = ns
        self.__name__ = ns.__name__

    def __getattr__(self, name: str):
        f = getattr(self._ns, _RENAMED.get(name, name))
        setattr(self, name, f)  # found once: later lookups skip __getattr__
        return f

    @staticmethod
    def errstate(**kw):
        return nullcontext()  # the standard has no floating-point error flags

    @staticmethod
    def issubdtype(dtype, kinds) -> bool:
        return dtype_kind(dtype) in kinds

    @staticmethod
    def shape(x) -> tuple:
        return tuple(x.shape)

    @staticmethod
    def ndim(x) -> int:
        return x.ndim

    def concatenate(self, arrays, axis=0):
        return self._ns.concat(list(arrays), axis=axis)

    def transpose(self, x, axes=None):
        return self._ns.permute_dims(x, tuple(reversed(range(x.ndim))) if axes is None
                                     else tuple(axes))

    def flip(self, x, axis=None):
        return self._ns.flip(x, axis=axis)

    def roll(self, x, shift, axis=None):
        return self._ns.roll(x, shift, axis=axis)

    def tril(self, x, k=0):
        return self._ns.tril(x, k=k)

    def triu(self, x, k=0):
        return self._ns.triu(x, k=k)

    def cumsum(self, x, axis=None):
        return self._cumulative(self._ns.cumulative_sum, x, axis)

    def cumprod(self, x, axis=None):
        return self._cumulative(self._ns.cumulative_prod, x, axis)

    def _cumulative(self, fn, x, axis):
        # NumPy's axis=None runs over the flattened array
        return fn(self._ns.reshape(x, (-1,)), axis=0) if axis is None else fn(x, axis=axis)

    def astype(self, x, dtype, copy=True):
        # NumPy's dtypes (np.float32...) name the library's own
        dtype = getattr(self._ns, np.dtype(dtype).name) if not _is_own(dtype) else dtype
        return self._ns.astype(x, dtype, copy=copy)

    def multiply(self, a, b):
        # NumPy multiplies by a boolean mask; the standard wants numbers.
        return self._ns.multiply(self._numeric(a, b), self._numeric(b, a))

    def _numeric(self, a, other):
        if getattr(a, "dtype", None) == self._ns.bool:
            return self._ns.astype(a, getattr(other, "dtype", self._ns.float64))
        return a


def _is_own(dtype) -> bool:
    return not isinstance(dtype, np.dtype | type | str)


_NAMES: dict = {}
_FORWARDS: dict = {}


def standard_forward(fwd, ns):
    """``fwd``, a primitive's NumPy-level forward, for arrays of the standard namespace
    ``ns``: NumPy's own functions by their standard name, gradkit's own run with ``xp``
    bound to :class:`NumpyNames` of ``ns``. ``None`` where the standard has no such
    function.
    """
    key = (fwd, ns)
    f = _FORWARDS.get(key, False)
    if f is False:
        names = _NAMES.get(ns)
        if names is None:
            names = _NAMES[ns] = NumpyNames(ns)
        if isinstance(fwd, types.FunctionType) and fwd.__module__.startswith("gradkit"):
            f = _rebound(fwd, _module_names(fwd.__globals__, names))
        else:
            f = getattr(names, getattr(fwd, "__name__", ""), None)
        _FORWARDS[key] = f
    return f


def _rebound(fn, names: dict):
    f = types.FunctionType(fn.__code__, names, fn.__name__, fn.__defaults__, fn.__closure__)
    f.__kwdefaults__ = fn.__kwdefaults__
    return f


_MODULES: dict = {}


def _module_names(module: dict, names: NumpyNames) -> dict:
    """A module's globals with ``xp`` bound to ``names``, and the module's own functions
    that use ``xp`` (a forward's helpers) rebound to them too.

    The globals are copied once: the modules that define primitives set none of theirs
    after import (graph.py's switches, which change at run time, define no forward).
    """
    key = (module["__name__"], names)
    rebound = _MODULES.get(key)
    if rebound is None:
        rebound = _MODULES[key] = dict(module, xp=names)
        for k, v in module.items():
            if (isinstance(v, types.FunctionType) and v.__module__ == module["__name__"]
                    and "xp" in v.__code__.co_names):
                rebound[k] = _rebound(v, rebound)
    return rebound


def to_namespace(value, ns, device):
    """``value`` with the NumPy arrays and scalars in it (a constant of a rule, an index
    array) moved to namespace ``ns`` on ``device``: a standard library computes only on
    its own arrays and Python scalars."""
    if isinstance(value, np.ndarray):
        return ns.asarray(value, device=device)
    if isinstance(value, np.generic):
        return value.item()
    if type(value) is tuple or type(value) is list:
        return type(value)(to_namespace(v, ns, device) for v in value)
    return value
