"""The normal distribution, differentiable in ``x``, ``loc`` and ``scale`` (as
``jax.scipy.stats.norm``).

Each function computes what ``scipy.stats.norm`` computes, with the same formulas, on
``z = (x - loc) / scale`` (so the values are equal to SciPy's), but from gradkit
operations and the primitives of :mod:`gradkit.scipy.special` (``ndtr``, ``log_ndtr``,
``ndtri``), without SciPy's slow distribution objects. Derivatives of every order follow.
Where ``scale <= 0`` the value is NaN, as in SciPy, and so are its derivatives. Unlike
SciPy, float32 arguments give float32 results.

Examples
--------
>>> import gradkit as gk
>>> from gradkit.scipy.stats import norm
>>> float(norm.cdf(0.0)), round(float(gk.grad(norm.cdf)(0.0)), 12)
(0.5, 0.398942280401)
"""

from __future__ import annotations

import math

from ...backend import maybe_any, xp
from ...graph import Tensor, defprimitive, plain, raw
from ...ops import astype, exp, log, square, where
from ..special import log_ndtr, ndtr, ndtri

__all__ = ["pdf", "logpdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

# SciPy's constants for the standard normal density
_PDF_C = math.sqrt(2 * math.pi)
_PDF_LOG_C = math.log(_PDF_C)


def _is_number(v, value) -> bool:
    return isinstance(v, int | float) and v == value


def _float(x):
    # An integer array has no gradient: SciPy computes on it as float64.
    if isinstance(x, int | float):
        return x
    if type(x) is not Tensor:
        x = xp.asarray(x)
    if xp.issubdtype(x.dtype, xp.inexact):
        return x
    return astype(raw(x), xp.float64)


def _nan_where_fwd(value, bad):
    return xp.where(bad, xp.nan, value)


# NaN where ``bad``, in the value and in the cotangent that flows back from there, so that
# every input that reaches an invalid entry gets a NaN derivative, never a number.
_nan_where = defprimitive(_nan_where_fwd, "nan_where",
                          lambda g, ans, value, bad: where(bad, xp.nan, g), None)


def _checked(body, x, loc, scale):
    """``body(x, loc, scale)``, NaN (value and derivatives) where ``scale <= 0``, as SciPy.

    The body runs on a scale moved to 1 there (no warnings); the move is a constant
    shift, so the NaN cotangent still reaches ``scale``."""
    if isinstance(scale, int | float):
        return body(x, loc, scale) if scale > 0 else _nan_where(body(x, loc, 1.0), True)
    rs = raw(scale)
    # Inside vmap ``rs`` is a batch (a Tensor): whether any example has a bad scale is
    # decided on the whole batch; the mask and the shift stay one per example.
    if not maybe_any(plain(rs) <= 0):
        return body(x, loc, scale)
    bad = rs <= 0
    shift = where(bad, 1 - rs, 0) if type(rs) is Tensor else xp.where(bad, 1 - rs, 0)
    return _nan_where(body(x, loc, scale + shift), bad)


def _standardize(x, loc, scale):
    """``(x - loc) / scale`` as SciPy computes it, skipping the identity operations of the
    defaults."""
    z = _float(x)
    if not _is_number(loc, 0):
        z = z - loc
    if not _is_number(scale, 1):
        z = z / scale
    return z


def _pdf(x, loc, scale):
    out = exp(-square(_standardize(x, loc, scale)) / 2.0) / _PDF_C
    return out if _is_number(scale, 1) else out / scale


def _logpdf(x, loc, scale):
    out = -square(_standardize(x, loc, scale)) / 2.0 - _PDF_LOG_C
    return out if _is_number(scale, 1) else out - log(scale)


def pdf(x, loc=0, scale=1):
    """Probability density of the normal distribution (``scipy.stats.norm.pdf``).

    Examples
    --------
    >>> import gradkit as gk
    >>> from gradkit.scipy.stats import norm
    >>> float(gk.grad(norm.pdf)(1.0) + norm.pdf(1.0))  # pdf'(x) = -x pdf(x)
    0.0
    """
    return _checked(_pdf, x, loc, scale)


def logpdf(x, loc=0, scale=1):
    """Log of the normal density (``scipy.stats.norm.logpdf``).

    Examples
    --------
    >>> import gradkit as gk
    >>> from gradkit.scipy.stats import norm
    >>> gk.grad(norm.logpdf, argnums=(0, 1, 2))(3.0, 1.0, 2.0)  # (-z/s, z/s, (z**2 - 1)/s)
    (np.float64(-0.5), np.float64(0.5), np.float64(0.0))
    """
    return _checked(_logpdf, x, loc, scale)


def cdf(x, loc=0, scale=1):
    """Cumulative distribution function (``scipy.stats.norm.cdf``)."""
    return _checked(lambda x, loc, s: ndtr(_standardize(x, loc, s)), x, loc, scale)


def logcdf(x, loc=0, scale=1):
    """Log of the CDF (``scipy.stats.norm.logcdf``), accurate far into the left tail."""
    return _checked(lambda x, loc, s: log_ndtr(_standardize(x, loc, s)), x, loc, scale)


def sf(x, loc=0, scale=1):
    """Survival function ``1 - cdf`` (``scipy.stats.norm.sf``), accurate in the right tail."""
    return _checked(lambda x, loc, s: ndtr(-_standardize(x, loc, s)), x, loc, scale)


def logsf(x, loc=0, scale=1):
    """Log of the survival function (``scipy.stats.norm.logsf``)."""
    return _checked(lambda x, loc, s: log_ndtr(-_standardize(x, loc, s)), x, loc, scale)


def _affine(z, loc, scale):
    out = z if _is_number(scale, 1) else z * scale
    return out if _is_number(loc, 0) else out + loc


def ppf(q, loc=0, scale=1):
    """Quantile function, the inverse of ``cdf`` (``scipy.stats.norm.ppf``).

    Examples
    --------
    >>> import gradkit as gk
    >>> from gradkit.scipy.stats import norm
    >>> float(norm.ppf(0.5, loc=3.0)), float(gk.grad(norm.ppf, argnums=2)(0.5, 3.0, 2.0))
    (3.0, 0.0)
    """
    return _checked(lambda q, loc, s: _affine(ndtri(_float(q)), loc, s), q, loc, scale)


def isf(q, loc=0, scale=1):
    """Inverse survival function (``scipy.stats.norm.isf``)."""
    return _checked(lambda q, loc, s: _affine(-ndtri(_float(q)), loc, s), q, loc, scale)

from ...batching import give_rules  # noqa: E402  (vmap's rules for the primitives above)

give_rules(globals())
