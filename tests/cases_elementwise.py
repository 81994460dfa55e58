"""Primitive cases: the elementwise functions of ``gradkit.elementwise``."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradkit.numpy as gnp
from primtable import Ex, case, dom, grid, nonzero, reals, shape


def broadcast_shapes(draw, n):
    return draw(hnp.mutually_broadcastable_shapes(num_shapes=n, max_dims=3,
                                                  max_side=4)).input_shapes


def quotient_pair(draw, sx, sy):
    """x and y with x / y at least 0.2 from every integer: away from the jumps of
    remainder and fmod. x = s (n + 1/2 + j), y = s (+-(1 + e)), |j| <= 0.1, |e| <= 0.05."""
    s = draw(st.sampled_from([0.5, 1.0, 2.5]))
    n = draw(hnp.arrays(np.int64, sx, elements=st.integers(-3, 2))).astype(np.float64)
    x = s * (n + 0.5 + reals(draw, sx, -0.1, 0.1))
    y = s * nonzero(draw, sy, 0.95, 1.05)
    return x, y


def _quotient(name):
    @case(name)
    def _(draw):
        sx, sy = broadcast_shapes(draw, 2)
        return Ex(getattr(gnp, name), quotient_pair(draw, sx, sy), name, getattr(np, name))


for _name in ("remainder", "mod", "fmod"):
    _quotient(_name)


REAL, NONZERO = dom(reals), dom(nonzero, 0.5, 3.0)
BINARY = [
    # name, domain of x, domain of y (grids 0.3 apart: no ties for fmax, fmin)
    ("fmax", dom(grid, 0.0), dom(grid, 0.5)),
    ("fmin", dom(grid, 0.5), dom(grid, 0.0)),
    ("logaddexp2", REAL, REAL),
    ("true_divide", REAL, NONZERO),
]


def _binary(name, dom_x, dom_y):
    @case(name)
    def _(draw):
        sx, sy = broadcast_shapes(draw, 2)
        return Ex(getattr(gnp, name), (dom_x(draw, sx), dom_y(draw, sy)), name,
                  getattr(np, name))


for _name, _dx, _dy in BINARY:
    _binary(_name, _dx, _dy)


def _nan_case(name):
    @case(f"{name}_nan")
    def _(draw):
        """NaN in y at drawn positions: the gradient goes to x there, none to y."""
        sx, sy = broadcast_shapes(draw, 2)
        y = grid(draw, sy, 0.5)
        y = np.where(draw(hnp.arrays(np.bool_, sy)), np.nan, y)
        return Ex(getattr(gnp, name), (grid(draw, sx, 0.0), y), f"{name} with NaN in y",
                  getattr(np, name))


_nan_case("fmax")
_nan_case("fmin")


@case("float_power")
def _(draw):
    """float_power computes in float64 whatever its inputs (as NumPy); the case casts the
    result back to the inputs' dtype so that the float32 checks see float32 cotangents
    reach the float32 inputs (through float_power's own casts)."""
    sx, sy = broadcast_shapes(draw, 2)

    def f(x, y):
        return gnp.astype(gnp.float_power(x, y), x.dtype)

    return Ex(f, (reals(draw, sx, 0.5, 3.0), reals(draw, sy, -2.0, 2.0)),
              "float_power(x, y), cast back to x's dtype", np.float_power)


@case("float_power_int_exponent")
def _(draw):
    k = draw(st.integers(-2, 3))
    return Ex(lambda x: gnp.astype(gnp.float_power(x, k), x.dtype),
              (nonzero(draw, shape(draw), 0.3, 2.5),), f"float_power(x, {k})",
              lambda x: np.float_power(x, k))


@case("heaviside")
def _(draw):
    """Exact zeros of x1 at drawn positions (there the value is x2); x1 elsewhere is away
    from 0. The zeros come from where(), so x1's own perturbations do not cross 0."""
    s1, s2 = broadcast_shapes(draw, 2)
    zero = draw(hnp.arrays(np.bool_, s1))

    def f(x1, x2):
        return gnp.heaviside(gnp.where(zero, 0.0, x1), x2)

    return Ex(f, (nonzero(draw, s1), reals(draw, s2)), "heaviside(where(zero, 0, x1), x2)",
              lambda x1, x2: np.heaviside(np.where(zero, 0.0, x1), x2))


UNARY = [
    # name, domain
    ("sinc", dom(reals, -3.0, 3.0)),
    ("deg2rad", REAL),
    ("rad2deg", REAL),
    ("degrees", REAL),
    ("radians", REAL),
    ("fabs", dom(nonzero, 0.2, 3.0)),
    ("real", REAL),
    ("imag", REAL),
    ("conj", REAL),
    ("conjugate", REAL),
    ("real_if_close", REAL),
    ("angle", dom(nonzero, 0.2, 3.0)),
]


def _unary(name, domain):
    @case(name)
    def _(draw):
        return Ex(getattr(gnp, name), (domain(draw, shape(draw)),), name, getattr(np, name))


for _name, _domain in UNARY:
    _unary(_name, _domain)


@case("sinc_near_zero")
def _(draw):
    """Both sides of the switch between sinc's series (|pi x| < 0.3) and closed form."""
    return Ex(gnp.sinc, (reals(draw, shape(draw), -0.2, 0.2),), "sinc near 0", np.sinc)


@case("angle_deg")
def _(draw):
    return Ex(lambda z: gnp.angle(z, deg=True), (nonzero(draw, shape(draw), 0.2, 3.0),),
              "angle(z, deg=True)", lambda z: np.angle(z, deg=True))


@case("nan_to_num")
def _(draw):
    """NaN, +inf and -inf at drawn positions; the gradient is 0 there."""
    shp = shape(draw)
    x = reals(draw, shp)
    kind = draw(hnp.arrays(np.int64, shp, elements=st.integers(0, 5)))
    x = np.select([kind == 1, kind == 2, kind == 3], [np.nan, np.inf, -np.inf], x)
    # finite replacements: the default (the largest float) would overflow the finite
    # differences; the targeted tests check the defaults
    kw = draw(st.sampled_from([{"posinf": 7.0, "neginf": -7.0},
                               {"nan": 1.5, "posinf": 1e3, "neginf": -2.0},
                               {"nan": -2.0, "posinf": 3.0, "neginf": -3.0}]))
    return Ex(lambda x: gnp.nan_to_num(x, **kw), (x,), f"nan_to_num(**{kw})",
              lambda x: np.nan_to_num(x, **kw))
