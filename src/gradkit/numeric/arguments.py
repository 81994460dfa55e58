"""The argument rules of :mod:`gradkit.numeric`, written with :mod:`gradkit.validation`.

Every check takes the public name of the call (``"numeric.derivative"``) and raises
:class:`~gradkit.numeric.DerivativeArgumentError`.
"""

from __future__ import annotations

from ..backend import xp
from ..validation import check_choice, check_finite_array, check_int, invalid, is_integer
from .errors import DerivativeArgumentError

__all__ = ["check_n", "check_method", "check_accuracy", "check_step", "as_points"]

METHODS = ("central", "forward", "backward", "complex")
_ERROR = DerivativeArgumentError


def check_n(n, call: str, method: str = "central") -> int:
    """The derivative order ``n``: 1 to 4, and 1 for the complex step."""
    n = check_int(n, "n", call, low=1, high=4, error=_ERROR)
    if method == "complex" and n != 1:
        raise invalid(call, "n", "1 with method='complex' (the complex step gives first "
                                 "derivatives only)", n, error=_ERROR)
    return n


def check_method(method, call: str, allowed=METHODS) -> str:
    return check_choice(method, "method", call, allowed, error=_ERROR)


def check_accuracy(accuracy, call: str, method: str) -> int:
    """The order of the base stencil: even for central differences, at least 1 otherwise."""
    if method == "complex":
        if accuracy is not None:
            raise invalid(call, "accuracy", "None for method='complex' (the complex step is "
                                            "exact to rounding)", accuracy, error=_ERROR)
        return 2
    if accuracy is None:
        return 2 if method == "central" else 1
    central = method == "central"
    if not (is_integer(accuracy) and 1 <= accuracy <= 8 and not (central and accuracy % 2)):
        rule = ("an even integer from 2 to 8 for method='central'" if central else
                f"an integer from 1 to 8 for method={method!r}")
        raise invalid(call, "accuracy", rule, accuracy, error=_ERROR)
    return int(accuracy)


def check_step(step, call: str, shape: tuple, method: str, name: str = "step"):
    """A fixed step: positive and finite, broadcastable to ``shape``; None means adaptive."""
    if step is None:
        return None
    if method == "complex":
        raise invalid(call, name, "None for method='complex' (its step is chosen internally)",
                      step, error=_ERROR)
    arr = check_finite_array(step, name, call, low=0.0, low_open=True, error=_ERROR)
    try:
        return xp.broadcast_to(arr.astype(xp.float64, copy=False), shape)
    except ValueError:
        raise invalid(call, name, f"a number or an array broadcastable to x's shape {shape}",
                      step, error=_ERROR) from None


def as_points(x, call: str, name: str = "x"):
    """A finite float64 array (a copy)."""
    return check_finite_array(x, name, call, error=_ERROR).astype(xp.float64)
