"""Primitive operations: each forward computation beside its vector-Jacobian rule.

Rules are written with the operations of this module, so they can be differentiated
again (derivatives of any order). A rule receives the cotangent ``g``, the primitive's
output ``ans`` and the primitive's arguments. ``g`` may carry leading batch axes in
front of ``ans``'s shape (``g.ndim - ans.ndim`` of them: that is how ``jacobian`` and
``hessian`` push every basis vector through one pass); each rule keeps them in front
of the cotangent it returns. Axes that rules reduce over are therefore counted from
the end (negative), where batch axes cannot shift them.

Each primitive is made by :func:`gradkit.defprimitive`; the helpers that rules share
with the other modules (``sum_to``, ``_nb``, ``_shape``...) live in ``gradkit._rules``.
"""

from __future__ import annotations

import builtins
import contextlib
import itertools
import math
import warnings

from ._rules import (
    _axis_index,
    _axis_indices,
    _dtype,
    _expand,
    _expand_value,
    _keepdims_shape,
    _mT,
    _nb,
    _ndim,
    _neg_axes,
    _shape,
    _ub,
    sum_to,
)
from .arguments import array_from_nested, refuse_out
from .backend import (
    along_axis,
    array_of,
    as_strided,
    generic,
    is_chunked,
    is_foreign,
    library_of,
    maybe_any,
    namespace,
    ndarray,
    scatter_sum,
    standard_only,
    xp,
    zeros_like_library,
)
from .backend import sliding_window_view as _np_windows
from .errors import GradkitError
from .graph import Tensor, defprimitive, nondifferentiable, plain, raw

# The NumPy-facing names; gradkit.numpy re-exports them (helpers stay private).
__all__ = [
    "abs", "absolute", "add", "all", "allclose", "amax", "amin", "any", "arccos", "arccosh",
    "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "argmax", "argmin", "argsort",
    "array_equal", "astype", "atleast_1d", "atleast_2d", "broadcast_to", "cbrt", "ceil", "clip",
    "concatenate", "cos", "cosh", "cumsum", "diag", "diagonal", "divide", "dot", "einsum", "equal",
    "exp", "exp2", "expand_dims", "expm1", "flip", "floor_divide", "floor", "getitem", "greater",
    "greater_equal", "hstack", "hypot", "inner", "isclose", "isfinite", "isinf", "isnan", "less",
    "less_equal", "log", "log10", "log1p", "log2", "log_softmax", "logaddexp", "logical_and",
    "logical_not", "logical_or", "logsumexp", "matmul", "matmul_add", "max", "maximum", "mean",
    "min", "minimum", "moveaxis", "multiply", "ndim", "negative", "nonzero", "not_equal",
    "ones_like", "outer", "pad", "positive", "power", "prod", "ravel", "reciprocal", "relu",
    "repeat", "reshape", "rint", "roll", "round", "shape", "sigmoid", "sign", "sin", "sinh",
    "size", "sliding_window_view", "softmax", "softplus", "sort", "split", "sqrt", "square",
    "squeeze", "stack", "std", "subtract", "sum", "swapaxes", "take", "take_along_axis", "tan",
    "tanh", "tensordot", "tile", "trace", "transpose", "tril", "triu", "trunc", "var", "vdot",
    "vstack", "where", "zeros_like",
]

# -- elementwise, one argument -------------------------------------------------------------
_LN2 = math.log(2.0)
_LN10 = math.log(10.0)

negative = defprimitive(xp.negative, "negative", lambda g, ans, x: -g)
positive = defprimitive(xp.positive, "positive", lambda g, ans, x: g)
absolute = defprimitive(xp.abs, "abs", lambda g, ans, x: g * sign(x))
sqrt = defprimitive(xp.sqrt, "sqrt", lambda g, ans, x: g * 0.5 / ans)
cbrt = defprimitive(xp.cbrt, "cbrt", lambda g, ans, x: g / (3.0 * ans * ans))
exp = defprimitive(xp.exp, "exp", lambda g, ans, x: g * ans)
expm1 = defprimitive(xp.expm1, "expm1", lambda g, ans, x: g * (ans + 1.0))
exp2 = defprimitive(xp.exp2, "exp2", lambda g, ans, x: g * ans * _LN2)
log = defprimitive(xp.log, "log", lambda g, ans, x: g / x)
log1p = defprimitive(xp.log1p, "log1p", lambda g, ans, x: g / (x + 1.0))
log2 = defprimitive(xp.log2, "log2", lambda g, ans, x: g / (x * _LN2))
log10 = defprimitive(xp.log10, "log10", lambda g, ans, x: g / (x * _LN10))
sin = defprimitive(xp.sin, "sin", lambda g, ans, x: g * cos(x))
cos = defprimitive(xp.cos, "cos", lambda g, ans, x: -g * sin(x))
tan = defprimitive(xp.tan, "tan", lambda g, ans, x: g * (ans * ans + 1.0))
arcsin = defprimitive(xp.arcsin, "arcsin", lambda g, ans, x: g / sqrt(1.0 - x * x))
arccos = defprimitive(xp.arccos, "arccos", lambda g, ans, x: -g / sqrt(1.0 - x * x))
arctan = defprimitive(xp.arctan, "arctan", lambda g, ans, x: g / (x * x + 1.0))
sinh = defprimitive(xp.sinh, "sinh", lambda g, ans, x: g * cosh(x))
cosh = defprimitive(xp.cosh, "cosh", lambda g, ans, x: g * sinh(x))
tanh = defprimitive(xp.tanh, "tanh", lambda g, ans, x: g * (1.0 - ans * ans))
arcsinh = defprimitive(xp.arcsinh, "arcsinh", lambda g, ans, x: g / sqrt(x * x + 1.0))
arccosh = defprimitive(xp.arccosh, "arccosh", lambda g, ans, x: g / sqrt(x * x - 1.0))
arctanh = defprimitive(xp.arctanh, "arctanh", lambda g, ans, x: g / (1.0 - x * x))
square = defprimitive(xp.square, "square", lambda g, ans, x: g * (x * 2.0))
reciprocal = defprimitive(xp.reciprocal, "reciprocal", lambda g, ans, x: -g * (ans * ans))
relu = defprimitive(lambda x: xp.maximum(x, 0), "relu", lambda g, ans, x: g * (x > 0))


def _sigmoid(x):
    # exp(-|x|) never overflows, and each branch divides by a number in [1, 2].
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(x):
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


sigmoid = defprimitive(_sigmoid, "sigmoid", lambda g, ans, x: g * (ans * (1.0 - ans)))
softplus = defprimitive(_softplus, "softplus", lambda g, ans, x: g * sigmoid(x))
sigmoid.__doc__ = """Logistic function 1 / (1 + exp(-x)), without overflow for any x.

Examples
--------
>>> import gradkit.numpy as gnp
>>> float(gnp.sigmoid(-1000.0)), float(gnp.sigmoid(0.0))
(0.0, 0.5)
"""
softplus.__doc__ = """log(1 + exp(x)), exact and warning-free for large |x|.

Examples
--------
>>> import gradkit.numpy as gnp
>>> float(gnp.softplus(1000.0))
1000.0
"""

# -- elementwise, two arguments ------------------------------------------------------------


def _power_rule_base(g, ans, x, y):
    if isinstance(y, int | float):
        return _ub(g * 0.0 if y == 0 else g * (y * x ** (y - 1)), g, ans, x)
    slope = y * x ** (y - 1)
    zero = logical_and(y == 0, x == 0)
    if maybe_any(plain(zero)):  # x ** 0 is 1 for every x: slope 0, not 0 * inf at x = 0
        slope = _where(zero, 0.0, slope)  # (only there: elsewhere d/dy of the slope counts)
    return _ub(g * slope, g, ans, x)


def _power_rule_exp(g, ans, x, y):
    """``x ** y log(x)``: 0 where ``x`` is 0 (``0 ** y`` is flat in ``y > 0``), NaN where
    ``x < 0`` (``x ** y`` is real only at integers ``y``: no derivative in ``y``)."""
    if isinstance(x, int | float):  # a Python base: a weak scalar keeps g's dtype
        factor = math.log(x) if x > 0 else (0.0 if x == 0 else math.nan)
        return _ub(g * (ans * factor), g, ans, y)
    positive_x = x > 0
    safe = _where(positive_x, x, 1.0)
    factor = _where(positive_x, log(safe), 0.0)
    negative_x = x < 0
    if maybe_any(plain(negative_x)):
        factor = _where(negative_x, math.nan, factor)
    return _ub(g * (ans * factor), g, ans, y)


def _tie_mask(x, y, g):
    wins = x > y
    ties = x == y
    # plain: under vmap, one branch for the whole batch (both are right where ties are 0)
    if ties is True or (ties is not False and maybe_any(plain(ties))):
        return g * wins + (g * 0.5) * ties
    return g * wins


add = defprimitive(xp.add, "add", lambda g, ans, x, y: _ub(g, g, ans, x),
                   lambda g, ans, x, y: _ub(g, g, ans, y))
subtract = defprimitive(xp.subtract, "subtract", lambda g, ans, x, y: _ub(g, g, ans, x),
                        lambda g, ans, x, y: _ub(-g, g, ans, y))
multiply = defprimitive(xp.multiply, "multiply", lambda g, ans, x, y: _ub(g * y, g, ans, x),
                        lambda g, ans, x, y: _ub(x * g, g, ans, y))
divide = defprimitive(xp.divide, "divide", lambda g, ans, x, y: _ub(g / y, g, ans, x),
                      lambda g, ans, x, y: _ub(-g * ans / y, g, ans, y))
power = defprimitive(xp.power, "power", _power_rule_base, _power_rule_exp)
maximum = defprimitive(xp.maximum, "maximum",
                       lambda g, ans, x, y: _ub(_tie_mask(x, y, g), g, ans, x),
                       lambda g, ans, x, y: _ub(_tie_mask(y, x, g), g, ans, y))
minimum = defprimitive(xp.minimum, "minimum",
                       lambda g, ans, x, y: _ub(_tie_mask(y, x, g), g, ans, x),
                       lambda g, ans, x, y: _ub(_tie_mask(x, y, g), g, ans, y))
arctan2 = defprimitive(xp.arctan2, "arctan2",
                       lambda g, ans, y, x: _ub(g * x / (x * x + y * y), g, ans, y),
                       lambda g, ans, y, x: _ub(-g * y / (x * x + y * y), g, ans, x))
def _hypot_share(x, y, ans):
    """``x / hypot(x, y)``, also where it is 0/0 or inf/inf: 0 at the origin (a
    subgradient, as the norm's), the sign of an infinite ``x`` (over sqrt(2) when ``y`` is
    infinite too)."""
    at_origin = ans == 0
    share = x / _where(at_origin, 1.0, ans)
    if maybe_any(plain(at_origin)):
        share = _where(at_origin, 0.0, share)
    inf_x = isinf(x)
    if maybe_any(plain(inf_x)):
        share = _where(inf_x, sign(x) / _where(isinf(y), math.sqrt(2.0), 1.0), share)
    return share


def _difference(x, y):
    """``x - y``, and 0 where both are the same infinity (logaddexp's tie: each side gets
    half, as at a finite tie, instead of NaN)."""
    same_inf = logical_and(isinf(x), x == y)
    if maybe_any(plain(same_inf)):
        return _where(same_inf, 0.0, x - y)
    return x - y


hypot = defprimitive(xp.hypot, "hypot",
                     lambda g, ans, x, y: _ub(g * _hypot_share(x, y, ans), g, ans, x),
                     lambda g, ans, x, y: _ub(g * _hypot_share(y, x, ans), g, ans, y))
logaddexp = defprimitive(xp.logaddexp, "logaddexp",
                         lambda g, ans, x, y: _ub(g * sigmoid(_difference(x, y)), g, ans, x),
                         lambda g, ans, x, y: _ub(g * sigmoid(_difference(y, x)), g, ans, y))


def _where_fwd(condition, x, y):
    return xp.where(condition, x, y)


_where = defprimitive(_where_fwd, "where", None,
                      lambda g, ans, c, x, y: _ub(_where(c, g, 0.0), g, ans, x),
                      lambda g, ans, c, x, y: _ub(_where(c, 0.0, g), g, ans, y))


def where(condition, x=xp._NoValue, y=xp._NoValue):
    """Elements of ``x`` where ``condition`` holds, of ``y`` elsewhere (the gradient
    follows the choice); with the condition alone, ``nonzero(condition)``."""
    if x is xp._NoValue and y is xp._NoValue:
        return nonzero(condition)
    if x is xp._NoValue or y is xp._NoValue:
        raise GradkitError("where: give both x and y, or neither")
    return _where(condition, x, y)


def _clip_fwd(x, a_min, a_max):
    return xp.clip(x, a_min, a_max)


def _inside(x, lo, hi):
    mask = True
    if lo is not None:
        mask = mask & (x >= lo)
    if hi is not None:
        mask = mask & (x <= hi)
    return mask


_clip = defprimitive(_clip_fwd, "clip",
                     lambda g, ans, x, lo, hi: _ub(g * _inside(x, lo, hi), g, ans, x),
                     lambda g, ans, x, lo, hi: _ub(g * (x < lo), g, ans, lo),
                     lambda g, ans, x, lo, hi: _ub(g * (x > hi), g, ans, hi))


_NO = xp._NoValue  # NumPy's "argument not given"


def clip(a, a_min=_NO, a_max=_NO, out=None, *, min=_NO, max=_NO):  # noqa: A002
    """Clip values to ``[a_min, a_max]`` (or ``min``/``max``, NumPy 2's names); the
    gradient is passed where ``a`` is inside."""
    refuse_out("clip", out)
    if min is not _NO:
        if a_min is not _NO:
            raise GradkitError("clip: give a_min or min, not both")
        a_min = min
    if max is not _NO:
        if a_max is not _NO:
            raise GradkitError("clip: give a_max or max, not both")
        a_max = max
    return _clip(a, None if a_min is _NO else a_min, None if a_max is _NO else a_max)


# -- reductions ---------------------------------------------------------------------------


def _column_sum(x):
    """Sum over axis 0 of a tall, narrow C-contiguous matrix, in two short passes.

    NumPy reduces such a matrix row by row over only a few columns at a time; folding
    ``m`` rows into one long row first is several times faster (bias gradients).
    """
    r, k = x.shape
    m = next(m for m in (16, 8, 4, 2, 1) if r % m == 0)
    return x.reshape(r // m, m * k).sum(axis=0).reshape(m, k).sum(axis=0)


def _reduction(method: str):
    # ndarray methods skip NumPy's function-dispatch layer: a few microseconds a call.
    def fwd(x, axis=None, keepdims=False):
        if not isinstance(x, ndarray | generic):
            x = array_of(x)
            if not hasattr(x, method):  # an array of the standard alone has no methods
                return getattr(xp, method)(x, axis=axis, keepdims=keepdims)
        if (method == "sum" and not keepdims and (axis == 0 or axis == (0,)) and x.ndim == 2
                and x.shape[0] >= 4096 and x.shape[1] <= 64 and type(x) is xp.ndarray
                and x.flags.c_contiguous):
            return _column_sum(x)
        return getattr(x, method)(axis=axis, keepdims=keepdims)

    fwd.__name__ = method
    return fwd


_sum_fwd = _reduction("sum")


def _sum_rule(g, ans, x, axis=None, keepdims=False):
    return _expand(g, ans, _shape(x), axis, keepdims, like=x)


_sum = defprimitive(_sum_fwd, "sum", _sum_rule)


def _cast_to(a, dtype):
    return a if dtype is None or _dtype(a) == xp.dtype(dtype) else astype(a, dtype)


def _masked(a, where, fill):
    """``a`` with ``fill`` where the ``where=`` mask is False (NumPy's reduction mask);
    ``a`` itself when the mask leaves every element in."""
    if where is True:
        return a
    mask = raw(where)
    if type(mask) is Tensor:  # batched inside vmap: one mask per example
        return _where(mask, a, fill)
    mask = array_of(mask, dtype=bool)
    if mask.shape == _shape(a) and not is_foreign(mask) and mask.all():
        return a
    return _where(mask, a, fill)


def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=_NO,  # noqa: A001
        where=True):
    """Sum of array elements over the given axes (as ``numpy.sum``)."""
    if dtype is None and out is None and initial is _NO and where is True:
        if axis is not None or keepdims:
            return _sum(a, axis=axis, keepdims=keepdims)
        return _sum(a)
    refuse_out("sum", out)
    total = _sum(_masked(_cast_to(a, dtype), where, 0), axis=axis, keepdims=keepdims)
    return total if initial is _NO else total + initial


def _reduced_count(a, axis, keepdims, where):
    """How many elements each output of a reduction over ``axis`` sees (a plain array, or a
    batched constant inside vmap)."""
    axes = None if axis is None else _neg_axes(axis, _ndim(a))
    mask = raw(where)
    if type(mask) is Tensor:  # batched inside vmap: a count per example
        return _sum(broadcast_to(mask, _shape(a)), axis=axes, keepdims=keepdims)
    mask = xp.broadcast_to(array_of(mask, dtype=bool), _shape(a))
    return xp.sum(mask, axis=axes, keepdims=keepdims)


def _count(x, ans) -> int:
    n = math.prod(_shape(x))
    m = math.prod(_shape(ans))
    return n // m if m else 0


def _mean_rule(g, ans, x, axis=None, keepdims=False):
    return _expand(g / _count(x, ans), ans, _shape(x), axis, keepdims, like=x)


def _mean_fwd(x, axis=None, keepdims=False):
    if not isinstance(x, ndarray | generic):
        x = array_of(x)
        if not hasattr(x, "mean"):  # an array of the standard alone has no methods
            return xp.mean(x, axis=axis, keepdims=keepdims)
    if x.dtype.kind != "f":
        return x.mean(axis=axis, keepdims=keepdims)
    # sum / n is what ndarray.mean computes, without its Python-level bookkeeping.
    n = x.size // builtins.max(math.prod(_keepdims_shape(x.shape, axis)), 1) if x.shape else 1
    return x.sum(axis=axis, keepdims=keepdims) / n


_mean = defprimitive(_mean_fwd, "mean", _mean_rule)


def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    """Arithmetic mean over the given axes (as ``numpy.mean``)."""
    if dtype is None and out is None and where is True:
        return _mean(a, axis=axis, keepdims=keepdims)
    refuse_out("mean", out)
    a = _cast_to(a, dtype)
    if where is True:
        return _mean(a, axis=axis, keepdims=keepdims)
    n = _reduced_count(a, axis, keepdims, where)
    if not xp.all(plain(n)):
        warnings.warn("Mean of empty slice", RuntimeWarning, stacklevel=2)  # as NumPy
    with xp.errstate(divide="ignore", invalid="ignore"):  # an empty slice: NaN, as NumPy
        return sum(a, axis=axis, keepdims=keepdims, where=where) / n.astype(_dtype(a))


_mean_of = mean  # var and std take a mean= argument


def _prod_rule(g, ans, x, axis=None, keepdims=False):
    # d prod / dx_i is the product of the other factors, built from exclusive cumulative
    # products from both ends, never prod / x_i: exact when factors are zero, to any order.
    from .statistics import _others_product  # statistics imports this module

    return _expand(g, ans, _shape(x), axis, keepdims) * _others_product(x, axis)


_prod = defprimitive(_reduction("prod"), "prod", _prod_rule)


def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=xp._NoValue, where=True):
    """Product of array elements over the given axes (as ``numpy.prod``).

    The gradient is the product of the other factors, exact when some are zero.

    Examples
    --------
    >>> import gradkit as gk, gradkit.numpy as gnp
    >>> gk.grad(gnp.prod)(gnp.array([2.0, 0.0, 3.0]))
    array([0., 6., 0.])
    """
    refuse_out("prod", out)
    if dtype is not None or initial is not _NO or where is not True:
        total = _prod(_masked(_cast_to(a, dtype), where, 1), axis=axis, keepdims=keepdims)
        return total if initial is _NO else total * initial
    if axis is not None or keepdims:
        return _prod(a, axis=axis, keepdims=keepdims)
    return _prod(a)


def _extremum_rule(g, ans, x, axis=None, keepdims=False):
    # Ties share the cotangent equally, so the rule is the average of the one-sided ones.
    xs = _shape(x)
    xr = raw(x)
    hit = xr == raw(_expand_value(ans, xs, axis, keepdims)) if not keepdims else xr == raw(ans)
    return _expand(g, ans, xs, axis, keepdims) * _tie_share(hit, axis, _dtype(x))


def _tie_share(hit, axis, dtype):
    """Each tied extremum's share of the cotangent (a mask over the count of ties)."""
    if type(hit) is not xp.ndarray and standard_only(hit):
        ns = namespace(hit)
        hit = ns.astype(hit, dtype)
        return hit / ns.sum(hit, axis=axis, keepdims=True)
    with xp.errstate(invalid="ignore"):  # a NaN input ties with nothing: 0/0 -> NaN share
        return (hit / xp.sum(hit, axis=axis, keepdims=True)).astype(dtype, copy=False)


_amax = defprimitive(_reduction("max"), "max", _extremum_rule)
_amin = defprimitive(_reduction("min"), "min", _extremum_rule)


def _extremum(prim, pair, name):
    def extremum(a, axis=None, out=None, keepdims=False, initial=_NO, where=True):
        if out is None and initial is _NO and where is True:
            return prim(a, axis=axis, keepdims=keepdims)
        refuse_out(name, out)
        if initial is _NO:
            raise GradkitError(f"{name}: where= needs initial= (the reduction has no "
                               f"identity)")
        if 0 in _shape(a):  # nothing to reduce over (or nothing at all): initial, as NumPy
            shape = xp.empty(_shape(a), bool).sum(axis=axis, keepdims=keepdims).shape
            value = initial if type(initial) is Tensor else array_of(initial)
            return broadcast_to(astype(value, _dtype(a)), shape)
        return pair(prim(_masked(a, where, initial), axis=axis, keepdims=keepdims), initial)

    extremum.__name__ = extremum.__qualname__ = name
    return extremum


amax = _extremum(_amax, lambda m, v: maximum(m, v), "max")
amin = _extremum(_amin, lambda m, v: minimum(m, v), "min")
amax.__doc__ = """Maximum over the given axes (as ``numpy.max``); repeated maxima share the
gradient equally."""
amin.__doc__ = """Minimum over the given axes (as ``numpy.min``); repeated minima share the
gradient equally."""
max = amax  # noqa: A001
min = amin  # noqa: A001


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True,
        mean=_NO, correction=_NO):
    """Variance over the given axes (as ``numpy.var``: ``ddof`` or ``correction``, a given
    ``mean``, a ``where=`` mask)."""
    refuse_out("var", out)
    if correction is not _NO:
        if ddof != 0:
            raise GradkitError("var: ddof and correction can't be provided simultaneously")
        ddof = correction
    a = _cast_to(a, dtype)
    if where is True:
        m = _mean_of(a, axis=axis, keepdims=True) if mean is _NO else mean
        d = a - m
        n = math.prod(_shape(a)) // math.prod(_keepdims_shape(_shape(a), axis) or (1,))
        return sum(d * d, axis=axis, keepdims=keepdims) / (n - ddof)
    m = _mean_of(a, axis=axis, keepdims=True, where=where) if mean is _NO else mean
    d = _masked(a - m, where, 0)
    n = _reduced_count(a, axis, keepdims, where)
    with xp.errstate(divide="ignore", invalid="ignore"):
        return sum(d * d, axis=axis, keepdims=keepdims) / (n - ddof).astype(_dtype(d))


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True,
        mean=_NO, correction=_NO):
    """Standard deviation over the given axes (as ``numpy.std``); see :func:`var`."""
    refuse_out("std", out)
    return sqrt(var(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims, where=where,
                    mean=mean, correction=correction))


def _cumsum_rule(g, ans, x, axis):
    if axis is None:
        nb = _nb(g, ans)
        flat = flip(cumsum(flip(g, -1), -1), -1)
        return reshape(flat, _shape(g)[:nb] + _shape(x))
    ax = _neg_axes(axis, _ndim(x))
    return flip(cumsum(flip(g, ax), ax[0]), ax)


def _cumsum_fwd(x, axis):
    if axis is None and is_chunked(x):
        return xp.cumsum(_reshape_fwd(x, (-1,)), axis=0)  # Dask has no flat cumsum of a 0-d
    return xp.cumsum(x, axis=axis)


_cumsum = defprimitive(_cumsum_fwd, "cumsum", _cumsum_rule)


def cumsum(a, axis=None, dtype=None, out=None):
    """Cumulative sum along an axis (of the flattened array when ``axis`` is None)."""
    refuse_out("cumsum", out)
    return _cumsum(_cast_to(a, dtype), axis)


def _kept(x, method: str, axis):
    """``x``'s reduction ``method`` over ``axis``, the axes kept: the ndarray method skips
    NumPy's dispatch; an array of another library (or of the standard alone, which has no
    methods) goes through the namespace's function."""
    if type(x) is ndarray:
        return getattr(x, method)(axis=axis, keepdims=True)
    return getattr(xp, method)(x, axis=axis, keepdims=True)


def _shifted(x, axis):
    """x minus its maximum along ``axis`` (0 where the maximum is infinite), that maximum,
    and whether every maximum is finite (False when not looked at)."""
    x = array_of(x)
    m = _kept(x, "max", axis)
    # (a lazy array's maximum is not looked at: the where costs nothing there)
    if not is_foreign(x) and xp.isfinite(m).all():
        return x - m, m, True
    m = xp.where(xp.isfinite(m), m, 0)
    return x - m, m, False


_QUIET = contextlib.nullcontext()


def _rows_of_nan(finite: bool):
    """Where a row's maximum is infinite (all -inf, or an entry +inf), its softmax is
    undefined: NaN, as in JAX and PyTorch, without NumPy's warning."""
    return _QUIET if finite else xp.errstate(invalid="ignore")


def _log_of_sum(e, axis):
    s = _kept(e, "sum", axis)
    if not is_foreign(s) and s.all():
        return xp.log(s)
    with xp.errstate(divide="ignore"):  # log(0) = -inf is right for rows of -inf
        return xp.log(s)


def _softmax_fwd(x, axis):
    d, _, finite = _shifted(x, axis)
    with _rows_of_nan(finite):
        e = xp.exp(d)
        return e / _kept(e, "sum", axis)


def _logsumexp_fwd(x, axis, keepdims):
    d, m, _ = _shifted(x, axis)
    out = _log_of_sum(xp.exp(d), axis) + m
    return out if keepdims else xp.squeeze(out, axis=axis)


def _log_softmax_fwd(x, axis):
    d, _, finite = _shifted(x, axis)
    with _rows_of_nan(finite):
        return d - _log_of_sum(xp.exp(d), axis)


_softmax = defprimitive(
    _softmax_fwd, "softmax",
    lambda g, ans, x, axis: ans * (g - sum(g * ans, axis=axis, keepdims=True)))


def _log_softmax_vjp_fwd(g, ans, axis):
    return g - xp.exp(ans) * _kept(g, "sum", axis)


# log_softmax's rule as one primitive (one dispatch, not four: the cross-entropy of every
# classifier runs it), with its own rules written in gradkit ops for higher orders.
_log_softmax_vjp = defprimitive(
    _log_softmax_vjp_fwd, "log_softmax (derivative)",
    lambda c, out, g, ans, axis: _ub(c - sum(c * exp(ans), axis=axis, keepdims=True), c, out,
                                     g),
    lambda c, out, g, ans, axis: _ub(-c * exp(ans) * sum(g, axis=axis, keepdims=True), c, out,
                                     ans))
_log_softmax = defprimitive(_log_softmax_fwd, "log_softmax",
                            lambda g, ans, x, axis: _log_softmax_vjp(g, ans, axis))
def _logsumexp_rule(g, ans, x, axis, keepdims):
    # Not exp(x - ans): for |x| near 1e308, ans rounds to max(x) and loses log(n).
    return _expand(g, ans, _shape(x), axis, keepdims) * _softmax(x, axis)


_logsumexp = defprimitive(_logsumexp_fwd, "logsumexp", _logsumexp_rule)


def softmax(x, axis=-1):
    """Softmax along ``axis``, computed without overflow.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> gnp.softmax(gnp.array([0.0, 0.0]))
    array([0.5, 0.5])
    """
    return _softmax(x, _neg_axes(axis, _ndim(x), "softmax"))


def log_softmax(x, axis=-1):
    """Logarithm of the softmax along ``axis``, computed stably."""
    return _log_softmax(x, _neg_axes(axis, _ndim(x), "log_softmax"))


def logsumexp(a, axis=None, keepdims=False):
    """log(sum(exp(a))) over the given axes, without overflow.

    Examples
    --------
    >>> import gradkit.numpy as gnp
    >>> float(gnp.logsumexp(gnp.array([1e308, 1e308])))
    1e+308
    """
    return _logsumexp(a, _neg_axes(axis, _ndim(a), "logsumexp"), keepdims)


# -- shape --------------------------------------------------------------------------------


def _reshape_rule(g, ans, x, shape):
    return reshape(g, _shape(g)[:_nb(g, ans)] + _shape(x))


def _reshape_fwd(x, shape):
    if type(x) is not ndarray and is_chunked(x) and math.prod(x.shape) == 0:
        # Dask cannot reshape an empty array; there is nothing to carry over (NumPy's own
        # empty stand-in checks the shape, free)
        return zeros_like_library(x, xp.empty(x.shape, bool).reshape(shape).shape, x.dtype)
    return xp.reshape(x, shape)


_reshape = defprimitive(_reshape_fwd, "reshape", _reshape_rule)


def reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    """Give a new shape to an array without changing its data (as ``numpy.reshape``;
    ``order`` "C" or "F"; ``copy`` has no meaning for a traced value, always new)."""
    if newshape is not None:
        if shape is not None:
            raise GradkitError("reshape: give shape or newshape, not both")
        shape = newshape
    if isinstance(shape, int | xp.integer):
        shape = (int(shape),)
    shape = tuple(shape)
    if order == "A":  # Fortran order only for a Fortran-contiguous (not C) array
        v = raw(a)
        order = "F" if (isinstance(v, xp.ndarray) and v.flags.f_contiguous
                        and not v.flags.c_contiguous) else "C"
    if order == "F":
        return transpose(_reshape(transpose(a), shape[::-1]))
    if order != "C":
        raise GradkitError(f"reshape: order must be 'C', 'F' or 'A', got {order!r}")
    return _reshape(a, shape)


def _transpose_rule(g, ans, x, axes):
    nb = _nb(g, ans)
    inverse = xp.argsort(axes)
    return _transpose(g, tuple(range(nb)) + tuple(nb + int(i) for i in inverse))


_transpose = defprimitive(lambda x, axes: xp.transpose(x, axes), "transpose", _transpose_rule)


def transpose(a, axes=None):
    """Permute the axes (reverse them when ``axes`` is None)."""
    n = _ndim(a)
    axes = tuple(range(n))[::-1] if axes is None else _axis_indices(axes, n, "transpose")
    if axes == tuple(range(n)):
        return a
    return _transpose(a, axes)  # too few or too many axes: NumPy's error


def _permute(a, axes: tuple):
    """``transpose`` by a permutation of all the axes, already checked."""
    return a if axes == tuple(range(len(axes))) else _transpose(a, axes)


def swapaxes(a, axis1, axis2):
    n = _ndim(a)
    axes = list(range(n))
    i, j = _axis_index(axis1, n, "swapaxes"), _axis_index(axis2, n, "swapaxes")
    axes[i], axes[j] = axes[j], axes[i]
    return _permute(a, tuple(axes))


def moveaxis(a, source, destination):
    n = _ndim(a)
    src = _axis_indices(source, n, "moveaxis (source)")
    dst = _axis_indices(destination, n, "moveaxis (destination)")
    if len(src) != len(dst):
        raise GradkitError(f"moveaxis: source {source} and destination {destination} must "
                           f"have the same number of elements")
    order = [i for i in range(n) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return _permute(a, tuple(order))


def _broadcast_to_rule(g, ans, x, shape):
    return sum_to(g, _nb(g, ans), _shape(x))


def _broadcast_to_fwd(x, shape):
    if math.prod(shape) <= 4096 and isinstance(x, xp.ndarray | xp.generic):
        # numpy.broadcast_to costs several microseconds of Python; for small results a
        # filled copy is cheaper (reduction rules expand their cotangent this way).
        out = xp.empty(shape, dtype=x.dtype)
        out[...] = x
        return out
    return xp.broadcast_to(x, shape)


_broadcast_to = defprimitive(_broadcast_to_fwd, "broadcast_to", _broadcast_to_rule)


def broadcast_to(array, shape, subok=False):
    """Broadcast an array to a new shape (a read-only view, as in NumPy)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if _shape(array) == shape:
        return array
    return _broadcast_to(array, shape)


def expand_dims(a, axis):
    shape = list(_shape(a))
    axes = (axis,) if isinstance(axis, int | xp.integer) else tuple(axis)
    for ax in sorted(_axis_indices(axes, len(shape) + len(axes), "expand_dims")):
        shape.insert(ax, 1)
    return reshape(a, tuple(shape))


def squeeze(a, axis=None):
    shape = _shape(a)
    if axis is None:
        keep = tuple(s for s in shape if s != 1)
    else:
        axes = set(_axis_indices(axis, len(shape), "squeeze"))
        for ax in axes:
            if shape[ax] != 1:
                raise GradkitError(f"squeeze: axis {ax} of shape {shape} does not have size 1")
        keep = tuple(s for i, s in enumerate(shape) if i not in axes)
    return reshape(a, keep)


def ravel(a, order="C"):
    """The elements as a 1-D array (``order`` "C", "F", "A" or "K", as ``numpy.ravel``)."""
    if order == "K":  # memory order: for the arrays gradkit makes, C unless Fortran-only
        order = "A"
    return reshape(a, (-1,), order=order)


def _each(f, arys):
    out = tuple(f(array_from_nested(a) if isinstance(a, list | tuple) else a) for a in arys)
    return out[0] if len(out) == 1 else out


def atleast_1d(*arys):
    """Views with at least one dimension (a tuple for several arrays, as NumPy)."""
    return _each(lambda a: reshape(a, (1,)) if _ndim(a) == 0 else a, arys)


def atleast_2d(*arys):
    """Views with at least two dimensions (a tuple for several arrays, as NumPy)."""
    return _each(lambda a: reshape(a, (1,) * (2 - _ndim(a)) + _shape(a)) if _ndim(a) < 2
                 else a, arys)


def _astype_fwd(x, dtype):
    x = array_of(x)
    if not hasattr(x, "astype"):  # an array of the standard alone has no methods
        return xp.astype(x, dtype)
    return x.astype(dtype, copy=False)


astype = defprimitive(_astype_fwd, "astype",
                      lambda g, ans, x, dtype: astype(g, _dtype(x)))


# -- indexing -----------------------------------------------------------------------------


def _normalize_index(idx) -> tuple:
    """Index as a tuple, with masks turned into integer arrays and Tensors unwrapped."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    out = []
    for i in idx:
        i = raw(i)
        if isinstance(i, list):
            i = array_of(i)
        if type(i) is Tensor:  # a batched index inside vmap (raw keeps the batch)
            if i.dtype == bool or not xp.issubdtype(i.dtype, xp.integer):
                raise GradkitError(f"index: a batched index inside vmap must be an integer "
                                   f"array (a mask's shape would differ between examples), "
                                   f"got dtype {i.dtype}")
            out.append(i)
        elif isinstance(i, xp.ndarray) and i.dtype == bool:
            out.extend(xp.nonzero(i))
        elif isinstance(i, xp.ndarray) and not xp.issubdtype(i.dtype, xp.integer):
            raise GradkitError(f"index: arrays used as indices must be integer or boolean, "
                               f"got dtype {i.dtype}")
        else:
            out.append(i)
    # (another library's index array too: its positions may repeat, as NumPy's)
    advanced = [k for k, i in enumerate(out) if isinstance(i, xp.ndarray | Tensor)
                or is_foreign(i)]
    if advanced:  # integers next to arrays count as advanced indices in NumPy
        advanced = [k for k, i in enumerate(out) if (isinstance(i, xp.ndarray | Tensor | int |
                                                                xp.integer) or is_foreign(i))
                    and not isinstance(i, bool)]
    return tuple(out), advanced


def _front_moves(advanced) -> bool:
    """Whether NumPy moves the advanced-index axes to the front (they are not adjacent)."""
    return bool(advanced) and advanced[-1] - advanced[0] + 1 != len(advanced)


def _adv_ndim(idx, advanced) -> int:
    return len(xp.broadcast_shapes(*(xp.shape(idx[k]) for k in advanced)))


def _pointwise(x, idx) -> bool:
    """Whether ``x[idx]``, ``x`` a Dask array, has index arrays (NumPy's or Dask's) beyond
    what Dask's own indexing lays out as NumPy does (one 1-D array among slices): several
    arrays, n-d or 0-d ones, arrays apart, or new axes beside them."""
    index, advanced = idx
    if not advanced:
        return False
    arrays = [index[k] for k in advanced if not isinstance(index[k], int | xp.integer)]
    if not builtins.all(type(a) is ndarray or is_foreign(a) for a in arrays):
        return False  # a batched index inside vmap
    return (len(arrays) > 1 or arrays[0].ndim != 1 or _front_moves(advanced)
            or builtins.any(i is None for i in index))  # Dask fails on new axes there


def _vindex(x, index, advanced):
    """``x[index]`` for a Dask array through Dask's pointwise gather (``vindex``): the basic
    indices first, the advanced axes kept whole, then one gather over those axes moved to
    the front, whose broadcast axes go where NumPy places them."""
    keep = builtins.set(advanced)
    y = x[tuple(slice(None) if k in keep else i for k, i in enumerate(index))]
    consumed = builtins.sum(1 for i in index if i is not None and i is not ...)
    axes, at = [], 0
    for k, i in enumerate(index):
        if k in keep:
            axes.append(at)
        at += x.ndim - consumed if i is ... else 1
    arrays = xp.broadcast_arrays(*(array_of(index[k]) for k in advanced))
    lead = tuple(arrays[0].shape)
    y = xp.moveaxis(y, axes, range(len(axes)))
    rest = tuple(y.shape[len(axes):])
    lazy = builtins.any(is_foreign(a) for a in arrays)
    if math.prod(lead) * math.prod(rest) == 0:  # Dask gathers nothing from empty arrays
        for a, n in zip(arrays, y.shape, strict=False):
            if not lazy and a.size and (a.min() < -n or a.max() >= n):
                raise IndexError(f"index out of bounds for an axis of size {n}")
        out = zeros_like_library(x, lead + rest, x.dtype)
    elif lazy:  # Dask's gather takes no lazy positions: one flat index into merged axes
        # (lazy positions are not bounds-checked, as in Dask's own gather with them)
        flat, stride = 0, 1
        for a, n in zip(arrays[::-1], y.shape[len(axes) - 1::-1], strict=False):
            flat = flat + (a % n) * stride
            stride *= n
        merged = _reshape_fwd(y, (-1, *rest))
        out = _reshape_fwd(merged[_reshape_fwd(flat, (-1,))], lead + rest)
    elif not lead:  # Dask gathers with arrays of one axis or more
        out = y.vindex[tuple(a[None] for a in arrays)][0]
    else:
        out = y.vindex[tuple(arrays)]
    if _front_moves(advanced):
        return out
    return xp.moveaxis(out, range(len(lead)), range(axes[0], axes[0] + len(lead)))


def _explicit_slices(index, shape):
    """``index`` with each slice's bounds within its axis: Dask reads a start before the
    first element, with a negative step, as counted from the end."""
    consumed = builtins.sum(1 for i in index if i is not None and i is not ...)
    out, at = [], 0
    for i in index:
        if i is ...:
            at += len(shape) - consumed
        elif i is not None:
            if isinstance(i, slice):
                r = range(*i.indices(shape[at]))
                i = slice(r.start, None if r.stop < 0 else r.stop, r.step) if r else slice(0, 0)
            at += 1
        out.append(i)
    return tuple(out)


def _lazy_index(index, advanced) -> bool:
    """Whether an index array of ``index`` is a lazy (Dask) array."""
    return builtins.any(type(index[k]) is not ndarray and is_chunked(index[k]) for k in advanced)


def _getitem_fwd(x, idx):
    if type(x) is ndarray and idx[1] and _lazy_index(*idx):
        import dask.array as da  # NumPy data read at lazy positions: a lazy gather

        x = da.from_array(x, chunks=-1)
    if type(x) is not ndarray and is_chunked(x):
        idx = (_explicit_slices(idx[0], x.shape), idx[1])
        if _pointwise(x, idx):
            return _vindex(x, *idx)
    if _front_moves(idx[1]) and is_foreign(x):
        # Dask keeps such an index's axes in place where NumPy moves them to the front:
        # the same index would give a differently laid out result.
        raise GradkitError(f"getitem: index arrays (or integers) separated by other indices "
                           f"on {library_of(x)} arrays, which place the "
                           f"indexed axes differently from NumPy; index in two steps")
    key = idx[0]
    if type(x) is not ndarray and standard_only(x) and builtins.all(k is not ... for k in key):
        key = (*key, Ellipsis)  # the standard wants every axis indexed
    return x[key]


def _getitem_rule(g, ans, x, idx):
    for i in idx[0]:
        if type(i) is Tensor:  # a batched index inside vmap: the scatter is batched too
            from .batching import batched_like  # it imports this module
            g = batched_like(g, idx[0])
            break
    return _scatter_add(g, idx, _shape(x), _nb(g, ans))


_getitem = defprimitive(_getitem_fwd, "getitem", _getitem_rule)


def _scatter_rows(g, rows, shape):
    """``add.at`` of rows (``take(axis=0)``, embeddings, ``x[rows]``) through flat indices:
    NumPy's ``add.at`` is about 4 times faster on a 1-D target than with row indices."""
    row = math.prod(shape[1:])
    flat = ((rows.ravel() % shape[0])[:, None] * row + xp.arange(row)).ravel()
    out = xp.zeros(shape[0] * row, dtype=g.dtype)
    xp.add.at(out, flat, g.reshape(-1))
    return out.reshape(shape)


def _scatter_fwd(g, idx, shape, nb):
    index, advanced = idx
    g = array_of(g)
    if is_foreign(g):
        return _scatter_foreign(g, index, advanced, shape, nb)
    if (not nb and advanced == [0] and len(index) == 1 and len(shape) > 1 and shape[0] > 0
            and getattr(index[0], "dtype", None) is not None and index[0].dtype.kind in "iu"):
        return _scatter_rows(g, index[0], shape)
    out = xp.zeros(g.shape[:nb] + shape, dtype=g.dtype)
    bidx = (slice(None),) * nb + index
    if not advanced:
        out[bidx] = g
        return out
    if nb and _front_moves(advanced):
        k = _adv_ndim(index, advanced)
        g = xp.moveaxis(g, tuple(range(nb)), tuple(range(k, k + nb)))
    xp.add.at(out, bidx, g)
    return out


def _standard_assignment(g, index, nb: int, ndim: int):
    """``g`` and a basic ``index`` as the standard's assignment takes them: no new axes
    (each ``None`` made a length-1 axis of ``g``: it goes) and every axis indexed."""
    ns = namespace(g)
    consumed = builtins.sum(1 for i in index if i is not None and i is not ...)
    drop, at = [], nb
    for i in index:
        if i is None:
            drop.append(at)
            at += 1
        elif i is ...:
            at += ndim - consumed
        elif isinstance(i, slice):
            at += 1
    if drop:
        g = ns.squeeze(g, axis=tuple(drop))
    index = tuple(i for i in index if i is not None)
    if builtins.all(i is not ... for i in index):
        index += (...,)
    return g, index


def _forward_slices(g, index, nb: int, shape: tuple):
    """``g`` and a basic ``index`` (no ``None``) as slices of positive steps, one an axis:
    Dask's assignment misplaces values at integers beside slices of negative steps. An
    integer becomes a slice of length one (an axis of ``g``), a negative step a positive
    one over the same positions (``g`` flipped there)."""
    at = index.index(...)
    full = index[:at] + (slice(None),) * (len(shape) - len(index) + 1) + index[at + 1:]
    ns = namespace(g)
    out, gshape, flips, axis = [], list(g.shape[:nb]), [], nb
    for i, n in zip(full, shape, strict=True):
        if isinstance(i, slice):
            r = range(*i.indices(n))
            if r.step < 0:
                flips.append(axis)
                i = slice(r[-1], r[0] + 1, -r.step)
            else:
                i = slice(r.start, r.stop, r.step)
            gshape.append(len(r))
            axis += 1
        else:
            i = int(i) % n
            i = slice(i, i + 1)
            gshape.append(1)
        out.append(i)
    if flips:
        g = ns.flip(g, axis=tuple(flips))
    return ns.reshape(g, tuple(gshape)), tuple(out)


def _scatter_foreign(g, index, advanced, shape, nb):
    """The scatter in the library of ``g`` (Dask, CuPy): with basic indices, assignment into
    its zeros (no position repeats); with index arrays, which may repeat one, a weighted
    bincount of each gathered element's position (NumPy's, from the index alone)."""
    chunked = is_chunked(g)
    if chunked and math.prod(g.shape) == 0:  # nothing to place (Dask refuses empty ones)
        return zeros_like_library(g, g.shape[:nb] + tuple(shape), g.dtype)
    if not advanced:
        out = zeros_like_library(g, g.shape[:nb] + tuple(shape), g.dtype)
        if chunked or standard_only(g):
            g, index = _standard_assignment(g, index, nb, len(shape))
        if chunked:
            g, index = _forward_slices(g, index, nb, shape)
        out[(slice(None),) * nb + index] = g
        return out
    size = math.prod(shape)
    if _lazy_index(index, advanced):  # lazy index arrays: lazy positions too
        cells = namespace(g).reshape(namespace(g).arange(size), tuple(shape))
        positions = _getitem_fwd(cells, (index, advanced))
    else:
        positions = xp.arange(size).reshape(shape)[index]
    if nb:  # each basis vector of a Jacobian scatters into its own block of bins
        lead = g.shape[:nb]
        offsets = xp.arange(math.prod(lead)).reshape(lead + (1,) * positions.ndim) * size
        positions = positions + offsets
        size *= math.prod(lead)
    positions = xp.broadcast_to(positions, g.shape)
    return scatter_sum(positions, g, size).reshape(g.shape[:nb] + tuple(shape)).astype(g.dtype)


def _scatter_rule(g2, ans, g, idx, shape, nb):
    nb2 = _nb(g2, ans)
    index, advanced = idx
    shift = nb2 + nb
    out = _getitem(batched_by_index(g2, index),
                   ((slice(None),) * shift + index, [k + shift for k in advanced]))
    if nb2 + nb and _front_moves(advanced):
        k = _adv_ndim(index, advanced)
        out = moveaxis(out, tuple(range(k, k + nb2 + nb)), tuple(range(nb2 + nb)))
    return out


_scatter_add = defprimitive(_scatter_fwd, "scatter_add", _scatter_rule)


def batched_by_index(a, index: tuple):
    """``a``, batched like the entries of ``index`` that a vmap batches (per-example
    indices), so that indexing ``a`` goes to that vmap's rule; ``a`` itself when none is."""
    for i in index:
        if type(i) is Tensor:
            from .batching import batched_like  # it imports this module
            return batched_like(a, index)
    return a


def getitem(a, index):
    """``a[index]`` with basic and advanced indexing (integer arrays, masks, slices)."""
    idx = _normalize_index(index)
    return _getitem(batched_by_index(a, idx[0]), idx)


def take(a, indices, axis=None, out=None, mode="raise"):
    """Take elements along an axis (of the flattened array when ``axis`` is None);
    ``mode`` "raise", "wrap" or "clip" as NumPy."""
    refuse_out("take", out)
    indices = raw(indices)
    if type(indices) is not Tensor:  # a batched index inside vmap stays batched
        indices = array_of(indices)
    if axis is not None:
        axis = _axis_index(axis, _ndim(a), "take")
    if mode != "raise":
        n = math.prod(_shape(a)) if axis is None else _shape(a)[axis]
        if mode == "wrap":
            indices = indices % n
        elif mode == "clip":
            indices = clip(indices, 0, n - 1)
        else:
            raise GradkitError(f"take: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    if axis is None:
        return getitem(ravel(a), indices)
    return getitem(a, (slice(None),) * axis + (indices,))


def take_along_axis(arr, indices, axis):
    """Pick values along ``axis`` with an index array of the same rank (as NumPy)."""
    indices = raw(indices)
    if type(indices) is not Tensor:  # a batched index inside vmap stays batched
        indices = array_of(indices)
    if axis is None:
        return getitem(ravel(arr), indices)
    shape = _shape(arr)
    n = len(shape)
    axis = _axis_index(axis, n, "take_along_axis")
    index = []
    for d in range(n):
        if d == axis:
            index.append(indices)
        else:
            index.append(xp.arange(shape[d]).reshape((-1,) + (1,) * (n - d - 1)))
    return getitem(arr, tuple(index))


def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Sorted copy; the gradient follows each element to its sorted place (ties keep
    their order, whatever ``kind``: every sort of equal values gives the same values)."""
    if order is not None:
        raise GradkitError("sort: order= sorts structured arrays, which have no gradient")
    if axis is None:
        a, axis = ravel(a), -1
    _axis_index(axis, _ndim(a), "sort")  # NumPy's AxisError would name no call
    return take_along_axis(a, along_axis(xp.argsort, raw(a), axis, kind="stable"), axis)


def repeat(a, repeats, axis=None):
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axis_index(axis, _ndim(a), "repeat")
    n = _shape(a)[axis]
    return take(a, xp.repeat(xp.arange(n), raw(repeats)), axis=axis)


def tile(A, reps):  # noqa: N803 - NumPy's name
    """Repeat ``A`` the number of times given by ``reps`` along each axis."""
    a = A
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    shape = _shape(a)
    d = builtins.max(len(shape), len(reps))
    shape = (1,) * (d - len(shape)) + shape
    reps = (1,) * (d - len(reps)) + reps
    inter = tuple(itertools.chain.from_iterable((1, s) for s in shape))
    full = tuple(itertools.chain.from_iterable(zip(reps, shape)))
    out = broadcast_to(reshape(a, inter), full)
    return reshape(out, tuple(r * s for r, s in zip(reps, shape)))


def split(ary, indices_or_sections, axis=0):
    axis = _axis_index(axis, _ndim(ary), "split")
    n = _shape(ary)[axis]
    try:
        pieces = xp.split(xp.arange(n), indices_or_sections)
    except ValueError as e:  # an uneven division
        raise GradkitError(f"split: {e} (axis {axis} of size {n} into "
                           f"{indices_or_sections!r})") from None
    lead = (slice(None),) * axis
    return [getitem(ary, lead + (slice(int(p[0]), int(p[-1]) + 1),)) if len(p)
            else getitem(ary, lead + (slice(0, 0),)) for p in pieces]


def _concat_fwd(axis, *arrays):
    return xp.concatenate(arrays, axis=axis)


def _concat_joint(g, node):
    axis = node._args[0]
    arrays = node._args[1:]
    nd = _ndim(node._value)
    ax = axis - nd if axis >= 0 else axis
    sizes = [_shape(a)[ax] for a in arrays]
    starts = list(itertools.accumulate([0] + sizes))
    tail = (slice(None),) * (-ax - 1)
    return [getitem(g, (Ellipsis, slice(starts[i - 1], starts[i])) + tail)
            for i, _ in node._parents]


_concat = defprimitive(_concat_fwd, "concatenate")
_concat.joint = _concat_joint


def concatenate(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """Join arrays along an existing axis (``dtype=`` casts them first, as NumPy)."""
    refuse_out("concatenate", out)
    arrays = list(arrays)
    if dtype is not None or casting != "same_kind":
        arrays = _cast_for_join("concatenate", arrays, dtype, casting)
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    return _concat(int(axis), *arrays)


def _cast_for_join(name: str, arrays: list, dtype, casting) -> list:
    # NumPy checks the casting rule on empty stand-ins of the arrays' dtypes.
    dtypes = [array_of(raw(a)).dtype for a in arrays]
    try:
        target = xp.concatenate([xp.empty((0,), d) for d in dtypes], dtype=dtype,
                                casting=casting).dtype
    except (TypeError, ValueError) as e:
        raise GradkitError(f"{name}(dtype={dtype!r}, casting={casting!r}): {e}") from None
    if dtype is None:
        return arrays
    return [a if d == target else astype(a, target) for a, d in zip(arrays, dtypes)]


def stack(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """Join arrays along a new axis."""
    refuse_out("stack", out)
    arrays = list(arrays)
    if not arrays:
        raise GradkitError("stack: need at least one array")
    if dtype is not None or casting != "same_kind":
        arrays = _cast_for_join("stack", arrays, dtype, casting)
    axis = _axis_index(axis, _ndim(arrays[0]) + 1, "stack")
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis)


def hstack(tup, *, dtype=None, casting="same_kind"):
    """Stack arrays horizontally (along axis 1, or 0 for 1-D arrays)."""
    arrays = [atleast_1d(a) for a in tup]
    if not arrays:
        raise GradkitError("hstack: need at least one array to concatenate")
    if dtype is not None or casting != "same_kind":
        arrays = _cast_for_join("hstack", arrays, dtype, casting)
    return concatenate(arrays, axis=0 if _ndim(arrays[0]) == 1 else 1)


def vstack(tup, *, dtype=None, casting="same_kind"):
    """Stack arrays vertically (along axis 0, 1-D arrays as rows)."""
    arrays = [atleast_2d(a) for a in tup]
    if dtype is not None or casting != "same_kind":
        arrays = _cast_for_join("vstack", arrays, dtype, casting)
    return concatenate(arrays, axis=0)


def _flip_fwd(x, axes):
    return xp.flip(x, axes)


_flip = defprimitive(_flip_fwd, "flip", lambda g, ans, x, axes: _flip(g, axes))


def flip(m, axis=None):
    return _flip(m, _neg_axes(axis, _ndim(m), "flip"))


def _roll_fwd(x, shift, axes):
    return xp.roll(x, shift, axes)


_roll = defprimitive(_roll_fwd, "roll",
                     lambda g, ans, x, shift, axes: _roll(g, _negate(shift), axes))


def _negate(shift):
    return tuple(-s for s in shift) if isinstance(shift, tuple) else -shift


def roll(a, shift, axis=None):
    if type(raw(shift)) is Tensor:  # one shift per example, inside vmap
        return _roll_traced(a, raw(shift), axis)
    if axis is None:
        return reshape(_roll(ravel(a), shift, -1), _shape(a))
    axes = _neg_axes(axis, _ndim(a), "roll")
    if xp.ndim(shift) == 0:  # an int, NumPy's too: the same shift along every axis
        return _roll(a, (int(shift),) * len(axes), axes)
    return _roll(a, tuple(int(s) for s in shift), axes)


def _roll_traced(a, shift, axis):
    """``roll`` by a shift known only as a traced value: a gather of the rolled indices,
    one shift per axis (a single shift for all of them, as NumPy broadcasts it)."""
    if axis is None:
        return reshape(_roll_traced(ravel(a), shift, 0), _shape(a))
    axes = _neg_axes(axis, _ndim(a), "roll")
    k = _shape(shift)
    if len(k) > 1 or (k and k[0] != len(axes)):
        raise GradkitError(f"roll: shift of shape {k} for {len(axes)} axes; give one shift "
                           f"or one per axis")
    out = a
    for j, ax in enumerate(axes):
        n = _shape(a)[ax]
        s = getitem(shift, j) if k else shift
        out = take(out, (xp.arange(n) - s) % builtins.max(n, 1), axis=ax)
    return out


def _pad_constant_rule(g, ans, x, pad_width, value):
    nb = _nb(g, ans)
    index = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, _shape(x)))
    return getitem(g, (slice(None),) * nb + index)


def _border(shape: tuple, pad_width, dtype):
    """1 on the border that padding an array of ``shape`` adds, 0 over the array: the
    fill value times it, added to a zero padding, pads with a value NumPy's pad cannot
    take (a lazy one, or one per example)."""
    return xp.pad(xp.zeros(shape, dtype), pad_width, constant_values=1)


def _pad_constant_fwd(x, pad_width, value):
    if type(value) is not ndarray and is_chunked(value):
        # Dask would compute a lazy fill value inside its pad: add it on the border instead
        padded = _pad_constant_fwd(x, pad_width, 0)
        return padded + (value * _border(_shape(x), pad_width, padded.dtype)).astype(
            padded.dtype)
    if type(x) is not ndarray and is_chunked(x) and math.prod(x.shape) == 0:
        # Dask cannot pad an empty array: all of it is the value (NumPy's empty stand-in
        # gives the shape, free)
        shape = xp.pad(xp.empty(x.shape, bool), pad_width).shape
        return namespace(x).full(shape, value, dtype=x.dtype)
    return xp.pad(x, pad_width, mode="constant", constant_values=value)


def _pad_value_rule(g, ans, x, pad_width, value):
    """The fill value's cotangent: the sum of ``g`` over the border (all of it, less the
    part over ``x``)."""
    axes = tuple(range(-len(pad_width), 0))
    return sum(g, axis=axes) - sum(_pad_constant_rule(g, ans, x, pad_width, value), axis=axes)


_pad_constant = defprimitive(_pad_constant_fwd, "pad", _pad_constant_rule, None,
                             _pad_value_rule)


def pad(array, pad_width, mode="constant", constant_values=0):
    """Pad an array (modes constant, edge, reflect, symmetric and wrap)."""
    shape = _shape(array)
    try:
        widths = tuple(tuple(int(w) for w in p) for p in
                       xp.broadcast_to(array_of(pad_width), (len(shape), 2)))
    except ValueError:
        raise GradkitError(f"pad: pad_width {pad_width!r} does not fit an array of "
                           f"{len(shape)} axes (one (before, after) pair per axis, or one "
                           f"for all)") from None
    if mode == "constant":
        if type(constant_values) is Tensor and _ndim(constant_values):
            raise GradkitError(f"pad: a traced constant_values must be one value, got shape "
                               f"{_shape(constant_values)}; pad with each value separately")
        return _pad_constant(array, widths, constant_values)
    out = array
    for ax, (w, n) in enumerate(zip(widths, shape)):
        if w != (0, 0):
            # Non-constant modes only rearrange elements: NumPy pads the indices for us.
            source = xp.pad(xp.arange(n), w, mode=mode)
            out = take(out, source, axis=ax)
    return out


_triu = defprimitive(lambda m, k: xp.triu(m, k), "triu", lambda g, ans, m, k: _triu(g, k))
_tril = defprimitive(lambda m, k: xp.tril(m, k), "tril", lambda g, ans, m, k: _tril(g, k))


def _as_matrices(m):
    """NumPy's triu and tril take a vector as the rows of a square matrix: broadcasting it
    first gives the primitive a matrix, and the gradient the vector's shape back."""
    s = _shape(m)
    return broadcast_to(m, s + s) if len(s) == 1 else m


def triu(m, k=0):
    """Upper triangle of the last two axes (elements below the k-th diagonal zeroed)."""
    return _triu(_as_matrices(m), int(k))


def tril(m, k=0):
    """Lower triangle of the last two axes (elements above the k-th diagonal zeroed)."""
    return _tril(_as_matrices(m), int(k))


def _diagonal_fwd(x, offset, axis1, axis2):
    return xp.diagonal(x, offset, axis1, axis2)


def _diagonal_rule(g, ans, x, offset, axis1, axis2):
    # Embed the diagonal in the last two axes, then move them back to axis1, axis2.
    n = _ndim(x)
    a1, a2 = axis1 % n, axis2 % n
    shape = _shape(x)
    full = _diag_embed(g, offset, shape[a1], shape[a2])
    nb = _nb(g, ans)
    return moveaxis(full, (-2, -1), (nb + a1, nb + a2)) if (a1, a2) != (n - 2, n - 1) else full


def _diag_embed_fwd(v, offset, rows, cols):
    v = array_of(v)
    i = xp.arange(v.shape[-1])
    r, c = (i, i + offset) if offset >= 0 else (i - offset, i)
    if is_foreign(v):  # no assignment at index arrays there: one-hot placements instead
        ns = namespace(v)
        at_r, at_c = xp.zeros((rows, len(i)), v.dtype), xp.zeros((cols, len(i)), v.dtype)
        at_r[r, i] = 1
        at_c[c, i] = 1
        return xp.einsum("...k,rk,ck->...rc", v, ns.asarray(at_r), ns.asarray(at_c))
    out = xp.zeros(v.shape[:-1] + (rows, cols), dtype=v.dtype)
    out[..., r, c] = v
    return out


_diagonal = defprimitive(_diagonal_fwd, "diagonal", _diagonal_rule)
_diag_embed = defprimitive(
    _diag_embed_fwd, "diag_embed",
    lambda g, ans, v, offset, rows, cols: _diagonal(g, offset, -2, -1))


def diagonal(a, offset=0, axis1=0, axis2=1):
    return _diagonal(a, int(offset), int(axis1), int(axis2))


def diag(v, k=0):
    """Extract a diagonal (2-D input) or build a diagonal matrix (1-D input)."""
    nd = _ndim(v)
    if nd == 1:
        n = _shape(v)[0] + abs(int(k))
        return _diag_embed(v, int(k), n, n)
    if nd == 2:
        return _diagonal(v, int(k), 0, 1)
    raise GradkitError(f"diag: input must be 1-D or 2-D, got shape {_shape(v)}")


def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """Sum along a diagonal (as ``numpy.trace``)."""
    refuse_out("trace", out)
    return sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


# -- products -----------------------------------------------------------------------------


def _outer_fwd(u, v):
    """The outer products of the last axes of ``u`` (..., m) and ``v`` (..., n), their
    leading axes broadcast: (..., m, n)."""
    if type(u) is not ndarray or type(v) is not ndarray:
        return u[..., :, None] * v[..., None, :]
    if u.ndim == v.ndim == 1:
        return xp.multiply.outer(u, v)
    # einsum writes the longer axis innermost: a third of the time of NumPy's broadcasting
    # multiply, which walks a stack of outer products one short row at a time
    if u.shape[-1] <= v.shape[-1]:
        return xp.einsum("...i,...j->...ij", u, v)
    return xp.swapaxes(xp.einsum("...i,...j->...ji", u, v), -1, -2)


# The derivative of a vector-matrix product (a dense layer on one example): one primitive.
_outer = defprimitive(
    _outer_fwd, "outer",
    lambda g, ans, u, v: sum_to(squeeze(matmul(g, expand_dims(v, -1)), -1), _nb(g, ans),
                                _shape(u)),
    lambda g, ans, u, v: sum_to(squeeze(matmul(expand_dims(u, -2), g), -2), _nb(g, ans),
                                _shape(v)))


def _matmul_rule_a(g, ans, a, b):
    nb = _nb(g, ans)
    if _ndim(b) == 1:  # (a vector a too: g is a scalar but for a Jacobian's batch axes)
        ga = _outer(g, b) if _ndim(a) > 1 else expand_dims(g, -1) * b
    elif _ndim(a) == 1 and _ndim(b) == 2:  # g's rows (a Jacobian's too) times b^T
        ga = matmul(g, _mT(b))
    elif _ndim(a) == 1:
        ga = squeeze(matmul(expand_dims(g, -2), _mT(b)), -2)
    else:
        ga = matmul(g, _mT(b))
    return sum_to(ga, nb, _shape(a))


def _matmul_rule_b(g, ans, a, b):
    nb = _nb(g, ans)
    if _ndim(a) == 1:
        gb = expand_dims(g, -1) * a if _ndim(b) == 1 else _outer(a, g)
    elif _ndim(b) == 1:
        gb = squeeze(matmul(_mT(a), expand_dims(g, -1)), -1)
    else:
        gb = matmul(_mT(a), g)
    return sum_to(gb, nb, _shape(b))


matmul = defprimitive(xp.matmul, "matmul", _matmul_rule_a, _matmul_rule_b)


def _matmul_add_fwd(a, b, c):
    out = xp.matmul(a, b)
    c = array_of(c)
    if xp.broadcast_shapes(xp.shape(out), c.shape) != xp.shape(out):
        raise ValueError(f"the addend of shape {c.shape} does not broadcast to the product's "
                         f"shape {xp.shape(out)}")
    if isinstance(out, xp.ndarray) and xp.result_type(out, c) == out.dtype:
        # In place: a fresh temporary for the sum costs page faults that, for large
        # outputs, take longer than the addition itself.
        out += c
        return out
    return out + c


matmul_add = defprimitive(
    _matmul_add_fwd, "matmul_add",
    lambda g, ans, a, b, c: _matmul_rule_a(g, ans, a, b),
    lambda g, ans, a, b, c: _matmul_rule_b(g, ans, a, b),
    lambda g, ans, a, b, c: _ub(g, g, ans, c))
matmul_add.__doc__ = """``a @ b + c`` in one primitive (as ``torch.addmm``).

The addend is added in place into the product, so a layer's output costs one array, not
two (for large outputs the second array's page faults cost more than the addition).

Examples
--------
>>> import numpy as np
>>> import gradkit.numpy as gnp
>>> gnp.matmul_add(np.eye(2), np.ones((2, 3)), np.arange(3.0))
array([[1., 2., 3.],
       [1., 2., 3.]])
"""


def tensordot(a, b, axes=2):
    """Tensor dot product, as ``numpy.tensordot`` (built from transpose and matmul)."""
    na, nb = _ndim(a), _ndim(b)
    if isinstance(axes, int):
        ax_a, ax_b = list(range(na - axes, na)), list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, int) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, int) else list(ax_b)
    if len(ax_a) != len(ax_b):
        raise GradkitError(f"tensordot: shape-mismatch for sum: {len(ax_a)} axes of a, "
                           f"{len(ax_b)} of b")
    ax_a = list(_axis_indices(ax_a, na, "tensordot (axes of a)"))
    ax_b = list(_axis_indices(ax_b, nb, "tensordot (axes of b)"))
    sa, sb = _shape(a), _shape(b)
    for i, j in zip(ax_a, ax_b):
        if sa[i] != sb[j]:
            raise GradkitError(f"tensordot: shape mismatch for sum: {sa} axis {i} and "
                               f"{sb} axis {j}")
    free_a = [i for i in range(na) if i not in ax_a]
    free_b = [j for j in range(nb) if j not in ax_b]
    k = math.prod(sa[i] for i in ax_a)
    am = reshape(transpose(a, free_a + ax_a), (-1, k))
    bm = reshape(transpose(b, ax_b + free_b), (k, -1))
    return reshape(matmul(am, bm), tuple(sa[i] for i in free_a) + tuple(sb[j] for j in free_b))


def dot(a, b, out=None):
    """Dot product as ``numpy.dot``."""
    refuse_out("dot", out)
    na, nb = _ndim(a), _ndim(b)
    if na == 0 or nb == 0:
        return multiply(a, b)
    if nb <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([-1], [-2]))


def vdot(a, b):
    return sum(ravel(a) * ravel(b))


def inner(a, b):
    if _ndim(a) == 0 or _ndim(b) == 0:
        return multiply(a, b)
    return tensordot(a, b, axes=([-1], [-1]))


def outer(a, b, out=None):
    """Outer product of the flattened arrays (as ``numpy.outer``)."""
    refuse_out("outer", out)
    return _outer(ravel(a), ravel(b))


# einsum: operands are variadic, so one joint rule returns every operand's cotangent.
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _parse_einsum(subscripts: str, shapes) -> tuple[list, str]:
    """Explicit subscripts: ellipses spelled out as letters, the output always given."""
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        ins, out = subscripts.split("->")
    else:
        ins, out = subscripts, None
    ins = ins.split(",")
    if len(ins) != len(shapes):
        raise GradkitError(f"einsum: {len(ins)} operands in '{subscripts}', got {len(shapes)}")
    used = set(subscripts)
    free = [c for c in _LETTERS if c not in used]
    ell_nd = builtins.max([len(s) - (len(t) - 3) for t, s in zip(ins, shapes) if "..." in t],
                          default=0)
    ell = "".join(free[:ell_nd])
    full = []
    for t, s in zip(ins, shapes):
        if "..." in t:
            k = len(s) - (len(t) - 3)
            t = t.replace("...", ell[ell_nd - k:] if k else "")
        full.append(t)
    if out is None:
        counts = {}
        for t in full:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    else:
        out = out.replace("...", ell)
    return full, out


def _einsum_fwd(subscripts, *operands, optimize=None):
    if optimize is None:  # a contraction path pays off only when there is an order to choose
        optimize = len(operands) > 2
    return xp.einsum(subscripts, *operands, optimize=optimize)


def _einsum_diagonal(ct, target: str, shape: tuple, batch: tuple):
    """The cotangent of an operand with a repeated subscript ('iij'): ``ct`` holds one value
    per distinct subscript; it goes on the diagonal, zero elsewhere."""
    first = {}
    for k, c in enumerate(target):
        first.setdefault(c, k)
    ct = reshape(ct, batch + tuple(s if first[c] == k else 1
                                   for k, (c, s) in enumerate(zip(target, shape))))
    n = len(target)
    index = [xp.arange(s).reshape((-1,) + (1,) * (n - k - 1)) for k, s in enumerate(shape)]
    mask = True
    for k, c in enumerate(target):
        if first[c] != k:
            mask = mask & (index[k] == index[first[c]])
    return ct * mask.astype(_dtype(ct))


def _einsum_joint(g, node):
    subscripts, *ops = node._args
    ins, out = _parse_einsum(subscripts, [_shape(o) for o in ops])
    nb = _nb(g, node._value)
    batch = _shape(g)[:nb]
    cts = []
    for i, _ in node._parents:
        i -= 1  # argument 0 is the subscripts string
        target = ins[i]
        shape = _shape(ops[i])
        dims = dict(zip(target, shape))
        letters = "".join(dict.fromkeys(target))  # each subscript once, in order
        others = [ins[j] for j in range(len(ops)) if j != i]
        present = set(out).union(*others) if others else set(out)
        kept = "".join(c for c in letters if c in present)
        spec = ",".join(["..." + out] + others) + "->..." + kept
        ct = einsum(spec, g, *[ops[j] for j in range(len(ops)) if j != i])
        widened = tuple(nb + k for k, c in enumerate(kept)
                        if dims[c] == 1 and _shape(ct)[nb + k] != 1)
        if widened:  # an operand's size-1 "..." axis was broadcast: sum it back
            ct = sum(ct, axis=widened, keepdims=True)
        if kept != letters:
            ct = reshape(ct, batch + tuple(dims[c] if c in present else 1 for c in letters))
            ct = broadcast_to(ct, batch + tuple(dims[c] for c in letters))
        if letters != target:
            ct = _einsum_diagonal(ct, target, shape, batch)
        cts.append(ct)
    return cts


_einsum = defprimitive(_einsum_fwd, "einsum")
_einsum.joint = _einsum_joint

# The sublist form numbers subscripts 0-51; NumPy reads them as these letters.
_SUBLIST_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _sublist_subscripts(args) -> tuple[str, list]:
    """``einsum(op0, sublist0, op1, sublist1, ..., [sublistout])`` as a subscripts string."""

    def letters(sub) -> str:
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append("...")
                continue
            s = int(raw(s))
            if not 0 <= s < 52:
                raise GradkitError(f"einsum: subscript {s} is not within the valid range "
                                   f"[0, 52)")
            out.append(_SUBLIST_LETTERS[s])
        return "".join(out)

    args = list(args)
    out = letters(args.pop()) if len(args) % 2 else None
    operands = args[0::2]
    spec = ",".join(letters(s) for s in args[1::2])
    return (spec if out is None else spec + "->" + out), operands


def einsum(*operands, out=None, optimize=None, dtype=None, order="K", casting="safe"):
    """Einstein summation, as ``numpy.einsum``: a subscripts string or the sublist form.

    Repeated subscripts in an operand (``'ii->'``, ``'ii->i'``) take its diagonal, and
    differentiate (the cotangent goes back on the diagonal). ``optimize`` chooses the
    contraction path of the forward pass; None (the default) uses one for three operands
    or more. ``out=`` is not supported.

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit.numpy as gnp
    >>> float(gnp.einsum("ii->", np.eye(3))), float(gnp.einsum(np.eye(3), [0, 0]))
    (3.0, 3.0)
    """
    refuse_out("einsum", out)
    if not operands:
        raise GradkitError("einsum: no subscripts and no operands given")
    if isinstance(operands[0], str):
        subscripts, operands = operands[0], list(operands[1:])
    else:
        subscripts, operands = _sublist_subscripts(operands)
    ins, outs = _parse_einsum(subscripts, [_shape(o) for o in operands])
    spec = ",".join(ins) + "->" + outs
    if dtype is not None or order != "K" or casting != "safe":
        operands = _einsum_cast(spec, operands, dtype, order, casting)
    if optimize is None:
        return _einsum(spec, *operands)
    return _einsum(spec, *operands, optimize=optimize)


def _einsum_cast(spec: str, operands, dtype, order, casting) -> list:
    # NumPy checks dtype, order and casting on stand-ins of the operands' dtypes.
    stand_ins = [xp.empty((1,) * _ndim(o), dtype=array_of(raw(o)).dtype) for o in operands]
    try:
        target = xp.einsum(spec, *stand_ins, dtype=dtype, order=order, casting=casting).dtype
    except (TypeError, ValueError) as e:
        raise GradkitError(f"einsum(dtype={dtype!r}, casting={casting!r}, order={order!r}): "
                           f"{e}") from None
    if dtype is None:
        return operands
    return [o if array_of(raw(o)).dtype == target else astype(o, target) for o in operands]


# -- convolution windows ------------------------------------------------------------------


def _windows_fwd(x, window_shape, axes):
    return _np_windows(x, window_shape, axis=axes)


def _windows_rule(g, ans, x, window_shape, axes):
    return _unwindow(g, window_shape, axes, _shape(x))


def _unwindow_fwd(g, window_shape, axes, xshape):
    """Add every window back where it came from: the adjoint of sliding_window_view.

    A loop over kernel offsets, never over pixels. Along the last window axis, windows
    that start ``w`` apart cover adjacent, disjoint stretches, so one addition per residue
    ``r`` puts back all ``w`` offsets at once through a (starts, w) view of the output:
    long contiguous runs instead of ``w`` short strided ones.
    """
    g = array_of(g)
    nd = len(xshape)
    nb = g.ndim - len(window_shape) - nd
    if type(g) is not ndarray and is_chunked(g):
        return _unwindow_padded(g, window_shape, axes, xshape, nb)
    out = xp.zeros(g.shape[:nb] + xshape, dtype=g.dtype)
    last = nb + nd + axes[-1]  # the position of the last windowed axis, in out and in g
    wl = window_shape[-1]
    count = xshape[axes[-1]] - wl + 1
    lead = [(nb + nd + ax, xshape[ax] - w + 1) for ax, w in zip(axes[:-1], window_shape)]
    for offs in itertools.product(*(range(w) for w in window_shape[:-1])):
        source = g[(Ellipsis, *offs, slice(None))]
        target = [slice(None)] * out.ndim
        for (ax, n), o in zip(lead, offs):
            target[ax] = slice(o, o + n)
        for r in range(builtins.min(wl, count)):
            q = len(range(r, count, wl))
            target[last] = slice(r, r + q * wl)
            dst = out[tuple(target)]
            st = dst.strides
            dst = as_strided(dst, dst.shape[:last] + (q, wl) + dst.shape[last + 1:],
                             st[:last] + (st[last] * wl, st[last]) + st[last + 1:])
            src = source[(slice(None),) * last + (slice(r, None, wl),)]
            dst += xp.moveaxis(src, -1, last + 1)
    return out


def _unwindow_padded(g, window_shape, axes, xshape, nb):
    """The adjoint of the windows in a library without ``out=`` or strided views (Dask):
    the sum over window offsets of each offset's slice of ``g``, padded to its place."""
    if math.prod(g.shape) == 0:
        return zeros_like_library(g, g.shape[:nb] + xshape, g.dtype)
    total = None
    for offs in itertools.product(*(range(w) for w in window_shape)):
        part = g[(Ellipsis, *offs)]
        widths = [(0, 0)] * part.ndim
        for ax, o in zip(axes, offs, strict=True):
            widths[nb + ax] = (o, xshape[ax] - o - part.shape[nb + ax])
        part = xp.pad(part, widths)
        total = part if total is None else total + part
    return total


_windows = defprimitive(_windows_fwd, "sliding_window_view", _windows_rule)
_unwindow = defprimitive(
    _unwindow_fwd, "unwindow",
    lambda g2, ans, g, window_shape, axes, xshape: _windows(g2, window_shape, axes))


def sliding_window_view(x, window_shape, axis=None):
    """Sliding windows over ``x`` (as NumPy's), differentiable: the basis of convolution."""
    window_shape = (window_shape,) if isinstance(window_shape, int) else tuple(window_shape)
    nd = _ndim(x)
    if axis is None:
        axis = tuple(range(nd - len(window_shape), nd)) if len(window_shape) != nd \
            else tuple(range(nd))
    axes = _neg_axes(axis, nd, "sliding_window_view")
    if len(axes) != len(window_shape):
        raise GradkitError(f"sliding_window_view: {len(window_shape)} window sizes for "
                           f"{len(axes)} axes")
    if len(set(axes)) != len(axes):
        # NumPy allows an axis twice; windows of windows along it are the same thing, and
        # each single-axis step has a plain rule. Each step appends one window axis at
        # the end, so the axis is counted from the end of the current array.
        for k, (ax, w) in enumerate(zip(axes, window_shape)):
            x = _windows(x, (w,), (ax % nd - nd - k,))
        return x
    return _windows(x, window_shape, axes)


# -- functions without a gradient --------------------------------------------------------
sign = nondifferentiable(xp.sign, "sign")
# Tensor's &, |, ^, ~ and // (masks and integer quotients: no derivative); not exported.
bitwise_and = nondifferentiable(xp.bitwise_and, "bitwise_and")
bitwise_or = nondifferentiable(xp.bitwise_or, "bitwise_or")
bitwise_xor = nondifferentiable(xp.bitwise_xor, "bitwise_xor")
invert = nondifferentiable(xp.invert, "invert")
floor_divide = nondifferentiable(xp.floor_divide, "floor_divide")
floor = nondifferentiable(xp.floor, "floor")
ceil = nondifferentiable(xp.ceil, "ceil")
rint = nondifferentiable(xp.rint, "rint")
trunc = nondifferentiable(xp.trunc, "trunc")
greater = nondifferentiable(xp.greater, "greater")
greater_equal = nondifferentiable(xp.greater_equal, "greater_equal")
less = nondifferentiable(xp.less, "less")
less_equal = nondifferentiable(xp.less_equal, "less_equal")
equal = nondifferentiable(xp.equal, "equal")
not_equal = nondifferentiable(xp.not_equal, "not_equal")
logical_and = nondifferentiable(xp.logical_and, "logical_and")
logical_or = nondifferentiable(xp.logical_or, "logical_or")
logical_not = nondifferentiable(xp.logical_not, "logical_not")
isnan = nondifferentiable(xp.isnan, "isnan")
isinf = nondifferentiable(xp.isinf, "isinf")
isfinite = nondifferentiable(xp.isfinite, "isfinite")
argmax = nondifferentiable(xp.argmax, "argmax")
argmin = nondifferentiable(xp.argmin, "argmin")
argsort = nondifferentiable(xp.argsort, "argsort")
nonzero = nondifferentiable(xp.nonzero, "nonzero")
shape = nondifferentiable(xp.shape, "shape")
ndim = nondifferentiable(xp.ndim, "ndim")
size = nondifferentiable(xp.size, "size")
zeros_like = nondifferentiable(xp.zeros_like, "zeros_like")
ones_like = nondifferentiable(xp.ones_like, "ones_like")
allclose = nondifferentiable(xp.allclose, "allclose")
isclose = nondifferentiable(xp.isclose, "isclose")
array_equal = nondifferentiable(xp.array_equal, "array_equal")
any = nondifferentiable(xp.any, "any")  # noqa: A001
all = nondifferentiable(xp.all, "all")  # noqa: A001
round = nondifferentiable(xp.round, "round")  # noqa: A001
abs = absolute  # noqa: A001

