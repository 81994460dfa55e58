"""Derivatives of every primitive of ``gradkit.numpy``, checked on shapes drawn by hypothesis.

One table of cases (``CASES``): each draws a function and its arguments, values taken
from the primitive's own domain, away from kinks, ties, poles and singular matrices
(those points have targeted tests at the end of the file). Every case then goes through

* ``check_grads`` to second order, reverse and forward mode, in float64;
* the batched Jacobians (``mode="rev"`` and ``mode="fwd"``), compared with each other
  and with the Jacobian built row by row from single VJPs, and the traced value
  compared with NumPy's;
* float32 inputs, asserting that every value, cotangent and tangent stays float32, to
  second order.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradkit as gk
import gradkit.numpy as gnp

settings.register_profile(
    "gradkit-primitives",
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile("gradkit-primitives")

F32 = np.dtype(np.float32)


# -- the drawn example ---------------------------------------------------------------------


@dataclass(frozen=True)
class Ex:
    """A function of float arrays, its arguments, and optionally NumPy's version of it."""

    f: Callable
    args: tuple
    note: str = ""
    ref: Callable | None = None


CASES: dict = {}


def case(name: str):
    """Register a composite strategy (``draw -> Ex``) under ``name``."""

    def register(fn):
        CASES[name] = st.composite(fn)()
        return fn

    return register


# -- value and shape helpers ---------------------------------------------------------------


def shape(draw, min_dims=0, max_dims=3, min_side=1, max_side=4) -> tuple:
    return draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                                 max_side=max_side))


def reals(draw, shp, lo=-3.0, hi=3.0) -> np.ndarray:
    return draw(hnp.arrays(np.float64, shp, elements=st.floats(lo, hi)))


def nonzero(draw, shp, lo=0.3, hi=3.0) -> np.ndarray:
    """Magnitudes in [lo, hi], either sign: away from the kink or pole at 0."""
    mag = reals(draw, shp, lo, hi)
    neg = draw(hnp.arrays(np.bool_, shp))
    return np.where(neg, -mag, mag)


def distinct(draw, shp, step=0.3, positive=False) -> np.ndarray:
    """Values at least ``step / 2`` apart: no ties for max, min, sort."""
    n = math.prod(shp)
    perm = np.array(draw(st.permutations(range(n))), dtype=np.float64).reshape(shp)
    noise = reals(draw, shp, 0.0, 0.5)
    if positive:
        return (perm + 1.0 + noise) * step
    return (perm - n / 2 + noise) * step


def distinct_nonzero(draw, shp, step=0.3) -> np.ndarray:
    """Distinct magnitudes, either sign: no ties in |x| and no kink of |x|."""
    mag = distinct(draw, shp, step, positive=True)
    neg = draw(hnp.arrays(np.bool_, shp))
    return np.where(neg, -mag, mag)


def grid(draw, shp, offset) -> np.ndarray:
    """Integers (plus ``offset``) jittered by at most 0.1: two grids with offsets 0 and 0.5
    stay at least 0.3 apart, so maximum, minimum and clip never see a tie."""
    ints = draw(hnp.arrays(np.int64, shp, elements=st.integers(-3, 3))).astype(np.float64)
    return ints + offset + reals(draw, shp, -0.1, 0.1)


def axis_arg(draw, ndim, none=True, tuples=True):
    options = [st.none()] if none or ndim == 0 else []
    if ndim:
        options.append(st.integers(-ndim, ndim - 1))
        if tuples:
            options.append(hnp.valid_tuple_axes(ndim, min_size=1))
    return draw(st.one_of(options))


def reduced_count(shp, axis) -> int:
    if axis is None:
        return math.prod(shp)
    axes = (axis,) if isinstance(axis, int) else axis
    return math.prod(shp[a] for a in axes)


def well_conditioned(draw, batch, n) -> np.ndarray:
    """Strictly diagonally dominant (every eigenvalue at least 1 from 0), rows of either
    sign so that determinants of both signs occur."""
    m = reals(draw, batch + (n, n), -1.0, 1.0)
    signs = np.where(draw(hnp.arrays(np.bool_, batch + (n, 1))), -1.0, 1.0)
    return signs * (m + (n + 1.0) * np.eye(n))


def dom(values, *bounds):
    """A domain: ``draw, shape -> array``, from one of the helpers above and its bounds."""
    return lambda draw, shp: values(draw, shp, *bounds)


def eye_like(a, n):
    return np.eye(n, dtype=a.dtype)


# -- elementwise, one argument -------------------------------------------------------------

UNARY = [
    # name, function, domain of the values
    ("negative", gnp.negative, dom(reals, -3.0, 3.0)),
    ("positive", gnp.positive, dom(reals, -3.0, 3.0)),
    ("abs", gnp.abs, dom(nonzero, 0.2, 3.0)),
    ("sqrt", gnp.sqrt, dom(reals, 0.3, 4.0)),
    ("cbrt", gnp.cbrt, dom(nonzero, 0.3, 4.0)),
    ("exp", gnp.exp, dom(reals, -3.0, 3.0)),
    ("expm1", gnp.expm1, dom(reals, -3.0, 3.0)),
    ("exp2", gnp.exp2, dom(reals, -3.0, 3.0)),
    ("log", gnp.log, dom(reals, 0.3, 5.0)),
    ("log1p", gnp.log1p, dom(reals, -0.7, 4.0)),
    ("log2", gnp.log2, dom(reals, 0.3, 5.0)),
    ("log10", gnp.log10, dom(reals, 0.3, 5.0)),
    ("sin", gnp.sin, dom(reals, -4.0, 4.0)),
    ("cos", gnp.cos, dom(reals, -4.0, 4.0)),
    ("tan", gnp.tan, dom(reals, -1.2, 1.2)),
    ("arcsin", gnp.arcsin, dom(reals, -0.85, 0.85)),
    ("arccos", gnp.arccos, dom(reals, -0.85, 0.85)),
    ("arctan", gnp.arctan, dom(reals, -4.0, 4.0)),
    ("sinh", gnp.sinh, dom(reals, -3.0, 3.0)),
    ("cosh", gnp.cosh, dom(reals, -3.0, 3.0)),
    ("tanh", gnp.tanh, dom(reals, -3.0, 3.0)),
    ("arcsinh", gnp.arcsinh, dom(reals, -4.0, 4.0)),
    ("arccosh", gnp.arccosh, dom(reals, 1.2, 4.0)),
    ("arctanh", gnp.arctanh, dom(reals, -0.85, 0.85)),
    ("square", gnp.square, dom(reals, -3.0, 3.0)),
    ("reciprocal", gnp.reciprocal, dom(nonzero, 0.3, 3.0)),
    ("sigmoid", gnp.sigmoid, dom(reals, -6.0, 6.0)),
    ("softplus", gnp.softplus, dom(reals, -6.0, 6.0)),
    ("relu", gnp.relu, dom(nonzero, 0.2, 3.0)),
]

NUMPY_REF = {"sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
             "softplus": lambda x: np.log1p(np.exp(x)),
             "relu": lambda x: np.maximum(x, 0.0)}


def _unary(name, fn, domain):
    ref = NUMPY_REF.get(name, getattr(np, name, None))

    @case(name)
    def _(draw):
        return Ex(fn, (domain(draw, shape(draw)),), name, ref)


for _name, _fn, _domain in UNARY:
    _unary(_name, _fn, _domain)


@case("power_int_exponent")
def _(draw):
    k = draw(st.integers(-2, 4))
    return Ex(lambda x: x ** k, (nonzero(draw, shape(draw), 0.3, 2.5),), f"x ** {k}",
              lambda x: x ** k)


@case("power_float_exponent")
def _(draw):
    p = draw(st.sampled_from([0.5, 1.5, -0.75, 2.5]))
    return Ex(lambda x: x ** p, (reals(draw, shape(draw), 0.3, 3.0),), f"x ** {p}",
              lambda x: x ** p)


@case("power_constant_base")
def _(draw):
    b = draw(st.sampled_from([0.5, 2.0, 3.0]))
    return Ex(lambda x: b ** x, (reals(draw, shape(draw), -2.0, 2.0),), f"{b} ** x",
              lambda x: b ** x)


# -- elementwise, two arguments, broadcasting ------------------------------------------------


REAL, NONZERO = dom(reals), dom(nonzero, 0.5, 3.0)
BINARY = [
    # name, function, domain of x, domain of y
    ("add", gnp.add, REAL, REAL),
    ("subtract", gnp.subtract, REAL, REAL),
    ("multiply", gnp.multiply, REAL, REAL),
    ("divide", gnp.divide, REAL, NONZERO),
    ("power", gnp.power, dom(reals, 0.5, 3.0), dom(reals, -2.0, 2.0)),
    # grids 0.3 apart: no ties
    ("maximum", gnp.maximum, dom(grid, 0.0), dom(grid, 0.5)),
    ("minimum", gnp.minimum, dom(grid, 0.5), dom(grid, 0.0)),
    # both arguments away from 0: away from the origin and from the branch cut
    ("arctan2", gnp.arctan2, NONZERO, NONZERO),
    ("hypot", gnp.hypot, NONZERO, REAL),
    ("logaddexp", gnp.logaddexp, REAL, REAL),
]


def broadcast_shapes(draw, n):
    return draw(hnp.mutually_broadcastable_shapes(num_shapes=n, max_dims=3,
                                                  max_side=4)).input_shapes


def _binary(name, fn, dom_x, dom_y):
    @case(name)
    def _(draw):
        sx, sy = broadcast_shapes(draw, 2)
        return Ex(fn, (dom_x(draw, sx), dom_y(draw, sy)), name, getattr(np, name))


for _name, _fn, _dx, _dy in BINARY:
    _binary(_name, _fn, _dx, _dy)


@case("tensor_operators")
def _(draw):
    sx, sy = broadcast_shapes(draw, 2)

    def f(x, y):
        return (x + y) * x - y / x + (-x) ** 2 - 1.5 * y + abs(y)

    return Ex(f, (nonzero(draw, sx, 0.5, 2.0), nonzero(draw, sy, 0.5, 2.0)),
              "operators", f)


@case("where")
def _(draw):
    sc, sx, sy = broadcast_shapes(draw, 3)
    cond = draw(hnp.arrays(np.bool_, sc))
    return Ex(lambda x, y: gnp.where(cond, x, y), (reals(draw, sx), reals(draw, sy)),
              "where", lambda x, y: np.where(cond, x, y))


@case("clip")
def _(draw):
    sx, slo, shi = broadcast_shapes(draw, 3)
    x = grid(draw, sx, 0.5)
    lo = draw(hnp.arrays(np.float64, slo, elements=st.sampled_from([-2.0, -1.0])))
    hi = draw(hnp.arrays(np.float64, shi, elements=st.sampled_from([1.0, 2.0])))
    lo = lo + reals(draw, slo, -0.1, 0.1)
    hi = hi + reals(draw, shi, -0.1, 0.1)
    return Ex(gnp.clip, (x, lo, hi), "clip(x, lo, hi)", np.clip)


@case("clip_constant_bounds")
def _(draw):
    x = grid(draw, shape(draw), 0.5)
    lo, hi = draw(st.sampled_from([(-1.0, 2.0), (None, 1.0), (-2.0, None)]))
    return Ex(lambda x: gnp.clip(x, lo, hi), (x,), f"clip(x, {lo}, {hi})",
              lambda x: np.clip(x, lo, hi))


# -- reductions ---------------------------------------------------------------------------


REDUCTIONS = [
    # name, gradkit function, NumPy function, domain, maximum side
    ("sum", gnp.sum, np.sum, REAL, 4),
    ("mean", gnp.mean, np.mean, REAL, 4),
    ("prod", gnp.prod, np.prod, dom(nonzero, 0.5, 1.5), 3),
    ("max", gnp.max, np.max, dom(distinct), 4),
    ("min", gnp.min, np.min, dom(distinct), 4),
]


def _reduction(name, fn, ref, values, max_side):
    @case(name)
    def _(draw):
        shp = shape(draw, max_side=max_side)
        axis = axis_arg(draw, len(shp))
        keepdims = draw(st.booleans())
        return Ex(lambda x: fn(x, axis=axis, keepdims=keepdims), (values(draw, shp),),
                  f"{name}(axis={axis}, keepdims={keepdims})",
                  lambda x: ref(x, axis=axis, keepdims=keepdims))


for _args in REDUCTIONS:
    _reduction(*_args)


def _moment(name, fn, ref):
    @case(name)
    def _(draw):
        shp = shape(draw, min_dims=1, min_side=2, max_side=4)
        axis = axis_arg(draw, len(shp))
        keepdims = draw(st.booleans())
        ddof = draw(st.sampled_from([0, 1]))
        assert reduced_count(shp, axis) > ddof
        return Ex(lambda x: fn(x, axis=axis, ddof=ddof, keepdims=keepdims),
                  (distinct(draw, shp),), f"{name}(axis={axis}, ddof={ddof}, "
                  f"keepdims={keepdims})",
                  lambda x: ref(x, axis=axis, ddof=ddof, keepdims=keepdims))


_moment("var", gnp.var, np.var)
_moment("std", gnp.std, np.std)


@case("cumsum")
def _(draw):
    shp = shape(draw)
    axis = axis_arg(draw, len(shp), tuples=False)
    return Ex(lambda x: gnp.cumsum(x, axis=axis), (reals(draw, shp),), f"cumsum(axis={axis})",
              lambda x: np.cumsum(x, axis=axis))


def np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def np_softmax(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


@case("logsumexp")
def _(draw):
    shp = shape(draw)
    axis = axis_arg(draw, len(shp))
    keepdims = draw(st.booleans())
    return Ex(lambda x: gnp.logsumexp(x, axis=axis, keepdims=keepdims), (reals(draw, shp),),
              f"logsumexp(axis={axis}, keepdims={keepdims})",
              lambda x: np_logsumexp(x, axis=axis, keepdims=keepdims))


@case("softmax")
def _(draw):
    shp = shape(draw, min_dims=1)
    axis = axis_arg(draw, len(shp), none=False)
    return Ex(lambda x: gnp.softmax(x, axis=axis), (reals(draw, shp),), f"softmax(axis={axis})",
              lambda x: np_softmax(x, axis))


@case("log_softmax")
def _(draw):
    shp = shape(draw, min_dims=1)
    axis = axis_arg(draw, len(shp), none=False)
    return Ex(lambda x: gnp.log_softmax(x, axis=axis), (reals(draw, shp),),
              f"log_softmax(axis={axis})", lambda x: np.log(np_softmax(x, axis)))


# -- shape -------------------------------------------------------------------------------


@case("reshape")
def _(draw):
    shp = shape(draw)
    n = math.prod(shp)
    target = draw(st.sampled_from([(n,), (-1,), shp[::-1], (1,) + shp + (1,),
                                   (n, 1), (1, -1)]))
    return Ex(lambda x: gnp.reshape(x, target), (reals(draw, shp),), f"reshape({target})",
              lambda x: np.reshape(x, target))


@case("transpose")
def _(draw):
    shp = shape(draw)
    nd = len(shp)
    axes = draw(st.none() | st.permutations(range(nd)).map(
        lambda p: tuple(a - nd if a % 2 else a for a in p)))
    return Ex(lambda x: gnp.transpose(x, axes), (reals(draw, shp),), f"transpose({axes})",
              lambda x: np.transpose(x, axes))


@case("swapaxes")
def _(draw):
    shp = shape(draw, min_dims=1)
    i, j = draw(st.tuples(*[st.integers(-len(shp), len(shp) - 1)] * 2))
    return Ex(lambda x: gnp.swapaxes(x, i, j), (reals(draw, shp),), f"swapaxes({i}, {j})",
              lambda x: np.swapaxes(x, i, j))


@case("moveaxis")
def _(draw):
    shp = shape(draw, min_dims=1)
    nd = len(shp)
    k = draw(st.integers(1, nd))
    src = draw(st.permutations(range(nd)))[:k]
    dst = draw(st.permutations(range(-nd, 0)))[:k]
    if k == 1 and draw(st.booleans()):
        src, dst = src[0], dst[0]
    return Ex(lambda x: gnp.moveaxis(x, src, dst), (reals(draw, shp),),
              f"moveaxis({src}, {dst})", lambda x: np.moveaxis(x, src, dst))


@case("expand_dims")
def _(draw):
    shp = shape(draw)
    k = draw(st.integers(1, 2))
    out_nd = len(shp) + k
    axes = tuple(a - out_nd if draw(st.booleans()) else a
                 for a in draw(st.permutations(range(out_nd)))[:k])
    axis = axes[0] if k == 1 else axes
    return Ex(lambda x: gnp.expand_dims(x, axis), (reals(draw, shp),), f"expand_dims({axis})",
              lambda x: np.expand_dims(x, axis))


@case("squeeze")
def _(draw):
    shp = shape(draw, max_side=2)
    ones = [i for i, s in enumerate(shp) if s == 1]
    axis = draw(st.none() | st.sets(st.sampled_from(ones), min_size=1).map(tuple)
                if ones else st.none())
    if axis is not None and len(axis) == 1 and draw(st.booleans()):
        axis = axis[0] - len(shp)
    return Ex(lambda x: gnp.squeeze(x, axis), (reals(draw, shp),), f"squeeze({axis})",
              lambda x: np.squeeze(x, axis))


@case("ravel")
def _(draw):
    return Ex(gnp.ravel, (reals(draw, shape(draw)),), "ravel", np.ravel)


@case("broadcast_to")
def _(draw):
    target = shape(draw)
    shp = draw(hnp.broadcastable_shapes(target, max_dims=3, max_side=4))
    target = np.broadcast_shapes(target, shp)
    return Ex(lambda x: gnp.broadcast_to(x, target), (reals(draw, shp),),
              f"broadcast_to({target})", lambda x: np.broadcast_to(x, target))


@case("concatenate")
def _(draw):
    n = draw(st.integers(1, 3))
    if draw(st.booleans()):  # axis=None: any shapes, flattened
        shapes = [shape(draw) for _ in range(n)]
        axis = None
    else:
        base = shape(draw, min_dims=1)
        axis = draw(st.integers(-len(base), len(base) - 1))
        shapes = [base[:axis % len(base)] + (draw(st.integers(1, 3)),)
                  + base[axis % len(base) + 1:] for _ in range(n)]
    return Ex(lambda *xs: gnp.concatenate(xs, axis=axis),
              tuple(reals(draw, s) for s in shapes), f"concatenate(axis={axis})",
              lambda *xs: np.concatenate(xs, axis=axis))


@case("stack")
def _(draw):
    n = draw(st.integers(1, 3))
    shp = shape(draw)
    axis = draw(st.integers(-len(shp) - 1, len(shp)))
    return Ex(lambda *xs: gnp.stack(xs, axis=axis), tuple(reals(draw, shp) for _ in range(n)),
              f"stack(axis={axis})", lambda *xs: np.stack(xs, axis=axis))


@case("split")
def _(draw):
    shp = shape(draw, min_dims=1, max_side=6)
    axis = draw(st.integers(-len(shp), len(shp) - 1))
    n = shp[axis]
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    sections = draw(st.sampled_from(divisors)
                    | st.lists(st.integers(0, n), max_size=3).map(sorted))

    def combine(pieces, ravel, concatenate):
        return concatenate([ravel(p) * (k + 1.0) for k, p in enumerate(pieces)])

    return Ex(lambda x: combine(gnp.split(x, sections, axis), gnp.ravel, gnp.concatenate),
              (reals(draw, shp),), f"split({sections}, axis={axis})",
              lambda x: combine(np.split(x, sections, axis), np.ravel, np.concatenate))


@case("tile")
def _(draw):
    shp = shape(draw)
    reps = draw(st.integers(1, 3) | st.lists(st.integers(1, 3), min_size=1, max_size=4)
                .map(tuple))
    return Ex(lambda x: gnp.tile(x, reps), (reals(draw, shp),), f"tile({reps})",
              lambda x: np.tile(x, reps))


@case("repeat")
def _(draw):
    shp = shape(draw)
    axis = axis_arg(draw, len(shp), tuples=False)
    n = math.prod(shp) if axis is None else shp[axis]
    repeats = draw(st.integers(0, 3) | hnp.arrays(np.int64, (n,), elements=st.integers(0, 2)))
    return Ex(lambda x: gnp.repeat(x, repeats, axis=axis), (reals(draw, shp),),
              f"repeat({repeats!r}, axis={axis})", lambda x: np.repeat(x, repeats, axis=axis))


def _pad(mode):
    @case(f"pad_{mode}")
    def _(draw):
        shp = shape(draw, min_dims=1)
        nd = len(shp)
        width = st.integers(0, 3)
        pad_width = draw(width | st.tuples(width, width)
                         | st.tuples(*[st.tuples(width, width)] * nd))
        kw = {"constant_values": draw(st.sampled_from([0.0, 1.5]))} if mode == "constant" else {}
        return Ex(lambda x: gnp.pad(x, pad_width, mode=mode, **kw), (reals(draw, shp),),
                  f"pad({pad_width}, mode={mode}, {kw})",
                  lambda x: np.pad(x, pad_width, mode=mode, **kw))


for _mode in ("constant", "edge", "reflect", "symmetric", "wrap"):
    _pad(_mode)


@case("flip")
def _(draw):
    shp = shape(draw)
    axis = axis_arg(draw, len(shp))
    return Ex(lambda x: gnp.flip(x, axis), (reals(draw, shp),), f"flip({axis})",
              lambda x: np.flip(x, axis))


@case("roll")
def _(draw):
    shp = shape(draw)
    axis = axis_arg(draw, len(shp))
    if isinstance(axis, tuple) and draw(st.booleans()):
        shift = tuple(draw(st.lists(st.integers(-5, 5), min_size=len(axis),
                                    max_size=len(axis))))
    else:
        shift = draw(st.integers(-5, 5))
    return Ex(lambda x: gnp.roll(x, shift, axis), (reals(draw, shp),),
              f"roll({shift}, axis={axis})", lambda x: np.roll(x, shift, axis))


def _triangle(name):
    @case(name)
    def _(draw):
        shp = shape(draw, min_dims=2)
        k = draw(st.integers(-3, 3))
        return Ex(lambda x: getattr(gnp, name)(x, k), (reals(draw, shp),), f"{name}(k={k})",
                  lambda x: getattr(np, name)(x, k))


_triangle("triu")
_triangle("tril")


@case("diag")
def _(draw):
    shp = shape(draw, min_dims=1, max_dims=2)
    k = draw(st.integers(-3, 3))
    return Ex(lambda x: gnp.diag(x, k), (reals(draw, shp),), f"diag(k={k})",
              lambda x: np.diag(x, k))


def _diagonal(name):
    @case(name)
    def _(draw):
        shp = shape(draw, min_dims=2)
        nd = len(shp)
        offset = draw(st.integers(-2, 2))
        a1, a2 = draw(st.permutations(range(nd)))[:2]
        a1 -= nd * draw(st.booleans())
        a2 -= nd * draw(st.booleans())
        return Ex(lambda x: getattr(gnp, name)(x, offset, a1, a2), (reals(draw, shp),),
                  f"{name}(offset={offset}, axis1={a1}, axis2={a2})",
                  lambda x: getattr(np, name)(x, offset, a1, a2))


_diagonal("diagonal")
_diagonal("trace")


@case("sort")
def _(draw):
    shp = shape(draw)
    axis = draw(st.none() | st.integers(-len(shp), len(shp) - 1)) if shp else None
    return Ex(lambda x: gnp.sort(x, axis), (distinct(draw, shp),), f"sort(axis={axis})",
              lambda x: np.sort(x, axis))


@case("take")
def _(draw):
    shp = shape(draw)
    axis = axis_arg(draw, len(shp), tuples=False)
    n = math.prod(shp) if axis is None else shp[axis]
    idx_shape = shape(draw, max_dims=2)
    indices = draw(hnp.arrays(np.int64, idx_shape, elements=st.integers(-n, n - 1)))
    return Ex(lambda x: gnp.take(x, indices, axis=axis), (reals(draw, shp),),
              f"take({indices.tolist()}, axis={axis})",
              lambda x: np.take(x, indices, axis=axis))


@case("take_along_axis")
def _(draw):
    shp = shape(draw, min_dims=1)
    nd = len(shp)
    axis = draw(st.integers(-nd, nd - 1))
    idx_shape = tuple(draw(st.integers(1, 4)) if d == axis % nd else
                      draw(st.sampled_from([1, s])) for d, s in enumerate(shp))
    n = shp[axis]
    indices = draw(hnp.arrays(np.int64, idx_shape, elements=st.integers(-n, n - 1)))
    return Ex(lambda x: gnp.take_along_axis(x, indices, axis), (reals(draw, shp),),
              f"take_along_axis({indices.tolist()}, axis={axis})",
              lambda x: np.take_along_axis(x, indices, axis))


def _basic_component(draw, n):
    if draw(st.integers(0, 3)) == 0:
        return draw(st.integers(-n, n - 1))
    bound = st.none() | st.integers(-n - 1, n + 1)
    return slice(draw(bound), draw(bound), draw(st.sampled_from([None, 1, 2, -1, -2])))


def _getitem(kind):
    @case(f"getitem_{kind}")
    def _(draw):
        return draw_index(draw, kind)


def draw_index(draw, kind):
    """x[index]: slices with negative steps, integers, integer arrays, boolean masks,
    None and Ellipsis, advanced indices next to each other or apart."""
    shp = shape(draw, min_dims=1)
    nd = len(shp)
    comps = [_basic_component(draw, n) for n in shp]
    if kind == "arrays":
        idx_shape = shape(draw, min_dims=1, max_dims=2, max_side=3)
        for ax in draw(st.sets(st.integers(0, nd - 1), min_size=1)):
            comps[ax] = draw(hnp.arrays(np.int64, draw(st.sampled_from([idx_shape, (1,)])),
                                        elements=st.integers(-shp[ax], shp[ax] - 1)))
    elif kind == "mask":
        ax = draw(st.integers(0, nd - 1))
        comps[ax] = draw(hnp.arrays(np.bool_, (shp[ax],)))
    elif kind == "full_mask":
        k = draw(st.integers(1, nd))
        comps[:k] = [draw(hnp.arrays(np.bool_, shp[:k]))]
    if draw(st.booleans()):  # the components [p, q) become an Ellipsis
        p = draw(st.integers(0, len(comps)))
        q = draw(st.integers(p, len(comps)))
        comps[p:q] = [Ellipsis]
    for _ in range(draw(st.integers(0, 2))):
        comps.insert(draw(st.integers(0, len(comps))), None)
    index = tuple(comps)
    return Ex(lambda x: x[index], (reals(draw, shp),), f"x[{index!r}]", lambda x: x[index])


for _kind in ("basic", "arrays", "mask", "full_mask"):
    _getitem(_kind)


@case("getitem_arrays_apart")
def _(draw):
    """Advanced indices split by a slice or None: NumPy moves their axes to the front."""
    shp = shape(draw, min_dims=2)
    idx_shape = shape(draw, min_dims=1, max_dims=2, max_side=3)

    def advanced(n):
        return draw(st.integers(-n, n - 1) | hnp.arrays(
            np.int64, idx_shape, elements=st.integers(-n, n - 1)))

    middle = [slice(None, None, draw(st.sampled_from([1, -1]))) for _ in shp[1:-1]]
    index = (advanced(shp[0]), *middle, *([None] if len(shp) == 2 else []), advanced(shp[-1]))
    if not any(isinstance(i, np.ndarray) for i in index):
        index = (*index[:-1], np.array([index[-1]]))
    return Ex(lambda x: x[index], (reals(draw, shp),), f"x[{index!r}]", lambda x: x[index])


@case("sliding_window_view")
def _(draw):
    shp = shape(draw, min_dims=1, max_side=5)
    nd = len(shp)
    if draw(st.booleans()):
        axis = None
        window = tuple(draw(st.integers(1, s)) for s in shp)
    else:
        # NumPy allows an axis twice: the windows along it must fit together
        axis = tuple(draw(st.lists(st.integers(-nd, nd - 1), min_size=1, max_size=3)))
        room = {a % nd: shp[a] - 1 for a in axis}
        window = []
        for a in axis:
            w = draw(st.integers(1, room[a % nd] + 1))
            room[a % nd] -= w - 1
            window.append(w)
        window = tuple(window)
    return Ex(lambda x: gnp.sliding_window_view(x, window, axis), (reals(draw, shp),),
              f"sliding_window_view({window}, axis={axis})",
              lambda x: np.lib.stride_tricks.sliding_window_view(x, window, axis))


# -- products -----------------------------------------------------------------------------


@case("matmul")
def _(draw):
    sa, sb = draw(hnp.mutually_broadcastable_shapes(signature=np.matmul.signature,
                                                    max_dims=2, max_side=3)).input_shapes
    return Ex(gnp.matmul, (reals(draw, sa), reals(draw, sb)), "matmul", np.matmul)


@case("matmul_operator")
def _(draw):
    sa, sb = draw(hnp.mutually_broadcastable_shapes(signature=np.matmul.signature,
                                                    max_dims=2, max_side=3)).input_shapes
    return Ex(lambda a, b: a @ b, (reals(draw, sa), reals(draw, sb)), "a @ b", np.matmul)


@case("dot")
def _(draw):
    m, n, k, p, q = (draw(st.integers(1, 3)) for _ in range(5))
    sa, sb = draw(st.sampled_from([
        ((), (n, k)), ((m, n), ()), ((n,), (n,)), ((m, n), (n,)), ((n,), (n, k)),
        ((m, n), (n, k)), ((p, m, n), (n, k)), ((m, n), (q, n, k)), ((p, m, n), (q, n, k)),
        ((n,), (q, n, k)),
    ]))
    return Ex(gnp.dot, (reals(draw, sa), reals(draw, sb)), "dot", np.dot)


@case("tensordot")
def _(draw):
    k = draw(st.integers(0, 2))
    contracted = [draw(st.integers(1, 3)) for _ in range(k)]
    free_a = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2)))]
    free_b = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2)))]
    if draw(st.booleans()):
        sa, sb, axes = tuple(free_a + contracted), tuple(contracted + free_b), k
    else:
        # contracted axes anywhere, in any order, named by lists (negative too)
        pa = draw(st.permutations(range(len(free_a) + k)))
        pb = draw(st.permutations(range(len(free_b) + k)))
        sa = [0] * len(pa)
        sb = [0] * len(pb)
        for pos, size in zip(pa, contracted + free_a):
            sa[pos] = size
        for pos, size in zip(pb, contracted + free_b):
            sb[pos] = size
        sa, sb = tuple(sa), tuple(sb)
        axes = ([a - len(sa) if a % 2 else a for a in pa[:k]], list(pb[:k]))
    return Ex(lambda a, b: gnp.tensordot(a, b, axes), (reals(draw, sa), reals(draw, sb)),
              f"tensordot(axes={axes})", lambda a, b: np.tensordot(a, b, axes))


EINSUMS = ["ij,jk->ik", "ij,jk", "i,i->", "i,i", "i,j->ij", "ij->ji", "ji", "ij->", "ij",
           "ij,ij->ij", "ijk,ik->j", "bij,bjk->bik", "ij,j", "ij,jk,kl->il", "i,i,i->i",
           "...ij,...jk->...ik", "...i,...i->...", "i...->...", "...ij->...ji", "...ij,jk"]


def _einsum(subscripts):
    @case(f"einsum_{subscripts}")
    def _(draw):
        return draw_einsum(draw, subscripts)


def draw_einsum(draw, subscripts):
    terms = subscripts.split("->")[0].split(",")
    size = {c: draw(st.integers(1, 3)) for c in "ijklb"}
    with_ellipsis = [t for t in terms if "..." in t]
    # the "..." parts broadcast against each other (size 1 and missing axes)
    batch = iter(draw(hnp.mutually_broadcastable_shapes(
        num_shapes=len(with_ellipsis), max_dims=2, max_side=3)).input_shapes
        if with_ellipsis else ())
    shapes = []
    for t in terms:
        before, _, after = t.partition("...")
        lead = next(batch) if "..." in t else ()
        shapes.append(tuple(size[c] for c in before) + lead + tuple(size[c] for c in after))
    return Ex(lambda *xs: gnp.einsum(subscripts, *xs), tuple(reals(draw, s) for s in shapes),
              f"einsum({subscripts!r})", lambda *xs: np.einsum(subscripts, *xs))


for _subscripts in EINSUMS:
    _einsum(_subscripts)


@case("outer")
def _(draw):
    return Ex(gnp.outer, (reals(draw, shape(draw, max_dims=2)),
                          reals(draw, shape(draw, max_dims=2))), "outer", np.outer)


@case("inner")
def _(draw):
    n = draw(st.integers(1, 3))
    sa = shape(draw, max_dims=2, max_side=3) + (n,)
    sb = shape(draw, max_dims=2, max_side=3) + (n,)
    sa, sb = draw(st.sampled_from([(sa, sb), ((), sb), (sa, ())]))
    return Ex(gnp.inner, (reals(draw, sa), reals(draw, sb)), "inner", np.inner)


# -- linalg -------------------------------------------------------------------------------


def _norm_vector(order):
    @case(f"norm_vector_ord={order}")
    def _(draw):
        return draw_norm_vector(draw, order)


def draw_norm_vector(draw, order):
    shp = shape(draw, min_dims=1)
    if len(shp) == 1 and draw(st.booleans()):
        axis = None
    else:
        axis = draw(st.integers(-len(shp), len(shp) - 1))
    keepdims = draw(st.booleans())
    return Ex(lambda x: gnp.linalg.norm(x, order, axis, keepdims), (distinct_nonzero(draw, shp),),
              f"norm(ord={order}, axis={axis}, keepdims={keepdims})",
              lambda x: np.linalg.norm(x, order, axis, keepdims))


for _order in (None, 1, 2, np.inf, -np.inf, 3, 0.5, -1):
    _norm_vector(_order)


@case("norm_flat")
def _(draw):
    keepdims = draw(st.booleans())
    return Ex(lambda x: gnp.linalg.norm(x, keepdims=keepdims),
              (nonzero(draw, shape(draw, min_dims=1)),), f"norm(keepdims={keepdims})",
              lambda x: np.linalg.norm(x, keepdims=keepdims))


def _norm_matrix(order):
    @case(f"norm_matrix_ord={order}")
    def _(draw):
        return draw_norm_matrix(draw, order)


def draw_norm_matrix(draw, order):
    shp = shape(draw, min_dims=2)
    nd = len(shp)
    if nd == 2 and draw(st.booleans()):
        axis = None
    else:
        r, c = draw(st.permutations(range(nd)))[:2]
        axis = (r - nd * draw(st.booleans()), c)
    keepdims = draw(st.booleans())
    x = distinct_nonzero(draw, shp, step=0.1)
    if order in (1, -1, np.inf, -np.inf):  # the max/min over column (row) sums: no ties
        r, c = (0, 1) if axis is None else axis
        sums = np.sum(np.abs(x), axis=r if order in (1, -1) else c, keepdims=True)
        srt = np.sort(sums, axis=c if order in (1, -1) else r)
        assume(np.all(np.diff(srt, axis=c if order in (1, -1) else r) > 0.05))
    return Ex(lambda x: gnp.linalg.norm(x, order, axis, keepdims), (x,),
              f"norm(ord={order}, axis={axis}, keepdims={keepdims})",
              lambda x: np.linalg.norm(x, order, axis, keepdims))


for _order in (None, "fro", 1, -1, np.inf, -np.inf):
    _norm_matrix(_order)


def square_batch(draw):
    return shape(draw, max_dims=2, max_side=3), draw(st.integers(1, 4))


@case("linalg.inv")
def _(draw):
    batch, n = square_batch(draw)
    return Ex(gnp.linalg.inv, (well_conditioned(draw, batch, n),), "inv", np.linalg.inv)


def broadcast_shapes_small(draw):
    return draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2,
                                                  max_side=3)).input_shapes


@case("linalg.solve")
def _(draw):
    n = draw(st.integers(1, 4))
    sa, sb = broadcast_shapes_small(draw)
    if draw(st.booleans()):
        b = reals(draw, (n,))
    else:
        b = reals(draw, sb + (n, draw(st.integers(1, 3))))
    return Ex(gnp.linalg.solve, (well_conditioned(draw, sa, n), b), "solve", np.linalg.solve)


@case("linalg.det")
def _(draw):
    batch, n = square_batch(draw)
    return Ex(gnp.linalg.det, (well_conditioned(draw, batch, n),), "det", np.linalg.det)


@case("linalg.slogdet")
def _(draw):
    batch, n = square_batch(draw)
    return Ex(lambda a: gnp.linalg.slogdet(a).logabsdet, (well_conditioned(draw, batch, n),),
              "slogdet(a).logabsdet", lambda a: np.linalg.slogdet(a).logabsdet)


def gram(xp, a):
    n = a.shape[-1]
    return xp.matmul(a, xp.swapaxes(a, -1, -2)) + n * eye_like(a, n)


def symmetric(xp, a):
    n = a.shape[-1]
    return 0.5 * (a + xp.swapaxes(a, -1, -2)) + (n + 1.0) * eye_like(a, n)


@case("linalg.cholesky")
def _(draw):
    batch, n = square_batch(draw)
    make = draw(st.sampled_from([gram, symmetric]))
    return Ex(lambda a: gnp.linalg.cholesky(make(gnp, a)), (reals(draw, batch + (n, n), -1, 1),),
              f"cholesky({make.__name__}(a))", lambda a: np.linalg.cholesky(make(np, a)))


def separated(xp, a):
    """Symmetric with eigenvalues near 0, 4, 8, ...: at least 1.6 apart for |a| <= 0.3."""
    n = a.shape[-1]
    spread = np.diag(4.0 * np.arange(n)).astype(a.dtype)
    return 0.5 * (a + xp.swapaxes(a, -1, -2)) + spread


@case("linalg.eigh_values")
def _(draw):
    batch, n = square_batch(draw)
    return Ex(lambda a: gnp.linalg.eigh(separated(gnp, a))[0],
              (reals(draw, batch + (n, n), -0.3, 0.3),), "eigh(a)[0]",
              lambda a: np.linalg.eigh(separated(np, a))[0])


@case("linalg.eigh_vectors")
def _(draw):
    batch, n = square_batch(draw)
    c = np.linspace(1.0, 2.0, n)

    def f(xp, a):  # V diag(c) V^T: the same whichever sign each eigenvector has
        v = xp.linalg.eigh(separated(xp, a))[1]
        return xp.matmul(v * c.astype(a.dtype), xp.swapaxes(v, -1, -2))

    return Ex(lambda a: f(gnp, a), (reals(draw, batch + (n, n), -0.3, 0.3),),
              "eigh(a)[1] through V diag(c) V^T", lambda a: f(np, a))


NAMES = list(CASES)


# -- 1. finite differences, first and second order, both modes --------------------------


@pytest.mark.parametrize("name", NAMES)
@PROFILE
@given(data=st.data())
def test_check_grads(name, data):
    ex = data.draw(CASES[name], label=name)
    gk.check_grads(ex.f, ex.args, order=2, modes=("rev", "fwd"))
    # check_grads pairs cotangents with tangents by broadcasting: check the shapes here
    out, pull = gk.vjp(ex.f, *ex.args)
    grads = pull(np.ones(np.shape(out)))
    assert [np.shape(g) for g in grads] == [np.shape(a) for a in ex.args]


# -- 2. batched reverse, batched forward and one VJP per row agree ------------------------


def vjp_rows(f, args):
    """The Jacobian of ``f`` built row by row, one unbatched VJP per output element."""
    out, pull = gk.vjp(f, *args)
    out = np.asarray(out)
    rows = []
    for i in range(out.size):
        e = np.zeros(out.size, dtype=out.dtype)
        e[i] = 1.0
        row = pull(e.reshape(out.shape))
        assert [np.shape(g) for g in row] == [np.shape(a) for a in args], "VJP shapes"
        rows.append(row)
    jac = []
    for k, a in enumerate(args):
        block = np.stack([np.asarray(r[k]) for r in rows]) if rows else np.zeros((0,))
        jac.append(block.reshape(out.shape + np.shape(a)))
    return out, jac


@pytest.mark.parametrize("name", NAMES)
@PROFILE
@given(data=st.data())
def test_jacobian_modes_agree(name, data):
    ex = data.draw(CASES[name], label=name)
    argnums = tuple(range(len(ex.args)))
    out, by_rows = vjp_rows(ex.f, ex.args)
    if ex.ref is not None:
        np.testing.assert_allclose(out, ex.ref(*ex.args), rtol=1e-12, atol=1e-12)
    for mode in ("rev", "fwd"):
        jac = gk.jacobian(ex.f, argnums, mode=mode)(*ex.args)
        assert len(jac) == len(ex.args)
        for k, expected in enumerate(by_rows):
            got = np.asarray(jac[k])
            assert got.shape == expected.shape, (mode, k)
            np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10,
                                       err_msg=f"jacobian mode={mode}, argument {k}")


# -- 3. float32 stays float32 -----------------------------------------------------------


def dtype_tap(seen: list):
    """The identity, recording the dtype of every cotangent that reaches it.

    Transforms cast the gradient they return to the input's dtype; a tap on the input
    sees the cotangent that the derivative rules produced, before that cast."""

    @gk.custom_vjp
    def tap(x):
        return x

    def fwd(x):
        return x, None

    def bwd(_, g):
        seen.append(g.dtype)
        return (tap(g),)

    tap.defvjp(fwd, bwd)
    return tap


def as_f32(args):
    return tuple(np.asarray(a, dtype=np.float32) for a in args)


@pytest.mark.parametrize("name", NAMES)
@PROFILE
@given(data=st.data())
def test_float32_stays_float32(name, data):
    ex = data.draw(CASES[name], label=name)
    args = as_f32(ex.args)
    seen: list = []
    tap = dtype_tap(seen)

    def f(*xs):
        return ex.f(*[tap(x) for x in xs])

    # reverse mode, first order
    out, pull = gk.vjp(f, *args)
    assert out.dtype == F32
    grads = pull(np.ones(out.shape, dtype=np.float32))
    assert [g.dtype for g in grads] == [F32] * len(args)
    assert seen and set(seen) == {F32}

    # forward mode (its tangents are never cast by the transform)
    rng = np.random.default_rng(0)
    tangents = tuple(rng.standard_normal(a.shape).astype(np.float32) for a in args)
    _, t_out = gk.jvp(ex.f, args, tangents)
    assert t_out.dtype == F32

    # second order: reverse over reverse, taps at both levels
    weights = tuple(rng.standard_normal(a.shape).astype(np.float32) for a in args)
    ct = rng.standard_normal(out.shape).astype(np.float32)

    def directional(*xs):
        _, pull = gk.vjp(f, *[tap(x) for x in xs])
        return sum(gnp.sum(g * w) for g, w in zip(pull(ct), weights))

    seen.clear()
    second = gk.grad(directional, argnums=tuple(range(len(args))))(*args)
    assert [g.dtype for g in second] == [F32] * len(args)
    assert set(seen) == {F32}


HESSIAN_CASES = ["tanh", "softplus", "power", "maximum", "logsumexp", "softmax", "prod",
                 "max", "std", "getitem_arrays", "einsum_...ij,...jk->...ik", "matmul",
                 "norm_vector_ord=3",
                 "linalg.inv", "linalg.slogdet", "linalg.cholesky", "linalg.eigh_vectors"]


@pytest.mark.parametrize("name", HESSIAN_CASES)
@PROFILE
@given(data=st.data())
def test_float32_hessian(name, data):
    ex = data.draw(CASES[name], label=name)
    x, *rest = as_f32(ex.args)

    def scalar(x):
        return gnp.sum(ex.f(x, *rest) ** 2)

    h_rev = gk.hessian(scalar)(x)
    h_fwd = gk.hessian(scalar, mode="fwd")(x)
    assert h_rev.dtype == F32 and h_fwd.dtype == F32
    assert h_rev.shape == x.shape * 2
    np.testing.assert_allclose(h_rev, h_fwd, rtol=1e-4, atol=1e-4)
    # and it matches the float64 Hessian
    x64, *rest64 = ex.args
    h64 = gk.hessian(lambda x: gnp.sum(ex.f(x, *rest64) ** 2))(x64)
    np.testing.assert_allclose(h_rev, h64, rtol=2e-3, atol=2e-3 * max(1.0, np.abs(h64).max()))


# -- 4. targeted tests at the points the random draws avoid --------------------------------


def test_abs_and_relu_at_zero():
    assert gk.grad(gnp.abs)(0.0) == 0.0
    assert gk.grad(gnp.relu)(0.0) == 0.0
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(gk.elementwise_grad(gnp.relu)(x), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(gk.elementwise_grad(gnp.abs)(x), [-1.0, 0.0, 1.0])
    # second order at the kink: zero, not NaN
    assert gk.grad(gk.grad(gnp.relu))(0.0) == 0.0
    assert gk.grad(gk.grad(gnp.abs))(0.0) == 0.0


@pytest.mark.parametrize("fn", [gnp.maximum, gnp.minimum])
def test_maximum_minimum_ties_split_evenly(fn):
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([1.0, 5.0, 0.0])
    gx, gy = gk.grad(lambda x, y: gnp.sum(fn(x, y)), argnums=(0, 1))(x, y)
    wins = (x > y) if fn is gnp.maximum else (x < y)
    np.testing.assert_array_equal(gx, np.where(x == y, 0.5, wins * 1.0))
    np.testing.assert_array_equal(gy, np.where(x == y, 0.5, ~wins * 1.0))
    # fn(x, x) = x: the halves add up to the identity's derivative
    np.testing.assert_array_equal(gk.grad(lambda x: gnp.sum(fn(x, x)))(x), np.ones(3))
    # a broadcast scalar tied with two elements collects both halves
    gs = gk.grad(lambda s: gnp.sum(fn(np.array([2.0, 2.0, 7.0]), s)))(2.0)
    assert gs == 1.0 + (fn is gnp.minimum)


@pytest.mark.parametrize("fn", [gnp.max, gnp.min])
def test_max_min_repeated_extrema_share_equally(fn):
    x = np.array([[3.0, 1.0, 3.0, 3.0], [0.0, 2.0, 2.0, 0.0]])
    if fn is gnp.min:
        x = -x
    np.testing.assert_allclose(gk.grad(lambda x: fn(x))(x),
                               [[1 / 3, 0, 1 / 3, 1 / 3], [0, 0, 0, 0]])
    np.testing.assert_allclose(gk.grad(lambda x: gnp.sum(fn(x, axis=1)))(x),
                               [[1 / 3, 0, 1 / 3, 1 / 3], [0, 0.5, 0.5, 0]])
    np.testing.assert_allclose(
        gk.grad(lambda x: gnp.sum(fn(x, axis=0, keepdims=True) * np.arange(4.0)))(x),
        [[0, 0, 2, 3], [0, 1, 0, 0]])
    # forward mode agrees with the averaged one-sided rule
    np.testing.assert_allclose(gk.jacobian(fn, mode="fwd")(x), gk.jacobian(fn)(x))


def test_sqrt_at_zero_is_infinite_without_crash():
    with np.errstate(divide="ignore"):
        assert gk.grad(gnp.sqrt)(0.0) == np.inf
        g = gk.elementwise_grad(gnp.sqrt)(np.array([0.0, 4.0]))
    np.testing.assert_array_equal(g, [np.inf, 0.25])


def test_log_at_zero_follows_numpy():
    with np.errstate(divide="ignore"):
        value, g = gk.value_and_grad(gnp.log)(0.0)
        assert value == np.log(0.0) == -np.inf
        assert g == np.inf
        assert gk.grad(gnp.log)(-0.0) == -np.inf


def test_singular_inverse_raises_op_error():
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(gk.OpError, match=r"linalg\.inv"):
        gnp.linalg.inv(singular)
    with pytest.raises(gk.GradkitError, match=r"linalg\.inv"):
        gk.grad(lambda a: gnp.sum(gnp.linalg.inv(a)))(singular)


@pytest.mark.parametrize("fn, name", [(gnp.linalg.solve, "linalg.solve"),
                                      (lambda a, b: gnp.linalg.cholesky(a), "linalg.cholesky")])
def test_singular_or_indefinite_matrix_raises_op_error(fn, name):
    bad = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(gk.OpError, match=name.replace(".", r"\.")):
        gk.grad(lambda a: gnp.sum(fn(a, np.ones(2))))(bad)


def test_clip_at_the_bounds_passes_gradient_to_x():
    x = np.array([-1.0, 0.0, 1.0, 2.0])
    gx, glo, ghi = gk.grad(lambda x, lo, hi: gnp.sum(gnp.clip(x, lo, hi)), argnums=(0, 1, 2))(
        x, -1.0, 1.0)
    np.testing.assert_array_equal(gx, [1.0, 1.0, 1.0, 0.0])
    assert glo == 0.0 and ghi == 1.0


def test_sort_with_ties_follows_the_stable_order():
    x = np.array([2.0, 1.0, 2.0, 0.0])
    w = np.array([1.0, 10.0, 100.0, 1000.0])
    # sorted: 0 (from 3), 1 (from 1), 2 (from 0), 2 (from 2)
    np.testing.assert_array_equal(gk.grad(lambda x: gnp.sum(gnp.sort(x) * w))(x),
                                  [100.0, 10.0, 1000.0, 1.0])


@pytest.mark.parametrize("subscripts, shapes", [
    ("...ij,...jk->...ik", [(2, 2), (3, 2, 2)]),  # "..." of different lengths
    ("...i,i...->...", [(2, 3), (3, 2)]),
    ("...i,...i->...", [(1, 3), (2, 3)]),  # "..." axes of size 1 that broadcast
    ("...ij,...jk->...ik", [(1, 2, 2), (3, 2, 2)]),
    ("...ij,jk->...ik", [(4, 1, 2, 2), (2, 3)]),
])
def test_einsum_broadcast_ellipsis(subscripts, shapes):
    """Gradients of broadcast "..." axes are summed back to each operand's shape."""
    args = tuple(np.linspace(0.5, 1.5, math.prod(s)).reshape(s) for s in shapes)
    out, pull = gk.vjp(lambda *xs: gnp.einsum(subscripts, *xs), *args)
    np.testing.assert_allclose(out, np.einsum(subscripts, *args))
    grads = pull(np.ones(np.shape(out)))
    assert [g.shape for g in grads] == list(shapes)
    gk.check_grads(lambda *xs: gnp.einsum(subscripts, *xs), args, order=2)


@pytest.mark.parametrize("window", [(2, 1), (2, 3), (1, 2, 2)])
def test_sliding_window_view_repeated_axis(window):
    """NumPy allows windows along one axis several times (axis=(0, 0))."""
    x = np.linspace(-1.0, 1.0, 5)

    def f(x):
        return gnp.sliding_window_view(x, window, axis=(0,) * len(window))

    np.testing.assert_array_equal(f(x), np.lib.stride_tricks.sliding_window_view(
        x, window, axis=(0,) * len(window)))
    np.testing.assert_allclose(gk.jacobian(f)(x), gk.jacobian(f, mode="fwd")(x))
    gk.check_grads(f, (x,), order=2)


@pytest.mark.parametrize("xshape, window, axis", [
    ((7,), (3,), None), ((5,), (5,), None), ((4, 9), (2, 4), None), ((6, 5, 3), (3, 2), (0, 1)),
    ((3, 8, 8, 4), (3, 3), (1, 2)), ((2, 5, 7), (2, 6), (1, 2)), ((9, 4), (2,), (0,)),
])
def test_sliding_window_adjoint_identity(xshape, window, axis):
    # <windows(x), y> == <x, windows^T(y)> for random x, y: the backward is the exact adjoint.
    rng = np.random.default_rng(3)
    x = rng.standard_normal(xshape)
    out, pull = gk.vjp(lambda v: gnp.sliding_window_view(v, window, axis=axis), x)
    y = rng.standard_normal(out.shape)
    (xt,) = pull(y)
    assert np.vdot(out, y) == pytest.approx(np.vdot(x, xt), rel=1e-12)
    batched = np.stack([y, 2 * y])
    jac = gk.jacobian(lambda v: gnp.sliding_window_view(v, window, axis=axis))(x)
    assert np.allclose(np.tensordot(batched, jac, axes=out.ndim), [xt, 2 * xt], rtol=1e-12)


@pytest.mark.parametrize("rows", [4096, 4099, 36864])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tall_column_sum_fast_path(rows, dtype):
    x = np.random.default_rng(1).standard_normal((rows, 16)).astype(dtype)
    got = gnp.sum(x, axis=0)
    assert got.dtype == dtype and got.shape == (16,)
    np.testing.assert_allclose(got, x.astype(np.float64).sum(0),
                               rtol=1e-12 if dtype == np.float64 else 1e-4, atol=1e-3)
    (g,) = gk.vjp(lambda v: gnp.sum(v, axis=0), x)[1](np.ones(16, dtype))
    assert np.array_equal(g, np.ones_like(x))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ashape, bshape, cshape", [
    ((5, 3), (3, 4), (4,)), ((5, 3), (3, 4), (5, 4)), ((2, 5, 3), (3, 4), (1, 4)),
    ((3,), (3, 4), ()),
])
def test_matmul_add(dtype, ashape, bshape, cshape):
    rng = np.random.default_rng(4)
    a, b, c = (rng.standard_normal(s).astype(dtype) for s in (ashape, bshape, cshape))
    out = gnp.matmul_add(a, b, c)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, a @ b + c, rtol=1e-6 if dtype == np.float32 else 1e-14)
    if dtype == np.float64:
        gk.check_grads(gnp.matmul_add, (a, b, c), order=2)
    else:
        grads = gk.grad(lambda *v: gnp.sum(gnp.matmul_add(*v) ** 2), argnums=(0, 1, 2))(a, b, c)
        assert [g.dtype for g in grads] == [dtype] * 3
        assert [g.shape for g in grads] == [ashape, bshape, cshape]


def test_matmul_add_rejects_an_addend_that_widens_the_product():
    with pytest.raises(gk.OpError, match="does not broadcast to the product's shape"):
        gnp.matmul_add(np.ones((2, 3)), np.ones((3, 4)), np.ones((5, 2, 4)))
    np.testing.assert_array_equal(  # a float64 addend on float32 operands: not in place
        gnp.matmul_add(np.ones((2, 2), np.float32), np.ones((2, 2), np.float32), np.ones(2)),
        np.full((2, 2), 3.0))
