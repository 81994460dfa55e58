"""Differentiable special functions (as ``scipy.special``, ``jax.scipy.special``).

Every function is a primitive whose value is SciPy's own (same arguments, same value;
float32 inputs give float32 results) and whose derivative rule is written with gradkit
operations and other functions of this module (``gammaln' = digamma``, ``digamma' =
polygamma(1, .)``, ``polygamma(n, .)' = polygamma(n + 1, .)``...), so derivatives of
any order work.

Integer orders (``n`` of ``polygamma``, ``v`` of the Bessel functions, ``d`` of
``multigammaln``) and the shape parameters of ``gammainc`` and ``betainc`` are
constants: differentiating with respect to them raises :class:`~gradkit.GradkitError`.

At the edges of a domain the values are SciPy's (``logit(0) = -inf``, ``erfinv(1) =
inf``, ``xlogy(0, 0) = 0``, ``entr(0) = 0``) and first derivatives are the honest
limits, computed without NumPy warnings: ``logit'(0) = erfinv'(1) = ndtri'(0) = inf``,
``entr'(0) = inf``, ``d xlogy(x, y) / dy = 0`` where ``x == 0`` (``xlogy(0, y)`` is 0 for
every ``y``) and ``d xlogy / dx = log(y) = -inf`` at ``y == 0``. A zero cotangent always
gives a zero gradient there (so Jacobians have no NaN rows).

Examples
--------
>>> import gradkit as gk
>>> from gradkit.scipy import special
>>> float(gk.grad(special.erf)(0.0))  # 2 / sqrt(pi)
1.1283791670955126
>>> round(float(gk.grad(gk.grad(special.gammaln))(1.0)), 12)  # polygamma(1, 1) = pi**2 / 6
1.644934066848
"""

from __future__ import annotations

import math

import scipy.special as _sc

from .. import ops as _ops
from .._rules import _expand, _expand_value, _nb, _neg_axes, _shape, _ub, sum_to
from ..backend import array_of, is_chunked, is_foreign, maybe_any, xp
from ..errors import GradkitError
from ..graph import batch_traces, defprimitive, nondifferentiable, plain, raw, rebatch
from ..ops import (
    exp,
    expand_dims,
    sign,
    sum,
)

__all__ = [
    "expit", "logit", "log_expit",
    "erf", "erfc", "erfcx", "erfinv", "erfcinv",
    "ndtr", "log_ndtr", "ndtri", "ndtri_exp",
    "gamma", "gammaln", "loggamma", "rgamma", "gammasgn", "digamma", "psi", "polygamma",
    "multigammaln", "beta", "betaln", "gammainc", "gammaincc", "betainc", "betaincc",
    "xlogy", "xlog1py", "entr", "rel_entr", "kl_div",
    "exp1", "expi",
    "i0", "i0e", "i1", "i1e", "iv", "ive", "j0", "j1", "jv", "jn", "y0", "y1", "yv", "yn",
    "k0", "k1", "kv",
    "logsumexp", "softmax", "log_softmax",
]

_SQRT_PI = math.sqrt(math.pi)
_2_OVER_SQRT_PI = 2.0 / _SQRT_PI
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_IV_TINY = 1e-300


def _float_dtype(*args):
    """The float dtype NumPy gives these arguments (Python numbers are weak: float32 stays)."""
    args = [plain(a) for a in args]  # plain: a vmap batch has its examples' dtype
    return xp.result_type(*[a if isinstance(a, int | float) else array_of(a) for a in args],
                          1.0)


def _keep(out, dtype):
    if out.dtype != dtype:
        return out.astype(dtype)
    return out


def _special(fn, name: str, *rules, dtype_args=None, doc: str = ""):
    """A primitive computing SciPy's ``fn``; its value has the float dtype of the arguments
    at ``dtype_args`` (all by default), since some SciPy functions return float64 always."""

    def fwd(*args):
        # SciPy's Python-level functions (polygamma, logsumexp...) use NumPy operations
        # that warn where SciPy's documented value is an infinity or a NaN.
        with xp.errstate(all="ignore"):
            out = fn(*args)
        picked = args if dtype_args is None else [args[i] for i in dtype_args]
        return _keep(array_of(out) if not hasattr(out, "dtype") else out,
                     _float_dtype(*picked))

    fwd.__name__ = name
    p = defprimitive(fwd, name, *rules)
    p.__doc__ = doc or f"Differentiable ``scipy.special.{name}``."
    return p


def _constant(name: str, arg: str):
    """The rule of an argument that must stay constant (an order, a shape parameter)."""

    def rule(g, ans, *args, **kw):
        raise GradkitError(
            f"gradkit.scipy.special.{name}: no derivative with respect to {arg}; "
            f"{arg} must be a constant (not a value that depends on the differentiated inputs)"
        )

    return rule


# -- a division for derivatives that are infinite at a domain's edge ----------------------


def _xdivy_fwd(x, y):
    with xp.errstate(divide="ignore", invalid="ignore"):
        out = xp.divide(x, y)
    zero = xp.equal(x, 0) & xp.equal(y, 0)
    if maybe_any(zero):
        out = xp.where(zero, 0, out)
    return out


def _mul0_fwd(x, y):
    with xp.errstate(invalid="ignore"):
        out = xp.multiply(x, y)
    if maybe_any(xp.isnan(out)):
        out = xp.where(xp.equal(x, 0) | xp.equal(y, 0), 0, out)
    return out


def _xdivy_rule_y(g, ans, x, y):
    return _ub(-_mul0(_xdivy(_xdivy(g, y), y), x), g, ans, y)


# x / y with 0 / 0 = 0, and x * y with 0 * inf = 0: a rule ``_xdivy(g, d)`` or ``_mul0(g,
# d)`` gives 0 where the cotangent ``g`` is 0 and an honest infinity where the derivative
# ``d`` is infinite, never NaN (a Jacobian pushes basis vectors, zero almost everywhere,
# through the edge of a domain). Their own rules keep that property in both arguments, so
# forward mode (which transposes the rules) and higher orders keep it too.
_xdivy = defprimitive(_xdivy_fwd, "xdivy",
                      lambda g, ans, x, y: _ub(_xdivy(g, y), g, ans, x), _xdivy_rule_y)
_mul0 = defprimitive(_mul0_fwd, "mul0",
                     lambda g, ans, x, y: _ub(_mul0(g, y), g, ans, x),
                     lambda g, ans, x, y: _ub(_mul0(g, x), g, ans, y))


# -- logistic -----------------------------------------------------------------------------

expit = _special(
    _sc.expit, "expit",
    # expit' = expit(x) expit(-x): no cancellation in 1 - expit(x) for large x
    lambda g, ans, x: g * (ans * expit(-x)),
    doc="""Logistic sigmoid ``1 / (1 + exp(-x))`` (``scipy.special.expit``).

Examples
--------
>>> import gradkit as gk
>>> from gradkit.scipy.special import expit
>>> float(gk.grad(expit)(0.0))
0.25
""")
logit = _special(
    _sc.logit, "logit",
    lambda g, ans, x: _xdivy(g, x * (1 - x)),
    doc="""``log(p / (1 - p))`` (``scipy.special.logit``); ``-inf`` and ``inf`` at 0 and 1,
whose derivative is ``inf`` there.

Examples
--------
>>> import gradkit as gk
>>> from gradkit.scipy.special import logit
>>> float(gk.grad(logit)(0.5)), float(gk.grad(logit)(0.0))
(4.0, inf)
""")
log_expit = _special(
    _sc.log_expit, "log_expit", lambda g, ans, x: g * expit(-x),
    doc="Differentiable ``scipy.special.log_expit``: ``log(expit(x))``, accurate for any x.")


# -- error function and normal distribution ------------------------------------------------

erf = _special(
    _sc.erf, "erf", lambda g, ans, x: g * (_2_OVER_SQRT_PI * exp(-(x * x))),
    doc="""The error function (``scipy.special.erf``); ``erf'(x) = 2 exp(-x**2) / sqrt(pi)``.

Examples
--------
>>> import gradkit as gk
>>> from gradkit.scipy.special import erf
>>> float(gk.grad(erf)(0.0))
1.1283791670955126
""")
erfc = _special(
    _sc.erfc, "erfc", lambda g, ans, x: g * (-_2_OVER_SQRT_PI * exp(-(x * x))),
    doc="Differentiable ``scipy.special.erfc``: ``1 - erf(x)``, accurate for large x.")
erfcx = _special(
    _sc.erfcx, "erfcx", lambda g, ans, x: g * (2.0 * x * ans - _2_OVER_SQRT_PI),
    doc="Differentiable ``scipy.special.erfcx``: ``exp(x**2) * erfc(x)``.")
# 1 / erf'(erfinv(x)), as a division so that it is +inf (not NaN, no warning) at x = +-1
erfinv = _special(
    _sc.erfinv, "erfinv", lambda g, ans, x: _xdivy(g, _2_OVER_SQRT_PI * exp(-(ans * ans))),
    doc="""Inverse of ``erf`` (``scipy.special.erfinv``); ``+-inf`` at ``+-1``, where the
derivative is ``inf``.

Examples
--------
>>> import gradkit as gk
>>> from gradkit.scipy.special import erfinv
>>> float(gk.grad(erfinv)(0.0)), float(gk.grad(erfinv)(1.0))
(0.886226925452758, inf)
""")
erfcinv = _special(
    _sc.erfcinv, "erfcinv",
    lambda g, ans, x: -_xdivy(g, _2_OVER_SQRT_PI * exp(-(ans * ans))),
    doc="Differentiable ``scipy.special.erfcinv``: inverse of ``erfc``, on [0, 2].")
ndtr = _special(
    _sc.ndtr, "ndtr", lambda g, ans, x: g * (exp(x * x * -0.5) / _SQRT_2PI),
    doc="""Standard normal CDF (``scipy.special.ndtr``).

Examples
--------
>>> import gradkit as gk
>>> from gradkit.scipy.special import ndtr
>>> float(ndtr(0.0)), round(float(gk.grad(ndtr)(0.0)), 12)  # 1 / sqrt(2 pi)
(0.5, 0.398942280401)
""")
log_ndtr = _special(
    _sc.log_ndtr, "log_ndtr",
    # pdf / cdf in log space: finite and accurate far into the left tail
    lambda g, ans, x: g * (exp(x * x * -0.5 - ans) / _SQRT_2PI),
    doc="""Log of the standard normal CDF (``scipy.special.log_ndtr``), accurate in the tails;
its derivative ``pdf(x) / cdf(x)`` is computed in log space (no underflow to 0 / 0).

Examples
--------
>>> import gradkit as gk
>>> from gradkit.scipy.special import log_ndtr
>>> round(float(gk.grad(log_ndtr)(-40.0)), 6)  # ~ -x for x -> -inf
40.024969
""")
ndtri = _special(
    _sc.ndtri, "ndtri", lambda g, ans, x: _xdivy(g, exp(ans * ans * -0.5) / _SQRT_2PI),
    doc="Differentiable ``scipy.special.ndtri``: inverse of ``ndtr``; the derivative is "
        "``inf`` at 0 and 1.")
ndtri_exp = _special(
    _sc.ndtri_exp, "ndtri_exp",
    # y = ndtri_exp(x) solves log_ndtr(y) = x: dy/dx = 1 / log_ndtr'(y) = cdf(y) / pdf(y)
    lambda g, ans, x: g * (_SQRT_2PI * exp(x + ans * ans * 0.5)),
    doc="Differentiable ``scipy.special.ndtri_exp``: inverse of ``log_ndtr``.")


# -- gamma and beta functions ---------------------------------------------------------------

digamma = _special(
    _sc.digamma, "digamma", lambda g, ans, x: g * polygamma(1, x),
    doc="""The digamma function ``psi`` (``scipy.special.digamma``); its derivative is
``polygamma(1, x)``.

Examples
--------
>>> import gradkit as gk
>>> from gradkit.scipy.special import digamma
>>> round(float(gk.grad(digamma)(1.0)), 12)  # pi**2 / 6
1.644934066848
""")
psi = digamma


def _polygamma_rule(g, ans, n, x):
    return _ub(g * polygamma(raw(n) + 1, x), g, ans, x)


def _polygamma(n, x):
    if is_chunked(x) or is_chunked(n):
        # SciPy's own formula, with ufuncs that Dask maps lazily (its polygamma converts)
        fac = (-1.0) ** (n + 1) * _sc.gamma(n + 1.0) * _sc.zeta(n + 1, x)
        return xp.where(n == 0, _sc.psi(x), fac)
    return _sc.polygamma(n, x)


polygamma = _special(
    _polygamma, "polygamma", _constant("polygamma", "the order n"), _polygamma_rule,
    dtype_args=(1,),
    doc="""``polygamma(n, x)``, the n-th derivative of ``digamma`` (``scipy.special.polygamma``).

The order ``n`` (integers >= 0) is a constant; the derivative in ``x`` is
``polygamma(n + 1, x)``.

Examples
--------
>>> import gradkit as gk
>>> from gradkit.scipy.special import polygamma
>>> x = 2.5
>>> bool(gk.grad(lambda x: polygamma(2, x))(x) == polygamma(3, x))
True
""")
gamma = _special(
    _sc.gamma, "gamma", lambda g, ans, x: g * (ans * digamma(x)),
    doc="""The gamma function (``scipy.special.gamma``); ``gamma' = gamma * digamma``.

Examples
--------
>>> import gradkit as gk
>>> from gradkit.scipy.special import gamma
>>> round(float(gk.grad(gamma)(1.0)), 12)  # -Euler's constant
-0.577215664902
""")
gammaln = _special(
    _sc.gammaln, "gammaln", lambda g, ans, x: g * digamma(x),
    doc="""Log of the absolute value of the gamma function (``scipy.special.gammaln``);
its derivative is ``digamma``.

Examples
--------
>>> import gradkit as gk
>>> from gradkit.scipy.special import gammaln
>>> float(gk.grad(gammaln)(1.0))
-0.5772156649015329
""")
loggamma = _special(
    _sc.loggamma, "loggamma", lambda g, ans, x: g * digamma(x),
    doc="Differentiable ``scipy.special.loggamma`` for real x > 0 (equals ``gammaln`` there).")
rgamma = _special(
    _sc.rgamma, "rgamma", lambda g, ans, x: g * (-ans * digamma(x)),
    doc="Differentiable ``scipy.special.rgamma``: ``1 / gamma(x)``; the derivative is "
        "``-rgamma(x) * digamma(x)`` (NaN at the poles of digamma, 0, -1, -2...).")
gammasgn = nondifferentiable(_sc.gammasgn, "gammasgn")
gammasgn.__doc__ = "Sign of the gamma function (``scipy.special.gammasgn``); no gradient."


def _multigammaln_rule(g, ans, a, d):
    offsets = xp.arange(int(d), dtype=_float_dtype(a)) / 2
    return g * sum(digamma(expand_dims(a, -1) - offsets), axis=-1)


multigammaln = _special(
    _sc.multigammaln, "multigammaln", _multigammaln_rule, _constant("multigammaln", "d"),
    dtype_args=(0,),
    doc="""Log of the multivariate gamma function of dimension ``d``
(``scipy.special.multigammaln``); ``d`` is a constant integer. The derivative in ``a`` is
``sum(digamma(a - j / 2) for j in range(d))``.""")


def _beta_rules(scaled: bool):
    def rule_a(g, ans, a, b):
        d = digamma(a) - digamma(a + b)
        return _ub(g * (ans * d if scaled else d), g, ans, a)

    def rule_b(g, ans, a, b):
        d = digamma(b) - digamma(a + b)
        return _ub(g * (ans * d if scaled else d), g, ans, b)

    return rule_a, rule_b


beta = _special(
    _sc.beta, "beta", *_beta_rules(True),
    doc="Differentiable ``scipy.special.beta``: ``gamma(a) gamma(b) / gamma(a + b)``.")
betaln = _special(
    _sc.betaln, "betaln", *_beta_rules(False),
    doc="Differentiable ``scipy.special.betaln``: ``log(abs(beta(a, b)))``.")


def _gammainc_density(a, x):
    # x**(a - 1) exp(-x) / gamma(a), in log space; xlogy keeps x = 0, a = 1 at exactly 1
    return exp(xlogy(a - 1, x) - x - gammaln(a))


def _betainc_density(a, b, x):
    return exp(xlogy(a - 1, x) + xlog1py(b - 1, -x) - betaln(a, b))


gammainc = _special(
    _sc.gammainc, "gammainc", _constant("gammainc", "a"),
    lambda g, ans, a, x: _ub(g * _gammainc_density(a, x), g, ans, x),
    doc="Differentiable (in ``x`` only) ``scipy.special.gammainc``: the regularized lower "
        "incomplete gamma function; ``a`` is a constant.")
gammaincc = _special(
    _sc.gammaincc, "gammaincc", _constant("gammaincc", "a"),
    lambda g, ans, a, x: _ub(-g * _gammainc_density(a, x), g, ans, x),
    doc="Differentiable (in ``x`` only) ``scipy.special.gammaincc``: ``1 - gammainc``; ``a`` "
        "is a constant.")
betainc = _special(
    _sc.betainc, "betainc", _constant("betainc", "a"), _constant("betainc", "b"),
    lambda g, ans, a, b, x: _ub(g * _betainc_density(a, b, x), g, ans, x),
    doc="Differentiable (in ``x`` only) ``scipy.special.betainc``: the regularized "
        "incomplete beta function; ``a`` and ``b`` are constants.")
betaincc = _special(
    _sc.betaincc, "betaincc", _constant("betaincc", "a"), _constant("betaincc", "b"),
    lambda g, ans, a, b, x: _ub(-g * _betainc_density(a, b, x), g, ans, x),
    doc="Differentiable (in ``x`` only) ``scipy.special.betaincc``: ``1 - betainc``; ``a`` "
        "and ``b`` are constants.")


# -- x log y and entropies ---------------------------------------------------------------------

xlogy = _special(
    _sc.xlogy, "xlogy",
    # xlogy(g, y) is g * log(y) with 0 where g is 0: a zero cotangent stays 0 at y = 0
    lambda g, ans, x, y: _ub(xlogy(g, y), g, ans, x),
    lambda g, ans, x, y: _ub(_mul0(g, _xdivy(x, y)), g, ans, y),
    doc="""``x * log(y)``, 0 where ``x == 0`` (``scipy.special.xlogy``).

The derivative in ``x`` is ``log(y)`` (``-inf`` at ``y == 0``); in ``y`` it is ``x / y``,
0 where ``x == 0`` since ``xlogy(0, y)`` is 0 for every ``y``.

Examples
--------
>>> import gradkit as gk
>>> from gradkit.scipy.special import xlogy
>>> float(xlogy(0.0, 0.0)), float(gk.grad(xlogy, argnums=1)(0.0, 0.0))
(0.0, 0.0)
""")
xlog1py = _special(
    _sc.xlog1py, "xlog1py",
    lambda g, ans, x, y: _ub(xlog1py(g, y), g, ans, x),
    lambda g, ans, x, y: _ub(_mul0(g, _xdivy(x, y + 1)), g, ans, y),
    doc="Differentiable ``scipy.special.xlog1py``: ``x * log1p(y)``, 0 where ``x == 0``; "
        "the derivative in ``y`` is 0 there.")
entr = _special(
    _sc.entr, "entr",
    lambda g, ans, x: -(xlogy(g, x) + g),
    doc="""``-x * log(x)``, 0 at 0 and ``-inf`` for ``x < 0`` (``scipy.special.entr``).

The derivative ``-log(x) - 1`` is ``+inf`` at 0 (the one-sided limit, returned without a
warning) and NaN for ``x < 0``.

Examples
--------
>>> import gradkit as gk
>>> from gradkit.scipy.special import entr
>>> float(entr(0.0)), float(gk.grad(entr)(0.0)), float(gk.grad(entr)(1.0))
(0.0, inf, -1.0)
""")
rel_entr = _special(
    _sc.rel_entr, "rel_entr",
    lambda g, ans, x, y: _ub(xlogy(g, x) - xlogy(g, y) + g, g, ans, x),
    lambda g, ans, x, y: _ub(-_mul0(g, _xdivy(x, y)), g, ans, y),
    doc="Differentiable ``scipy.special.rel_entr``: ``x log(x / y)`` for ``x, y > 0``, 0 "
        "at ``x == 0``; the derivative in ``y`` is 0 where ``x == 0``.")
kl_div = _special(
    _sc.kl_div, "kl_div",
    lambda g, ans, x, y: _ub(xlogy(g, x) - xlogy(g, y), g, ans, x),
    lambda g, ans, x, y: _ub(g - _mul0(g, _xdivy(x, y)), g, ans, y),
    doc="Differentiable ``scipy.special.kl_div``: ``x log(x / y) - x + y`` for ``x, y > 0``.")


# -- exponential integrals --------------------------------------------------------------------

exp1 = _special(
    _sc.exp1, "exp1", lambda g, ans, x: -_xdivy(g * exp(-x), x),
    doc="Differentiable ``scipy.special.exp1`` (x > 0); ``exp1'(x) = -exp(-x) / x``.")
expi = _special(
    _sc.expi, "expi", lambda g, ans, x: _xdivy(g * exp(x), x),
    doc="Differentiable ``scipy.special.expi`` (real x); ``expi'(x) = exp(x) / x``.")


# -- Bessel functions ---------------------------------------------------------------------------

i0 = _special(_sc.i0, "i0", lambda g, ans, x: g * i1(x),
              doc="Differentiable ``scipy.special.i0``; ``i0' = i1``.")
i1 = _special(_sc.i1, "i1", lambda g, ans, x: g * ((i0(x) + iv(2, x)) * 0.5),
              doc="Differentiable ``scipy.special.i1``; ``i1' = (i0 + iv(2, .)) / 2``.")
i0e = _special(_sc.i0e, "i0e", lambda g, ans, x: g * (i1e(x) - sign(x) * ans),
               doc="Differentiable ``scipy.special.i0e``: ``exp(-abs(x)) i0(x)``.")


def _ive2(x):
    """``ive(2, x)``, and its limit 0 at infinite ``x`` (where SciPy's gives NaN while
    its i0e and i1e give 0)."""
    infinite = xp.isinf(plain(x))
    return _ops.where(infinite, 0.0, ive(2, x)) if maybe_any(infinite) else ive(2, x)


i1e = _special(
    _sc.i1e, "i1e", lambda g, ans, x: g * ((i0e(x) + _ive2(x)) * 0.5 - sign(x) * ans),
    doc="Differentiable ``scipy.special.i1e``: ``exp(-abs(x)) i1(x)``.")
j0 = _special(_sc.j0, "j0", lambda g, ans, x: -g * j1(x),
              doc="Differentiable ``scipy.special.j0``; ``j0' = -j1``.")
j1 = _special(_sc.j1, "j1", lambda g, ans, x: g * ((j0(x) - jv(2, x)) * 0.5),
              doc="Differentiable ``scipy.special.j1``; ``j1' = (j0 - jv(2, .)) / 2``.")
y0 = _special(_sc.y0, "y0", lambda g, ans, x: -g * y1(x),
              doc="Differentiable ``scipy.special.y0``; ``y0' = -y1``.")
y1 = _special(_sc.y1, "y1", lambda g, ans, x: g * ((y0(x) - yv(2, x)) * 0.5),
              doc="Differentiable ``scipy.special.y1``; ``y1' = (y0 - yv(2, .)) / 2``.")
k0 = _special(_sc.k0, "k0", lambda g, ans, x: -g * k1(x),
              doc="Differentiable ``scipy.special.k0``; ``k0' = -k1``.")
k1 = _special(_sc.k1, "k1", lambda g, ans, x: g * ((k0(x) + kv(2, x)) * -0.5),
              doc="Differentiable ``scipy.special.k1``; ``k1' = -(k0 + kv(2, .)) / 2``.")


def _order_family(fn, name: str, combine):
    """A Bessel function of order ``v`` (a constant) whose derivative combines orders
    ``v - 1`` and ``v + 1``."""

    def rule(g, ans, v, x):
        v = raw(v)
        return _ub(g * combine(prim(v - 1, x), prim(v + 1, x), ans, x), g, ans, x)

    prim = _special(
        fn, name, _constant(name, "the order v"), rule, dtype_args=(1,),
        doc=f"Differentiable (in ``x``; the order ``v`` is a constant) "
            f"``scipy.special.{name}``.")
    return prim


def _iv(v, x):
    out = _sc.iv(v, x)
    # SciPy's iv gives NaN for some x below ~1e-305; there exp(-|x|) rounds to 1, so its
    # ive is iv exactly
    odd = xp.isnan(out) & (xp.abs(x) < _IV_TINY) & (x != 0)
    return xp.where(odd, _sc.ive(v, x), out) if maybe_any(odd) else out


iv = _order_family(_iv, "iv", lambda lo, hi, ans, x: (lo + hi) * 0.5)
ive = _order_family(_sc.ive, "ive", lambda lo, hi, ans, x: (lo + hi) * 0.5 - sign(x) * ans)
jv = _order_family(_sc.jv, "jv", lambda lo, hi, ans, x: (lo - hi) * 0.5)
jn = jv  # SciPy's jn is jv
yv = _order_family(_sc.yv, "yv", lambda lo, hi, ans, x: (lo - hi) * 0.5)
yn = _order_family(_sc.yn, "yn", lambda lo, hi, ans, x: (lo - hi) * 0.5)
kv = _order_family(_sc.kv, "kv", lambda lo, hi, ans, x: (lo + hi) * -0.5)


# -- softmax and logsumexp -----------------------------------------------------------------------


def _axis_for_scipy(x, axes):
    # SciPy treats axis=() of a 0-d array as one more axis; None is the whole (scalar) array
    return None if xp.ndim(x) == 0 else axes


# SciPy would convert Dask or CuPy arrays to NumPy: gradkit's own stable formulas (NumPy
# calls that dispatch to the array's library) compute them instead.
_softmax = _special(
    lambda x, axes: _ops._softmax_fwd(x, axes) if is_foreign(x) else
    _sc.softmax(x, axis=_axis_for_scipy(x, axes)), "softmax",
    lambda g, ans, x, axes: ans * (g - sum(g * ans, axis=axes, keepdims=True)),
    dtype_args=(0,))
_log_softmax = _special(
    lambda x, axes: _ops._log_softmax_fwd(x, axes) if is_foreign(x) else
    _sc.log_softmax(x, axis=_axis_for_scipy(x, axes)), "log_softmax",
    lambda g, ans, x, axes: g - exp(ans) * sum(g, axis=axes, keepdims=True),
    dtype_args=(0,))


def softmax(x, axis=None):
    """Softmax over ``axis`` (``scipy.special.softmax``: all elements when ``axis`` is None).

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.scipy.special import softmax
    >>> softmax(np.array([0.0, 0.0]))
    array([0.5, 0.5])
    """
    return _softmax(x, _neg_axes(axis, xp.ndim(raw(x)), "softmax"))


def log_softmax(x, axis=None):
    """Log of the softmax over ``axis`` (``scipy.special.log_softmax``)."""
    return _log_softmax(x, _neg_axes(axis, xp.ndim(raw(x)), "log_softmax"))


def _lse_rule(g, ans, a, axes, keepdims):
    # a row of -inf has softmax NaN (log 0 has no slope): a zero cotangent still gives 0
    return _mul0(_expand(g, ans, _shape(a), axes, keepdims), _softmax(a, axes))


def _lse_fwd(a, axes, keepdims, b=None, signed=False, part=0):
    """SciPy's logsumexp; with ``signed``, part 0 of its (log|s|, sign) pair, or part 1."""
    if b is None and not signed and is_foreign(a):
        return _ops._logsumexp_fwd(a, axes, keepdims)
    if xp.size(a) == 0 or (b is not None and xp.size(b) == 0):
        return _lse_of_empty(a, axes, keepdims, b, signed, part)
    scalar = xp.ndim(a) == 0 and (b is None or xp.ndim(b) == 0)
    out = _sc.logsumexp(a, axis=None if scalar else axes, b=b, keepdims=keepdims,
                        return_sign=signed)
    if signed:
        out = out[part]
    if keepdims and scalar:
        out = xp.reshape(out, ())  # SciPy gives shape (1,) here; NumPy's keepdims keeps ()
    return out


def _lse_of_empty(a, axes, keepdims, b, signed, part):
    """logsumexp of an empty array (SciPy's fails on some): NumPy's sum, of no terms where
    an axis summed over is empty (log 0 = -inf, sign 0)."""
    terms = xp.exp(a) if b is None else xp.exp(a) * b
    s = xp.sum(terms, axis=axes, keepdims=keepdims)
    if signed and part == 1:
        return xp.sign(s)
    with xp.errstate(divide="ignore"):
        return xp.log(xp.abs(s))


def _lse_sign(a, b, axes, keepdims):
    """The sign of ``s = sum(b * exp(a))``: piecewise constant, computed on plain values
    (inside vmap, on the whole batch at once: its axes lead, ``axes`` count from the end)."""
    dtype = _float_dtype(a, *([] if b is None else [b]))
    ta, tb = batch_traces(a), () if b is None else batch_traces(b)
    if not (ta or tb):
        with xp.errstate(all="ignore"):
            sgn = _lse_fwd(raw(a), axes, keepdims, None if b is None else raw(b), True, 1)
        return _keep(array_of(sgn), dtype)
    if ta and tb and ta != tb:
        raise GradkitError("logsumexp: the sign of a sum whose a and b are batched by two "
                           "different vmaps is not supported; map both with one vmap")
    nd = len(xp.broadcast_shapes(_shape(a), () if b is None else _shape(b)))
    pa, pb = _aligned(a, nd), None if b is None else _aligned(b, nd)
    with xp.errstate(all="ignore"):
        sgn = _lse_fwd(pa, axes, keepdims, pb, True, 1)
    return rebatch(_keep(array_of(sgn), dtype), a if ta else b)


def _aligned(x, nd: int):
    """The plain array of ``x``, its batch axes in front, then one example's axes padded
    with ones on the left to ``nd`` (as broadcasting one example would)."""
    p, k = plain(x), len(batch_traces(x))
    shape = xp.shape(p)
    return xp.reshape(p, shape[:k] + (1,) * (nd - len(shape) + k) + shape[k:])


_lse = _special(_lse_fwd, "logsumexp", _lse_rule, dtype_args=(0,))


def _lse_b_weights(g, ans, a, b, axes, keepdims):
    """The cotangent broadcast over the summed axes, times ``sign(s) exp(a - log|s|)``
    (``s = sum(b exp(a))``), in the broadcast shape of ``a`` and ``b``."""
    full = xp.broadcast_shapes(_shape(a), _shape(b))
    sgn = _lse_sign(a, b, axes, True)
    # exp(a - ans) is +inf where the weighted sum cancels to 0 (an infinite slope of log|s|),
    # NaN where a and the sum are both -inf
    with xp.errstate(invalid="ignore", over="ignore"):
        w = exp(a - _expand_value(ans, full, axes, keepdims)) * sgn
    return _mul0(_expand(g, ans, full, axes, keepdims), w)


def _lse_b_rule_a(g, ans, a, b, axes, keepdims, signed):
    ct = _mul0(_lse_b_weights(g, ans, a, b, axes, keepdims), b)
    return sum_to(ct, _nb(g, ans), _shape(a))


def _lse_b_rule_b(g, ans, a, b, axes, keepdims, signed):
    return sum_to(_lse_b_weights(g, ans, a, b, axes, keepdims), _nb(g, ans), _shape(b))


# With ``signed``, the value is log|s| (SciPy's return_sign=True); without, NaN where s < 0.
_lse_b = _special(
    lambda a, b, axes, keepdims, signed: _lse_fwd(a, axes, keepdims, b, signed), "logsumexp",
    _lse_b_rule_a, _lse_b_rule_b, dtype_args=(0, 1))


def logsumexp(a, axis=None, b=None, keepdims: bool = False, return_sign: bool = False):
    """``log(abs(sum(b * exp(a))))`` over ``axis``, without overflow (``scipy.special.logsumexp``).

    Parameters
    ----------
    a : array_like
    axis : int or tuple of ints, optional
        Axes to sum over (all when None).
    b : array_like, optional
        Weights, broadcast against ``a``; differentiable too. Negative weights are
        allowed: the result is then the log of the absolute value of the sum.
    keepdims : bool, default False
    return_sign : bool, default False
        Also return the sign of the sum (a constant, with no gradient).

    Returns
    -------
    res : Tensor or ndarray
    sgn : ndarray
        Only with ``return_sign=True``.

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit as gk
    >>> from gradkit.scipy.special import logsumexp
    >>> float(logsumexp(np.array([1e308, 1e308])))
    1e+308
    >>> gk.grad(lambda a: logsumexp(a, b=np.array([2.0, -1.0])))(np.zeros(2))
    array([ 2., -1.])
    """
    ra = raw(a)
    if b is None:
        axes = _neg_axes(axis, xp.ndim(ra), "logsumexp")
        out = _lse(a, axes, keepdims)
    else:
        axes = _neg_axes(axis, len(xp.broadcast_shapes(xp.shape(ra), xp.shape(raw(b)))),
                         "logsumexp")
        out = _lse_b(a, b, axes, keepdims, return_sign)
    if not return_sign:
        return out
    return out, _lse_sign(a, b, axes, keepdims)


# The primitives' examples live in their ``__doc__``, which doctest does not find on its own
__test__ = {name: obj.__doc__ for name, obj in list(globals().items())
            if name in __all__ and hasattr(obj, "fwd") and ">>>" in (obj.__doc__ or "")}

from ..batching import give_rules  # noqa: E402  (vmap's rules for the primitives above)

give_rules(globals())
