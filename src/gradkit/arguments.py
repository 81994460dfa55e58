"""Conversions and checks at the boundary of ``gradkit.numpy``'s functions, in one place.

Lists and tuples that hold traced values are stacked into one traced array (never turned
into constants); keywords gradkit cannot honour (``out=``) and complex inputs are refused
with one message each, naming the call.
"""

from __future__ import annotations

import builtins

from .backend import array_of, dtype_kind, dtype_of, xp
from .errors import GradkitError
from .graph import Tensor, holds_tensor, plain, raw

__all__ = ["array_from_nested", "as_array", "holds_tensor", "refuse_complex", "refuse_out"]


def array_from_nested(obj):
    """A (nested) list or tuple of arrays, numbers and Tensors as one array, traced where
    its elements are: what ``numpy.array`` does, without dropping the gradient."""
    if isinstance(obj, list | tuple):
        if not builtins.any(isinstance(o, list | tuple) or type(o) is Tensor for o in obj):
            return array_of(obj)
        from .ops import stack  # ops imports this module

        return stack([array_from_nested(o) for o in obj])
    return obj


def as_array(a):
    """A Tensor as it is, a sequence holding Tensors stacked, anything else NumPy's array."""
    if type(a) is Tensor:
        return a
    if isinstance(a, list | tuple) and holds_tensor(a):
        return array_from_nested(a)
    return array_of(a)


def refuse_out(name: str, out) -> None:
    if out is not None:
        raise GradkitError(f"{name}: out= is not supported by gradkit (a traced result is "
                           f"always a new array); use the returned value")


def refuse_complex(name: str, *args) -> None:
    """Complex inputs are a later issue: refuse them by name, never compute them half-way."""
    for a in args:
        if a is None:
            continue
        v = raw(a) if type(a) is Tensor else a
        dtype = (v.dtype if isinstance(v, xp.ndarray | xp.generic) else
                 dtype_of(plain(as_array(v))))
        if dtype_kind(dtype) == "c":
            raise GradkitError(f"{name}: complex input (dtype {dtype}) is not supported; "
                               f"gradkit differentiates real functions of real inputs")
