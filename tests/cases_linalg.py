"""Primitive cases: linear algebra."""

from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradkit.numpy as gnp
from primtable import (
    Ex,
    case,
    distinct_nonzero,
    eye_like,
    nonzero,
    reals,
    shape,
    well_conditioned,
)

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



@case("linalg.eigh_upper")
def _(draw):
    # UPLO="U" on a non-symmetric matrix: only the upper triangle is read
    batch, n = square_batch(draw)
    a = reals(draw, batch + (n, n), -0.3, 0.3) + np.diag(4.0 * np.arange(n))
    a = a + np.tril(reals(draw, (n, n), -3.0, 3.0), -1)  # ignored by UPLO="U"
    c = np.linspace(1.0, 2.0, n)

    def f(xp, a):
        w, v = xp.linalg.eigh(a, UPLO="U")
        return w + xp.sum(xp.matmul(v * c.astype(a.dtype), xp.swapaxes(v, -1, -2)), axis=-1)

    return Ex(lambda a: f(gnp, a), (a,), "eigh(a, UPLO='U') values and V diag(c) V^T",
              lambda a: f(np, a))


@case("linalg.eigvalsh")
def _(draw):
    batch, n = square_batch(draw)
    uplo = draw(st.sampled_from(["L", "U"]))
    a = reals(draw, batch + (n, n), -0.3, 0.3) + np.diag(4.0 * np.arange(n))
    return Ex(lambda a: gnp.linalg.eigvalsh(a, UPLO=uplo), (a,), f"eigvalsh(a, UPLO={uplo!r})",
              lambda a: np.linalg.eigvalsh(a, UPLO=uplo))


def rect_batch(draw):
    return shape(draw, max_dims=1, max_side=3), draw(st.integers(1, 4)), draw(st.integers(1, 4))


def spread_svd(draw, batch, m, n):
    """Singular values near 1.5, 3.5, 5.5, 7.5 (noise of Frobenius norm <= 0.8): at least
    0.4 apart and from 0."""
    d = np.zeros((m, n))
    k = min(m, n)
    d[np.arange(k), np.arange(k)] = 1.5 + 2.0 * np.array(draw(st.permutations(range(k))))
    signs = np.where(draw(hnp.arrays(np.bool_, (m, 1))), -1.0, 1.0)
    return signs * (d + reals(draw, batch + (m, n), -0.2, 0.2))


def _gauge_free(xp, usv, c):
    # U diag(c) Vh: the same whichever sign each pair (u_i, v_i) has
    u, _, vh = usv
    k = vh.shape[-2] if u.shape[-1] > vh.shape[-2] else u.shape[-1]
    return xp.matmul(u[..., :, :k] * c.astype(u.dtype), vh[..., :k, :])


@case("linalg.svd_values")
def _(draw):
    batch, m, n = rect_batch(draw)
    full = draw(st.booleans())
    return Ex(lambda a: gnp.linalg.svd(a, full_matrices=full).S,
              (spread_svd(draw, batch, m, n),), f"svd(a, full_matrices={full}).S",
              lambda a: np.linalg.svd(a, full_matrices=full).S)


@case("linalg.svd_compute_uv=False")
def _(draw):
    batch, m, n = rect_batch(draw)
    return Ex(lambda a: gnp.linalg.svd(a, compute_uv=False), (spread_svd(draw, batch, m, n),),
              "svd(a, compute_uv=False)", lambda a: np.linalg.svd(a, compute_uv=False))


@case("linalg.svd_vectors")
def _(draw):
    batch, m, n = rect_batch(draw)
    full = draw(st.booleans())
    c = np.linspace(1.0, 2.0, min(m, n))

    def f(xp, a):
        return _gauge_free(xp, xp.linalg.svd(a, full_matrices=full), c)

    return Ex(lambda a: f(gnp, a), (spread_svd(draw, batch, m, n),),
              f"svd(a, full_matrices={full}) through U[:, :k] diag(c) Vh[:k]",
              lambda a: f(np, a))


@case("linalg.svd_hermitian")
def _(draw):
    batch, n = square_batch(draw)
    c = np.linspace(1.0, 2.0, n)
    a = reals(draw, batch + (n, n), -0.3, 0.3) + np.diag(4.0 * np.arange(n) - 1.7)

    def f(xp, a):
        usv = xp.linalg.svd(a, hermitian=True)
        return usv[1] + xp.sum(_gauge_free(xp, usv, c), axis=-1)

    return Ex(lambda a: f(gnp, a), (a,), "svd(a, hermitian=True): S and U diag(c) Vh",
              lambda a: f(np, a))


@case("linalg.svdvals")
def _(draw):
    batch, m, n = rect_batch(draw)
    return Ex(gnp.linalg.svdvals, (spread_svd(draw, batch, m, n),), "svdvals",
              np.linalg.svdvals)


def full_rank(draw, batch, m, n):
    """The leading min(m, n) square block strictly diagonally dominant. No exact zeros:
    LAPACK's QR flips its sign convention where a column below the diagonal is all 0."""
    a = nonzero(draw, batch + (m, n), 0.1, 1.0)
    k = min(m, n)
    d = np.zeros((m, n))
    d[np.arange(k), np.arange(k)] = (k + 2.0) * np.where(
        draw(hnp.arrays(np.bool_, (k,))), -1.0, 1.0)
    return a + d


@case("linalg.qr")
def _(draw):
    batch, m, n = rect_batch(draw)
    mode = draw(st.sampled_from(["reduced", "complete"]))
    part = draw(st.sampled_from([0, 1]))
    k = min(m, n)

    def f(xp, a):
        out = xp.linalg.qr(a, mode=mode)[part]
        return out[..., :, :k] if part == 0 else out  # Q's columns beyond k: arbitrary

    return Ex(lambda a: f(gnp, a), (full_rank(draw, batch, m, n),),
              f"qr(a, mode={mode!r})[{part}]", lambda a: f(np, a))


@case("linalg.qr_r")
def _(draw):
    batch, m, n = rect_batch(draw)
    return Ex(lambda a: gnp.linalg.qr(a, mode="r"), (full_rank(draw, batch, m, n),),
              "qr(a, mode='r')", lambda a: np.linalg.qr(a, mode="r"))


@case("linalg.pinv")
def _(draw):
    batch, m, n = rect_batch(draw)
    return Ex(gnp.linalg.pinv, (full_rank(draw, batch, m, n),), "pinv", np.linalg.pinv)


@case("linalg.pinv_hermitian")
def _(draw):
    batch, n = square_batch(draw)
    return Ex(lambda a: gnp.linalg.pinv(a, hermitian=True), (well_conditioned(draw, batch, n),),
              "pinv(a, hermitian=True)", lambda a: np.linalg.pinv(a, hermitian=True))


def _lstsq_args(draw):
    n = draw(st.integers(1, 3))
    m = n + draw(st.integers(0, 2))
    b = reals(draw, (m,) if draw(st.booleans()) else (m, draw(st.integers(1, 3))))
    return full_rank(draw, (), m, n), b


@case("linalg.lstsq_x")
def _(draw):
    return Ex(lambda a, b: gnp.linalg.lstsq(a, b)[0], _lstsq_args(draw), "lstsq(a, b)[0]",
              lambda a, b: np.linalg.lstsq(a, b)[0])


@case("linalg.lstsq_residuals")
def _(draw):
    a, b = _lstsq_args(draw)
    assume(a.shape[0] > a.shape[1])
    return Ex(lambda a, b: gnp.linalg.lstsq(a, b)[1], (a, b), "lstsq(a, b)[1]",
              lambda a, b: np.linalg.lstsq(a, b)[1])


@case("linalg.lstsq_s")
def _(draw):
    _, b = _lstsq_args(draw)
    # Singular values are differentiable only where they are distinct: a diagonally
    # dominant matrix may repeat one ([[6, 1, 1], [1, 6, 1], [1, 1, 6]] has 5, 5, 8).
    a = spread_svd(draw, (), b.shape[0], draw(st.integers(1, b.shape[0])))
    return Ex(lambda a: gnp.linalg.lstsq(a, b.astype(a.dtype))[3], (a,), "lstsq(a, b)[3]",
              lambda a: np.linalg.lstsq(a, b)[3])


@case("linalg.matrix_power")
def _(draw):
    batch, n = square_batch(draw)
    p = draw(st.sampled_from([-3, -2, -1, 1, 2, 3, 4, 5, 6]))  # 0: a constant, own test
    a = well_conditioned(draw, batch, n) / (n + 1.0)  # eigenvalues within [0.1, 2]
    return Ex(lambda a: gnp.linalg.matrix_power(a, p), (a,), f"matrix_power(a, {p})",
              lambda a: np.linalg.matrix_power(a, p))


@case("linalg.multi_dot")
def _(draw):
    count = draw(st.integers(2, 4))
    dims = [draw(st.integers(1, 4)) for _ in range(count + 1)]
    shapes = [(dims[i], dims[i + 1]) for i in range(count)]
    if draw(st.booleans()):
        shapes[0] = shapes[0][1:]
    if draw(st.booleans()):
        shapes[-1] = shapes[-1][:1]
    args = tuple(reals(draw, s) for s in shapes)
    return Ex(lambda *xs: gnp.linalg.multi_dot(xs), args, f"multi_dot of {shapes}",
              lambda *xs: np.linalg.multi_dot(xs))


@case("linalg.vector_norm")
def _(draw):
    shp = shape(draw, min_dims=1)
    order = draw(st.sampled_from([2, 1, np.inf, 3]))
    axis = draw(st.one_of(st.none(), st.integers(-len(shp), len(shp) - 1),
                          hnp.valid_tuple_axes(len(shp), min_size=1)))
    keepdims = draw(st.booleans())
    return Ex(lambda x: gnp.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=order),
              (distinct_nonzero(draw, shp),),
              f"vector_norm(axis={axis}, keepdims={keepdims}, ord={order})",
              lambda x: np.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=order))


@case("linalg.matrix_norm")
def _(draw):
    batch, m, n = rect_batch(draw)
    order = draw(st.sampled_from(["fro", 2, -2, "nuc"]))
    keepdims = draw(st.booleans())
    return Ex(lambda x: gnp.linalg.matrix_norm(x, keepdims=keepdims, ord=order),
              (spread_svd(draw, batch, m, n),), f"matrix_norm(keepdims={keepdims}, ord={order})",
              lambda x: np.linalg.matrix_norm(x, keepdims=keepdims, ord=order))


def _norm_svd(order):
    @case(f"linalg.norm_matrix_ord={order}")
    def _(draw):
        batch, m, n = rect_batch(draw)
        x = spread_svd(draw, batch, m, n)
        nd = x.ndim
        axis = (-2, -1) if nd > 2 or draw(st.booleans()) else None
        if nd == 3 and draw(st.booleans()):
            # matrices over non-adjacent axes, transposed: x[c, j, r] = y[j, r, c]
            axis = (-1, 0)
            x = spread_svd(draw, (m,), n, batch[0]).transpose(2, 0, 1)
        keepdims = draw(st.booleans())
        return Ex(lambda x: gnp.linalg.norm(x, order, axis, keepdims), (x,),
                  f"norm(ord={order}, axis={axis}, keepdims={keepdims})",
                  lambda x: np.linalg.norm(x, order, axis, keepdims))


for _order in (2, -2, "nuc"):
    _norm_svd(_order)


@case("linalg.cond")
def _(draw):
    batch, n = square_batch(draw)
    p = draw(st.sampled_from([None, 2, -2, "fro", "nuc"]))
    return Ex(lambda a: gnp.linalg.cond(a, p), (spread_svd(draw, batch, n, n),), f"cond(a, {p})",
              lambda a: np.linalg.cond(a, p))


@case("linalg.tensorsolve")
def _(draw):
    a = well_conditioned(draw, (), 6).reshape(2, 3, 6)
    return Ex(gnp.linalg.tensorsolve, (a, reals(draw, (2, 3))), "tensorsolve",
              np.linalg.tensorsolve)


@case("linalg.tensorinv")
def _(draw):
    a = well_conditioned(draw, (), 6).reshape(6, 2, 3)
    return Ex(lambda a: gnp.linalg.tensorinv(a, ind=1), (a,), "tensorinv(a, ind=1)",
              lambda a: np.linalg.tensorinv(a, ind=1))


@case("linalg.cholesky_upper")
def _(draw):
    batch, n = square_batch(draw)
    return Ex(lambda a: gnp.linalg.cholesky(gram(gnp, a), upper=True),
              (reals(draw, batch + (n, n), -1, 1),), "cholesky(gram(a), upper=True)",
              lambda a: np.linalg.cholesky(gram(np, a), upper=True))


def _array_api_alias(name, make_args, **kw):
    @case(f"linalg.{name}")
    def _(draw):
        fn, ref = getattr(gnp.linalg, name), getattr(np.linalg, name)
        return Ex(lambda *a: fn(*a, **kw), make_args(draw), f"linalg.{name}",
                  lambda *a: ref(*a, **kw))


_array_api_alias("matmul", lambda d: (reals(d, (2, 3)), reals(d, (3, 2))))
_array_api_alias("outer", lambda d: (reals(d, (3,)), reals(d, (2,))))
_array_api_alias("cross", lambda d: (reals(d, (2, 3)), reals(d, (2, 3))))
_array_api_alias("tensordot", lambda d: (reals(d, (2, 3, 2)), reals(d, (3, 2))), axes=2)
_array_api_alias("trace", lambda d: (reals(d, (2, 3, 3)),), offset=1)
_array_api_alias("diagonal", lambda d: (reals(d, (2, 3, 4)),), offset=-1)
_array_api_alias("vecdot", lambda d: (reals(d, (2, 3)), reals(d, (3,))))
_array_api_alias("matrix_transpose", lambda d: (reals(d, (2, 3, 4)),))
