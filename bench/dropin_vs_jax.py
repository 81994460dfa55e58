"""Cross-check gradkit.numpy / gradkit.scipy against JAX, one program text for both.

Run with ``python bench/dropin_vs_jax.py`` (about 3 minutes; ``--quick``, about 1 minute:
one random input per check instead of three, and only gradkit timed). JAX lives in the
benchmark environment::

    .venv-bench/bin/pip install jax
    .venv-bench/bin/python bench/dropin_vs_jax.py

Each check is a program ``prog(np, x)`` of one flat float64 vector ``x`` (slices of it
are the traced arguments: ``loc`` and ``scale``, weights, endpoints...) that returns a
scalar. It runs with ``np`` = gradkit.numpy and with ``np`` = jax.numpy (with
``jax_enable_x64``); ``np.special`` and ``np.norm`` are gradkit.scipy.special /
jax.scipy.special and the two ``stats.norm``. Vector results are made scalar by
``S(np, y) = sum(sin(w * y))`` with fixed weights ``w``, so the Hessian sees every
output. At three seeded random inputs (away from ties, kinks and poles) and at the
special points a check lists (zero factors, singular matrices, repeated eigenvalues,
``sinc(0)``, ``xlogy(0, y)``...), the value, the gradient (``gk.grad`` vs ``jax.grad``)
and the Hessian (``gk.hessian`` vs ``jax.hessian``; a Hessian-vector product for inputs
over 40 entries) are compared by the max difference relative to the leaf's max-abs.

Status: ``OK`` (every difference within the check's tolerance: 1e-10, or the one listed
for an iterative special function), ``DIFF`` (a disagreement; details and a float64
finite-difference verdict under the table), ``CONVENTION`` (a documented difference: a
tie, a sign or symmetrization convention, JAX lacking the function or the keyword, in
which case gradkit is compared with NumPy/SciPy's value and central differences of it
instead), ``ERROR`` (gradkit raised). The same program runs on NumPy/SciPy too: that is
the reference for values and for the finite differences.

Timing: one gradient call at the first random input, median of repeated calls, one
thread: gradkit, JAX eager (op-by-op dispatch, ``jax.grad(f)(x)`` each call) and JAX
``jax.jit(jax.grad(f))``. No assertion is made on times.
"""

import _harness

_harness.prepare_environment()  # before NumPy or JAX is imported

import math  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import numpy as onp  # noqa: E402  (``np`` is the library a program runs with)

from _harness import TimingConfig, fmt_ms, fmt_ratio, median_ms  # noqa: E402

IMPORT_ERRORS: dict[str, str] = {}

try:
    import scipy.special
    import scipy.stats
except ImportError as exc:
    scipy = None
    IMPORT_ERRORS["SciPy"] = repr(exc)

try:
    import jax
    import jax.numpy as jnp
    import jax.scipy.special
    import jax.scipy.stats

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_platforms", "cpu")
except ImportError as exc:
    jax = None
    IMPORT_ERRORS["JAX"] = repr(exc)

try:
    import gradkit as gk
    import gradkit.numpy as gnp
    import gradkit.scipy.special
    import gradkit.scipy.stats
except Exception as exc:  # report any failure of a half-written package
    gk = None
    IMPORT_ERRORS["gradkit"] = "".join(traceback.format_exception_only(exc)).strip()

FULL_TIMING = TimingConfig(min_time=0.03, min_repeats=3, max_repeats=200, warmup_time=0.0,
                           min_warmup=1)
QUICK_TIMING = TimingConfig(min_time=0.005, min_repeats=3, max_repeats=20, warmup_time=0.0,
                            min_warmup=1)
HVP_ABOVE = 40  # inputs with more entries compare Hessian-vector products
SPECIAL_TOL = 1e-9  # iterative / series special functions (JAX's own implementations)


# --------------------------------------------------------------------------------------
# The libraries a program runs with
# --------------------------------------------------------------------------------------


class Lib:
    """A NumPy-like module plus ``special`` and ``norm`` (stats.norm) attributes."""

    def __init__(self, name: str, module, special, norm) -> None:
        self.name, self._module, self.special, self.norm = name, module, special, norm

    def __getattr__(self, attr: str):
        return getattr(self._module, attr)


GKLIB = Lib("gradkit", gnp, gradkit.scipy.special, gradkit.scipy.stats.norm) if gk else None
JAXLIB = Lib("JAX", jnp, jax.scipy.special, jax.scipy.stats.norm) if jax else None
REFLIB = Lib("NumPy", onp, scipy.special, scipy.stats.norm) if scipy else None


def S(np, y):
    """A nonlinear scalar of every entry of ``y`` (so Hessians see each output)."""
    y = np.ravel(y)
    return np.sum(np.sin(np.linspace(0.6, 1.4, y.shape[0]) * y))


# --------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------


@dataclass
class Point:
    label: str
    x: onp.ndarray
    conv: str = ""  # a difference here is a CONVENTION, for this reason
    order: int = 2  # 1: the Hessian is not compared (undefined there)


@dataclass
class Check:
    name: str
    prog: Callable
    draw: Callable  # rng -> x
    points: tuple = ()
    tol: float = 1e-10
    conv: str = ""  # a difference anywhere is a CONVENTION, for this reason
    # filled in by run_check
    status: str = ""
    errs: dict = field(default_factory=lambda: {"value": 0.0, "grad": 0.0, "hess": 0.0})
    peer: str = "JAX"
    times: dict = field(default_factory=dict)


def arr(*values) -> onp.ndarray:
    return onp.asarray(values, dtype=onp.float64)


def normal(n: int, scale: float = 1.0) -> Callable:
    return lambda rng: rng.standard_normal(n) * scale


def uniform(n: int, lo: float, hi: float) -> Callable:
    return lambda rng: rng.uniform(lo, hi, n)


def distinct(n: int) -> Callable:
    """Values in [-2, 2] at least 4/(5n) apart: no ties, no exact quantile positions."""
    return lambda rng: (rng.permutation(n) + rng.uniform(0.1, 0.9, n)) * (4.0 / n) - 2.0


def cat(*draws: Callable | onp.ndarray) -> Callable:
    return lambda rng: onp.concatenate([d(rng) if callable(d) else d for d in draws])


def away(draw: Callable, bad: Callable, margin: float) -> Callable:
    """Redraw until ``bad(x)`` (a distance to the nearest kink) exceeds ``margin``."""
    def drawn(rng):
        while True:
            x = draw(rng)
            if onp.min(bad(x)) > margin:
                return x
    return drawn


def sym(np, x, n: int):
    m = np.reshape(x[: n * n], (n, n))
    return (m + m.T) / 2


def spd(np, x, n: int):
    m = np.reshape(x[: n * n], (n, n))
    return m @ m.T + np.eye(n)


def well(np, x, n: int, k: int | None = None):
    """An ``n x k`` matrix from ``x`` plus 3 on the diagonal (well conditioned)."""
    k = n if k is None else k
    return np.reshape(x[: n * k], (n, k)) + 3.0 * np.eye(n, k)


QS = onp.array([0.07, 0.37, 0.5, 0.83, 1.0])  # arrays: JAX refuses lists
Q2 = onp.array([0.3, 0.8])
PCTS = onp.array([12.0, 55.0, 91.0])
FWEIGHTS = onp.array([1, 2, 1, 3, 1])
QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest", "inverted_cdf",
                    "hazen", "weibull", "median_unbiased")
NAN_AT = onp.array([False, True, False, False, False, True, False, False])
INF_AT = onp.array([False, False, True, False, False, False, False, False])
NINF_AT = onp.array([False, False, False, False, False, False, True, False])


TIE = "ties: which of the tied elements gets the gradient"


def with_nan(np, x):
    return np.where(NAN_AT, np.nan, x)


def statistics_checks() -> list[Check]:
    C = []
    C.append(Check("median (9)", lambda np, x: S(np, np.median(x)), distinct(9),
                   (Point("tie at the median", arr(0.3, -1.0, 0.3, 2.0, 1.1, -0.4, 0.3, 0.9,
                                                   -2.0), conv=TIE),)))
    C.append(Check("median (10)", lambda np, x: S(np, np.median(x)), distinct(10)))
    C.append(Check("median axis=1", lambda np, x: S(np, np.median(np.reshape(x, (3, 4)),
                                                                  axis=1)), distinct(12)))
    for m in QUANTILE_METHODS:
        C.append(Check(f"quantile {m}", lambda np, x, m=m: S(np, np.quantile(x, QS, method=m)),
                       distinct(11)))
    C.append(Check("quantile linear axis=0 keepdims",
                   lambda np, x: S(np, np.quantile(np.reshape(x, (4, 3)), Q2, axis=0,
                                                   keepdims=True)), distinct(12)))
    C.append(Check("percentile", lambda np, x: S(np, np.percentile(x, PCTS)),
                   distinct(10)))
    C.append(Check("average weights (a, w traced)",
                   lambda np, x: S(np, np.average(x[:6], weights=x[6:] ** 2 + 0.5)), normal(12)))
    C.append(Check("average axis=1 weights returned",
                   lambda np, x: S(np, np.stack(np.average(
                       np.reshape(x[:8], (2, 4)), axis=1, weights=x[8:] ** 2 + 0.5,
                       returned=True))), normal(12)))
    C.append(Check("ptp", lambda np, x: S(np, np.ptp(x)), distinct(7)))
    tie = (Point("tied extremes", arr(1.5, 0.0, -0.7, 1.5, -0.7, 9.0, 0.2, 1.5), conv=TIE),)
    for fn in ("nansum", "nanmean", "nanmax", "nanmin", "nanprod", "nanmedian", "nancumsum",
               "nancumprod"):
        C.append(Check(f"{fn} (NaN at 1, 5)",
                       lambda np, x, fn=fn: S(np, getattr(np, fn)(with_nan(np, x))),
                       distinct(8), tie if fn in ("nanmax", "nanmin") else ()))
    C.append(Check("nanvar ddof=1", lambda np, x: S(np, np.nanvar(with_nan(np, x), ddof=1)),
                   normal(8)))
    C.append(Check("nanstd", lambda np, x: S(np, np.nanstd(with_nan(np, x))), normal(8)))
    C.append(Check("nanquantile (NaN at 1, 5)",
                   lambda np, x: S(np, np.nanquantile(with_nan(np, x), onp.array([0.2, 0.7]))),
                   distinct(8)))
    C.append(Check("nanpercentile (NaN at 1, 5)",
                   lambda np, x: S(np, np.nanpercentile(with_nan(np, x), onp.array([20.0, 70.0]))),
                   distinct(8)))
    for fn in ("nanvar", "nanmax"):
        C.append(Check(f"{fn} axis=1 (NaN)",
                       lambda np, x, fn=fn: S(np, getattr(np, fn)(
                           np.reshape(with_nan(np, x), (2, 4)), axis=1)), distinct(8)))
    C.append(Check("cov", lambda np, x: S(np, np.cov(np.reshape(x, (3, 5)))), normal(15)))
    C.append(Check("cov rowvar=False ddof=0",
                   lambda np, x: S(np, np.cov(np.reshape(x, (5, 3)), rowvar=False, ddof=0)),
                   normal(15)))
    C.append(Check("cov aweights traced",
                   lambda np, x: S(np, np.cov(np.reshape(x[:15], (3, 5)),
                                              aweights=x[15:] ** 2 + 0.5)), normal(20)))
    C.append(Check("cov fweights + aweights",
                   lambda np, x: S(np, np.cov(np.reshape(x[:15], (3, 5)), fweights=FWEIGHTS,
                                              aweights=x[15:] ** 2 + 0.5)), normal(20)))
    C.append(Check("cov(m, y)", lambda np, x: S(np, np.cov(x[:5], x[5:])), normal(10)))
    C.append(Check("corrcoef", lambda np, x: S(np, np.corrcoef(np.reshape(x, (3, 5)))),
                   normal(15)))
    C.append(Check("corrcoef(x, y)", lambda np, x: S(np, np.corrcoef(x[:6], x[6:])), normal(12)))
    base = arr(0.7, -1.3, 0.9, 1.1, -0.8, 1.2)
    zeros = (Point("one zero", onp.where(onp.arange(6) == 2, 0.0, base)),
             Point("two zeros", onp.where(onp.isin(onp.arange(6), (1, 4)), 0.0, base)),
             Point("zero first", onp.where(onp.arange(6) == 0, 0.0, base)),
             Point("all zero", onp.zeros(6)))
    C.append(Check("prod (zeros)", lambda np, x: S(np, np.prod(x)), normal(6), zeros))
    C.append(Check("cumprod (zeros)", lambda np, x: S(np, np.cumprod(x)), normal(6), zeros))
    C.append(Check("prod axis=1 (zeros)",
                   lambda np, x: S(np, np.prod(np.reshape(x, (2, 3)), axis=1)), normal(6), zeros))
    C.append(Check("cumprod axis=0 (zeros)",
                   lambda np, x: S(np, np.cumprod(np.reshape(x, (3, 2)), axis=0)), normal(6),
                   zeros))
    return C


def series_checks() -> list[Check]:
    C = []
    C.append(Check("diff n=2", lambda np, x: S(np, np.diff(x, n=2)), normal(7)))
    C.append(Check("diff prepend/append traced",
                   lambda np, x: S(np, np.diff(x[:6], prepend=x[6:7], append=x[7:9])),
                   normal(9)))
    C.append(Check("diff n=2 axis=0 2-D",
                   lambda np, x: S(np, np.diff(np.reshape(x, (4, 3)), n=2, axis=0)), normal(12)))
    C.append(Check("ediff1d to_begin/to_end traced",
                   lambda np, x: S(np, np.ediff1d(x[:6], to_begin=x[6:7], to_end=x[7:9])),
                   normal(9)))

    def spacing(x):
        return x[7] ** 2 + 0.5

    def coords(np, x):
        return np.cumsum(x[7:14] ** 2 + 0.3)

    C.append(Check("gradient spacing traced",
                   lambda np, x: S(np, np.gradient(x[:7], spacing(x))), normal(8)))
    C.append(Check("gradient coordinates traced",
                   lambda np, x: S(np, np.gradient(x[:7], coords(np, x))), normal(14)))
    C.append(Check("gradient spacing edge_order=2",
                   lambda np, x: S(np, np.gradient(x[:7], spacing(x), edge_order=2)), normal(8)))
    C.append(Check("gradient coordinates edge_order=2",
                   lambda np, x: S(np, np.gradient(x[:7], coords(np, x), edge_order=2)),
                   normal(14)))
    C.append(Check("gradient 2-D spacings traced",
                   lambda np, x: S(np, np.stack(np.gradient(np.reshape(x[:12], (3, 4)),
                                                            x[12] ** 2 + 0.5, x[13] ** 2 + 0.5))),
                   normal(14)))

    def interp_draw(rng):
        inc = rng.uniform(0.5, 1.5, 6)
        xp = onp.cumsum(inc)
        seg = rng.integers(0, 5, 4)
        xq = xp[seg] + rng.uniform(0.15, 0.85, 4) * inc[seg + 1]
        outside = onp.array([xp[0] - 0.7, xp[-1] + 0.4])
        return onp.concatenate([xq, outside, inc, rng.standard_normal(6), [0.3, -0.4]])

    # dyadic increments: the knots 0.5 1.5 2.25 3.5 4 5 are exact in every library
    knots = Point("x at knots 1.5, 3.5 and at the ends 0.5, 5",
                  arr(1.5, 0.7, 3.5, 0.5, 5.0, 4.2, 0.5, 1.0, 0.75, 1.25, 0.5, 1.0,
                      0.3, -1.1, 0.8, 2.0, -0.4, 0.9, 0.3, -0.4),
                  conv="kink: which segment's slope at a knot")
    C.append(Check("interp (x, xp, fp, left, right traced)",
                   lambda np, x: S(np, np.interp(x[:6], np.cumsum(x[6:12]), x[12:18],
                                                 left=x[18], right=x[19])), interp_draw,
                   (knots,)))
    C.append(Check("interp default left/right",
                   lambda np, x: S(np, np.interp(x[:6], np.cumsum(x[6:12]), x[12:18])),
                   interp_draw))
    C.append(Check("interp period=5 (x, fp traced)",
                   lambda np, x: S(np, np.interp(x[:4], onp.array([0.0, 1.0, 2.5, 4.0]), x[4:],
                                                 period=5.0)),
                   cat(arr(-3.3, 0.4, 7.2, 3.1), normal(4))))
    C.append(Check("trapezoid x traced",
                   lambda np, x: S(np, np.trapezoid(x[:6], np.cumsum(x[6:] ** 2 + 0.2))),
                   normal(12)))
    C.append(Check("trapezoid dx traced",
                   lambda np, x: S(np, np.trapezoid(x[:6], dx=x[6] ** 2 + 0.2)), normal(7)))
    # every mode of each, with a longer and a shorter v
    for fn, mode, n in (("convolve", "full", 7), ("convolve", "same", 7), ("convolve", "valid", 7),
                        ("convolve", "same", 4), ("correlate", "full", 4),
                        ("correlate", "same", 4), ("correlate", "valid", 4),
                        ("correlate", "same", 7)):
        label = f"{fn} {mode} " + ("(7, 4)" if n == 7 else "v longer (4, 7)")
        C.append(Check(label, lambda np, x, fn=fn, mode=mode, n=n: S(np, getattr(np, fn)(
            x[:n], x[n:], mode=mode)), normal(11)))
    C.append(Check("convolve full (40, 9) HVP",
                   lambda np, x: S(np, np.convolve(x[:40], x[40:])), normal(49)))
    C.append(Check("polyval (p, x traced)", lambda np, x: S(np, np.polyval(x[:4], x[4:])),
                   normal(9)))
    C.append(Check("cross 3-vectors (2, 3)",
                   lambda np, x: S(np, np.cross(np.reshape(x[:6], (2, 3)),
                                                np.reshape(x[6:], (2, 3)))), normal(12)))
    C.append(Check("cross 2-vectors", lambda np, x: S(np, np.cross(np.reshape(x[:4], (2, 2)),
                                                                   np.reshape(x[4:], (2, 2)))),
                   normal(8)))
    C.append(Check("kron (2,2)x(2,3)",
                   lambda np, x: S(np, np.kron(np.reshape(x[:4], (2, 2)),
                                               np.reshape(x[4:], (2, 3)))), normal(10)))
    C.append(Check("vander N=5 increasing",
                   lambda np, x: S(np, np.vander(x, N=5, increasing=True)), normal(4)))
    return C


def shaping_checks() -> list[Check]:
    C = []
    C.append(Check("sort", lambda np, x: S(np, np.sort(x)), distinct(8),
                   (Point("ties", arr(0.5, -1.0, 0.5, 2.0, 0.1, -1.0, 1.2, 0.5), conv=TIE),)))
    C.append(Check("sort axis=0 2-D", lambda np, x: S(np, np.sort(np.reshape(x, (4, 3)), axis=0)),
                   distinct(12)))
    C.append(Check("rot90 k=-1", lambda np, x: S(np, np.rot90(np.reshape(x, (3, 4)), k=-1)),
                   normal(12)))
    C.append(Check("rot90 k=3 axes=(2, 0)",
                   lambda np, x: S(np, np.rot90(np.reshape(x, (2, 3, 2)), k=3, axes=(2, 0))),
                   normal(12)))
    C.append(Check("flipud", lambda np, x: S(np, np.flipud(np.reshape(x, (3, 4)))), normal(12)))
    C.append(Check("fliplr", lambda np, x: S(np, np.fliplr(np.reshape(x, (3, 4)))), normal(12)))
    C.append(Check("linspace traced endpoints",
                   lambda np, x: S(np, np.linspace(x[0], x[1], 7)), normal(2)))
    C.append(Check("linspace endpoint=False",
                   lambda np, x: S(np, np.linspace(x[0], x[1], 6, endpoint=False)), normal(2)))
    C.append(Check("linspace array endpoints axis=1",
                   lambda np, x: S(np, np.linspace(x[:2], x[2:], 5, axis=1)), normal(4)))

    def linspace_step(np, x):
        y, step = np.linspace(x[0], x[1], 6, retstep=True)
        return S(np, y) + step ** 2

    C.append(Check("linspace retstep", linspace_step, normal(2)))
    C.append(Check("logspace base=2 endpoint=False",
                   lambda np, x: S(np, np.logspace(x[0], x[1], 5, base=2.0, endpoint=False)),
                   uniform(2, -2.0, 2.0)))

    def mesh(np, x, indexing):
        X, Y = np.meshgrid(x[:3], x[3:], indexing=indexing)
        return S(np, X * Y + X ** 2)

    C.append(Check("meshgrid xy", lambda np, x: mesh(np, x, "xy"), normal(7)))
    C.append(Check("select (first true wins)",
                   lambda np, x: S(np, np.select([x < -0.5, x > -1.0], [x ** 2, np.sin(x)],
                                                 default=3 * x)),
                   away(normal(8, 1.5), lambda x: onp.minimum(abs(x + 0.5), abs(x + 1.0)),
                        0.05)))
    return C


def elementwise_checks() -> list[Check]:
    C = []
    ties = (Point("ties at 0 and 3", arr(0.3, -1.2, 0.5, 2.0, 0.1, 0.7,
                                         0.3, 0.4, -0.5, 2.0, 0.9, -0.2),
                  conv="ties: which side gets the gradient"),)
    for fn in ("fmax", "fmin"):
        C.append(Check(f"{fn} (NaN in a at 1, in b at 4)",
                       lambda np, x, fn=fn: S(np, getattr(np, fn)(
                           np.where(onp.arange(6) == 1, np.nan, x[:6]),
                           np.where(onp.arange(6) == 4, np.nan, x[6:]))),
                       normal(12), ties))

    def no_jump(x, trunc):
        q = x[:5] / x[5:]
        frac = q - (onp.trunc(q) if trunc else onp.floor(q))
        return onp.minimum(frac, 1 - frac)

    draw_mod = cat(normal(5, 3.0), uniform(5, 0.5, 2.0))
    signs = arr(1, -1, 1, -1, 1)

    def mod_draw(trunc):
        return away(lambda rng: draw_mod(rng) * onp.concatenate([onp.ones(5), signs]),
                    lambda x: no_jump(x, trunc), 0.05)

    C.append(Check("remainder (x1, x2 traced)",
                   lambda np, x: S(np, np.remainder(x[:5], x[5:])), mod_draw(False)))
    C.append(Check("fmod (x1, x2 traced)",
                   lambda np, x: S(np, np.fmod(x[:5], x[5:])), mod_draw(True)))
    C.append(Check("float_power", lambda np, x: S(np, np.float_power(x[:4], x[4:])),
                   cat(uniform(4, 0.2, 3.0), normal(4))))
    C.append(Check("logaddexp2", lambda np, x: S(np, np.logaddexp2(x[:4], x[4:])),
                   normal(8, 3.0)))
    C.append(Check("heaviside (x2 traced)",
                   lambda np, x: S(np, np.heaviside(x[:5], x[5:]) * (1 + x[5:] ** 2)),
                   normal(10),
                   (Point("x1 zero at 1, 3", arr(0.5, 0.0, -1.0, 0.0, 2.0,
                                                 0.2, 0.7, -0.3, 0.4, 0.9)),)))
    C.append(Check("sinc", lambda np, x: S(np, np.sinc(x)), normal(5, 2.0),
                   (Point("zeros", arr(0.0, 0.5, 0.0, -1.5, 1e-9)),)))
    C.append(Check("deg2rad", lambda np, x: S(np, np.deg2rad(x * 100)), normal(4)))

    def n2n(np, x):
        y = np.where(INF_AT, np.inf, np.where(NINF_AT, -np.inf, with_nan(np, x)))
        return S(np, np.nan_to_num(y, nan=0.5, posinf=3.0, neginf=-2.0) * x)

    C.append(Check("nan_to_num (nan, inf, -inf)", n2n, normal(8)))
    C.append(Check("einsum 'ii->'", lambda np, x: S(np, np.einsum("ii->", np.reshape(x, (3, 3)))),
                   normal(9)))
    C.append(Check("einsum 'ii->i'", lambda np, x: S(np, np.einsum("ii->i",
                                                                   np.reshape(x, (3, 3)))),
                   normal(9)))
    C.append(Check("einsum 'iij->j'",
                   lambda np, x: S(np, np.einsum("iij->j", np.reshape(x, (2, 2, 3)))), normal(12)))
    C.append(Check("einsum 'ij,jk->ik' squared",
                   lambda np, x: S(np, np.einsum("ij,jk->ik", np.reshape(x[:6], (2, 3)),
                                                 np.reshape(x[6:], (3, 2))) ** 2), normal(12)))
    C.append(Check("einsum 'ii,ij->j'",
                   lambda np, x: S(np, np.einsum("ii,ij->j", np.reshape(x[:9], (3, 3)),
                                                 np.reshape(x[9:], (3, 2)))), normal(15)))
    C.append(Check("einsum sublist form",
                   lambda np, x: S(np, np.einsum(np.reshape(x[:6], (2, 3)), [0, 1],
                                                 np.reshape(x[6:], (3, 2)), [1, 2], [0, 2])),
                   normal(12)))
    C.append(Check("einsum 'ij,ij->i' (same operand twice)",
                   lambda np, x: S(np, np.einsum("ij,ij->i", np.reshape(x, (2, 3)),
                                                 np.reshape(x, (2, 3)))), normal(6)))
    return C


SIGN_C = onp.array([1.0, 2.0, 3.5])  # distinct weights: c_i v_i v_i^T sums are sign-invariant
B_SYM = onp.array([[2.0, 0.3, -0.5], [0.3, 1.0, 0.2], [-0.5, 0.2, 1.5]])


def linalg_checks() -> list[Check]:
    C = []
    la = "linalg."
    singular3 = arr(1.0, 2.0, 0.5, -1.0, 0.3, 1.0, 0.4, 2.0,
                    0.7, -0.5, 1.2, 0.2, 1.7, 1.5, 1.7, -0.8)  # last row = row0 + row1
    rank2 = arr(1.0, 2.0, 0.5, -1.0, 2.0, 4.0, 1.0, -2.0,
                0.7, -0.5, 1.2, 0.2, 1.7, 1.5, 1.7, -0.8)  # row1 = 2 row0, row3 = row0 + row2
    C.append(Check(la + "det", lambda np, x: S(np, np.linalg.det(np.reshape(x, (4, 4)))),
                   normal(16), (Point("singular (rank 3)", singular3),
                                Point("rank 2", rank2), Point("zero matrix", onp.zeros(16)),
                                Point("diag(3, 2, 1, 0)", onp.diag([3.0, 2, 1, 0]).ravel()),
                                Point("diag(2, 2, 0, 0)", onp.diag([2.0, 2, 0, 0]).ravel()),
                                Point("diag(3, 2, 0, 0)", onp.diag([3.0, 2, 0, 0]).ravel()))))
    C.append(Check(la + "det 2x2", lambda np, x: S(np, np.linalg.det(np.reshape(x, (2, 2)))),
                   normal(4), (Point("zero matrix", onp.zeros(4)),
                               Point("diag(1, 0)", arr(1, 0, 0, 0)))))
    C.append(Check(la + "det stack (2, 3, 3)",
                   lambda np, x: S(np, np.linalg.det(np.reshape(x, (2, 3, 3)))), normal(18)))
    C.append(Check(la + "slogdet (logabsdet)",
                   lambda np, x: S(np, np.linalg.slogdet(np.reshape(x, (4, 4)))[1]), normal(16)))
    C.append(Check(la + "inv", lambda np, x: S(np, np.linalg.inv(well(np, x, 4))), normal(16)))
    C.append(Check(la + "solve b vector",
                   lambda np, x: S(np, np.linalg.solve(well(np, x, 3), x[9:])), normal(12)))
    C.append(Check(la + "solve b matrix",
                   lambda np, x: S(np, np.linalg.solve(well(np, x, 3),
                                                       np.reshape(x[9:], (3, 2)))), normal(15)))
    C.append(Check(la + "solve stack (2,3,3) b (2,3,1)",
                   lambda np, x: S(np, np.linalg.solve(
                       np.reshape(x[:18], (2, 3, 3)) + 3 * np.eye(3),
                       np.reshape(x[18:], (2, 3, 1)))), normal(24)))
    C.append(Check(la + "inv stack (2,3,3)",
                   lambda np, x: S(np, np.linalg.inv(np.reshape(x, (2, 3, 3)) + 3 * np.eye(3))),
                   normal(18)))
    C.append(Check(la + "cholesky", lambda np, x: S(np, np.linalg.cholesky(spd(np, x, 3))),
                   normal(9)))
    C.append(Check(la + "cholesky upper=True",
                   lambda np, x: S(np, np.linalg.cholesky(spd(np, x, 3), upper=True)), normal(9)))
    C.append(Check(la + "eigh values", lambda np, x: S(np, np.linalg.eigh(sym(np, x, 3))[0]),
                   normal(9)))
    C.append(Check(la + "eigh UPLO='U' values",
                   lambda np, x: S(np, np.linalg.eigh(sym(np, x, 3), UPLO="U")[0]), normal(9)))

    def eigvec_fn(np, x):
        w, v = np.linalg.eigh(sym(np, x, 3))
        return S(np, w) + np.sum(SIGN_C * np.einsum("ji,jk,ki->i", v, B_SYM, v))

    C.append(Check(la + "eigh vectors (v_i^T B v_i)", eigvec_fn, normal(9)))
    C.append(Check(la + "eigvalsh", lambda np, x: S(np, np.linalg.eigvalsh(sym(np, x, 3))),
                   normal(9)))
    C.append(Check(la + "eigvalsh non-symmetric input",
                   lambda np, x: S(np, np.linalg.eigvalsh(np.reshape(x, (3, 3)))), normal(9),
                   conv="JAX symmetrizes the input ((a + a^T)/2), NumPy and gradkit read the"
                        " lower triangle: values and derivatives differ"))
    eye = onp.eye(3).ravel()
    near = eye + 1e-9 * arr(0.3, 0.1, -0.2, 0.1, 0.5, 0.4, -0.2, 0.4, -0.1)
    rep = (Point("I (triple)", eye, order=1), Point("diag(1, 1, 2)", arr(1, 0, 0, 0, 1, 0, 0, 0, 2),
                                                    order=1),
           Point("I + 1e-9 sym", near, order=1))
    C.append(Check(la + "eigvalsh sum (repeated)",
                   lambda np, x: np.sum(np.linalg.eigvalsh(sym(np, x, 3))), normal(9), rep))
    C.append(Check(la + "eigvalsh sum sq (repeated)",
                   lambda np, x: np.sum(np.linalg.eigvalsh(sym(np, x, 3)) ** 2), normal(9), rep))
    C.append(Check(la + "svd values", lambda np, x: S(np, np.linalg.svd(
        np.reshape(x, (4, 3)), compute_uv=False)), normal(12)))

    def svd_vectors(np, x):
        u, s, vh = np.linalg.svd(np.reshape(x, (4, 3)), full_matrices=False)
        return S(np, u @ np.diag(SIGN_C) @ vh) + S(np, s)

    C.append(Check(la + "svd vectors (U diag(c) Vh)", svd_vectors, normal(12)))
    orth = onp.linalg.qr(onp.random.default_rng(3).standard_normal((3, 3)))[0]
    C.append(Check(la + "svdvals sum (repeated)",
                   lambda np, x: np.sum(np.linalg.svdvals(np.reshape(x, (3, 3)))), normal(9),
                   (Point("2 Q (Q orthogonal)", 2 * orth.ravel(), order=1),
                    Point("diag(2, 2, 1)", onp.diag([2.0, 2, 1]).ravel(), order=1))))
    C.append(Check(la + "svdvals", lambda np, x: S(np, np.linalg.svdvals(np.reshape(x, (3, 4)))),
                   normal(12)))

    def qr_invariant(np, x, shape=(5, 3)):
        q, r = np.linalg.qr(np.reshape(x, shape))
        signs = np.sign(np.diagonal(r))  # a constant: makes R's diagonal positive
        return S(np, q @ q.T) + S(np, r * signs[:, None]) + S(np, q * signs)

    def qr_raw(np, x):
        q, r = np.linalg.qr(np.reshape(x, (5, 3)))
        return S(np, q) + S(np, r)

    C.append(Check(la + "qr (sign-invariant)", qr_invariant, normal(15)))
    C.append(Check(la + "qr Q, R raw", qr_raw, normal(15),
                   conv="R's diagonal signs are a convention"))
    C.append(Check(la + "qr square", lambda np, x: qr_invariant(np, x, (3, 3)), normal(9)))
    rank2_43 = (onp.outer([1.0, 2, -1, 0.5], [0.3, -1, 2])
                + onp.outer([0.5, -1, 1, 2], [1, 0.2, -0.4]))
    C.append(Check(la + "pinv (4, 3)", lambda np, x: S(np, np.linalg.pinv(np.reshape(x, (4, 3)))),
                   normal(12), (Point("rank 2", rank2_43.ravel()),)))
    C.append(Check(la + "pinv square", lambda np, x: S(np, np.linalg.pinv(well(np, x, 3))),
                   normal(9)))
    C.append(Check(la + "lstsq x", lambda np, x: S(np, np.linalg.lstsq(
        np.reshape(x[:15], (5, 3)), x[15:], rcond=None)[0]), normal(20)))
    C.append(Check(la + "pinv hermitian=True",
                   lambda np, x: S(np, np.linalg.pinv(sym(np, x, 3), hermitian=True)), normal(9)))
    C.append(Check(la + "lstsq x, b matrix", lambda np, x: S(np, np.linalg.lstsq(
        np.reshape(x[:15], (5, 3)), np.reshape(x[15:], (5, 2)), rcond=None)[0]), normal(25)))
    C.append(Check(la + "lstsq residuals", lambda np, x: S(np, np.linalg.lstsq(
        np.reshape(x[:15], (5, 3)), x[15:], rcond=None)[1]), normal(20)))
    for n in (3, -2):
        C.append(Check(la + f"matrix_power n={n}",
                       lambda np, x, n=n: S(np, np.linalg.matrix_power(well(np, x, 3), n)),
                       normal(9)))
    C.append(Check(la + "matrix_power stack n=-3",
                   lambda np, x: S(np, np.linalg.matrix_power(
                       np.reshape(x, (2, 3, 3)) + 3 * np.eye(3), -3)), normal(18)))
    C.append(Check(la + "multi_dot 1-D ends (3, 3x4, 4x2, 2)",
                   lambda np, x: S(np, np.linalg.multi_dot([
                       x[:3], np.reshape(x[3:15], (3, 4)), np.reshape(x[15:23], (4, 2)),
                       x[23:]])), normal(25)))
    C.append(Check(la + "multi_dot (2x3, 3x4, 4x2)",
                   lambda np, x: S(np, np.linalg.multi_dot([
                       np.reshape(x[:6], (2, 3)), np.reshape(x[6:18], (3, 4)),
                       np.reshape(x[18:], (4, 2))])), normal(26)))
    zero_vec = (Point("at 0", onp.zeros(5), conv="gradient at the zero vector"),)
    for o in (None, 2, 1, onp.inf, -onp.inf, 3, 0.5, -2, 0):
        pts = zero_vec if o in (None, 2, 1, 3, onp.inf) else ()
        C.append(Check(la + f"norm vector ord={o}",
                       lambda np, x, o=o: S(np, np.linalg.norm(x, ord=o)), distinct(5), pts))
    zero_mat = (Point("at 0", onp.zeros(12), conv="gradient at the zero matrix"),)
    svd_at_zero = (Point("at 0", onp.zeros(12), conv=(
        "gradient at the zero matrix: a subgradient from an arbitrary SVD basis of 0 in both"
        " (gradkit's vector 2-norm and 'fro' give 0 there)")),)
    for o in (None, "fro", 2, -2, "nuc", onp.inf, -onp.inf, 1, -1):
        pts = zero_mat if o in (None, "fro") else svd_at_zero if o in (2, -2, "nuc") else ()
        C.append(Check(la + f"norm matrix ord={o}",
                       lambda np, x, o=o: S(np, np.linalg.norm(np.reshape(x, (4, 3)), ord=o)),
                       distinct(12), pts))
    for o in ("nuc",):
        C.append(Check(la + f"norm matrix ord={o} axis=(2, 0)",
                       lambda np, x, o=o: S(np, np.linalg.norm(np.reshape(x, (3, 2, 4)), ord=o,
                                                               axis=(2, 0))), normal(24)))
    C.append(Check(la + "norm axis=1 keepdims",
                   lambda np, x: S(np, np.linalg.norm(np.reshape(x, (4, 3)), axis=1,
                                                      keepdims=True)), normal(12)))
    for o in (2, 3):
        C.append(Check(la + f"vector_norm ord={o} axis=0",
                       lambda np, x, o=o: S(np, np.linalg.vector_norm(np.reshape(x, (4, 3)),
                                                                      ord=o, axis=0)),
                       distinct(12)))
    for o in ("fro", "nuc", -2):
        C.append(Check(la + f"matrix_norm ord={o}",
                       lambda np, x, o=o: S(np, np.linalg.matrix_norm(np.reshape(x, (3, 4)),
                                                                      ord=o)), distinct(12)))
    for p in (None, "fro", 1):
        C.append(Check(la + f"cond p={p}",
                       lambda np, x, p=p: S(np, np.linalg.cond(well(np, x, 3), p)), normal(9)))
    C.append(Check(la + "tensorsolve (2,3,6) b (2,3) HVP",
                   lambda np, x: S(np, np.linalg.tensorsolve(
                       np.reshape(well(np, x, 6), (2, 3, 6)), np.reshape(x[36:], (2, 3)))),
                   normal(42)))
    C.append(Check(la + "tensorinv (2,3,6) ind=2",
                   lambda np, x: S(np, np.linalg.tensorinv(np.reshape(well(np, x, 6), (2, 3, 6)),
                                                           ind=2)), normal(36)))
    return C


def special_checks() -> list[Check]:
    C = []
    sp = "special."

    def one(name, draw, tol=1e-10, points=(), conv=""):
        C.append(Check(sp + name, lambda np, x: S(np, getattr(np.special, name)(x)), draw,
                       points, tol, conv))

    one("erf", uniform(6, -3.0, 3.0))
    one("erfc", uniform(6, -3.0, 5.0))
    one("erfinv", uniform(6, -0.99, 0.99), SPECIAL_TOL,
        (Point("near +-1", arr(1 - 1e-12, -(1 - 1e-9), 0.999999, 0.5, -0.3, 0.0)),))
    def negative(rng):  # between the poles: (-1.8, -1.2) and (-3.8, -3.2)
        return -rng.uniform(0.2, 0.8, 2) - arr(1.0, 3.0)

    one("gammaln", cat(uniform(4, 0.1, 8.0), negative), SPECIAL_TOL)
    one("digamma", cat(uniform(4, 0.1, 8.0), negative), SPECIAL_TOL)
    for n in (1, 2):
        C.append(Check(sp + f"polygamma n={n}",
                       lambda np, x, n=n: S(np, np.special.polygamma(n, x)),
                       uniform(5, 0.2, 6.0), tol=SPECIAL_TOL))
    C.append(Check(sp + "logsumexp b traced",
                   lambda np, x: S(np, np.special.logsumexp(x[:5], b=x[5:] ** 2 + 0.1)),
                   normal(10, 2.0), (Point("a = -inf at 0", arr(-onp.inf, 0.3, -1.0, 2.0, 0.5,
                                                                0.2, 0.3, 1.1, -0.4, 0.8)),)))
    C.append(Check(sp + "xlogy (x, y traced)",
                   lambda np, x: S(np, np.special.xlogy(x[:4], x[4:])),
                   cat(uniform(4, 0.1, 3.0), uniform(4, 0.2, 3.0)),
                   (Point("x = 0 at 0, 2", arr(0.0, 1.5, 0.0, 0.7, 0.4, 2.0, 1.3, 0.9)),
                    Point("x = y = 0 at 0", arr(0.0, 1.5, 0.5, 0.7, 0.0, 2.0, 1.3, 0.9),
                          conv="d/dy at x = y = 0: gradkit 0 (documented), JAX NaN (0 * inf),"
                               " which also spreads NaN over that Hessian row")))),
    C.append(Check(sp + "xlog1py (x, y traced)",
                   lambda np, x: S(np, np.special.xlog1py(x[:4], x[4:])),
                   cat(uniform(4, 0.1, 3.0), uniform(4, -0.9, 3.0)),
                   (Point("x = 0 at 1", arr(0.7, 0.0, 1.1, 0.4, 0.4, -0.5, 1.3, 0.9)),
                    Point("x = 0, y = -1 at 1", arr(0.7, 0.0, 1.1, 0.4, 0.4, -1.0, 1.3, 0.9),
                          conv="d/dy at x = 0, y = -1: gradkit 0, JAX NaN (0 * inf), which also"
                               " spreads NaN over that Hessian row"))))
    one("entr", uniform(6, 0.05, 3.0), points=(
        Point("x = 0 at 2", arr(0.5, 1.2, 0.0, 2.0, 0.1, 0.3), conv=(
            "entr'(0) = +inf: the Hessian's diagonal entry there is NaN in both, its other"
            " entries in that row 0 in gradkit, NaN in JAX (inf * 0)")),))
    one("expit", uniform(6, -6.0, 6.0))
    one("logit", uniform(6, 0.02, 0.98))
    one("log_ndtr", cat(uniform(4, -5.0, 5.0), arr(-12.0, -40.0, 8.0)), SPECIAL_TOL)
    one("ndtr", uniform(6, -6.0, 6.0))
    one("ndtri", cat(uniform(4, 0.01, 0.99), arr(1e-10, 1 - 1e-6)), SPECIAL_TOL)
    for name in ("i0", "i0e", "i1", "i1e"):
        pts = (Point("x = 0 at 0", arr(0.0, 0.3, -2.0, 1.5, -0.5, 2.5)),)
        if name.endswith("e"):
            pts += (Point("large |x|", arr(50.0, -300.0, 700.0, 20.0, -8.5, 0.0)),)
        one(name, uniform(6, -8.0, 8.0), SPECIAL_TOL, pts)
    C.append(Check(sp + "betaln (a, b traced)",
                   lambda np, x: S(np, np.special.betaln(x[:3], x[3:])), uniform(6, 0.3, 5.0),
                   tol=SPECIAL_TOL))
    for a in (2.5, 0.7):
        C.append(Check(sp + f"gammainc a={a} (x traced)",
                       lambda np, x, a=a: S(np, np.special.gammainc(a, x)),
                       uniform(5, 0.05, 6.0),
                       (Point("large and small x", arr(30.0, 0.01, 2.5, 80.0, 1e-4)),),
                       tol=SPECIAL_TOL))
    C.append(Check(sp + "multigammaln d=3",
                   lambda np, x: S(np, np.special.multigammaln(x, 3)), uniform(4, 1.2, 6.0),
                   tol=SPECIAL_TOL))
    for name in ("pdf", "logpdf", "cdf", "logcdf", "sf", "logsf"):
        C.append(Check(f"stats.norm.{name} (x, loc, scale traced)",
                       lambda np, x, name=name: S(np, getattr(np.norm, name)(
                           x[:4], loc=x[4], scale=x[5] ** 2 + 0.5)), normal(6, 1.5),
                       (Point("tails", arr(-40.0, -10.0, 12.0, 40.0, 0.3, 0.5)),),
                       tol=SPECIAL_TOL))
    for name in ("ppf", "isf"):
        C.append(Check(f"stats.norm.{name} (q, loc, scale traced)",
                       lambda np, x, name=name: S(np, getattr(np.norm, name)(
                           x[:4], loc=x[4], scale=x[5] ** 2 + 0.5)),
                       cat(uniform(4, 0.02, 0.98), normal(2)),
                       (Point("tails", arr(1e-12, 1 - 1e-10, 1e-100, 0.5, 0.3, 0.5)),),
                       tol=SPECIAL_TOL))
    return C


def all_checks() -> list[Check]:
    return (statistics_checks() + series_checks() + shaping_checks() + elementwise_checks()
            + linalg_checks() + special_checks())


# --------------------------------------------------------------------------------------
# Evaluating one side
# --------------------------------------------------------------------------------------


SCALE_FLOOR = 1e-3


def magnitude(a) -> float:
    a = onp.abs(onp.asarray(a, dtype=float))
    return float(onp.max(a[onp.isfinite(a)], initial=0.0))


def rel_err(got, want, scale: float) -> float:
    """Max |got - want| over ``scale`` (at least SCALE_FLOOR); NaN and inf must match."""
    got, want = onp.asarray(got, dtype=float), onp.asarray(want, dtype=float)
    if got.shape != want.shape:
        return math.inf
    same = (got == want) | (onp.isnan(got) & onp.isnan(want))
    if same.all():
        return 0.0
    if not (onp.isfinite(got) & onp.isfinite(want))[~same].all():
        return math.inf
    return float(onp.max(onp.abs(got - want)[~same])) / max(scale, SCALE_FLOOR)


def worst_entry(g, w) -> tuple:
    g, w = onp.asarray(g, dtype=float), onp.asarray(w, dtype=float)
    if g.ndim == 0:
        return ()
    with onp.errstate(invalid="ignore"):
        gap = onp.where(onp.isnan(g) != onp.isnan(w), onp.inf, onp.abs(g - w))
    return tuple(int(i) for i in onp.unravel_index(int(onp.nanargmax(gap)), g.shape))


def hvp_vectors(n: int) -> onp.ndarray:
    return onp.random.default_rng(123).standard_normal((2, n))


class Side:
    """Value, gradient and Hessian (or HVPs) of one program in one library."""

    def __init__(self, lib: Lib, prog: Callable) -> None:
        self.f = lambda x: prog(lib, x)

    def evaluate(self, x: onp.ndarray, order: int) -> dict:
        out = {"value": self.value(x), "grad": self.grad(x)}
        if order > 1:
            out["hess"] = self.hess(x) if x.size <= HVP_ABOVE else onp.stack(
                [self.hvp(x, v) for v in hvp_vectors(x.size)])
        return out


class GradkitSide(Side):
    def __init__(self, prog: Callable) -> None:
        super().__init__(GKLIB, prog)
        self.g = gk.grad(self.f)
        self.h = gk.hessian(self.f)

    def value(self, x):
        return onp.asarray(self.f(x))

    def grad(self, x):
        return onp.asarray(self.g(x))

    def hess(self, x):
        return onp.asarray(self.h(x))

    def hvp(self, x, v):
        return onp.asarray(gk.jvp(self.g, (x,), (v,))[1])

    def timed_grad(self, x):
        return lambda: self.g(x)


class JaxSide(Side):
    """JAX: for the comparisons, one ``jax.jit`` of (value, gradient, Hessian or HVPs) per
    program, compiled without LLVM optimization (an eager Hessian compiles each batched
    primitive anew, which is slower still); the timed ``jax.jit(grad)`` is compiled
    normally."""

    def __init__(self, prog: Callable) -> None:
        super().__init__(JAXLIB, prog)
        self.g = jax.grad(self.f)
        self.compiled = None

    def _all(self, x, vs):
        if vs is None:
            return self.f(x), self.g(x), jax.hessian(self.f)(x)
        return self.f(x), self.g(x), jax.vmap(lambda v: jax.jvp(self.g, (x,), (v,))[1])(vs)

    def evaluate(self, x: onp.ndarray, order: int) -> dict:
        vs = None if x.size <= HVP_ABOVE else hvp_vectors(x.size)
        if self.compiled is None:  # every point of a check has the same shape
            self.compiled = jax.jit(self._all).lower(x, vs).compile(
                compiler_options={"xla_backend_optimization_level": 0})
        value, grad, hess = self.compiled(x, vs)
        out = {"value": onp.asarray(value), "grad": onp.asarray(grad)}
        if order > 1:
            out["hess"] = onp.asarray(hess)
        return out

    def grad(self, x):
        return onp.asarray(self.g(x))

    def timed_grad(self, x, jit: bool):
        xj = jnp.asarray(x)
        g = jax.jit(self.g) if jit else self.g
        return lambda: g(xj).block_until_ready()


def reference_value(prog: Callable, x: onp.ndarray) -> float:
    with warnings.catch_warnings(), onp.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return float(prog(REFLIB, x))


def central_diff(f: Callable, x: onp.ndarray) -> onp.ndarray:
    """Richardson-extrapolated central differences of ``f`` (scalar or array valued)."""
    cols = []
    for i in range(x.size):
        h = 1e-3 * max(1.0, abs(x[i]))
        e = onp.zeros_like(x)
        e[i] = 1.0

        def d(h, e=e):
            return (onp.asarray(f(x + h * e)) - onp.asarray(f(x - h * e))) / (2 * h)

        cols.append((4 * d(h / 2) - d(h)) / 3)
    return onp.stack(cols, axis=-1)


def second_diff(f: Callable, x: onp.ndarray) -> onp.ndarray:
    """Richardson-extrapolated second central differences of a scalar ``f`` (a Hessian)."""
    n = x.size
    steps = 1e-3 * onp.maximum(1.0, onp.abs(x))
    hess = onp.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            def d(scale, i=i, j=j):
                ei = onp.eye(n)[i] * steps[i] * scale
                ej = onp.eye(n)[j] * steps[j] * scale
                return (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                    4 * steps[i] * steps[j] * scale**2)

            hess[i, j] = hess[j, i] = (4 * d(0.5) - d(1.0)) / 3
    return hess


def fd_results(prog: Callable, gks: GradkitSide, x: onp.ndarray, order: int) -> dict:
    """What gradkit is compared with where JAX cannot run: NumPy/SciPy's value, central
    differences of it (gradient) and of gradkit's gradient (Hessian)."""
    out = {"value": reference_value(prog, x),
           "grad": central_diff(lambda z: reference_value(prog, z), x)}
    if order > 1:
        hess = central_diff(gks.grad, x)
        out["hess"] = hess if x.size <= HVP_ABOVE else hvp_vectors(x.size) @ hess.T
    return out


FD_TOL = {"value": 1e-12, "grad": 1e-7, "hess": 1e-6}


# --------------------------------------------------------------------------------------
# Running a check
# --------------------------------------------------------------------------------------


def first_line(exc: BaseException) -> str:
    """The exception's type and first line (without JAX's note on filtered frames)."""
    lines = [ln for ln in str(exc).splitlines() if ln.strip() and not ln.startswith(
        ("For simplicity, JAX", "----"))]
    return f"{type(exc).__name__}: {lines[0][:150]}" if lines else type(exc).__name__


def points_of(check: Check, n_random: int) -> list[Point]:
    rng = onp.random.default_rng(_seed(check.name))
    rand = [Point(f"random {i}", onp.asarray(check.draw(rng), dtype=float))
            for i in range(n_random)]
    return rand + list(check.points)


def _seed(name: str) -> int:
    return sum((i + 1) * ord(c) for i, c in enumerate(name))  # stable across runs


@dataclass
class Result:
    point: Point
    got: dict
    want: dict
    peer: str  # "JAX" or "FD"


def evaluate_points(check: Check, gks, jxs, points: list[Point], notes: list[str]
                    ) -> list[Result] | None:
    results = []
    for pt in points:
        try:
            got = gks.evaluate(pt.x, pt.order)
        except Exception as exc:
            notes.append(f"{check.name} at {pt.label}: gradkit raised {first_line(exc)}")
            return None
        try:
            want, peer = jxs.evaluate(pt.x, pt.order), "JAX"
        except Exception as exc:
            check.conv = (f"JAX cannot run it ({first_line(exc)}); gradkit compared with"
                          " NumPy/SciPy's value and central differences")
            want, peer = fd_results(check.prog, gks, pt.x, pt.order), "FD"
            check.peer = "NumPy+FD"
        results.append(Result(pt, got, want, peer))
    return results


def run_check(check: Check, n_random: int, cfg: TimingConfig, time_jax: bool,
              notes: list[str]) -> None:
    """Compare at every point, set the status, add notes; time the gradients."""
    points = points_of(check, n_random)
    gks, jxs = GradkitSide(check.prog), JaxSide(check.prog)
    results = evaluate_points(check, gks, jxs, points, notes)
    if results is None:
        check.status = "ERROR"
        return
    # a quantity's scale: its largest magnitude over the check's points, on either side
    scale = {key: max(magnitude(r.got[key]) for r in results if key in r.got)
             for key in results[0].got}
    convs, verdicts = [], []
    for r in results:
        for key in r.got:
            err = rel_err(r.got[key], r.want[key], scale[key])
            check.errs[key] = max(check.errs[key], err)
            if err <= (check.tol if r.peer == "JAX" else FD_TOL[key]):
                continue
            reason = r.point.conv or (check.conv if r.peer == "JAX" else "")
            if reason:
                convs.append(conv_note(check, r, key, err, reason))
            else:
                verdict, text = diagnose(check, gks, jxs, r, key, err, scale[key])
                verdicts.append(verdict)
                notes.append(text)
    if verdicts:
        check.status = "DIFF " + ",".join(v for v in ("gk", "both", "JAX", "FD", "?")
                                          if v in verdicts)
    else:
        check.status = "CONVENTION" if convs or check.peer != "JAX" else "OK"
        notes.extend(convs)
        if check.peer != "JAX":
            notes.append(f"{check.name}: CONVENTION: {check.conv}")
    time_check(check, gks, jxs, points[0].x, cfg, time_jax and check.peer == "JAX")


def conv_note(check: Check, r: Result, key: str, err: float, reason: str) -> str:
    idx = worst_entry(r.got[key], r.want[key])
    g, w = onp.asarray(r.got[key])[idx], onp.asarray(r.want[key])[idx]
    return (f"{check.name}: CONVENTION at {r.point.label}, {key} (rel diff {err:.1e}): {reason};"
            f" worst entry {idx}: gradkit {g:.6g}, JAX {w:.6g}")


def closer(e_gk: float, e_peer: float, peer: str) -> str:
    """The side the finite differences find wrong: "gk", the peer, "both" or "?".

    Central differences are good to about 1e-9 of the scale here: an error under 1e-6 is
    agreement, and of two such errors the one 100 times larger (and over 1e-11) is off."""
    good_gk, good_peer = e_gk <= 1e-6, e_peer <= 1e-6
    if good_gk != good_peer:
        return peer if good_gk else "gk"
    if not good_gk:
        return "both" if math.isfinite(e_gk) or math.isfinite(e_peer) else "?"
    if e_peer > max(100 * e_gk, 1e-11):
        return peer
    if e_gk > max(100 * e_peer, 1e-11):
        return "gk"
    return "?"


def diagnose(check, gks, jxs, r: Result, key: str, err: float, scale: float
             ) -> tuple[str, str]:
    """Where the two sides disagree, and which agrees with float64 finite differences.

    Returns the side found wrong ("gk", "JAX", or "?") and the note."""
    g, w = onp.asarray(r.got[key], dtype=float), onp.asarray(r.want[key], dtype=float)
    idx = worst_entry(g, w)
    peer, x = r.peer, r.point.x
    lines = [f"{check.name}: DIFF in the {key} at {r.point.label} (x = {fmt_vec(x)}): rel diff"
             f" {err:.2e}, worst entry {idx}: gradkit {g[idx]!r}, {peer} {w[idx]!r}"]
    verdict = "?"
    try:
        if key == "value":
            ref = reference_value(check.prog, x)
            verdict = closer(rel_err(g, ref, scale), rel_err(w, ref, scale), peer)
            lines.append(f"    NumPy/SciPy value: {ref!r}")
        elif key == "grad":
            fd = central_diff(lambda z: reference_value(check.prog, z), x)
            e_gk, e_peer = rel_err(g, fd, scale), rel_err(w, fd, scale)
            verdict = closer(e_gk, e_peer, peer)
            lines.append(f"    central differences of NumPy/SciPy: {fd[idx]!r}; rel err vs them:"
                         f" gradkit {e_gk:.1e}, {peer} {e_peer:.1e}")
        elif x.size <= HVP_ABOVE:
            ref = second_diff(lambda z: reference_value(check.prog, z), x)
            e_gk, e_peer = rel_err(g, ref, scale), rel_err(w, ref, scale)
            verdict = closer(e_gk, e_peer, peer)
            lines.append(f"    second central differences of NumPy/SciPy: {ref[idx]!r}; rel err"
                         f" vs them: gradkit {e_gk:.1e}, {peer} {e_peer:.1e}")
            fd_gk = central_diff(gks.grad, x)
            line = f"    central differences of gradkit's gradient: {fd_gk[idx]!r}"
            if peer == "JAX":
                line += f", of JAX's gradient: {central_diff(jxs.grad, x)[idx]!r}"
            lines.append(line)
    except Exception as exc:
        lines.append(f"    finite differences failed: {first_line(exc)}")
    off = {"gk": "gradkit is off", peer: f"{peer} is off", "both": "both are off",
           "?": "unclear"}[verdict]
    lines[0] += f" -> {off}"
    return verdict, "\n".join(lines)


def fmt_vec(x: onp.ndarray) -> str:
    return "[" + ", ".join(f"{v:.6g}" for v in x) + "]"


def time_check(check: Check, gks: GradkitSide, jxs: JaxSide, x, cfg: TimingConfig,
               time_jax: bool) -> None:
    fns = {"gradkit": gks.timed_grad(x)}
    if time_jax:  # a first eager call compiles each primitive: about 0.4 s a program
        fns["JAX eager"] = jxs.timed_grad(x, jit=False)
        fns["JAX jit"] = jxs.timed_grad(x, jit=True)
    for name, fn in fns.items():
        try:
            check.times[name] = median_ms(fn, cfg)
        except Exception as exc:
            check.times[name] = "error"
            print(f"  timing {check.name} / {name} raised {first_line(exc)}")


# --------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------


def fmt_err(e: float) -> str:
    return "0" if e == 0 else f"{e:.0e}"


def print_table(checks: list[Check]) -> None:
    headers = ["check", "status", "peer", "value", "grad", "hess", "tol", "gk ms",
               "JAX eager ms", "JAX jit ms", "gk/eager", "gk/jit"]
    rows = []
    for c in checks:
        t = c.times
        gkt, ea, jt = t.get("gradkit", "-"), t.get("JAX eager", "-"), t.get("JAX jit", "-")
        rows.append([c.name, c.status, c.peer, *(fmt_err(c.errs[k]) for k in c.errs),
                     f"{c.tol:.0e}", fmt_ms(gkt), fmt_ms(ea), fmt_ms(jt),
                     fmt_ratio(gkt, ea), fmt_ratio(gkt, jt)])
    _harness.print_rows(headers, rows)


def print_summary(checks: list[Check]) -> None:
    counts: dict[str, int] = {}
    for c in checks:
        counts[c.status] = counts.get(c.status, 0) + 1
    print("\n" + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for other in ("JAX eager", "JAX jit"):
        ratios = [c.times["gradkit"] / c.times[other] for c in checks
                  if isinstance(c.times.get("gradkit"), float)
                  and isinstance(c.times.get(other), float)]
        if ratios:
            gmean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
            print(f"gradkit time / {other} time over {len(ratios)} gradients: geometric mean"
                  f" {gmean:.2f}x, min {min(ratios):.2f}x, max {max(ratios):.2f}x")


def print_environment(cfg: TimingConfig) -> None:
    _harness.print_environment(
        (("JAX", "jax"), ("jaxlib", "jaxlib"), ("SciPy", "scipy"), ("gradkit", "gradkit")),
        IMPORT_ERRORS, None,
        f"timing: one gradient call, median of >= {cfg.min_repeats} calls and >= "
        f"{cfg.min_time} s after a warm-up call; cells in ms\n",
    )


def main() -> None:
    quick = _harness.quick_requested(description=__doc__.splitlines()[0])
    cfg = QUICK_TIMING if quick else FULL_TIMING
    print_environment(cfg)
    if IMPORT_ERRORS:
        print("cannot run: " + "; ".join(f"{k}: {v}" for k, v in IMPORT_ERRORS.items()))
        return
    checks = all_checks()
    notes: list[str] = []
    started = time.perf_counter()
    for check in checks:
        run_check(check, 1 if quick else 3, cfg, not quick, notes)
        print(f"  {check.name:<48} {check.status}", flush=True)
    print(f"\n(checked {len(checks)} programs in {time.perf_counter() - started:.0f} s)"
          "\n")
    print_table(checks)
    print_summary(checks)
    _harness.print_notes(notes)


if __name__ == "__main__":
    _harness.run_single_threaded(main)
