"""A traced drop-in for the NumPy functions that ML code uses.

Write an ordinary NumPy function with ``import gradkit.numpy as np`` and differentiate
it with :func:`gradkit.grad`. Names gradkit does not define (dtypes, constants, array
creation, ``random``...) are NumPy's own.

Examples
--------
>>> import gradkit as gk
>>> import gradkit.numpy as np
>>> def f(x):
...     return np.sum(np.tanh(x) ** 2)
>>> g = gk.grad(f)(np.array([0.0, 1.0]))
>>> bool(np.allclose(g, 2 * np.tanh([0.0, 1.0]) / np.cosh([0.0, 1.0]) ** 2))
True
"""

import functools as _functools

import numpy as _np

from .. import ops as _ops
from .._rules import _ndim, _shape
from ..arguments import array_from_nested as _array_from_nested
from ..backend import array_of as _array_of
from ..backend import is_foreign as _is_foreign
from ..backend import xp as _xp
from ..counting import *  # noqa: F403
from ..elementwise import *  # noqa: F403
from ..errors import ConversionError as _ConversionError
from ..errors import GradkitError as _GradkitError
from ..graph import Tensor as _Tensor
from ..graph import call_lifted as _call_lifted
from ..graph import holds_tensor as _holds_tensor
from ..graph import refuse_standard as _refuse_standard
from ..ops import *  # noqa: F403
from ..ops import (  # noqa: F401  (names that ``import *`` skips or that shadow builtins)
    abs,
    all,
    amax,
    amin,
    any,
    max,
    min,
    round,
    sum,
)
from ..series import *  # noqa: F403
from ..shaping import *  # noqa: F403
from ..statistics import *  # noqa: F403
from . import linalg  # noqa: F401


def array(object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0, ndmax=0,
          like=None):
    """``numpy.array`` that keeps the gradient of Tensors, also inside nested lists."""
    if isinstance(object, _Tensor) or _holds_tensor(object):
        if ndmax:
            raise _GradkitError("array: ndmax= is not supported for traced values")
        out = _array_from_nested(object) if not isinstance(object, _Tensor) else object
        if dtype is not None:
            out = _ops.astype(out, dtype)
        if ndmin > _ndim(out):
            out = _ops.reshape(out, (1,) * (ndmin - _ndim(out)) + _shape(out))
        return out
    extra = {"ndmax": ndmax} if ndmax else {}  # NumPy >= 2.4
    return _xp.array(object, dtype=dtype, copy=copy, order=order, subok=subok, ndmin=ndmin,
                     like=like, **extra)


def asarray(a, dtype=None, order=None, *, device=None, copy=None, like=None):
    """``numpy.asarray`` that keeps the gradient of Tensors, also inside nested lists, and
    keeps the arrays of other libraries (Dask, CuPy) in their library, cast to ``dtype``."""
    if isinstance(a, _Tensor) or _holds_tensor(a):
        return array(a, dtype=dtype)
    if _is_foreign(a):
        return _array_of(a, dtype=dtype)
    return _xp.asarray(a, dtype=dtype, order=order, device=device, copy=copy, like=like)


def _traces_sequences(f):
    """``f``, retried with lists of Tensors stacked into traced arrays when NumPy refused
    to convert them (the primitives do the same by themselves)."""

    @_functools.wraps(f)
    def lifted(*args, **kw):
        try:
            return f(*args, **kw)
        except _ConversionError as e:
            return _call_lifted(f, args, kw, e)
        except _GradkitError:
            raise
        except Exception as e:
            _refuse_standard(f.__name__, args, kw, e)
            raise

    return lifted


def __getattr__(name):
    try:
        return getattr(_np, name)
    except AttributeError:
        raise AttributeError(f"module 'gradkit.numpy' has no attribute '{name}'") from None



def _wrap_composites(namespace: dict) -> None:
    # Primitives and non-differentiable wrappers lift sequences themselves; functions
    # composed of them need the retry at their own entry, where they first read a shape.
    for name, f in list(namespace.items()):
        if (not name.startswith("_") and callable(f) and not isinstance(f, type)
                and getattr(f, "__module__", "").startswith("gradkit")
                and not hasattr(f, "fwd") and getattr(f, "differentiable", True)
                and f is not array and f is not asarray):
            namespace[name] = _traces_sequences(f)


_wrap_composites(globals())
_wrap_composites(vars(linalg))


def _defined_here(value) -> bool:
    origin = getattr(value, "__module__", None)
    if not isinstance(origin, str):  # a module: its own name
        origin = getattr(value, "__name__", "")
    return isinstance(origin, str) and origin.startswith("gradkit")


# The names gradkit defines; the rest of NumPy's namespace is reached through __getattr__.
__all__ = sorted(name for name, value in globals().items()
                 if not name.startswith("_") and _defined_here(value))
