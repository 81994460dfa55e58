"""The complex-step derivative ``f'(x) = Im f(x + ih) / h``, checked against a real slope.

For a real-analytic ``f`` written in operations that carry complex numbers, the complex
step has no subtractive cancellation, so ``h`` can be tiny (``2**-66`` times the smaller of
the scale of ``x`` and ``|x|``) and the result is exact to rounding. Each point costs two
evaluations (plus one per retry of the check near a branch point, see below):
``f(x + ih)`` and ``f(x + d + ih)`` with ``d = 2**-17`` times the scale of ``x``. Their real
parts give the slope ``(f(x + d) - f(x)) / d``, which must match the trapezoid
``(f'(x) + f'(x + d)) / 2`` of the two complex-step values to 1% (plus the slope's rounding
error). A function that drops the imaginary part (``abs``, ``max``, ``float()``, real-only
code) fails that check, returns a real array, raises ``TypeError`` or emits NumPy's
``ComplexWarning``; the caller then falls back to real finite differences. The secant
matches the trapezoid only when ``d`` is small next to the distance to a branch point
(``sqrt`` at ``1e-10`` is not), so a failed check is retried with gaps 256 times shorter,
per output component, while it stays informative (rounding below a tenth of the slopes).

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
_SHRINK = 2.0 ** -8  # each retry of the check shortens the gap d by this factor
_RETRIES = 8


def _pow2(a):
    return 2.0 ** xp.round(xp.log2(a))


def _check(v1, v2, h, d, argmag, eps):
    """Whether the secant of the real parts over ``[x, x + d]`` matches the trapezoid of the
    complex-step slopes at both ends (per component), and whether that test means anything:
    its rounding allowance is well below the slopes compared (or both are exactly 0)."""
    cs1 = v1.imag / h[:, None]
    cs2 = v2.imag / h[:, None]
    slope = (v2.real - v1.real) / d[:, None]
    trapezoid = 0.5 * (cs1 + cs2)
    rounding = 8.0 * eps * (xp.abs(v1.real) + xp.abs(v2.real)
                            + 2.0 * argmag[:, None] * xp.abs(trapezoid)) / d[:, None]
    size = xp.maximum(xp.abs(slope), xp.abs(trapezoid))
    agree = ((xp.abs(slope - trapezoid) <= 0.01 * size + rounding) & xp.isfinite(cs2)
             & xp.isfinite(slope))
    informative = (rounding <= 0.1 * size) | ((slope == 0) & (trapezoid == 0))
    return agree, informative


def complex_step(evaluate: Callable, origin, scale, argmag, ncomp: int):
    """Complex-step estimates for ``P = origin.size`` points.

    ``evaluate(z, which)`` returns the complex values (N, K) of the ``which``-th function at
    the complex points ``z``. Returns ``(estimate, usable, reason)``: ``usable`` (P,) is
    False where the complex step cannot be trusted; ``reason`` is why, when that holds for
    every point (the function rejects or drops complex input), else None.
    """
    npts = origin.size
    # h relative to |x| as well as to its scale: the complex step's own error is about
    # (h / x)**2 near a branch point at 0 (sqrt at 1e-14), and nothing is lost by a smaller
    # h, down to the floor that keeps h * f' clear of underflow.
    h = _pow2(xp.minimum(scale, xp.maximum(argmag, 2.0 ** -60))) * _H
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
        agree, _ = _check(v1, v2, h, d, argmag, eps)
        finite = xp.isfinite(cs1)
    passed = agree & finite
    # The trapezoid matches the secant only up to d**2 times the third derivative, so
    # near a branch point (sqrt near 0, where d = 2**-27 exceeds x = 1e-10) an exact
    # complex step fails the check. A function that drops the imaginary part fails it at
    # every d; so retry with shorter gaps, as long as the check stays informative (its
    # rounding allowance well below the slopes it compares). Each output component passes
    # at its own gap: one near 0 needs a short gap, one far from it a longer one.
    retry = ~passed.all(axis=1) & finite.all(axis=1)
    for _ in range(_RETRIES):
        sel = xp.flatnonzero(retry)
        if not sel.size:
            break
        d[sel] = (origin[sel] + d[sel] * _SHRINK) - origin[sel]
        try:
            v2s = evaluate(origin[sel] + d[sel] + 1j * h[sel], sel)
        except ComplexUnsupported:
            break
        nfev[sel] += 1
        with xp.errstate(all="ignore"):
            agree, informative = _check(v1[sel], v2s, h[sel], d[sel], argmag[sel], eps)
        passed[sel] |= agree & informative & (d[sel] > 0)[:, None]
        # A shorter gap only adds rounding: a component that failed and is no longer
        # informative never passes.
        hopeless = (~passed[sel] & ~informative).any(axis=1) | (d[sel] <= 0)
        retry[sel[passed[sel].all(axis=1) | hopeless]] = False
    usable = passed.all(axis=1)
    error = 16.0 * eps * xp.abs(cs1)
    status = xp.where(error <= 1e-3 * xp.abs(cs1), OK, LARGE_ERROR)
    est = Estimate(xp.where(finite, cs1, xp.nan), xp.where(finite, error, xp.inf), nfev,
                   xp.where(finite, status, NOT_FINITE), xp.abs(cs1))
    return est, usable, None
