"""The complex-step derivative ``f'(x) = Im f(x + ih) / h``, checked against a real slope.

For a real-analytic ``f`` written in operations that carry complex numbers, the complex
step has no subtractive cancellation, so ``h`` can be tiny (``2**-66`` times the scale of
``x``) and the result is exact to rounding. Each point costs two evaluations:
``f(x + ih)`` and ``f(x + d + ih)`` with ``d = 2**-17`` times the scale of ``x``. Their real
parts give the slope ``(f(x + d) - f(x)) / d``, which must match the trapezoid
``(f'(x) + f'(x + d)) / 2`` of the two complex-step values to 1% (plus the slope's rounding
error). A function that drops the imaginary part (``abs``, ``max``, ``float()``, real-only
code) fails that check, returns a real array, raises ``TypeError`` or emits NumPy's
``ComplexWarning``; the caller then falls back to real finite differences.

Error estimate: ``16 * eps * |f'|`` (the complex step is exact up to the rounding of ``f``
itself, taken as a few units in the last place of its output's precision).
"""

from __future__ import annotations

from collections.abc import Callable

from ..backend import xp
from .evaluation import ComplexUnsupported
from .richardson import EPS, LARGE_ERROR, NOT_FINITE, OK, Estimate

__all__ = ["complex_step"]

_H = 2.0 ** -66
_D = 2.0 ** -17


def _pow2(a):
    return 2.0 ** xp.round(xp.log2(a))


def complex_step(evaluate: Callable, origin, scale, argmag, ncomp: int):
    """Complex-step estimates for ``P = origin.size`` points.

    ``evaluate(z, which)`` returns the complex values (N, K) of the ``which``-th function at
    the complex points ``z``. Returns ``(estimate, usable, reason)``: ``usable`` (P,) is
    False where the complex step cannot be trusted; ``reason`` is why, when that holds for
    every point (the function rejects or drops complex input), else None.
    """
    npts = origin.size
    h = _pow2(scale) * _H
    d = _pow2(xp.minimum(scale, xp.maximum(xp.abs(origin), 2.0 ** -10))) * _D
    d = (origin + d) - origin
    z = xp.concatenate([origin + 1j * h, (origin + d) + 1j * h])
    which = xp.concatenate([xp.arange(npts), xp.arange(npts)])
    nfev = xp.full(npts, 2, dtype=int)
    try:
        vals = evaluate(z, which)
    except ComplexUnsupported as exc:
        tried = xp.bincount(which[:exc.attempted], minlength=npts)
        est = Estimate(xp.full((npts, ncomp), xp.nan), xp.full((npts, ncomp), xp.inf),
                       tried.astype(int), xp.full((npts, ncomp), NOT_FINITE),
                       xp.zeros((npts, ncomp)))
        return est, xp.zeros(npts, dtype=bool), str(exc.args[0])
    v1, v2 = vals[:npts], vals[npts:]
    eps = getattr(evaluate, "eps", EPS)
    with xp.errstate(all="ignore"):
        cs1 = v1.imag / h[:, None]
        cs2 = v2.imag / h[:, None]
        slope = (v2.real - v1.real) / d[:, None]
        trapezoid = 0.5 * (cs1 + cs2)
        rounding = 8.0 * eps * (xp.abs(v1.real) + xp.abs(v2.real)
                                + 2.0 * argmag[:, None] * xp.abs(trapezoid)) / d[:, None]
        tolerance = 0.01 * xp.maximum(xp.abs(slope), xp.abs(trapezoid)) + rounding
        agree = xp.abs(slope - trapezoid) <= tolerance
        finite = xp.isfinite(cs1) & xp.isfinite(cs2) & xp.isfinite(slope)
    usable = (agree & finite).all(axis=1)
    error = 16.0 * eps * xp.abs(cs1)
    status = xp.where(error <= 1e-3 * xp.abs(cs1), OK, LARGE_ERROR)
    est = Estimate(xp.where(finite, cs1, xp.nan), xp.where(finite, error, xp.inf), nfev,
                   xp.where(finite, status, NOT_FINITE), xp.abs(cs1))
    return est, usable, None
