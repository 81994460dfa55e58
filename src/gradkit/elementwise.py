"""More elementwise primitives: remainders, fmax/fmin, float_power, sinc, angles, nan_to_num.

Each function takes NumPy's positional arguments; the ufunc keywords (``out=``,
``where=``, ``dtype=``...) are refused with a :class:`~gradkit.GradkitError`, since a
traced result is always a new array. Complex input is refused too: gradkit
differentiates real functions of real inputs.
"""

from __future__ import annotations

import math
from typing import Any

from ._rules import _dtype, _shape, _ub
from .arguments import holds_tensor, refuse_complex
from .backend import array_of, is_chunked, maybe_any, xp, zeros_like_library
from .errors import GradkitError
from .graph import Tensor, defprimitive, plain, raw
from .ops import (
    _difference,
    astype,
    cos,
    divide,
    power,
    sigmoid,
    sign,
    where,
)

__all__ = ["remainder", "mod", "fmod", "fmax", "fmin", "float_power", "logaddexp2",
           "heaviside", "sinc", "deg2rad", "rad2deg", "degrees", "radians", "fabs",
           "true_divide", "real", "imag", "conj", "conjugate", "angle", "real_if_close",
           "nan_to_num"]


def _refuse_kwargs(name: str, kwargs: dict) -> None:
    if kwargs:
        key = next(iter(kwargs))
        raise GradkitError(f"{name}: the ufunc keyword {key}= is not supported by gradkit "
                           f"(a traced result is always a new array); apply it to the result "
                           f"instead, e.g. with gradkit.numpy.where or astype")


def _ufunc(prim, nargs: int, doc: str, name: str | None = None):
    """The public function of an elementwise primitive: NumPy's positional arguments."""
    name = name or prim.__name__
    numpy_ufunc = getattr(xp, name, None)
    if nargs == 1:
        def f(x: Any, /, **kwargs: Any) -> Any:
            if kwargs:
                return _with_keywords(name, numpy_ufunc, (x,), kwargs)
            refuse_complex(name, x)
            return prim(x)
    else:
        def f(x1: Any, x2: Any, /, **kwargs: Any) -> Any:
            if kwargs:
                return _with_keywords(name, numpy_ufunc, (x1, x2), kwargs)
            refuse_complex(name, x1, x2)
            return prim(x1, x2)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc
    return f


def _with_keywords(name, numpy_ufunc, args, kwargs):
    """Ufunc keywords (out=, where=, dtype=...): NumPy's own call on plain arrays, a clear
    refusal on traced ones (a traced result is always a new array)."""
    if holds_tensor(list(args)) or numpy_ufunc is None:
        _refuse_kwargs(name, kwargs)
    return numpy_ufunc(*args, **kwargs)


def _quiet(fn, *args):
    """``fn`` on plain values, NaN and inf allowed: at a pole they are the honest result."""
    with xp.errstate(divide="ignore", invalid="ignore"):
        return fn(*args)


# -- remainders: piecewise x - q * y, with q an integer constant between the jumps ------------


def _floor_quotient(x, y):
    # floor_divide is what NumPy's remainder is consistent with: x = q * y + remainder.
    return _quiet(xp.floor_divide, raw(x), raw(y))


def _trunc_quotient(x, y):
    x, y = raw(x), raw(y)
    return _quiet(lambda x, y: xp.rint((x - xp.fmod(x, y)) / y), x, y)


_remainder = defprimitive(
    xp.remainder, "remainder",
    lambda g, ans, x, y: _ub(g, g, ans, x),
    lambda g, ans, x, y: _ub(-g * _floor_quotient(x, y), g, ans, y))
_fmod = defprimitive(
    xp.fmod, "fmod",
    lambda g, ans, x, y: _ub(g, g, ans, x),
    lambda g, ans, x, y: _ub(-g * _trunc_quotient(x, y), g, ans, y))

remainder = _ufunc(_remainder, 2, """Remainder of division with the sign of the divisor
(Python's ``%``), as ``numpy.remainder``.

The derivative is 1 in ``x1`` and ``-floor(x1 / x2)`` in ``x2``, between the jumps.

Examples
--------
>>> import gradkit as gk, gradkit.numpy as gnp
>>> gnp.remainder(gnp.array([5.0, -5.0]), 3.0)
array([2., 1.])
>>> float(gk.grad(lambda y: gnp.remainder(7.0, y))(2.0))
-3.0
""")
mod = remainder
fmod = _ufunc(_fmod, 2, """Remainder of division with the sign of the dividend (C's ``fmod``).

The derivative is 1 in ``x1`` and ``-trunc(x1 / x2)`` in ``x2``, between the jumps.

Examples
--------
>>> import gradkit.numpy as gnp
>>> gnp.fmod(gnp.array([5.0, -5.0]), 3.0)
array([ 2., -2.])
""")


# -- NaN-ignoring maximum and minimum ---------------------------------------------------------


def _nan_share(x, y, g, larger: bool):
    """The part of ``g`` that goes to ``x`` in fmax (``larger``) or fmin: all of it where x
    wins or y alone is NaN, half at ties, none where both are NaN."""
    x, y = raw(x), raw(y)
    wins = (x > y) if larger else (x < y)
    wins = wins | (xp.isnan(y) & ~xp.isnan(x))
    ties = x == y
    if maybe_any(plain(ties)):  # under vmap, one branch for the whole batch
        return g * wins + (g * 0.5) * ties
    return g * wins


_fmax = defprimitive(xp.fmax, "fmax",
                     lambda g, ans, x, y: _ub(_nan_share(x, y, g, True), g, ans, x),
                     lambda g, ans, x, y: _ub(_nan_share(y, x, g, True), g, ans, y))
_fmin = defprimitive(xp.fmin, "fmin",
                     lambda g, ans, x, y: _ub(_nan_share(x, y, g, False), g, ans, x),
                     lambda g, ans, x, y: _ub(_nan_share(y, x, g, False), g, ans, y))

fmax = _ufunc(_fmax, 2, """Elementwise maximum that ignores NaN, as ``numpy.fmax``.

The gradient goes to the larger argument, to the non-NaN one where the other is NaN,
half to each at ties, and nowhere where both are NaN.

Examples
--------
>>> import gradkit.numpy as gnp
>>> gnp.fmax(gnp.array([1.0, 5.0, gnp.nan]), 3.0)
array([3., 5., 3.])
""")
fmin = _ufunc(_fmin, 2, """Elementwise minimum that ignores NaN, as ``numpy.fmin``.

Examples
--------
>>> import gradkit.numpy as gnp
>>> gnp.fmin(gnp.array([1.0, 5.0, gnp.nan]), 3.0)
array([1., 3., 3.])
""")


# -- powers and logarithms --------------------------------------------------------------------


def _as_float64(x):
    if isinstance(x, Tensor) or isinstance(x, xp.ndarray | xp.generic):
        return astype(x, xp.float64) if _dtype(x) != xp.float64 else x
    return array_of(x, dtype=xp.float64)


def float_power(x1: Any, x2: Any, /, **kwargs: Any) -> Any:
    """``x1 ** x2`` computed in float64 whatever the inputs, as ``numpy.float_power``.

    Like NumPy, float32 (and integer) inputs give a float64 result; the cotangents that
    reach float32 inputs are cast back to float32.

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit.numpy as gnp
    >>> gnp.float_power(np.float32(2.0), 3).dtype
    dtype('float64')
    """
    if kwargs:
        return _with_keywords("float_power", xp.float_power, (x1, x2), kwargs)
    refuse_complex("float_power", x1, x2)
    return _float_power(_as_float64(x1), _as_float64(x2))


# power's rules, on float64 arguments: the casts before carry the cotangents back.
_float_power = defprimitive(xp.float_power, "float_power", *power.vjps)


_LN2 = math.log(2.0)
_logaddexp2 = defprimitive(
    xp.logaddexp2, "logaddexp2",
    lambda g, ans, x, y: _ub(g * sigmoid(_difference(x, y) * _LN2), g, ans, x),
    lambda g, ans, x, y: _ub(g * sigmoid(_difference(y, x) * _LN2), g, ans, y))
logaddexp2 = _ufunc(_logaddexp2, 2, """``log2(2**x1 + 2**x2)`` without overflow.

Examples
--------
>>> import gradkit.numpy as gnp
>>> float(gnp.logaddexp2(1.0, 1.0))
2.0
""")

true_divide = _ufunc(divide, 2, """``x1 / x2``, NumPy's other name for ``divide``.

Examples
--------
>>> import gradkit.numpy as gnp
>>> float(gnp.true_divide(1.0, 4.0))
0.25
""", "true_divide")


# -- steps ------------------------------------------------------------------------------------


def _heaviside_rule_x2(g, ans, x1, x2):
    return _ub(g * (raw(x1) == 0), g, ans, x2)


# The step has derivative 0 in x1 away from 0 (and none at 0): no rule, no gradient.
_heaviside = defprimitive(xp.heaviside, "heaviside", None, _heaviside_rule_x2)
heaviside = _ufunc(_heaviside, 2, """The Heaviside step: 0 below 0, ``x2`` at 0, 1 above.

The derivative in ``x1`` is 0 (the step itself is not differentiated); in ``x2`` it is
1 where ``x1 == 0`` and 0 elsewhere.

Examples
--------
>>> import gradkit.numpy as gnp
>>> gnp.heaviside(gnp.array([-1.0, 0.0, 2.0]), 0.5)
array([0. , 0.5, 1. ])
""")


# -- sinc -------------------------------------------------------------------------------------

# Below |pi x| = 0.3 the series of sinc' is exact to rounding after 7 terms, and the
# closed form (cos(pi x) - sinc(x)) / x would cancel badly.
_SMALL = 0.3 / math.pi
_SINC_TERMS = 7


def _sinc_derivative(x):
    """sinc'(x), finite and smooth at 0, written in gradkit ops (so it has derivatives)."""
    small = xp.abs(raw(x)) < _SMALL
    safe = where(small, 1.0, x)
    closed = (cos(safe * math.pi) - sinc(safe)) / safe
    # sinc(x) = sum_k (-1)^k (pi x)^(2k) / (2k+1)!, so
    # sinc'(x) = pi^2 x * sum_{k>=1} (-1)^k 2k (pi x)^(2k-2) / (2k+1)!
    tiny = where(small, x, 0.0)
    u2 = (tiny * math.pi) * (tiny * math.pi)
    series = 0.0
    for k in range(_SINC_TERMS, 0, -1):
        series = series * u2 + (-1) ** k * 2 * k / math.factorial(2 * k + 1)
    return where(small, series * tiny * (math.pi * math.pi), closed)


def _sinc_fwd(x):
    return xp.sinc(x)


_sinc = defprimitive(_sinc_fwd, "sinc", lambda g, ans, x: g * _sinc_derivative(x))


def sinc(x: Any) -> Any:
    """The normalised sinc function ``sin(pi x) / (pi x)``, 1 at 0, as ``numpy.sinc``.

    Its derivatives are finite at 0, to any order (``sinc'(0) = 0``,
    ``sinc''(0) = -pi**2 / 3``).

    Examples
    --------
    >>> import gradkit as gk, gradkit.numpy as gnp
    >>> float(gnp.sinc(0.0)), float(gk.grad(gnp.sinc)(0.0)) == 0.0
    (1.0, True)
    >>> round(float(gk.grad(gk.grad(gnp.sinc))(0.0)), 12)  # -pi**2 / 3
    -3.289868133696
    """
    refuse_complex("sinc", x)
    return _sinc(x)


# -- angle conversions ------------------------------------------------------------------------

_D2R = math.pi / 180.0
_R2D = 180.0 / math.pi
_deg2rad = defprimitive(xp.deg2rad, "deg2rad", lambda g, ans, x: g * _D2R)
_rad2deg = defprimitive(xp.rad2deg, "rad2deg", lambda g, ans, x: g * _R2D)
_radians = defprimitive(xp.radians, "radians", lambda g, ans, x: g * _D2R)
_degrees = defprimitive(xp.degrees, "degrees", lambda g, ans, x: g * _R2D)
deg2rad = _ufunc(_deg2rad, 1, """Degrees to radians, as ``numpy.deg2rad``.

Examples
--------
>>> import gradkit.numpy as gnp
>>> float(gnp.deg2rad(180.0))
3.141592653589793
""")
rad2deg = _ufunc(_rad2deg, 1, "Radians to degrees, as ``numpy.rad2deg``.")
radians = _ufunc(_radians, 1, "Degrees to radians, as ``numpy.radians``.")
degrees = _ufunc(_degrees, 1, "Radians to degrees, as ``numpy.degrees``.")

_fabs = defprimitive(xp.fabs, "fabs", lambda g, ans, x: g * sign(x))
fabs = _ufunc(_fabs, 1, """Absolute value of real numbers, as ``numpy.fabs`` (gradient 0 at 0).

Examples
--------
>>> import gradkit.numpy as gnp
>>> gnp.fabs(gnp.array([-1.5, 2.0]))
array([1.5, 2. ])
""")


# -- complex parts, on real input -------------------------------------------------------------


def _zero_rule(g, ans, *args, **kw):
    return zeros_like_library(plain(g), _shape(g), _dtype(g))


_imag = defprimitive(lambda x: xp.zeros_like(x), "imag", _zero_rule)
_angle = defprimitive(lambda z, deg: xp.angle(z, deg), "angle", _zero_rule)


def real(val: Any) -> Any:
    """The real part: the input itself, for the real input gradkit differentiates.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> gnp.real(gnp.array([1.0, -2.0]))
    array([ 1., -2.])
    """
    refuse_complex("real", val)
    return val if isinstance(val, Tensor) else xp.real(val)


def imag(val: Any) -> Any:
    """The imaginary part of real input: zeros, with gradient 0.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> gnp.imag(gnp.array([1.0, -2.0]))
    array([0., 0.])
    """
    refuse_complex("imag", val)
    return _imag(val) if isinstance(val, Tensor) else xp.imag(val)


def conj(x: Any, /, **kwargs: Any) -> Any:
    """The complex conjugate of real input: the input itself.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> gnp.conj(gnp.array([1.0, -2.0]))
    array([ 1., -2.])
    """
    if kwargs:
        return _with_keywords("conjugate", xp.conjugate, (x,), kwargs)
    refuse_complex("conjugate", x)
    return x if isinstance(x, Tensor) else xp.conjugate(x)


conjugate = conj


def angle(z: Any, deg: bool = False) -> Any:
    """The argument of real input: 0 where ``z >= 0``, pi (or 180) where ``z < 0`` or
    ``z`` is -0.0; the derivative is 0.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> gnp.angle(gnp.array([2.0, -1.0]), deg=True)
    array([  0., 180.])
    """
    refuse_complex("angle", z)
    return _angle(z, bool(deg))


def real_if_close(a: Any, tol: float = 100) -> Any:
    """Real input is returned as it is (``tol`` only matters for complex input).

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> gnp.real_if_close(gnp.array([1.0, 2.0]))
    array([1., 2.])
    """
    refuse_complex("real_if_close", a)
    return a if isinstance(a, Tensor) else xp.real_if_close(a, tol=tol)


# -- nan_to_num -------------------------------------------------------------------------------


def _nan_to_num_fwd(x, nan, posinf, neginf):
    if type(x) is not xp.ndarray and is_chunked(x):
        return _replaced(x, nan, posinf, neginf)
    return xp.nan_to_num(x, copy=True, nan=nan, posinf=posinf, neginf=neginf)


def _replaced(x, nan, posinf, neginf):
    """NumPy's ``nan_to_num`` by selections, for a library whose own takes no replacement
    values (Dask): the defaults, as NumPy's, the dtype's extremes."""
    if not xp.issubdtype(x.dtype, xp.floating):
        return x
    info = xp.finfo(x.dtype)

    def value(v, default):
        return xp.asarray(default if v is None else v, dtype=x.dtype)

    out = xp.where(xp.isnan(x), value(nan, 0.0), x)
    out = xp.where(x == xp.inf, value(posinf, info.max), out)
    return xp.where(x == -xp.inf, value(neginf, info.min), out)


_nan_to_num = defprimitive(
    _nan_to_num_fwd, "nan_to_num",
    lambda g, ans, x, nan, posinf, neginf: g * xp.isfinite(raw(x)))


def nan_to_num(x: Any, copy: bool = True, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Any:
    """Replace NaN and infinities by finite numbers, as ``numpy.nan_to_num``.

    The gradient passes where ``x`` is finite and is 0 where a value was replaced. The
    replacement values are constants. ``copy=False`` (in place) only works on NumPy
    arrays, never on a Tensor.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> gnp.nan_to_num(gnp.array([1.0, gnp.nan, gnp.inf]), posinf=9.0)
    array([1., 0., 9.])
    """
    refuse_complex("nan_to_num", x)
    for key, v in (("nan", nan), ("posinf", posinf), ("neginf", neginf)):
        if isinstance(v, Tensor):
            raise GradkitError(f"nan_to_num: {key}= must be a number, not a Tensor (the "
                               f"replacement values are constants)")
    if not isinstance(x, Tensor):
        return xp.nan_to_num(x, copy=copy, nan=nan, posinf=posinf, neginf=neginf)
    if not copy:
        raise GradkitError("nan_to_num: copy=False would modify a Tensor in place; Tensors are "
                           "immutable, use the returned array (copy=True)")
    return _nan_to_num(x, nan, posinf, neginf)
