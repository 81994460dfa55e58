"""Differentiable linear algebra (``gradkit.numpy.linalg``).

Every rule works on stacks of matrices (leading axes), which is also how the batch
axis of ``jacobian`` and ``hessian`` passes through them.

Decompositions with several outputs (``eigh``, ``svd``, ``qr``) compute the
factorisation once and hand it to one primitive per output (the ``cache`` argument:
plain arrays that carry no derivative). Each output then has its own rule, so an
output that a function does not use sends no cotangent: eigenvalues alone (or
singular values alone) stay differentiable at repeated values, where only the
vectors' derivative is undefined.

Where a derivative is undefined the rules say so with NaN (eigenvectors and singular
vectors at exactly repeated values, or a zero singular value where the vectors need
``1 / s``), silently and locally to the matrices of a stack concerned;
``gradkit.debug_nans()`` names the rule that produced it.
"""

from __future__ import annotations

import builtins
import math
from typing import NamedTuple

from ._rules import (
    _axis_index,
    _axis_indices,
    _dtype,
    _expand,
    _mT,
    _nb,
    _ndim,
    _neg_axes,
    _shape,
    sum_to,
)
from .arguments import refuse_out
from .backend import along_axis, array_of, is_chunked, ndarray, xp
from .errors import GradkitError
from .graph import (
    Tensor,
    batch_traces,
    defprimitive,
    holds_batch,
    nondifferentiable,
    op_error,
    plain,
    raw,
    rebatch,
)
from .ops import (
    absolute,
    amax,
    amin,
    concatenate,
    expand_dims,
    flip,
    matmul,
    moveaxis,
    power,
    reshape,
    sort,
    squeeze,
    sum,
    take_along_axis,
    transpose,
    tril,
    triu,
    where,
)
from .ops import (
    getitem as _getitem,
)
from .statistics import _others_product

__all__ = ["inv", "solve", "det", "slogdet", "cholesky", "eigh", "eigvalsh", "norm",
           "vector_norm", "matrix_norm", "svd", "svdvals", "qr", "pinv", "lstsq",
           "matrix_power", "multi_dot", "tensorsolve", "tensorinv", "cond", "matrix_rank",
           "EighResult", "SVDResult", "QRResult", "SlogdetResult"]

_NAN = float("nan")
# NumPy's routines, bound once: the forwards that were NumPy's own functions stay NumPy's
# under the Array API route (which rebinds ``xp`` only), as before: refused there.
_NP_LINALG = xp.linalg


# -- helpers ------------------------------------------------------------------------------


def _lapack(name: str, fn, *args, **kw):
    """Call a NumPy routine on plain arrays; its errors become OpError naming ``name``."""
    try:
        return fn(*args, **kw)
    except (ValueError, TypeError, IndexError, xp.linalg.LinAlgError) as e:
        raise op_error(name, args, kw, e) from e


def _chunked(*arrays) -> bool:
    """Whether some of ``arrays`` are Dask's (chunked arrays of another library)."""
    return builtins.any(is_chunked(a) for a in arrays)


def _per_matrix(fn, signature: str, *arrays, sizes=None):
    """NumPy's routine ``fn`` on stacks of matrices; on Dask arrays, lazily through Dask's
    generalized ufuncs (``signature``, as NumPy's gufuncs write it; ``sizes`` of the
    output-only dimensions), each matrix rechunked whole: Dask's own linalg takes single
    matrices in square blocks and lacks several routines."""
    if builtins.all(type(a) is ndarray for a in arrays) or not _chunked(*arrays):
        return fn(*arrays)
    import dask.array as da

    dtype = xp.result_type(*(a.dtype for a in arrays))
    if not xp.issubdtype(dtype, xp.inexact):
        dtype = xp.dtype(xp.float64)
    # each matrix in one chunk first (Dask's own rechunk fails on a square matrix whose
    # two axes are chunked differently)
    cores = [part.count(",") + 1 if part else 0
             for part in signature.split("->")[0][1:-1].split("),(")]
    arrays = [a.rechunk({a.ndim - 1 - i: -1 for i in range(c)})
              if getattr(a, "chunks", None) is not None else a for a, c in zip(arrays, cores)]
    n_out = signature.count("(") - len(arrays)
    return da.apply_gufunc(fn, signature, *arrays, output_dtypes=[dtype] * n_out
                           if n_out > 1 else dtype, output_sizes=sizes, allow_rechunk=True)


def _matrices(a, name: str, square: bool = False) -> tuple:
    shp = _shape(a)
    if len(shp) < 2 or (square and shp[-1] != shp[-2]):
        kind = "a (stack of) square matrices" if square else "at least 2-D"
        raise GradkitError(f"{name}: the argument must be {kind}, got shape {shp}")
    return shp[-2], shp[-1]


def _eye(n: int, like):
    return xp.eye(n, dtype=_dtype(like))


def _cols(x, start, stop=None):
    return _getitem(x, (Ellipsis, slice(None), slice(start, stop)))


def _rows(x, start, stop=None):
    return _getitem(x, (Ellipsis, slice(start, stop), slice(None)))


def _gap_inverse(d):
    """``1 / d`` off the diagonal, 0 on it, NaN where an off-diagonal ``d`` is exactly 0.

    ``d`` holds the gaps between eigenvalues (or squared singular values): the
    vectors of a repeated value are not unique, and their derivative is undefined.
    """
    zero = raw(d) == 0
    n = _shape(d)[-1]
    fill = xp.where(xp.eye(n, dtype=bool), 0.0, _NAN).astype(_dtype(d))
    return where(zero, fill, 1.0 / where(zero, 1.0, d))


def _recip_or_nan(s):
    """``1 / s``, NaN (not inf, and no warning) where ``s`` is exactly 0."""
    return 1.0 / where(raw(s) == 0, _NAN, s)


def _nonzero_error(name: str, what: str) -> GradkitError:
    return GradkitError(
        f"{name}: the gradient reaches {what}, which NumPy fills with an arbitrary "
        f"orthonormal completion: it has no derivative. Use only the first min(m, n) "
        f"columns, or full_matrices=False / mode='reduced'")


def _refuse_nonzero(g, name: str, what: str):
    """Raise where ``g`` is nonzero (a whole batch at once under vmap); for a lazy ``g``
    (Dask), not looked at now: a zero that raises so when computed, to add to the result."""
    g = plain(g)
    if is_chunked(g):
        def check(block):
            if (block != 0).any():
                raise _nonzero_error(name, what)
            return block

        return g.map_blocks(check, dtype=g.dtype).sum() * 0
    if xp.any(g != 0):
        raise _nonzero_error(name, what)
    return 0


def _undefined_fwd(x, shape):
    return xp.zeros(shape, dtype=_dtype(x))


def _undefined_rule(g, ans, x, shape):
    nb = _nb(g, ans)
    return xp.full(_shape(g)[:nb] + _shape(x), _NAN, dtype=_dtype(g))


# Adds zeros to a cotangent, and sends NaN back to ``x``: in reverse mode ``x`` (the
# cotangent of arbitrary columns) has been checked to be zero; in forward mode (the
# transpose of the reverse pass) the tangent of those columns comes out NaN, not a
# confident 0, and is dropped where a function does not use them.
_undefined = defprimitive(_undefined_fwd, "linalg.undefined_completion", _undefined_rule)


def _completion_guard(ga, extra, name: str, what: str):
    checked = _refuse_nonzero(extra, name, what)
    out = ga + _undefined(extra, _shape(ga))
    return out if type(checked) is int else out + checked


# -- inverse, solve, determinants -----------------------------------------------------------

inv = defprimitive(lambda a: _per_matrix(_NP_LINALG.inv, "(n,n)->(n,n)", a), "linalg.inv",
                   lambda g, ans, a: -matmul(matmul(_mT(ans), g), _mT(ans)))


def _solve_rule_a(g, ans, a, b):
    gb = _solve(_mT(a), g)
    return sum_to(-matmul(gb, _mT(ans)), _nb(g, ans), _shape(a))


def _solve_rule_b(g, ans, a, b):
    return sum_to(_solve(_mT(a), g), _nb(g, ans), _shape(b))


_solve = defprimitive(
    lambda a, b: _per_matrix(_NP_LINALG.solve, "(n,n),(n,k)->(n,k)", a, b), "linalg.solve",
    _solve_rule_a, _solve_rule_b)


def solve(a, b):
    """Solve ``a @ x = b`` for ``x`` (``b`` a vector or a stack of matrices).

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit.numpy as gnp
    >>> gnp.linalg.solve(np.diag([2.0, 4.0]), np.array([1.0, 1.0]))
    array([0.5 , 0.25])
    """
    if _ndim(b) == 1:
        return squeeze(_solve(a, expand_dims(b, -1)), -1)
    return _solve(a, b)


def _det_rule(g, ans, a):
    # d det / da = adj(a)^T: det(a) inv(a)^T away from singular matrices, the cofactor
    # matrix from the SVD at a singular one, where inv does not exist but adj(a) does.
    # (a lazy determinant is not looked at: the cofactors hold everywhere)
    if not _chunked(ans) and xp.all(plain(ans) != 0):  # under vmap, one branch for all
        return expand_dims(expand_dims(g * ans, -1), -1) * _mT(inv(a))
    return expand_dims(expand_dims(g, -1), -1) * _cofactors(a)


def _svd_signs(u, vh):
    """det(U) det(V) (+-1, a constant): adj(U X V^T) = det(U) det(V) V adj(X) U^T."""
    signs = _det_fwd(raw(u)) * _det_fwd(raw(vh))
    return signs.astype(_dtype(u))[..., None, None]


def _cofactors_fwd(a):
    u, s, vh = _svd_fwd(a, True)
    return _svd_signs(u, vh) * ((u * _others_product(s, -1)[..., None, :]) @ vh)


def _cofactors_rule(g, ans, a):
    # The cofactor map C is a polynomial; its VJP with g is d/dt C(a + t g) at t = 0.
    # In the SVD's frame (g' = U^T g V, S diagonal) that derivative is exact:
    # D_ii = sum_{m != i} g'_mm P_im and D_ij = -g'_ji P_ij, with P_ij the product of
    # every singular value but s_i and s_j; then C' = det(U) det(V) U D V^T. No division,
    # so it holds at singular matrices, repeated singular values included.
    u, s, vh = svd(a)
    n = _shape(a)[-1]
    eye = xp.eye(n, dtype=_dtype(a))
    gp = matmul(matmul(_mT(u), g), _mT(vh))
    q = where(eye.astype(bool), 1.0, expand_dims(s, -2))  # row i: s with s_i set to 1
    p = _others_product(q, -1) * (1.0 - eye)
    diag_gp = matmul(gp * eye, xp.ones((n, 1), dtype=_dtype(a)))  # column of g'_mm
    d = matmul(p, diag_gp) * eye - _mT(gp) * p
    return _svd_signs(u, vh) * matmul(matmul(u, d), vh)


_cofactors = defprimitive(_cofactors_fwd, "linalg.det (cofactors)", _cofactors_rule)


def _det_fwd(a):
    return _per_matrix(_NP_LINALG.det, "(n,n)->()", a)


det = defprimitive(_det_fwd, "linalg.det", _det_rule)


def _slogdet_fwd(a):
    return _per_matrix(xp.linalg.slogdet, "(n,n)->(),()", a)


def _logabsdet_fwd(a):
    return _slogdet_fwd(a)[1]


_logabsdet = defprimitive(
    _logabsdet_fwd, "linalg.slogdet",
    lambda g, ans, a: expand_dims(expand_dims(g, -1), -1) * _mT(inv(a)))


class SlogdetResult(NamedTuple):
    sign: object
    logabsdet: object


def slogdet(a) -> SlogdetResult:
    """Sign and log of the absolute determinant; the gradient flows through the log."""
    return SlogdetResult(rebatch(_slogdet_fwd(plain(a))[0], a), _logabsdet(a))


# -- Cholesky -------------------------------------------------------------------------------


def _phi(x):
    # Lower triangle with the diagonal halved.
    return tril(x) - 0.5 * x * _eye(_shape(x)[-1], x)


def _cholesky_rule(g, ans, a):
    # Murray (2016), "Differentiation of the Cholesky decomposition":
    # abar = sym(L^-T Phi(L^T Lbar) L^-1), with sym(X) = (X + X^T) / 2.
    lt = _mT(ans)
    p = _phi(matmul(lt, g))
    x = _solve(lt, p)
    s = _mT(_solve(lt, _mT(x)))
    return 0.5 * (s + _mT(s))


def _cholesky_fwd(a):
    return _per_matrix(xp.linalg.cholesky, "(n,n)->(n,n)", a)


_cholesky = defprimitive(_cholesky_fwd, "linalg.cholesky", _cholesky_rule)


def cholesky(a, /, *, upper: bool = False):
    """Cholesky factor of a symmetric positive-definite matrix (lower, or upper with
    ``upper=True``), as ``numpy.linalg.cholesky``.

    The gradient treats ``a`` as symmetric (the symmetric part of the cotangent).

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit.numpy as gnp
    >>> gnp.linalg.cholesky(np.array([[4.0, 2.0], [2.0, 5.0]]))
    array([[2., 0.],
           [1., 2.]])
    """
    if upper:
        # LAPACK's upper factor reads the upper triangle: that of a's transpose, lower.
        return _mT(_cholesky(_mT(a)))
    return _cholesky(a)


# -- symmetric eigenproblem ------------------------------------------------------------------


class EighResult(NamedTuple):
    eigenvalues: object
    eigenvectors: object


def _check_uplo(UPLO, name: str) -> str:
    if UPLO not in ("L", "U"):
        raise GradkitError(f"{name}: UPLO must be 'L' or 'U', got {UPLO!r}")
    return UPLO


def _from_triangle(a, UPLO: str):
    """The symmetric matrix that LAPACK sees: one triangle of ``a``, mirrored.

    Its derivative sends the cotangent of both mirrored entries to the one entry of the
    triangle that was read, and nothing to the other triangle."""
    if type(a) is not Tensor:
        return a
    if UPLO == "L":
        return tril(a) + _mT(tril(a, -1))
    return triu(a) + _mT(triu(a, 1))


def _eigh_w_rule(g, ans, s, cache, UPLO):
    # d w_i = v_i^T ds v_i: finite whatever the multiplicity of w_i.
    v = _eigh_v(s, cache, UPLO)
    return matmul(v * expand_dims(g, -2), _mT(v))


def _eigh_v_rule(g, ans, s, cache, UPLO):
    # ds = V (F o sym-part) V^T with F_ij = 1 / (w_j - w_i): only the antisymmetric part
    # of V^T g matters, which also keeps the rule's output symmetric.
    w = _eigh_w(s, cache, UPLO)
    x = matmul(_mT(ans), g)
    gaps = expand_dims(w, -2) - expand_dims(w, -1)
    inner = (x - _mT(x)) * (0.5 * _gap_inverse(gaps))
    return matmul(matmul(ans, inner), _mT(ans))


_eigh_w = defprimitive(lambda s, cache, UPLO: cache[0], "linalg.eigh", _eigh_w_rule)
_eigh_v = defprimitive(lambda s, cache, UPLO: cache[1], "linalg.eigh", _eigh_v_rule)


def eigh(a, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix, as
    ``numpy.linalg.eigh``: only the triangle ``UPLO`` of ``a`` is read.

    The gradient lands in that triangle only. Eigenvalue derivatives are finite at
    repeated eigenvalues (``d w_i = v_i^T da v_i``); eigenvector derivatives at
    exactly repeated eigenvalues are undefined and come out NaN.

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit as gk, gradkit.numpy as gnp
    >>> gnp.linalg.eigh(np.diag([2.0, 1.0])).eigenvalues
    array([1., 2.])
    >>> gk.grad(lambda a: gnp.sum(gnp.linalg.eigh(a).eigenvalues))(np.eye(2))
    array([[1., 0.],
           [0., 1.]])
    """
    UPLO = _check_uplo(UPLO, "linalg.eigh")
    _matrices(a, "linalg.eigh", square=True)
    s = _from_triangle(a, UPLO)
    # plain: NumPy decomposes a vmap batch as a stack, and the primitives pick it up
    cache = _lapack("linalg.eigh", _eigh_fwd, plain(s), UPLO)
    return EighResult(_eigh_w(s, cache, UPLO), _eigh_v(s, cache, UPLO))


def _eigvalsh_rule(g, ans, s, UPLO):
    v = _eigh_v(s, _lapack("linalg.eigvalsh", _eigh_fwd, plain(s), UPLO), UPLO)
    return matmul(v * expand_dims(g, -2), _mT(v))


def _eigh_fwd(s, UPLO):
    return _per_matrix(lambda m: xp.linalg.eigh(m, UPLO), "(n,n)->(n),(n,n)", s)


_eigvalsh = defprimitive(lambda s, UPLO: _per_matrix(lambda m: xp.linalg.eigvalsh(m, UPLO),
                                                     "(n,n)->(n)", s), "linalg.eigvalsh",
                         _eigvalsh_rule)


def eigvalsh(a, UPLO: str = "L"):
    """Eigenvalues (ascending) of a symmetric matrix, as ``numpy.linalg.eigvalsh``.

    Only the triangle ``UPLO`` is read; the derivative is finite at repeated eigenvalues.

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit as gk, gradkit.numpy as gnp
    >>> gk.grad(lambda a: gnp.linalg.eigvalsh(a)[1])(np.array([[1.0, 5.0], [0.0, 3.0]]))
    array([[0., 0.],
           [0., 1.]])
    """
    UPLO = _check_uplo(UPLO, "linalg.eigvalsh")
    _matrices(a, "linalg.eigvalsh", square=True)
    return _eigvalsh(_from_triangle(a, UPLO), UPLO)


# -- singular value decomposition ------------------------------------------------------------


class SVDResult(NamedTuple):
    U: object
    S: object
    Vh: object


def _svd_reduced(a, cache, full):
    """The traced U (m, k), s (k,), Vh (k, n) of the reduced SVD, k = min(m, n)."""
    m, n = _shape(a)[-2:]
    k = min(m, n)
    u, s, vh = _svd_u(a, cache, full), _svd_s(a, cache, full), _svd_vh(a, cache, full)
    if full:
        u, vh = _cols(u, 0, k), _rows(vh, 0, k)
    return u, s, vh


def _values_rule(g, u, vh):
    # d s_i = u_i^T da v_i: finite whatever the multiplicity of s_i.
    return matmul(u * expand_dims(g, -2), vh)


def _svd_s_rule(g, ans, a, cache, full):
    u, _, vh = _svd_reduced(a, cache, full)
    return _values_rule(g, u, vh)


def _sq_gaps(s):
    s2 = s * s
    return _gap_inverse(expand_dims(s2, -2) - expand_dims(s2, -1))


def _svd_u_rule(g, ans, a, cache, full):
    m, n = _shape(a)[-2:]
    k = min(m, n)
    extra = None
    if full and m > k:
        g, extra = _cols(g, 0, k), _cols(g, k)
    u, s, vh = _svd_reduced(a, cache, full)
    x = matmul(_mT(u), g)
    j = (x - _mT(x)) * _sq_gaps(s)
    ga = matmul(matmul(u, j * expand_dims(s, -2)), vh)
    if m > k:  # the part of g outside span(U)
        ga = ga + matmul((g - matmul(u, x)) * expand_dims(_recip_or_nan(s), -2), vh)
    if extra is not None:
        ga = _completion_guard(ga, extra, "linalg.svd(full_matrices=True)",
                               f"columns {k}..{m - 1} of U")
    return ga


def _svd_vh_rule(g, ans, a, cache, full):
    m, n = _shape(a)[-2:]
    k = min(m, n)
    extra = None
    if full and n > k:
        g, extra = _rows(g, 0, k), _rows(g, k)
    u, s, vh = _svd_reduced(a, cache, full)
    y = matmul(vh, _mT(g))
    kk = (y - _mT(y)) * _sq_gaps(s)
    ga = matmul(matmul(u, expand_dims(s, -1) * kk), vh)
    if n > k:  # the part of g outside span(V)
        ga = ga + matmul(u * expand_dims(_recip_or_nan(s), -2),
                         g - matmul(matmul(g, _mT(vh)), vh))
    if extra is not None:
        ga = _completion_guard(ga, extra, "linalg.svd(full_matrices=True)",
                               f"rows {k}..{n - 1} of Vh")
    return ga


_svd_u = defprimitive(lambda a, cache, full: cache[0], "linalg.svd", _svd_u_rule)
_svd_s = defprimitive(lambda a, cache, full: cache[1], "linalg.svd", _svd_s_rule)
_svd_vh = defprimitive(lambda a, cache, full: cache[2], "linalg.svd", _svd_vh_rule)


def _svd_fwd(a, full: bool):
    """NumPy's SVD (U, S, Vh), also of Dask arrays (per matrix)."""
    m, n = a.shape[-2:]
    out = "(m,m),(k),(n,n)" if full else "(m,k),(k),(k,n)"
    return tuple(_per_matrix(lambda x: xp.linalg.svd(x, full_matrices=full),
                             "(m,n)->" + out, a, sizes={"k": builtins.min(m, n)}))


def _svdvals_fwd(a, values):
    if values is not None:
        return values
    return _per_matrix(lambda x: xp.linalg.svd(x, compute_uv=False), "(m,n)->(k)", a,
                       sizes={"k": builtins.min(a.shape[-2:])})


def _svdvals_rule(g, ans, a, values):
    cache = _lapack("linalg.svd", _svd_fwd, plain(a), False)
    return _values_rule(g, _svd_u(a, cache, False), _svd_vh(a, cache, False))


# ``values``: precomputed singular values (lstsq's), or None to compute them.
_svdvals = defprimitive(_svdvals_fwd, "linalg.svdvals", _svdvals_rule)


def _svd_hermitian(a, compute_uv: bool):
    # NumPy's own construction from eigh, step by step, so the values are NumPy's.
    if not compute_uv:
        return flip(sort(absolute(eigvalsh(a)), axis=-1), -1)
    w, v = eigh(a)
    sgn = rebatch(xp.copysign(1.0, plain(w)), w).astype(_dtype(w))
    s = absolute(w)
    order = along_axis(xp.argsort, raw(s), -1)[..., ::-1]
    if is_chunked(order):  # Dask has no take_along_axis: gradkit's gather
        sgn = raw(take_along_axis(sgn, order, -1))
    else:
        sgn = xp.take_along_axis(sgn, order, axis=-1)
    s = take_along_axis(s, order, -1)
    u = take_along_axis(v, order[..., None, :], -1)
    return SVDResult(u, s, _mT(u * sgn[..., None, :]))


def svd(a, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False):
    """Singular value decomposition, as ``numpy.linalg.svd`` (an ``SVDResult(U, S, Vh)``).

    Singular values alone are differentiable everywhere (``d s_i = u_i^T da v_i``, also
    at repeated values). The singular vectors' derivative is the reduced-SVD formula;
    it is NaN at exactly repeated singular values (and, for a non-square matrix, at a
    zero singular value). With ``full_matrices=True`` (the default) the columns of
    ``U`` (rows of ``Vh``) beyond ``min(m, n)`` are an arbitrary completion: a gradient
    that reaches them raises ``GradkitError``.

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit as gk, gradkit.numpy as gnp
    >>> gnp.linalg.svd(np.array([[3.0, 0.0], [0.0, -4.0]])).S
    array([4., 3.])
    >>> gk.grad(lambda a: gnp.linalg.svd(a, compute_uv=False)[0])(np.array([[3.0, 0.0],
    ...                                                                    [0.0, -4.0]]))
    array([[ 0.,  0.],
           [ 0., -1.]])
    """
    _matrices(a, "linalg.svd")
    if hermitian:
        return _svd_hermitian(a, compute_uv)
    if not compute_uv:
        return _svdvals(a, None)
    full = bool(full_matrices)
    cache = _lapack("linalg.svd", _svd_fwd, plain(a), full)
    return SVDResult(_svd_u(a, cache, full), _svd_s(a, cache, full), _svd_vh(a, cache, full))


def svdvals(x, /):
    """Singular values, descending (``numpy.linalg.svdvals``); finite derivative also at
    repeated singular values.

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit.numpy as gnp
    >>> gnp.linalg.svdvals(np.array([[0.0, 2.0], [1.0, 0.0]]))
    array([2., 1.])
    """
    _matrices(x, "linalg.svdvals")
    return _svdvals(x, None)


# -- QR -------------------------------------------------------------------------------------


class QRResult(NamedTuple):
    Q: object
    R: object


def _copyltu(m):
    return tril(m) + _mT(tril(m, -1))


def _qr_square_rule(q, r, gq, gr):
    """Cotangent of ``a = q r`` (q: m x n, r: n x n invertible, m >= n) from those of q, r.

    ``ga = (gq + q copyltu(M)) r^-T`` with ``M = r gr^T - gq^T q``; either cotangent may
    be None (no contribution)."""
    mm = None
    if gr is not None:
        mm = matmul(r, _mT(gr))
    if gq is not None:
        mm = -matmul(_mT(gq), q) if mm is None else mm - matmul(_mT(gq), q)
    left = matmul(q, _copyltu(mm))
    if gq is not None:
        left = left + gq
    return _mT(_solve(r, _mT(left)))


def _qr_reduced(a, cache, mode):
    """Traced q (m, k), r (k, n) of the reduced factorisation."""
    m, n = _shape(a)[-2:]
    k = min(m, n)
    q, r = _qr_q(a, cache, mode), _qr_r(a, cache, mode)
    if mode == "complete" and m > n:
        q, r = _cols(q, 0, k), _rows(r, 0, k)
    return q, r


def _qr_q_rule(g, ans, a, cache, mode):
    m, n = _shape(a)[-2:]
    extra = None
    if mode == "complete" and m > n:
        g, extra = _cols(g, 0, n), _cols(g, n)
    q, r = _qr_reduced(a, cache, mode)
    if m >= n:
        ga = _qr_square_rule(q, r, g, None)
    else:  # a = [x | y]: q depends on x only
        gx = _qr_square_rule(q, _cols(r, 0, m), g, None)
        zeros = xp.zeros(_shape(gx)[:-1] + (n - m,), dtype=_dtype(gx))
        ga = concatenate([gx, zeros], axis=-1)
    if extra is not None:
        ga = _completion_guard(ga, extra, "linalg.qr(mode='complete')",
                               f"columns {n}..{m - 1} of Q")
    return ga


def _qr_r_rule(g, ans, a, cache, mode):
    m, n = _shape(a)[-2:]
    if mode == "complete" and m > n:
        g = _rows(g, 0, n)  # R's rows below n are zeros whatever a is
    q, r = _qr_reduced(a, cache, mode)
    if m >= n:
        return _qr_square_rule(q, r, None, g)
    # a = [x | y], r = [r1 | r2] with r2 = q^T y: y's cotangent is q g2, and r2 adds
    # y g2^T to q's cotangent.
    g1, g2 = _cols(g, 0, m), _cols(g, m)
    y = _cols(a, m)
    gx = _qr_square_rule(q, _cols(r, 0, m), matmul(y, _mT(g2)), g1)
    return concatenate([gx, matmul(q, g2)], axis=-1)


_qr_q = defprimitive(lambda a, cache, mode: cache[0], "linalg.qr", _qr_q_rule)
_qr_r = defprimitive(lambda a, cache, mode: cache[1], "linalg.qr", _qr_r_rule)


def _qr_fwd(a, complete: bool):
    """NumPy's (Q, R), reduced or complete, also of Dask arrays (per matrix)."""
    m, n = a.shape[-2:]
    mode = "complete" if complete else "reduced"
    return tuple(_per_matrix(lambda x: xp.linalg.qr(x, mode), "(m,n)->" + (
        "(m,m),(m,n)" if complete else "(m,k),(k,n)"), a, sizes={"k": builtins.min(m, n)}))


def qr(a, mode: str = "reduced"):
    """QR factorisation, as ``numpy.linalg.qr`` (a ``QRResult(Q, R)``; ``R`` alone for
    ``mode="r"``).

    Differentiable for ``a`` whose leading ``min(m, n)`` columns have full rank, tall
    or wide. With ``mode="complete"`` and ``m > n``, the columns of ``Q`` beyond ``n``
    are an arbitrary completion: a gradient reaching them raises ``GradkitError``.
    ``mode="raw"`` (Householder reflectors) has no gradient.

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit.numpy as gnp
    >>> gnp.linalg.qr(np.array([[3.0], [4.0]]), mode="r")
    array([[-5.]])
    """
    _matrices(a, "linalg.qr")
    if mode not in ("reduced", "complete", "r", "raw"):
        raise GradkitError(f"linalg.qr: mode must be 'reduced', 'complete', 'r' or 'raw', "
                           f"got {mode!r}")
    if mode == "raw":
        if type(a) is Tensor:
            raise GradkitError("linalg.qr(mode='raw'): the Householder form has no "
                               "gradient; use mode='reduced'")
        return _lapack("linalg.qr", xp.linalg.qr, a, mode)
    cache = _lapack("linalg.qr", _qr_fwd, plain(a), mode == "complete")
    if mode == "r":
        return _qr_r(a, cache, "reduced")
    return QRResult(_qr_q(a, cache, mode), _qr_r(a, cache, mode))


# -- pseudo-inverse and least squares ----------------------------------------------------------

_NOVALUE = object()


def _pinv_fwd(a, rcond, hermitian, rtol):
    if rtol is _NOVALUE:
        return _per_matrix(lambda x: xp.linalg.pinv(x, rcond, hermitian), "(m,n)->(n,m)", a)
    return _per_matrix(lambda x: xp.linalg.pinv(x, rcond, hermitian, rtol=rtol),
                       "(m,n)->(n,m)", a)


def _pinv_rule(g, ans, a, rcond, hermitian, rtol):
    # Golub & Pereyra (1973), for a of constant rank:
    # dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P.
    p = ans
    pt = _mT(p)
    m, n = _shape(a)[-2:]
    gt = _mT(g)
    ga = -matmul(matmul(pt, g), pt)
    ga = ga + matmul(matmul(_eye(m, a) - matmul(a, p), gt), matmul(p, pt))
    ga = ga + matmul(matmul(pt, p), matmul(gt, _eye(n, a) - matmul(p, a)))
    return ga


_pinv = defprimitive(_pinv_fwd, "linalg.pinv", _pinv_rule)


def pinv(a, rcond=None, hermitian: bool = False, *, rtol=_NOVALUE):
    """Moore-Penrose pseudo-inverse, as ``numpy.linalg.pinv`` (same cut-off rules).

    The derivative is that of a matrix of constant rank (exact at full rank); with
    ``hermitian=True`` only the lower triangle is read, as NumPy does.

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit.numpy as gnp
    >>> gnp.linalg.pinv(np.array([[2.0, 0.0]]))
    array([[0.5],
           [0. ]])
    """
    _matrices(a, "linalg.pinv")
    if rcond is not None and rtol is not _NOVALUE:
        raise GradkitError("linalg.pinv: rcond and rtol can't both be set")
    if hermitian:
        _matrices(a, "linalg.pinv(hermitian=True)", square=True)
        a = _from_triangle(a, "L")
    return _pinv(a, rcond, bool(hermitian), rtol)


def _lstsq_rank_check(a, cache) -> None:
    n = _shape(a)[-1]
    # cache[2] holds one rank per example inside vmap (a plain array): all must be full
    if xp.any(array_of(cache[2]) < n):
        raise GradkitError(f"linalg.lstsq: the gradient needs a of full column rank; a has "
                           f"shape {_shape(a)} and rank {cache[2]}")


def _is_vector(a, b) -> bool:
    """Whether ``b`` is one right-hand side: one axis fewer than ``a`` (inside vmap the
    rules may see both stacked along the batch, which lstsq's batching rule arranges)."""
    return _ndim(b) == _ndim(a) - 1


def _as_columns(a, b):
    return expand_dims(b, -1) if _is_vector(a, b) else b


def _lstsq_parts(g, ans, a, b, cache):
    # x = (a^T a)^-1 a^T b: with z = (a^T a)^-1 g and r = b - a x,
    # ga = r z^T - a z x^T and gb = a z.
    _lstsq_rank_check(a, cache)
    vec = _is_vector(a, b)
    x2, g2 = (expand_dims(ans, -1), expand_dims(g, -1)) if vec else (ans, g)
    z = _solve(matmul(_mT(a), a), g2)
    az = matmul(a, z)
    return vec, x2, z, az


def _lstsq_rule_a(g, ans, a, b, cache):
    vec, x2, z, az = _lstsq_parts(g, ans, a, b, cache)
    r = _as_columns(a, b) - matmul(a, x2)
    return matmul(r, _mT(z)) - matmul(az, _mT(x2))


def _lstsq_rule_b(g, ans, a, b, cache):
    vec, _, _, az = _lstsq_parts(g, ans, a, b, cache)
    return squeeze(az, -1) if vec else az


_lstsq_x = defprimitive(lambda a, b, cache: cache[0], "linalg.lstsq", _lstsq_rule_a,
                        _lstsq_rule_b)


def _lstsq_res_parts(g, a, b, cache):
    # residuals_j = |b_j - a x_j|^2 at the optimum x: d/da = -2 r_j x_j^T, d/db = 2 r_j.
    _lstsq_rank_check(a, cache)
    x2 = _as_columns(a, _lstsq_x(a, b, cache))
    r = _as_columns(a, b) - matmul(a, x2)
    return r * expand_dims(g * 2.0, -2), x2


def _lstsq_res_rule_a(g, ans, a, b, cache):
    rg, x2 = _lstsq_res_parts(g, a, b, cache)
    return -matmul(rg, _mT(x2))


def _lstsq_res_rule_b(g, ans, a, b, cache):
    rg, _ = _lstsq_res_parts(g, a, b, cache)
    return squeeze(rg, -1) if _is_vector(a, b) else rg


_lstsq_res = defprimitive(lambda a, b, cache: cache[1], "linalg.lstsq", _lstsq_res_rule_a,
                          _lstsq_res_rule_b)


def lstsq(a, b, rcond=None):
    """Least-squares solution of ``a @ x = b``, as ``numpy.linalg.lstsq``: returns
    ``(x, residuals, rank, s)``.

    ``x``, ``residuals`` and ``s`` are differentiable; the derivatives of ``x`` and
    ``residuals`` need ``a`` of full column rank (``GradkitError`` otherwise).

    Inside ``vmap`` the examples' systems are solved together from the stacked SVD, with
    NumPy's cut-off ``rcond * s_max`` for each; ``rank`` is then one integer per example.
    Residuals whose shape would differ between examples (some of full column rank, some
    not) are refused.

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit.numpy as gnp
    >>> x, res, rank, s = gnp.linalg.lstsq(np.array([[1.0], [1.0]]), np.array([1.0, 3.0]))
    >>> x, res, int(rank)
    (array([2.]), array([2.]), 1)
    """
    if _ndim(a) != 2 or _ndim(b) not in (1, 2):
        raise GradkitError(f"linalg.lstsq: a must be 2-D and b 1-D or 2-D, got shapes "
                           f"{_shape(a)} and {_shape(b)}")
    if holds_batch(a) or holds_batch(b):
        return _lstsq_batched(a, b, rcond)
    cache = _lapack("linalg.lstsq", xp.linalg.lstsq, raw(a), raw(b), rcond)
    x = _lstsq_x(a, b, cache)
    res = cache[1]
    if _shape(res)[0]:
        res = _lstsq_res(a, b, cache)
    return x, res, cache[2], _svdvals(a, cache[3])


def _lstsq_stacked(a, b, rcond) -> tuple:
    """NumPy's lstsq ``(x, residuals, rank, s)`` for stacks of systems (NumPy's takes
    one): by the stacked SVD, with NumPy's cut-off ``rcond * s_max`` for each system.
    Residuals are filled where every system has full column rank and more rows than
    columns, as NumPy; else None."""
    m, n = a.shape[-2:]
    vec = b.ndim == a.ndim - 1
    b2 = b[..., None] if vec else b
    u, s, vh = _lapack("linalg.lstsq", xp.linalg.svd, a, full_matrices=False)
    eps = xp.finfo(s.dtype).eps
    cut = eps * max(m, n) if rcond is None else (eps if rcond < 0 else rcond)
    big = s > cut * s[..., :1] if s.shape[-1] else s > 0
    rank = xp.count_nonzero(big, axis=-1).astype(xp.int32)  # LAPACK's integer, as NumPy
    inv_s = xp.where(big, 1 / xp.where(big, s, 1), 0).astype(s.dtype)
    x = _mH_plain(vh) @ (inv_s[..., None] * (_mH_plain(u) @ b2))
    res = None
    if m > n and xp.all(rank == n):
        res = xp.sum(xp.abs(b2 - a @ x) ** 2, axis=-2)
    elif not (m > n and xp.any(rank == n)):
        res = xp.empty(a.shape[:-2] + (0,), dtype=s.dtype)
    return (x[..., 0] if vec else x), res, rank, s


def _mH_plain(x):
    return xp.conj(xp.swapaxes(x, -1, -2)) if xp.iscomplexobj(x) else xp.swapaxes(x, -1, -2)


def _lstsq_batched(a, b, rcond):
    """``lstsq`` inside vmap: each example's system solved at once from the stacked SVD;
    the derivatives are lstsq's own rules, batched."""
    ta, tb = batch_traces(a), batch_traces(b)
    if ta and tb and ta != tb:
        raise GradkitError("linalg.lstsq inside nested vmaps: a and b are batched by "
                           "different vmaps; batch both by the same ones")
    like = a if ta else b
    pa, pb = plain(a), plain(b)
    k = pa.ndim - 2 if ta else pb.ndim - _ndim(b)  # the batch axes, in front
    lead = (pa if ta else pb).shape[:k]
    if not ta:
        pa = xp.broadcast_to(pa, lead + pa.shape)
    if not tb:
        pb = xp.broadcast_to(pb, lead + pb.shape)
    cache = _lstsq_stacked(pa, pb, rcond)
    if cache[1] is None:
        raise GradkitError("linalg.lstsq inside vmap: the residuals' shape differs between "
                           "the examples of the batch (filled only where a has full column "
                           "rank); use the solution x and compute them as sum((b - a @ x)**2)")
    x = _lstsq_x(a, b, cache)
    res = _lstsq_res(a, b, cache) if cache[1].shape[-1] else rebatch(cache[1], like)
    if not ta:  # the same matrix for every example: its rank and singular values once
        first = (0,) * k
        return x, res, cache[2][first], _svdvals(a, cache[3][first])
    return x, res, rebatch(cache[2], a), _svdvals(a, cache[3])

# -- products and powers ------------------------------------------------------------------


def matrix_power(a, n: int):
    """``a`` raised to the integer power ``n`` (``inv`` for negative ``n``), as
    ``numpy.linalg.matrix_power``, by repeated squaring.

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit.numpy as gnp
    >>> gnp.linalg.matrix_power(np.array([[1.0, 1.0], [0.0, 1.0]]), 3)
    array([[1., 3.],
           [0., 1.]])
    """
    _matrices(a, "linalg.matrix_power", square=True)
    try:
        n = int(array_of(n).__index__()) if not isinstance(n, int) else n
    except (TypeError, AttributeError) as e:
        raise GradkitError(f"linalg.matrix_power: the exponent must be an integer, "
                           f"got {n!r}") from e
    if n == 0:
        shp = _shape(a)
        return xp.broadcast_to(_eye(shp[-1], a), shp).copy()
    if n < 0:
        a, n = inv(a), -n
    if n == 1:
        return a
    if n == 2:
        return matmul(a, a)
    if n == 3:
        return matmul(matmul(a, a), a)
    z = result = None
    while n > 0:  # the bits of n, least significant first, as NumPy
        z = a if z is None else matmul(z, z)
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else matmul(result, z)
    return result


def _chain_order(shapes) -> list:
    """Cheapest parenthesisation of a matrix chain (dynamic programming on its dims)."""
    dims = [s[0] for s in shapes] + [shapes[-1][1]]
    k = len(shapes)
    cost = [[0] * k for _ in range(k)]
    split = [[0] * k for _ in range(k)]
    for length in range(1, k):
        for i in range(k - length):
            j = i + length
            cost[i][j] = math.inf
            for c in range(i, j):
                q = cost[i][c] + cost[c + 1][j] + dims[i] * dims[c + 1] * dims[j + 1]
                if q < cost[i][j]:
                    cost[i][j], split[i][j] = q, c
    return split


def _chain(arrays, split, i, j):
    if i == j:
        return arrays[i]
    c = split[i][j]
    return matmul(_chain(arrays, split, i, c), _chain(arrays, split, c + 1, j))


def multi_dot(arrays, *, out=None):
    """Product of two or more matrices in the cheapest order, as
    ``numpy.linalg.multi_dot`` (a 1-D first or last argument is a row or column vector).

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit.numpy as gnp
    >>> gnp.linalg.multi_dot([np.ones(2), np.eye(2), np.ones(2)])
    np.float64(2.0)
    """
    refuse_out("linalg.multi_dot", out)
    arrays = list(arrays)
    if len(arrays) < 2:
        raise GradkitError("linalg.multi_dot: expecting at least two arrays")
    first, last = _ndim(arrays[0]), _ndim(arrays[-1])
    if first == 1:
        arrays[0] = expand_dims(arrays[0], 0)
    if last == 1:
        arrays[-1] = expand_dims(arrays[-1], -1)
    for k, m in enumerate(arrays):
        if _ndim(m) != 2:
            raise GradkitError(f"linalg.multi_dot: array {k} must be 2-D (1-D only first or "
                               f"last), got shape {_shape(m)}")
    out = _chain(arrays, _chain_order([_shape(m) for m in arrays]), 0, len(arrays) - 1)
    if first == 1 and last == 1:
        return _getitem(out, (0, 0))
    if first == 1 or last == 1:
        return reshape(out, (-1,))
    return out


def tensorsolve(a, b, axes=None):
    """Solve ``tensordot(a, x, x.ndim) = b`` for ``x``, as ``numpy.linalg.tensorsolve``.

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit.numpy as gnp
    >>> gnp.linalg.tensorsolve(2.0 * np.eye(4).reshape(2, 2, 4), np.ones((2, 2))).shape
    (4,)
    """
    nd = _ndim(a)
    if axes is not None:
        axes = _axis_indices(axes, nd, "linalg.tensorsolve")
        order = [k for k in range(nd) if k not in axes] + list(axes)
        a = transpose(a, order)
    bshape = _shape(b)
    xshape = _shape(a)[-(nd - len(bshape)):] if nd > len(bshape) else ()
    rows = math.prod(bshape)
    if math.prod(xshape) != rows:
        raise GradkitError(f"linalg.tensorsolve: a of shape {_shape(a)} is not square for b "
                           f"of shape {bshape} (prod(Q) must equal prod(b.shape))")
    x = solve(reshape(a, (rows, rows)), reshape(b, (rows,)))
    return reshape(x, xshape)


def tensorinv(a, ind: int = 2):
    """Inverse of ``a`` for ``tensordot`` over ``ind`` axes, as ``numpy.linalg.tensorinv``.

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit.numpy as gnp
    >>> gnp.linalg.tensorinv(np.eye(4).reshape(4, 2, 2), ind=1).shape
    (2, 2, 4)
    """
    if ind <= 0:
        raise GradkitError(f"linalg.tensorinv: ind must be a positive integer, got {ind}")
    shp = _shape(a)
    rows = math.prod(shp[:ind])
    if math.prod(shp[ind:]) != rows:
        raise GradkitError(f"linalg.tensorinv: a of shape {shp} is not square for ind={ind}")
    return reshape(inv(reshape(a, (rows, -1))), shp[ind:] + shp[:ind])


# -- norms ------------------------------------------------------------------------------------


def _norm2_fwd(x, axis, keepdims):
    x = array_of(x)
    if not xp.issubdtype(x.dtype, xp.inexact):
        x = x.astype(float)
    if type(x) is not ndarray and is_chunked(x):  # Dask: no ufunc.reduce, no ravel order
        return xp.sqrt(xp.sum(x * x, axis=axis, keepdims=keepdims))
    if axis is None:
        flat = x.ravel(order="K")
        out = xp.sqrt(flat.dot(flat))
        return out.reshape((1,) * x.ndim) if keepdims else out
    return xp.sqrt(xp.add.reduce(x * x, axis=axis, keepdims=keepdims))


def _norm2_rule(g, ans, x, axis, keepdims):
    return _expand(g, ans, _shape(x), axis, keepdims) * _unit(x, axis)


def _unit_fwd(x, axis):
    if type(x) is not ndarray and is_chunked(x):
        n = xp.sqrt(xp.sum(x * x, axis=axis, keepdims=True))
        return x / xp.where(n == 0, 1, n)
    n = xp.sqrt(xp.add.reduce(x * x, axis=axis, keepdims=True))
    return x / xp.where(n == 0, 1, n)  # x is 0 wherever n is


def _unit_rule(g, ans, x, axis):
    # d(x / |x|) = (dx - u (u . dx)) / |x|; at |x| = 0 it is undefined: NaN, no warning.
    axes = _neg_axes(axis, _ndim(x))
    n = _norm2(x, axes, True)
    proj = g - ans * sum(ans * g, axis=axes, keepdims=True)
    return proj / where(raw(n) == 0, _NAN, n)


# The Euclidean norm with its derivative x / |x|, taken as 0 at x = 0 (the minimum-norm
# subgradient, as JAX and PyTorch do); the second derivative there is NaN.
_norm2 = defprimitive(_norm2_fwd, "linalg.norm", _norm2_rule)
_unit = defprimitive(_unit_fwd, "linalg.norm", _unit_rule)


def _matrix_norm(x, ord, row, col, keepdims):
    if ord in (None, "fro", "f"):
        return _norm2(x, _neg_axes((row, col), _ndim(x), "linalg.norm"), keepdims)
    nd = _ndim(x)
    if ord in (2, -2, "nuc"):
        s = svdvals(moveaxis(x, (row, col), (-2, -1)))
        # A zero singular value's vectors are arbitrary (any orthonormal completion), so
        # its u v^T is no derivative: it contributes none, as |x| at 0 and the 2-norm at 0
        # do. Tied nonzero values share the gradient, a basis-free sum over their space.
        s = s * (raw(s) > 0)
        out = amax(s, axis=-1) if ord == 2 else amin(s, axis=-1) if ord == -2 else sum(
            s, axis=-1)
        if keepdims:
            shp = list(_shape(x))
            shp[row % nd] = shp[col % nd] = 1
            out = reshape(out, tuple(shp))
        return out
    if ord in (1, -1):
        col_sums = sum(absolute(x), axis=row, keepdims=True)
        out = (amax if ord == 1 else amin)(col_sums, axis=col, keepdims=True)
    elif ord in (xp.inf, -xp.inf):
        row_sums = sum(absolute(x), axis=col, keepdims=True)
        out = (amax if ord == xp.inf else amin)(row_sums, axis=row, keepdims=True)
    else:
        raise GradkitError(f"linalg.norm: invalid norm order {ord!r} for matrices")
    return out if keepdims else squeeze(out, (row, col))


def _vector_norm(x, ord, ax, keepdims):
    if ord is None or ord == 2:
        return _norm2(x, _neg_axes(ax, _ndim(x), "linalg.norm"), keepdims)
    if isinstance(ord, str):
        raise GradkitError(f"linalg.norm: invalid norm order {ord!r} for vectors")
    if ord == xp.inf:
        return amax(absolute(x), axis=ax, keepdims=keepdims)
    if ord == -xp.inf:
        return amin(absolute(x), axis=ax, keepdims=keepdims)
    if ord == 1:
        return sum(absolute(x), axis=ax, keepdims=keepdims)
    if ord == 0:  # a count of non-zeros: piecewise constant, no gradient
        return xp.sum(raw(x) != 0, axis=ax, keepdims=keepdims).astype(
            _dtype(x) if xp.issubdtype(_dtype(x), xp.inexact) else float)
    return power(sum(power(absolute(x), ord), axis=ax, keepdims=keepdims), 1.0 / ord)


def norm(x, ord=None, axis=None, keepdims: bool = False):
    """Vector and matrix norms, as ``numpy.linalg.norm`` (every ``ord``).

    The 2-norm and Frobenius norm have gradient ``x / norm``, taken as 0 where the norm
    is 0 (no NaN, no warning); ``ord=2, -2, 'nuc'`` of matrices go through the singular
    values.

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit as gk, gradkit.numpy as gnp
    >>> gk.grad(gnp.linalg.norm)(np.zeros(3))
    array([0., 0., 0.])
    """
    nd = _ndim(x)
    if axis is None:
        if ord is None or (ord in ("f", "fro") and nd == 2) or (ord == 2 and nd == 1):
            return _norm2(x, None, keepdims)
        axis = tuple(range(nd))
    elif not isinstance(axis, tuple):
        axis = (int(axis),)
    _axis_indices(axis, nd, "linalg.norm", unique=False)  # duplicates: the message below
    if len(axis) == 1:
        return _vector_norm(x, ord, axis[0], keepdims)
    if len(axis) == 2:
        r, c = axis
        if r % nd == c % nd:
            raise GradkitError(f"linalg.norm: duplicate axes given: {axis}")
        return _matrix_norm(x, ord, r, c, keepdims)
    raise GradkitError(f"linalg.norm: improper number of dimensions to norm: axis={axis}, "
                       f"x of shape {_shape(x)}")


def vector_norm(x, /, *, axis=None, keepdims: bool = False, ord=2):
    """Vector norm over ``axis`` (any number of axes; all when None), as
    ``numpy.linalg.vector_norm``.

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit.numpy as gnp
    >>> gnp.linalg.vector_norm(np.array([[3.0, 0.0], [0.0, 4.0]]))
    np.float64(5.0)
    """
    shp = _shape(x)
    nd = len(shp)
    if axis is None:
        y, ax = reshape(x, (-1,)), 0
    elif isinstance(axis, tuple):
        axes = _axis_indices(axis, nd, "linalg.vector_norm")
        rest = tuple(i for i in range(nd) if i not in axes)
        y = reshape(transpose(x, axes + rest),
                    (math.prod(shp[i] for i in axes),) + tuple(shp[i] for i in rest))
        ax = 0
    else:
        y, ax = x, _axis_index(axis, nd, "linalg.vector_norm")
    out = norm(y, ord=ord, axis=ax)
    if keepdims:
        axes = range(nd) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
        kept = list(shp)
        for a in axes:
            kept[a % nd] = 1
        out = reshape(out, tuple(kept))
    return out


def matrix_norm(x, /, *, keepdims: bool = False, ord="fro"):
    """Matrix norm of the last two axes, as ``numpy.linalg.matrix_norm``.

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit.numpy as gnp
    >>> gnp.linalg.matrix_norm(np.diag([3.0, 4.0]), ord=2)
    np.float64(4.0)
    """
    return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


def cond(x, p=None):
    """Condition number, as ``numpy.linalg.cond`` (``p`` None, 2, -2 from the singular
    values; 'fro', 'nuc', 1, -1, inf, -inf as ``norm(x) * norm(inv(x))``).

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit.numpy as gnp
    >>> gnp.linalg.cond(np.diag([1.0, 4.0]))
    np.float64(4.0)
    """
    _matrices(x, "linalg.cond")
    if p is None or p == 2 or p == -2:
        s = svdvals(x)
        first, last = _getitem(s, (Ellipsis, 0)), _getitem(s, (Ellipsis, -1))
        return first / last if p != -2 else last / first
    _matrices(x, "linalg.cond", square=True)
    return norm(x, p, axis=(-2, -1)) * norm(inv(x), p, axis=(-2, -1))


matrix_rank = nondifferentiable(xp.linalg.matrix_rank, "linalg.matrix_rank")
