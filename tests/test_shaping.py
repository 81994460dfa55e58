"""Targeted tests of gradkit.shaping, of einsum's repeated subscripts and sublist form, and
of the dtype=/casting= keywords of concatenate and friends: NumPy equality for each
keyword, gradients at the points the random table avoids, and error messages."""

from __future__ import annotations

import numpy as np
import pytest

import gradkit as gk
import gradkit.numpy as gnp
from gradkit.errors import GradkitError


def traced_value(f, x, *rest):
    """``f``'s value computed inside a transform, its first argument traced."""
    out, _ = gk.vjp(lambda t: f(t, *rest), x)
    return np.asarray(out)


def same(got, expected):
    """Equal values, shapes and dtypes (element by element for tuples and lists)."""
    if isinstance(expected, tuple | list):
        assert isinstance(got, tuple | list) and len(got) == len(expected)
        for g, e in zip(got, expected):
            same(g, e)
        return
    got = np.asarray(got)
    assert got.dtype == np.asarray(expected).dtype
    np.testing.assert_array_equal(got, expected)


def check_numpy(name, *args, traced=0, **kw):
    """gradkit's function equals NumPy's on plain arguments and inside a transform, with
    argument number ``traced`` traced."""
    ours, theirs = getattr(gnp, name), getattr(np, name)
    expected = theirs(*args, **kw)
    same(ours(*args, **kw), expected)

    def f(x):
        out = ours(*args[:traced], x, *args[traced + 1:], **kw)
        if isinstance(out, tuple | list):
            return gnp.concatenate([gnp.ravel(p) for p in out])
        return out

    if isinstance(expected, tuple | list):
        expected = np.concatenate([np.ravel(p) for p in expected])
    np.testing.assert_array_equal(traced_value(f, args[traced]), expected)


X = np.arange(24.0).reshape(2, 3, 4) - 7.5
M = np.arange(12.0).reshape(3, 4) + 0.25
V = np.array([0.5, -1.0, 2.0, 3.5, -2.5])


# -- NumPy equality, keyword by keyword ----------------------------------------------------


@pytest.mark.parametrize("k", [-5, -1, 0, 1, 2, 3, 4, 7])
@pytest.mark.parametrize("axes", [(0, 1), (1, 0), (0, 2), (-1, 0), (2, -2)])
def test_rot90(k, axes):
    check_numpy("rot90", X, k, axes)
    check_numpy("rot90", X, k=k, axes=axes)


def test_rot90_default_and_flips():
    check_numpy("rot90", M)
    for name, arg in [("flipud", V), ("flipud", X), ("fliplr", M), ("fliplr", X)]:
        check_numpy(name, arg)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
@pytest.mark.parametrize("start", [0, 1, 2, 3, -1, -3])
def test_rollaxis(axis, start):
    check_numpy("rollaxis", X, axis, start)


@pytest.mark.parametrize("kth", [0, 2, -1, [0, 3], (1, 2, 4)])
def test_partition_values(kth):
    check_numpy("partition", V, kth)
    check_numpy("partition", X, kth if kth != (1, 2, 4) else (0, 3), axis=-1)
    check_numpy("partition", X, 1, axis=1)
    check_numpy("partition", X, kth, axis=None)
    check_numpy("partition", V, kth, kind="introselect")


def test_partition_gradient_follows_each_element():
    w = np.arange(1.0, 6.0)
    g = gk.grad(lambda x: gnp.sum(gnp.partition(x, 2) * w))(V)
    order = np.argpartition(V, 2)
    expected = np.empty(5)
    expected[order] = w
    np.testing.assert_array_equal(g, expected)


def test_select_values_and_gradient():
    x = np.arange(6.0)
    conds = [x < 2, x > 1, x > 4]  # overlapping: the first that holds wins
    choices = [x, x ** 2, -x]
    check_numpy("select", conds, choices, np.arange(6.0) + 0.5, traced=2)
    same(gnp.select(conds, choices, default=7.5), np.select(conds, choices, default=7.5))
    same(gnp.select([np.array(True)], [x]), np.select([np.array(True)], [x]))
    same(traced_value(lambda c: gnp.select(conds, [c, c ** 2, -c]), x), np.select(conds, choices))
    same(gnp.select([x > 2], [x.astype(np.float32)]), np.select([x > 2], [x.astype(np.float32)]))
    same(gnp.select([x > 2], [np.arange(6)], 2.5), np.select([x > 2], [np.arange(6)], 2.5))

    def f(a, b, d):
        return gnp.sum(gnp.select([x < 2, x > 1], [a, b], d) * np.arange(1.0, 7.0))

    ga, gb, gd = gk.grad(f, argnums=(0, 1, 2))(x, x, 0.0)
    np.testing.assert_array_equal(ga, [1, 2, 0, 0, 0, 0])
    np.testing.assert_array_equal(gb, [0, 0, 3, 4, 5, 6])
    assert gd == 0.0
    assert gk.grad(lambda d: gnp.sum(gnp.select([x > 3], [x], d)))(1.0) == 4.0


def test_choose_compress_extract():
    idx = np.array([[0, 1, 2], [2, 1, 0]])
    choices = [M[:2, :3], np.ones(3), -M[:2, :3]]
    same(gnp.choose(idx, choices), np.choose(idx, choices))
    same(gnp.choose(idx, [M[:2, :3], 2.5, 0]), np.choose(idx, [M[:2, :3], 2.5, 0]))
    same(gnp.choose([0, 5], [V[:2], V[2:4]], mode="clip"),
         np.choose([0, 5], [V[:2], V[2:4]], mode="clip"))
    g = gk.grad(lambda c: gnp.sum(gnp.choose(idx, [c, 0.0, c])))(np.ones(3))
    np.testing.assert_array_equal(g, [2, 0, 2])  # picked twice in each column but the middle
    check_numpy("compress", [True, False, True], M, axis=1, traced=1)
    check_numpy("compress", [False, True], M, traced=1)
    check_numpy("compress", [False, True, True], M, axis=0, traced=1)
    check_numpy("extract", M > 4, M, traced=1)


def test_atleast_3d_and_stacks():
    check_numpy("atleast_3d", 2.0)
    check_numpy("atleast_3d", V)
    check_numpy("atleast_3d", M)
    check_numpy("atleast_3d", X)
    same(gnp.atleast_3d(V, M, 1.0), np.atleast_3d(V, M, 1.0))
    same(gnp.column_stack([V, V, np.ones((5, 2))]), np.column_stack([V, V, np.ones((5, 2))]))
    same(gnp.dstack([V, V]), np.dstack([V, V]))
    same(gnp.dstack([M, M[..., None]]), np.dstack([M, M[..., None]]))
    same(gnp.column_stack([[1, 2], [3, 4]]), np.column_stack([[1, 2], [3, 4]]))
    x, y = gk.tensor(V), gk.tensor(V + 1)
    same(gnp.column_stack([x, y]), np.column_stack([V, V + 1]))


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_append_delete_insert(axis):
    values = M if axis is not None else [1.5, 2.5]
    same(gnp.append(M, values, axis=axis), np.append(M, values, axis=axis))
    for obj in (1, -1, [0, 2], slice(0, None, 2)):
        same(gnp.delete(M, obj, axis=axis), np.delete(M, obj, axis=axis))
    mask = np.arange(12 if axis is None else M.shape[axis]) % 2 == 0
    check_numpy("delete", M, mask, axis=axis)
    for obj, vals in [(1, 9.5), (0, 9.5), ([1, 2], [7.0, 8.0]), (slice(0, 2), 4.0),
                      (2, np.arange(4.0)), (-1, np.arange(3.0)[:, None])]:
        try:
            expected = np.insert(M, obj, vals, axis=axis)
        except ValueError:  # NumPy refuses: so does gradkit, naming the call
            with pytest.raises(GradkitError, match="insert"):
                gnp.insert(M, obj, vals, axis=axis)
            continue
        check_numpy("insert", M, obj, vals, axis=axis)
        same(traced_value(lambda v, obj=obj: gnp.insert(M, obj, v, axis=axis),
                          np.asarray(vals, dtype=float)), expected)
    same(gnp.insert(M.astype(int), 1, 2.7, axis=axis), np.insert(M.astype(int), 1, 2.7, axis))


def test_insert_gradient_sums_a_broadcast_value():
    g = gk.grad(lambda v: gnp.sum(gnp.insert(M, 1, v, axis=1)))(2.0)
    assert g == 3.0  # one value inserted in each of the three rows
    ga = gk.grad(lambda a: gnp.sum(gnp.insert(a, [0, 0], 1.0) * np.arange(14.0)))(M)
    np.testing.assert_array_equal(ga, np.arange(2.0, 14.0).reshape(3, 4))


def test_block():
    a, b = np.eye(2), np.arange(4.0).reshape(2, 2)
    same(gnp.block([[a, b], [b, a]]), np.block([[a, b], [b, a]]))
    same(gnp.block([V, 1.0, V]), np.block([V, 1.0, V]))
    same(traced_value(lambda x: gnp.block([[x, b], [b, x]]), a), np.block([[a, b], [b, a]]))
    same(traced_value(lambda x: gnp.block([x, 1.0, x]), V), np.block([V, 1.0, V]))
    g = gk.grad(lambda x: gnp.sum(gnp.block([[x, b], [b, x]])))(a)
    np.testing.assert_array_equal(g, 2 * np.ones((2, 2)))
    with pytest.raises(GradkitError, match="block"):
        gnp.block([[gk.tensor(a), b], [b]])


@pytest.mark.parametrize("sections", [1, 2, 3, 5, [1, 3], [0, 0, 2], [-1], [3, 1], [10]])
def test_splits(sections):
    check_numpy("array_split", X, sections, axis=-1)
    check_numpy("array_split", V, sections)
    if isinstance(sections, list) or 4 % sections == 0:
        check_numpy("hsplit", np.swapaxes(X, 1, 2), sections)
        check_numpy("dsplit", X, sections)
    if isinstance(sections, list) or 2 % sections == 0:
        check_numpy("vsplit", X, sections)
    check_numpy("unstack", X, axis=1)
    check_numpy("unstack", X)


def test_trim_zeros_resize_diagflat():
    z = np.array([0.0, 0.0, 1.5, 0.0, -2.0, 0.0])
    z2 = np.zeros((4, 5))
    z2[1:3, 2:4] = [[1.0, 0.0], [0.0, 2.0]]
    for arg in (z, z2, np.zeros(3), np.zeros((2, 2))):
        for trim in ("fb", "f", "b", "BF"):
            for axis in (None, 0, -1, (0,)) if arg.ndim == 2 else (None, 0):
                check_numpy("trim_zeros", arg, trim, axis=axis)
    same(gnp.trim_zeros([0, 1, 0]), np.trim_zeros([0, 1, 0]))
    g = gk.grad(lambda x: gnp.sum(gnp.trim_zeros(x)))(z)
    np.testing.assert_array_equal(g, [0, 0, 1, 1, 1, 0])  # the interior zero is kept
    for shape in (7, (2, 5), (3, 0), 0, ()):
        check_numpy("resize", M, shape)
    same(gnp.resize(np.zeros(0), 3), np.resize(np.zeros(0), 3))
    for k in (-2, 0, 1):
        check_numpy("diagflat", M[:2, :2], k)


def test_meshgrid_and_broadcast_arrays():
    a, b, c = np.arange(3.0), np.arange(2.0) + 0.5, np.array([1.0, 2.0, 4.0, 8.0])
    for indexing in ("xy", "ij"):
        for sparse in (False, True):
            for args in [(a,), (a, b), (a, b, c)]:
                kw = {"indexing": indexing, "sparse": sparse, "copy": sparse}
                check_numpy("meshgrid", *args, **kw)
    assert gnp.meshgrid() == np.meshgrid()
    check_numpy("broadcast_arrays", V[:, None], M[0], 2.0)
    gx, gy = gk.grad(lambda x, y: gnp.sum(gnp.meshgrid(x, y)[0] * gnp.meshgrid(x, y)[1]),
                     argnums=(0, 1))(a, b)
    np.testing.assert_allclose(gx, np.full(3, b.sum()))
    np.testing.assert_allclose(gy, np.full(2, a.sum()))


def test_aliases_and_empty_like():
    check_numpy("concat", [M, M], axis=1)
    check_numpy("permute_dims", X, (2, 0, 1))
    check_numpy("matrix_transpose", X)
    out = gnp.empty_like(gk.tensor(M))
    assert out.shape == M.shape and out.dtype == M.dtype and not isinstance(out, gk.Tensor)
    assert gnp.empty_like(M, dtype=np.float32, shape=(2,)).dtype == np.float32
    assert gnp.empty_like.differentiable is False
    x = gk.tensor(M, requires_grad=True)
    assert gk.grad(lambda t: gnp.sum(gnp.empty_like(t) * 0.0) + gnp.sum(t))(M).shape == M.shape
    assert isinstance(np.rot90(x), gk.Tensor)  # NumPy's own function dispatches to gradkit


# -- linspace ------------------------------------------------------------------------------


@pytest.mark.parametrize("num", [0, 1, 2, 5, 50])
@pytest.mark.parametrize("endpoint", [True, False])
def test_linspace_values(num, endpoint):
    for start, stop in [(0.0, 1.0), (2, 3), (-1.5, 4.25), (1.0, 1.0), (0.0, 5e-324),
                        (np.float32(0.1), 3), (np.array([0.0, 1.0]), np.array([[2.0], [3.0]]))]:
        for kw in ({}, {"retstep": True}, {"dtype": np.float32}, {"dtype": int},
                   {"axis": -1}, {"device": "cpu"}):
            expected = np.linspace(start, stop, num, endpoint, **kw)
            got = gnp.linspace(start, stop, num, endpoint, **kw)
            with np.errstate(invalid="ignore"):  # the NaN step of 0 or 1 samples
                same(got, expected)
            y = expected[0] if kw.get("retstep") else expected
            if np.issubdtype(np.result_type(start), np.floating) and y.dtype.kind == "f":
                def f(s, stop=stop, kw=kw):
                    out = gnp.linspace(s, stop, num, endpoint, **kw)
                    return out[0] if kw.get("retstep") else out

                same(traced_value(f, start), y)


def test_linspace_gradient_in_both_endpoints():
    num = 5
    ja, jb = gk.jacobian(lambda a, b: gnp.linspace(a, b, num), argnums=(0, 1))(1.0, 3.0)
    k = np.arange(num) / (num - 1)
    np.testing.assert_allclose(ja, 1 - k)
    np.testing.assert_allclose(jb, k)
    ja, jb = gk.jacobian(lambda a, b: gnp.linspace(a, b, 4, endpoint=False), argnums=(0, 1))(
        1.0, 3.0)
    np.testing.assert_allclose(jb, np.arange(4) / 4)
    # array endpoints, samples on the last axis
    a, b = np.array([0.0, 1.0]), np.array([2.0, 5.0])
    jb = gk.jacobian(lambda b: gnp.linspace(a, b, 3, axis=-1))(b)
    assert jb.shape == (2, 3, 2)
    np.testing.assert_allclose(jb[:, :, 0], [[0, 0.5, 1], [0, 0, 0]])
    # retstep: the step is differentiable too
    assert gk.grad(lambda b: gnp.linspace(0.0, b, 5, retstep=True)[1])(2.0) == 0.25
    gk.check_grads(lambda a, b: gnp.linspace(a, b, 4, axis=1), (a, b[:, None] + 1.0), order=2)


def test_linspace_errors():
    with pytest.raises(GradkitError, match="must be non-negative"):
        gnp.linspace(0.0, 1.0, -1)
    with pytest.raises(GradkitError, match="device='gpu'"):
        gnp.linspace(0.0, 1.0, 3, device="gpu")
    with pytest.raises(GradkitError, match="linspace: axis 2 is out of bounds"):
        gnp.linspace(0.0, 1.0, 3, axis=2)


# -- r_ and c_ -----------------------------------------------------------------------------


R_KEYS = [
    lambda x: (x, 1.5, x),
    lambda x: (x, slice(0, 3), slice(2.0, 3.0, 5j), np.float32(2)),
    lambda x: (slice(None, 3), x),
    lambda x: ("0,2", x, x),
    lambda x: ("1,2", x, x),
    lambda x: ("0,2,0", x, x),
    lambda x: ("-1,3,-1", x, x),
    lambda x: ("0", x, [1.0, 2.0]),
    lambda x: (x,),
]


@pytest.mark.parametrize("key", R_KEYS)
def test_r_values(key):
    x = V.astype(np.float32)
    same(gnp.r_[key(x)], np.r_[key(x)])
    same(traced_value(lambda t: gnp.r_[key(t)], x), np.r_[key(x)])


@pytest.mark.parametrize("key", [
    lambda x: (x, x), lambda x: (x, slice(0, 5)), lambda x: (x, x[:, None]),
    lambda x: ("0,2,0", x, x), lambda x: (x, slice(-2.0, 2.0, 5j)),
])
def test_c_values(key):
    same(gnp.c_[key(V)], np.c_[key(V)])
    same(traced_value(lambda t: gnp.c_[key(t)], V), np.c_[key(V)])


def test_r_c_gradients():
    w = np.arange(1.0, 11.0)
    gx, gy = gk.grad(lambda x, y: gnp.sum(gnp.r_[x, 2.0, y, 0:3] * w), argnums=(0, 1))(
        V, np.array(7.0))
    np.testing.assert_array_equal(gx, w[:5])
    assert gy == w[6]
    gs = gk.grad(lambda s: gnp.sum(gnp.r_[s:3.0:4j] * np.arange(4.0)))(0.0)
    assert gs == pytest.approx(np.arange(4.0) @ (1 - np.arange(4) / 3))
    gx = gk.grad(lambda x: gnp.sum(gnp.c_[x, 2 * x] * np.array([1.0, 10.0])))(V)
    np.testing.assert_array_equal(gx, np.full(5, 21.0))
    gk.check_grads(lambda x: gnp.c_["0,2,0", x, x * x], (V,), order=2)


def test_r_c_errors():
    with pytest.raises(GradkitError, match="directive 'r'"):
        gnp.r_["r", V, V]
    with pytest.raises(GradkitError, match="directive 'c'"):
        gnp.c_["c", V]
    with pytest.raises(GradkitError, match="unknown special directive 'a,b'"):
        gnp.r_["a,b", V]
    with pytest.raises(GradkitError, match="unknown special directive 'x'"):
        gnp.r_["x", V]
    with pytest.raises(GradkitError, match="must be the first entry"):
        gnp.r_[V, "0"]
    with pytest.raises(GradkitError, match="string form"):
        gnp.r_["1 2; 3 4"]


# -- einsum: repeated subscripts and the sublist form -------------------------------------


A = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 10.0]])
B3 = np.arange(18.0).reshape(3, 3, 2) / 7


@pytest.mark.parametrize("subscripts, args", [
    ("ii->", (A,)), ("ii", (A,)), ("ii->i", (A,)), ("iij->j", (B3,)), ("iij", (B3,)),
    ("iji->j", (np.swapaxes(B3, 1, 2).copy(),)), ("ij,jj->i", (A, A.T)), ("...ii->...i", (B3.T,)),
])
def test_einsum_repeated_subscripts(subscripts, args):
    f = lambda *xs: gnp.einsum(subscripts, *xs)  # noqa: E731
    np.testing.assert_allclose(f(*args), np.einsum(subscripts, *args), rtol=1e-14)
    gk.check_grads(f, args, order=2, modes=("rev", "fwd"))


def test_einsum_repeated_subscript_gradients_by_hand():
    np.testing.assert_array_equal(gk.grad(lambda a: gnp.einsum("ii->", a))(A), np.eye(3))
    v = np.array([1.0, -2.0, 3.0])
    (g,) = gk.vjp(lambda a: gnp.einsum("ii->i", a), A)[1](v)
    np.testing.assert_array_equal(g, np.diag(v))
    u = np.array([0.5, 4.0])
    (g,) = gk.vjp(lambda b: gnp.einsum("iij->j", b), B3)[1](u)
    np.testing.assert_array_equal(g, np.eye(3)[:, :, None] * u)
    # both operands: d/dA sum_i A_ij C_jj = 1_i diag(C)_j, d/dC = diag(sum_i A_ij)
    ga, gc = gk.grad(lambda a, c: gnp.sum(gnp.einsum("ij,jj->i", a, c)), argnums=(0, 1))(A, A)
    np.testing.assert_array_equal(ga, np.ones((3, 1)) * np.diag(A))
    np.testing.assert_array_equal(gc, np.diag(A.sum(0)))
    # batched Jacobian (all basis vectors at once) and second order
    jac = gk.jacobian(lambda a: gnp.einsum("ii->i", a))(A)
    np.testing.assert_array_equal(jac, np.einsum("ij,ik->ijk", np.eye(3), np.eye(3)))
    np.testing.assert_array_equal(jac, gk.jacobian(lambda a: gnp.einsum("ii->i", a),
                                                   mode="fwd")(A))
    h = gk.hessian(lambda a: gnp.sum(gnp.einsum("ii->i", a) ** 2))(A)
    expected = 2 * np.einsum("ij,ik,il,im->jklm", np.eye(3), np.eye(3), np.eye(3), np.eye(3))
    np.testing.assert_array_equal(h, expected)
    f32 = gk.grad(lambda a: gnp.einsum("ii->", a))(A.astype(np.float32))
    assert f32.dtype == np.float32


def test_einsum_sublist_form():
    for args in [(A, [0, 0]), (A, [0, 0], [0]), (A, [0, 1], A, [1, 2], [0, 2]),
                 (A, [0, 1], A, [1, 2]), (B3, [Ellipsis, 1], [Ellipsis]),
                 (B3, [0, 0, 1], [1]), (A, [51, 25], [25, 51])]:
        np.testing.assert_allclose(gnp.einsum(*args), np.einsum(*args), rtol=1e-14)
    g = gk.grad(lambda a: gnp.einsum(a, [0, 0]))(A)
    np.testing.assert_array_equal(g, np.eye(3))
    with pytest.raises(GradkitError, match=r"subscript 52 is not within the valid range"):
        gnp.einsum(A, [0, 52])


@pytest.mark.parametrize("optimize", [False, True, "greedy", "optimal",
                                      ["einsum_path", (0, 1), (0, 1)]])
def test_einsum_optimize_and_keywords(optimize):
    args = ("ij,jk,kl->il", A, A, A)
    np.testing.assert_allclose(gnp.einsum(*args, optimize=optimize),
                               np.einsum(*args, optimize=optimize), rtol=1e-13)
    gk.check_grads(lambda a: gnp.einsum("ij,jk,kl->il", a, A, a, optimize=optimize), (A,))


def test_einsum_dtype_casting_order():
    a32 = A.astype(np.float32)
    for kw in [{"dtype": np.float32, "casting": "same_kind"}, {"dtype": np.float64},
               {"order": "F"}, {"casting": "unsafe", "dtype": int}]:
        same(gnp.einsum("ij,j", a32, A[0], **kw), np.einsum("ij,j", a32, A[0], **kw))
    with pytest.raises(GradkitError, match="according to the rule 'safe'"):
        gnp.einsum("ij,j", a32, A[0], dtype=np.float32)
    with pytest.raises(GradkitError, match="rule 'no'"):
        gnp.einsum("ij,j", a32, A[0], casting="no")
    with pytest.raises(GradkitError, match="einsum: out= is not supported"):
        gnp.einsum("ii", A, out=np.zeros(()))
    g = gk.grad(lambda a: gnp.sum(gnp.einsum("ij->i", a, dtype=np.float32, casting="same_kind")))(A)
    assert g.dtype == np.float64 and np.array_equal(g, np.ones((3, 3)))


# -- dtype= and casting= of concatenate, stack, hstack, vstack -----------------------------


@pytest.mark.parametrize("name", ["concatenate", "stack", "hstack", "vstack"])
def test_join_dtype_and_casting(name):
    ints, floats = np.arange(3), np.array([0.5, 1.5, 2.5])
    for kw in [{}, {"dtype": np.float32}, {"dtype": int, "casting": "unsafe"},
               {"casting": "unsafe"}, {"dtype": np.float64, "casting": "safe"}]:
        same(getattr(gnp, name)([ints, floats], **kw), getattr(np, name)([ints, floats], **kw))
    for kw in [{"casting": "no"}, {"dtype": int}, {"dtype": np.float32, "casting": "safe"}]:
        with pytest.raises(TypeError):
            getattr(np, name)([ints, floats], **kw)
        with pytest.raises(GradkitError, match=f"{name}.*(Cannot cast|according to the rule)"):
            getattr(gnp, name)([ints, floats], **kw)
    with pytest.raises(GradkitError, match="casting"):
        getattr(gnp, name)([floats, floats], casting="sometimes")
    # the gradient comes back in each input's dtype
    g = gk.grad(lambda x: gnp.sum(getattr(gnp, name)([x, x], dtype=np.float32) ** 2))(floats)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, 4 * floats, rtol=1e-6)


def test_join_out_is_refused():
    for name in ("concatenate", "stack"):
        with pytest.raises(GradkitError, match=f"{name}: out= is not supported"):
            getattr(gnp, name)([V, V], 0, np.zeros(10))


# -- error messages ------------------------------------------------------------------------


@pytest.mark.parametrize("call, message", [
    (lambda: gnp.partition(V, 1, order="x"), "partition: order="),
    (lambda: gnp.partition(V, 9), "partition"),
    (lambda: gnp.rot90(M, axes=(0, 0)), "rot90: axes must be different"),
    (lambda: gnp.rot90(M, axes=(0, 1, 2)), "rot90: len.axes. must be 2"),
    (lambda: gnp.rot90(M, axes=(0, 3)), "rot90: axes=.0, 3. out of range"),
    (lambda: gnp.fliplr(V), "fliplr: input must be >= 2-d"),
    (lambda: gnp.flipud(np.float64(1.0)), "flipud: input must be >= 1-d"),
    (lambda: gnp.rollaxis(M, 0, 5), "rollaxis: 'start' arg requires"),
    (lambda: gnp.rollaxis(M, 3), "rollaxis: axis 3 is out of bounds"),
    (lambda: gnp.select([V > 0], [V, V]), "select: list of cases must be same length"),
    (lambda: gnp.select([], []), "select: select with an empty condition list"),
    (lambda: gnp.select([V], [V]), "select: invalid entry 0 in condlist"),
    (lambda: gnp.meshgrid(V, indexing="xyz"), "meshgrid: valid values for `indexing`"),
    (lambda: gnp.array_split(V, 0), "array_split: number sections must be larger than 0"),
    (lambda: gnp.hsplit(V, 2), "hsplit: array split does not result in an equal division"),
    (lambda: gnp.vsplit(V, 1), "vsplit only works on arrays of 2 or more dimensions"),
    (lambda: gnp.dsplit(M, 1), "dsplit only works on arrays of 3 or more dimensions"),
    (lambda: gnp.unstack(np.float64(1.0)), "unstack: input array must be at least 1-d"),
    (lambda: gnp.trim_zeros(gk.tensor(V), "x"), "trim_zeros: unexpected character"),
    (lambda: gnp.resize(V, (2, -1)), "resize: all elements of `new_shape` must be non-neg"),
    (lambda: gnp.matrix_transpose(V), "matrix_transpose: input array must be at least 2-d"),
    (lambda: gnp.choose([0], [V], out=V), "choose: out= is not supported"),
    (lambda: gnp.compress([True], V, out=V), "compress: out= is not supported"),
    (lambda: gnp.delete(V, 9), "delete"),
])
def test_errors_name_the_call(call, message):
    with pytest.raises(GradkitError, match=message):
        call()
