"""Targeted tests of gradkit.numpy.linalg at the points the table avoids: repeated
eigenvalues and singular values, norms at 0, arbitrary completions, triangles read by
eigh, NumPy's keywords and values."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import gradkit as gk
import gradkit.numpy as gnp

L = gnp.linalg
RNG = np.random.default_rng(8)


def numeric_grad(f, a, h=1e-6):
    """Central differences of a scalar NumPy function, element by element."""
    g = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        e = np.zeros_like(a)
        e[idx] = h
        g[idx] = (f(a + e) - f(a - e)) / (2 * h)
    return g


def orthogonal(n, seed=0):
    return np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))[0]


# -- eigenvalues at repeated eigenvalues ------------------------------------------------------


@pytest.mark.parametrize("values, scale", [
    (lambda a: gnp.sum(L.eigvalsh(a)), 1.0),  # the trace
    (lambda a: gnp.sum(L.eigh(a).eigenvalues), 1.0),
    (lambda a: gnp.sum(L.eigh(a)[0] ** 2), 2.0),  # |A|_F^2 of the symmetric matrix read
])
def test_eigenvalues_of_identity_have_finite_gradient(values, scale):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = gk.grad(values)(np.eye(3))
    np.testing.assert_allclose(g, scale * np.eye(3), atol=1e-12)


def test_simple_eigenvalue_next_to_a_repeated_one_is_v_vT():
    q = orthogonal(4, seed=1)
    a = q @ np.diag([1.0, 1.0, 3.0, 5.0]) @ q.T
    a = 0.5 * (a + a.T)
    w, v = np.linalg.eigh(a)
    for i in range(4):  # repeated or not, d w_i = v_i v_i^T (folded onto the lower triangle)
        g = gk.grad(lambda a, i=i: L.eigvalsh(a)[i] + 0 * L.eigh(a).eigenvalues[i])(a)
        if i >= 2:
            p = np.outer(v[:, i], v[:, i])
            np.testing.assert_allclose(g, np.tril(p + p.T, -1) + np.diag(np.diag(p)),
                                       atol=1e-12)
        assert np.all(np.isfinite(g))
    # the sum over the repeated pair is the projector onto its eigenspace
    g = gk.grad(lambda a: L.eigvalsh(a)[0] + L.eigvalsh(a)[1])(a)
    p = v[:, :2] @ v[:, :2].T
    np.testing.assert_allclose(g, np.tril(p + p.T, -1) + np.diag(np.diag(p)), atol=1e-12)


def test_eigenvectors_at_repeated_eigenvalues_are_nan_silently_and_named_in_debug_nans():
    def f(a):
        return gnp.sum(L.eigh(a).eigenvectors[:, 0] ** 2 * np.arange(3.0))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = gk.grad(f)(np.eye(3))
        t = gk.jvp(f, (np.eye(3),), (np.ones((3, 3)),))[1]
    assert np.isnan(g).any() and np.isnan(t)
    with gk.debug_nans(), pytest.raises(gk.NaNError, match=r"linalg\.eigh"):
        gk.grad(f)(np.eye(3))
    # a stack: only the degenerate matrix gets NaN
    stack = np.stack([np.eye(3), np.diag([1.0, 2.0, 3.0])])
    g = gk.grad(lambda a: gnp.sum(L.eigh(a).eigenvectors ** 3))(stack)
    assert np.isnan(g[0]).any() and np.all(np.isfinite(g[1]))


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_reads_one_triangle_and_its_gradient_lands_there(uplo):
    a = RNG.standard_normal((4, 4))  # not symmetric
    w, v = L.eigh(a, UPLO=uplo)
    w0, v0 = np.linalg.eigh(a, UPLO=uplo)
    assert np.array_equal(w, w0) and np.array_equal(v, v0)
    np.testing.assert_array_equal(L.eigvalsh(a, UPLO=uplo), np.linalg.eigvalsh(a, UPLO=uplo))
    c = np.array([1.0, -2.0, 0.5, 3.0])
    g = gk.grad(lambda a: gnp.sum(L.eigh(a, UPLO=uplo)[0] * c))(a)
    fd = numeric_grad(lambda a: np.linalg.eigh(a, UPLO=uplo)[0] @ c, a)
    np.testing.assert_allclose(g, fd, atol=1e-6)
    other = np.triu(g, 1) if uplo == "L" else np.tril(g, -1)
    assert np.all(other == 0)
    gv = gk.grad(lambda a: gnp.sum(L.eigvalsh(a, UPLO=uplo) * c))(a)
    np.testing.assert_allclose(gv, fd, atol=1e-6)
    # vectors, through a sign-invariant function
    def vecs(a, xp):
        v = xp.linalg.eigh(a, UPLO=uplo)[1]
        return xp.sum((v * c) @ v.T * np.arange(16.0).reshape(4, 4))

    np.testing.assert_allclose(gk.grad(lambda a: vecs(a, gnp))(a),
                               numeric_grad(lambda a: vecs(a, np), a), atol=1e-6)


def test_eigh_result_and_bad_uplo():
    res = L.eigh(np.diag([2.0, 1.0]))
    assert isinstance(res, L.EighResult)
    np.testing.assert_array_equal(res.eigenvalues, [1.0, 2.0])
    with pytest.raises(gk.GradkitError, match="UPLO"):
        L.eigh(np.eye(2), UPLO="X")
    with pytest.raises(gk.GradkitError, match="UPLO"):
        L.eigvalsh(np.eye(2), UPLO="lower")
    with pytest.raises(gk.GradkitError, match=r"linalg\.eigh.*square.*\(2, 3\)"):
        L.eigh(np.ones((2, 3)))


# -- singular values at repeated singular values -----------------------------------------------


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4)])
def test_singular_values_at_repeated_values_are_u_vT(shape):
    m, n = shape
    k = min(m, n)
    u = orthogonal(m, 2)[:, :k]
    vt = orthogonal(n, 3)[:k]
    a = u @ np.diag(np.full(k, 2.0)) @ vt  # every singular value 2
    _, _, vh = np.linalg.svd(a, full_matrices=False)
    for f in (lambda a: gnp.sum(L.svdvals(a)), lambda a: gnp.sum(L.svd(a).S),
              lambda a: gnp.sum(L.svd(a, compute_uv=False)),
              lambda a: gnp.sum(L.svd(a, full_matrices=False)[1])):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            g = gk.grad(f)(a)
        np.testing.assert_allclose(g, u @ vt, atol=1e-12)  # sum_i u_i v_i^T
    # the largest singular value alone: one of its u v^T (any in the repeated space)
    g = gk.grad(lambda a: L.svdvals(a)[0])(a)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(np.linalg.svd(g, compute_uv=False)[0], 1.0)
    del vh


def test_singular_values_of_a_rank_deficient_matrix():
    a = np.outer([1.0, 2.0, 2.0], [0.0, 3.0, 4.0])  # rank 1: singular values 15, 0, 0
    u, s, vt = np.linalg.svd(a)
    g = gk.grad(lambda a: L.svdvals(a)[0])(a)
    np.testing.assert_allclose(g, np.outer(u[:, 0], vt[0]), atol=1e-12)
    assert np.all(np.isfinite(gk.grad(lambda a: gnp.sum(L.svdvals(a)))(a)))


def test_singular_vectors_at_repeated_values_are_nan_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = gk.grad(lambda a: gnp.sum(L.svd(a)[0] ** 3))(np.eye(3))
    assert np.isnan(g).any()


@pytest.mark.parametrize("shape", [(4, 2), (2, 4), (2, 5, 3), (3, 3)])
def test_svd_values_equal_numpy(shape):
    a = RNG.standard_normal(shape)
    for full in (True, False):
        got, ref = L.svd(a, full_matrices=full), np.linalg.svd(a, full_matrices=full)
        assert isinstance(got, L.SVDResult)
        for x, y in zip(got, ref):
            np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(L.svd(a, compute_uv=False), np.linalg.svd(a, compute_uv=False))
    np.testing.assert_array_equal(L.svdvals(a), np.linalg.svdvals(a))
    if shape[-1] == shape[-2]:
        for x, y in zip(L.svd(a, hermitian=True), np.linalg.svd(a, hermitian=True)):
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("shape, part", [((4, 2), 0), ((2, 4), 2), ((2, 5, 3), 0)])
def test_svd_full_matrices_extra_columns_raise(shape, part):
    a = RNG.standard_normal(shape)
    with pytest.raises(gk.GradkitError, match=r"full_matrices=True.*arbitrary"):
        gk.grad(lambda a: gnp.sum(L.svd(a)[part] ** 3))(a)
    # the first k columns (rows) are fine and equal the reduced SVD's gradient
    k = min(shape[-2:])

    def first_k(a, full):
        u, s, vh = L.svd(a, full_matrices=full)
        return gnp.sum((u[..., :, :k] * s[..., None, :]) @ vh[..., :k, :] * np.arange(
            a.shape[-1]))

    np.testing.assert_allclose(gk.grad(lambda a: first_k(a, True))(a),
                               gk.grad(lambda a: first_k(a, False))(a), atol=1e-12)
    # forward mode cannot see which columns are used: their tangent is NaN, not a number
    t = gk.jvp(lambda a: L.svd(a)[part], (a,), (np.ones_like(a),))[1]
    extra = t[..., :, k:] if part == 0 else t[..., k:, :]
    assert np.isnan(extra).all()


# -- norms at 0 ---------------------------------------------------------------------------


@pytest.mark.parametrize("call", [
    lambda x: L.norm(x),
    lambda x: L.norm(x, 2, axis=-1),
    lambda x: L.norm(x, None, axis=0, keepdims=True),
    lambda x: L.norm(x, "fro"),
    lambda x: L.norm(x, "fro", axis=(0, 1)),
    lambda x: L.vector_norm(x),
    lambda x: L.vector_norm(x, axis=(0, 1)),
    lambda x: L.matrix_norm(x),
])
def test_two_norm_at_zero_has_gradient_zero(call):
    x = np.zeros((2, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = gk.grad(lambda x: gnp.sum(call(x)))(x)
        np.testing.assert_array_equal(g, np.zeros_like(x))
        # one zero row among non-zero ones: its gradient is 0, the others x / |x|
        y = np.array([[0.0, 0.0, 0.0], [3.0, 0.0, 4.0]])
        gy = gk.grad(lambda y: gnp.sum(L.norm(y, axis=1)))(y)
        np.testing.assert_allclose(gy, [[0, 0, 0], [0.6, 0, 0.8]])
        # second order at exactly 0 is undefined: NaN, without a warning
        h = gk.hessian(lambda x: gnp.sum(call(x)))(x)
    assert np.isnan(h).all()
    assert gk.grad(gnp.linalg.norm)(0.0) == 0.0


@pytest.mark.parametrize("order", [2, -2, "nuc"])
def test_matrix_norms_from_singular_values(order):
    a = RNG.standard_normal((3, 4))
    np.testing.assert_allclose(L.norm(a, order), np.linalg.norm(a, order), rtol=1e-14)
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    expected = {2: np.outer(u[:, 0], vt[0]), -2: np.outer(u[:, -1], vt[-1]),
                "nuc": u @ vt}[order]
    np.testing.assert_allclose(gk.grad(lambda a: L.norm(a, order))(a), expected, atol=1e-12)


def test_norm_errors_and_ord_zero():
    x = np.array([0.0, 2.0, -1.0])
    assert L.norm(x, 0) == np.linalg.norm(x, 0) == 2.0
    with pytest.raises(gk.GradkitError, match="invalid norm order 'fro' for vectors"):
        L.norm(x, "fro")
    with pytest.raises(gk.GradkitError, match="invalid norm order 3 for matrices"):
        L.norm(np.eye(2), 3)
    with pytest.raises(gk.GradkitError, match="duplicate axes"):
        L.norm(np.eye(2), axis=(0, 0))


# -- QR, pinv, lstsq, matrix_power, multi_dot ------------------------------------------------


@pytest.mark.parametrize("shape", [(4, 2), (2, 4), (3, 3), (2, 4, 3)])
def test_qr_values_equal_numpy(shape):
    a = RNG.standard_normal(shape)
    for mode in ("reduced", "complete"):
        got, ref = L.qr(a, mode), np.linalg.qr(a, mode)
        assert isinstance(got, L.QRResult)
        np.testing.assert_array_equal(got.Q, ref.Q)
        np.testing.assert_array_equal(got.R, ref.R)
    np.testing.assert_array_equal(L.qr(a, "r"), np.linalg.qr(a, "r"))


def test_qr_complete_extra_columns_raise_and_raw_is_refused():
    a = RNG.standard_normal((4, 2))
    with pytest.raises(gk.GradkitError, match=r"mode='complete'.*columns 2\.\.3 of Q"):
        gk.grad(lambda a: gnp.sum(L.qr(a, "complete").Q ** 3))(a)
    with pytest.raises(gk.GradkitError, match="raw"):
        gk.grad(lambda a: gnp.sum(L.qr(a, "raw")[0]))(a)
    h, tau = L.qr(a, "raw")
    np.testing.assert_array_equal(h, np.linalg.qr(a, "raw")[0])
    with pytest.raises(gk.GradkitError, match="mode must be"):
        L.qr(a, "economic")


def test_pinv_keywords_and_values():
    a = RNG.standard_normal((3, 5))
    np.testing.assert_array_equal(L.pinv(a), np.linalg.pinv(a))
    np.testing.assert_array_equal(L.pinv(a, rcond=0.1), np.linalg.pinv(a, rcond=0.1))
    np.testing.assert_array_equal(L.pinv(a, rtol=None), np.linalg.pinv(a, rtol=None))
    np.testing.assert_array_equal(L.pinv(a, rtol=0.5), np.linalg.pinv(a, rtol=0.5))
    with pytest.raises(gk.GradkitError, match="rcond and rtol"):
        L.pinv(a, rcond=0.1, rtol=0.1)
    s = RNG.standard_normal((3, 3))
    np.testing.assert_array_equal(L.pinv(s, hermitian=True), np.linalg.pinv(s, hermitian=True))
    g = gk.grad(lambda s: gnp.sum(L.pinv(s, hermitian=True)))(s)
    assert np.all(np.triu(g, 1) == 0)  # hermitian=True reads the lower triangle, as NumPy


def test_pinv_gradient_at_repeated_singular_values():
    # pinv is smooth at full rank whatever the singular values: a composite of svd would
    # give NaN here
    q = orthogonal(3, 4)
    g = gk.grad(lambda a: gnp.sum(L.pinv(a) * np.arange(9.0).reshape(3, 3)))(q)
    fd = numeric_grad(lambda a: np.sum(np.linalg.pinv(a) * np.arange(9.0).reshape(3, 3)), q)
    np.testing.assert_allclose(g, fd, atol=1e-6)


def test_lstsq_returns_numpy_tuple_and_refuses_rank_deficient_gradient():
    a = RNG.standard_normal((5, 2))
    b = RNG.standard_normal(5)
    x, res, rank, s = L.lstsq(a, b)
    x0, res0, rank0, s0 = np.linalg.lstsq(a, b)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(res, res0)
    np.testing.assert_array_equal(s, s0)
    assert rank == rank0
    deficient = np.outer(np.arange(1.0, 6.0), [1.0, 2.0])
    with pytest.raises(gk.GradkitError, match=r"lstsq.*full column rank.*rank 1"):
        gk.grad(lambda a: gnp.sum(L.lstsq(a, b)[0]))(deficient)
    # square, exactly determined: no residuals, as NumPy
    assert L.lstsq(np.eye(2), np.ones(2))[1].shape == (0,)


def test_matrix_power_zero_and_bad_exponent():
    a = RNG.standard_normal((2, 3, 3))
    np.testing.assert_array_equal(L.matrix_power(a, 0), np.linalg.matrix_power(a, 0))
    np.testing.assert_array_equal(gk.grad(lambda a: gnp.sum(L.matrix_power(a, 0) + a))(a),
                                  np.ones_like(a))
    np.testing.assert_allclose(L.matrix_power(a, np.int64(5)), np.linalg.matrix_power(a, 5))
    with pytest.raises(gk.GradkitError, match="exponent must be an integer"):
        L.matrix_power(a, 1.5)


def test_multi_dot_refuses_out_and_bad_shapes():
    with pytest.raises(gk.GradkitError, match="out="):
        L.multi_dot([np.eye(2), np.eye(2)], out=np.empty((2, 2)))
    with pytest.raises(gk.GradkitError, match="2-D"):
        L.multi_dot([np.eye(2), np.ones((2, 2, 2)), np.eye(2)])


# -- keywords and the module surface ---------------------------------------------------------


def test_cholesky_upper():
    a = np.array([[4.0, 2.0], [2.0, 5.0]])
    np.testing.assert_allclose(L.cholesky(a, upper=True), np.linalg.cholesky(a, upper=True),
                               rtol=1e-15)
    gk.check_grads(lambda a: L.cholesky(0.5 * (a + a.T), upper=True), (a,), order=2)


def test_module_surface():
    import inspect

    for name in L.__all__:
        assert callable(getattr(L, name)) and name in dir(L)
        assert getattr(L, name).__module__.startswith("gradkit")
        ref = getattr(np.linalg, name)
        # every keyword NumPy accepts is accepted under the same name
        f = getattr(L, name)
        if getattr(f, "differentiable", True) is False:
            continue  # NumPy's own function behind a wrapper
        ours = inspect.signature(getattr(f, "fwd", f)).parameters
        theirs = inspect.signature(ref).parameters
        assert set(theirs) <= set(ours), name
    assert L.LinAlgError is np.linalg.LinAlgError  # the rest falls back to NumPy


def _cofactors(a):
    n = a.shape[0]
    return np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(a, i, 0), j, 1))
                      for j in range(n)] for i in range(n)])


@pytest.mark.parametrize("a", [
    np.array([[1.0, 2.0], [2.0, 4.0]]),                          # rank 1
    np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 5.0]]),  # rank 2, det exactly 0
    np.zeros((3, 3)),                                            # rank 0: adjugate 0
    np.diag([0.0, 2.0, 3.0]),
])
def test_det_gradient_at_singular_matrices_is_the_adjugate(a):
    assert np.linalg.det(a) == 0.0
    g = gk.grad(gnp.linalg.det)(a)
    np.testing.assert_allclose(g, _cofactors(a), atol=1e-12)
    # in a stack beside a regular matrix, and in forward mode
    stack = np.stack([a, np.eye(a.shape[0]) * 2.0])
    gs = gk.grad(lambda s: gnp.sum(gnp.linalg.det(s)))(stack)
    np.testing.assert_allclose(gs[0], _cofactors(a), atol=1e-12)
    np.testing.assert_allclose(gs[1], _cofactors(stack[1]), atol=1e-12)
    jf = gk.jacobian(gnp.linalg.det, mode="fwd")(a)
    np.testing.assert_allclose(jf, _cofactors(a), atol=1e-12)


def _second_cofactors(a):
    """d2 det / da_ij da_kl: the signed determinants of a without rows i, k, columns j, l."""
    n = a.shape[0]
    h = np.zeros((n, n, n, n))
    for i, j, k, m in itertools.product(range(n), repeat=4):
        if i != k and j != m:
            minor = np.delete(np.delete(a, [i, k], 0), [j, m], 1)
            sign = (-1) ** (i + j + k + m + (k > i) + (m > j))
            h[i, j, k, m] = sign * (np.linalg.det(minor) if minor.size else 1.0)
    return h


@pytest.mark.parametrize("a", [
    np.array([[1.0, 2.0], [2.0, 4.0]]),        # rank 1, distinct singular values
    np.zeros((2, 2)),                          # every singular value tied at 0
    np.zeros((3, 3)),
    np.diag([1.0, 1.0, 0.0]),                  # tied nonzero singular values
    np.diag([3.0, 2.0, 0.0, 0.0]),             # rank 2 of 4: adjugate 0, Hessian not
    np.eye(4)[[0, 1, 2, 2]],                   # a repeated row
])
def test_det_hessian_at_singular_matrices_is_the_second_cofactors(a):
    assert np.linalg.det(a) == 0.0
    want = _second_cofactors(a)
    for mode in ("rev", "fwd"):
        np.testing.assert_allclose(gk.hessian(gnp.linalg.det, mode=mode)(a), want, atol=1e-12)
    # and away from singular matrices the two branches agree with the same formula
    b = a + np.diag(np.arange(1.0, a.shape[0] + 1))
    np.testing.assert_allclose(gk.hessian(gnp.linalg.det)(b), _second_cofactors(b), atol=1e-10)


@pytest.mark.parametrize("order", [2, -2, "nuc"])
def test_singular_value_norms_take_no_gradient_from_zero_singular_values(order):
    # zero singular values have arbitrary vectors: the gradient must not depend on them.
    # A signed permutation keeps ties exact (a general rotation rounds them apart, and
    # near a tie the largest singular value's gradient is as sharp as max's).
    q = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    for diag in ([0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [2.0, 2.0, 0.0], [1.0, 1.0, 1.0]):
        a = q @ np.diag(diag) @ q.T
        s = np.array(diag)
        pick = {2: s == s.max(), -2: s == s.min(), "nuc": np.ones(3, bool)}[order] & (s > 0)
        share = 1.0 if order == "nuc" else 1.0 / max(pick.sum(), 1)
        want = q @ np.diag(share * pick) @ q.T
        got = gk.grad(lambda a: gnp.linalg.norm(a, order))(a)
        np.testing.assert_allclose(got, want, atol=1e-12, err_msg=f"{order} at {diag}")
