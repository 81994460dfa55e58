"""Primitive cases: gradkit.scipy.special and gradkit.scipy.stats.norm.

References are SciPy's own functions; constants that are not differentiated (orders,
shape parameters) are cast to the argument's dtype so that float32 runs stay float32.
"""

from __future__ import annotations

import scipy.special as sc
import scipy.stats as ss
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gradkit.scipy import special as gs
from gradkit.scipy.stats import norm as gnorm
from primtable import Ex, axis_arg, case, dom, nonzero, reals, shape

# -- one argument ---------------------------------------------------------------------------

UNARY = [
    # name, domain of the values
    ("expit", dom(reals, -6.0, 6.0)),
    ("logit", dom(reals, 0.2, 0.8)),
    ("log_expit", dom(reals, -6.0, 6.0)),
    ("erf", dom(reals, -2.5, 2.5)),
    ("erfc", dom(reals, -2.5, 2.5)),
    ("erfcx", dom(reals, -1.5, 3.0)),
    ("erfinv", dom(reals, -0.8, 0.8)),
    ("erfcinv", dom(reals, 0.2, 1.8)),
    ("ndtr", dom(reals, -3.0, 3.0)),
    ("log_ndtr", dom(reals, -6.0, 3.0)),
    ("ndtri", dom(reals, 0.2, 0.8)),
    ("ndtri_exp", dom(reals, -3.0, -0.2)),
    ("gamma", dom(reals, 0.5, 4.0)),
    ("gammaln", dom(reals, 0.5, 5.0)),
    ("loggamma", dom(reals, 0.5, 5.0)),
    ("rgamma", dom(reals, 0.5, 4.0)),
    ("digamma", dom(reals, 0.5, 5.0)),
    ("entr", dom(reals, 0.2, 3.0)),
    ("exp1", dom(reals, 0.3, 3.0)),
    ("expi", dom(nonzero, 0.3, 3.0)),
    ("i0", dom(reals, -3.0, 3.0)),
    ("i1", dom(reals, -3.0, 3.0)),
    ("i0e", dom(nonzero, 0.2, 3.0)),  # kink of exp(-|x|) at 0
    ("i1e", dom(nonzero, 0.2, 3.0)),
    ("j0", dom(reals, -5.0, 5.0)),
    ("j1", dom(reals, -5.0, 5.0)),
    ("y0", dom(reals, 0.5, 5.0)),
    ("y1", dom(reals, 0.5, 5.0)),
    ("k0", dom(reals, 0.5, 4.0)),
    ("k1", dom(reals, 0.5, 4.0)),
]


def _unary(name, domain):
    @case(f"scipy.special.{name}")
    def _(draw):
        return Ex(getattr(gs, name), (domain(draw, shape(draw)),), name, getattr(sc, name))


for _name, _domain in UNARY:
    _unary(_name, _domain)


@case("scipy.special.polygamma")
def _(draw):
    n = draw(st.integers(0, 3))
    return Ex(lambda x: gs.polygamma(n, x), (reals(draw, shape(draw), 0.5, 5.0),),
              f"polygamma({n}, x)", lambda x: sc.polygamma(n, x))


@case("scipy.special.multigammaln")
def _(draw):
    d = draw(st.integers(1, 3))
    return Ex(lambda a: gs.multigammaln(a, d), (reals(draw, shape(draw), d / 2 + 0.3, 4.0),),
              f"multigammaln(a, {d})", lambda a: sc.multigammaln(a, d))


def _order(name, orders, domain):
    @case(f"scipy.special.{name}")
    def _(draw):
        v = draw(st.sampled_from(orders))
        fn, ref = getattr(gs, name), getattr(sc, name)
        return Ex(lambda x: fn(v, x), (domain(draw, shape(draw)),), f"{name}({v}, x)",
                  lambda x: ref(v, x))


for _name, _orders in [("iv", (0, 1, 1.5, 2)), ("ive", (0, 1, 2.5)), ("jv", (0, 1, 1.5, 3)),
                       ("yv", (0, 0.5, 2)), ("yn", (0, 1, 2)), ("kv", (0, 1, 1.5))]:
    _order(_name, _orders, dom(reals, 0.6, 4.0))


# -- two arguments, broadcast against each other ---------------------------------------------


def _pair_shapes(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
    return shapes.input_shapes


BINARY = [
    # name, domain of x, domain of y
    ("beta", dom(reals, 0.5, 3.0), dom(reals, 0.5, 3.0)),
    ("betaln", dom(reals, 0.5, 3.0), dom(reals, 0.5, 3.0)),
    ("xlogy", dom(reals, -2.0, 2.0), dom(reals, 0.3, 3.0)),
    ("xlog1py", dom(reals, -2.0, 2.0), dom(reals, -0.6, 3.0)),
    ("rel_entr", dom(reals, 0.2, 3.0), dom(reals, 0.2, 3.0)),
    ("kl_div", dom(reals, 0.2, 3.0), dom(reals, 0.2, 3.0)),
]


def _binary(name, dx, dy):
    @case(f"scipy.special.{name}")
    def _(draw):
        sx, sy = _pair_shapes(draw)
        return Ex(getattr(gs, name), (dx(draw, sx), dy(draw, sy)), name, getattr(sc, name))


for _name, _dx, _dy in BINARY:
    _binary(_name, _dx, _dy)


def _incomplete(name, nparams, lo, hi):
    """Differentiable in x only: the shape parameters are constants of the case."""

    @case(f"scipy.special.{name}")
    def _(draw):
        shp = shape(draw)
        params = [reals(draw, shp, 0.6, 3.0) for _ in range(nparams)]
        fn, ref = getattr(gs, name), getattr(sc, name)
        return Ex(lambda x: fn(*[p.astype(x.dtype) for p in params], x),
                  (reals(draw, shp, lo, hi),), name, lambda x: ref(*params, x))


_incomplete("gammainc", 1, 0.3, 4.0)
_incomplete("gammaincc", 1, 0.3, 4.0)
_incomplete("betainc", 2, 0.1, 0.9)
_incomplete("betaincc", 2, 0.1, 0.9)


# -- reductions over axes ------------------------------------------------------------------------


@case("scipy.special.logsumexp")
def _(draw):
    shp = shape(draw)
    axis = axis_arg(draw, len(shp))
    keepdims = draw(st.booleans())
    return Ex(lambda a: gs.logsumexp(a, axis=axis, keepdims=keepdims),
              (reals(draw, shp, -3.0, 3.0),), f"logsumexp(axis={axis}, keepdims={keepdims})",
              lambda a: sc.logsumexp(a, axis=axis, keepdims=keepdims))


@case("scipy.special.logsumexp_b")
def _(draw):
    sa, sb = _pair_shapes(draw)
    ndim = max(len(sa), len(sb))
    axis = axis_arg(draw, ndim)
    keepdims = draw(st.booleans())
    return Ex(lambda a, b: gs.logsumexp(a, axis=axis, b=b, keepdims=keepdims),
              (reals(draw, sa, -3.0, 3.0), reals(draw, sb, 0.2, 2.0)),
              f"logsumexp(axis={axis}, b, keepdims={keepdims})",
              lambda a, b: sc.logsumexp(a, axis=axis, b=b, keepdims=keepdims))


def _softmax(name):
    @case(f"scipy.special.{name}")
    def _(draw):
        shp = shape(draw)
        axis = axis_arg(draw, len(shp))
        fn, ref = getattr(gs, name), getattr(sc, name)
        return Ex(lambda x: fn(x, axis=axis), (reals(draw, shp, -3.0, 3.0),),
                  f"{name}(axis={axis})", lambda x: ref(x, axis=axis))


_softmax("softmax")
_softmax("log_softmax")


# -- scipy.stats.norm -----------------------------------------------------------------------------


def _norm(name, lo, hi):
    fn, ref = getattr(gnorm, name), getattr(ss.norm, name)

    @case(f"scipy.stats.norm.{name}")
    def _(draw):
        shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3))
        sx, sloc, sscale = shapes.input_shapes
        return Ex(fn, (reals(draw, sx, lo, hi), reals(draw, sloc, -1.0, 1.0),
                       reals(draw, sscale, 0.5, 2.0)), f"norm.{name}(x, loc, scale)", ref)

    @case(f"scipy.stats.norm.{name}_standard")
    def _(draw):
        return Ex(fn, (reals(draw, shape(draw), lo, hi),), f"norm.{name}(x)", ref)


for _name in ("pdf", "logpdf", "cdf", "logcdf", "sf", "logsf"):
    _norm(_name, -3.0, 3.0)
for _name in ("ppf", "isf"):
    _norm(_name, 0.2, 0.8)
