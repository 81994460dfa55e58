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

import builtins as _builtins

import numpy as _np

from .. import ops as _ops
from ..backend import xp as _xp
from ..counting import *  # noqa: F403
from ..elementwise import *  # noqa: F403
from ..graph import Tensor as _Tensor
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


def array(obj, dtype=None, copy=True, ndmin=0):
    """``numpy.array`` that keeps the gradient of Tensors nested in lists."""
    if _contains_tensor(obj):
        out = _stack_nested(obj)
        return _ops.astype(out, dtype) if dtype is not None else out
    if isinstance(obj, _Tensor):
        return obj
    return _xp.array(obj, dtype=dtype, copy=copy, ndmin=ndmin)


def asarray(a, dtype=None):
    if isinstance(a, _Tensor) or _contains_tensor(a):
        return array(a, dtype=dtype)
    return _xp.asarray(a, dtype=dtype)


def _contains_tensor(obj) -> bool:
    if isinstance(obj, _Tensor):
        return True
    if isinstance(obj, list | tuple):
        return _builtins.any(_contains_tensor(o) for o in obj)
    return False


def _stack_nested(obj):
    if isinstance(obj, list | tuple):
        return _ops.stack([_stack_nested(o) for o in obj])
    return obj


def __getattr__(name):
    try:
        return getattr(_np, name)
    except AttributeError:
        raise AttributeError(f"module 'gradkit.numpy' has no attribute '{name}'") from None

