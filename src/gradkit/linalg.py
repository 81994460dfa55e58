"""Differentiable linear algebra (``gradkit.numpy.linalg``).

Every rule works on stacks of matrices (leading axes), which is also how the batch
axis of ``jacobian`` and ``hessian`` passes through them.
"""

from __future__ import annotations

from typing import NamedTuple

from .backend import xp
from .errors import GradkitError
from .graph import raw
from .ops import (
    _elementwise,
    _mT,
    _nb,
    _ndim,
    _shape,
    absolute,
    amax,
    amin,
    expand_dims,
    matmul,
    power,
    reshape,
    sqrt,
    squeeze,
    sum,
    sum_to,
    tril,
)
from .ops import (
    getitem as _getitem,
)

__all__ = ["inv", "solve", "det", "slogdet", "cholesky", "eigh", "norm"]


inv = _elementwise(xp.linalg.inv, "linalg.inv",
                   lambda g, ans, a: -matmul(matmul(_mT(ans), g), _mT(ans)))


def _solve_rule_a(g, ans, a, b):
    gb = _solve(_mT(a), g)
    return sum_to(-matmul(gb, _mT(ans)), _nb(g, ans), _shape(a))


def _solve_rule_b(g, ans, a, b):
    return sum_to(_solve(_mT(a), g), _nb(g, ans), _shape(b))


_solve = _elementwise(xp.linalg.solve, "linalg.solve", _solve_rule_a, _solve_rule_b)


def solve(a, b):
    """Solve ``a @ x = b`` for ``x`` (``b`` a vector or a stack of matrices)."""
    if _ndim(b) == 1:
        return squeeze(_solve(a, expand_dims(b, -1)), -1)
    return _solve(a, b)


def _det_rule(g, ans, a):
    return expand_dims(expand_dims(g * ans, -1), -1) * _mT(inv(a))


det = _elementwise(xp.linalg.det, "linalg.det", _det_rule)


def _logabsdet_fwd(a):
    return xp.linalg.slogdet(a)[1]


_logabsdet = _elementwise(
    _logabsdet_fwd, "linalg.slogdet",
    lambda g, ans, a: expand_dims(expand_dims(g, -1), -1) * _mT(inv(a)))


def slogdet(a):
    """Sign and log of the absolute determinant; the gradient flows through the log."""
    return SlogdetResult(xp.linalg.slogdet(raw(a))[0], _logabsdet(a))


class SlogdetResult(NamedTuple):
    sign: object
    logabsdet: object


def _phi(x):
    # Lower triangle with the diagonal halved.
    return tril(x) - 0.5 * x * _eye_like(x)


def _eye_like(x):
    n = _shape(x)[-1]
    return xp.eye(n, dtype=xp.result_type(raw(x)))


def _cholesky_rule(g, ans, a):
    # Murray (2016), "Differentiation of the Cholesky decomposition":
    # abar = sym(L^-T Phi(L^T Lbar) L^-1), with sym(X) = (X + X^T) / 2.
    lt = _mT(ans)
    p = _phi(matmul(lt, g))
    x = _solve(lt, p)
    s = _mT(_solve(lt, _mT(x)))
    return 0.5 * (s + _mT(s))


cholesky = _elementwise(xp.linalg.cholesky, "linalg.cholesky", _cholesky_rule)


def _eigh_packed_fwd(a):
    w, v = xp.linalg.eigh(a)
    return xp.concatenate([w[..., None, :], v], axis=-2)


def _eigh_rule(g, ans, a):
    # Eigenvalues and eigenvectors travel packed in one array: row 0 holds w, rows
    # 1..n hold v, so one rule sees both cotangents. Assumes distinct eigenvalues.
    w = _getitem(ans, (Ellipsis, 0, slice(None)))
    v = _getitem(ans, (Ellipsis, slice(1, None), slice(None)))
    gw = _getitem(g, (Ellipsis, 0, slice(None)))
    gv = _getitem(g, (Ellipsis, slice(1, None), slice(None)))
    diff = expand_dims(w, -2) - expand_dims(w, -1)
    n = _shape(ans)[-1]
    off = 1.0 - xp.eye(n, dtype=xp.result_type(raw(ans)))
    f = off / (diff + xp.eye(n, dtype=off.dtype))
    inner = matmul(_mT(v), gv) * f + expand_dims(gw, -2) * xp.eye(n, dtype=off.dtype)
    out = matmul(matmul(v, inner), _mT(v))
    return 0.5 * (out + _mT(out))


_eigh_packed = _elementwise(_eigh_packed_fwd, "linalg.eigh", _eigh_rule)


def eigh(a):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix."""
    packed = _eigh_packed(a)
    w = _getitem(packed, (Ellipsis, 0, slice(None)))
    v = _getitem(packed, (Ellipsis, slice(1, None), slice(None)))
    return w, v


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector and matrix norms (as ``numpy.linalg.norm``; 2-norm and nuclear norm of
    matrices excepted)."""
    nd = _ndim(x)
    if axis is None and ord is None:
        return sqrt(sum(x * x, keepdims=keepdims)) if not keepdims else reshape(
            sqrt(sum(x * x)), (1,) * nd)
    if axis is None:
        axis = tuple(range(nd))
    axis = (axis,) if isinstance(axis, int) else tuple(axis)
    if len(axis) == 1:
        ax = axis[0]
        if ord is None or ord == 2:
            return sqrt(sum(x * x, axis=ax, keepdims=keepdims))
        if ord == xp.inf:
            return amax(absolute(x), axis=ax, keepdims=keepdims)
        if ord == -xp.inf:
            return amin(absolute(x), axis=ax, keepdims=keepdims)
        if ord == 1:
            return sum(absolute(x), axis=ax, keepdims=keepdims)
        if ord == 0:
            raise GradkitError("linalg.norm: ord=0 counts non-zeros and has no gradient")
        return power(sum(power(absolute(x), ord), axis=ax, keepdims=keepdims), 1.0 / ord)
    if len(axis) == 2:
        r, c = axis
        if ord in (None, "fro"):
            return sqrt(sum(x * x, axis=axis, keepdims=keepdims))
        if ord in (1, -1):
            col = sum(absolute(x), axis=r, keepdims=True)
            f = amax if ord == 1 else amin
            out = f(col, axis=c, keepdims=True)
        elif ord in (xp.inf, -xp.inf):
            row = sum(absolute(x), axis=c, keepdims=True)
            f = amax if ord == xp.inf else amin
            out = f(row, axis=r, keepdims=True)
        else:
            raise GradkitError(f"linalg.norm: matrix ord={ord!r} is not supported")
        return out if keepdims else squeeze(out, axis)
    raise GradkitError(f"linalg.norm: axis must name 1 or 2 axes, got {axis}")
