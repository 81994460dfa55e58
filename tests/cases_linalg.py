"""Primitive cases: linear algebra."""

from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradkit.numpy as gnp
from primtable import (  # noqa: F401
    CASES,
    Ex,
    axis_arg,
    case,
    distinct,
    distinct_nonzero,
    dom,
    eye_like,
    grid,
    nonzero,
    reals,
    reduced_count,
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

