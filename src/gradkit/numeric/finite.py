"""``derivative``: derivatives of order 1 to 4 of a function of one variable."""

from __future__ import annotations

from collections.abc import Callable

from ..backend import xp
from ..validation import check_callable
from .arguments import as_points, check_accuracy, check_method, check_n, check_step
from .complex_step import complex_step
from .errors import FunctionOutputError
from .evaluation import Elementwise
from .result import DerivativeResult, build
from .richardson import NO_ESTIMATE, NOT_FINITE, adaptive, fixed_step, typical_scale

__all__ = ["derivative", "estimate"]


def _merge(est, alt, where, rows, notes, note):
    """Replace the estimates of the points ``where`` by rows ``rows`` of ``alt``."""
    est.nfev[where] += alt.nfev[rows]
    for name in ("value", "error", "status", "magnitude"):
        getattr(est, name)[where] = getattr(alt, name)[rows]
    notes[where] = note


def derivative(f: Callable, x, n: int = 1, method: str = "central", vectorized: bool = True,
               *, accuracy: int | None = None, step=None, initial_step=None) -> DerivativeResult:
    """The ``n``-th derivative of ``f`` at the points ``x``, with an error estimate.

    By default the step adapts to each point: central differences at the steps
    ``h, h/2, h/4, ...`` are combined by Richardson extrapolation, the step search avoids
    points where ``f`` is not finite (shrinking the step, then falling back to one-sided
    differences) and the error estimate covers both truncation and rounding error.

    Parameters
    ----------
    f : callable
        A real function of one real variable. With ``vectorized=True`` it is called with
        1-D arrays of points and must act elementwise (``f(t)[i] == f(t[i])``), as NumPy
        functions do; with ``vectorized=False`` it is called with one ``float`` at a time
        (for scalar code such as ``math.log``; an ``ArithmeticError`` or ``ValueError`` it
        raises counts as a point outside its domain).
    x : float or array_like
        Where to differentiate; finite real numbers, any shape.
    n : {1, 2, 3, 4}
        The derivative order.
    method : {"central", "forward", "backward", "complex"}
        Central differences (the default and the most accurate), one-sided differences
        (``x`` and points on one side only), or the complex step ``Im f(x + ih) / h``
        (``n = 1`` only; ``f`` must accept complex input and be real-analytic: it then
        costs two evaluations and is exact to rounding. Where ``f`` rejects or drops the
        imaginary part the result falls back to central differences and ``message`` says
        so).
    vectorized : bool
        Whether ``f`` accepts arrays (see ``f``). If a first call with an array raises or
        returns something not shaped like its input (``math.sin``, ``np.sum``), ``f`` is
        called with one float at a time from then on, as with ``vectorized=False``.
    accuracy : int, optional
        Order of the base finite-difference formula: an even number for central
        differences (default 2), at least 1 for one-sided ones (default 1). The adaptive
        method extrapolates beyond it; with a fixed ``step`` it is the formula's order.
    step : float or array_like, optional
        A fixed step: no adaptation, no extrapolation, the plain formula. For example
        ``method="forward", step=1e-5`` is the textbook ``(f(x + h) - f(x)) / h``. Its
        error estimate compares with the same formula at ``2 * step`` (one or more extra
        evaluations).
    initial_step : float or array_like, optional
        First step of the adaptive search (rounded to a power of two); default
        ``max(|x|, 1) / 16``. Useful when ``f`` varies on a scale far from that.

    Returns
    -------
    DerivativeResult
        ``df``, ``error``, ``nfev`` (evaluations per point), ``success`` and ``message``,
        each shaped like ``x``.

    Raises
    ------
    DerivativeArgumentError
        For ``n`` outside 1 to 4, an unknown ``method``, ``method="complex"`` with
        ``n > 1``, a bad ``accuracy`` or ``step``, or a non-finite ``x``.
    FunctionOutputError
        If ``f`` returns ``None``, a string or anything else that is not a number or an
        array of numbers (the message names ``f`` and the type); a non-scalar for a
        scalar input; or complex values for real input.

    Notes
    -----
    Steps are powers of two, starting near ``(1 + log(max(|x|, 1))) / 16`` and halving;
    every window of three or more consecutive steps is extrapolated (Richardson). The
    error estimate of an extrapolant is its *spread* -- its largest distance to the two
    lower-order values it combines (Ridders) and to the neighbouring extrapolant of the
    same order -- plus a rounding bound ``eps * sum(|w_i| (|f(x_i)| + |x_i f'(x_i)|)) /
    h**n`` carried through the same extrapolation (``eps`` of the output's dtype, so that
    float32 functions get float32 error bars); the smallest total wins. The search jumps
    to smaller steps when the estimates are not converging (or ``f`` is not finite there),
    and to larger steps when rounding error dominates because ``|f|`` dwarfs its change
    (for example ``1e-8 x**3 + 1``). ``success`` is False (and ``message`` says why) when
    no finite estimate was found or when the error estimate exceeds 1e-3 of the
    derivative's magnitude. See :mod:`gradkit.numeric.richardson` for the details.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.numeric import derivative
    >>> res = derivative(np.exp, [0.0, 1.0])
    >>> bool(np.allclose(res.df, np.exp([0.0, 1.0]), rtol=1e-13)), bool(res.success.all())
    (True, True)
    >>> bool(np.all(res.error < 1e-12)), bool(np.all(res.nfev <= 15))
    (True, True)

    Near the edge of the domain the step adapts (``np.sqrt`` is NaN below 0):

    >>> res = derivative(np.sqrt, 1e-4)
    >>> bool(abs(res.df - 50.0) < 1e-10)
    True

    The complex step, exact to rounding; and the textbook forward difference:

    >>> bool(derivative(np.sin, 1.0, method="complex").df == np.cos(1.0))
    True
    >>> naive = derivative(lambda x: x**2, 3.0, method="forward", step=1e-5)
    >>> round(float(naive.df), 8), bool(naive.error > 1e-6)
    (6.00001, True)

    Higher orders:

    >>> bool(abs(derivative(np.exp, 0.0, n=4).df - 1.0) < 1e-7)
    True
    """
    call = "numeric.derivative"
    check_callable(f, "f", call, error=FunctionOutputError)
    method = check_method(method, call)
    n = check_n(n, call, method)
    acc = check_accuracy(accuracy, call, method)
    x = as_points(x, call)
    steps = check_step(step, call, x.shape, method)
    h0 = None
    if initial_step is not None:
        h0 = check_step(initial_step, call, x.shape, "central", "initial_step").ravel()
        h0 = 2.0 ** xp.round(xp.log2(h0))
    flat = x.ravel()
    fun = Elementwise(f, bool(vectorized))
    if steps is not None:
        est = fixed_step(fun.engine, flat, xp.abs(flat), 1, n, method, acc, steps.ravel())
        notes = xp.full(flat.shape, "fixed step, no extrapolation (error estimated from the "
                                    "same formula at twice the step)", dtype=object)
    else:
        est, notes = estimate(fun.engine, fun.engine_complex, flat,
                              typical_scale(flat), xp.abs(flat), 1, n, method, acc, h0)
    return build(est.value[:, 0], est.error[:, 0], est.nfev, est.status[:, 0], notes, x.shape,
                 x.shape)


def estimate(evaluate: Callable, evaluate_complex: Callable, origin, scale, argmag, ncomp: int,
             n: int, method: str, accuracy: int, h0=None, at_origin=None):
    """Adaptive estimates by ``method``, with the fallbacks; returns (Estimate, notes).

    Central differences fall back to forward, then backward differences where they find no
    finite estimate; the complex step falls back to central differences where it is
    unusable. ``notes`` (P,) says where that happened.
    """
    npts = origin.size
    notes = xp.full(npts, "", dtype=object)

    def sub(sel):
        return (origin[sel], scale[sel], argmag[sel], ncomp, None if h0 is None else h0[sel],
                None if at_origin is None else at_origin[sel])

    if method == "complex":
        est, usable, reason = complex_step(evaluate_complex, origin, scale, argmag, ncomp)
        redo = xp.flatnonzero(~usable)
        if redo.size:
            o, s, a, k, h, f0 = sub(redo)
            # The whole chain of real methods, one-sided ones included where central
            # differences find no estimate (sqrt at 1e-300, next to its domain's edge).
            alt, alt_notes = estimate(evaluate, evaluate_complex, o, s, a, k, 1, "central", 2,
                                      h, f0)
            why = reason or ("it disagrees with a real finite difference, so f does not "
                             "carry the imaginary part: abs, max, real-only code")
            _merge(est, alt, redo, xp.arange(redo.size), notes,
                   f"complex step unusable ({why}); "
                   + xp.where(alt_notes == "", "used central differences", alt_notes))
        return est, notes
    o, s, a, k, h, f0 = sub(xp.arange(npts))
    est = adaptive(evaluate, o, s, a, k, n, method, accuracy, h, f0)
    if method != "central":
        return est, notes
    for side in ("forward", "backward"):
        failed = xp.flatnonzero((est.status == NOT_FINITE).any(axis=1)
                                | (est.status == NO_ESTIMATE).any(axis=1))
        if not failed.size:
            break
        why = xp.where((est.status[failed] == NOT_FINITE).any(axis=1),
                       "f is not finite on one side of x", "the step search ran out of levels")
        o, s, a, k, h, f0 = sub(failed)
        alt = adaptive(evaluate, o, s, a, k, n, side, accuracy - 1, h, f0)
        est.nfev[failed] += alt.nfev
        alt.nfev[...] = 0
        found = xp.flatnonzero(xp.isfinite(alt.value).all(axis=1))
        _merge(est, alt, failed[found], found, notes,
               "central differences found no estimate (" + why[found] + f"); used {side} "
               "differences")
    return est, notes
