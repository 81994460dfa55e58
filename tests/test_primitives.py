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

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cases_core  # noqa: F401  (each cases_* module registers its cases in CASES)
import cases_elementwise  # noqa: F401
import cases_linalg  # noqa: F401
import cases_scipy  # noqa: F401
import cases_series  # noqa: F401
import cases_shaping  # noqa: F401
import cases_statistics  # noqa: F401
import gradkit as gk
import gradkit.numpy as gnp
from primtable import CASES, F32, PROFILE

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
                 "linalg.inv", "linalg.slogdet", "linalg.cholesky", "linalg.eigh_vectors",
                 "linalg.svd_vectors", "linalg.qr", "linalg.eigvalsh", "scipy.special.logsumexp_b"]


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


def test_row_scatter_of_take_and_indexing_adds_repeated_and_negative_rows():
    # take(axis=0), x[rows] and embeddings scatter whole rows through flat indices.
    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 2, 3)).astype(np.float32)
    rows = np.array([[5, -1, 0], [2, 2, -6]])
    w = rng.standard_normal((2, 3, 2, 3)).astype(np.float32)
    expected = np.zeros_like(x)
    np.add.at(expected, rows % 6, w)
    for f in (lambda v: gnp.take(v, rows, axis=0), lambda v: v[rows]):
        g = gk.grad(lambda v, f=f: gnp.sum(f(v) * w))(x)
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, expected, rtol=1e-6)
    empty = np.zeros((0, 3))
    assert gk.grad(lambda v: gnp.sum(v[np.array([], dtype=int)]))(empty).shape == (0, 3)
