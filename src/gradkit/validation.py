"""Argument checks at gradkit's public boundary, with one message convention.

Every check takes the value, the argument's name and the public name the user called
(``"Adam"``, ``"signal.diff"``, ``"numeric.derivative"``, ``"nn.Conv2d"``), returns the
value in the form the caller works with, and otherwise raises with the message::

    <call>: <argument> must be <requirement>, got <value>

where ``<value>`` is the ``repr`` of the value at fault (shortened), or a description
for an array (its shape and dtype, or the first entry at fault). The error class is
:class:`~gradkit.errors.GradkitError` unless ``error=`` names a subclass (``gradkit.numeric``
raises its ``DerivativeArgumentError``). Checks specific to one package (a learning-rate
schedule, sample coordinates, a stencil's accuracy) live in that package, written with
:func:`invalid` and the checks here.

Examples
--------
>>> from gradkit.validation import check_real
>>> check_real(0.9, "momentum", "SGD", low=0.0, high=1.0, high_open=True)
0.9
>>> check_real(1.0, "momentum", "SGD", low=0.0, high=1.0, high_open=True)
Traceback (most recent call last):
...
gradkit.errors.GradkitError: SGD: momentum must be a number in [0, 1), got 1.0
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from .backend import xp
from .errors import GradkitError
from .graph import raw
from .tree import tree_flatten

__all__ = [
    "invalid", "describe", "is_integer", "real_value",
    "check_real", "check_int", "check_axis", "check_choice", "check_pair", "check_callable",
    "check_finite_array", "float_leaves",
]

_SHORT = 80  # the longest repr a message quotes in full


def describe(value) -> str:
    """``value`` as a message shows it: its repr (shortened), or an array's shape and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.validation import describe
    >>> describe(-0.5), describe("fast"), describe(np.zeros((2, 3)))
    ('-0.5', "'fast'", 'an array of shape (2, 3) and dtype float64')
    """
    v = raw(value)
    if isinstance(v, xp.ndarray) and v.ndim > 0:
        return f"an array of shape {v.shape} and dtype {v.dtype}"
    text = repr(value)
    return text if len(text) <= _SHORT else text[:_SHORT - 3] + "..."


def invalid(call: str, name: str, requirement: str, value=None, *, got: str | None = None,
            error: type[GradkitError] = GradkitError) -> GradkitError:
    """The error for argument ``name`` of ``call``, to ``raise``: the one message format.

    ``got`` replaces the description of ``value`` where a count or a shape says more.

    Examples
    --------
    >>> from gradkit.validation import invalid
    >>> str(invalid("signal.diff", "window", "odd", 10))
    'signal.diff: window must be odd, got 10'
    >>> str(invalid("signal.noise_std", "y", "at least 3 samples long", got="2 samples"))
    'signal.noise_std: y must be at least 3 samples long, got 2 samples'
    """
    shown = describe(value) if got is None else got
    return error(f"{call}: {name} must be {requirement}, got {shown}")


def is_integer(value) -> bool:
    """Whether ``value`` is a Python or NumPy integer, not a bool.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.validation import is_integer
    >>> is_integer(3), is_integer(np.int8(3)), is_integer(True), is_integer(3.0)
    (True, True, False, False)
    """
    # type() first: Python ints are the common case, and the ABC check costs more.
    return type(value) is int or (isinstance(value, numbers.Integral)
                                  and not isinstance(value, bool | xp.bool_))


def real_value(value) -> float | None:
    """``value`` as a float when it is one real number, else None.

    A real number is a Python or NumPy int or float, or a 0-d real array (or Tensor);
    ``bool`` is not one, nor a string, nor an array of several values.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.validation import real_value
    >>> real_value(np.float32(0.5)), real_value(np.array(2)), real_value(True)
    (0.5, 2.0, None)
    """
    if type(value) is float:
        return value
    if isinstance(value, bool | xp.bool_):
        return None
    if isinstance(value, numbers.Real):
        try:
            return float(value)
        except OverflowError:      # an int beyond float's range
            return math.inf
    v = raw(value)
    if isinstance(v, xp.ndarray) and v.ndim == 0 and v.dtype.kind in "iuf":
        return float(v)
    return None


def _interval(low, high, low_open: bool, high_open: bool) -> str:
    return (("(" if low_open or low is None else "[")
            + ("-inf" if low is None else f"{low:g}") + ", "
            + ("inf" if high is None else f"{high:g}")
            + (")" if high_open or high is None else "]"))


def check_real(value, name: str, call: str, *, low: float | None = None,
               high: float | None = None, low_open: bool = False, high_open: bool = False,
               error: type[GradkitError] = GradkitError) -> float:
    """A finite real number in the interval from ``low`` to ``high``, as a float.

    ``None`` leaves a side unbounded; ``low_open`` and ``high_open`` exclude the bound.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.validation import check_real
    >>> check_real(np.float32(0.25), "lr", "Adam", low=0.0)
    0.25
    >>> check_real(0.0, "eps", "Adam", low=0.0, low_open=True)
    Traceback (most recent call last):
    ...
    gradkit.errors.GradkitError: Adam: eps must be a number in (0, inf), got 0.0
    """
    v = real_value(value)
    if not (v is not None and math.isfinite(v)
            and (low is None or (v > low if low_open else v >= low))
            and (high is None or (v < high if high_open else v <= high))):
        requirement = ("a finite number" if low is None and high is None else
                       "a number in " + _interval(low, high, low_open, high_open))
        raise invalid(call, name, requirement, value, error=error)
    return v


def _int_requirement(low: int | None, high: int | None) -> str:
    if high is None:
        return {None: "an integer", 0: "a non-negative integer",
                1: "a positive integer"}.get(low, f"an integer >= {low}")
    if low is None:
        return f"an integer <= {high}"
    return f"an integer from {low} to {high}"


def check_int(value, name: str, call: str, *, low: int | None = None, high: int | None = None,
              error: type[GradkitError] = GradkitError) -> int:
    """A Python or NumPy integer (not a bool) from ``low`` to ``high`` inclusive, as an int.

    Examples
    --------
    >>> from gradkit.validation import check_int
    >>> check_int(3, "n", "signal.diff", low=1)
    3
    >>> check_int(5, "n", "signal.fornberg_weights", low=0, high=2)
    Traceback (most recent call last):
    ...
    gradkit.errors.GradkitError: signal.fornberg_weights: n must be an integer from 0 to 2, got 5
    """
    if not (is_integer(value) and (low is None or value >= low)
            and (high is None or value <= high)):
        raise invalid(call, name, _int_requirement(low, high), value, error=error)
    return int(value)


def check_axis(value, name: str, call: str, ndim: int, *,
               error: type[GradkitError] = GradkitError) -> int:
    """An axis of an array with ``ndim`` dimensions, as a non-negative int.

    Examples
    --------
    >>> from gradkit.validation import check_axis
    >>> check_axis(-1, "axis", "signal.diff", 3)
    2
    >>> check_axis(3, "axis", "signal.diff", 3)
    Traceback (most recent call last):
    ...
    gradkit.errors.GradkitError: signal.diff: axis must be an integer from -3 to 2 (the array \
has 3 dimensions), got 3
    """
    if not (is_integer(value) and -ndim <= value < ndim):
        requirement = (f"an integer from {-ndim} to {ndim - 1} (the array has {ndim} "
                       f"dimension{'' if ndim == 1 else 's'})" if ndim else
                       "an axis of the array, which has none (it is 0-d)")
        raise invalid(call, name, requirement, value, error=error)
    return int(value) % ndim


def check_choice(value, name: str, call: str, choices: Sequence[str], *,
                 error: type[GradkitError] = GradkitError) -> str:
    """One of the strings ``choices``.

    Examples
    --------
    >>> from gradkit.validation import check_choice
    >>> check_choice("wrap", "mode", "signal.sobel", ("reflect", "wrap"))
    'wrap'
    >>> check_choice("mirror2", "mode", "signal.sobel", ("reflect", "wrap"))
    Traceback (most recent call last):
    ...
    gradkit.errors.GradkitError: signal.sobel: mode must be one of 'reflect', 'wrap', got 'mirror2'
    """
    if not (isinstance(value, str) and value in choices):
        raise invalid(call, name, "one of " + ", ".join(repr(c) for c in choices), value,
                      error=error)
    return value


def check_pair(value, name: str, call: str, *, low: int = 1,
               error: type[GradkitError] = GradkitError) -> tuple[int, int]:
    """An integer or a pair of integers, each at least ``low``, as a pair of ints.

    Examples
    --------
    >>> from gradkit.validation import check_pair
    >>> check_pair(2, "stride", "nn.Conv2d"), check_pair((1, 3), "stride", "nn.Conv2d")
    ((2, 2), (1, 3))
    >>> check_pair(0, "stride", "nn.Conv2d")
    Traceback (most recent call last):
    ...
    gradkit.errors.GradkitError: nn.Conv2d: stride must be an integer or a pair of integers, \
each >= 1, got 0
    """
    pair = (value, value) if is_integer(value) else value
    try:
        a, b = pair
    except (TypeError, ValueError):
        a = b = None
    if not (is_integer(a) and is_integer(b) and a >= low and b >= low):
        raise invalid(call, name, f"an integer or a pair of integers, each >= {low}", value,
                      error=error)
    return int(a), int(b)


def check_callable(value, name: str, call: str, *, what: str = "a callable",
                   error: type[GradkitError] = GradkitError):
    """``value`` itself when it is callable; ``what`` says what it should be.

    Examples
    --------
    >>> from gradkit.validation import check_callable
    >>> check_callable("simplex", "project", "SGD", what="a callable params -> params")
    Traceback (most recent call last):
    ...
    gradkit.errors.GradkitError: SGD: project must be a callable params -> params, got 'simplex'
    """
    if not callable(value):
        raise invalid(call, name, what, value, error=error)
    return value


def check_finite_array(value, name: str, call: str, *, low: float | None = None,
                       low_open: bool = False, min_ndim: int = 0,
                       error: type[GradkitError] = GradkitError):
    """``value`` as a floating-point NumPy array of finite numbers (above ``low`` if given).

    Floating-point arrays keep their dtype and are not copied; integers and bools become
    float64. A Tensor is read through (its value is checked and returned); callers that
    keep the Tensor return it themselves when the array is its value.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.validation import check_finite_array
    >>> check_finite_array([1, 2], "x", "numeric.derivative")
    array([1., 2.])
    >>> check_finite_array([1.0, np.nan, np.inf], "y", "signal.diff")
    Traceback (most recent call last):
    ...
    gradkit.errors.GradkitError: signal.diff: y must be finite, got nan at index 1 (2 of 3 values)
    """
    arr = raw(value)
    if not isinstance(arr, xp.ndarray):
        try:
            arr = xp.asarray(arr)
        except (TypeError, ValueError):
            arr = None
    if arr is None or arr.dtype.kind not in "biuf":
        raise invalid(call, name, "an array of real numbers", value, error=error)
    if arr.ndim < min_ndim:
        raise invalid(call, name, f"an array of at least {min_ndim} dimension(s)", value,
                      error=error)
    if arr.dtype.kind != "f":
        arr = arr.astype(xp.float64)
    ok = xp.isfinite(arr)
    if low is not None:
        ok &= (arr > low) if low_open else (arr >= low)
    if not ok.all():
        requirement = "finite" + ("" if low is None else f" and {'>' if low_open else '>='} "
                                                         f"{low:g}")
        if arr.ndim == 0:
            raise invalid(call, name, requirement, value, error=error)
        first = tuple(int(i) for i in xp.argwhere(~ok)[0])
        where = first[0] if len(first) == 1 else first
        count = int((~ok).sum())
        raise invalid(call, name, requirement, error=error,
                      got=f"{arr[first].item()!r} at index {where} ({count} of {arr.size} values)")
    return arr


def float_leaves(tree, name: str, call: str, *, convert: bool = False,
                 error: type[GradkitError] = GradkitError) -> tuple[list, object]:
    """The leaves of pytree ``tree`` as floating-point arrays, and its structure.

    Without ``convert`` every leaf must already be floating-point (optimisers update
    parameters in place of their dtype); with it, integer and bool leaves become float64.
    An optimiser's update calls this every step: it costs one ``asarray`` per leaf.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.validation import float_leaves
    >>> float_leaves({"w": np.ones(2), "b": np.array([1])}, "x", "project_box", convert=True)[0]
    [array([1., 1.]), array([1.])]
    >>> float_leaves({"w": np.ones(2), "b": 1}, "params", "Adam.init")
    Traceback (most recent call last):
    ...
    gradkit.errors.GradkitError: Adam.init: params leaf 1 must be a floating-point array, got \
array(1) (write 1.0, not 1, or use .astype(float))
    """
    leaves, treedef = tree_flatten(tree)
    out = []
    for i, leaf in enumerate(leaves):
        a = xp.asarray(raw(leaf))
        if a.dtype.kind != "f":
            if not (convert and a.dtype.kind in "biu"):
                raise _leaf_error(a, i, name, call, convert, error)
            a = a.astype(xp.float64)
        out.append(a)
    return out, treedef


def _leaf_error(a, i: int, name: str, call: str, convert: bool, error) -> GradkitError:
    hint = ("" if convert or a.dtype.kind not in "biu"
            else " (write 1.0, not 1, or use .astype(float))")
    return invalid(call, f"{name} leaf {i}", "a real array" if convert else
                   "a floating-point array", got=describe(a) + hint, error=error)
