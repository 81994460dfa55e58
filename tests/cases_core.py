"""Primitive cases: elementwise, reductions, shape, indexing and products."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradkit.numpy as gnp
from primtable import (
    Ex,
    axis_arg,
    case,
    distinct,
    dom,
    grid,
    nonzero,
    reals,
    reduced_count,
    shape,
)

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


@case("pad_constant_value")
def _(draw):
    """The fill value is an argument too: its gradient is the cotangent's sum over the
    border (it was once silently zero)."""
    shp = shape(draw, min_dims=1)
    pad_width = draw(st.tuples(st.integers(0, 2), st.integers(1, 2)))
    return Ex(lambda x, v: gnp.pad(x, pad_width, constant_values=v),
              (reals(draw, shp), reals(draw, ())), f"pad({pad_width}, constant_values=v)",
              lambda x, v: np.pad(x, pad_width, constant_values=v))


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
        shp = shape(draw, min_dims=1)
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




@case("vdot")
def _(draw):
    shp = shape(draw)
    return Ex(gnp.vdot, (reals(draw, shp), reals(draw, shp[::-1])), "vdot", np.vdot)


@case("matmul_add")
def _(draw):
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    cshape = draw(st.sampled_from([(m,), (n, m), (1, m), ()]))
    return Ex(gnp.matmul_add, (reals(draw, (n, k)), reals(draw, (k, m)), reals(draw, cshape)),
              "matmul_add", lambda a, b, c: a @ b + c)


def _atleast(name):
    @case(name)
    def _(draw):
        fn, ref = getattr(gnp, name), getattr(np, name)
        return Ex(fn, (reals(draw, shape(draw, max_dims=3)),), name, ref)


for _name in ("atleast_1d", "atleast_2d"):
    _atleast(_name)


@case("astype")
def _(draw):
    # float64 -> float64 keeps the derivative 1; the cast to the input's own dtype is
    # the differentiable case (casting float64 to float32 loses precision on purpose)
    x = reals(draw, shape(draw))
    return Ex(lambda x: gnp.astype(x, x.dtype) * 2.0, (x,), "astype(own dtype)",
              lambda x: x.astype(x.dtype) * 2.0)


@case("asarray_nested")
def _(draw):
    shp = shape(draw, max_dims=2)
    return Ex(lambda x, y: gnp.asarray([x, y, [x * y][0]]),
              (reals(draw, shp), reals(draw, shp)), "asarray([x, y, x * y])",
              lambda x, y: np.asarray([x, y, x * y]))


@case("array_nested")
def _(draw):
    # NumPy makes float64 of a list that mixes float32 arrays with Python floats, and so
    # does gradkit (test_trace_safety.py): the table's float32 check needs arrays only.
    return Ex(lambda x, y: gnp.array([[x, x * y], [y, y]], ndmin=3) * 3.0,
              (reals(draw, ()), reals(draw, ())), "array([[x, x * y], [y, y]], ndmin=3)",
              lambda x, y: np.array([[x, x * y], [y, y]], ndmin=3) * 3.0)
