"""Validation of the arguments shared by the functions of :mod:`gradkit.numeric`."""

from __future__ import annotations

import numbers

from ..backend import xp
from ..graph import raw
from .errors import DerivativeArgumentError

__all__ = ["check_n", "check_method", "check_accuracy", "check_step", "as_points"]

METHODS = ("central", "forward", "backward", "complex")


def check_n(n, allowed=(1, 2, 3, 4)) -> int:
    """The derivative order ``n``: an integer in ``allowed``."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or int(n) not in allowed:
        names = ", ".join(str(a) for a in allowed[:-1]) + f" or {allowed[-1]}"
        raise DerivativeArgumentError(f"n must be {names} (the derivative order); got {n!r}")
    return int(n)


def check_method(method, allowed=METHODS) -> str:
    if not isinstance(method, str) or method not in allowed:
        names = ", ".join(repr(m) for m in allowed)
        raise DerivativeArgumentError(f"method must be one of {names}; got {method!r}")
    return method


def check_accuracy(accuracy, method: str) -> int:
    """The order of the base stencil: even for central differences, at least 1 otherwise."""
    if method == "complex":
        if accuracy is not None:
            raise DerivativeArgumentError("accuracy does not apply to method='complex' (the "
                                          f"complex step is exact to rounding); got {accuracy!r}")
        return 2
    if accuracy is None:
        return 2 if method == "central" else 1
    central = method == "central"
    if (isinstance(accuracy, bool) or not isinstance(accuracy, numbers.Integral)
            or not 1 <= accuracy <= 8 or (central and accuracy % 2)):
        rule = "an even integer from 2 to 8" if central else "an integer from 1 to 8"
        raise DerivativeArgumentError(f"accuracy must be {rule} for method={method!r}; "
                                      f"got {accuracy!r}")
    return int(accuracy)


def check_step(step, shape: tuple, method: str):
    """A fixed step: positive and finite, broadcastable to ``shape``; None means adaptive."""
    if step is None:
        return None
    if method == "complex":
        raise DerivativeArgumentError("step does not apply to method='complex' (its step is "
                                      f"chosen internally); got step={step!r}")
    try:
        arr = xp.asarray(raw(step), dtype=xp.float64)
        arr = xp.broadcast_to(arr, shape)
    except (TypeError, ValueError):
        raise DerivativeArgumentError(f"step must be a positive number or an array "
                                      f"broadcastable to x's shape {shape}; got {step!r}") from None
    if not bool(xp.all(xp.isfinite(arr) & (arr > 0))):
        raise DerivativeArgumentError(f"step must be positive and finite; got {step!r}")
    return arr


def as_points(x, name: str = "x"):
    """A finite float64 array (a copy)."""
    try:
        arr = xp.asarray(raw(x))
    except (TypeError, ValueError):
        raise DerivativeArgumentError(f"{name} must be a real number or array; got "
                                      f"{type(x).__name__}") from None
    if arr.dtype.kind not in "biuf":
        raise DerivativeArgumentError(f"{name} must be real numbers; got dtype {arr.dtype}")
    arr = arr.astype(xp.float64)
    if not bool(xp.all(xp.isfinite(arr))):
        bad = xp.flatnonzero(~xp.isfinite(arr.ravel()))
        raise DerivativeArgumentError(
            f"{name} must be finite; it holds {arr.ravel()[bad[0]]} at flat index {bad[0]}")
    return arr
